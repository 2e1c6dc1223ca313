"""How a service scales and stays available: HorizontalPodAutoscaler (CPU) or KEDA
ScaledObject (AML utilisation from in-flight requests), and the PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from aksml import contract
from aksml.plan.metadata import Meta, selector_labels
from aksml.plan.settings import AutoscalerKind, WorkloadSettings
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]


def _decimal_text(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _scale_target(name: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


def _hpa(name: str, meta: Meta, cfg: ResolvedServiceConfig) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta.of(name, "autoscaler"),
        "spec": {
            "scaleTargetRef": _scale_target(name),
            "minReplicas": cfg.autoscale_min_replicas,
            "maxReplicas": cfg.autoscale_max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": cfg.autoscale_target_utilization,
                        },
                    },
                }
            ],
        },
    }


def _keda(name: str, meta: Meta, cfg: ResolvedServiceConfig, work: WorkloadSettings) -> Obj:
    # AML utilisation: busy slots / (replicas x max concurrent) kept at target %, i.e. an
    # average of target% x max_concurrent in-flight requests per replica.
    per_replica = cfg.replica_max_concurrent_requests * cfg.autoscale_target_utilization / 100
    query = (
        f'sum({contract.INFLIGHT_METRIC}{{namespace="{meta.namespace}",'
        f'pod=~"{name}-[a-z0-9]+-[a-z0-9]+"}})'
    )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta.of(name, "autoscaler"),
        "spec": {
            "scaleTargetRef": _scale_target(name),
            "pollingInterval": cfg.autoscale_refresh_seconds,
            "minReplicaCount": cfg.autoscale_min_replicas,
            "maxReplicaCount": cfg.autoscale_max_replicas,
            "triggers": [
                {
                    "type": "prometheus",
                    "metricType": "AverageValue",
                    "metadata": {
                        "serverAddress": work.keda.prometheus_address,
                        "query": query,
                        "threshold": _decimal_text(per_replica),
                    },
                }
            ],
        },
    }


def autoscaler(
    name: str, meta: Meta, cfg: ResolvedServiceConfig, work: WorkloadSettings
) -> Obj | None:
    """The HPA (``autoscaler: hpa``) or KEDA ScaledObject (``keda``); None without
    autoscaling (the Deployment then has ``replicas: num_replicas``)."""
    if not cfg.autoscale_enabled:
        return None
    if work.autoscaler is AutoscalerKind.HPA:
        return _hpa(name, meta, cfg)
    return _keda(name, meta, cfg, work)


def disruption_budget(name: str, meta: Meta, cfg: ResolvedServiceConfig) -> Obj | None:
    """At most one pod voluntarily evicted at a time, when there can be more than one."""
    most = cfg.autoscale_max_replicas if cfg.autoscale_enabled else (cfg.num_replicas or 1)
    if most <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta.of(name, "disruption-budget"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(name)}},
    }
