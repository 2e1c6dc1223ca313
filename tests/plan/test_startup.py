"""Preview refuses what the runtime would refuse to start with (aksml.plan.startup)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aksml.cli import app
from aksml.errors import WebserviceException
from aksml.plan import ProxySpec, WorkloadSettings, placeholder, plan_webservice
from aksml.plan.endpoint import endpoint_input_from_args, plan_endpoint
from aksml.plan.inputs import settings_from_args
from aksml.plan.settings import DEFAULT_IMAGE, RUNTIME_IMAGE_REPOSITORY
from aksml.plan.startup import startup_problems
from startable import SCRIPT, script_args, scripted

ISSUER = "https://login.microsoftonline.com/t/v2.0"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "token_issuer and token_audience"),
        ({"token_issuer": ISSUER}, "needs token_audience:"),
        ({"token_audience": "api://ml"}, "needs token_issuer:"),
    ],
)
def test_token_auth_without_issuer_or_audience_fails_at_preview(
    config: Any, given: dict[str, str], missing: str
) -> None:
    cfg = config(token_auth_enabled=True, auth_enabled=False)
    with pytest.raises(WebserviceException) as caught:
        plan_webservice("svc", cfg, WorkloadSettings(**given))
    assert missing in caught.value.message
    assert "token_auth_application" in caught.value.message


def test_token_auth_with_deferred_issuer_and_audience_plans(config: Any) -> None:
    # the azure section (or any Output) fills both at deploy time: placeholders count as given
    cfg = config(token_auth_enabled=True, auth_enabled=False)
    work = scripted(
        token_issuer=placeholder("token_issuer"), token_audience=placeholder("token_audience")
    )
    assert startup_problems(cfg, work) == []
    assert plan_webservice("svc", cfg, work)


def test_issuer_and_blob_url_must_be_http_urls(config: Any) -> None:
    cfg = config(token_auth_enabled=True, auth_enabled=False, collect_model_data=True)
    work = scripted(
        token_issuer="login.microsoftonline.com/t",
        token_audience="api://ml",
        data_collection_blob_url="acct/container",
    )
    problems = startup_problems(cfg, work)
    assert [p.split(" ")[0] for p in problems] == ["token_issuer", "data_collection_blob_url"]


def test_key_auth_needs_nothing_more(config: Any) -> None:
    assert startup_problems(config(), scripted()) == []


NO_SCRIPT = "entry_script is required with runtime_mode 'in_process' on the aksml runtime image"


@pytest.mark.parametrize(
    "image",
    [DEFAULT_IMAGE, f"{RUNTIME_IMAGE_REPOSITORY}:9.9.9", f"{RUNTIME_IMAGE_REPOSITORY}@sha256:ab"],
)
def test_in_process_without_entry_script_on_the_runtime_image_fails_at_preview(
    config: Any, image: str
) -> None:
    # the runtime image sets no AZUREML_ENTRY_SCRIPT: `aksml serve` exits with
    # "--entry-script (or AZUREML_ENTRY_SCRIPT) is required unless --upstream is given"
    with pytest.raises(WebserviceException) as caught:
        plan_webservice("svc", config(), WorkloadSettings(image=image))
    assert caught.value.message.startswith(f"Error, {NO_SCRIPT} ({image})")
    assert "Give entry_script" in caught.value.message


def test_code_in_image_alone_does_not_name_a_script(config: Any) -> None:
    # code_in_image without entry_script on the runtime image: still nothing to load
    _, work = settings_from_args({"code_in_image": True})
    assert [p[: len(NO_SCRIPT)] for p in startup_problems(config(), work)] == [NO_SCRIPT]


@pytest.mark.parametrize(
    "work",
    [
        WorkloadSettings(entry_script=SCRIPT),  # the script, in the image
        # an image that bakes the code in may set AZUREML_ENTRY_SCRIPT itself (azure.image does)
        WorkloadSettings(image="myacr.azurecr.io/scoring:1"),
        WorkloadSettings(image=f"{RUNTIME_IMAGE_REPOSITORY}-custom:1"),
        WorkloadSettings(image=placeholder("image")),
        # proxy mode: the runtime fronts the model server (--upstream), no script
        WorkloadSettings(runtime_mode="proxy", proxy=ProxySpec(image="me/model:1", port=8000)),
    ],
    ids=["script", "custom-image", "similar-name", "deferred-image", "proxy"],
)
def test_entry_script_not_needed(config: Any, work: WorkloadSettings) -> None:
    assert startup_problems(config(), work) == []
    assert plan_webservice("svc", config(), work)


def test_code_in_image_with_a_custom_image_plans(config: Any) -> None:
    _, work = settings_from_args({"image": "myacr.azurecr.io/scoring:1", "code_in_image": True})
    assert startup_problems(config(), work) == []


def test_endpoint_version_without_entry_script_fails_at_preview() -> None:
    args = {
        "versions": [
            script_args(version_name="blue", traffic_percentile=50),
            {"version_name": "green", "traffic_percentile": 50},
        ],
        "exposure": "gateway",
        "gateway": {"parent_refs": [{"name": "gw"}]},
    }
    with pytest.raises(WebserviceException) as caught:
        plan_endpoint(endpoint_input_from_args("abtest", args))
    assert caught.value.message.startswith(f"Error, version 'green': {NO_SCRIPT}")
    args["versions"][1] = script_args(**args["versions"][1])
    assert plan_endpoint(endpoint_input_from_args("abtest", args))


def test_render_cli_without_entry_script_is_one_line_exit_2(tmp_path: Path) -> None:
    config_file = tmp_path / "iris.json"
    config_file.write_text(
        json.dumps(
            {"computeType": "AKS", "containerResourceRequirements": {"cpu": 0.25, "memoryInGB": 1}}
        )
    )
    result = CliRunner().invoke(app, ["render", str(config_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and NO_SCRIPT in lines[0] and "--entry-script" in lines[0]
    (tmp_path / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    given = [
        "render",
        str(config_file),
        "--entry-script",
        "score.py",
        "--out",
        str(tmp_path / "ok"),
    ]
    assert CliRunner().invoke(app, given).exit_code == 0


def test_api_server_refusal_names_the_parameter(config: Any) -> None:
    """The example in docs/components.md ("Checks at preview"), verbatim."""
    work = WorkloadSettings(entry_script="score.py", environment_variables={"1BAD": "x"})
    with pytest.raises(WebserviceException) as caught:
        plan_webservice("iris", config(), work)
    assert caught.value.message == (
        "Error, the Kubernetes API server would refuse these objects:\n"
        '- Deployment/iris spec.template.spec.containers[0].env[12].name: Invalid value: "1BAD": '
        "a valid environment variable name must consist of alphabetic characters, digits, '_', "
        "'-', or '.', and must not start with a digit (parameter environment_variables)\n"
    )
