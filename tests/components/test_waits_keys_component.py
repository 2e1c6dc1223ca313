"""AksWebservice under Pulumi mocks: waitFor annotations, custom timeouts, key generations."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from aksml.cli.keys import KEY_GENERATION_ARGS
from aksml.components.args import AksWebserviceArgs
from aksml.components.endpoint_args import AksEndpointArgs
from aksml.components.webservice import AksWebservice
from aksml.errors import WebserviceException
from startable import SCRIPT_ARGS, script_args

MockFactory = Any
RANDOM = "random:index/randomPassword:RandomPassword"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SCALED = "kubernetes:keda.sh/v1alpha1:ScaledObject"
GATEWAY_KEDA: dict[str, Any] = {
    **SCRIPT_ARGS,
    "exposure": "gateway",
    "gateway": {"parent_refs": [{"name": "gw", "namespace": "infra"}]},
    "autoscaler": "keda",
    "autoscale_enabled": True,
}


def settled(ws: AksWebservice) -> pulumi.Output[Any]:
    return pulumi.Output.all(ws.urn, *[r.urn for r in ws.resources.values()])


def test_cli_and_components_name_the_same_generation_args() -> None:
    for args in (AksWebserviceArgs, AksEndpointArgs):
        assert set(KEY_GENERATION_ARGS.values()) <= set(args.__annotations__)
        assert "timeouts" in args.__annotations__


@pulumi.runtime.test
def test_route_and_scaled_object_wait(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", GATEWAY_KEDA)  # type: ignore[arg-type]

    def check(_: Any) -> None:
        route = env.recorder.one(ROUTE)["metadata"]["annotations"]["pulumi.com/waitFor"]
        assert [c.split('"')[1] for c in json.loads(route)] == ["Accepted", "ResolvedRefs"]
        scaled = env.recorder.one(SCALED)["metadata"]["annotations"]
        assert scaled["pulumi.com/waitFor"] == "condition=Ready"
        deployment = env.recorder.one("kubernetes:apps/v1:Deployment")["metadata"]
        assert "pulumi.com/waitFor" not in deployment.get("annotations", {})

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_skip_await_drops_the_waits(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", {**GATEWAY_KEDA, "skip_await": True})  # type: ignore[typeddict-item]

    def check(_: Any) -> None:
        for typ in (ROUTE, SCALED):
            assert "pulumi.com/waitFor" not in env.recorder.one(typ)["metadata"].get(
                "annotations", {}
            )
        deployment = env.recorder.one("kubernetes:apps/v1:Deployment")["metadata"]
        assert deployment["annotations"]["pulumi.com/skipAwait"] == "true"

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_timeouts_are_custom_timeouts_on_rollout_and_route(
    pulumi_mocks: MockFactory,
) -> pulumi.Output[Any]:
    pulumi_mocks()
    seen: dict[str, Any] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        seen[args.type_] = args.opts.custom_timeouts

    ws = AksWebservice(
        "iris",
        {**GATEWAY_KEDA, "timeouts": {"create": "20m", "update": "15m"}},  # type: ignore[typeddict-item]
        pulumi.ResourceOptions(transformations=[record]),
    )

    def check(_: Any) -> None:
        for typ in ("kubernetes:apps/v1:Deployment", ROUTE):
            timeouts = seen[typ]
            assert (timeouts.create, timeouts.update, timeouts.delete) == ("20m", "15m", None)
        for typ in ("kubernetes:core/v1:Service", SCALED, RANDOM):
            assert seen[typ] is None

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_key_generation_replaces_only_that_key(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "secondary_key_generation": 2})

    def check(_: Any) -> None:
        keepers = {
            r.name: env.recorder.unwrap(r.inputs).get("keepers")
            for r in env.recorder.by_type(RANDOM)
        }
        assert keepers == {"iris-primary-key": None, "iris-secondary-key": {"generation": "2"}}

    return settled(ws).apply(check)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"primary_key_generation": -1}, "'primary_key_generation' must be 0 or more"),
        ({"timeouts": {"create": "soon"}}, "'timeouts.create' must be a duration"),
    ],
)
@pulumi.runtime.test
def test_bad_values_name_the_argument(
    pulumi_mocks: MockFactory, args: dict[str, Any], message: str
) -> None:
    pulumi_mocks()
    with pytest.raises(WebserviceException) as err:
        AksWebservice("iris", script_args(**args))  # type: ignore[arg-type]
    assert err.value.message.startswith("Error, AksWebservice argument")
    assert message in err.value.message
