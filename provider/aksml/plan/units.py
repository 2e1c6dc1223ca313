"""Exact conversions from AML v1 resource numbers to Kubernetes quantities."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from aksml.errors import WebserviceException

_MEMORY_UNITS: tuple[tuple[str, int], ...] = (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def _decimal(value: float, field: str) -> Decimal:
    number = Decimal(repr(float(value)))
    if not number.is_finite() or number <= 0:
        raise WebserviceException(f"Invalid configuration, {field} must be greater than zero.\n")
    return number


def cpu_quantity(cores: float, field: str = "cpu_cores") -> str:
    """Cores -> a CPU quantity: whole cores as ``"2"``, else millicores (``0.1`` -> ``"100m"``).

    Fractions of a millicore round up (Kubernetes' own precision), never down to zero.
    """
    number = _decimal(cores, field)
    if number == number.to_integral_value():
        return str(int(number))
    millis = (number * 1000).to_integral_value(rounding=ROUND_CEILING)
    return f"{int(millis)}m"


def memory_quantity(gib: float, field: str = "memory_gb") -> str:
    """GiB (AML's "GB") -> the largest exact binary unit: ``0.5`` -> ``"512Mi"``, 2 -> ``"2Gi"``.

    Amounts that are not a whole number of KiB round up to whole bytes.
    """
    number = _decimal(gib, field) * (1024**3)
    for suffix, size in _MEMORY_UNITS:
        amount = number / size
        if amount == amount.to_integral_value():
            return f"{int(amount)}{suffix}"
    return str(int(number.to_integral_value(rounding=ROUND_CEILING)))
