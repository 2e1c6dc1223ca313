"""How a service is reached: Service, Ingress, HTTPRoute and the NetworkPolicy that admits
exactly that traffic. The object builders take their metadata and backends as inputs, so the
endpoint (:mod:`aksml.plan.endpoint`) builds its routing with the same functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aksml import contract
from aksml.plan.metadata import Meta, selector_labels
from aksml.plan.settings import Exposure, GatewaySpec, IngressSpec, WorkloadSettings

Obj = dict[str, Any]

SERVICE_PORT = 80
"""The Service (and URI) port: AML scoring URIs are plain port 80 (443 behind TLS)."""

INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
"""Azure cloud provider: put the Service on an internal load balancer."""


def aml_path(name: str) -> str:
    """``/api/v1/service/<name>``: the path prefix a service (or endpoint) is reached on."""
    return contract.AML_PATH_PREFIX.format(name=name)


def service_object(
    meta: Obj, selector: Mapping[str, str], work: WorkloadSettings, exposed: bool = True
) -> Obj:
    """A Service selecting ``selector`` on :data:`SERVICE_PORT`: a (possibly internal)
    LoadBalancer for exposure ``load_balancer`` when ``exposed``, else ClusterIP."""
    spec: Obj = {
        "type": "ClusterIP",
        "selector": dict(selector),
        "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
    }
    if exposed and work.exposure is Exposure.LOAD_BALANCER:
        spec["type"] = "LoadBalancer"
        if work.internal_load_balancer:
            meta.setdefault("annotations", {})[INTERNAL_LB_ANNOTATION] = "true"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def ingress_object(meta: Obj, ingress: IngressSpec, path: str, service: str) -> Obj:
    """An Ingress sending ``path`` (prefix) to the Service ``service``."""
    rule: Obj = {
        "http": {
            "paths": [
                {
                    "path": path,
                    "pathType": "Prefix",
                    "backend": {"service": {"name": service, "port": {"number": SERVICE_PORT}}},
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
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def gateway_parent_refs(gateway: GatewaySpec) -> list[Obj]:
    """HTTPRoute ``parentRefs`` for the configured Gateway listeners."""
    parents: list[Obj] = []
    for ref in gateway.parent_refs:
        parent: Obj = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ref.name}
        if ref.namespace:
            parent["namespace"] = ref.namespace
        if ref.section_name:
            parent["sectionName"] = ref.section_name
        parents.append(parent)
    return parents


def backend_ref(service: str, weight: int | None = None) -> Obj:
    """An HTTPRoute ``backendRef`` to the Service ``service``."""
    ref: Obj = {"kind": "Service", "name": service, "port": SERVICE_PORT}
    if weight is not None:
        ref["weight"] = weight
    return ref


def http_route_object(meta: Obj, gateway: GatewaySpec, rules: Sequence[Obj]) -> Obj:
    """An HTTPRoute attached to the configured Gateways, with ``rules``."""
    route: Obj = {"parentRefs": gateway_parent_refs(gateway), "rules": list(rules)}
    if gateway.hostnames:
        route["hostnames"] = list(gateway.hostnames)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta,
        "spec": route,
    }


def exposure_object(name: str, meta: Meta, work: WorkloadSettings) -> Obj | None:
    """The service's own Ingress or HTTPRoute (exposure ``ingress`` / ``gateway``), or None."""
    if work.exposure is Exposure.INGRESS:
        return ingress_object(meta.of(name, "ingress"), work.ingress, aml_path(name), name)
    if work.exposure is Exposure.GATEWAY and work.gateway is not None:
        rule: Obj = {
            "matches": [{"path": {"type": "PathPrefix", "value": aml_path(name)}}],
            "backendRefs": [backend_ref(name, 1)],
        }
        return http_route_object(meta.of(name, "route"), work.gateway, [rule])
    return None


def _namespace_peer(namespace: str) -> Obj:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {},
    }


def network_policy(name: str, meta: Meta, work: WorkloadSettings) -> Obj:
    """Admit scoring traffic only from where the exposure sends it (the load balancer, the
    ingress controller's or gateway's namespace, the service's own namespace), and metrics
    scrapes from any namespace."""
    same_namespace: Obj = {"podSelector": {}}
    if work.exposure is Exposure.LOAD_BALANCER:
        http_from: list[Obj] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    elif work.exposure is Exposure.INGRESS:
        http_from = [_namespace_peer(work.ingress.controller_namespace), same_namespace]
    elif work.exposure is Exposure.GATEWAY and work.gateway is not None:
        gw_ns = (
            work.gateway.gateway_namespace_for_traffic
            or work.gateway.parent_refs[0].namespace
            or meta.namespace
        )
        http_from = [_namespace_peer(gw_ns), same_namespace]
    else:
        http_from = [same_namespace]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta.of(name, "network-policy"),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(name)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": http_from, "ports": [{"port": "http", "protocol": "TCP"}]},
                {
                    "from": [{"namespaceSelector": {}}],
                    "ports": [{"port": "metrics", "protocol": "TCP"}],
                },
            ],
        },
    }
