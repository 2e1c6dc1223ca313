"""Run a program's rendered pods in a container engine: ``aksml serve <dir> --engine podman``
and the test suite's container lane share this module.

The render is what a cluster would get; this module changes only what a local engine needs
(and nothing the plan emits):

* podman 4.3 ``kube play`` quirks: a Secret is read from ``.data`` only, each value written
  as is to the mounted file (so the generated keys go there as plain text, which is what the
  pod then reads); secret/configMap volumes need ``optional`` set (podman panics on a nil
  pointer otherwise); init containers follow the pod's ``restartPolicy`` (so the pod gets
  ``Never``: an init container that exited 0 is not started again, a crash is not hidden);
  every ``containerPort`` is published on the host (so each one gets a free ``hostPort`` on
  127.0.0.1). httpGet probes become ``curl`` health checks the image has no curl for, so
  they are removed; :class:`EnginePod` keeps their paths and the caller asks them itself.
* local run: keys generated fresh (the render redacts them), one replica, the image given
  by the caller instead of the registry's, an optional CA bundle mounted over the system
  bundle (a TLS-intercepting proxy for the init container's pip), and a suffix on the pod,
  Secret and ConfigMap names so runs never collide (podman keeps Secrets and ConfigMap
  volumes as global objects; :meth:`Engine.down` removes them).

podman does not enforce the readiness probe, ``runAsNonRoot``, ``fsGroup`` or a Secret
volume's ``defaultMode`` (see docs/containers.md).
"""

from __future__ import annotations

import copy
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aksml import contract as c
from aksml.errors import WebserviceException
from aksml.offline.dockerrun import DockerPods, last_error_line
from aksml.offline.localrun import KEY_NAMES, _is_runtime
from aksml.offline.localrun import _free_port as free_port

Obj = dict[str, Any]

ENGINES = ("podman", "docker")
"""Container engines ``aksml serve --engine`` accepts."""


CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
"""Where the optional CA bundle is mounted (the system bundle of the runtime image)."""

NOT_ENFORCED = (
    "podman does not enforce the readiness probe, runAsNonRoot, fsGroup or Secret file modes"
)
"""What a local podman pod does not enforce that a cluster does (printed by aksml serve)."""


@dataclass
class EnginePod:
    """One rendered Deployment adapted for a local engine."""

    deployment: str
    """The rendered Deployment's name."""
    pod: str
    """The engine's pod name."""
    service_name: str
    """AKSML_SERVICE_NAME of the runtime container (else the Deployment name)."""
    runtime_container: str
    """Name of the container running ``aksml serve``."""
    init_containers: list[str]
    """Names of the pod's init containers."""
    containers: list[str]
    """Names of the pod's (non-init) containers."""
    host_ports: dict[int, int]
    """containerPort -> host port on 127.0.0.1."""
    http_port: int
    """The runtime's scoring port inside the pod."""
    keys: dict[str, str]
    """primaryKey/secondaryKey as mounted in the pod (empty without key auth)."""
    keys_mount: str | None
    """Mount path of the keys Secret volume in the runtime container."""
    liveness: Obj
    """The rendered liveness probe (podman does not run it)."""
    readiness: Obj
    """The rendered readiness probe (podman does not run it)."""
    grace_seconds: int
    """terminationGracePeriodSeconds of the pod."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<host port>`` of the scoring port."""
        return f"http://127.0.0.1:{self.host_ports[self.http_port]}"

    @property
    def scoring_uri(self) -> str:
        """The local scoring URI (AML path)."""
        prefix = c.AML_PATH_PREFIX.format(name=self.service_name)
        return f"{self.base_url}{prefix}{c.SCORE_PATH}"

    def probe_url(self, probe: Obj) -> str:
        """The URL an httpGet probe asks, on the host."""
        http = probe.get("httpGet") or {}
        return f"{self.base_url}{http.get('path', '/')}"


def _port_number(container: Obj, port: object) -> int:
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return int(p["containerPort"])
    raise WebserviceException(f"Error, probe port {port!r} is not a port of the container.")


def _adapt_secret(secret: Obj, name: str) -> tuple[Obj, dict[str, str]]:
    """The Secret with every value as plain text in ``.data`` and keys generated fresh."""
    import base64

    values = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    values.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    keys: dict[str, str] = {}
    for key in KEY_NAMES:
        if key in values:
            # hex: also valid base64 text, which podman 4.3 expects to find in .data
            values[key] = keys[key] = secrets.token_hex(32)
    adapted = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": secret.get("type", "Opaque"),
        "data": values,
    }
    return adapted, keys


def _adapt_volumes(pod: Obj, names: dict[str, str], ca_bundle: Path | None) -> None:
    """``optional`` set, Secret/ConfigMap references renamed (``names``), the CA bundle."""
    for vol in pod.get("volumes", []):
        source = vol.get("secret") or vol.get("configMap")
        if source is not None:
            source.setdefault("optional", False)
        if "secret" in vol:
            vol["secret"]["secretName"] = names[vol["secret"]["secretName"]]
        if "configMap" in vol:
            vol["configMap"]["name"] = names[vol["configMap"]["name"]]
    for ct in pod.get("initContainers", []) + pod.get("containers", []):
        for var in ct.get("env", []):
            for ref in ("secretKeyRef", "configMapKeyRef"):
                if ref in var.get("valueFrom", {}):
                    var["valueFrom"][ref]["name"] = names[var["valueFrom"][ref]["name"]]
        for source in ct.get("envFrom", []):
            for ref in ("secretRef", "configMapRef"):
                if ref in source:
                    source[ref]["name"] = names[source[ref]["name"]]
    if ca_bundle is not None:
        pod.setdefault("volumes", []).append(
            {"name": "aksml-ca-bundle", "hostPath": {"path": str(ca_bundle), "type": "File"}}
        )
        for ct in pod.get("initContainers", []) + pod.get("containers", []):
            ct.setdefault("volumeMounts", []).append(
                {"name": "aksml-ca-bundle", "mountPath": CA_BUNDLE_PATH, "readOnly": True}
            )


def _adapt_container(ct: Obj, image: str | None, rendered_image: str) -> dict[int, int]:
    if image and ct.get("image") == rendered_image:
        ct["image"] = image
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        ct.pop(probe, None)
    host_ports: dict[int, int] = {}
    for port in ct.get("ports", []):
        host_ports[int(port["containerPort"])] = port["hostPort"] = free_port()
        port["hostIP"] = "127.0.0.1"
    return host_ports


def adapt(
    objs: list[Obj],
    *,
    image: str | None = None,
    suffix: str | None = None,
    ca_bundle: Path | None = None,
) -> tuple[list[Obj], list[EnginePod]]:
    """The rendered objects adapted for ``podman kube play`` (see the module docstring) and
    one :class:`EnginePod` per Deployment that runs ``aksml serve``. ``image`` replaces the
    runtime's rendered image in every container that uses it."""
    suffix = suffix or secrets.token_hex(3)
    rendered_secrets = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Secret"}
    secret_names = {name: f"{name}-{suffix}" for name in rendered_secrets}
    out: list[Obj] = []
    secret_keys: dict[str, dict[str, str]] = {}
    for name, secret in rendered_secrets.items():
        adapted, secret_keys[name] = _adapt_secret(secret, secret_names[name])
        out.append(adapted)
    cm_names = {
        o["metadata"]["name"]: f"{o['metadata']['name']}-{suffix}"
        for o in objs
        if o.get("kind") == "ConfigMap"
    }
    for cm in (o for o in objs if o.get("kind") == "ConfigMap"):
        meta = {"name": cm_names[cm["metadata"]["name"]]}
        out.append({k: v for k, v in cm.items() if k != "immutable"} | {"metadata": meta})
    pods: list[EnginePod] = []
    for dep in (copy.deepcopy(o) for o in objs if o.get("kind") == "Deployment"):
        pod_spec = dep["spec"]["template"]["spec"]
        runtime = next((ct for ct in pod_spec.get("containers", []) if _is_runtime(ct)), None)
        if runtime is None:
            continue
        pods.append(_adapt_deployment(dep, runtime, secret_keys, suffix))
        _adapt_volumes(pod_spec, secret_names | cm_names, ca_bundle)
        host_ports: dict[int, int] = {}
        rendered_image = str(runtime.get("image"))
        for ct in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
            host_ports.update(_adapt_container(ct, image, rendered_image))
        pods[-1].host_ports = host_ports
        out.append(dep)
    return out, pods


def _adapt_deployment(
    dep: Obj, runtime: Obj, secret_keys: dict[str, dict[str, str]], suffix: str
) -> EnginePod:
    """Rename, one replica, ``restartPolicy: Never``; what the caller needs to reach it."""
    name = str(dep["metadata"]["name"])
    dep["metadata"] = {"name": f"{name}-{suffix}", "labels": dep["metadata"].get("labels", {})}
    dep["spec"]["replicas"] = 1
    pod_spec = dep["spec"]["template"]["spec"]
    pod_spec["restartPolicy"] = "Never"
    env = {e["name"]: str(e.get("value", "")) for e in runtime.get("env", [])}
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    keys: dict[str, str] = {}
    keys_mount: str | None = None
    for mount in runtime.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret")
        if secret and secret_keys.get(secret["secretName"]):
            keys, keys_mount = secret_keys[secret["secretName"]], str(mount["mountPath"])
    http = (runtime.get("readinessProbe") or {}).get("httpGet") or {}
    return EnginePod(
        deployment=name,
        # podman names a Deployment's pod <name>-pod-<replica>
        pod=f"{name}-{suffix}-pod-0",
        service_name=env.get(c.SERVICE_NAME.env, name),
        runtime_container=str(runtime["name"]),
        init_containers=[str(ct["name"]) for ct in pod_spec.get("initContainers", [])],
        containers=[str(ct["name"]) for ct in pod_spec.get("containers", [])],
        host_ports={},
        http_port=_port_number(runtime, http.get("port", c.DEFAULT_PORT)),
        keys=keys,
        keys_mount=keys_mount,
        liveness=copy.deepcopy(runtime.get("livenessProbe") or {}),
        readiness=copy.deepcopy(runtime.get("readinessProbe") or {}),
        grace_seconds=int(pod_spec.get("terminationGracePeriodSeconds", 30)),
    )


def to_kube_yaml(objs: list[Obj]) -> str:
    """The objects as one multi-document YAML file for ``podman kube play``."""
    return yaml.safe_dump_all(objs, sort_keys=False)


def probe_ok(url: str, timeout: float = 2.0) -> bool:
    """True when an httpGet probe would succeed (status 200-399), as the kubelet asks it."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= int(resp.status) < 400
    except (urllib.error.URLError, OSError):
        return False


class Engine:
    """A container engine running adapted objects: podman (``kube play``) or docker (the
    pod translated into ``docker`` commands, :mod:`aksml.offline.dockerrun`)."""

    def __init__(self, kind: str = "podman", binary: str | None = None) -> None:
        if kind not in ENGINES:
            raise WebserviceException(f"Error, --engine must be one of {', '.join(ENGINES)}.")
        path = binary or shutil.which(kind)
        if path is None:
            raise WebserviceException(f"Error, {kind} is not installed (see docs/containers.md).")
        self.kind = kind
        self.binary = path
        self.docker = DockerPods(path) if kind == "docker" else None

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        """Run the engine CLI; its stdout. A failure raises with the engine's last line."""
        proc = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            last = last_error_line(proc.stderr)
            raise WebserviceException(f"Error, {' '.join(args[:2])} failed: {last}")
        return proc.stdout

    def play(self, manifest: Path) -> None:
        """Start the manifest's pods (``podman kube play``, or docker commands)."""
        if self.docker is not None:
            self.docker.play(manifest)
        else:
            self.run("kube", "play", str(manifest))

    def container_state(self, pod: EnginePod, container: str) -> tuple[str, int]:
        """(status, exit code) of a container of the pod; ("missing", -1) when there is none."""
        out = self.run(
            "container",
            "inspect",
            f"{pod.pod}-{container}",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            check=False,
        )
        if not out.strip():
            return "missing", -1
        status, code = out.split()
        return status, int(code)

    def logs(self, pod: EnginePod, container: str) -> str:
        """The container's log (stdout and stderr)."""
        proc = subprocess.run(
            [self.binary, "logs", f"{pod.pod}-{container}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout + proc.stderr

    def wait_ready(self, pod: EnginePod, timeout: float, stop: Callable[[], bool]) -> bool:
        """Poll the readiness probe's URL until it answers (podman does not); False when the
        runtime container exited, ``stop()`` turned true or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        url = pod.probe_url(pod.readiness)
        while not probe_ok(url):
            if stop() or time.monotonic() > deadline:
                return False
            status, _ = self.container_state(pod, pod.runtime_container)
            if status in ("exited", "stopped"):
                return False
            time.sleep(0.2)
        return True

    def stop_pod(self, pod: EnginePod, check: bool = True) -> None:
        """``podman pod stop`` with the pod's grace period (SIGTERM, then SIGKILL)."""
        grace = pod.grace_seconds
        if self.docker is not None:
            self.docker.stop(pod.pod, pod.containers, grace, check=check)
        else:
            self.run("pod", "stop", "-t", str(grace), pod.pod, check=check, timeout=grace + 60)

    def down(self, manifest: Path) -> None:
        """Remove the pods, and the secrets and volumes a play created for the manifest's
        Secrets and ConfigMaps (podman 4.3's ``kube down`` leaves them); never fails."""
        if self.docker is not None:
            self.docker.down(manifest)
            return
        self.run("kube", "down", str(manifest), check=False)
        for obj in yaml.safe_load_all(manifest.read_text()):
            if obj.get("kind") == "Secret":
                self.run("secret", "rm", obj["metadata"]["name"], check=False)
            if obj.get("kind") in ("Secret", "ConfigMap"):
                self.run("volume", "rm", "--force", obj["metadata"]["name"], check=False)


def serve_program(
    directory: Path,
    binary: str = "podman",
    *,
    image: str | None = None,
    ca_bundle: Path | None = None,
    echo: Callable[[str], None] = print,
    ready_timeout: float = 600.0,
) -> int:
    """``aksml serve <dir> --engine podman``: render ``directory``, play its pods, wait for
    readiness, print the local scoring URIs and key files, and stop the pods (with their
    grace period) on Ctrl-C/SIGTERM. Returns the exit code."""
    import signal
    import tempfile
    from types import FrameType

    from aksml.offline.render import render_program

    engine = Engine(binary)
    objs, pods = adapt(render_program(directory), image=image, ca_bundle=ca_bundle)
    if not pods:
        raise WebserviceException(f"Error, {directory} declares no AksWebservice to serve.")
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    previous = signal.signal(signal.SIGTERM, on_term)
    with tempfile.TemporaryDirectory(prefix="aksml-engine-") as tmp:
        manifest = Path(tmp) / "pods.yaml"
        manifest.write_text(to_kube_yaml(objs))
        try:
            engine.play(manifest)
            for pod in pods:
                if not engine.wait_ready(pod, ready_timeout, lambda: stop):
                    if stop:
                        return 0
                    echo(engine.logs(pod, pod.runtime_container)[-2000:])
                    echo(f"error: {pod.deployment} did not become ready (its log is above)")
                    return 1
            _print_pods(binary, pods, Path(tmp), echo)
            while not stop:
                for pod in pods:
                    if engine.container_state(pod, pod.runtime_container)[0] != "running":
                        echo(f"error: {pod.deployment} stopped; its log:")
                        echo(engine.logs(pod, pod.runtime_container)[-2000:])
                        return 1
                time.sleep(0.5)
            return 0
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            for pod in pods:
                engine.stop_pod(pod, check=False)
            engine.down(manifest)


def _print_pods(
    engine_name: str, pods: list[EnginePod], tmp: Path, echo: Callable[[str], None]
) -> None:
    """The local scoring URIs and key files (as the in-process ``aksml serve <dir>``)."""
    echo("deployment\tlocal scoring URI\tkeys directory")
    for pod in pods:
        keys = "-"
        if pod.keys:
            keys_dir = tmp / "keys" / pod.deployment
            keys_dir.mkdir(parents=True)
            for name, value in pod.keys.items():
                (keys_dir / name).write_text(value)
                (keys_dir / name).chmod(0o600)
            keys = str(keys_dir)
        echo(f"{pod.deployment}\t{pod.scoring_uri}\t{keys}")
        echo(f"note: {pod.deployment}: {engine_name} pod {pod.pod}; {NOT_ENFORCED}")
    echo("keys: files primaryKey/secondaryKey in the keys directory; Ctrl-C stops.")
