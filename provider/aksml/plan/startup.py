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

from aksml.errors import WebserviceException
from aksml.plan.settings import WorkloadSettings
from aksml.v1.resolved import ResolvedServiceConfig

DEFERRED_MARK = "${aksml:"
"""Prefix of a placeholder for a value known only at deploy time (checked by nobody here)."""


def _is_url(value: str) -> bool:
    """The runtime's rule for URL settings: http(s) with a host."""
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def startup_problems(config: ResolvedServiceConfig, work: WorkloadSettings) -> list[str]:
    """Why the runtime would refuse to start with this configuration (empty: it starts)."""
    problems: list[str] = []
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
