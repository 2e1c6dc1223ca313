"""Deploy order between planned objects: what each object must wait for.

Pulumi creates and updates independent resources in parallel. Two orders matter for a safe
rollout, and the components turn this map into ``depends_on``:

- **traffic after readiness**: an HTTPRoute or Ingress waits for the Services it routes to and
  for the Deployments behind them. pulumi-kubernetes' Deployment await (the rollout is
  complete and the new pods are Ready) then holds the traffic shift until the version can
  serve it. On removal the order reverses: Pulumi updates the route (the version loses its
  traffic) before it deletes the version's Deployment and Service, which depend on nothing
  the route still needs (deletes run after updates, dependents first).
- **configuration before pods**: a Deployment waits for the ConfigMaps and Secrets it mounts
  or reads env from, so new pods never start against a missing (or stale) object.

Pure: object dicts in, ``(kind, name)`` keys out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str]
"""(kind, metadata.name)."""

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
ROUTES = frozenset({"HTTPRoute", "Ingress"})


def key_of(obj: Obj) -> Key:
    """``(kind, metadata.name)`` of an object."""
    return str(obj["kind"]), str(obj["metadata"]["name"])


def _pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def mounted(obj: Obj) -> Iterator[Key]:
    """ConfigMaps and Secrets a workload's pods mount or read env from."""
    spec = _pod_spec(obj)
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"]
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"]
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                yield "ConfigMap", source["configMap"]["name"]
            if "secret" in source:
                yield "Secret", source["secret"]["name"]
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                yield "ConfigMap", ref["configMapKeyRef"]["name"]
            if "secretKeyRef" in ref:
                yield "Secret", ref["secretKeyRef"]["name"]
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"]
            if "secretRef" in source:
                yield "Secret", source["secretRef"]["name"]


def routed_services(obj: Obj) -> Iterator[str]:
    """Names of the Services an HTTPRoute or Ingress sends traffic (or mirrored traffic) to."""
    spec = obj.get("spec", {})
    if obj["kind"] == "HTTPRoute":
        for rule in spec.get("rules", []):
            for ref in rule.get("backendRefs", []):
                if ref.get("kind", "Service") == "Service" and not ref.get("group"):
                    yield ref["name"]
            for flt in rule.get("filters", []):
                mirror = flt.get("requestMirror", {}).get("backendRef")
                if mirror and mirror.get("kind", "Service") == "Service":
                    yield mirror["name"]
        return
    backends = [spec.get("defaultBackend", {})]
    for rule in spec.get("rules", []):
        backends += [p.get("backend", {}) for p in rule.get("http", {}).get("paths", [])]
    for backend in backends:
        if "service" in backend:
            yield backend["service"]["name"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def dependencies(objs: Iterable[Obj]) -> dict[Key, list[Key]]:
    """For every object that must wait: the objects (of this render) it waits for, in render
    order. Objects that wait for nothing are left out."""
    objs = list(objs)
    present = {key_of(o) for o in objs}
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    workloads = [o for o in objs if o["kind"] in WORKLOADS]
    order = {key: index for index, key in enumerate(key_of(o) for o in objs)}
    waits: dict[Key, list[Key]] = {}
    for obj in objs:
        needed: set[Key] = set()
        if obj["kind"] in WORKLOADS:
            needed.update(k for k in mounted(obj) if k in present)
        elif obj["kind"] in ROUTES:
            for name in routed_services(obj):
                service = services.get(name)
                if service is None:
                    continue
                needed.add(key_of(service))
                selector = service.get("spec", {}).get("selector", {})
                needed.update(
                    key_of(w)
                    for w in workloads
                    if _selects(selector, w["spec"]["template"]["metadata"].get("labels", {}))
                )
        if needed:
            waits[key_of(obj)] = sorted(needed, key=order.__getitem__)
    return waits
