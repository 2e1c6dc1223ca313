"""AksEndpoint under Pulumi mocks: exact children, shared keys, outputs, errors."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from endpoint_helpers import ab_args

from aksml.components.endpoint import AksEndpoint
from aksml.errors import WebserviceException

RANDOM = "random:index/randomPassword:RandomPassword"


def settled(endpoint: AksEndpoint) -> pulumi.Output[Any]:
    urns = [r.urn for r in endpoint.resources.values()]
    return pulumi.Output.all(endpoint.urn, *urns)


@pulumi.runtime.test
def test_children_exact(pulumi_mocks: Any) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ep = AksEndpoint("abtest", ab_args(mirror_to="green", mirror_percent=10))  # type: ignore[arg-type]

    def check(_: Any) -> None:
        kinds = sorted((r.typ, r.name) for r in env.recorder.children())
        expected = [(RANDOM, "abtest-primary-key"), (RANDOM, "abtest-secondary-key")]
        expected.append(("kubernetes:core/v1:Secret", "abtest-keys"))
        for v in ("blue", "green"):
            expected += [
                ("kubernetes:apps/v1:Deployment", f"abtest-{v}-deployment"),
                ("kubernetes:core/v1:Service", f"abtest-{v}-service"),
                (
                    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
                    f"abtest-{v}-autoscaler",
                ),
                ("kubernetes:policy/v1:PodDisruptionBudget", f"abtest-{v}-disruption-budget"),
                ("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"abtest-{v}-network-policy"),
            ]
        expected.append(("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "abtest-route"))
        assert kinds == sorted(expected)
        components = [r for r in env.recorder.registered if not r.custom]
        assert [(r.typ, r.name) for r in components] == [("aksml:index:AksEndpoint", "abtest")]
        secret = env.recorder.one("kubernetes:core/v1:Secret")
        assert secret["stringData"] == {
            "primaryKey": "generated-abtest-primary-key",
            "secondaryKey": "generated-abtest-secondary-key",
        }
        route = env.recorder.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
        split = route["spec"]["rules"][-1]
        assert [b["weight"] for b in split["backendRefs"]] == [90, 10]
        assert split["filters"][0]["type"] == "RequestMirror"

    return settled(ep).apply(check)


@pulumi.runtime.test
def test_outputs(pulumi_mocks: Any) -> pulumi.Output[Any]:
    pulumi_mocks()
    ep = AksEndpoint("abtest", ab_args(primary_key="p" * 8, secondary_key="s" * 8))  # type: ignore[arg-type]

    def check(values: list[Any]) -> None:
        scoring, swagger, version_uris, traffic, primary, serialized, default, control = values
        assert scoring == "http://ml.example.com/api/v1/service/abtest/score"
        assert swagger == "http://ml.example.com/api/v1/service/abtest/swagger.json"
        assert json.loads(version_uris)["blue"]["scoring_uri"] == (
            "http://ml.example.com/api/v1/service/abtest/versions/blue/score"
        )
        assert json.loads(traffic) == {"blue": 90.0, "green": 10.0}
        assert primary == "pppppppp"
        doc = json.loads(serialized)
        assert doc["scoringUri"] == scoring and set(doc["versions"]) == {"blue", "green"}
        assert (default, control) == ("blue", "blue")

    return pulumi.Output.all(
        ep.scoring_uri,
        ep.swagger_uri,
        ep.version_uris,
        ep.traffic,
        ep.primary_key,
        ep.serialized,
        ep.default_version,
        ep.control_version,
    ).apply(check)


@pulumi.runtime.test
def test_output_image_is_substituted(pulumi_mocks: Any) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    args = ab_args()
    args["versions"][1]["image"] = pulumi.Output.from_input("registry.example.com/green:2")
    ep = AksEndpoint("abtest", args)  # type: ignore[arg-type]

    def check(_: Any) -> None:
        deployments = {
            r.name: r.inputs for r in env.recorder.by_type("kubernetes:apps/v1:Deployment")
        }
        image = deployments["abtest-green-deployment"]["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        assert image == "registry.example.com/green:2"

    return settled(ep).apply(check)


@pulumi.runtime.test
def test_output_in_a_structural_argument_is_refused(pulumi_mocks: Any) -> pulumi.Output[Any]:
    pulumi_mocks()
    replicas = pulumi.Output.from_input(2)
    args = ab_args()
    args["versions"][1]["num_replicas"] = replicas
    with pytest.raises(WebserviceException, match=r"num_replicas.*plain value"):
        AksEndpoint("abtest", args)  # type: ignore[arg-type]
    return replicas


def test_deploy_configuration_is_v1s() -> None:
    config = AksEndpoint.deploy_configuration(version_name="blue", traffic_percentile=20)
    assert config.version_name == "blue"
    with pytest.raises(WebserviceException, match="traffic_percentile cannot be negative"):
        AksEndpoint.deploy_configuration(traffic_percentile=101)
