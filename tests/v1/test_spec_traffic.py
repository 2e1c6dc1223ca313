"""Endpoint version model and the pure traffic resolution (issue #5 rules)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aksml.errors import WebserviceException
from aksml.v1 import SERVICE_NAME_MESSAGE, EndpointVersionSpec, resolve_roles, resolve_traffic

INV = "Invalid configuration, "
TRAFFIC = f"{INV}traffic_percentile cannot be negative or greater than 100.\n"


def v(name: str, traffic: float | None = None, **kw: Any) -> dict[str, Any]:
    return {"version_name": name, "traffic_percentile": traffic, **kw}


@pytest.mark.parametrize(
    ("versions", "expected", "roles"),
    [
        ([v("blue")], {"blue": 100.0}, ("blue", "blue")),
        ([v("blue"), v("green", 10)], {"blue": 90.0, "green": 10.0}, ("blue", "blue")),
        (
            [v("blue", 10), v("green", is_default=True)],
            {"blue": 10.0, "green": 90.0},
            ("green", "green"),
        ),
        (
            [v("blue"), v("green", 30, version_type="control"), v("red", 20)],
            {"blue": 50.0, "green": 30.0, "red": 20.0},
            ("blue", "green"),
        ),
        # 0 %: deployed, reachable by URI and pinning, no split traffic
        ([v("blue"), v("shadow", 0)], {"blue": 100.0, "shadow": 0.0}, ("blue", "blue")),
        ([v("blue"), v("green", 100)], {"blue": 0.0, "green": 100.0}, ("blue", "blue")),
        ([v("blue", 90), v("green", 10)], {"blue": 90.0, "green": 10.0}, ("blue", "blue")),
        # the default's own percentile is not used: it receives the remainder
        ([v("blue", 50), v("green", 30)], {"blue": 70.0, "green": 30.0}, ("blue", "blue")),
        (
            [v("aaa"), v("bbb", 33.3), v("ccc", 33.3), v("ddd", 33.4)],
            {"aaa": 0.0, "bbb": 33.3, "ccc": 33.3, "ddd": 33.4},
            ("aaa", "aaa"),
        ),
    ],
)
def test_resolve(
    versions: list[dict[str, Any]], expected: dict[str, float], roles: tuple[str, str]
) -> None:
    assert resolve_traffic(versions) == expected
    assert resolve_roles(versions) == roles


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ([], f"{INV}an endpoint needs at least one version.\n"),
        ([v("blue"), v("green", -1)], TRAFFIC),
        ([v("blue"), v("green", 101)], TRAFFIC),
        ([v("Blue")], SERVICE_NAME_MESSAGE),
        ([v("ab")], SERVICE_NAME_MESSAGE),
        (
            [v("blue", is_default=True), v("green", is_default=True)],
            f"{INV}more than one default version (blue, green); exactly one version can be "
            "the default.\n",
        ),
        (
            [v("blue", version_type="control"), v("green", version_type="control")],
            f"{INV}more than one control version (blue, green); exactly one version can be the "
            "control, the others are treatments.\n",
        ),
        (
            [v("blue"), v("green", 60), v("red", 50)],
            f"{INV}the traffic_percentile of the non-default versions add up to 110, more than "
            "100; the default version 'blue' receives what they leave.\n",
        ),
        ([v("blue"), v("blue", 10)], f"{INV}version name 'blue' is used more than once.\n"),
        (
            [v("blue", version_type="canary")],
            f"{INV}version_type must be 'control' or 'treatment', got 'canary' (str).\n",
        ),
        ([v("blue", "10")], f"{INV}traffic_percentile must be a number, got '10' (str).\n"),
        ([v("blue", float("nan"))], f"{INV}traffic_percentile must be a finite number, got nan.\n"),
        (
            [{"name": "blue"}],
            f"{INV}unknown endpoint version parameter 'name'.\n{INV}version_name is required.\n",
        ),
        (
            [v("blue", is_default="yes")],
            f"{INV}is_default must be true or false, got 'yes' (str).\n",
        ),
    ],
)
def test_errors(versions: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(WebserviceException) as info:
        resolve_traffic(versions)
    assert info.value.message == message


def test_spec_objects_accepted() -> None:
    specs = [
        EndpointVersionSpec(version_name="blue"),
        EndpointVersionSpec(version_name="green", traffic_percentile=5),
    ]
    assert resolve_traffic(specs) == {"blue": 95.0, "green": 5.0}


_names = st.lists(
    st.sampled_from(["blue", "green", "red", "shadow", "canary", "stable"]),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(max_examples=200, deadline=None)
@given(_names, st.data())
def test_valid_sets_sum_to_100(names: list[str], data: Any) -> None:
    default = data.draw(st.sampled_from(names))
    budget = 100.0
    versions = []
    for name in names:
        if name == default:
            versions.append(v(name, is_default=True))
            continue
        share = data.draw(st.floats(min_value=0, max_value=budget))
        budget -= share
        versions.append(v(name, share))
    traffic = resolve_traffic(versions)
    assert list(traffic) == names
    assert abs(sum(traffic.values()) - 100) < 1e-6
    assert all(0 <= share <= 100 for share in traffic.values())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"version_name": st.sampled_from(["blue", "green", "B", "red"])},
            optional={
                "traffic_percentile": st.one_of(st.floats(), st.integers(-10, 200), st.text()),
                "is_default": st.one_of(st.booleans(), st.integers(0, 1)),
                "version_type": st.sampled_from(["control", "treatment", "x"]),
            },
        ),
        max_size=4,
    )
)
def test_random_sets_raise_only_webservice_exception(versions: list[dict[str, Any]]) -> None:
    try:
        traffic = resolve_traffic(versions)
    except WebserviceException as exc:
        assert exc.message
        return
    assert abs(sum(traffic.values()) - 100) < 1e-6


def test_endpoint_configuration_first_version() -> None:
    from aksml.v1 import endpoint_deploy_configuration

    first = endpoint_deploy_configuration(traffic_percentile=40).first_version("my-endpoint")
    assert first.version_name == "my-endpoint" and first.is_default
    # the default version takes what the others leave
    assert resolve_traffic([first, v("green", 40)]) == {
        "my-endpoint": 60.0,
        "green": 40.0,
    }


def test_import_multi_version_endpoint_json() -> None:
    from aksml.v1 import deploy_configuration, endpoint_versions_from_aml_json

    blue = deploy_configuration(cpu_cores=0.5, num_replicas=2).serialize("blue")
    blue.update({"isDefault": True, "trafficPercentile": 70, "versionType": "Control"})
    green = deploy_configuration(autoscale_enabled=True, autoscale_max_replicas=3).serialize(
        "green"
    )
    green.update({"trafficPercentile": 30, "type": "Treatment", "authEnabled": True})
    data = {
        "computeType": "AKSENDPOINT",
        "name": "my-endpoint",
        "authEnabled": False,
        "aadAuthEnabled": True,
        "tags": {"team": "ml"},
        "scoringUri": "http://1.2.3.4/api/v1/service/my-endpoint/score",
        "versions": {"blue": blue, "green": green},
    }
    endpoint, versions = endpoint_versions_from_aml_json(data)
    assert endpoint.given() == {
        "auth_enabled": False,
        "token_auth_enabled": True,
        "tags": {"team": "ml"},
    }
    assert [spec.version_name for spec, _ in versions] == ["blue", "green"]
    assert versions[0][0].is_default and versions[0][0].version_type == "control"
    assert versions[1][0].version_type == "treatment"
    assert versions[0][1] == deploy_configuration(cpu_cores=0.5, num_replicas=2)
    assert versions[1][1].autoscale_max_replicas == 3
    assert resolve_traffic([spec for spec, _ in versions]) == {"blue": 70.0, "green": 30.0}
    with pytest.raises(WebserviceException, match=r"unknown key 'versions\.green\.cpuu'"):
        endpoint_versions_from_aml_json({**data, "versions": {"green": {"cpuu": 1}}})
    with pytest.raises(WebserviceException, match="computeType 'AKSENDPOINT'"):
        endpoint_versions_from_aml_json({"computeType": "AKS"})
