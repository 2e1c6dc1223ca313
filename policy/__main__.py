"""The aksml guardrails as a Pulumi policy pack (CrossGuard), for stacks in any language.

    pulumi preview --policy-pack <aksml checkout>/policy
    pulumi up --policy-pack <aksml checkout>/policy --policy-pack-config prod.json

Each rule of ``guardrails.RULES`` is a mandatory stack policy over the stack's Kubernetes
resources (their inputs are the manifests ``aksml render`` writes). ``aksml-pinned-images``
applies to production stacks only: policy config ``{"aksml-pinned-images": {"production":
true}}`` or the stack tag ``environment: production`` (or ``prod``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import guardrails  # beside this file; imports only the standard library
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

UNKNOWN = "<unknown until deployed>"
"""Stands for a value Pulumi only knows after the update (an image built in the same stack)."""

PRODUCTION_TAG_VALUES = frozenset({"production", "prod"})
"""Values of the ``environment`` stack tag that mark a production stack."""


def to_plain(value: Any) -> Any:
    """Resource inputs as plain dicts/lists: secrets unwrapped, unknown values as ``UNKNOWN``."""
    if isinstance(value, Secret):
        return to_plain(value.value)
    if isinstance(value, Mapping):
        return {k: _item(value, k) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_item(value, i) for i in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return to_plain(container[key])
    except UnknownValueError:
        return UNKNOWN


def stack_objects(args: StackValidationArgs) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The stack's Kubernetes objects, and the URN of each by ``Kind/namespace/name``."""
    objects, urns = [], {}
    for resource in args.resources:
        if not resource.resource_type.startswith("kubernetes:"):
            continue
        obj = to_plain(resource.props)
        if not isinstance(obj.get("kind"), str):
            continue
        objects.append(obj)
        urns[guardrails.object_id(obj)] = resource.urn
    return objects, urns


def is_production(args: StackValidationArgs) -> bool:
    """Production when the policy config says so or the stack is tagged ``environment``."""
    if args.get_config().get("production") is True:
        return True
    return args.stack_tags.get("environment", "").lower() in PRODUCTION_TAG_VALUES


def validator(rule: guardrails.Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """The stack validation of one rule: report each violation on its resource's URN."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if rule.production_only and not is_production(args):
            return
        objects, urns = stack_objects(args)
        for violation in rule.check(objects):
            report(f"{violation.object}: {violation.message}", urns.get(violation.object))

    return validate


def policies() -> list[Policy]:
    """One mandatory stack policy per guardrail."""
    production = PolicyConfigSchema(
        {"production": {"type": "boolean", "description": "Treat this stack as production."}}
    )
    return [
        StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=validator(rule),
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=production if rule.production_only else None,
        )
        for rule in guardrails.RULES
    ]


if __name__ == "__main__":
    PolicyPack(name="aksml-guardrails", policies=policies())
