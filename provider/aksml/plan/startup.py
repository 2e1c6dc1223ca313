"""Preview-time checks that the runtime will start with what the plan gives it.

``aksml serve`` refuses to start on some settings (``aksml.runtime.settings``); a plan that
passes them would deploy pods that crash-loop while preview is green. Every rule here mirrors
one of the runtime's and names the deploy parameter; ``tests/reliability/test_cross_layer.py``
proves the pair keeps matching (random configurations: preview refuses, or the runtime's own
settings parser accepts the rendered container). The limit on concurrent requests is declared
once in the v1 parameter table and checked there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan.settings import RUNTIME_IMAGE_REPOSITORY, RuntimeMode, WorkloadSettings
from aksml.v1.resolved import ResolvedServiceConfig

DEFERRED_MARK = "${aksml:"
"""Prefix of a placeholder for a value known only at deploy time (checked by nobody here)."""


def _is_url(value: str) -> bool:
    """The runtime's rule for URL settings: http(s) with a host."""
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_runtime_image(image: str) -> bool:
    """Whether ``image`` is aksml's own runtime image (any tag or digest), which sets no
    ``AZUREML_ENTRY_SCRIPT`` (the repository's Dockerfile): only an image built on it that
    bakes the code in (``azure.image``, your own ``FROM``) sets one."""
    name = image.split("@", 1)[0]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return repository == RUNTIME_IMAGE_REPOSITORY


def _entry_script_problem(work: WorkloadSettings) -> str | None:
    """The runtime's ``--entry-script ... is required unless --upstream is given``: in-process
    mode on the runtime image needs ``entry_script`` (proxy mode sets the upstream)."""
    if work.runtime_mode is not RuntimeMode.IN_PROCESS or work.entry_script:
        return None
    if not _is_runtime_image(work.image):
        return None  # a custom image may set AZUREML_ENTRY_SCRIPT itself (code baked in)
    return (
        f"entry_script is required with runtime_mode '{work.runtime_mode.value}' on the aksml "
        f"runtime image ({work.image}): the runtime refuses to start without a score.py to "
        f"load ({contract.ENTRY_SCRIPT.env}). Give entry_script (with source_directory; "
        "aksml render of a configuration file: --entry-script), or an image that bakes the "
        f"code in and sets {contract.ENTRY_SCRIPT.env}"
    )


def startup_problems(config: ResolvedServiceConfig, work: WorkloadSettings) -> list[str]:
    """Why the runtime would refuse to start with this configuration (empty: it starts)."""
    problems: list[str] = []
    entry = _entry_script_problem(work)
    if entry:
        problems.append(entry)
    if config.token_auth_enabled:
        missing = [f for f in ("token_issuer", "token_audience") if not getattr(work, f)]
        if missing:
            problems.append(
                f"token_auth_enabled=True needs {' and '.join(missing)}: the runtime refuses "
                "to start without the issuer and audience to check tokens against. Give "
                f"{' and '.join(missing)}, or the azure section's token_auth_application "
                "(its app registration supplies both)"
            )
    for field in ("token_issuer", "data_collection_blob_url"):
        value = getattr(work, field)
        if value and DEFERRED_MARK not in value and not _is_url(value):
            problems.append(f"{field} must be an http(s) URL, got {value!r}")
    return problems


def require_startable(config: ResolvedServiceConfig, work: WorkloadSettings) -> None:
    """Raise ``WebserviceException`` listing :func:`startup_problems`, if any."""
    problems = startup_problems(config, work)
    if problems:
        raise WebserviceException("Error, " + ".\nError, ".join(problems) + ".\n")
