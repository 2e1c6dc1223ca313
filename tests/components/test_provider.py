"""The multi-language component provider: schema snapshot, Construct path, bad input."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pulumi
import pytest
from pulumi.errors import InputPropertyError
from pulumi.provider.server import ComponentInitError

from aksml import v1
from aksml.components.webservice import AksWebservice
from aksml.package import SCHEMA_FILE, component_provider, schema_json
from startable import SCRIPT_ARGS

TOKEN = "aksml:index:AksWebservice"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json(), (
        "provider/schema.json is stale: run `scripts/generate`"
    )


def test_schema_exposes_every_deploy_configuration_parameter_with_default() -> None:
    schema = json.loads(schema_json())
    resource = schema["resources"][TOKEN]
    inputs = resource["inputProperties"]
    params = list(inspect.signature(v1.deploy_configuration).parameters)
    assert len(params) == 31
    for param in params:
        prop = inputs[_camel(param)]
        description = prop["description"]
        assert "default" in description.lower(), f"{param}: no default stated"
    assert resource.get("requiredInputs", []) == []
    for output in ("scoringUri", "swaggerUri", "primaryKey", "secondaryKey", "namespace"):
        assert resource["properties"][output]["description"]
    assert schema["name"] == "aksml"


def test_schema_uses_enums_for_closed_sets() -> None:
    types = json.loads(schema_json())["types"]
    exposure = types["aksml:index:Exposure"]
    assert {e["value"] for e in exposure["enum"]} == {
        "cluster",
        "load_balancer",
        "ingress",
        "gateway",
    }
    assert types["aksml:index:RuntimeMode"]["enum"]


PY_ARGS: dict[str, Any] = {
    **SCRIPT_ARGS,
    "cpu_cores": 0.5,
    "memory_gb": 1.0,
    "autoscale_enabled": True,
    "autoscale_max_replicas": 4,
    "tags": {"team": "ml"},
    "exposure": "load_balancer",
    "models": [{"name": "iris", "version": "3", "source": "url", "url": "https://x.test/m.pkl"}],
}
CAMEL_ARGS: dict[str, Any] = {
    "entryScript": SCRIPT_ARGS["entry_script"],
    "codeInImage": SCRIPT_ARGS["code_in_image"],
    "cpuCores": 0.5,
    "memoryGb": 1.0,
    "autoscaleEnabled": True,
    "autoscaleMaxReplicas": 4,
    "tags": {"team": "ml"},
    "exposure": "load_balancer",
    "models": [{"name": "iris", "version": "3", "source": "url", "url": "https://x.test/m.pkl"}],
}


def _normalized(env: Any) -> list[tuple[str, str, Any]]:
    """Children sorted by (type, name): registration order depends on when inputs resolve."""
    children = [(r.typ, r.name, env.recorder.unwrap(r.inputs)) for r in env.recorder.children()]
    return sorted(children, key=lambda child: (child[0], child[1]))


@pulumi.runtime.test
async def test_construct_with_camel_case_inputs_matches_python_call(
    pulumi_mocks: Any,
) -> None:
    env = pulumi_mocks()
    ws = AksWebservice("iris", PY_ARGS)  # type: ignore[arg-type]
    await asyncio.gather(*(r.urn.future() for r in ws.resources.values()))
    python_children = _normalized(env)

    env2 = pulumi_mocks()
    result = component_provider().construct("iris", TOKEN, CAMEL_ARGS, pulumi.ResourceOptions())
    await result.urn.future()
    for _ in range(500):  # registrations finish asynchronously; bounded wait
        if len(env2.recorder.children()) >= len(python_children):
            break
        await asyncio.sleep(0.01)
    construct_children = _normalized(env2)

    assert len(python_children) >= 6
    assert construct_children == python_children
    assert set(result.state) >= {"scoringUri", "swaggerUri", "primaryKey", "secondaryKey"}


def test_unknown_enum_value_is_an_input_error_naming_the_property() -> None:
    provider = component_provider()
    with pytest.raises(InputPropertyError) as err:
        provider.map_inputs({"exposure": "bogus"}, provider._component_defs["AksWebservice"])
    assert "bogus" in str(err.value)


def test_missing_required_nested_input_is_an_input_error() -> None:
    provider = component_provider()
    with pytest.raises(InputPropertyError) as err:
        provider.map_inputs(
            {"models": [{"name": "iris"}]}, provider._component_defs["AksWebservice"]
        )
    assert "version" in str(err.value)


@pulumi.runtime.test
def test_wrong_type_through_provider_names_the_parameter(pulumi_mocks: Any) -> None:
    pulumi_mocks()
    with pytest.raises(ComponentInitError) as err:
        component_provider().construct(
            "iris", TOKEN, {"cpuCores": "lots"}, pulumi.ResourceOptions()
        )
    message = str(err.value)
    assert "cpu_cores" in message
    assert "Traceback" not in message


@pulumi.runtime.test
def test_v1_validation_message_through_provider(pulumi_mocks: Any) -> None:
    pulumi_mocks()
    with pytest.raises(ComponentInitError) as err:
        component_provider().construct("iris", TOKEN, {"cpuCores": -1.0}, pulumi.ResourceOptions())
    assert "Invalid configuration, cpu_cores must be greater than zero." in str(err.value)
