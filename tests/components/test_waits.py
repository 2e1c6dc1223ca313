"""Wait annotations, custom timeouts and key generations (aksml.components.waits)."""

from __future__ import annotations

import json
from typing import Any

import jsonpath_rfc9535 as jsonpath
import pulumi
import pytest

from aksml.components import waits
from aksml.errors import WebserviceException


def _route(**conditions: str) -> dict[str, Any]:
    """An HTTPRoute status as the Gateway API documents it: conditions per parent Gateway."""
    return {
        "status": {
            "parents": [
                {
                    "parentRef": {"name": "gw", "namespace": "infra"},
                    "controllerName": "example.net/gateway-controller",
                    "conditions": [
                        {"type": t, "status": s, "reason": t, "observedGeneration": 1}
                        for t, s in conditions.items()
                    ],
                }
            ]
        }
    }


def _matches(expression: str, obj: dict[str, Any]) -> bool:
    """pulumi-kubernetes' rule: the first node the path selects must equal the value."""
    assert expression.startswith("jsonpath={")
    path, value = expression.removeprefix("jsonpath=").rsplit("=", 1)
    nodes = jsonpath.find("$" + path[1:-1], obj).values()
    return bool(nodes) and str(nodes[0]) == value


def test_route_waits_for_accepted_and_resolved_refs() -> None:
    expressions = json.loads(waits.wait_annotations("HTTPRoute", False)[waits.WAIT_FOR_ANNOTATION])
    assert len(expressions) == 2
    ready = _route(Accepted="True", ResolvedRefs="True")
    assert all(_matches(e, ready) for e in expressions)
    unresolved = _route(Accepted="True", ResolvedRefs="False")
    assert [_matches(e, unresolved) for e in expressions] == [True, False]
    assert not any(_matches(e, {"status": {}}) for e in expressions)  # not yet reconciled


def test_scaled_object_waits_for_ready_and_skip_await_turns_waits_off() -> None:
    assert waits.wait_annotations("ScaledObject", False) == {
        "pulumi.com/waitFor": "condition=Ready"
    }
    assert waits.wait_annotations("ScaledObject", True) == {}
    assert waits.wait_annotations("HTTPRoute", True) == {}
    assert waits.wait_annotations("Deployment", False) == {}


def test_timeouts_become_custom_timeouts_on_the_rollout_and_route() -> None:
    timeouts = waits.custom_timeouts({"create": "20m", "update": "1h30m"})
    assert timeouts is not None
    assert (timeouts.create, timeouts.update, timeouts.delete) == ("20m", "1h30m", None)
    base = pulumi.ResourceOptions(protect=True)
    for kind in ("Deployment", "HTTPRoute", "Ingress"):
        opts = waits.timed_options(kind, base, timeouts)
        assert opts.custom_timeouts is timeouts and opts.protect is True
    assert waits.timed_options("Service", base, timeouts) is base
    assert waits.custom_timeouts(None) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"create": "10 minutes"}, "'timeouts.create' must be a duration such as '10m'"),
        ({"update": 600}, "'timeouts.update' must be a duration"),
        ({"creat": "10m"}, "'timeouts' has unknown field(s) creat"),
        ("10m", "'timeouts' must be a mapping"),
    ],
)
def test_bad_timeouts_name_the_field(value: Any, message: str) -> None:
    with pytest.raises(WebserviceException) as err:
        waits.custom_timeouts(value)
    assert message in err.value.message


def test_key_generations() -> None:
    assert waits.key_generation(None, "primary_key_generation") == 0
    assert waits.key_generation(2.0, "primary_key_generation") == 2  # numbers from YAML/TS
    assert waits.key_keepers(0) is None
    assert waits.key_keepers(3) == {"generation": "3"}
    for bad, rule in ((-1, "must be 0 or more"), (1.5, "whole number"), (True, "whole number")):
        with pytest.raises(WebserviceException, match=rule):
            waits.key_generation(bad, "secondary_key_generation")
