"""Local run of a Pulumi program: ``aksml serve <program-dir>``.

The program is rendered offline (``aksml.offline.render.render_program``); every Deployment whose
container runs ``aksml serve`` is started as a local ``aksml serve`` subprocess built from the
RENDERED pod: its environment (``valueFrom`` resolved from the rendered Secrets/ConfigMaps),
its ConfigMap volumes written to a temporary directory tree, freshly generated keys for the
keys Secret, empty directories for every other volume. Init containers are not run.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from aksml import contract as c
from aksml.errors import WebserviceException

Obj = dict[str, Any]

KEY_NAMES = ("primaryKey", "secondaryKey")
"""Secret keys that are generated fresh for a local run (never printed)."""

READY_TIMEOUT_S = 120.0
"""How long a local service may take to become ready."""


@dataclass
class LocalService:
    """One Deployment prepared for a local run."""

    name: str
    """Service name (AKSML_SERVICE_NAME, else the Deployment name)."""
    deployment: str
    """The Deployment's name (an AksEndpoint version has its own)."""
    env: dict[str, str]
    """The runtime container's environment, paths rewritten to the local tree."""
    root: Path
    """Local directory standing in for the container's filesystem root."""
    keys_dir: Path | None
    """Directory holding the generated primaryKey/secondaryKey files, if the pod mounts keys."""
    liveness_path: str
    """The rendered liveness probe path."""
    readiness_path: str
    """The rendered readiness probe path."""
    notes: list[str] = field(default_factory=list)
    """What differs from the cluster (init containers not run, volumes left empty)."""


def _is_runtime(container: Obj) -> bool:
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    return any(w.endswith("aksml") for w in words) and "serve" in words


def _index(objs: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o.get("kind") == kind}


def _secret_data(secret: Obj) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return data


def _configmap_data(cm: Obj) -> dict[str, str | bytes]:
    data: dict[str, str | bytes] = {k: str(v) for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        data[k] = base64.b64decode(v)
    return data


def _probe_path(container: Obj, probe: str, default: str) -> str:
    http = (container.get(probe) or {}).get("httpGet") or {}
    return str(http.get("path") or default)


def _write_files(target: Path, data: dict[str, str | bytes], items: list[Obj] | None) -> None:
    wanted: list[tuple[str, str]] = (
        [(str(i["key"]), str(i.get("path") or i["key"])) for i in items]
        if items
        else [(k, k) for k in data]
    )
    for key, rel in wanted:
        if key not in data:
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        value = data[key]
        if isinstance(value, bytes):
            dest.write_bytes(value)
        else:
            dest.write_text(value)


def prepare(objs: list[Obj], workdir: Path) -> list[LocalService]:
    """Build one LocalService per Deployment running ``aksml serve`` (files under ``workdir``)."""
    secrets_by_name = _index(objs, "Secret")
    cms = _index(objs, "ConfigMap")
    services: list[LocalService] = []
    for dep in (o for o in objs if o.get("kind") == "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        runtime = next((ct for ct in pod.get("containers", []) if _is_runtime(ct)), None)
        if runtime is None:
            continue
        dep_name = str(dep["metadata"]["name"])
        root = workdir / dep_name
        root.mkdir(parents=True)
        notes: list[str] = []
        generated: dict[str, dict[str, str]] = {}

        def secret_values(
            name: str, generated: dict[str, dict[str, str]] = generated
        ) -> dict[str, str]:
            if name not in generated:
                values = _secret_data(secrets_by_name.get(name, {}))
                for key in KEY_NAMES:
                    if key in values:
                        values[key] = secrets.token_urlsafe(32)
                generated[name] = values
            return generated[name]

        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts: dict[str, Path] = {}
        keys_dir: Path | None = None
        for mount in runtime.get("volumeMounts", []):
            path = str(mount["mountPath"])
            local = root / path.lstrip("/")
            local.mkdir(parents=True, exist_ok=True)
            mounts[path] = local
            vol = volumes.get(mount["name"], {})
            if "configMap" in vol:
                cm = cms.get(vol["configMap"]["name"])
                if cm is None:
                    notes.append(f"volume {mount['name']}: ConfigMap not in the program; empty")
                else:
                    _write_files(local, _configmap_data(cm), vol["configMap"].get("items"))
            elif "secret" in vol:
                values = secret_values(vol["secret"]["secretName"])
                _write_files(local, dict(values), vol["secret"].get("items"))
                if any(k in values for k in KEY_NAMES):
                    keys_dir = local
            elif "emptyDir" not in vol:
                kind = next((k for k in vol if k != "name"), "unknown")
                notes.append(f"volume {mount['name']} ({kind}) at {path} is empty locally")
        env: dict[str, str] = {}
        for var in runtime.get("env", []):
            ref = var.get("valueFrom") or {}
            if "value" in var:
                env[var["name"]] = str(var["value"])
            elif "secretKeyRef" in ref:
                sk = ref["secretKeyRef"]
                value = secret_values(sk["name"]).get(sk["key"])
                if value is not None:
                    env[var["name"]] = value
            elif "configMapKeyRef" in ref:
                ck = ref["configMapKeyRef"]
                cm_value = _configmap_data(cms.get(ck["name"], {})).get(ck["key"])
                if isinstance(cm_value, str):
                    env[var["name"]] = cm_value
            elif ref:
                notes.append(f"env {var['name']}: {next(iter(ref))} not resolved locally")
        for source in runtime.get("envFrom", []):
            if "configMapRef" in source:
                cm_data = _configmap_data(cms.get(source["configMapRef"]["name"], {}))
                env.update({k: v for k, v in cm_data.items() if isinstance(v, str)})
            elif "secretRef" in source:
                env.update(secret_values(source["secretRef"]["name"]))
        env = {k: _local_path(v, mounts, root) for k, v in env.items()}
        for init in pod.get("initContainers", []):
            notes.append(
                f"init container {init.get('name')} not run "
                f"({' '.join(str(w) for w in (init.get('command') or [])[:4])} ...): "
                "the local environment must already provide what it installs or fetches"
            )
        services.append(
            LocalService(
                name=env.get(c.SERVICE_NAME.env, dep_name),
                deployment=dep_name,
                env=env,
                root=root,
                keys_dir=keys_dir,
                liveness_path=_probe_path(runtime, "livenessProbe", c.LIVENESS_PATH),
                readiness_path=_probe_path(runtime, "readinessProbe", c.READINESS_PATH),
                notes=notes,
            )
        )
    return services


def _local_path(value: str, mounts: dict[str, Path], root: Path) -> str:
    """Rewrite an absolute path at, under or above a mount point into the local tree;
    ``:``-separated lists (PYTHONPATH) are rewritten element by element."""
    if ":" in value and not value.startswith(("http:", "https:")):
        return ":".join(_local_path(part, mounts, root) for part in value.split(":"))
    if not value.startswith("/"):
        return value
    for mount in mounts:
        if value == mount or value.startswith(mount + "/") or mount.startswith(value + "/"):
            return str(root / value.lstrip("/"))
    return value


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _echo(line: str) -> None:
    print(line, flush=True)


def run_program(directory: Path, echo: Callable[[str], None] = _echo) -> int:
    """Render ``directory``, start one local ``aksml serve`` per Deployment, print the local
    scoring URIs and wait for Ctrl-C/SIGTERM. Returns the exit code."""
    from aksml.offline.render import render_program

    objs = render_program(directory)
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    with tempfile.TemporaryDirectory(prefix="aksml-local-") as tmp:
        services = prepare(objs, Path(tmp))
        if not services:
            raise WebserviceException(f"Error, {directory} declares no AksWebservice to serve.")
        procs: list[subprocess.Popen[bytes]] = []
        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            urls: list[str] = []
            for svc in services:
                port = _free_port()
                env = dict(os.environ)
                env.update(svc.env)
                env[c.HOST.env] = "127.0.0.1"
                env[c.PORT.env] = str(port)
                env[c.METRICS_PORT.env] = "0"
                if os.environ.get("PYTHONPATH"):
                    env["PYTHONPATH"] = os.pathsep.join(
                        p for p in (svc.env.get("PYTHONPATH"), os.environ["PYTHONPATH"]) if p
                    )
                cmd = [sys.executable, "-c", "from aksml.cli import main; main()", "serve"]
                procs.append(subprocess.Popen(cmd, env=env, cwd=svc.root))
                urls.append(f"http://127.0.0.1:{port}")
            for svc, proc, base in zip(services, procs, urls, strict=True):
                deadline = time.monotonic() + READY_TIMEOUT_S
                while not _ready(base + svc.readiness_path):
                    if stop:
                        return 0
                    if proc.poll() is not None or time.monotonic() > deadline:
                        echo(f"error: {svc.deployment} did not become ready (see its log above)")
                        return 1
                    time.sleep(0.2)
            echo("deployment\tlocal scoring URI\tkeys directory")
            for svc, base in zip(services, urls, strict=True):
                prefix = c.AML_PATH_PREFIX.format(name=svc.name)
                keys = str(svc.keys_dir) if svc.keys_dir else "-"
                echo(f"{svc.deployment}\t{base}{prefix}{c.SCORE_PATH}\t{keys}")
            for svc in services:
                for note in svc.notes:
                    echo(f"note: {svc.deployment}: {note}")
            echo("keys: files primaryKey/secondaryKey in the keys directory; Ctrl-C stops.")
            sys.stdout.flush()
            while not stop:
                for svc, proc in zip(services, procs, strict=True):
                    if proc.poll() is not None:
                        echo(f"error: {svc.deployment} exited with code {proc.returncode}")
                        return 1
                time.sleep(0.2)
            return 0
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            _stop(procs)
