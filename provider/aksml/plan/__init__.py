"""The plan layer: a validated deploy configuration -> Kubernetes objects as plain dicts.

Pure and deterministic (no Pulumi, no cluster): the same input gives byte-identical YAML.
"""

from __future__ import annotations

from aksml.plan.code import load_code
from aksml.plan.metadata import ROLE_LABEL, placeholder
from aksml.plan.render import file_name, to_yaml
from aksml.plan.settings import (
    AutoscalerKind,
    CodeBundle,
    EnvironmentSpec,
    Exposure,
    GatewayParentRef,
    GatewaySpec,
    IngressSpec,
    KedaSpec,
    ModelRef,
    ModelSource,
    ProxySpec,
    RuntimeMode,
    Toleration,
    WorkloadSettings,
)
from aksml.plan.uris import service_uris
from aksml.plan.webservice import ServiceOptions, plan_webservice

__all__ = [
    "ROLE_LABEL",
    "AutoscalerKind",
    "CodeBundle",
    "EnvironmentSpec",
    "Exposure",
    "GatewayParentRef",
    "GatewaySpec",
    "IngressSpec",
    "KedaSpec",
    "ModelRef",
    "ModelSource",
    "ProxySpec",
    "RuntimeMode",
    "ServiceOptions",
    "Toleration",
    "WorkloadSettings",
    "file_name",
    "load_code",
    "placeholder",
    "plan_webservice",
    "service_uris",
    "to_yaml",
]
