"""Metadata of planned objects -- names, labels, annotations, placeholders -- and the kinds
that are metadata plus data only: Namespace, ServiceAccount and the Secrets.

Shared by :mod:`aksml.plan.webservice` and :mod:`aksml.plan.endpoint` (which plans each
version as a service and adds its own objects with its own labels).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aksml import contract
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]

DEFAULT_NAMESPACE = "default"
"""Namespace used when the configuration leaves ``namespace`` unset."""

SELECTOR_NAME = "aksml-webservice"
"""``app.kubernetes.io/name`` of every webservice pod."""

ROLE_LABEL = "app.kubernetes.io/component"
"""Which part of the service an object is; the component derives child names from it."""

WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
"""ServiceAccount annotation read by the Azure workload identity webhook."""
WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use"
"""Pod label that opts pods into the Azure workload identity webhook."""

PRIMARY_KEY_FIELD = "primary_key"
"""Placeholder field for the primary key."""
SECONDARY_KEY_FIELD = "secondary_key"
"""Placeholder field for the secondary key."""

APP_INSIGHTS_SECRET_KEY = "connectionString"
"""Key of the connection string in the Application Insights Secret."""

RESTRICTED_NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
"""Pod Security Admission labels of a namespace aksml creates."""

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def placeholder(field: str) -> str:
    """The opaque token standing for a value only known at deploy time."""
    return f"${{aksml:{field}}}"


def namespace_of(config: ResolvedServiceConfig) -> str:
    """The namespace every namespaced object lands in."""
    return config.namespace or DEFAULT_NAMESPACE


def selector_labels(name: str) -> dict[str, str]:
    """Minimal, never-versioned labels selecting the service's pods."""
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/name": SELECTOR_NAME}


def keys_secret_name(name: str) -> str:
    """Name of the Secret holding primaryKey/secondaryKey."""
    return f"{name}-keys"


def app_insights_secret_name(name: str) -> str:
    """Name of the Secret holding the Application Insights connection string."""
    return f"{name}-appinsights"


def content_hash(*parts: bytes) -> str:
    """10 hex digits identifying ``parts`` (for immutable ConfigMap names)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:10]


@dataclass(frozen=True)
class Meta:
    """How one owner (a service or an endpoint) labels and annotates its objects."""

    namespace: str
    """Namespace of the namespaced objects."""
    labels: Mapping[str, str]
    """Labels of every object (the role label is added per object)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of every object (none: no ``annotations`` key)."""

    def role_labels(self, role: str) -> dict[str, str]:
        """The labels of an object playing ``role``."""
        return {**self.labels, ROLE_LABEL: role}

    def of(self, name: str, role: str, namespaced: bool = True) -> Obj:
        """``metadata`` of the object ``name`` playing ``role``."""
        meta: Obj = {"name": name, "labels": self.role_labels(role)}
        if namespaced:
            meta["namespace"] = self.namespace
        if self.annotations:
            meta["annotations"] = dict(self.annotations)
        return meta


def service_meta(name: str, config: ResolvedServiceConfig, extra_labels: Mapping[str, str]) -> Meta:
    """A service's metadata: selector, managed-by and part-of labels, label-safe tags as
    ``tags.aksml.io/<key>`` labels, and tags/properties/description/compute target as
    ``aksml.io/*`` annotations."""
    labels = {
        **selector_labels(name),
        "app.kubernetes.io/managed-by": "aksml",
        "app.kubernetes.io/part-of": name,
    }
    for key, value in config.tags.items():
        if _LABEL_NAME.match(key) and _LABEL_VALUE.match(value):
            labels[f"tags.aksml.io/{key}"] = value
    labels.update(extra_labels)
    annotations: dict[str, str] = {}
    if config.tags:
        annotations["aksml.io/tags"] = json.dumps(config.tags, sort_keys=True)
    if config.properties:
        annotations["aksml.io/properties"] = json.dumps(config.properties, sort_keys=True)
    if config.description:
        annotations["aksml.io/description"] = config.description
    if config.compute_target_name:
        annotations["aksml.io/compute-target"] = config.compute_target_name
    return Meta(namespace_of(config), labels, annotations)


def namespace_object(meta: Meta) -> Obj:
    """The Namespace ``meta.namespace``, with restricted Pod Security labels."""
    metadata = meta.of(meta.namespace, "namespace", namespaced=False)
    metadata["labels"].update(RESTRICTED_NAMESPACE_LABELS)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def keys_secret(meta: Meta, name: str, primary: str | None, secondary: str | None) -> Obj:
    """The keys Secret ``name`` (files primaryKey/secondaryKey); a key not given is a
    placeholder the component fills with a generated key."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta.of(name, "keys"),
        "type": "Opaque",
        "stringData": {
            contract.PRIMARY_KEY_FILE: primary or placeholder(PRIMARY_KEY_FIELD),
            contract.SECONDARY_KEY_FILE: secondary or placeholder(SECONDARY_KEY_FIELD),
        },
    }


def app_insights_secret(meta: Meta, name: str, connection_string: str) -> Obj:
    """The Secret holding the Application Insights connection string."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta.of(app_insights_secret_name(name), "app-insights"),
        "type": "Opaque",
        "stringData": {APP_INSIGHTS_SECRET_KEY: connection_string},
    }


def service_account(meta: Meta, name: str, client_id: str) -> Obj:
    """A ServiceAccount for Azure workload identity (no API token mounted)."""
    metadata = meta.of(name, "service-account")
    metadata.setdefault("annotations", {})[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] = client_id
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "automountServiceAccountToken": False,
    }
