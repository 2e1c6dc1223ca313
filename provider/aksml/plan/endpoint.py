"""The expansion of one ``AksEndpoint`` (versions + traffic) into Kubernetes objects.

Pure and deterministic, like :mod:`aksml.plan.webservice`, which it reuses: every version is
planned as the ``AksWebservice`` named ``<endpoint>-<version>`` (Deployment, Service, HPA/KEDA,
PDB, NetworkPolicy, ...), then adapted:

- one keys Secret ``<endpoint>-keys`` for the whole endpoint (the per-version ones are dropped
  and every version mounts the shared one);
- each version's runtime is told the *endpoint* name as its service name, so it serves
  ``/api/v1/service/<endpoint>/score`` itself: the split, pinned and mirrored requests need no
  URL rewriting (only the per-version paths are rewritten);
- per-version Services are always ClusterIP; the routing object(s) come from the endpoint's
  exposure.

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
from aksml.plan.inputs import settings_from_args
from aksml.plan.settings import Exposure, WorkloadSettings
from aksml.plan.uris import swagger_uri_from, uri_host_and_scheme
from aksml.plan.webservice import (
    INTERNAL_LB_ANNOTATION,
    PRIMARY_KEY_FIELD,
    ROLE_LABEL,
    SECONDARY_KEY_FIELD,
    SERVICE_PORT,
    gateway_parent_refs,
    placeholder,
    plan_webservice,
    selector_labels,
)
from aksml.v1 import (
    AksServiceDeploymentConfiguration,
    EndpointVersionSpec,
    resolve_roles,
    resolve_traffic,
    validate_service_name,
)
from aksml.v1.resolved import ResolvedServiceConfig
from aksml.v1.versions import VERSION_PARAMETERS

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

ENDPOINT_V1_ARGS: tuple[str, ...] = (
    "auth_enabled",
    "token_auth_enabled",
    "enable_app_insights",
    "namespace",
    "description",
    "tags",
    "properties",
    "primary_key",
    "secondary_key",
    "compute_target_name",
)
"""Endpoint-level v1 settings (shared by every version; not ``create_version`` parameters)."""

ENDPOINT_WORKLOAD_ARGS: tuple[str, ...] = (
    "exposure",
    "ingress",
    "gateway",
    "internal_load_balancer",
    "create_namespace",
    "token_issuer",
    "token_audience",
    "app_insights_connection_string",
)
"""Endpoint-level settings beyond v1: how the endpoint is reached and authenticated."""

ENDPOINT_ONLY_ARGS: tuple[str, ...] = ("versions", "mirror_to", "mirror_percent", "skip_await")
"""Endpoint arguments that configure neither a version nor its workload."""

VERSION_ROUTING_ARGS: tuple[str, ...] = (
    "version_name",
    "traffic_percentile",
    "is_default",
    "version_type",
)
"""Per-version routing fields (``EndpointVersionSpec``)."""

VERSION_V1_ARGS: tuple[str, ...] = (*VERSION_PARAMETERS, "blobfuse_enabled")
"""v1 ``create_version`` parameters (plus ``blobfuse_enabled``) a version may set."""

VERSION_WORKLOAD_ARGS: tuple[str, ...] = (
    "image",
    "entry_script",
    "source_directory",
    "code_in_image",
    "models",
    "environment",
    "environment_variables",
    "runtime_mode",
    "proxy",
    "autoscaler",
    "keda",
    "node_selector",
    "tolerations",
    "service_account_name",
    "workload_identity_client_id",
    "image_pull_secrets",
    "data_collection_blob_url",
)
"""What runs in a version (AksWebservice's beyond-v1 fields that make sense per version)."""


@dataclass(frozen=True)
class PlannedVersion:
    """One version, validated: its routing view, v1 configuration and workload."""

    spec: EndpointVersionSpec
    """Name, traffic_percentile, is_default, version_type."""
    configuration: AksServiceDeploymentConfiguration
    """The version's v1 configuration (endpoint-level settings merged in)."""
    config: ResolvedServiceConfig
    """``configuration.resolve()``."""
    workload: WorkloadSettings
    """What runs (exposure fields are the endpoint's)."""


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
    mirror_to: str | None = None
    """Shadow version: a copy of split requests is sent to it (responses discarded)."""
    mirror_percent: int = 100
    """Share of the split requests mirrored (1-100)."""
    endpoint_settings: Mapping[str, Any] | None = None
    """The endpoint-level v1 settings as given (``ENDPOINT_V1_ARGS``), for ``serialize()``."""

    @property
    def namespace(self) -> str:
        """The endpoint's namespace."""
        return self.versions[0].config.namespace or "default"


def version_object_name(endpoint: str, version: str) -> str:
    """Kubernetes name of a version's objects: ``<endpoint>-<version>``."""
    return f"{endpoint}-{version}"


def endpoint_path(endpoint: str) -> str:
    """``/api/v1/service/<endpoint>``."""
    return contract.AML_PATH_PREFIX.format(name=endpoint)


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


def endpoint_input_from_args(
    name: str, args: Mapping[str, Any], base: Path | None = None
) -> EndpointPlanInput:
    """Validate ``AksEndpointArgs`` (plain values) into an :class:`EndpointPlanInput`.

    Endpoint-level settings apply to every version; a version's ``tags``/``properties`` are
    merged over the endpoint's, its ``description`` replaces the endpoint's.
    """
    validate_service_name(name)
    known = set(ENDPOINT_V1_ARGS) | set(ENDPOINT_WORKLOAD_ARGS) | set(ENDPOINT_ONLY_ARGS)
    unknown = sorted(set(args) - known)
    if unknown:
        raise WebserviceException(f"Error, unknown AksEndpoint argument(s): {', '.join(unknown)}.")
    raw_versions = args.get("versions") or []
    if not isinstance(raw_versions, Sequence) or isinstance(raw_versions, str | bytes):
        raise WebserviceException("Error, AksEndpoint versions must be a list of versions.")
    if not raw_versions:
        raise WebserviceException(
            "Invalid configuration, an endpoint needs at least one version.\n"
        )
    endpoint_v1 = {k: args[k] for k in ENDPOINT_V1_ARGS if args.get(k) is not None}
    endpoint_work = {k: args[k] for k in ENDPOINT_WORKLOAD_ARGS if args.get(k) is not None}
    version_known = set(VERSION_ROUTING_ARGS) | set(VERSION_V1_ARGS) | set(VERSION_WORKLOAD_ARGS)
    planned: list[PlannedVersion] = []
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
        routing = {k: raw[k] for k in VERSION_ROUTING_ARGS if raw.get(k) is not None}
        if isinstance(routing.get("version_type"), VersionType):
            routing["version_type"] = routing["version_type"].value
        spec = EndpointVersionSpec.model_validate(routing)
        merged: dict[str, Any] = {**endpoint_v1, **endpoint_work}
        for key in VERSION_V1_ARGS + VERSION_WORKLOAD_ARGS:
            if raw.get(key) is not None:
                merged[key] = raw[key]
        for key in ("tags", "properties"):
            combined = _merged_mapping(endpoint_v1.get(key), raw.get(key))
            if combined is not None:
                merged[key] = combined
        configuration, workload = settings_from_args(merged, base)
        planned.append(PlannedVersion(spec, configuration, configuration.resolve(), workload))
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
    return EndpointPlanInput(
        name=name,
        versions=tuple(planned),
        exposure=exposure,
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
        self.traffic = resolve_traffic(self.specs)
        self.default, self.control = resolve_roles(self.specs)
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

    # --- metadata ---
    def labels(self, role: str, version: str | None = None) -> dict[str, str]:
        out = {
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/name": "aksml-endpoint",
            ROLE_LABEL: role,
            "app.kubernetes.io/managed-by": "aksml",
            "app.kubernetes.io/part-of": self.name,
            ENDPOINT_LABEL: self.name,
        }
        if version is not None:
            out[VERSION_LABEL] = version
        return out

    def metadata(self, name: str, role: str) -> Obj:
        return {"name": name, "namespace": self.namespace, "labels": self.labels(role)}

    # --- objects ---
    def keys_secret(self) -> Obj:
        config = self.data.versions[0].config
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(f"{self.name}-keys", "keys"),
            "type": "Opaque",
            "stringData": {
                contract.PRIMARY_KEY_FILE: config.primary_key or placeholder(PRIMARY_KEY_FIELD),
                contract.SECONDARY_KEY_FILE: config.secondary_key
                or placeholder(SECONDARY_KEY_FIELD),
            },
        }

    def version_objects(self, version: PlannedVersion) -> list[Obj]:
        vname = version.spec.version_name
        full = version_object_name(self.name, vname)
        workload = version.workload.model_copy(update={"create_namespace": False})
        out: list[Obj] = []
        for obj in plan_webservice(full, version.config, workload):
            kind = obj["kind"]
            if kind in ("Ingress", "HTTPRoute", "Namespace"):
                continue
            if kind == "Secret" and obj["metadata"]["name"] == f"{full}-keys":
                continue
            obj["metadata"]["labels"][ENDPOINT_LABEL] = self.name
            obj["metadata"]["labels"][VERSION_LABEL] = vname
            if kind == "Service":
                obj["spec"]["type"] = "ClusterIP"
                annotations = obj["metadata"].get("annotations", {})
                annotations.pop(INTERNAL_LB_ANNOTATION, None)
                if not annotations:
                    obj["metadata"].pop("annotations", None)
            if kind == "Deployment":
                self._adapt_pod(obj["spec"]["template"], vname)
            out.append(obj)
        return out

    def _adapt_pod(self, template: Obj, version: str) -> None:
        template["metadata"]["labels"][ENDPOINT_LABEL] = self.name
        template["metadata"]["labels"][VERSION_LABEL] = version
        spec = template["spec"]
        for volume in spec["volumes"]:
            if volume["name"] == "keys":
                volume["secret"]["secretName"] = f"{self.name}-keys"
        for container in spec["containers"]:
            for env in container.get("env", []):
                if env["name"] == contract.SERVICE_NAME.env:
                    env["value"] = self.name

    def namespace_object(self) -> Obj | None:
        if not self.data.exposure.create_namespace:
            return None
        meta: Obj = {"name": self.namespace, "labels": self.labels("namespace")}
        meta["labels"].update(
            {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }
        )
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}

    def backend(self, version: str, weight: int | None = None) -> Obj:
        ref: Obj = {
            "kind": "Service",
            "name": version_object_name(self.name, version),
            "port": SERVICE_PORT,
        }
        if weight is not None:
            ref["weight"] = weight
        return ref

    def http_route(self) -> Obj:
        gateway = self.data.exposure.gateway
        assert gateway is not None  # checked in _check
        parents = gateway_parent_refs(gateway)
        prefix = {"type": "PathPrefix", "value": endpoint_path(self.name)}
        rules: list[Obj] = []
        for spec in self.specs:
            v = spec.version_name
            rules.append(
                {
                    "matches": [
                        {
                            "path": dict(prefix),
                            "headers": [{"type": "Exact", "name": PIN_HEADER, "value": v}],
                        }
                    ],
                    "backendRefs": [self.backend(v)],
                }
            )
        for spec in self.specs:
            v = spec.version_name
            rules.append(
                {
                    "matches": [
                        {"path": {"type": "PathPrefix", "value": version_path(self.name, v)}}
                    ],
                    "filters": [
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {
                                "path": {
                                    "type": "ReplacePrefixMatch",
                                    "replacePrefixMatch": endpoint_path(self.name),
                                }
                            },
                        }
                    ],
                    "backendRefs": [self.backend(v)],
                }
            )
        weights, _ = route_weights(self.traffic)
        split: Obj = {
            "matches": [{"path": dict(prefix)}],
            "backendRefs": [self.backend(v, w) for v, w in weights.items()],
        }
        if self.data.mirror_to is not None:
            mirror: Obj = {"backendRef": self.backend(self.data.mirror_to)}
            mirror["backendRef"].pop("kind")
            if self.data.mirror_percent != 100:
                mirror["percent"] = self.data.mirror_percent
            split["filters"] = [{"type": "RequestMirror", "requestMirror": mirror}]
        rules.append(split)
        route: Obj = {"parentRefs": parents, "rules": rules}
        if gateway.hostnames:
            route["hostnames"] = list(gateway.hostnames)
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": self.metadata(self.name, "route"),
            "spec": route,
        }

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
        ingress = self.data.exposure.ingress
        rule: Obj = {
            "http": {
                "paths": [
                    {
                        "path": endpoint_path(self.name),
                        "pathType": "Prefix",
                        "backend": {
                            "service": {
                                "name": version_object_name(self.name, version),
                                "port": {"number": SERVICE_PORT},
                            }
                        },
                    }
                ]
            }
        }
        if ingress.host:
            rule["host"] = ingress.host
        spec: Obj = {"ingressClassName": ingress.class_name, "rules": [rule]}
        if ingress.tls_secret_name:
            tls: Obj = {"secretName": ingress.tls_secret_name}
            if ingress.host:
                tls["hosts"] = [ingress.host]
            spec["tls"] = [tls]
        meta = self.metadata(name, role)
        if annotations:
            meta["annotations"] = dict(sorted(annotations.items()))
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": spec,
        }

    def endpoint_service(self) -> Obj:
        target = max(self.specs, key=lambda s: self.traffic[s.version_name]).version_name
        meta = self.metadata(self.name, "service")
        spec: Obj = {
            "type": "ClusterIP",
            "selector": selector_labels(version_object_name(self.name, target)),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        }
        if self.data.exposure.exposure is Exposure.LOAD_BALANCER:
            spec["type"] = "LoadBalancer"
            if self.data.exposure.internal_load_balancer:
                meta["annotations"] = {INTERNAL_LB_ANNOTATION: "true"}
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}

    def routing(self) -> list[Obj]:
        exposure = self.data.exposure.exposure
        if exposure is Exposure.GATEWAY:
            return [self.http_route()]
        if exposure is Exposure.INGRESS:
            return self.ingresses()
        return [self.endpoint_service()]

    def build(self) -> list[Obj]:
        objs: list[Obj] = []
        namespace = self.namespace_object()
        if namespace is not None:
            objs.append(namespace)
        objs.append(self.keys_secret())
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
    return resolve_traffic([v.spec for v in data.versions])


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
    """The v1 ``AksEndpoint.serialize()`` document (§2.4): endpoint keys plus ``versions``, each
    an ``AksWebservice.serialize()`` with ``isDefault``, ``trafficPercentile`` (the resolved
    share) and ``versionType`` (``Control``/``Treatment``)."""
    specs = [v.spec for v in data.versions]
    traffic = resolve_traffic(specs)
    default, control = resolve_roles(specs)
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
