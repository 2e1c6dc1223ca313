"""Name rules shared with Azure ML v1: service / version names and Kubernetes namespaces."""

from __future__ import annotations

import re
from typing import Final

from aksml.errors import WebserviceException

NAMESPACE_REGEX: Final = "^[a-z0-9]([a-z0-9-]{,61}[a-z0-9])?$"
"""azureml-core's ``NAMESPACE_REGEX`` (``_constants.py``): an RFC 1123 label, 1-63 characters."""

SERVICE_NAME_REGEX: Final = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
"""azureml-core's ``webservice_name_validation`` pattern; the length must also be 3-32."""

SERVICE_NAME_MIN_LENGTH: Final = 3
"""Shortest valid service or version name."""
SERVICE_NAME_MAX_LENGTH: Final = 32
"""Longest valid service or version name."""

SERVICE_NAME_MESSAGE: Final = (
    "Error, provided service name is invalid. It must only consist of lowercase letters, "
    "numbers, or dashes, start with a letter, end with a letter or number, and be between 3 "
    "and 32 characters long."
)
"""The exact v1 message (no trailing newline: v1 raised it on its own, not accumulated)."""

NAMESPACE_MESSAGE: Final = (
    "namespace must be a valid Kubernetes namespace. Regex for validation is " + NAMESPACE_REGEX
)
"""The v1 namespace message without its ``Invalid configuration, `` / ``Error, `` prefix."""


def is_valid_service_name(name: object) -> bool:
    """True when ``name`` is a valid v1 service / endpoint-version name."""
    return (
        isinstance(name, str)
        and re.fullmatch(SERVICE_NAME_REGEX, name) is not None
        and SERVICE_NAME_MIN_LENGTH <= len(name) <= SERVICE_NAME_MAX_LENGTH
    )


def validate_service_name(name: object) -> str:
    """Return ``name`` if it is a valid service or version name, else raise the v1 error.

    Rule (azureml-core ``webservice_name_validation``): 3-32 characters, lowercase letters,
    digits and dashes, starting with a letter and ending with a letter or digit.
    """
    if not is_valid_service_name(name):
        raise WebserviceException(SERVICE_NAME_MESSAGE)
    assert isinstance(name, str)
    return name


def is_valid_namespace(namespace: str) -> bool:
    """True when ``namespace`` matches v1's ``NAMESPACE_REGEX`` (``re.match``, as v1 did)."""
    return re.match(NAMESPACE_REGEX, namespace) is not None


def validate_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a valid Kubernetes namespace, else raise the v1 message."""
    if not isinstance(namespace, str) or not is_valid_namespace(namespace):
        raise WebserviceException(f"Invalid configuration, {NAMESPACE_MESSAGE}\n")
    return namespace
