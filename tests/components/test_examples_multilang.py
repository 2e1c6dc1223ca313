"""The YAML and TypeScript examples against the package, without the Pulumi CLI.

The YAML program's resource properties go through the provider's Construct path under Pulumi
mocks (as the engine would send them); the TypeScript program's argument and output names are
checked against the schema. Neither program is run by a Pulumi engine here.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import yaml

from aksml.package import component_provider, schema_json

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "aksml:index:AksWebservice"


def _yaml_program() -> dict[str, Any]:
    program: dict[str, Any] = yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text())
    return program


@pulumi.runtime.test
async def test_yaml_example_constructs_through_the_provider(pulumi_mocks: Any) -> None:
    program = _yaml_program()
    resource = program["resources"]["iris"]
    assert resource["type"] == TOKEN
    cwd = str(EXAMPLES / "yaml")
    props = json.loads(json.dumps(resource["properties"]).replace("${pulumi.cwd}", cwd))
    schema = json.loads(schema_json())["resources"][TOKEN]
    assert set(props) <= set(schema["inputProperties"])
    env = pulumi_mocks()
    result = component_provider().construct("iris", TOKEN, props, pulumi.ResourceOptions())
    await result.urn.future()
    expected = {"Deployment", "Service", "Secret", "ConfigMap", "HorizontalPodAutoscaler"}
    kinds: set[str] = set()
    for _ in range(500):  # registrations finish asynchronously; bounded wait
        kinds = {r.typ.rsplit(":", 1)[-1] for r in env.recorder.children()}
        if expected <= kinds:
            break
        await asyncio.sleep(0.01)
    assert expected <= kinds
    for expr in program["outputs"].values():
        name = re.fullmatch(r"\$\{iris\.(\w+)\}", expr)
        assert name is not None and name.group(1) in result.state


def test_typescript_example_uses_schema_names() -> None:
    source = (EXAMPLES / "typescript" / "index.ts").read_text()
    call = re.search(r"new aksml\.AksWebservice\(\"iris\", \{(.*?)\n\}\);", source, re.S)
    assert call is not None
    args = re.findall(r"^    (\w+):", call.group(1), re.M)
    outputs = re.findall(r"= iris\.(\w+);", source)
    resource = json.loads(schema_json())["resources"][TOKEN]
    assert args and set(args) <= set(resource["inputProperties"])
    assert outputs and set(outputs) <= set(resource["properties"])
