"""The expansion of one ``AksEndpoint`` (versions + traffic) into Kubernetes objects.

Pure and deterministic, like :mod:`aksml.plan.webservice`, through which it plans every version:
as the service ``<endpoint>-<version>`` (Deployment, Service, HPA/KEDA, PDB, NetworkPolicy, ...)
with :class:`~aksml.plan.webservice.ServiceOptions` saying what the endpoint decides:

- one keys Secret ``<endpoint>-keys`` for the whole endpoint, which every version mounts;
- each version's runtime serves the *endpoint* name, so it answers
  ``/api/v1/service/<endpoint>/score`` itself: the split, pinned and mirrored requests need no
  URL rewriting (only the per-version paths are rewritten);
- no exposure of its own: per-version Services are ClusterIP; the routing object(s) come from
  the endpoint's exposure, built with the same :mod:`aksml.plan.exposure` functions.

Arguments are validated in two steps, each run once per endpoint:
:func:`endpoint_configurations_from_args` (names, v1 configurations, the traffic split; before
any Azure resource) and :func:`endpoint_input_from_args` (what runs in each version, after the
``azure`` section filled in its outputs).

Routing (see ``docs/endpoint.md``):

- ``gateway``: one HTTPRoute: per version a rule pinning ``azureml-model-deployment: <version>``
  on the endpoint path, per version a rule for ``/api/v1/service/<endpoint>/versions/<version>``
  (URLRewrite back to the endpoint path), and the weighted split on the endpoint path (weights
  from :func:`aksml.v1.resolve_traffic`; optional RequestMirror to a shadow version).
- ``ingress`` (ingress-nginx): a main Ingress to the version with the larger share and a canary
  Ingress (``canary-weight``, ``canary-by-header``) to the other; at most two versions.
- ``cluster`` / ``load_balancer``: one endpoint Service ``<endpoint>`` selecting the only
  version that receives traffic; more than one weighted version is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan.admission import require_deployable
from aksml.plan.exposure import (
    aml_path,
    backend_ref,
    http_route_object,
    ingress_object,
    service_object,
)
from aksml.plan.inputs import WORKLOAD_ARGS, v1_configuration, workload_from
from aksml.plan.metadata import (
    Meta,
    keys_secret,
    keys_secret_name,
    namespace_object,
    namespace_of,
    selector_labels,
)
from aksml.plan.settings import Exposure, WorkloadSettings, endpoint_level
from aksml.plan.startup import startup_problems
from aksml.plan.uris import swagger_uri_from, uri_host_and_scheme
from aksml.plan.webservice import ServiceOptions, plan_webservice
from aksml.v1 import (
    AksServiceDeploymentConfiguration,
    EndpointVersionSpec,
    resolve_roles,
    resolve_traffic,
    validate_service_name,
)
from aksml.v1.params import ENDPOINT_SETTINGS, VERSION_SETTINGS
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]


class VersionType(StrEnum):
    """A version's role in the experiment (v1 ``Control`` / ``Treatment``)."""

    CONTROL = "control"
    """The reference version (exactly one per endpoint)."""
    TREATMENT = "treatment"
    """A version evaluated against the control."""


PIN_HEADER = "azureml-model-deployment"
"""Request header that pins a request to one version (same name as Azure ML online endpoints)."""

ENDPOINT_LABEL = "aksml.io/endpoint"
"""Label on every object of an endpoint: the endpoint name."""
VERSION_LABEL = "aksml.io/version"
"""Label on every per-version object: the version name."""

VERSIONS_SEGMENT = "versions"
"""Per-version path: ``/api/v1/service/<endpoint>/versions/<version>/score``."""

NGINX_CANARY = "nginx.ingress.kubernetes.io/canary"
"""ingress-nginx: this Ingress is the canary of the one with the same host and path."""
NGINX_CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
"""ingress-nginx: share of the requests sent to the canary."""
NGINX_CANARY_WEIGHT_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"
"""ingress-nginx: what canary-weight is out of (100 unless a share has decimals)."""
NGINX_CANARY_HEADER = "nginx.ingress.kubernetes.io/canary-by-header"
"""ingress-nginx: header that forces the canary."""
NGINX_CANARY_HEADER_VALUE = "nginx.ingress.kubernetes.io/canary-by-header-value"
"""ingress-nginx: header value that forces the canary."""

ENDPOINT_V1_ARGS: tuple[str, ...] = ENDPOINT_SETTINGS
"""Endpoint-level v1 settings (shared by every version; not ``create_version`` parameters)."""

ENDPOINT_WORKLOAD_ARGS: tuple[str, ...] = tuple(
    name for name in WorkloadSettings.model_fields if endpoint_level(name) is not None
)
"""Endpoint-level settings beyond v1 (how the endpoint is reached and authenticated): the
``WorkloadSettings`` fields marked ``EndpointLevel``."""

ENDPOINT_ONLY_ARGS: tuple[str, ...] = (
    "versions",
    "mirror_to",
    "mirror_percent",
    "skip_await",
    "timeouts",
    "primary_key_generation",
    "secondary_key_generation",
)
"""Endpoint arguments that configure neither a version nor its workload."""

VERSION_ROUTING_ARGS: tuple[str, ...] = (
    "version_name",
    "traffic_percentile",
    "is_default",
    "version_type",
)
"""Per-version routing fields (``EndpointVersionSpec``)."""

VERSION_V1_ARGS: tuple[str, ...] = VERSION_SETTINGS
"""v1 ``create_version`` parameters (plus ``blobfuse_enabled``) a version may set."""

VERSION_WORKLOAD_ARGS: tuple[str, ...] = tuple(
    name
    for name in WORKLOAD_ARGS
    if name not in ENDPOINT_WORKLOAD_ARGS and name not in ENDPOINT_ONLY_ARGS
)
"""What runs in a version (AksWebservice's beyond-v1 fields that make sense per version)."""


@dataclass(frozen=True)
class VersionConfiguration:
    """One version's routing view and v1 configuration (no workload yet)."""

    spec: EndpointVersionSpec
    """Name, traffic_percentile, is_default, version_type."""
    configuration: AksServiceDeploymentConfiguration
    """The version's v1 configuration (endpoint-level settings merged in)."""
    config: ResolvedServiceConfig
    """``configuration.resolve()``."""


@dataclass(frozen=True)
class PlannedVersion(VersionConfiguration):
    """One version, validated: its routing view, v1 configuration and workload."""

    workload: WorkloadSettings
    """What runs (exposure fields are the endpoint's)."""


@dataclass(frozen=True)
class EndpointConfigurations:
    """An endpoint's arguments checked and its versions' v1 configurations validated: what is
    known before any file is read or any Azure resource exists."""

    name: str
    """Endpoint name (3-32 chars, v1 service-name rule)."""
    versions: tuple[VersionConfiguration, ...]
    """The versions, in the user's order."""
    traffic: dict[str, float]
    """Resolved traffic share per version (percent, in version order; sums to 100)."""
    default_version: str
    """The version that receives the traffic the others leave."""
    control_version: str
    """The control version."""

    @property
    def namespace(self) -> str:
        """The endpoint's namespace."""
        return namespace_of(self.versions[0].config)


@dataclass(frozen=True)
class EndpointPlanInput:
    """Everything :func:`plan_endpoint` needs: validated, plain values."""

    name: str
    """Endpoint name (3-32 chars, v1 service-name rule)."""
    versions: tuple[PlannedVersion, ...]
    """The versions, in the user's order."""
    exposure: WorkloadSettings
    """Endpoint-level exposure (exposure, gateway, ingress, internal_load_balancer,
    create_namespace)."""
    traffic: dict[str, float]
    """Resolved traffic share per version (percent, in version order; sums to 100)."""
    default_version: str
    """The version that receives the traffic the others leave."""
    control_version: str
    """The control version."""
    mirror_to: str | None = None
    """Shadow version: a copy of split requests is sent to it (responses discarded)."""
    mirror_percent: int = 100
    """Share of the split requests mirrored (1-100)."""
    endpoint_settings: Mapping[str, Any] | None = None
    """The endpoint-level v1 settings as given (``ENDPOINT_V1_ARGS``), for ``serialize()``."""

    @property
    def namespace(self) -> str:
        """The endpoint's namespace."""
        return namespace_of(self.versions[0].config)


def version_object_name(endpoint: str, version: str) -> str:
    """Kubernetes name of a version's objects: ``<endpoint>-<version>``."""
    return f"{endpoint}-{version}"


def endpoint_path(endpoint: str) -> str:
    """``/api/v1/service/<endpoint>``."""
    return aml_path(endpoint)


def version_path(endpoint: str, version: str) -> str:
    """``/api/v1/service/<endpoint>/versions/<version>``."""
    return f"{endpoint_path(endpoint)}/{VERSIONS_SEGMENT}/{version}"


# ---- arguments -> validated input --------------------------------------------------------


def _merged_mapping(
    endpoint: Mapping[str, Any] | None, version: Mapping[str, Any] | None
) -> dict[str, str] | None:
    if endpoint is None and version is None:
        return None
    return {**(endpoint or {}), **(version or {})}


def _raw_versions(args: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The ``versions`` argument, each a mapping with known keys (else an error)."""
    raw_versions = args.get("versions") or []
    if not isinstance(raw_versions, Sequence) or isinstance(raw_versions, str | bytes):
        raise WebserviceException("Error, AksEndpoint versions must be a list of versions.")
    if not raw_versions:
        raise WebserviceException(
            "Invalid configuration, an endpoint needs at least one version.\n"
        )
    version_known = set(VERSION_ROUTING_ARGS) | set(VERSION_V1_ARGS) | set(VERSION_WORKLOAD_ARGS)
    for raw in raw_versions:
        if not isinstance(raw, Mapping):
            raise WebserviceException(
                f"Error, each AksEndpoint version must be a mapping, got {type(raw).__name__}."
            )
        bad = sorted(set(raw) - version_known)
        if bad:
            hint = ""
            if set(bad) & set(ENDPOINT_V1_ARGS + ENDPOINT_WORKLOAD_ARGS):
                hint = " (endpoint-level settings: set them on the endpoint, not on a version)"
            raise WebserviceException(
                f"Error, unknown AksEndpoint version argument(s): {', '.join(bad)}{hint}."
            )
    return raw_versions


def _version_args(args: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """A version's ``AksWebservice``-shaped arguments: the endpoint's settings, the version's
    over them (``tags``/``properties`` merged key by key)."""
    endpoint_v1 = {k: args[k] for k in ENDPOINT_V1_ARGS if args.get(k) is not None}
    merged: dict[str, Any] = {
        **endpoint_v1,
        **{k: args[k] for k in ENDPOINT_WORKLOAD_ARGS if args.get(k) is not None},
    }
    for key in VERSION_V1_ARGS + VERSION_WORKLOAD_ARGS:
        if raw.get(key) is not None:
            merged[key] = raw[key]
    for key in ("tags", "properties"):
        combined = _merged_mapping(endpoint_v1.get(key), raw.get(key))
        if combined is not None:
            merged[key] = combined
    return merged


def endpoint_configurations_from_args(name: str, args: Mapping[str, Any]) -> EndpointConfigurations:
    """Check ``AksEndpointArgs`` (plain values) and validate every version's v1 configuration
    and the traffic split. Reads no file: the ``azure`` section runs between this and
    :func:`endpoint_input_from_args`."""
    validate_service_name(name)
    known = set(ENDPOINT_V1_ARGS) | set(ENDPOINT_WORKLOAD_ARGS) | set(ENDPOINT_ONLY_ARGS)
    unknown = sorted(set(args) - known)
    if unknown:
        raise WebserviceException(f"Error, unknown AksEndpoint argument(s): {', '.join(unknown)}.")
    versions: list[VersionConfiguration] = []
    for raw in _raw_versions(args):
        routing = {k: raw[k] for k in VERSION_ROUTING_ARGS if raw.get(k) is not None}
        if isinstance(routing.get("version_type"), VersionType):
            routing["version_type"] = routing["version_type"].value
        spec = EndpointVersionSpec.model_validate(routing)
        configuration = v1_configuration(_version_args(args, raw))
        versions.append(VersionConfiguration(spec, configuration, configuration.resolve()))
    specs = [v.spec for v in versions]
    default, control = resolve_roles(specs)
    return EndpointConfigurations(name, tuple(versions), resolve_traffic(specs), default, control)


def endpoint_input_from_args(
    name: str,
    args: Mapping[str, Any],
    base: Path | None = None,
    configurations: EndpointConfigurations | None = None,
) -> EndpointPlanInput:
    """Validate ``AksEndpointArgs`` (plain values) into an :class:`EndpointPlanInput`.

    Endpoint-level settings apply to every version; a version's ``tags``/``properties`` are
    merged over the endpoint's, its ``description`` replaces the endpoint's. ``configurations``
    (from :func:`endpoint_configurations_from_args` on the same arguments, before the ``azure``
    section filled in workload arguments) saves validating them again.
    """
    checked = configurations or endpoint_configurations_from_args(name, args)
    planned = [
        PlannedVersion(
            v.spec, v.configuration, v.config, workload_from(_version_args(args, raw), base)
        )
        for v, raw in zip(checked.versions, _raw_versions(args), strict=True)
    ]
    first = planned[0].workload
    exposure = WorkloadSettings(
        exposure=first.exposure,
        gateway=first.gateway,
        ingress=first.ingress,
        internal_load_balancer=first.internal_load_balancer,
        create_namespace=first.create_namespace,
    )
    mirror_to = args.get("mirror_to")
    mirror_percent = args.get("mirror_percent")
    if mirror_percent is not None and mirror_to is None:
        raise WebserviceException("Error, mirror_percent needs mirror_to (the shadow version).")
    endpoint_v1 = {k: args[k] for k in ENDPOINT_V1_ARGS if args.get(k) is not None}
    return EndpointPlanInput(
        name=name,
        versions=tuple(planned),
        exposure=exposure,
        traffic=checked.traffic,
        default_version=checked.default_version,
        control_version=checked.control_version,
        mirror_to=str(mirror_to) if mirror_to is not None else None,
        mirror_percent=100 if mirror_percent is None else _mirror_percent(mirror_percent),
        endpoint_settings={k: v for k, v in endpoint_v1.items() if "key" not in k},
    )


def _mirror_percent(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise WebserviceException(
            f"Error, mirror_percent must be a whole number from 1 to 100, got {value!r}."
        )
    if not 1 <= int(value) <= 100:
        raise WebserviceException(f"Error, mirror_percent must be from 1 to 100, got {value}.")
    return int(value)


# ---- traffic -> integer weights --------------------------------------------------------


def route_weights(traffic: Mapping[str, float]) -> tuple[dict[str, int], int]:
    """(integer weight per version, total): whole percentages out of 100 when every share is
    whole, else hundredths of a percent out of 10000 (largest-remainder rounding, so the weights
    always add up to exactly the total)."""
    scale = 1 if all(float(v).is_integer() for v in traffic.values()) else 100
    total = 100 * scale
    exact = {k: float(v) * scale for k, v in traffic.items()}
    floors = {k: math.floor(v + 1e-9) for k, v in exact.items()}
    missing = total - sum(floors.values())
    order = sorted(exact, key=lambda k: (-(exact[k] - floors[k]), list(exact).index(k)))
    for key in order[: max(missing, 0)]:
        floors[key] += 1
    return floors, total


# ---- planning ----------------------------------------------------------------------------


class _EndpointBuilder:
    def __init__(self, data: EndpointPlanInput) -> None:
        self.data = data
        self.name = data.name
        self.namespace = data.namespace
        self.specs = [v.spec for v in data.versions]
        self.traffic = data.traffic
        self.default = data.default_version
        self.meta = Meta(
            self.namespace,
            {
                "app.kubernetes.io/instance": self.name,
                "app.kubernetes.io/name": "aksml-endpoint",
                "app.kubernetes.io/managed-by": "aksml",
                "app.kubernetes.io/part-of": self.name,
                ENDPOINT_LABEL: self.name,
            },
        )
        self._check()

    def _check(self) -> None:
        for version in self.data.versions:
            full = version_object_name(self.name, version.spec.version_name)
            if len(full) > 32:
                raise WebserviceException(
                    f"Error, the objects of version {version.spec.version_name!r} are named "
                    f"{full!r} (<endpoint>-<version>), which is longer than 32 characters; "
                    "use a shorter endpoint or version name."
                )
        namespaces = {v.config.namespace for v in self.data.versions}
        if len(namespaces) > 1:
            raise WebserviceException("Error, every version of an endpoint uses one namespace.")
        exposure = self.data.exposure.exposure
        weighted = [k for k, v in self.traffic.items() if v > 0]
        if exposure in (Exposure.CLUSTER, Exposure.LOAD_BALANCER) and len(weighted) > 1:
            raise WebserviceException(
                f"Error, exposure {exposure.value!r} cannot split traffic: a Kubernetes Service "
                "spreads requests evenly over all its pods, so it cannot give "
                f"{', '.join(weighted)} their traffic_percentile shares. Use exposure "
                "'gateway' (Gateway API HTTPRoute weights) or 'ingress' (ingress-nginx canary), "
                "or give every version but one 0 %."
            )
        if exposure is Exposure.INGRESS and len(self.specs) > 2:
            raise WebserviceException(
                f"Error, exposure 'ingress' supports at most two versions (ingress-nginx has one "
                f"canary per Ingress), got {len(self.specs)}; use exposure 'gateway' for more."
            )
        if exposure is Exposure.GATEWAY and self.data.exposure.gateway is None:
            raise WebserviceException(
                "Error, exposure 'gateway' needs gateway settings with at least one parent_ref."
            )
        mirror = self.data.mirror_to
        if mirror is not None:
            if mirror not in self.traffic:
                raise WebserviceException(
                    f"Error, mirror_to {mirror!r} is not a version of endpoint {self.name!r} "
                    f"(versions: {', '.join(self.traffic)})."
                )
            if exposure is not Exposure.GATEWAY:
                raise WebserviceException(
                    "Error, mirror_to (shadow traffic) needs exposure 'gateway' (HTTPRoute "
                    "RequestMirror filter)."
                )

    # --- objects ---
    def version_objects(self, version: PlannedVersion) -> list[Obj]:
        """The version, planned as the service ``<endpoint>-<version>`` that serves the
        endpoint's name, mounts the endpoint's keys and leaves routing to the endpoint."""
        vname = version.spec.version_name
        options = ServiceOptions(
            served_name=self.name,
            keys_secret=keys_secret_name(self.name),
            exposed=False,
            labels={ENDPOINT_LABEL: self.name, VERSION_LABEL: vname},
        )
        workload = version.workload.model_copy(update={"create_namespace": False})
        problems = startup_problems(version.config, workload)
        if problems:  # plan_webservice would refuse them too, without naming the version
            raise WebserviceException(
                "".join(f"Error, version {vname!r}: {problem}.\n" for problem in problems)
            )
        return plan_webservice(
            version_object_name(self.name, vname), version.config, workload, options
        )

    def backend(self, version: str, weight: int | None = None) -> Obj:
        return backend_ref(version_object_name(self.name, version), weight)

    def _pin_rule(self, version: str) -> Obj:
        """Requests carrying ``azureml-model-deployment: <version>`` go to that version."""
        header = {"type": "Exact", "name": PIN_HEADER, "value": version}
        path = {"type": "PathPrefix", "value": endpoint_path(self.name)}
        return {
            "matches": [{"path": path, "headers": [header]}],
            "backendRefs": [self.backend(version)],
        }

    def _version_path_rule(self, version: str) -> Obj:
        """``.../versions/<version>/...`` goes to that version, rewritten to the endpoint path."""
        rewrite = {"type": "ReplacePrefixMatch", "replacePrefixMatch": endpoint_path(self.name)}
        return {
            "matches": [
                {"path": {"type": "PathPrefix", "value": version_path(self.name, version)}}
            ],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": rewrite}}],
            "backendRefs": [self.backend(version)],
        }

    def _split_rule(self) -> Obj:
        """The endpoint path, weighted by traffic_percentile (and mirrored to the shadow)."""
        weights, _ = route_weights(self.traffic)
        split: Obj = {
            "matches": [{"path": {"type": "PathPrefix", "value": endpoint_path(self.name)}}],
            "backendRefs": [self.backend(v, w) for v, w in weights.items()],
        }
        if self.data.mirror_to is not None:
            mirror: Obj = {"backendRef": self.backend(self.data.mirror_to)}
            mirror["backendRef"].pop("kind")
            if self.data.mirror_percent != 100:
                mirror["percent"] = self.data.mirror_percent
            split["filters"] = [{"type": "RequestMirror", "requestMirror": mirror}]
        return split

    def http_route(self) -> Obj:
        gateway = self.data.exposure.gateway
        assert gateway is not None  # checked in _check
        names = [spec.version_name for spec in self.specs]
        rules = [
            *(self._pin_rule(v) for v in names),
            *(self._version_path_rule(v) for v in names),
            self._split_rule(),
        ]
        return http_route_object(self.meta.of(self.name, "route"), gateway, rules)

    def ingresses(self) -> list[Obj]:
        ordered = sorted(
            self.specs,
            key=lambda s: (-self.traffic[s.version_name], s.version_name != self.default),
        )
        main = ordered[0].version_name
        out = [self._ingress(self.name, main, "ingress", {})]
        if len(ordered) == 2:
            canary = ordered[1].version_name
            weights, total = route_weights(self.traffic)
            annotations = {
                NGINX_CANARY: "true",
                NGINX_CANARY_WEIGHT: str(weights[canary]),
                NGINX_CANARY_HEADER: PIN_HEADER,
                NGINX_CANARY_HEADER_VALUE: canary,
            }
            if total != 100:
                annotations[NGINX_CANARY_WEIGHT_TOTAL] = str(total)
            out.append(self._ingress(f"{self.name}-canary", canary, "ingress-canary", annotations))
        return out

    def _ingress(self, name: str, version: str, role: str, annotations: dict[str, str]) -> Obj:
        meta = self.meta.of(name, role)
        if annotations:
            meta["annotations"] = dict(sorted(annotations.items()))
        service = version_object_name(self.name, version)
        return ingress_object(meta, self.data.exposure.ingress, endpoint_path(self.name), service)

    def endpoint_service(self) -> Obj:
        target = max(self.specs, key=lambda s: self.traffic[s.version_name]).version_name
        selector = selector_labels(version_object_name(self.name, target))
        return service_object(self.meta.of(self.name, "service"), selector, self.data.exposure)

    def routing(self) -> list[Obj]:
        exposure = self.data.exposure.exposure
        if exposure is Exposure.GATEWAY:
            return [self.http_route()]
        if exposure is Exposure.INGRESS:
            return self.ingresses()
        return [self.endpoint_service()]

    def build(self) -> list[Obj]:
        objs: list[Obj] = []
        if self.data.exposure.create_namespace:
            objs.append(namespace_object(self.meta))
        config = self.data.versions[0].config
        keys = keys_secret_name(self.name)
        objs.append(keys_secret(self.meta, keys, config.primary_key, config.secondary_key))
        for version in self.data.versions:
            objs += self.version_objects(version)
        objs += self.routing()
        return objs


def plan_endpoint(data: EndpointPlanInput) -> list[Obj]:
    """Every Kubernetes object of the endpoint, in apply order (see the module docstring).

    Raises ``WebserviceException`` for version sets or exposures that cannot be routed, and
    for objects the cluster would refuse (``aksml.plan.admission``).
    """
    return require_deployable(_EndpointBuilder(data).build())


def endpoint_traffic(data: EndpointPlanInput) -> dict[str, float]:
    """Resolved traffic share per version (percent, in version order)."""
    return dict(data.traffic)


def endpoint_uris(
    data: EndpointPlanInput, address: str | None
) -> tuple[str, str, dict[str, dict[str, str]]]:
    """(scoring_uri, swagger_uri, {version: {scoring_uri, swagger_uri}}) for a known address
    (None: the host is known up front, or the in-cluster DNS name stands in)."""
    scheme, host = uri_host_and_scheme(data.name, data.namespace, data.exposure, address)
    scoring = f"{scheme}://{host}{endpoint_path(data.name)}{contract.SCORE_PATH}"
    versions: dict[str, dict[str, str]] = {}
    for version in data.versions:
        vname = version.spec.version_name
        if data.exposure.exposure is Exposure.GATEWAY:
            vscoring = f"{scheme}://{host}{version_path(data.name, vname)}{contract.SCORE_PATH}"
        else:
            # ingress/cluster/load balancer: the version's own Service, in-cluster (pinning
            # with the header reaches the ingress canary from outside)
            svc = version_object_name(data.name, vname)
            vscoring = (
                f"http://{svc}.{data.namespace}.svc.cluster.local"
                f"{endpoint_path(data.name)}{contract.SCORE_PATH}"
            )
        versions[vname] = {"scoring_uri": vscoring, "swagger_uri": swagger_uri_from(vscoring)}
    return scoring, swagger_uri_from(scoring), versions


def address_kind(data: EndpointPlanInput) -> str | None:
    """Which routing object's status carries the endpoint address (``Service``/``Ingress``), or
    None when the URI host is known up front."""
    exposure = data.exposure
    if exposure.exposure is Exposure.LOAD_BALANCER:
        return "Service"
    if exposure.exposure is Exposure.INGRESS and not exposure.ingress.host:
        return "Ingress"
    return None


def endpoint_serialized(
    data: EndpointPlanInput, scoring_uri: str | None, version_uris: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The v1 ``AksEndpoint.serialize()`` document: endpoint keys plus ``versions``, each
    an ``AksWebservice.serialize()`` with ``isDefault``, ``trafficPercentile`` (the resolved
    share) and ``versionType`` (``Control``/``Treatment``)."""
    traffic, default, control = data.traffic, data.default_version, data.control_version
    given = data.endpoint_settings or {}
    versions: dict[str, Any] = {}
    for version in data.versions:
        vname = version.spec.version_name
        entry = version.configuration.serialize(vname)
        entry["scoringUri"] = version_uris.get(vname, {}).get("scoring_uri")
        entry["isDefault"] = vname == default
        entry["trafficPercentile"] = traffic[vname]
        entry["versionType"] = "Control" if vname == control else "Treatment"
        versions[vname] = entry
    return {
        "name": data.name,
        "description": given.get("description"),
        "tags": given.get("tags"),
        "properties": given.get("properties", {}),
        "state": None,
        "createdTime": None,
        "updatedTime": None,
        "error": None,
        "computeName": given.get("compute_target_name"),
        "computeType": "AKSENDPOINT",
        "workspaceName": None,
        "deploymentStatus": None,
        "scoringUri": scoring_uri,
        "authEnabled": given.get("auth_enabled"),
        "aadAuthEnabled": given.get("token_auth_enabled"),
        "appInsightsEnabled": given.get("enable_app_insights"),
        "namespace": data.namespace,
        "versions": versions,
    }
