"""What a planned service needs to start, for tests about something else.

In-process mode on the aksml runtime image refuses to start without a score.py, and so does
preview (``aksml.plan.startup``). Tests that plan a service for another reason name one here:
the script as if baked into the image (``code_in_image``), so no code ConfigMap joins the
objects they look at.
"""

from __future__ import annotations

from typing import Any

from aksml.plan import WorkloadSettings

SCRIPT = "score.py"
"""The entry script every such test names."""
SCRIPT_ARGS: dict[str, Any] = {"entry_script": SCRIPT, "code_in_image": True}
"""Component (and endpoint version) arguments naming the script."""


def scripted(**fields: Any) -> WorkloadSettings:
    """``WorkloadSettings(**fields)`` with the entry script unless ``fields`` names one."""
    return WorkloadSettings(**{"entry_script": SCRIPT, **fields})


def script_args(**args: Any) -> dict[str, Any]:
    """Component arguments ``args`` with the entry script unless they name one."""
    return args if "entry_script" in args else {**SCRIPT_ARGS, **args}
