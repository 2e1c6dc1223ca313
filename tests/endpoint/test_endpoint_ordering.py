"""Deploy order under Pulumi mocks: every registered resource's recorded dependencies.

Traffic moves only to versions that are ready: the HTTPRoute (or each ingress-nginx Ingress)
depends on the Deployments and Services of every version it routes or mirrors to, so
pulumi-kubernetes' Deployment await holds the route until the rollout is Ready. Deployments
depend on the ConfigMaps and Secrets they mount. The dependencies are read from what the
component sends to the (mock) engine, per resource.
"""

from __future__ import annotations

from typing import Any

import pulumi
from endpoint_helpers import ab_args

from aksml.components.endpoint import AksEndpoint
from aksml.components.webservice import AksWebservice
from startable import SCRIPT_ARGS


def record_dependencies(env: Any) -> dict[str, set[str]]:
    """child name -> names of the resources it depends on, filled as resources register."""
    recorded: dict[str, set[str]] = {}
    register = env.monitor.RegisterResource

    def recording(request: Any) -> Any:
        recorded[request.name] = {urn.split("::")[-1] for urn in request.dependencies}
        return register(request)

    env.monitor.RegisterResource = recording
    return recorded


def settled(component: Any) -> pulumi.Output[Any]:
    return pulumi.Output.all(component.urn, *[r.urn for r in component.resources.values()])


@pulumi.runtime.test
def test_route_waits_for_every_version(pulumi_mocks: Any) -> pulumi.Output[Any]:
    deps = record_dependencies(pulumi_mocks())
    endpoint = AksEndpoint("abtest", ab_args(mirror_to="green", mirror_percent=10))  # type: ignore[arg-type]

    def check(_: Any) -> None:
        assert deps["abtest-route"] == {
            "abtest-blue-deployment",
            "abtest-green-deployment",
            "abtest-blue-service",
            "abtest-green-service",
        }
        for version in ("blue", "green"):
            # the shared keys Secret is mounted by every version
            assert deps[f"abtest-{version}-deployment"] == {"abtest-keys"}
            # Services, autoscalers and policies wait for nothing
            assert deps[f"abtest-{version}-service"] == set()

    return settled(endpoint).apply(check)


@pulumi.runtime.test
def test_ingress_canary_waits_for_its_version(pulumi_mocks: Any) -> pulumi.Output[Any]:
    deps = record_dependencies(pulumi_mocks())
    args = ab_args(exposure="ingress", gateway=None, ingress={"host": "ml.example.com"})
    endpoint = AksEndpoint("abtest", args)  # type: ignore[arg-type]

    def check(_: Any) -> None:
        # the main Ingress routes to the default version, the canary Ingress to the other
        assert deps["abtest-ingress"] == {"abtest-blue-deployment", "abtest-blue-service"}
        assert deps["abtest-ingress-canary"] == {
            "abtest-green-deployment",
            "abtest-green-service",
        }

    return settled(endpoint).apply(check)


@pulumi.runtime.test
def test_deployment_waits_for_what_it_mounts(pulumi_mocks: Any) -> pulumi.Output[Any]:
    deps = record_dependencies(pulumi_mocks())
    service = AksWebservice(
        "iris",
        {**SCRIPT_ARGS, "exposure": "ingress", "ingress": {"host": "ml.example.com"}},  # type: ignore[typeddict-item]
    )

    def check(_: Any) -> None:
        assert deps["iris-deployment"] == {"iris-keys"}
        assert deps["iris-ingress"] == {"iris-deployment", "iris-service"}

    return settled(service).apply(check)


@pulumi.runtime.test
def test_model_data_without_blob_url_warns_at_preview(
    pulumi_mocks: Any, monkeypatch: Any
) -> pulumi.Output[Any]:
    pulumi_mocks(preview=True)
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warned.append(message))
    service = AksWebservice("iris", {**SCRIPT_ARGS, "collect_model_data": True})  # type: ignore[typeddict-item]

    def check(_: Any) -> None:
        (warning,) = warned
        assert "collect_model_data=True without data_collection_blob_url" in warning
        assert "lost whenever the pod goes" in warning

    return settled(service).apply(check)
