"""The expansion of one ``AksWebservice`` into Kubernetes objects (plain dicts).

Pure and deterministic: the same (name, config, workload) always gives the same list, in the
same order, with the same bytes once rendered. Values only known at deploy time (generated
keys, Output-valued strings) appear as opaque placeholders (:func:`placeholder`) that the
component substitutes.

The objects come from one module per Kubernetes concern: :mod:`aksml.plan.metadata`
(labels, Namespace, ServiceAccount, Secrets), :mod:`aksml.plan.pod` (ConfigMaps, the pod and
its Deployment), :mod:`aksml.plan.autoscaling` (HPA/KEDA, PodDisruptionBudget) and
:mod:`aksml.plan.exposure` (Service, Ingress, HTTPRoute, NetworkPolicy). This module checks
the combinations and puts the list together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan import autoscaling, exposure, metadata, pod
from aksml.plan.admission import require_deployable
from aksml.plan.metadata import keys_secret_name, namespace_of
from aksml.plan.settings import Exposure, ModelSource, RuntimeMode, WorkloadSettings
from aksml.plan.startup import require_startable
from aksml.v1.names import validate_service_name
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]


@dataclass(frozen=True)
class ServiceOptions:
    """What an owner that plans a service as one of its parts decides (an ``AksEndpoint``
    plans each version this way). The defaults plan a standalone ``AksWebservice``."""

    served_name: str | None = None
    """The name the runtime serves (``/api/v1/service/<served_name>/score``); default: the
    service's own name."""
    keys_secret: str | None = None
    """An existing keys Secret the pod mounts (the owner plans it); default: the service's own
    ``<name>-keys``, planned here."""
    exposed: bool = True
    """False: the owner routes to this service, so its Service stays ClusterIP and it gets no
    Ingress or HTTPRoute (its NetworkPolicy still admits the workload's exposure)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels added to every object and to the pod template."""


def _check_models(work: WorkloadSettings) -> None:
    seen: set[tuple[str, str]] = set()
    for model in work.models:
        if (model.name, model.version) in seen:
            raise WebserviceException(f"Error, model {model.name}:{model.version} is listed twice.")
        seen.add((model.name, model.version))
        if model.source is not ModelSource.IMAGE and not model.url:
            raise WebserviceException(
                f"Error, model {model.name}:{model.version} with source "
                f"'{model.source.value}' needs a url."
            )
        if model.source is ModelSource.BLOB and pod.blob_parts(model) is None:
            raise WebserviceException(
                f"Error, model {model.name}:{model.version}: {model.url!r} is not an "
                "Azure Blob URL (https://<account>.blob.core.windows.net/<container>/...)."
            )


def check_service(name: str, config: ResolvedServiceConfig, work: WorkloadSettings) -> None:
    """Raise ``WebserviceException`` for combinations the models cannot see alone (v1 messages
    where v1 had one)."""
    validate_service_name(name)
    if work.exposure is Exposure.GATEWAY and work.gateway is None:
        raise WebserviceException(
            "Error, exposure 'gateway' needs gateway settings with at least one parent_ref."
        )
    if work.runtime_mode is RuntimeMode.PROXY and work.proxy is None:
        raise WebserviceException(
            "Error, runtime_mode 'proxy' needs proxy settings with the upstream image."
        )
    if work.proxy is not None and work.proxy.port in (
        contract.DEFAULT_PORT,
        contract.DEFAULT_METRICS_PORT,
    ):
        raise WebserviceException(
            f"Error, proxy port {work.proxy.port} is used by the aksml runtime; "
            "choose another upstream port."
        )
    if config.enable_app_insights and not work.app_insights_connection_string:
        raise WebserviceException(
            "Error, enable_app_insights needs app_insights_connection_string "
            "(the Application Insights resource's connection string)."
        )
    _check_models(work)
    clash = sorted(set(work.environment_variables) & pod.runtime_env_names())
    if clash:
        raise WebserviceException(
            f"Error, environment_variables must not set {', '.join(clash)}: aksml sets "
            "them from the deploy configuration."
        )
    if work.code is not None and not work.entry_script:
        raise WebserviceException("Error, need to specify entry_script.")
    if work.entry_script and not work.entry_script.endswith(".py"):
        raise WebserviceException(
            "Invalid driver type. Currently only Python drivers are supported."
        )


def plan_webservice(
    name: str,
    config: ResolvedServiceConfig,
    workload: WorkloadSettings | None = None,
    options: ServiceOptions | None = None,
) -> list[Obj]:
    """Every Kubernetes object of the service ``name``, in apply order.

    Raises ``WebserviceException`` for combinations that cannot be deployed (v1 messages where
    v1 had one), for settings the runtime would refuse to start with
    (``aksml.plan.startup``) and for objects the cluster would refuse (``aksml.plan.admission``).
    """
    work = workload or WorkloadSettings()
    opts = options or ServiceOptions()
    check_service(name, config, work)
    require_startable(config, work)
    meta = metadata.service_meta(name, config, opts.labels)
    code = pod.code_configmap(name, meta, work.code) if work.code is not None else None
    environment = pod.environment_configmap(name, meta, work)
    planned = pod.PodPlan(
        name=name,
        config=config,
        work=work,
        meta=meta,
        served_name=opts.served_name or name,
        keys_secret=opts.keys_secret or keys_secret_name(name),
        code=code,
        environment=environment,
        extra_labels=dict(opts.labels),
    )
    account = planned.service_account_name()
    client_id = work.workload_identity_client_id
    objs: list[Obj | None] = [
        metadata.namespace_object(meta) if work.create_namespace else None,
        metadata.service_account(meta, account, client_id) if client_id and account else None,
        None
        if opts.keys_secret
        else metadata.keys_secret(
            meta, keys_secret_name(name), config.primary_key, config.secondary_key
        ),
        metadata.app_insights_secret(meta, name, work.app_insights_connection_string or "")
        if config.enable_app_insights
        else None,
        code[0] if code else None,
        environment,
        planned.deployment(),
        exposure.service_object(
            meta.of(name, "service"), metadata.selector_labels(name), work, opts.exposed
        ),
        autoscaling.autoscaler(name, meta, config, work),
        autoscaling.disruption_budget(name, meta, config),
        exposure.network_policy(name, meta, work),
        exposure.exposure_object(name, meta, work) if opts.exposed else None,
    ]
    return require_deployable([o for o in objs if o is not None])


__all__ = ["ServiceOptions", "check_service", "namespace_of", "plan_webservice"]
