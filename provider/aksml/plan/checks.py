"""Checks over a rendered object set: internal consistency and the restricted Pod Security
Standard. Pure functions returning a list of problems (empty = fine); ``aksml render`` runs
them and the test suite runs them over every example.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aksml import contract
from aksml.plan.pod import STANDARD_ENV_NAMES

Obj = dict[str, Any]

POD_OWNERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})

_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)


def _pods(objs: Iterable[Obj]) -> Iterator[tuple[str, Obj, Obj]]:
    """(object name, pod template metadata, pod spec) for every pod-owning object."""
    for obj in objs:
        if obj.get("kind") in POD_OWNERS:
            template = obj.get("spec", {}).get("template", {})
            yield (
                f"{obj['kind']}/{obj['metadata']['name']}",
                template.get("metadata", {}),
                template.get("spec", {}),
            )


def _containers(spec: Obj) -> list[Obj]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_security_problems(objs: Iterable[Obj]) -> list[str]:
    """Violations of the Kubernetes "restricted" Pod Security Standard (policy version 1.30)."""
    problems: list[str] = []
    for where, _meta, spec in _pods(objs):
        psc = spec.get("securityContext", {})
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                problems.append(f"{where}: {host} is set")
        for volume in spec.get("volumes", []):
            kinds = [k for k in volume if k != "name"]
            if not set(kinds) <= _RESTRICTED_VOLUMES:
                problems.append(f"{where}: volume {volume['name']} uses {kinds}")
        for sysctl in psc.get("sysctls", []):
            if sysctl.get("name") not in _SAFE_SYSCTLS:
                problems.append(f"{where}: unsafe sysctl {sysctl.get('name')}")
        if psc.get("runAsUser") == 0:
            problems.append(f"{where}: pod runAsUser 0")
        pod_seccomp = psc.get("seccompProfile", {}).get("type")
        if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
            problems.append(f"{where}: pod seccompProfile {pod_seccomp}")
        for c in _containers(spec):
            cname = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("privileged"):
                problems.append(f"{cname}: privileged")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cname}: allowPrivilegeEscalation must be false")
            caps = sc.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                problems.append(f"{cname}: capabilities must drop ALL")
            if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
                problems.append(f"{cname}: adds capabilities {caps.get('add')}")
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            if non_root is not True:
                problems.append(f"{cname}: runAsNonRoot must be true")
            if sc.get("runAsUser") == 0:
                problems.append(f"{cname}: runAsUser 0")
            seccomp = sc.get("seccompProfile", {}).get("type", pod_seccomp)
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{cname}: seccompProfile must be RuntimeDefault or Localhost")
            if sc.get("procMount") not in (None, "Default"):
                problems.append(f"{cname}: procMount {sc.get('procMount')}")
            for port in c.get("ports", []):
                if port.get("hostPort"):
                    problems.append(f"{cname}: hostPort {port['hostPort']}")
    return problems


def _port_names(spec: Obj) -> tuple[set[str], set[int]]:
    names: set[str] = set()
    numbers: set[int] = set()
    for c in spec.get("containers", []):
        for port in c.get("ports", []):
            numbers.add(int(port["containerPort"]))
            if "name" in port:
                names.add(port["name"])
    return names, numbers


def _port_exists(port: Any, names: set[str], numbers: set[int]) -> bool:
    return port in names if isinstance(port, str) else int(port) in numbers


def _runtime_problems(where: str, spec: Obj, user_env: set[str]) -> list[str]:
    problems: list[str] = []
    flags = {s.flag for s in contract.ALL_SETTINGS}
    allowed_env = set(contract.RUNTIME_ENV_NAMES) | set(STANDARD_ENV_NAMES) | user_env
    for c in spec.get("containers", []):
        if c["name"] != "runtime":
            continue
        for arg in [*c.get("command", []), *c.get("args", [])]:
            if arg.startswith("--") and arg.split("=", 1)[0] not in flags:
                problems.append(f"{where}: runtime flag {arg} is not an aksml serve flag")
        for env in c.get("env", []):
            if env["name"] not in allowed_env:
                problems.append(f"{where}: runtime env {env['name']} is not a runtime setting")
    return problems


def _referenced(spec: Obj) -> tuple[set[str], set[str]]:
    """(Secret names, ConfigMap names) the pod needs to start."""
    secrets: set[str] = set()
    configmaps: set[str] = set()
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            secrets.add(volume["secret"]["secretName"])
        if "configMap" in volume:
            configmaps.add(volume["configMap"]["name"])
    for c in _containers(spec):
        for env in c.get("env", []):
            ref = env.get("valueFrom", {})
            if "secretKeyRef" in ref:
                secrets.add(ref["secretKeyRef"]["name"])
            if "configMapKeyRef" in ref:
                configmaps.add(ref["configMapKeyRef"]["name"])
        for source in c.get("envFrom", []):
            if "secretRef" in source:
                secrets.add(source["secretRef"]["name"])
            if "configMapRef" in source:
                configmaps.add(source["configMapRef"]["name"])
    return secrets, configmaps


def _admits(policy: Obj, port: Any, want: str, namespace: str | None) -> bool:
    """Whether one NetworkPolicy admits traffic on ``port`` from ``want``:
    "any-ip" (an ipBlock 0.0.0.0/0), "namespace" (pods of ``namespace``) or "same" (own ns)."""
    for rule in policy["spec"].get("ingress", []):
        ports = [p.get("port") for p in rule.get("ports", [])]
        if ports and port not in ports:
            continue
        peers = rule.get("from")
        if not peers:
            return True
        for peer in peers:
            if want == "any-ip" and peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                return True
            ns_sel = peer.get("namespaceSelector")
            if want == "same" and ns_sel is None and "podSelector" in peer:
                return True
            if want == "namespace" and ns_sel is not None:
                labels = ns_sel.get("matchLabels", {})
                if namespace is None or not labels:
                    return True
                if labels.get("kubernetes.io/metadata.name") == namespace:
                    return True
    return False


def consistency_problems(objs: list[Obj], user_env: Iterable[str] = ()) -> list[str]:
    """Cross-object mistakes: selectors, ports, scale targets, volumes, references, runtime
    flags/env and NetworkPolicy coverage of the exposure. ``user_env`` names the user's own
    environment variables (allowed on the runtime container besides the runtime's)."""
    problems: list[str] = []
    by_kind: dict[str, list[Obj]] = {}
    for obj in objs:
        by_kind.setdefault(obj["kind"], []).append(obj)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    pods = list(_pods(objs))
    deployments = {o["metadata"]["name"]: o for o in by_kind.get("Deployment", [])}

    for where, meta, spec in pods:
        labels = meta.get("labels", {})
        port_names, port_numbers = _port_names(spec)
        for c in spec.get("containers", []):
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if port is not None and not _port_exists(port, port_names, port_numbers):
                    problems.append(f"{where}: {probe} port {port} is not a container port")
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for c in _containers(spec):
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mount {mount['name']} has no volume")
        secrets, configmaps = _referenced(spec)
        for secret in sorted(secrets):
            if ("Secret", secret) not in names:
                problems.append(f"{where}: Secret {secret} is not in the render")
        for cm in sorted(configmaps):
            if ("ConfigMap", cm) not in names:
                problems.append(f"{where}: ConfigMap {cm} is not in the render")
        problems += _runtime_problems(where, spec, set(user_env))
        selector = (
            deployments.get(where.split("/", 1)[1], {})
            .get("spec", {})
            .get("selector", {})
            .get("matchLabels", {})
        )
        if where.startswith("Deployment/") and not _matches(selector, labels):
            problems.append(f"{where}: selector does not match the pod labels")

    pod_labels = [meta.get("labels", {}) for _, meta, _ in pods]
    pod_ports = [_port_names(spec) for _, _, spec in pods]
    for svc in by_kind.get("Service", []):
        where = f"Service/{svc['metadata']['name']}"
        selected = [
            i for i, labels in enumerate(pod_labels) if _matches(svc["spec"]["selector"], labels)
        ]
        if not selected:
            problems.append(f"{where}: selector matches no pod template")
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if not any(_port_exists(target, *pod_ports[i]) for i in selected):
                problems.append(f"{where}: targetPort {target} is not a container port")

    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for scaler in by_kind.get(kind, []):
            ref = scaler["spec"]["scaleTargetRef"]
            if ref.get("kind", "Deployment") != "Deployment" or ref["name"] not in deployments:
                problems.append(f"{kind}/{scaler['metadata']['name']}: target is not in the render")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(_matches(selector, labels) for labels in pod_labels):
            problems.append(f"PodDisruptionBudget/{pdb['metadata']['name']}: selects no pods")

    problems += _network_problems(by_kind, pod_labels)
    return problems


def _network_problems(by_kind: dict[str, list[Obj]], pod_labels: list[dict[str, str]]) -> list[str]:
    policies = by_kind.get("NetworkPolicy", [])
    problems: list[str] = []
    for svc in by_kind.get("Service", []):
        name = svc["metadata"]["name"]
        namespace = svc["metadata"].get("namespace")
        selected = [
            p
            for p in policies
            if any(
                _matches(p["spec"]["podSelector"].get("matchLabels", {}), lbl)
                for lbl in pod_labels
                if _matches(svc["spec"]["selector"], lbl)
            )
        ]
        if not selected:
            problems.append(f"Service/{name}: no NetworkPolicy covers its pods")
            continue
        port = svc["spec"]["ports"][0].get("targetPort")
        wants: list[tuple[str, str | None]] = [("same", None)]
        if svc["spec"].get("type") == "LoadBalancer":
            wants = [("any-ip", None)]
        if by_kind.get("Ingress"):
            wants.append(("namespace", None))
        for route in by_kind.get("HTTPRoute", []):
            for parent in route["spec"]["parentRefs"]:
                wants.append(("namespace", parent.get("namespace", namespace)))
        for want, ns in wants:
            if not any(_admits(p, port, want, ns) for p in selected):
                source = want if ns is None else f"{want} {ns}"
                problems.append(f"Service/{name}: NetworkPolicy does not admit {source} traffic")
    return problems
