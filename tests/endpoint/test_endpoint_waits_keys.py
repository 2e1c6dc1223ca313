"""AksEndpoint under Pulumi mocks: the route's waitFor, timeouts, shared key generations."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from endpoint_helpers import ab_args

from aksml.components.endpoint import AksEndpoint
from aksml.errors import WebserviceException

RANDOM = "random:index/randomPassword:RandomPassword"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def settled(endpoint: AksEndpoint) -> pulumi.Output[Any]:
    return pulumi.Output.all(endpoint.urn, *[r.urn for r in endpoint.resources.values()])


@pulumi.runtime.test
def test_route_waits_and_versions_get_timeouts(pulumi_mocks: Any) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    seen: dict[str, Any] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        seen.setdefault(args.type_, []).append(args.opts.custom_timeouts)

    ep = AksEndpoint(
        "abtest",
        ab_args(timeouts={"update": "30m"}, primary_key_generation=1),  # type: ignore[arg-type]
        pulumi.ResourceOptions(transformations=[record]),
    )

    def check(_: Any) -> None:
        route = env.recorder.one(ROUTE)["metadata"]["annotations"]
        assert "ResolvedRefs" in route["pulumi.com/waitFor"]
        deployments = seen["kubernetes:apps/v1:Deployment"]
        assert len(deployments) == 2 and all(t.update == "30m" for t in deployments)
        assert seen[ROUTE][0].update == "30m"
        keepers = sorted(
            (r.name, str(env.recorder.unwrap(r.inputs).get("keepers")))
            for r in env.recorder.by_type(RANDOM)
        )
        assert keepers == [
            ("abtest-primary-key", "{'generation': '1'}"),
            ("abtest-secondary-key", "None"),
        ]

    return settled(ep).apply(check)


@pulumi.runtime.test
def test_bad_generation_names_the_endpoint_argument(pulumi_mocks: Any) -> None:
    pulumi_mocks()
    with pytest.raises(WebserviceException, match="AksEndpoint argument 'secondary_key_gen"):
        AksEndpoint("abtest", ab_args(secondary_key_generation=0.5))  # type: ignore[arg-type]
