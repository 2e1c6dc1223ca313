"""Run adapted pods with a Docker-compatible CLI (``aksml serve <dir> --engine docker``).

Docker has no ``kube play``, so each Deployment of the manifest that
:func:`aksml.offline.engine.adapt` produced becomes plain ``docker`` commands:

* an infra container (the runtime image running ``sleep infinity``) owns the pod's network
  namespace and publishes every port on 127.0.0.1 (the adapted ``hostPort``/``hostIP``);
  every other container joins it (``--network container:<infra>``), as in a pod;
* ``emptyDir`` volumes become named volumes (Docker copies the image directory's ownership
  into a new one, so ``/opt/aksml/packages`` stays writable for uid 10001); ConfigMap and
  Secret volumes become read-only bind mounts of files written from the manifest (their
  ``items``, the values as given; ``adapt`` put plain text in every Secret's ``.data``);
  ``hostPath`` volumes are bind mounts;
* the container security context maps to ``--user``, ``--read-only``, ``--cap-drop`` and
  ``no-new-privileges``; resource limits to ``--cpus``/``--memory``;
* init containers run to completion in order (a non-zero exit stops the play), then the
  containers start; stop is ``docker stop -t <terminationGracePeriodSeconds>``.

Names follow podman's: ``<pod>-<container>``, so :class:`aksml.offline.engine.Engine` reads
state and logs the same way for both engines.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from aksml.errors import WebserviceException

Obj = dict[str, Any]

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}


def last_error_line(output: str) -> str:
    """The engine's last meaningful line (not docker's "See 'docker run --help'" hint)."""
    lines = [ln for ln in output.strip().splitlines() if ln.strip() and "--help" not in ln]
    return lines[-1] if lines else "(no output)"


def pod_name(dep: Obj) -> str:
    """The pod's name (as podman names a Deployment's first pod)."""
    return f"{dep['metadata']['name']}-pod-0"


def _memory_bytes(quantity: str) -> int:
    for suffix, factor in _UNITS.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def _cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else str(float(quantity))


def _write_volume(target: Path, data: dict[str, str], items: list[Obj] | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)  # the container's non-root user must read it
    pairs = [(str(i["key"]), str(i["path"])) for i in items] if items else [(k, k) for k in data]
    for key, rel in pairs:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(data[key])
        dest.chmod(0o644)


class DockerPods:
    """Plays and removes a manifest's Deployments with a Docker-compatible CLI."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self._by_kind: dict[str, dict[str, Obj]] = {}

    def _cli(self, *args: str, timeout: float = 900) -> str:
        proc = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            last = last_error_line(proc.stderr or proc.stdout)
            raise WebserviceException(f"Error, {self.binary} {args[0]} failed: {last}")
        return proc.stdout

    def play(self, manifest: Path) -> None:
        """Create and start every Deployment's pod of ``manifest``."""
        objs = list(yaml.safe_load_all(manifest.read_text()))
        by_kind: dict[str, dict[str, Obj]] = {}
        for obj in objs:
            by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
        self._by_kind = by_kind
        for dep in by_kind.get("Deployment", {}).values():
            self._play_pod(dep, by_kind, manifest.parent / pod_name(dep))

    def _play_pod(self, dep: Obj, by_kind: dict[str, dict[str, Obj]], files: Path) -> None:
        pod = pod_name(dep)
        spec = dep["spec"]["template"]["spec"]
        main = spec["containers"][0]
        ports = [
            f"{p.get('hostIP', '127.0.0.1')}:{p['hostPort']}:{p['containerPort']}"
            for ct in spec.get("initContainers", []) + spec["containers"]
            for p in ct.get("ports", [])
            if "hostPort" in p
        ]
        publish = [arg for spec_ in ports for arg in ("-p", spec_)]
        infra = ["--entrypoint", "sleep", main["image"], "infinity"]
        self._cli("run", "-d", "--name", f"{pod}-infra", *publish, *infra)
        volumes = self._volumes(pod, spec, by_kind, files)
        files.chmod(0o711)  # mounted subdirectories readable; env files stay private
        for init in spec.get("initContainers", []):
            self._cli(
                "run",
                "--name",
                f"{pod}-{init['name']}",
                *self._args(pod, spec, init, volumes, files),
            )
        for ct in spec["containers"]:
            grace = str(spec.get("terminationGracePeriodSeconds", 30))
            self._cli(
                "run",
                "-d",
                "--stop-timeout",
                grace,
                "--name",
                f"{pod}-{ct['name']}",
                *self._args(pod, spec, ct, volumes, files),
            )

    def _volumes(
        self, pod: str, spec: Obj, by_kind: dict[str, dict[str, Obj]], files: Path
    ) -> dict[str, str]:
        """Volume name -> the ``-v`` source (a named volume or a host path)."""
        sources: dict[str, str] = {}
        for vol in spec.get("volumes", []):
            name = vol["name"]
            if "emptyDir" in vol:
                sources[name] = self._cli("volume", "create", f"{pod}-{name}").strip()
            elif "hostPath" in vol:
                sources[name] = vol["hostPath"]["path"]
            elif "configMap" in vol or "secret" in vol:
                kind, ref = (
                    ("ConfigMap", vol["configMap"])
                    if "configMap" in vol
                    else ("Secret", vol["secret"])
                )
                obj = by_kind.get(kind, {}).get(ref.get("name") or ref.get("secretName"), {})
                data = {k: str(v) for k, v in (obj.get("data") or {}).items()}
                _write_volume(files / name, data, ref.get("items"))
                sources[name] = str(files / name)
            else:
                raise WebserviceException(f"Error, volume {name}: its kind cannot run locally.")
        return sources

    def _args(
        self, pod: str, spec: Obj, ct: Obj, volumes: dict[str, str], files: Path
    ) -> list[str]:
        """``docker run`` arguments for one container of the pod (before the image)."""
        args = ["--network", f"container:{pod}-infra"]
        security = spec.get("securityContext", {}) | ct.get("securityContext", {})
        if "runAsUser" in security:
            args += [
                "--user",
                f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}",
            ]
        if security.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        for cap in security.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", str(cap)]
        if security.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        limits = ct.get("resources", {}).get("limits", {})
        if "cpu" in limits:
            args += ["--cpus", _cpus(str(limits["cpu"]))]
        if "memory" in limits:
            args += ["--memory", str(_memory_bytes(str(limits["memory"])))]
        for mount in ct.get("volumeMounts", []):
            ro = ":ro" if mount.get("readOnly") else ""
            args += ["-v", f"{volumes[mount['name']]}:{mount['mountPath']}{ro}"]
        env = _env(ct, self._by_kind)
        if any("\n" in value for value in env.values()):
            raise WebserviceException(
                f"Error, container {ct['name']}: a multi-line environment value cannot be "
                "passed to docker; use --engine podman."
            )
        env_file = files / f"{ct['name']}.env"  # not on the command line: values may be secret
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)
        args += ["--env-file", str(env_file)]
        command = [str(w) for w in ct.get("command") or []]
        if command:
            args += ["--entrypoint", command[0]]
        return [*args, ct["image"], *command[1:], *[str(w) for w in ct.get("args") or []]]

    def stop(self, pod: str, containers: list[str], grace: int, check: bool = True) -> None:
        """``docker stop`` the pod's containers with its grace period."""
        names = [f"{pod}-{name}" for name in containers]
        try:
            self._cli("stop", "-t", str(grace), *names, timeout=grace + 60)
        except WebserviceException:
            if check:
                raise

    def down(self, manifest: Path) -> None:
        """Remove every container and volume :meth:`play` created (never fails)."""
        for dep in (
            o for o in yaml.safe_load_all(manifest.read_text()) if o["kind"] == "Deployment"
        ):
            pod, spec = pod_name(dep), dep["spec"]["template"]["spec"]
            names = [ct["name"] for ct in spec.get("initContainers", []) + spec["containers"]]
            for name in [*names, "infra"]:
                subprocess.run(
                    [self.binary, "rm", "-f", f"{pod}-{name}"], capture_output=True, check=False
                )
            for vol in (v for v in spec.get("volumes", []) if "emptyDir" in v):
                subprocess.run(
                    [self.binary, "volume", "rm", "-f", f"{pod}-{vol['name']}"],
                    capture_output=True,
                    check=False,
                )


def _env(ct: Obj, by_kind: dict[str, dict[str, Obj]]) -> dict[str, str]:
    """The container's environment with ``valueFrom``/``envFrom`` resolved from the manifest."""
    env: dict[str, str] = {}
    kinds = {"secretKeyRef": "Secret", "configMapKeyRef": "ConfigMap"}
    for source in ct.get("envFrom", []):
        for ref, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            if ref in source:
                data = by_kind.get(kind, {}).get(source[ref]["name"], {}).get("data") or {}
                env.update({k: str(v) for k, v in data.items()})
    for var in ct.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        for ref, kind in kinds.items():
            sel = (var.get("valueFrom") or {}).get(ref)
            if sel is not None:
                data = by_kind.get(kind, {}).get(sel["name"], {}).get("data") or {}
                if sel["key"] in data:
                    env[var["name"]] = str(data[sel["key"]])
    return env
