"""String and quantity rules of the Kubernetes API server, ported from apimachinery.

Sources (Kubernetes v1.33.0):

- ``IsDNS1123Label``, ``IsDNS1123Subdomain``, ``IsDNS1035Label``, ``IsQualifiedName``,
  ``IsValidLabelValue``, ``IsValidPortName``, ``IsValidPortNum``, ``IsEnvVarName``,
  ``IsConfigMapKey``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
- quantity syntax: https://github.com/kubernetes/kubernetes/blob/v1.33.0/staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go

Each ``is_*`` function returns the API server's error messages (empty list = valid).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")
_ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

LABEL_MAX = 63
"""DNS-1123 label / label value / qualified-name name part: at most 63 characters."""
SUBDOMAIN_MAX = 253
"""DNS-1123 subdomain: at most 253 characters."""
PORT_NAME_MAX = 15
"""IANA_SVC_NAME: at most 15 characters."""


def _rule(value: str, limit: int, pattern: re.Pattern[str], message: str) -> list[str]:
    """The shape shared by upstream's name checks: a length limit, then a regular expression."""
    errors = []
    if len(value) > limit:
        errors.append(f"must be no more than {limit} characters")
    if not pattern.match(value):
        errors.append(message)
    return errors


def is_dns1123_label(value: str) -> list[str]:
    """RFC 1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, <= 63."""
    return _rule(
        value,
        LABEL_MAX,
        _DNS1123_LABEL,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
    )


def is_dns1123_subdomain(value: str) -> list[str]:
    """RFC 1123 subdomain: dot-separated labels, <= 253 characters."""
    return _rule(
        value,
        SUBDOMAIN_MAX,
        _DNS1123_SUBDOMAIN,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character",
    )


def is_dns1035_label(value: str) -> list[str]:
    """RFC 1035 label (Service names): starts with a letter, <= 63."""
    return _rule(
        value,
        LABEL_MAX,
        _DNS1035_LABEL,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character, and end with an alphanumeric character",
    )


def is_qualified_name(value: str) -> list[str]:
    """Label/annotation key: ``[prefix/]name``; prefix a DNS subdomain, name <= 63."""
    parts = value.split("/")
    if len(parts) > 2 or not parts[-1]:
        return ["a qualified name must be [prefix/]name with a non-empty name"]
    name = parts[-1]
    errors: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors += [f"prefix part {e}" for e in is_dns1123_subdomain(parts[0])]
    if len(name) > LABEL_MAX:
        errors.append(f"name part must be no more than {LABEL_MAX} characters")
    if not _QUALIFIED_NAME.match(name):
        errors.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character"
        )
    return errors


def is_label_value(value: str) -> list[str]:
    """Label value: empty, or <= 63 alphanumerics/'-_.' starting and ending alphanumeric."""
    return _rule(
        value,
        LABEL_MAX,
        _LABEL_VALUE,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character",
    )


def is_port_name(value: str) -> list[str]:
    """IANA_SVC_NAME: <= 15 lowercase alphanumerics/'-', a letter, no '--', no '-' at ends."""
    errors = []
    if len(value) > PORT_NAME_MAX:
        errors.append(f"must be no more than {PORT_NAME_MAX} characters")
    if not _PORT_NAME_CHARS.match(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if not _PORT_NAME_LETTER.search(value):
        errors.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def is_port_number(value: object) -> list[str]:
    """A port number: an integer 1-65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return ["must be between 1 and 65535, inclusive"]
    return []


def is_env_var_name(value: str) -> list[str]:
    """Environment variable name, the strict rule every supported cluster enforces (the
    relaxed rule is behind RelaxedEnvironmentVariableValidation, default-on only in 1.32+)."""
    if not _ENV_VAR_NAME.match(value):
        return [
            "a valid environment variable name must consist of alphabetic characters, digits, "
            "'_', '-', or '.', and must not start with a digit"
        ]
    return []


def is_config_map_key(value: str) -> list[str]:
    """ConfigMap/Secret data key: alphanumerics, '-', '_' or '.', <= 253, not '.'/'..'."""
    errors = []
    if len(value) > SUBDOMAIN_MAX:
        errors.append(f"must be no more than {SUBDOMAIN_MAX} characters")
    if not _CONFIG_MAP_KEY.match(value):
        errors.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
    if value in (".", "..") or value.startswith(".."):
        errors.append("must not be '.' or '..', or start with '..'")
    return errors


_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_EXPONENT = re.compile(r"^[eE][+-]?[0-9]+$")


def parse_quantity(value: object) -> Decimal | None:
    """A Kubernetes quantity (``"500m"``, ``"2Gi"``, ``"1e3"``, or a number) as a Decimal;
    None when the API server would refuse it ("quantities must match the regular expression")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if not match:
        return None
    number, suffix = Decimal(match.group(1)), match.group(2)
    try:
        if suffix in _BINARY:
            return number * _BINARY[suffix]
        if suffix in _DECIMAL:
            return number.scaleb(_DECIMAL[suffix])
        if _EXPONENT.match(suffix):
            return number.scaleb(int(suffix[1:]))
    except InvalidOperation:
        return None
    return None
