"""Pod logs of a deployed service: v1's ``Webservice.get_logs()`` and ``aksml logs``.

Reads the logs of a service's pods (the ``runtime`` container, or the init containers) through
the Kubernetes Python client, with a kubeconfig or the in-cluster service account. When there
is nothing useful to read, the failure says why in one line: no pods, an image that cannot be
pulled (which image), a pod that cannot be scheduled (which resources). A container in
CrashLoopBackOff -- the usual result of an exception in ``init()`` -- gets the logs of its
previous (crashed) run and a note with its last terminated state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aksml.errors import WebserviceException
from aksml.plan.endpoint import version_object_name
from aksml.plan.metadata import DEFAULT_NAMESPACE, selector_labels

RUNTIME_CONTAINER = "runtime"
"""Name of the scoring server's container in every rendered pod."""

DEFAULT_TAIL_LINES = 5000
"""Lines per container, as v1's ``get_logs(num_lines=5000)``."""

PULL_FAILURES = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
"""Waiting reasons that mean the image cannot be pulled."""


@dataclass(frozen=True)
class LogTarget:
    """Which logs to read."""

    service: str
    """Service name (an ``AksWebservice``, or an ``AksEndpoint`` with ``version``)."""
    namespace: str = DEFAULT_NAMESPACE
    """Namespace of the service."""
    version: str | None = None
    """An ``AksEndpoint`` version: reads the pods of ``<service>-<version>``."""
    init: bool = False
    """Read the init containers (model fetch, pip install) instead of the runtime."""
    previous: bool = False
    """Read the previous (terminated) run of each container."""
    tail_lines: int | None = DEFAULT_TAIL_LINES
    """Last lines per container (``None``: all)."""

    @property
    def instance(self) -> str:
        """The ``app.kubernetes.io/instance`` label of the pods."""
        if self.version is None:
            return self.service
        return version_object_name(self.service, self.version)

    @property
    def selector(self) -> str:
        """The label selector of the pods."""
        return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(self.instance).items()))


@dataclass
class ContainerLogs:
    """The logs of one container of one pod."""

    pod: str
    """Pod name."""
    container: str
    """Container name."""
    text: str
    """The log text."""
    notes: list[str] = field(default_factory=list)
    """What to know about the container's state (CrashLoopBackOff, restarts)."""


def core_api(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A ``CoreV1Api``: in-cluster config inside a pod (no kubeconfig given), else the
    kubeconfig (``--kubeconfig``, ``$KUBECONFIG`` or ``~/.kube/config``)."""
    from kubernetes import client, config

    load_incluster: Any = config.load_incluster_config  # the client ships without type hints
    from_kubeconfig: Any = config.new_client_from_config
    try:
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = client.Configuration()
            load_incluster(client_configuration=configuration)
            return client.CoreV1Api(client.ApiClient(configuration))
        return client.CoreV1Api(from_kubeconfig(kubeconfig, context))
    except config.ConfigException as exc:
        raise WebserviceException(f"cannot load Kubernetes configuration: {exc}") from None


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the Kubernetes API, turning its failures into one-line ``WebserviceException``s."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        reason = _api_message(exc)
        raise WebserviceException(f"{what}: HTTP {exc.status} {reason}") from None
    except HTTPError as exc:
        raise WebserviceException(f"{what}: cannot reach the Kubernetes API ({exc})") from None


def _api_message(exc: Any) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, else the HTTP reason."""
    import json

    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or exc.reason or "").strip()


def list_pods(api: Any, target: LogTarget) -> list[Any]:
    """The service's pods, oldest first; a clear error when there are none."""
    listing = _call(
        f"listing pods in namespace '{target.namespace}'",
        api.list_namespaced_pod,
        target.namespace,
        label_selector=target.selector,
    )
    pods = sorted(listing.items, key=_age_key)
    if not pods:
        what = f"service '{target.service}'" + (
            f" version '{target.version}'" if target.version else ""
        )
        raise WebserviceException(
            f"no pods for {what} in namespace '{target.namespace}' (label selector "
            f"{target.selector}): is it deployed, in this namespace and cluster?"
        )
    return pods


def _age_key(pod: Any) -> tuple[str, str]:
    created = pod.metadata.creation_timestamp
    return (created.isoformat() if created is not None else "", pod.metadata.name)


def _statuses(pod: Any, init: bool) -> list[Any]:
    status = pod.status
    found = (status.init_container_statuses if init else status.container_statuses) or []
    return list(found)


def _containers(pod: Any, init: bool) -> list[str]:
    if init:
        return [c.name for c in (pod.spec.init_containers or [])]
    return [c.name for c in pod.spec.containers if c.name == RUNTIME_CONTAINER] or [
        pod.spec.containers[0].name
    ]


def check_pull(pod: Any) -> None:
    """Raise when a container of the pod cannot pull its image (which image, why)."""
    for status in _statuses(pod, True) + _statuses(pod, False):
        waiting = status.state.waiting if status.state else None
        if waiting is not None and waiting.reason in PULL_FAILURES:
            detail = f": {waiting.message}" if waiting.message else ""
            raise WebserviceException(
                f"pod {pod.metadata.name}: container '{status.name}' cannot pull image "
                f"'{status.image}' ({waiting.reason}){detail}"
            )


_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*\w)")


def check_scheduled(pod: Any) -> None:
    """Raise when the pod is Pending because no node has the resources it requests."""
    if pod.status.phase != "Pending":
        return
    for condition in pod.status.conditions or []:
        if condition.type != "PodScheduled" or condition.status != "False":
            continue
        message = (condition.message or "").strip()
        lacking = sorted(set(_INSUFFICIENT.findall(message)))
        requests = _requests(pod)
        asked = ", ".join(f"{r}={requests[r]}" for r in lacking if r in requests)
        what = f"not enough {', '.join(lacking)}" if lacking else condition.reason or "unknown"
        suffix = f"; the pod requests {asked}" if asked else ""
        raise WebserviceException(
            f"pod {pod.metadata.name} is Pending, not scheduled ({what}){suffix}: {message}"
        )


def _requests(pod: Any) -> dict[str, str]:
    """Resource requests of the pod's runtime container(s) by resource name."""
    found: dict[str, str] = {}
    for container in pod.spec.containers:
        resources = container.resources
        for name, value in ((resources.requests or {}) if resources else {}).items():
            found.setdefault(name, value)
    return found


def _crash_note(status: Any) -> str | None:
    """A one-line note for a container in CrashLoopBackOff: its last terminated state."""
    waiting = status.state.waiting if status.state else None
    if waiting is None or waiting.reason != "CrashLoopBackOff":
        return None
    last = status.last_state.terminated if status.last_state else None
    if last is None:
        return f"container '{status.name}' is in CrashLoopBackOff (restarts {status.restart_count})"
    parts = [f"exit code {last.exit_code}", f"reason {last.reason}"]
    if last.finished_at is not None:
        parts.append(f"finished {last.finished_at.isoformat()}")
    if last.message:
        parts.append(f"message {last.message.strip()!r}")
    return (
        f"container '{status.name}' is in CrashLoopBackOff (restarts {status.restart_count}); "
        f"last terminated: {', '.join(parts)}; showing the logs of that run"
    )


def _read_log(api: Any, target: LogTarget, pod: Any, container: str, verb: str, **kw: Any) -> Any:
    """``GET .../pods/{pod}/log`` for one container (``tail_lines`` from the target)."""
    return _call(
        f"{verb} logs of pod {pod.metadata.name} container '{container}'",
        api.read_namespaced_pod_log,
        pod.metadata.name,
        target.namespace,
        container=container,
        tail_lines=target.tail_lines,
        **kw,
    )


def read_logs(api: Any, target: LogTarget) -> list[ContainerLogs]:
    """The logs of every pod of the service (runtime or init containers), oldest pod first."""
    pods = list_pods(api, target)
    out: list[ContainerLogs] = []
    for pod in pods:
        check_pull(pod)
        check_scheduled(pod)
        states = {s.name: s for s in _statuses(pod, target.init)}
        for name in _containers(pod, target.init):
            note = _crash_note(states[name]) if name in states else None
            previous = target.previous or note is not None
            text = _read_log(api, target, pod, name, "reading", previous=previous)
            out.append(ContainerLogs(pod.metadata.name, name, str(text), [note] if note else []))
    return out


def follow_logs(api: Any, target: LogTarget) -> Iterator[str]:
    """Stream the runtime (or first init) container's log of the newest pod as it is written
    (chunks of text, until the container stops or the caller stops iterating)."""
    pod = list_pods(api, target)[-1]
    check_pull(pod)
    check_scheduled(pod)
    container = _containers(pod, target.init)[0]
    response = _read_log(
        api, target, pod, container, "following", follow=True, _preload_content=False
    )
    try:
        for chunk in response.stream(decode_content=True):
            yield chunk.decode("utf-8", errors="replace")
    finally:
        response.release_conn()


def format_logs(found: list[ContainerLogs]) -> str:
    """All containers' logs, each under a ``==> pod/container <==`` header."""
    parts = []
    for logs in found:
        text = logs.text if logs.text.endswith("\n") or not logs.text else logs.text + "\n"
        parts.append(f"==> {logs.pod}/{logs.container} <==\n{text}")
    return "".join(parts)
