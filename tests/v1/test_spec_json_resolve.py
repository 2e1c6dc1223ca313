"""resolve(), beyond-v1 type checks, AML JSON both ways, load_config, hypothesis properties."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aksml.errors import WebserviceException
from aksml.v1 import (
    AksEndpointDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    deploy_configuration,
    endpoint_deploy_configuration,
    from_aml_json,
    load_config,
)
from aksml.v1.params import ENDPOINT_PARAMETERS, SERVICE_PARAMETERS, Kind

ROOT = Path(__file__).resolve().parents[2]
INV = "Invalid configuration, "


# ---- resolve ------------------------------------------------------------------------------
def test_resolve_documented_defaults() -> None:
    r = deploy_configuration().resolve()
    assert (r.cpu_cores, r.memory_gb, r.cpu_cores_limit, r.memory_gb_limit) == (
        0.1,
        0.5,
        None,
        None,
    )
    assert r.autoscale_enabled and r.num_replicas is None
    assert (r.autoscale_min_replicas, r.autoscale_max_replicas) == (1, 10)
    assert (r.autoscale_target_utilization, r.autoscale_refresh_seconds) == (70, 1)
    assert (r.scoring_timeout_ms, r.replica_max_concurrent_requests) == (60000, 1)
    assert r.max_request_wait_time == 500
    probe = (
        r.initial_delay_seconds,
        r.period_seconds,
        r.timeout_seconds,
        r.success_threshold,
        r.failure_threshold,
    )
    assert probe == (310, 10, 2, 1, 3)
    assert r.auth_enabled and not r.token_auth_enabled
    assert r.gpu_cores == 0 and r.blobfuse_enabled
    assert not r.collect_model_data and not r.enable_app_insights
    assert r.tags == {} and r.properties == {}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"cpu_cores_limit": 0.05}, {"cpu_cores": 0.05, "cpu_cores_limit": 0.05}),
        ({"cpu_cores_limit": 2}, {"cpu_cores": 0.1, "cpu_cores_limit": 2}),
        ({"memory_gb_limit": 0.25}, {"memory_gb": 0.25, "memory_gb_limit": 0.25}),
        ({"num_replicas": 3}, {"autoscale_enabled": False, "num_replicas": 3}),
        (
            {"autoscale_enabled": True, "autoscale_min_replicas": 20},
            {"autoscale_min_replicas": 20, "autoscale_max_replicas": 20},
        ),
        ({"token_auth_enabled": True}, {"auth_enabled": False, "token_auth_enabled": True}),
        ({"blobfuse_enabled": False}, {"blobfuse_enabled": False}),
    ],
)
def test_resolve_decisions(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    resolved = deploy_configuration(**kwargs).resolve()
    assert {key: getattr(resolved, key) for key in expected} == expected


def test_endpoint_resolves_like_a_service() -> None:
    r = endpoint_deploy_configuration(version_name="blue", cpu_cores=1).resolve()
    assert r.cpu_cores == 1 and r.blobfuse_enabled


# ---- beyond v1: types and Kubernetes sanity -------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpu_cores": "1"}, f"{INV}cpu_cores must be a number, got '1' (str).\n"),
        ({"num_replicas": True}, f"{INV}num_replicas must be a whole number, got True (bool).\n"),
        ({"num_replicas": 2.5}, f"{INV}num_replicas must be a whole number, got 2.5 (float).\n"),
        ({"auth_enabled": 1}, f"{INV}auth_enabled must be true or false, got 1 (int).\n"),
        ({"tags": {"a": 1}}, f"{INV}tags values must be strings, tags['a'] is 1 (int).\n"),
        (
            {"tags": ["a"]},
            f"{INV}tags must be a mapping of strings to strings, got ['a'] (list).\n",
        ),
        ({"namespace": 5}, f"{INV}namespace must be a string, got 5 (int).\n"),
        ({"cpu_cores": math.nan}, f"{INV}cpu_cores must be a finite number, got nan.\n"),
        (
            {"memory_gb_limit": math.inf},
            f"{INV}memory_gb_limit must be a finite number, got inf.\n",
        ),
        ({"cpu_cores_limit": -1}, f"{INV}cpu_cores_limit must be greater than zero.\n"),
        ({"memory_gb_limit": 0}, f"{INV}memory_gb_limit must be greater than zero.\n"),
        ({"namespace": "abc\n"}, None),
        # a type error is reported alone, before the v1 checks
        (
            {"cpu_cores": "x", "memory_gb": -1},
            f"{INV}cpu_cores must be a number, got 'x' (str).\n",
        ),
        # a v1-rejected input keeps v1's text byte for byte (beyond-v1 phase 3 does not run)
        (
            {"memory_gb": -1, "cpu_cores_limit": -1},
            f"{INV}memory_gb must be greater than zero.\n",
        ),
    ],
)
def test_beyond_v1_checks(kwargs: dict[str, Any], message: str | None) -> None:
    with pytest.raises(WebserviceException) as info:
        deploy_configuration(**kwargs)
    if message is None:
        assert "namespace must be a valid Kubernetes namespace" in info.value.message
    else:
        assert info.value.message == message


def test_integral_floats_become_ints() -> None:
    config = deploy_configuration(num_replicas=3.0)  # e.g. from YAML
    assert config.num_replicas == 3 and isinstance(config.num_replicas, int)


def test_constructor_rejects_unknown_parameter() -> None:
    with pytest.raises(WebserviceException) as info:
        AksServiceDeploymentConfiguration(cpu_core=1)
    assert info.value.message == (f"{INV}unknown parameter 'cpu_core'. Did you mean 'cpu_cores'?\n")
    with pytest.raises(WebserviceException, match="unknown parameter 'blobfuse_enabled'"):
        AksEndpointDeploymentConfiguration(blobfuse_enabled=True)


# ---- AML JSON ------------------------------------------------------------------------------
def test_create_payload_shape() -> None:
    config = deploy_configuration(
        cpu_cores=0.5,
        memory_gb=1,
        autoscale_enabled=True,
        autoscale_max_replicas=4,
        blobfuse_enabled=False,
        tags={"a": "b"},
    )
    payload = config.to_create_payload("mysvc", compute_name="myaks")
    assert payload == {
        "name": "mysvc",
        "description": None,
        "kvTags": {"a": "b"},
        "properties": None,
        "keys": {"primaryKey": None, "secondaryKey": None},
        "computeType": "AKS",
        "computeName": "myaks",
        "environmentImageRequest": None,
        "location": None,
        "numReplicas": None,
        "autoScaler": {
            "autoscaleEnabled": True,
            "minReplicas": None,
            "maxReplicas": 4,
            "refreshPeriodInSeconds": None,
            "targetUtilization": None,
        },
        "containerResourceRequirements": {
            "cpu": 0.5,
            "cpuLimit": None,
            "memoryInGB": 1,
            "memoryInGBLimit": None,
            "gpu": None,
        },
        "maxConcurrentRequestsPerContainer": None,
        "maxQueueWaitMs": None,
        "namespace": None,
        "scoringTimeoutMs": None,
        "storageInitEnabled": True,
        "livenessProbeRequirements": {
            "periodSeconds": None,
            "initialDelaySeconds": None,
            "timeoutSeconds": None,
            "successThreshold": None,
            "failureThreshold": None,
        },
    }


def test_endpoint_payload_versions_are_aks() -> None:
    config = endpoint_deploy_configuration(version_name="blue", traffic_percentile=20)
    payload = config.to_create_payload("myendpoint")
    assert payload["computeType"] == "AKSENDPOINT"
    assert payload["versions"]["blue"]["computeType"] == "AKS"
    assert payload["versions"]["blue"]["trafficPercentile"] == 20
    assert list(config.serialize("myendpoint")["versions"]) == ["blue"]
    with pytest.raises(WebserviceException, match="needs the endpoint name"):
        endpoint_deploy_configuration().serialize()


def test_serialize_keys_of_v1() -> None:
    out = deploy_configuration().serialize("svc")
    keys = (
        "name description tags properties state createdTime updatedTime error computeType "
        "workspaceName imageId imageDigest imageDetails scoringUri createdBy appInsightsEnabled "
        "authEnabled autoScaler computeName containerResourceRequirements dataCollection "
        "maxConcurrentRequestsPerContainer maxQueueWaitMs livenessProbeRequirements numReplicas "
        "deploymentStatus scoringTimeoutMs aadAuthEnabled environmentDetails modelDetails "
        "isDefault trafficPercentile versionType"
    )
    assert set(keys.split()) <= set(out)
    assert "primaryKey" not in json.dumps(out)


def test_import_deploymentconfig_file() -> None:
    config = from_aml_json(
        {
            "computeType": "AKS",
            "gpuCores": 1,
            "tokenAuthEnabled": True,
            "authEnabled": False,
            "computeTargetName": "myaks",
            "keys": {"primaryKey": "p", "secondaryKey": "s"},
            "containerResourceRequirements": {"cpu": 1, "memoryInGB": 2},
        }
    )
    assert isinstance(config, AksServiceDeploymentConfiguration)
    assert config.given() == {
        "auth_enabled": False,
        "cpu_cores": 1,
        "memory_gb": 2,
        "primary_key": "p",
        "secondary_key": "s",
        "gpu_cores": 1,
        "token_auth_enabled": True,
        "compute_target_name": "myaks",
    }
    endpoint = from_aml_json(
        {"computeType": "aksendpoint", "versionName": "blue", "trafficPercentile": 30}
    )
    assert isinstance(endpoint, AksEndpointDeploymentConfiguration)
    assert endpoint.version_name == "blue"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {},
            f"{INV}need to specify computeType ('aks' for an AksWebservice, "
            "'aksendpoint' for an AksEndpoint).\n",
        ),
        ({"computeType": "ACI"}, "is not supported: aksml deploys to Kubernetes"),
        ({"computeType": "k8s"}, "unknown computeType 'k8s'"),
        ({"computeType": "aks", "gpucores": 1}, "unknown key 'gpucores'. Did you mean 'gpuCores'?"),
        (
            {"computeType": "aks", "autoScaler": {"minReplica": 1}},
            "unknown key 'autoScaler.minReplica'. Did you mean 'minReplicas'?",
        ),
        ({"computeType": "aks", "autoScaler": 3}, "'autoScaler' must be an object, got 3 (int)"),
        (
            {"computeType": "aks", "gpuCores": 1, "containerResourceRequirements": {"gpu": 2}},
            "'gpuCores' and 'containerResourceRequirements.gpu' both set gpu_cores",
        ),
        (
            {"computeType": "aks", "versionName": "blue"},
            "only applies to computeType 'aksendpoint'",
        ),
        (
            {"computeType": "aks", "containerResourceRequirements": {"cpu": "1"}},
            "cpu_cores must be a number, got '1' (str) (from 'containerResourceRequirements.cpu')",
        ),
        (
            {"computeType": "aks", "dataCollection": {"eventHubEnabled": True}},
            "Event Hub data collection is not supported",
        ),
        (
            {"computeType": "aksendpoint", "versions": {"a": {}, "b": {}}},
            "'versions' must hold exactly one version",
        ),
        ({"computeType": "aks", "autoScaler": {"minReplicas": 2}}, "provided without enabling"),
        ([1, 2], "expected a JSON object at the top level, got list"),
    ],
)
def test_import_errors(data: Any, message: str) -> None:
    with pytest.raises(WebserviceException) as info:
        from_aml_json(data)
    assert message in info.value.message


def test_import_v1_get_payload_with_read_only_keys() -> None:
    payload = deploy_configuration(num_replicas=2, namespace="ml").serialize("svc")
    payload.update(
        {"state": "Healthy", "scoringUri": "http://1.2.3.4/api/v1/service/svc/score", "type": None}
    )
    assert from_aml_json(payload) == deploy_configuration(num_replicas=2, namespace="ml")


# ---- files ---------------------------------------------------------------------------------
def test_quickstart_config_loads() -> None:
    config = load_config(ROOT / "examples" / "quickstart" / "deploymentconfig.json")
    resolved = config.resolve()
    assert resolved.autoscale_enabled and resolved.auth_enabled


def test_yaml_camel_and_snake(tmp_path: Path) -> None:
    path = tmp_path / "dc.yaml"
    path.write_text(
        "computeType: aks\ncpu_cores: 0.5\ncontainerResourceRequirements:\n  memoryInGB: 1\n"
        "tags:\n  team: ml\n"
    )
    assert load_config(path).given() == {"cpu_cores": 0.5, "memory_gb": 1, "tags": {"team": "ml"}}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", "{", "is not valid JSON: Expecting property name enclosed in double quotes"),
        ("a.yaml", "a: [", "is not valid YAML"),
        ("a.txt", "{}", "must be a .json, .yaml or .yml file"),
        ("a.yml", "- 1", "expected a JSON object at the top level, got list"),
    ],
)
def test_load_config_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(WebserviceException) as info:
        load_config(tmp_path / name)
    assert message in info.value.message
    with pytest.raises(WebserviceException, match="cannot read"):
        load_config(tmp_path / "missing.json")


# ---- hypothesis ----------------------------------------------------------------------------
def _value(kind: Kind, name: str) -> st.SearchStrategy[Any]:
    if kind is Kind.BOOL:
        return st.booleans()
    if kind is Kind.INT:
        return st.integers(min_value=-3, max_value=20)
    if kind is Kind.FLOAT:
        return st.one_of(
            st.floats(min_value=-2, max_value=64, allow_nan=False), st.integers(-2, 64)
        )
    if kind is Kind.STR:
        if name == "namespace":
            return st.sampled_from(["default", "ml-prod", "Bad", "a" * 64])
        if name == "version_name":
            return st.sampled_from(["blue", "green-2", "B"])
        return st.text(max_size=8)
    return st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3)


def _kwargs(parameters: dict[str, Kind]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={name: _value(kind, name) for name, kind in parameters.items()}
    )


def _build(endpoint: bool, kwargs: dict[str, Any]) -> Any:
    if endpoint:
        return endpoint_deploy_configuration(**kwargs)
    return deploy_configuration(**kwargs)


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.data())
def test_accepted_configs_round_trip_and_resolve_consistently(endpoint: bool, data: Any) -> None:
    kwargs = data.draw(_kwargs(ENDPOINT_PARAMETERS if endpoint else SERVICE_PARAMETERS))
    try:
        config = _build(endpoint, kwargs)
    except WebserviceException:
        return
    given_ = config.given()
    if endpoint and "version_name" not in given_:
        # v1: the first version is named after the endpoint
        config = type(config)(**given_, version_name="svc-name")
    # create payload: lossless
    assert from_aml_json(config.to_create_payload("svc-name")) == config
    # serialize(): lossless except the keys (secrets are never serialized)
    without_keys = type(config)(
        **{k: v for k, v in config.given().items() if k not in ("primary_key", "secondary_key")}
    )
    assert from_aml_json(json.loads(json.dumps(config.serialize("svc-name")))) == without_keys
    resolved = config.resolve()
    if resolved.cpu_cores_limit is not None:
        assert resolved.cpu_cores <= resolved.cpu_cores_limit
    if resolved.memory_gb_limit is not None:
        assert resolved.memory_gb <= resolved.memory_gb_limit
    assert resolved.autoscale_min_replicas <= resolved.autoscale_max_replicas
    assert (resolved.num_replicas is None) == resolved.autoscale_enabled
    assert not (resolved.auth_enabled and resolved.token_auth_enabled)


_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.booleans(),
    st.dictionaries(
        st.sampled_from([*ENDPOINT_PARAMETERS, "blobfuse_enabled"]), _ANYTHING, max_size=6
    ),
)
def test_random_input_raises_only_webservice_exception(
    endpoint: bool, kwargs: dict[str, Any]
) -> None:
    cls = AksEndpointDeploymentConfiguration if endpoint else AksServiceDeploymentConfiguration
    try:
        config = cls(**kwargs)
    except WebserviceException as exc:
        assert exc.message and str(exc) == exc.message
        return
    config.resolve()
    config.serialize("svc-name")


_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 200), st.floats(), st.text(max_size=4)),
    lambda inner: st.dictionaries(
        st.sampled_from(["cpu", "minReplicas", "autoscaleEnabled", "primaryKey", "x", "gpu"]),
        inner,
        max_size=3,
    ),
    max_leaves=6,
)
_JSON_KEYS = st.sampled_from(
    [
        "autoScaler",
        "containerResourceRequirements",
        "keys",
        "dataCollection",
        "gpuCores",
        "numReplicas",
        "tags",
        "versions",
        "versionName",
        "trafficPercentile",
        "storageInitEnabled",
        "cpu_cores",
        "namespace",
        "bogus",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["aks", "AKSENDPOINT", "aci", None, 3]),
    st.dictionaries(_JSON_KEYS, _JSON_VALUES, max_size=5),
)
def test_random_json_raises_only_webservice_exception(
    compute_type: Any, body: dict[str, Any]
) -> None:
    data = {**body, "computeType": compute_type} if compute_type is not None else body
    try:
        config = from_aml_json(data)
    except WebserviceException as exc:
        assert exc.message
        return
    config.resolve()
