"""Offline rendering: Kubernetes manifests for a config file or a Pulumi program, with no
cluster, no credentials and no Pulumi CLI.

A configuration file goes straight through the plan. A program directory (``__main__.py``)
runs in-process under Pulumi's mock engine; every registered pulumi_kubernetes resource is
captured and turned back into a Kubernetes object.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aksml.errors import WebserviceException
from aksml.plan import file_name, plan_webservice, to_yaml
from aksml.plan.inputs import settings_from_args
from aksml.v1 import AksServiceDeploymentConfiguration, load_config

Obj = dict[str, Any]

GENERATED = "<generated>"
"""What generated values (random keys) read as in a render."""

_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Deployment",
    "Service",
    "HorizontalPodAutoscaler",
    "ScaledObject",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
    "HTTPRoute",
)


def sort_key(obj: Obj) -> tuple[int, str, str]:
    """Apply order: by kind (known kinds first), then namespace and name."""
    kind = obj.get("kind", "")
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = obj.get("metadata", {})
    return rank, str(meta.get("namespace", "")), str(meta.get("name", ""))


def render_config(
    path: Path, name: str | None = None, entry_script: str | None = None
) -> list[Obj]:
    """Objects for a deploymentconfig.json/.yaml (service name: ``name`` or the file's stem;
    ``entry_script`` relative to the file's directory is shipped as the code ConfigMap)."""
    config = load_config(path)
    if not isinstance(config, AksServiceDeploymentConfiguration):
        return _render_endpoint_config(path, config, name or path.stem, entry_script)
    args: dict[str, Any] = {"deployment_config": config}
    if entry_script:
        args["entry_script"] = entry_script
    config, workload = settings_from_args(args, base=path.parent)
    return sorted(plan_webservice(name or path.stem, config.resolve(), workload), key=sort_key)


def _render_endpoint_config(
    path: Path, config: Any, name: str, entry_script: str | None
) -> list[Obj]:
    """An AksEndpoint configuration file: the endpoint with its first version (cluster
    exposure; see docs/endpoint.md)."""
    from aksml.plan.endpoint import endpoint_input_from_args, plan_endpoint
    from aksml.v1.versions import EndpointConfiguration

    first = {"entry_script": entry_script} if entry_script else {}
    endpoint = EndpointConfiguration.from_deploy_configuration(name, config, first_version=first)
    data = endpoint_input_from_args(name, endpoint.to_args(), base=path.parent)
    return sorted(plan_endpoint(data), key=sort_key)


def _plain(value: Any) -> Any:
    """Mock-engine inputs back to JSON-like values: secrets unwrapped, integral floats to int."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class _Registration:
    typ: str
    name: str
    inputs: dict[str, Any]


def _capture_mocks() -> tuple[Any, list[_Registration]]:
    import pulumi

    captured: list[_Registration] = []

    class Capture(pulumi.runtime.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            captured.append(_Registration(args.typ, args.name, dict(args.inputs)))
            state = dict(args.inputs)
            if args.typ.startswith("random:"):
                state["result"] = GENERATED
            if args.typ.startswith(("azure-native:", "docker-build:", "azuread:")):
                from aksml.azure.offline import resource_state  # the azure extra: stand-ins

                return resource_state(args.typ, args.name, state)
            return f"{args.name}-id", state

        def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            if args.token.startswith("azure-native:"):
                from aksml.azure.offline import invoke_result

                return invoke_result(args.token, dict(args.args)) or {}, []
            return {}, None

    return Capture(), captured


@contextmanager
def _program_context(directory: Path) -> Iterator[None]:
    cwd = os.getcwd()
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(cwd)
        if str(directory) in sys.path:
            sys.path.remove(str(directory))


@contextmanager
def _private_event_loop() -> Iterator[None]:
    """Run the program on its own event loop and close it cleanly afterwards (no pending
    tasks or unclosed loops left behind for the caller or the interpreter's exit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            previous: asyncio.AbstractEventLoop | None = asyncio.get_event_loop()
        except RuntimeError:
            previous = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(previous)


def _project_name(directory: Path) -> str:
    project = directory / "Pulumi.yaml"
    if project.is_file():
        data = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and data.get("name"):
            return str(data["name"])
    return directory.name


def render_program(directory: Path, stack: str = "render") -> list[Obj]:
    """Run ``directory/__main__.py`` under Pulumi's mock engine and return every Kubernetes
    object it registers (sorted in apply order)."""
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    directory = directory.resolve()
    main = directory / "__main__.py"
    if not main.is_file():
        raise WebserviceException(f"Error, {directory} has no __main__.py (not a Pulumi program).")
    capture, captured = _capture_mocks()
    saved = deepcopy(settings.SETTINGS)
    with _private_event_loop():
        try:
            settings.ROOT.set(None)
            mocks.set_mocks(capture, project=_project_name(directory), stack=stack, preview=False)
            with _program_context(directory):

                def program() -> None:
                    runpy.run_path(str(main), run_name="__main__")

                _sync_await(run_pulumi_func(program))
        finally:
            settings.configure(saved)
            settings.ROOT.set(None)
    objs = []
    for reg in captured:
        if not reg.typ.startswith("kubernetes:") or reg.typ.startswith("pulumi:providers:"):
            continue
        obj = _plain(reg.inputs)
        if "apiVersion" in obj and "kind" in obj:
            objs.append(obj)
    return sorted(objs, key=sort_key)


def render_source(
    source: Path, name: str | None = None, entry_script: str | None = None
) -> list[Obj]:
    """A config file or a program directory -> objects."""
    if source.is_dir():
        if name or entry_script:
            raise WebserviceException(
                "Error, --name and --entry-script apply to a configuration file; a program "
                "sets them in its AksWebservice arguments."
            )
        return render_program(source)
    if source.is_file():
        return render_config(source, name, entry_script)
    raise WebserviceException(f"Error, {source} does not exist.")


def write_render(objs: list[Obj], out: Path, clean: bool = False) -> list[tuple[Obj, str]]:
    """Write one YAML file per object into ``out`` (flat); returns (object, file name) pairs.

    With ``clean``, existing ``*.yaml`` files in ``out`` are removed first so the directory
    holds exactly this render.
    """
    out.mkdir(parents=True, exist_ok=True)
    if clean:
        for old in out.glob("*.yaml"):
            old.unlink()
    written: list[tuple[Obj, str]] = []
    seen: set[str] = set()
    for obj in objs:
        fname = file_name(obj)
        if fname in seen:
            raise WebserviceException(
                f"Error, two objects render to {fname} (same kind and name in different "
                "namespaces); render them separately."
            )
        seen.add(fname)
        (out / fname).write_text(to_yaml(obj), encoding="utf-8")
        written.append((obj, fname))
    return written
