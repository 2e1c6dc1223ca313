"""Scoring and swagger URIs in Azure ML's format, from the exposure and a known address."""

from __future__ import annotations

from aksml import contract
from aksml.plan.settings import Exposure, WorkloadSettings
from aksml.v1.resolved import ResolvedServiceConfig


def cluster_host(name: str, namespace: str) -> str:
    """The Service's in-cluster DNS name."""
    return f"{name}.{namespace}.svc.cluster.local"


def address_source(workload: WorkloadSettings) -> str | None:
    """Which object's status carries the address the URIs need: ``"Service"`` (load balancer),
    ``"Ingress"`` (ingress without a host) or None (the URI host is known up front)."""
    if workload.exposure is Exposure.LOAD_BALANCER:
        return "Service"
    if workload.exposure is Exposure.INGRESS and not workload.ingress.host:
        return "Ingress"
    return None


def uri_host_and_scheme(
    name: str, namespace: str, workload: WorkloadSettings, address: str | None
) -> tuple[str, str]:
    """(scheme, host) of the URIs. Without an address yet, the in-cluster DNS name stands in."""
    fallback = cluster_host(name, namespace)
    exposure = workload.exposure
    if exposure is Exposure.LOAD_BALANCER:
        return "http", address or fallback
    if exposure is Exposure.INGRESS:
        scheme = "https" if workload.ingress.tls_secret_name else "http"
        return scheme, workload.ingress.host or address or fallback
    if exposure is Exposure.GATEWAY and workload.gateway is not None:
        scheme = "https" if workload.gateway.https else "http"
        hosts = workload.gateway.hostnames
        return scheme, (hosts[0] if hosts else address or fallback)
    return "http", fallback


def swagger_uri_from(scoring_uri: str) -> str:
    """azureml-core's rule: drop the last path segment of the scoring URI, add swagger.json."""
    return "/".join(scoring_uri.split("/")[:-1]) + contract.SWAGGER_PATH


def service_uris(
    name: str, config: ResolvedServiceConfig, workload: WorkloadSettings, address: str | None
) -> tuple[str, str]:
    """(scoring_uri, swagger_uri): ``<scheme>://<host>/api/v1/service/<name>/score`` and
    ``.../swagger.json``."""
    namespace = config.namespace or "default"
    scheme, host = uri_host_and_scheme(name, namespace, workload, address)
    prefix = contract.AML_PATH_PREFIX.format(name=name)
    scoring = f"{scheme}://{host}{prefix}{contract.SCORE_PATH}"
    return scoring, swagger_uri_from(scoring)
