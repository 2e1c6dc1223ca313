"""What both components share: turning arguments into plain values and planned objects into
pulumi_kubernetes resources.

- :func:`defer_outputs`: Output-valued arguments become placeholder tokens (the plan is pure and
  sees plain values only); the tokens are recorded with their Outputs.
- :func:`key_outputs`: the key pair as secret Outputs (given, or ``pulumi_random``).
- :func:`emit_object`: one planned object as its resource, placeholders replaced by Outputs.
- :func:`first_address`: the load-balancer address in a Service/Ingress status (guarded).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from aksml.errors import WebserviceException
from aksml.plan.metadata import PRIMARY_KEY_FIELD, SECONDARY_KEY_FIELD, placeholder
from aksml.plan.notices import preview_warnings
from aksml.plan.ordering import dependencies, key_of

KEY_LENGTH = 32
"""Length of generated keys (letters and digits, like AML's)."""

SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
"""pulumi-kubernetes: do not wait for readiness."""

_SKIP_AWAIT_KINDS = frozenset({"Deployment", "Service", "Ingress"})

_RESOURCE_TYPES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
}

# snake_case constructor keyword for each top-level camelCase field
_TOP_FIELDS = {
    "stringData": "string_data",
    "binaryData": "binary_data",
    "automountServiceAccountToken": "automount_service_account_token",
}


def defer_outputs(
    component: str,
    args: Mapping[str, Any],
    allowed: Sequence[str],
    deferred: dict[str, pulumi.Output[Any]],
    *,
    where: str = "",
    prefix: str = "",
) -> dict[str, Any]:
    """``args`` with every Output replaced by ``placeholder(prefix + key)`` (recorded in
    ``deferred``). An Output for a key not in ``allowed`` is an error naming the argument: it
    would decide which Kubernetes objects exist, which a preview must know."""
    plain: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, pulumi.Output):
            if key not in allowed:
                raise WebserviceException(
                    f"Error, {component} {where}argument {key!r} must be a plain value, not an "
                    "Output: it decides which Kubernetes objects are created. Outputs are "
                    f"accepted for: {', '.join(allowed)}."
                )
            token = placeholder(f"{prefix}{key}")
            plain[key] = token
            deferred[token] = value
        else:
            plain[key] = value
    return plain


def _substitute(value: Any, outputs: Mapping[str, pulumi.Output[Any]]) -> Any:
    """``value`` with every placeholder token replaced by its Output (strings become Outputs)."""
    if isinstance(value, dict):
        return {k: _substitute(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    if isinstance(value, str):
        tokens = [t for t in outputs if t in value]
        if not tokens:
            return value

        def fill(resolved: list[Any], text: str = value) -> str:
            for token, actual in zip(tokens, resolved, strict=True):
                text = text.replace(token, str(actual))
            return text

        return pulumi.Output.all(*[outputs[t] for t in tokens]).apply(fill)
    return value


def first_address(status: Any) -> str | None:
    """The first load-balancer IP or hostname in a Service/Ingress status, if any (guarded:
    no status, no loadBalancer and an empty ingress list all give None)."""
    balancer = getattr(status, "load_balancer", None) if status is not None else None
    entries = getattr(balancer, "ingress", None) if balancer is not None else None
    if not entries:
        return None
    first = entries[0]
    address = getattr(first, "ip", None) or getattr(first, "hostname", None)
    return str(address) if address else None


def key_output(
    name: str,
    field: str,
    plain: Mapping[str, Any],
    deferred: Mapping[str, pulumi.Output[Any]],
    opts: pulumi.ResourceOptions,
    resources: dict[str, pulumi.CustomResource],
) -> pulumi.Output[str]:
    """A key as a secret Output: the given Output, the given value, or a ``RandomPassword``
    child named ``<name>-<field>`` (recorded in ``resources``), stable across updates."""
    token = placeholder(field)
    if token in deferred:
        return pulumi.Output.secret(deferred[token])
    if plain.get(field):
        return pulumi.Output.secret(str(plain[field]))
    child_name = f"{name}-{field.replace('_', '-')}"
    password = random.RandomPassword(child_name, length=KEY_LENGTH, special=False, opts=opts)
    resources[f"RandomPassword/{child_name}"] = password
    return password.result


def key_outputs(
    name: str,
    plain: Mapping[str, Any],
    deferred: Mapping[str, pulumi.Output[Any]],
    opts: pulumi.ResourceOptions,
    resources: dict[str, pulumi.CustomResource],
) -> tuple[pulumi.Output[str], pulumi.Output[str], dict[str, pulumi.Output[Any]]]:
    """(primary, secondary, every placeholder -> Output including the two keys)."""
    primary = key_output(name, PRIMARY_KEY_FIELD, plain, deferred, opts, resources)
    secondary = key_output(name, SECONDARY_KEY_FIELD, plain, deferred, opts, resources)
    outputs = {
        **deferred,
        placeholder(PRIMARY_KEY_FIELD): primary,
        placeholder(SECONDARY_KEY_FIELD): secondary,
    }
    return primary, secondary, outputs


def emit_object(
    child_name: str,
    obj: dict[str, Any],
    outputs: Mapping[str, pulumi.Output[Any]],
    skip_await: bool,
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """One planned object as its pulumi_kubernetes resource (a CustomResource for kinds the
    SDK has no class for), with deploy-time placeholders replaced by their Outputs."""
    body = _substitute(obj, outputs)
    if skip_await and obj["kind"] in _SKIP_AWAIT_KINDS:
        body["metadata"].setdefault("annotations", {})[SKIP_AWAIT_ANNOTATION] = "true"
    fields = {_TOP_FIELDS.get(k, k): v for k, v in body.items() if k not in ("apiVersion", "kind")}
    factory = _RESOURCE_TYPES.get((obj["apiVersion"], obj["kind"]))
    if factory is None:
        return k8s.apiextensions.CustomResource(
            child_name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **fields
        )
    return factory(child_name, opts=opts, **fields)


def emit_objects(
    objects: Sequence[dict[str, Any]],
    child_name: Callable[[dict[str, Any]], str],
    outputs: Mapping[str, pulumi.Output[Any]],
    skip_await: bool,
    opts: pulumi.ResourceOptions,
    resources: dict[str, pulumi.CustomResource],
) -> None:
    """Every planned object as a resource, recorded in ``resources`` by ``<Kind>/<name>``.

    Each resource ``depends_on`` what it must wait for (``aksml.plan.ordering``): a route on
    the Services and Deployments it sends traffic to, a Deployment on the ConfigMaps and
    Secrets it mounts. The plan's preview warnings (``aksml.plan.notices``) are logged on the
    component."""
    for warning in preview_warnings(objects):
        pulumi.log.warn(warning, resource=opts.parent)
    waits = dependencies(objects)
    for obj in objects:
        needed = [resources[f"{kind}/{name}"] for kind, name in waits.get(key_of(obj), [])]
        own = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=needed))
        resources[f"{obj['kind']}/{obj['metadata']['name']}"] = emit_object(
            child_name(obj), obj, outputs, skip_await, own if needed else opts
        )
