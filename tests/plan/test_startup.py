"""Preview refuses what the runtime would refuse to start with (aksml.plan.startup)."""

from __future__ import annotations

from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.plan import WorkloadSettings, placeholder, plan_webservice
from aksml.plan.startup import startup_problems

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
    work = WorkloadSettings(
        token_issuer=placeholder("token_issuer"), token_audience=placeholder("token_audience")
    )
    assert startup_problems(cfg, work) == []
    assert plan_webservice("svc", cfg, work)


def test_issuer_and_blob_url_must_be_http_urls(config: Any) -> None:
    cfg = config(token_auth_enabled=True, auth_enabled=False, collect_model_data=True)
    work = WorkloadSettings(
        token_issuer="login.microsoftonline.com/t",
        token_audience="api://ml",
        data_collection_blob_url="acct/container",
    )
    problems = startup_problems(cfg, work)
    assert [p.split(" ")[0] for p in problems] == ["token_issuer", "data_collection_blob_url"]


def test_key_auth_needs_nothing_more(config: Any) -> None:
    assert startup_problems(config(), WorkloadSettings()) == []


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
