"""The deploy configuration: Azure ML v1 parameters, defaults, validation and AML JSON.

Imports neither Pulumi nor Kubernetes. See ``docs/configuration.md``.
"""

from __future__ import annotations

from aksml.v1.amljson import (
    AnyConfiguration,
    endpoint_versions_from_aml_json,
    from_aml_json,
    load_config,
    read_config_document,
    serialize,
    to_create_payload,
)
from aksml.v1.config import (
    AksEndpointDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    deploy_configuration,
    endpoint_deploy_configuration,
)
from aksml.v1.names import (
    NAMESPACE_REGEX,
    SERVICE_NAME_MESSAGE,
    SERVICE_NAME_REGEX,
    is_valid_namespace,
    is_valid_service_name,
    validate_namespace,
    validate_service_name,
)
from aksml.v1.resolved import ResolvedServiceConfig
from aksml.v1.traffic import EndpointVersionSpec, resolve_roles, resolve_traffic

__all__ = [
    "NAMESPACE_REGEX",
    "SERVICE_NAME_MESSAGE",
    "SERVICE_NAME_REGEX",
    "AksEndpointDeploymentConfiguration",
    "AksServiceDeploymentConfiguration",
    "AnyConfiguration",
    "EndpointVersionSpec",
    "ResolvedServiceConfig",
    "deploy_configuration",
    "endpoint_deploy_configuration",
    "endpoint_versions_from_aml_json",
    "from_aml_json",
    "is_valid_namespace",
    "is_valid_service_name",
    "load_config",
    "read_config_document",
    "resolve_roles",
    "resolve_traffic",
    "serialize",
    "to_create_payload",
    "validate_namespace",
    "validate_service_name",
]
