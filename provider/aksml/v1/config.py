"""The deploy configurations (v1 ``AksServiceDeploymentConfiguration`` and its endpoint twin).

They hold exactly what the user gave (every field None by default, as in azureml-core 1.61),
validate it like azureml-core did, and offer:

- ``resolve()``: the documented defaults applied (``ResolvedServiceConfig``);
- ``update(**kwargs)``: a new configuration with v1 ``AksWebservice.update()`` semantics;
- ``serialize()`` / ``to_create_payload()`` / ``from_aml_json()``: AML v1 JSON both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from aksml.errors import WebserviceException
from aksml.v1.params import (
    ENDPOINT_CONFIG_UPDATE_PARAMETERS,
    ENDPOINT_PARAMETERS,
    SERVICE_PARAMETERS,
    UPDATE_GIVEN_WHEN_NOT_NONE,
    UPDATE_PARAMETERS,
    Kind,
    check_value,
    default,
    unknown_key_message,
    v1_evaluable,
)
from aksml.v1.resolved import ResolvedServiceConfig
from aksml.v1.traffic import EndpointVersionSpec
from aksml.v1.validation import (
    TRAFFIC_MESSAGE,
    kubernetes_messages,
    v1_endpoint_messages,
    v1_service_messages,
    v1_update_messages,
)

# ---- documented defaults (docs/configuration.md "Parameters"), applied by resolve() ---------
# Declared once, in the parameter table (aksml.v1.params.PARAMETERS). Where the references
# disagree, the table's value is the one the SDK docstring gives the v1 caller:
# - gpu_cores 0: the deploymentconfig table of
#   https://learn.microsoft.com/azure/machine-learning/v1/how-to-deploy-azure-kubernetes-service
#   says 1, which would make every service that never mentioned GPUs unschedulable on a
#   CPU-only cluster.
# - timeout_seconds 2: the deploy docstring and that article say 2; only azureml-core's
#   deserialisation fallback for a GET payload without a value (and the update() docstring)
#   say 1.
DEFAULT_CPU_CORES: float = default("cpu_cores")
DEFAULT_MEMORY_GB: float = default("memory_gb")
DEFAULT_GPU_CORES: int = default("gpu_cores")
DEFAULT_AUTOSCALE_MIN_REPLICAS: int = default("autoscale_min_replicas")
DEFAULT_AUTOSCALE_MAX_REPLICAS: int = default("autoscale_max_replicas")
"""Raised to ``autoscale_min_replicas`` when only the minimum is given and it is above 10, so
the resolved view never has min > max."""
DEFAULT_AUTOSCALE_REFRESH_SECONDS: int = default("autoscale_refresh_seconds")
DEFAULT_AUTOSCALE_TARGET_UTILIZATION: int = default("autoscale_target_utilization")
DEFAULT_SCORING_TIMEOUT_MS: int = default("scoring_timeout_ms")
DEFAULT_REPLICA_MAX_CONCURRENT_REQUESTS: int = default("replica_max_concurrent_requests")
DEFAULT_MAX_REQUEST_WAIT_TIME: int = default("max_request_wait_time")
DEFAULT_PERIOD_SECONDS: int = default("period_seconds")
DEFAULT_INITIAL_DELAY_SECONDS: int = default("initial_delay_seconds")
DEFAULT_TIMEOUT_SECONDS: int = default("timeout_seconds")
DEFAULT_SUCCESS_THRESHOLD: int = default("success_threshold")
DEFAULT_FAILURE_THRESHOLD: int = default("failure_threshold")


def _source(sources: Mapping[str, str], key: str) -> str:
    """`` (from 'JSON key')`` for a value read from a file, else an empty string."""
    return f" (from {sources[key]!r})" if key in sources else ""


class _DeploymentConfigurationBase(BaseModel):
    """Fields and behaviour shared by the service and the endpoint configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    _PARAMETERS: ClassVar[dict[str, Kind]] = SERVICE_PARAMETERS
    WEBSERVICE_TYPE: ClassVar[str] = "AksWebservice"
    """The v1 class this configuration deploys (``AksWebservice`` or ``AksEndpoint``)."""

    autoscale_enabled: bool | None = None
    """Whether to autoscale. Default: True if ``num_replicas`` is None, else False. The knobs below
    need an explicit ``autoscale_enabled=True`` (v1 rule)."""
    autoscale_min_replicas: int | None = None
    """Minimum replicas when autoscaling (default 1); > 0."""
    autoscale_max_replicas: int | None = None
    """Maximum replicas when autoscaling (default 10); > 0 and >= the minimum."""
    autoscale_refresh_seconds: int | None = None
    """How often the autoscaler re-evaluates, in seconds (default 1); > 0."""
    autoscale_target_utilization: int | None = None
    """Target utilisation in percent (default 70); > 0."""
    collect_model_data: bool | None = None
    """Collect model inputs and predictions (default False)."""
    auth_enabled: bool | None = None
    """Key auth (default True, False when ``token_auth_enabled`` is True)."""
    cpu_cores: float | None = None
    """CPU request in cores (default 0.1); > 0."""
    memory_gb: float | None = None
    """Memory request in GiB (default 0.5); > 0."""
    enable_app_insights: bool | None = None
    """Send telemetry to Application Insights (default False)."""
    scoring_timeout_ms: int | None = None
    """Per-request scoring timeout in ms (default 60000); > 0."""
    replica_max_concurrent_requests: int | None = None
    """Concurrent requests per replica (default 1); > 0."""
    max_request_wait_time: int | None = None
    """Maximum queue wait in ms before a 503 (default 500); > 0."""
    num_replicas: int | None = None
    """Fixed replica count (no default: autoscaling when unset); > 0."""
    primary_key: str | None = None
    """Primary auth key (default: generated at deploy time)."""
    secondary_key: str | None = None
    """Secondary auth key (default: generated at deploy time)."""
    tags: dict[str, str] | None = None
    """Key/value tags (``update`` replaces the whole dict)."""
    properties: dict[str, str] | None = None
    """Key/value properties (``update`` only adds keys; existing values cannot change)."""
    description: str | None = None
    """Free-text description."""
    gpu_cores: int | None = None
    """GPUs per replica (default 0); >= 0."""
    period_seconds: int | None = None
    """Liveness probe period in seconds (default 10); > 0."""
    initial_delay_seconds: int | None = None
    """Liveness probe initial delay in seconds (default 310); > 0."""
    timeout_seconds: int | None = None
    """Liveness probe timeout in seconds (default 2); > 0."""
    success_threshold: int | None = None
    """Probe success threshold (default 1); > 0. Set on the readiness probe (Kubernetes
    accepts only 1 on a liveness probe)."""
    failure_threshold: int | None = None
    """Liveness probe failure threshold (default 3); > 0."""
    namespace: str | None = None
    """Kubernetes namespace (``^[a-z0-9]([a-z0-9-]{,61}[a-z0-9])?$``; default: the component's)."""
    token_auth_enabled: bool | None = None
    """Token (JWT) auth (default False); never together with key auth."""
    compute_target_name: str | None = None
    """Name of the compute target (cluster) to deploy to."""
    cpu_cores_limit: float | None = None
    """CPU limit in cores (default: none); >= ``cpu_cores`` and > 0."""
    memory_gb_limit: float | None = None
    """Memory limit in GiB (default: none); >= ``memory_gb`` and > 0."""

    # ---- validation ----------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _validate_v1(cls, data: Any, info: ValidationInfo) -> Any:
        """Phases 1-3 (types, v1 checks, Kubernetes sanity); raises ``WebserviceException``."""
        if not isinstance(data, Mapping):
            raise WebserviceException(
                "Invalid configuration, expected a mapping of parameters, "
                f"got {type(data).__name__}.\n"
            )
        kinds = cls._PARAMETERS
        sources: Mapping[str, str] = (info.context or {}).get("sources", {})
        errors = ""
        given: dict[str, Any] = {}
        for key, value in data.items():
            if key not in kinds:
                errors += unknown_key_message(str(key), kinds, "parameter")
            elif value is not None:
                given[key] = value
                if not v1_evaluable(kinds[key], value):
                    errors += check_value(key, kinds[key], value, _source(sources, key))[1]
        if errors:
            raise WebserviceException(errors)
        errors = cls._v1_messages(given)
        if errors:
            raise WebserviceException(errors)
        values: dict[str, Any] = {}
        for key, value in given.items():
            values[key], message = check_value(key, kinds[key], value, _source(sources, key))
            errors += message
        if errors:
            raise WebserviceException(errors)
        errors = kubernetes_messages(values, kinds)
        if errors:
            raise WebserviceException(errors)
        return values

    @classmethod
    def _v1_messages(cls, values: Mapping[str, Any]) -> str:
        return v1_service_messages(values)

    def given(self) -> dict[str, Any]:
        """The parameters that were set (not None), in v1 parameter order."""
        return {
            name: getattr(self, name)
            for name in self._PARAMETERS
            if getattr(self, name) is not None
        }

    # ---- resolved view -------------------------------------------------------------------
    def resolve(self) -> ResolvedServiceConfig:
        """The configuration with every documented default applied (``docs/configuration.md``).

        Decisions where the reference conflicts or is silent:

        - ``autoscale_enabled`` defaults to ``num_replicas is None`` (SDK docstring "True if
          num_replicas is None"); the v1 AKS deploy article's "if numReplicas = 0" cannot
          happen, 0 is invalid.
        - ``timeout_seconds`` 2 and ``gpu_cores`` 0: see the comment above
          ``DEFAULT_CPU_CORES``.
        - Request never above limit: when only a limit is given and it is below the default
          request (``cpu_cores_limit=0.05`` vs 0.1), the request is lowered to the limit. An
          explicit request above its limit is rejected by validation (v1 message).
        - ``autoscale_max_replicas`` unset and ``autoscale_min_replicas`` above 10: max = min.
        - ``token_auth_enabled=True`` with ``auth_enabled`` unset: key auth off (v1 docs: the two
          modes are exclusive; MMS behaviour here was never verified).
        - Autoscale knobs are reported with their defaults even when autoscaling is off (they
          are then unused; v1 only allows 0/None for them in that case).
        """
        autoscale = self.autoscale_enabled
        if autoscale is None:
            autoscale = self.num_replicas is None
        cpu_limit, memory_limit = self.cpu_cores_limit, self.memory_gb_limit
        cpu = self.cpu_cores if self.cpu_cores is not None else DEFAULT_CPU_CORES
        if self.cpu_cores is None and cpu_limit is not None:
            cpu = min(cpu, cpu_limit)
        memory = self.memory_gb if self.memory_gb is not None else DEFAULT_MEMORY_GB
        if self.memory_gb is None and memory_limit is not None:
            memory = min(memory, memory_limit)
        low = self.autoscale_min_replicas or DEFAULT_AUTOSCALE_MIN_REPLICAS
        high = self.autoscale_max_replicas or max(DEFAULT_AUTOSCALE_MAX_REPLICAS, low)
        token = bool(self.token_auth_enabled)
        auth = self.auth_enabled if self.auth_enabled is not None else not token
        return ResolvedServiceConfig(
            autoscale_enabled=autoscale,
            autoscale_min_replicas=low,
            autoscale_max_replicas=high,
            autoscale_refresh_seconds=self.autoscale_refresh_seconds
            or DEFAULT_AUTOSCALE_REFRESH_SECONDS,
            autoscale_target_utilization=self.autoscale_target_utilization
            or DEFAULT_AUTOSCALE_TARGET_UTILIZATION,
            num_replicas=None if autoscale else self.num_replicas,
            collect_model_data=bool(self.collect_model_data),
            auth_enabled=auth,
            token_auth_enabled=token,
            cpu_cores=float(cpu),
            cpu_cores_limit=None if cpu_limit is None else float(cpu_limit),
            memory_gb=float(memory),
            memory_gb_limit=None if memory_limit is None else float(memory_limit),
            gpu_cores=self.gpu_cores if self.gpu_cores is not None else DEFAULT_GPU_CORES,
            enable_app_insights=bool(self.enable_app_insights),
            scoring_timeout_ms=self.scoring_timeout_ms or DEFAULT_SCORING_TIMEOUT_MS,
            replica_max_concurrent_requests=self.replica_max_concurrent_requests
            or DEFAULT_REPLICA_MAX_CONCURRENT_REQUESTS,
            max_request_wait_time=self.max_request_wait_time or DEFAULT_MAX_REQUEST_WAIT_TIME,
            period_seconds=self.period_seconds or DEFAULT_PERIOD_SECONDS,
            initial_delay_seconds=self.initial_delay_seconds or DEFAULT_INITIAL_DELAY_SECONDS,
            timeout_seconds=self.timeout_seconds or DEFAULT_TIMEOUT_SECONDS,
            success_threshold=self.success_threshold or DEFAULT_SUCCESS_THRESHOLD,
            failure_threshold=self.failure_threshold or DEFAULT_FAILURE_THRESHOLD,
            namespace=self.namespace,
            primary_key=self.primary_key,
            secondary_key=self.secondary_key,
            tags=dict(self.tags or {}),
            properties=dict(self.properties or {}),
            description=self.description,
            compute_target_name=self.compute_target_name,
            blobfuse_enabled=self._resolved_blobfuse(),
        )

    def _resolved_blobfuse(self) -> bool:
        return True

    # ---- update --------------------------------------------------------------------------
    _UPDATABLE: ClassVar[tuple[str, ...]] = UPDATE_PARAMETERS

    def update(self, **kwargs: Any) -> Self:
        """A new configuration with v1 ``AksWebservice.update()`` semantics.

        See ``docs/configuration.md`` ("``update(**kwargs)``"):

        - None = unchanged; ``tags`` replaces the whole dict; ``properties`` adds keys and
          refuses to change an existing key's value.
        - ``No parameters provided to update.`` when every argument is empty (v1's truthiness
          rules: ``update(gpu_cores=0)`` is empty).
        - The ``Error, ...`` checks of ``_validate_update``, including those against the current
          values (read from ``resolve()``, as v1 read the deployed service's server-applied
          values) and the key/token switching rules.
        - ``autoscale_enabled=False`` (with ``num_replicas``) drops the autoscale knobs;
          ``autoscale_enabled=True`` drops ``num_replicas``. ``num_replicas`` alone on a
          configuration with an explicit ``autoscale_enabled=True`` is an error (pass
          ``autoscale_enabled=False`` too).
        - The merged configuration is validated again like ``deploy_configuration``.
        """
        args = self._update_arguments(kwargs)
        if not any(
            (args.get(name) is not None)
            if name in UPDATE_GIVEN_WHEN_NOT_NONE
            else bool(args.get(name))
            for name in self._UPDATABLE
        ):
            raise WebserviceException("No parameters provided to update.")
        current = self.resolve()
        errors = v1_update_messages(
            args,
            existing_cpu=current.cpu_cores,
            existing_cpu_limit=current.cpu_cores_limit,
            existing_memory=current.memory_gb,
            existing_memory_limit=current.memory_gb_limit,
            existing_auth=current.auth_enabled,
            existing_token_auth=current.token_auth_enabled,
        )
        errors += self._extra_update_messages(args)
        properties = dict(self.properties or {})
        for key, value in (args.get("properties") or {}).items():
            if key in properties and properties[key] != value:
                errors += (
                    f"Error, property {key!r} already has the value {properties[key]!r}; "
                    "properties cannot be changed after deployment, only new keys can be added.\n"
                )
            properties[key] = value
        if (
            args.get("num_replicas")
            and self.autoscale_enabled
            and args.get("autoscale_enabled") is not False
        ):
            errors += (
                "Error, num_replicas provided for a configuration with autoscale_enabled=True; "
                "pass autoscale_enabled=False with it to switch to a fixed replica count.\n"
            )
        if errors:
            raise WebserviceException(errors)
        merged = self.given()
        for key, value in args.items():
            merged[key] = value
        if "properties" in args:
            merged["properties"] = properties
        if args.get("autoscale_enabled") is False:
            for knob in (
                "autoscale_min_replicas",
                "autoscale_max_replicas",
                "autoscale_refresh_seconds",
                "autoscale_target_utilization",
            ):
                merged.pop(knob, None)
        if args.get("autoscale_enabled"):
            merged.pop("num_replicas", None)
        return type(self)(**merged)

    def _update_arguments(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The given ``update()`` arguments, type-checked (phase 1); unknown or not updatable
        names are errors."""
        kinds = self._PARAMETERS
        errors = ""
        args: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key not in self._UPDATABLE:
                if key in kinds:
                    errors += (
                        f"Error, {key} cannot be changed by update(); create a new configuration "
                        "with deploy_configuration() instead.\n"
                    )
                else:
                    errors += unknown_key_message(key, self._UPDATABLE, "update() parameter")
                continue
            if value is None:
                continue
            args[key], message = check_value(key, kinds[key], value)
            errors += message
        if errors:
            raise WebserviceException(errors)
        return args

    def _extra_update_messages(self, args: Mapping[str, Any]) -> str:
        return ""

    # ---- AML JSON -------------------------------------------------------------------------
    def serialize(self, name: str | None = None) -> dict[str, Any]:
        """The configuration in the shape of v1 ``serialize()``; see ``aksml.v1.amljson``.

        ``name`` fills the ``name`` key (null for a configuration that has no service yet).
        """
        from aksml.v1.amljson import serialize

        return serialize(self, name)

    def to_create_payload(self, name: str, compute_name: str | None = None) -> dict[str, Any]:
        """The MMS create-request body for a service/endpoint called ``name``."""
        from aksml.v1.amljson import to_create_payload

        return to_create_payload(self, name, compute_name=compute_name)

    @classmethod
    def from_aml_json(cls, data: Mapping[str, Any]) -> Self:
        """Import AML v1 JSON (GET/serialize, create payload or ``--dc`` deploymentconfig.json)."""
        from aksml.v1.amljson import from_aml_json

        config = from_aml_json(data)
        if not isinstance(config, cls):
            raise WebserviceException(
                f"Invalid configuration, the JSON describes an {config.WEBSERVICE_TYPE} "
                f"(computeType {data.get('computeType')!r}), not an {cls.WEBSERVICE_TYPE}.\n"
            )
        return config

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load a .json/.yaml/.yml configuration file (see ``aksml.v1.amljson.load_config``)."""
        from aksml.v1.amljson import load_config

        config = load_config(path)
        if not isinstance(config, cls):
            raise WebserviceException(
                f"Invalid configuration, {path} describes an {config.WEBSERVICE_TYPE}, "
                f"not an {cls.WEBSERVICE_TYPE}.\n"
            )
        return config


class AksServiceDeploymentConfiguration(_DeploymentConfigurationBase):
    """Deploy settings of one ``AksWebservice`` (v1 ``AksServiceDeploymentConfiguration``).

    Every field is None unless given; ``resolve()`` applies the defaults. Construction validates
    like azureml-core 1.61 and raises ``aksml.errors.WebserviceException``.
    """

    blobfuse_enabled: bool | None = None
    """Fetch the model through blobfuse / the Azure Blob CSI driver (default True)."""

    def _resolved_blobfuse(self) -> bool:
        return self.blobfuse_enabled if self.blobfuse_enabled is not None else True


class AksEndpointDeploymentConfiguration(_DeploymentConfigurationBase):
    """Deploy settings of an ``AksEndpoint`` and its first version (v1 class of the same name).

    Same fields as the service configuration minus ``blobfuse_enabled``, plus ``version_name``
    and ``traffic_percentile``.
    """

    _PARAMETERS: ClassVar[dict[str, Kind]] = ENDPOINT_PARAMETERS
    WEBSERVICE_TYPE: ClassVar[str] = "AksEndpoint"
    _UPDATABLE: ClassVar[tuple[str, ...]] = ENDPOINT_CONFIG_UPDATE_PARAMETERS

    version_name: str | None = None
    """Name of the first version (default: the endpoint name); 3-32 chars, v1 name rule."""
    traffic_percentile: float | None = None
    """Share of the endpoint's traffic for this version, 0-100 (checked only when non-zero)."""

    @classmethod
    def _v1_messages(cls, values: Mapping[str, Any]) -> str:
        return v1_endpoint_messages(values)

    def first_version(self, endpoint_name: str) -> EndpointVersionSpec:
        """The routing view of the endpoint's first version: named ``version_name`` (default:
        the endpoint's name, as v1 did), the default version, with ``traffic_percentile``."""
        return EndpointVersionSpec(
            version_name=self.version_name or endpoint_name,
            traffic_percentile=self.traffic_percentile,
            is_default=True,
        )

    def _extra_update_messages(self, args: Mapping[str, Any]) -> str:
        traffic = args.get("traffic_percentile")
        if traffic is not None and (traffic < 0 or traffic > 100):
            return TRAFFIC_MESSAGE
        return ""


def deploy_configuration(
    autoscale_enabled: bool | None = None,
    autoscale_min_replicas: int | None = None,
    autoscale_max_replicas: int | None = None,
    autoscale_refresh_seconds: int | None = None,
    autoscale_target_utilization: int | None = None,
    collect_model_data: bool | None = None,
    auth_enabled: bool | None = None,
    cpu_cores: float | None = None,
    memory_gb: float | None = None,
    enable_app_insights: bool | None = None,
    scoring_timeout_ms: int | None = None,
    replica_max_concurrent_requests: int | None = None,
    max_request_wait_time: int | None = None,
    num_replicas: int | None = None,
    primary_key: str | None = None,
    secondary_key: str | None = None,
    tags: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
    description: str | None = None,
    gpu_cores: int | None = None,
    period_seconds: int | None = None,
    initial_delay_seconds: int | None = None,
    timeout_seconds: int | None = None,
    success_threshold: int | None = None,
    failure_threshold: int | None = None,
    namespace: str | None = None,
    token_auth_enabled: bool | None = None,
    compute_target_name: str | None = None,
    cpu_cores_limit: float | None = None,
    memory_gb_limit: float | None = None,
    blobfuse_enabled: bool | None = None,
) -> AksServiceDeploymentConfiguration:
    """``AksWebservice.deploy_configuration``: same keywords, order and validation as v1.

    Raises ``WebserviceException`` with azureml-core 1.61's accumulated message text; see the
    field docstrings of ``AksServiceDeploymentConfiguration`` for each parameter.
    """
    return AksServiceDeploymentConfiguration(**_locals_without_none(locals()))


def endpoint_deploy_configuration(
    autoscale_enabled: bool | None = None,
    autoscale_min_replicas: int | None = None,
    autoscale_max_replicas: int | None = None,
    autoscale_refresh_seconds: int | None = None,
    autoscale_target_utilization: int | None = None,
    collect_model_data: bool | None = None,
    auth_enabled: bool | None = None,
    cpu_cores: float | None = None,
    memory_gb: float | None = None,
    enable_app_insights: bool | None = None,
    scoring_timeout_ms: int | None = None,
    replica_max_concurrent_requests: int | None = None,
    max_request_wait_time: int | None = None,
    num_replicas: int | None = None,
    primary_key: str | None = None,
    secondary_key: str | None = None,
    tags: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
    description: str | None = None,
    gpu_cores: int | None = None,
    period_seconds: int | None = None,
    initial_delay_seconds: int | None = None,
    timeout_seconds: int | None = None,
    success_threshold: int | None = None,
    failure_threshold: int | None = None,
    namespace: str | None = None,
    token_auth_enabled: bool | None = None,
    version_name: str | None = None,
    traffic_percentile: float | None = None,
    compute_target_name: str | None = None,
    cpu_cores_limit: float | None = None,
    memory_gb_limit: float | None = None,
) -> AksEndpointDeploymentConfiguration:
    """``AksEndpoint.deploy_configuration``: same keywords, order and validation as v1."""
    return AksEndpointDeploymentConfiguration(**_locals_without_none(locals()))


def _locals_without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
