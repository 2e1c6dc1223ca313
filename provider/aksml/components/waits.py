"""How long ``pulumi up`` waits, and for what: v1's ``wait_for_deployment(timeout_sec)``.

pulumi-kubernetes waits for a Deployment to roll out and for a Service or Ingress to get an
address, but has no built-in readiness for a Gateway API ``HTTPRoute`` or a KEDA
``ScaledObject``. The ``pulumi.com/waitFor`` annotation (pulumi-kubernetes 4.18+, JSONPath per
RFC 9535 since 4.24; see https://www.pulumi.com/registry/packages/kubernetes/ and
``provider/pkg/await`` in github.com/pulumi/pulumi-kubernetes) adds those waits: the route until
its Gateway has accepted it and resolved its backends, the ScaledObject until KEDA reports it
Ready. The ``timeouts`` argument becomes Pulumi custom timeouts on the objects a deployment waits
for. ``skip_await`` turns all of it off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pulumi

from aksml.errors import WebserviceException

WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
"""pulumi-kubernetes: wait until these conditions hold (a JSON list means all of them)."""

ROUTE_CONDITIONS = ("Accepted", "ResolvedRefs")
"""HTTPRoute conditions (per parent Gateway, under ``status.parents``) that must be True."""


def _route_condition(condition: str) -> str:
    # HTTPRoute conditions live per parent (status.parents[].conditions), not in
    # status.conditions, so `condition=Accepted` would never match: use a JSONPath instead.
    return f'jsonpath={{.status.parents[0].conditions[?(@.type=="{condition}")].status}}=True'


WAIT_FOR: Mapping[str, str] = {
    "HTTPRoute": json.dumps([_route_condition(c) for c in ROUTE_CONDITIONS]),
    "ScaledObject": "condition=Ready",
}
"""The ``pulumi.com/waitFor`` value by kind."""

TIMED_KINDS = frozenset({"Deployment", "HTTPRoute", "Ingress"})
"""Kinds whose wait the ``timeouts`` argument bounds (the rollout and the route)."""

TIMEOUT_FIELDS = ("create", "update", "delete")
"""The operations a timeout can be given for."""

_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


def wait_annotations(kind: str, skip_await: bool) -> dict[str, str]:
    """The wait annotation for an object of ``kind`` (none with ``skip_await``)."""
    if skip_await or kind not in WAIT_FOR:
        return {}
    return {WAIT_FOR_ANNOTATION: WAIT_FOR[kind]}


def custom_timeouts(value: Any, component: str = "AksWebservice") -> pulumi.CustomTimeouts | None:
    """The ``timeouts`` argument as Pulumi custom timeouts, or a WebserviceException naming
    the field. Durations are Go/Pulumi duration strings: ``"10m"``, ``"90s"``, ``"1h30m"``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise WebserviceException(
            f"Error, {component} argument 'timeouts' must be a mapping with any of "
            f"{', '.join(TIMEOUT_FIELDS)}, got {value!r}."
        )
    unknown = sorted(set(value) - set(TIMEOUT_FIELDS))
    if unknown:
        raise WebserviceException(
            f"Error, {component} argument 'timeouts' has unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(TIMEOUT_FIELDS)}."
        )
    for field, duration in value.items():
        if duration is not None and not (
            isinstance(duration, str) and _DURATION.fullmatch(duration)
        ):
            raise WebserviceException(
                f"Error, {component} argument 'timeouts.{field}' must be a duration such as "
                f"'10m', '90s' or '1h30m', got {duration!r}."
            )
    return pulumi.CustomTimeouts(
        create=value.get("create"), update=value.get("update"), delete=value.get("delete")
    )


def timed_options(
    kind: str, opts: pulumi.ResourceOptions, timeouts: pulumi.CustomTimeouts | None
) -> pulumi.ResourceOptions:
    """``opts`` with the custom timeouts when ``kind`` is one the timeouts bound."""
    if timeouts is None or kind not in TIMED_KINDS:
        return opts
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(custom_timeouts=timeouts))


def key_generation(value: Any, field: str, component: str = "AksWebservice") -> int:
    """A key generation counter (an int >= 0; default 0), or a WebserviceException."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise WebserviceException(
            f"Error, {component} argument '{field}' must be a whole number, got {value!r}."
        )
    if value < 0:
        raise WebserviceException(
            f"Error, {component} argument '{field}' must be 0 or more, got {value!r}."
        )
    return int(value)


def key_keepers(generation: int) -> dict[str, str] | None:
    """RandomPassword keepers for a key generation: none for 0 (so adding the argument to an
    existing stack replaces nothing), ``{"generation": "<n>"}`` after that (raising it replaces
    the password)."""
    return None if generation == 0 else {"generation": str(generation)}
