"""Cross-layer consistency: every configuration preview accepts starts the runtime.

For random v1 configurations with random workload settings -- including values only the
runtime used to refuse (token auth without issuer or audience, concurrency above the runtime's
cap, user environment variables that collide with runtime settings) -- either the plan refuses
the configuration with ``WebserviceException`` (preview fails, naming the parameter), or the
runtime container's environment and arguments, resolved by the runtime's own settings parser
(``aksml.runtime.settings.resolve_settings``), give a runtime that starts.

The entry script is drawn too: on the default runtime image (which sets no
``AZUREML_ENTRY_SCRIPT``) an in-process service without one must be refused at preview.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relkit import scaled
from test_config_fuzz import valid_kwargs, workloads

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan import WorkloadSettings, plan_webservice
from aksml.plan.settings import DEFAULT_IMAGE
from aksml.runtime.settings import FLAG_FIELDS, RuntimeSettings, resolve_settings
from aksml.v1 import deploy_configuration

EXAMPLES = int(scaled(60, 600))
RUNTIME_ENV = sorted(s.env for s in contract.ALL_SETTINGS)


def _runtime_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    runtime: dict[str, Any] = next(c for c in containers if c["name"] == "runtime")
    return runtime


def _environ(container: dict[str, Any], app_root: Path) -> dict[str, str]:
    """The container's environment as the kubelet builds it (a later duplicate wins; a value
    from a Secret stands in as a non-empty string); the app root moved under ``app_root``."""
    environ: dict[str, str] = {}
    for var in container.get("env", []):
        environ[var["name"]] = var.get("value", "from-a-secret" if "valueFrom" in var else "")
    if environ.get(contract.APP_ROOT.env) == contract.APP_ROOT_DIR:
        environ[contract.APP_ROOT.env] = str(app_root)
    return environ


def _flags(container: dict[str, Any]) -> dict[str, object | None]:
    """``--flag=value`` / ``--flag value`` arguments after ``aksml serve`` as settings fields."""
    args = [*container.get("command", [])[2:], *container.get("args", [])]
    flags: dict[str, object | None] = {}
    while args:
        flag, _, value = args.pop(0).partition("=")
        flags[FLAG_FIELDS[flag]] = value if value else args.pop(0)
    return flags


def _start(objects: list[dict[str, Any]]) -> RuntimeSettings:
    container = _runtime_container(objects)
    with tempfile.TemporaryDirectory() as tmp:
        app_root = Path(tmp)
        environ = _environ(container, app_root)
        entry = environ.get(contract.ENTRY_SCRIPT.env)
        if entry:  # the code ConfigMap mounts score.py there in the pod
            (app_root / entry).parent.mkdir(parents=True, exist_ok=True)
            (app_root / entry).write_text("def init():\n    pass\n")
        return resolve_settings(_flags(container), environ, cwd=app_root)


@st.composite
def configurations(draw: st.DrawFn) -> tuple[dict[str, Any], WorkloadSettings]:
    """A valid v1 configuration, sometimes pushed past what only the runtime checked."""
    kwargs = draw(valid_kwargs())
    if draw(st.booleans()):
        kwargs["replica_max_concurrent_requests"] = draw(st.integers(1, 5000))
    token = kwargs["token_auth_enabled"]
    work = draw(workloads(token, kwargs["enable_app_insights"]))
    if token:  # issuer and audience each given or not
        updates = {
            field: None for field in ("token_issuer", "token_audience") if draw(st.booleans())
        }
        work = work.model_copy(update=updates)
    # score.py baked into the image (code_in_image), or no entry script at all: on the default
    # image that leaves nothing to run, and preview must refuse it
    assert work.image == DEFAULT_IMAGE  # the runtime image: no AZUREML_ENTRY_SCRIPT of its own
    work = work.model_copy(update={"entry_script": "score.py" if draw(st.booleans()) else None})
    if draw(st.integers(0, 4)) == 0:  # a user variable named like a runtime setting
        env = dict(work.environment_variables)
        env[draw(st.sampled_from(RUNTIME_ENV))] = draw(st.sampled_from(["0", "abc", "99999"]))
        work = work.model_copy(update={"environment_variables": env})
    return kwargs, work


def test_every_configuration_preview_accepts_starts_the_runtime() -> None:
    outcomes = {"refused at preview": 0, "runtime starts": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(configurations())
    def check(case: tuple[dict[str, Any], WorkloadSettings]) -> None:
        kwargs, work = case
        try:
            objects = plan_webservice("svc-x", deploy_configuration(**kwargs).resolve(), work)
        except WebserviceException:
            outcomes["refused at preview"] += 1
            return
        started = _start(objects)  # raises WebserviceException when the runtime would not start
        assert started.max_concurrent_requests == kwargs.get(
            "replica_max_concurrent_requests", started.max_concurrent_requests
        )
        outcomes["runtime starts"] += 1

    check()
    assert outcomes["runtime starts"] > 0, outcomes
