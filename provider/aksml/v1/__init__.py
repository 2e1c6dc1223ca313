"""The deploy configuration: Azure ML v1 parameters, defaults, validation and AML JSON.

Imports neither Pulumi nor Kubernetes. See ``docs/configuration.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aksml._lazy import lazy_attribute

if TYPE_CHECKING:
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

# imported on first access (PEP 562), so that ``aksml.v1.params`` -- the parameter table the
# runtime contract derives its defaults from -- loads without pydantic
_LAZY: dict[str, str] = {
    "AnyConfiguration": "aksml.v1.amljson",
    "endpoint_versions_from_aml_json": "aksml.v1.amljson",
    "from_aml_json": "aksml.v1.amljson",
    "load_config": "aksml.v1.amljson",
    "read_config_document": "aksml.v1.amljson",
    "serialize": "aksml.v1.amljson",
    "to_create_payload": "aksml.v1.amljson",
    "AksEndpointDeploymentConfiguration": "aksml.v1.config",
    "AksServiceDeploymentConfiguration": "aksml.v1.config",
    "deploy_configuration": "aksml.v1.config",
    "endpoint_deploy_configuration": "aksml.v1.config",
    "NAMESPACE_REGEX": "aksml.v1.names",
    "SERVICE_NAME_MESSAGE": "aksml.v1.names",
    "SERVICE_NAME_REGEX": "aksml.v1.names",
    "is_valid_namespace": "aksml.v1.names",
    "is_valid_service_name": "aksml.v1.names",
    "validate_namespace": "aksml.v1.names",
    "validate_service_name": "aksml.v1.names",
    "ResolvedServiceConfig": "aksml.v1.resolved",
    "EndpointVersionSpec": "aksml.v1.traffic",
    "resolve_roles": "aksml.v1.traffic",
    "resolve_traffic": "aksml.v1.traffic",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, globals(), name)


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
