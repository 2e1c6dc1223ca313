"""aksml: Azure ML v1 ``AksWebservice`` / ``AksEndpoint`` as Pulumi components for Kubernetes.

Heavy parts are imported lazily (PEP 562) so that ``aksml.runtime`` -- the server inside the
pod -- never imports Pulumi, and ``aksml.v1`` stays importable without Kubernetes libraries.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

from aksml._lazy import lazy_attribute
from aksml.errors import WebserviceException

try:
    __version__ = importlib.metadata.version("aksml")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "AksWebservice": "aksml.components.webservice",
    "AksEndpoint": "aksml.components.endpoint",
    "AksServiceDeploymentConfiguration": "aksml.v1",
    "AksEndpointDeploymentConfiguration": "aksml.v1",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, globals(), name)


__all__ = [
    "AksEndpoint",
    "AksEndpointDeploymentConfiguration",
    "AksServiceDeploymentConfiguration",
    "AksWebservice",
    "WebserviceException",
    "__version__",
]
