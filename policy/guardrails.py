"""Guardrail rules for aksml services, as pure functions over rendered Kubernetes objects.

Each rule takes the objects of a stack (plain manifests: ``apiVersion``, ``kind``,
``metadata``, ``spec`` -- what ``aksml render`` writes and what pulumi-kubernetes resources
carry as inputs) and returns the violations it finds. ``__main__.py`` wraps them as a Pulumi
policy pack; the rules themselves import nothing beyond the standard library, so they are
tested on rendered objects without the Pulumi CLI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]

# The scoring server's settings (aksml.contract; tests/policy checks they agree)
AUTH_ENV = "AKSML_AUTH"
COLLECT_MODEL_DATA_ENV = "AKSML_COLLECT_MODEL_DATA"
DATA_COLLECTION_DIR_ENV = "AKSML_DATA_COLLECTION_DIR"
DATA_COLLECTION_BLOB_URL_ENV = "AKSML_DATA_COLLECTION_BLOB_URL"

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "GatewayClass",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)
"""Kinds without a namespace (the namespace rule skips them)."""

EPHEMERAL_VOLUME_KEYS = frozenset({"emptyDir", "ephemeral"})
"""Volume sources whose data is lost with the pod."""


@dataclass(frozen=True)
class Violation:
    """One rule violation on one object."""

    object: str
    """``Kind/namespace/name`` of the object (``Kind/name`` when cluster-scoped)."""
    message: str
    """What is wrong and what to set instead."""


def object_id(obj: Obj) -> str:
    """``Kind/namespace/name`` of an object."""
    meta = obj.get("metadata") or {}
    parts = [str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))]
    return "/".join(p for p in parts if p)


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
    Pod), else None."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}:
        template: Obj | None = (spec.get("template") or {}).get("spec")
        return template
    return None


def containers(spec: Obj) -> Iterator[Obj]:
    """The init containers and containers of a pod spec."""
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def env_value(container: Obj, name: str) -> str | None:
    """A literal environment variable of a container ('' when it comes from a reference)."""
    for var in container.get("env") or []:
        if var.get("name") == name:
            return str(var.get("value", ""))
    return None


def _workloads(objects: Sequence[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            yield obj, spec


def require_auth(objects: Sequence[Obj]) -> list[Violation]:
    """Every aksml scoring server authenticates requests (key or token auth)."""
    found = []
    for obj, spec in _workloads(objects):
        for c in containers(spec):
            if (env_value(c, AUTH_ENV) or "").lower() == "none":
                found.append(
                    Violation(
                        object_id(obj),
                        f"container '{c.get('name')}' serves without authentication "
                        f"({AUTH_ENV}=none): set auth_enabled or token_auth_enabled",
                    )
                )
    return found


def require_limits(objects: Sequence[Obj]) -> list[Violation]:
    """Every container (init containers included) sets CPU and memory limits."""
    found = []
    for obj, spec in _workloads(objects):
        for c in containers(spec):
            limits = (c.get("resources") or {}).get("limits") or {}
            missing = [r for r in ("cpu", "memory") if not limits.get(r)]
            if missing:
                found.append(
                    Violation(
                        object_id(obj),
                        f"container '{c.get('name')}' has no {' and '.join(missing)} limit: "
                        "set cpu_cores_limit and memory_gb_limit",
                    )
                )
    return found


def _selects(selector: Obj, labels: Obj) -> bool:
    """Whether a label selector's matchLabels (and In/Exists expressions) match ``labels``."""
    match = selector.get("matchLabels") or {}
    if not match and not selector.get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "Exists" and key not in labels):
            return False
        if (op == "NotIn" and labels.get(key) in values) or (
            op == "DoesNotExist" and key in labels
        ):
            return False
    return True


def _max_replicas(obj: Obj, objects: Sequence[Obj]) -> int:
    """The most replicas a workload can run: its autoscaler's maximum, else ``spec.replicas``."""
    name, ns = (obj.get("metadata") or {}).get("name"), (obj.get("metadata") or {}).get("namespace")
    for other in objects:
        if (other.get("metadata") or {}).get("namespace") != ns:
            continue
        spec = other.get("spec") or {}
        if other.get("kind") == "HorizontalPodAutoscaler":
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind") == obj.get("kind") and ref.get("name") == name:
                return int(spec.get("maxReplicas", 1))
        if other.get("kind") == "ScaledObject":
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind", "Deployment") == obj.get("kind") and ref.get("name") == name:
                return int(spec.get("maxReplicaCount", 100))  # KEDA's default
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    return int(replicas if replicas is not None else 1)


def require_pdb(objects: Sequence[Obj]) -> list[Violation]:
    """A Deployment or StatefulSet that can run 2+ replicas (``spec.replicas``, or its HPA's or
    ScaledObject's maximum) has a PodDisruptionBudget selecting its pods, so node drains and
    upgrades keep some serving."""
    pdbs = [o for o in objects if o.get("kind") == "PodDisruptionBudget"]
    found = []
    for obj in objects:
        if obj.get("kind") not in {"Deployment", "StatefulSet"}:
            continue
        replicas = _max_replicas(obj, objects)
        if replicas < 2:
            continue
        ns = (obj.get("metadata") or {}).get("namespace")
        labels = (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        if not any(
            (p.get("metadata") or {}).get("namespace") == ns
            and _selects((p.get("spec") or {}).get("selector") or {}, labels)
            for p in pdbs
        ):
            found.append(
                Violation(
                    object_id(obj),
                    f"can run {replicas} replicas but no PodDisruptionBudget selects its pods",
                )
            )
    return found


def require_pinned_images(objects: Sequence[Obj]) -> list[Violation]:
    """Every image is pinned by digest (``@sha256:...``) and none is ``:latest`` (for
    production stacks; the policy pack decides which stacks are production)."""
    found = []
    for obj, spec in _workloads(objects):
        for c in containers(spec):
            image = str(c.get("image") or "")
            if image.startswith("<unknown"):  # built in the same stack: checked at update
                continue
            name, _, digest = image.partition("@")
            last = name.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else None
            problem = None
            if tag == "latest" or (tag is None and not digest):
                problem = "uses the mutable tag ':latest'"
            elif not digest.startswith("sha256:"):
                problem = "is not pinned by digest (image@sha256:...)"
            if problem:
                found.append(
                    Violation(
                        object_id(obj), f"container '{c.get('name')}' image '{image}' {problem}"
                    )
                )
    return found


def forbid_default_namespace(objects: Sequence[Obj]) -> list[Violation]:
    """Namespaced objects name a namespace, and it is not ``default``."""
    found = []
    for obj in objects:
        if obj.get("kind") in CLUSTER_SCOPED_KINDS:
            continue
        ns = (obj.get("metadata") or {}).get("namespace")
        if not ns or ns == "default":
            what = "is in the 'default' namespace" if ns else "names no namespace"
            found.append(Violation(object_id(obj), f"{what}: set namespace"))
    return found


def _mount_volume(spec: Obj, container: Obj, path: str) -> Obj | None:
    """The volume mounted at the longest mountPath that contains ``path``."""
    best: tuple[int, str] | None = None
    for mount in container.get("volumeMounts") or []:
        mount_path = str(mount.get("mountPath", "")).rstrip("/")
        if (path == mount_path or path.startswith(mount_path + "/")) and (
            best is None or len(mount_path) > best[0]
        ):
            best = (len(mount_path), str(mount.get("name")))
    if best is None:
        return None
    return next((v for v in spec.get("volumes") or [] if v.get("name") == best[1]), None)


def require_durable_data_collection(objects: Sequence[Obj]) -> list[Violation]:
    """A scoring server that collects model data writes it to a blob container or to a volume
    that outlives the pod (not emptyDir, not the container's own filesystem)."""
    found = []
    for obj, spec in _workloads(objects):
        for c in containers(spec):
            if (env_value(c, COLLECT_MODEL_DATA_ENV) or "").lower() != "true":
                continue
            if env_value(c, DATA_COLLECTION_BLOB_URL_ENV) is not None:
                continue
            directory = env_value(c, DATA_COLLECTION_DIR_ENV)
            volume = _mount_volume(spec, c, directory) if directory else None
            if volume is None or EPHEMERAL_VOLUME_KEYS & set(volume):
                where = f"'{directory}'" if directory else "no sink"
                found.append(
                    Violation(
                        object_id(obj),
                        f"container '{c.get('name')}' collects model data to {where}, which is "
                        "lost with the pod: set data_collection_blob_url (or mount a persistent "
                        "volume there)",
                    )
                )
    return found


@dataclass(frozen=True)
class Rule:
    """A guardrail: its policy name, description and check."""

    name: str
    description: str
    check: Any  # Callable[[Sequence[Obj]], list[Violation]]
    production_only: bool = False


RULES: tuple[Rule, ...] = (
    Rule("aksml-services-require-auth", "Scoring servers authenticate requests.", require_auth),
    Rule("aksml-cpu-memory-limits", "Every container sets CPU and memory limits.", require_limits),
    Rule(
        "aksml-pdb-for-replicated",
        "A workload that can run 2+ replicas has a PodDisruptionBudget.",
        require_pdb,
    ),
    Rule(
        "aksml-pinned-images",
        "Production stacks use images pinned by digest, never ':latest'.",
        require_pinned_images,
        production_only=True,
    ),
    Rule(
        "aksml-no-default-namespace",
        "Objects are not in the 'default' namespace.",
        forbid_default_namespace,
    ),
    Rule(
        "aksml-durable-data-collection",
        "Collected model data goes to a durable sink.",
        require_durable_data_collection,
    ),
)
"""Every guardrail, in the order the policy pack reports them."""


def check_all(objects: Sequence[Obj], production: bool) -> dict[str, list[Violation]]:
    """Every rule's violations by rule name (production-only rules only when ``production``)."""
    return {
        rule.name: rule.check(objects) for rule in RULES if production or not rule.production_only
    }
