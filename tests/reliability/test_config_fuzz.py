"""Hypothesis over deploy configurations: every valid v1 configuration (with random workload
settings) renders to manifests that pass the Kubernetes schemas and the restricted Pod Security
Standard; every invalid one raises ``WebserviceException`` and nothing else.

The schema validator is the plan suite's own (``tests/plan/conftest.py``: kubernetes-validate
--strict on two Kubernetes versions, CRDs with jsonschema), loaded here rather than copied.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relkit import report, scaled

from aksml.errors import WebserviceException
from aksml.plan import IngressSpec, ModelRef, ProxySpec, WorkloadSettings, plan_webservice
from aksml.plan.admission import deploy_problems
from aksml.plan.checks import consistency_problems, pod_security_problems
from aksml.v1 import SERVICE_NAME_REGEX, deploy_configuration, from_aml_json
from startable import scripted


def _plan_validator() -> Callable[[dict[str, Any]], None]:
    path = Path(__file__).resolve().parents[1] / "plan" / "conftest.py"
    spec = importlib.util.spec_from_file_location("aksml_plan_validators", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    validator: Callable[[dict[str, Any]], None] = module.validate_object
    return validator


validate_object = _plan_validator()

EXAMPLES = int(scaled(10, 200))
"""Valid configurations rendered and validated (each costs ~1 s of schema checks)."""
INVALID_EXAMPLES = int(scaled(40, 400))
NAMESPACES = st.sampled_from([None, "default", "ml", "team-a-prod", "a" * 63])
small_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def valid_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments AksWebservice.deploy_configuration accepts."""
    kw: dict[str, Any] = {}
    cpu = draw(st.sampled_from([0.1, 0.25, 0.5, 1, 2, 3.5]))
    mem = draw(st.sampled_from([0.1, 0.5, 1, 2.5, 8]))
    kw["cpu_cores"], kw["memory_gb"] = cpu, mem
    if draw(st.booleans()):
        kw["cpu_cores_limit"] = cpu * draw(st.sampled_from([1, 2, 4]))
    if draw(st.booleans()):
        kw["memory_gb_limit"] = mem * draw(st.sampled_from([1, 1.5, 3]))
    kw["gpu_cores"] = draw(st.integers(0, 2))
    for name, hi in [
        ("period_seconds", 60),
        ("initial_delay_seconds", 600),
        ("timeout_seconds", 10),
        ("success_threshold", 3),
        ("failure_threshold", 10),
    ]:
        if draw(st.booleans()):
            kw[name] = draw(st.integers(1, hi))
    kw["scoring_timeout_ms"] = draw(st.integers(1, 300_000))
    kw["replica_max_concurrent_requests"] = draw(st.integers(1, 16))
    kw["max_request_wait_time"] = draw(st.integers(1, 60_000))
    scaling = draw(st.sampled_from(["auto", "fixed", "default"]))
    if scaling == "auto":
        lo = draw(st.integers(1, 5))
        kw.update(
            autoscale_enabled=True,
            autoscale_min_replicas=lo,
            autoscale_max_replicas=draw(st.integers(lo, 20)),
            autoscale_refresh_seconds=draw(st.integers(1, 60)),
            autoscale_target_utilization=draw(st.integers(1, 100)),
        )
    elif scaling == "fixed":
        kw.update(autoscale_enabled=False, num_replicas=draw(st.integers(1, 10)))
    auth = draw(st.sampled_from(["key", "token", "none"]))
    kw["auth_enabled"] = auth == "key"
    kw["token_auth_enabled"] = auth == "token"
    kw["namespace"] = draw(NAMESPACES)
    kw["enable_app_insights"] = draw(st.booleans())
    kw["collect_model_data"] = draw(st.booleans())
    kw["tags"] = draw(st.dictionaries(small_text, small_text, max_size=3))
    kw["properties"] = draw(st.dictionaries(small_text, small_text, max_size=2))
    kw["description"] = draw(st.one_of(st.none(), small_text))
    return {k: v for k, v in kw.items() if v is not None}


@st.composite
def workloads(draw: st.DrawFn, token: bool, insights: bool) -> WorkloadSettings:
    """Random workload settings for a configuration (token issuer / App Insights when used)."""
    exposure = draw(st.sampled_from(["cluster", "load_balancer", "ingress"]))
    extra: dict[str, Any] = {}
    if exposure == "ingress":
        extra["ingress"] = IngressSpec(host="ml.example.com")
    if draw(st.booleans()):
        extra["runtime_mode"] = "proxy"
        extra["proxy"] = ProxySpec(image="registry.example/model:1", port=8000)
    models = draw(st.lists(st.sampled_from(["iris", "wine", "net"]), max_size=2, unique=True))
    if token:
        extra["token_issuer"] = "https://login.microsoftonline.com/t/v2.0"
        extra["token_audience"] = "api://ml"
    if insights:
        extra["app_insights_connection_string"] = "InstrumentationKey=x"
    return scripted(
        exposure=exposure,
        autoscaler=draw(st.sampled_from(["hpa", "keda"])),
        models=tuple(ModelRef(name=m, version="1") for m in models),
        environment_variables=draw(
            st.dictionaries(
                st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), small_text, max_size=2
            )
        ),
        **extra,
    )


def test_valid_configs_render_schema_valid_restricted_manifests() -> None:
    rendered: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        st.from_regex(SERVICE_NAME_REGEX, fullmatch=True).filter(lambda n: 3 <= len(n) <= 32),
        valid_kwargs(),
        st.data(),
    )
    def check(name: str, kwargs: dict[str, Any], data: st.DataObject) -> None:
        config = deploy_configuration(**kwargs)
        # the AML JSON round trip changes nothing
        assert from_aml_json(json.loads(json.dumps(config.to_create_payload(name)))) == config
        work = data.draw(workloads(kwargs["token_auth_enabled"], kwargs["enable_app_insights"]))
        objects = plan_webservice(name, config.resolve(), work)
        for obj in objects:
            validate_object(obj)
        assert pod_security_problems(objects) == []
        assert consistency_problems(objects, user_env=work.environment_variables) == []
        assert deploy_problems(objects) == []  # API-server rules and HTTPRoute CEL rules
        rendered.append(len(objects))

    check()
    report(
        "deploy-configuration fuzzing (valid)",
        load="random valid v1 configurations with random workload settings",
        faults=f"{len(rendered)} rendered object sets ({sum(rendered)} objects) validated",
        requests=len(rendered),
        lost=0,
    )
    assert len(rendered) >= EXAMPLES // 2, rendered


INVALID = [
    ("cpu_cores", st.sampled_from([0, -1, -0.5])),
    ("memory_gb", st.sampled_from([0, -2])),
    ("gpu_cores", st.integers(-5, -1)),
    ("period_seconds", st.integers(-5, 0)),
    ("initial_delay_seconds", st.integers(-5, 0)),
    ("timeout_seconds", st.integers(-5, 0)),
    ("success_threshold", st.integers(-5, 0)),
    ("failure_threshold", st.integers(-5, 0)),
    ("scoring_timeout_ms", st.integers(-5, 0)),
    ("replica_max_concurrent_requests", st.integers(-5, 0)),
    ("max_request_wait_time", st.integers(-5, 0)),
    ("num_replicas", st.integers(-5, 0)),
    ("namespace", st.sampled_from(["Bad", "a" * 64, "-x", "x_y", "ml."])),
]


@settings(max_examples=INVALID_EXAMPLES, deadline=None, database=None)
@given(
    valid_kwargs(),
    st.lists(st.sampled_from(range(len(INVALID))), min_size=1, max_size=3, unique=True),
    st.data(),
)
def test_invalid_configs_raise_webservice_exception(
    kwargs: dict[str, Any], broken: list[int], data: st.DataObject
) -> None:
    for index in broken:
        name, values = INVALID[index]
        kwargs[name] = data.draw(values)
    if "num_replicas" in kwargs and kwargs.get("autoscale_enabled"):
        kwargs.pop("autoscale_enabled")  # keep num_replicas the thing that is wrong
        for knob in ("min_replicas", "max_replicas", "refresh_seconds", "target_utilization"):
            kwargs.pop(f"autoscale_{knob}", None)
    try:
        deploy_configuration(**kwargs)
    except WebserviceException as exc:
        assert exc.message.startswith("Invalid configuration"), exc.message
        for index in broken:
            assert INVALID[index][0] in exc.message, (INVALID[index][0], exc.message)
        return
    raise AssertionError(f"accepted an invalid configuration: {kwargs}")
