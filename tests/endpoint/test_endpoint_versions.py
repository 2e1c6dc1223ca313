"""create_version / update_version / delete_version / update on EndpointConfiguration: v1
validation, with the §8 bugs fixed."""

from __future__ import annotations

import pytest

from aksml.errors import WebserviceException
from aksml.plan.endpoint import endpoint_input_from_args, plan_endpoint
from aksml.v1 import endpoint_deploy_configuration
from aksml.v1.versions import EndpointConfiguration
from startable import SCRIPT_ARGS

GATEWAY = {"parent_refs": [{"name": "shared"}]}


def start() -> EndpointConfiguration:
    config = endpoint_deploy_configuration(
        version_name="blue", cpu_cores=0.5, auth_enabled=True, tags={"team": "ml"}
    )
    return EndpointConfiguration.from_deploy_configuration(
        "abtest", config, exposure="gateway", gateway=GATEWAY, first_version=SCRIPT_ARGS
    )


def test_first_version_from_deploy_configuration() -> None:
    ep = start()
    assert ep.names() == ["blue"]
    assert ep.version("blue")["cpu_cores"] == 0.5
    assert ep.settings["auth_enabled"] is True and ep.settings["tags"] == {"team": "ml"}
    assert ep.traffic() == {"blue": 100.0}
    unnamed = EndpointConfiguration.from_deploy_configuration(
        "abtest", endpoint_deploy_configuration()
    )
    assert unnamed.names() == ["abtest"]  # v1: the endpoint's name


def test_create_version_with_resources_works_and_plans() -> None:
    # v1 bug 2: cpu_cores/memory_gb on create_version raised AttributeError
    ep = start().create_version(
        "green", traffic_percentile=10, cpu_cores=1, memory_gb=2, workload=SCRIPT_ARGS
    )
    assert ep.traffic() == {"blue": 90.0, "green": 10.0}
    assert ep.version("green")["version_type"] == "treatment"
    objs = plan_endpoint(endpoint_input_from_args("abtest", ep.to_args()))
    green = next(o for o in objs if o["metadata"]["name"] == "abtest-green")
    assert green["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "1",
        "memory": "2Gi",
    }


def test_create_version_validation() -> None:
    ep = start()
    with pytest.raises(WebserviceException, match="No name is provided to create a version"):
        ep.create_version(None)
    with pytest.raises(WebserviceException, match="provided service name is invalid"):
        ep.create_version("G")
    with pytest.raises(WebserviceException, match="cannot be negative or greater than 100"):
        ep.create_version("green", traffic_percentile=101)
    with pytest.raises(WebserviceException, match="already exists"):
        ep.create_version("blue")
    with pytest.raises(WebserviceException, match="cpu_cores must be greater than zero"):
        ep.create_version("green", cpu_cores=0)
    crowded = ep.create_version("green", traffic_percentile=60)
    with pytest.raises(WebserviceException, match="add up to 110"):
        crowded.create_version("red", traffic_percentile=50)


def test_default_and_control_move() -> None:
    ep = start().create_version(
        "green", traffic_percentile=40, is_default=True, is_control_version_type=True
    )
    assert ep.version("green")["is_default"] is True
    assert "is_default" not in ep.version("blue")
    assert ep.version("blue")["version_type"] == "treatment"
    assert ep.version("green")["version_type"] == "control"
    # the default receives the remainder; its own percentile is not used
    assert ep.traffic() == {"blue": 0.0, "green": 100.0}


def test_update_version_validates_and_merges() -> None:
    ep = start().create_version("green", traffic_percentile=10, properties={"a": "1"})
    # v1 bug 3: update_version accepted traffic_percentile=150 and ignored properties
    with pytest.raises(WebserviceException, match="cannot be negative or greater than 100"):
        ep.update_version("green", traffic_percentile=150)
    with pytest.raises(WebserviceException, match="no version 'red'"):
        ep.update_version("red", traffic_percentile=5)
    with pytest.raises(WebserviceException, match="No parameters provided to update a version"):
        ep.update_version("green")
    with pytest.raises(WebserviceException, match="No name is provided to update a version"):
        ep.update_version(None, traffic_percentile=5)
    updated = ep.update_version(
        "green",
        traffic_percentile=30,
        properties={"b": "2"},
        tags={"x": "y"},
        num_replicas=2,
        autoscale_enabled=False,
    )
    green = updated.version("green")
    assert green["properties"] == {"a": "1", "b": "2"} and green["tags"] == {"x": "y"}
    assert green["num_replicas"] == 2 and updated.traffic()["blue"] == 70.0
    with pytest.raises(WebserviceException, match="properties cannot be changed"):
        ep.update_version("green", properties={"a": "9"})
    promoted = ep.update_version("green", is_default=True)
    assert promoted.version("green")["is_default"] is True
    assert "is_default" not in promoted.version("blue")
    # v1 sent an empty patch for is_default=False; here the flag is cleared
    demoted = promoted.update_version("green", is_default=False)
    assert "is_default" not in demoted.version("green")


def test_delete_version() -> None:
    ep = start().create_version("green", traffic_percentile=10)
    with pytest.raises(WebserviceException, match="No name is provided to delete a version"):
        ep.delete_version(None)
    with pytest.raises(WebserviceException, match="no version 'red'"):
        ep.delete_version("red")
    only = ep.delete_version("blue")
    assert only.names() == ["green"] and only.traffic() == {"green": 100.0}
    with pytest.raises(WebserviceException, match="only version"):
        only.delete_version("green")


def test_endpoint_update_works() -> None:
    # v1 bug 1: AksEndpoint.update always raised TypeError
    ep = start().update(token_auth_enabled=True, description="new", properties={"p": "1"})
    assert ep.settings["token_auth_enabled"] is True and ep.settings["auth_enabled"] is False
    assert ep.settings["description"] == "new" and ep.settings["properties"] == {"p": "1"}
    with pytest.raises(WebserviceException, match="No parameters provided to update"):
        ep.update()
    with pytest.raises(WebserviceException, match=r"unknown AksEndpoint\.update"):
        ep.update(cpu_cores=1)
