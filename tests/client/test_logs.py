"""``aksml logs`` and ``Webservice.get_logs()`` against a local Kubernetes API stand-in.

The server on 127.0.0.1 answers the two API paths the command uses --
``GET /api/v1/namespaces/{ns}/pods?labelSelector=...`` (a ``PodList``) and
``GET /api/v1/namespaces/{ns}/pods/{name}/log`` (text/plain) -- with bodies shaped like the
Kubernetes API reference's Pod, PodStatus, ContainerStatus and Status objects
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/).
The client under test is the real ``kubernetes`` package with a kubeconfig pointing there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from aksml.cli import app
from aksml.client import Webservice
from aksml.errors import WebserviceException

IMAGE = "ghcr.io/aksml/aksml-runtime:0.1.0"
SELECTOR = "app.kubernetes.io/instance=iris,app.kubernetes.io/name=aksml-webservice"


@dataclass
class FakeApi:
    """Pods by namespace and log text by (pod, container, previous)."""

    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logs: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    url: str = ""


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str, ctype: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, reason: str, message: str) -> None:
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
            body |= {"message": message, "reason": reason, "code": code}
            self._send(code, json.dumps(body), "application/json")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            api.seen.append((url.path, query, self.headers.get("Authorization", "")))
            parts = url.path.strip("/").split("/")
            if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5 or parts[4] != "pods":
                return self._status(404, "NotFound", "the server could not find the resource")
            namespace = parts[3]
            if self.headers.get("Authorization") != "Bearer t0k":
                return self._status(401, "Unauthorized", "Unauthorized")
            if namespace == "forbidden":
                message = 'pods is forbidden: User "me" cannot list resource "pods"'
                return self._status(403, "Forbidden", message)
            if len(parts) == 5:
                wanted = dict(kv.split("=", 1) for kv in query["labelSelector"][0].split(","))
                items = [
                    p
                    for p in api.pods.get(namespace, [])
                    if wanted.items() <= p["metadata"]["labels"].items()
                ]
                body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
                return self._send(200, json.dumps(body), "application/json")
            pod, container = parts[5], query["container"][0]
            previous = query.get("previous") == ["true"]
            text = api.logs.get((pod, container, previous))
            if query.get("follow") == ["true"] and text is not None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for line in text.splitlines(keepends=True):
                    data = line.encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                return None
            if text is None:
                message = f'previous terminated container "{container}" in pod "{pod}" not found'
                return self._status(400, "BadRequest", message)
            return self._send(200, text, "text/plain")

    return Handler


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[FakeApi, Path]]:
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": {"server": api.url}}],
                "users": [{"name": "me", "user": {"token": "t0k"}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
                "current-context": "local",
            }
        )
    )
    try:
        yield api, kubeconfig
    finally:
        server.shutdown()
        server.server_close()


def pod(name: str, created: str, **status: Any) -> dict[str, Any]:
    """A Pod of the rendered Deployment (one init container, the runtime container)."""
    runtime_status = {
        "name": "runtime",
        "image": IMAGE,
        "imageID": f"{IMAGE.split(':')[0]}@sha256:{'a' * 64}",
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": created}},
    }
    runtime_status |= status.pop("runtime", {})
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "ml",
            "creationTimestamp": created,
            "labels": {
                "app.kubernetes.io/instance": "iris",
                "app.kubernetes.io/name": "aksml-webservice",
            },
        },
        "spec": {
            "initContainers": [{"name": "install-packages", "image": IMAGE}],
            "containers": [
                {
                    "name": "runtime",
                    "image": IMAGE,
                    "resources": {
                        "requests": {"cpu": "4", "memory": "16Gi"},
                        "limits": {"cpu": "4", "memory": "16Gi"},
                    },
                }
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "initContainerStatuses": [
                {
                    "name": "install-packages",
                    "image": IMAGE,
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
            ],
            "containerStatuses": [runtime_status],
        },
    }
    body["status"] |= status
    return body


def run_cli(kubeconfig: Path, *args: str) -> Any:
    return CliRunner().invoke(
        app, ["logs", "iris", "-n", "ml", "--kubeconfig", str(kubeconfig), *args]
    )


def test_logs_of_every_pod_oldest_first(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    api.pods["ml"] = [pod("iris-b", "2026-01-01T10:05:00Z"), pod("iris-a", "2026-01-01T10:00:00Z")]
    api.logs[("iris-a", "runtime", False)] = "a1\na2\n"
    api.logs[("iris-b", "runtime", False)] = "b1"
    result = run_cli(kubeconfig, "--tail", "10")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "==> iris-a/runtime <==\na1\na2\n==> iris-b/runtime <==\nb1\n"
    log_calls = [q for path, q, _ in api.seen if path.endswith("/log")]
    assert [q["tailLines"] for q in log_calls] == [["10"], ["10"]]
    assert all(auth == "Bearer t0k" for _, _, auth in api.seen)


def test_init_containers_and_previous(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    api.pods["ml"] = [pod("iris-a", "2026-01-01T10:00:00Z")]
    api.logs[("iris-a", "install-packages", False)] = "Successfully installed scikit-learn\n"
    api.logs[("iris-a", "runtime", True)] = "old run\n"
    result = run_cli(kubeconfig, "--init")
    assert result.stdout == "==> iris-a/install-packages <==\nSuccessfully installed scikit-learn\n"
    result = run_cli(kubeconfig, "--previous")
    assert result.exit_code == 0 and result.stdout.endswith("old run\n")


def test_crash_loop_shows_the_crashed_run_and_its_last_state(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    crashing = {
        "ready": False,
        "restartCount": 5,
        "state": {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": "back-off 2m40s restarting failed container=runtime pod=iris-a",
            }
        },
        "lastState": {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": "2026-01-01T10:01:00Z",
                "finishedAt": "2026-01-01T10:01:03Z",
            }
        },
    }
    api.pods["ml"] = [pod("iris-a", "2026-01-01T10:00:00Z", runtime=crashing)]
    api.logs[("iris-a", "runtime", True)] = "Traceback ...\nValueError: model file missing\n"
    result = run_cli(kubeconfig)
    assert result.exit_code == 0, result.stderr
    assert "ValueError: model file missing" in result.stdout
    assert result.stderr == (
        "note: pod iris-a: container 'runtime' is in CrashLoopBackOff (restarts 5); last "
        "terminated: exit code 1, reason Error, finished 2026-01-01T10:01:03+00:00; "
        "showing the logs of that run\n"
    )
    service = Webservice(None, name="iris")
    text = service.get_logs(10, namespace="ml", kubeconfig=str(kubeconfig))
    assert text.startswith("# container 'runtime' is in CrashLoopBackOff (restarts 5)")
    assert text.endswith("==> iris-a/runtime <==\nTraceback ...\nValueError: model file missing\n")


def test_image_pull_failure_names_the_image(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    waiting = {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{IMAGE}"',
    }
    api.pods["ml"] = [
        pod(
            "iris-a",
            "2026-01-01T10:00:00Z",
            runtime={"ready": False, "state": {"waiting": waiting}},
        )
    ]
    result = run_cli(kubeconfig)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: pod iris-a: container 'runtime' cannot pull image '{IMAGE}' (ImagePullBackOff): "
        f'Back-off pulling image "{IMAGE}"\n'
    )
    assert not [path for path, _, _ in api.seen if path.endswith("/log")]


def test_unschedulable_pod_names_the_missing_resources(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    message = (
        "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. preemption: "
        "0/3 nodes are available: 3 No preemption victims found for incoming pod."
    )
    pending = pod(
        "iris-a",
        "2026-01-01T10:00:00Z",
        phase="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        ],
        containerStatuses=None,
        initContainerStatuses=None,
    )
    api.pods["ml"] = [pending]
    result = run_cli(kubeconfig)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: pod iris-a is Pending, not scheduled (not enough cpu, memory); the pod requests "
        "cpu=4, memory=16Gi: 0/3 nodes are available: 3 Insufficient cpu"
    )
    assert result.stderr.count("\n") == 1


def test_no_pods_and_endpoint_versions(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    result = run_cli(kubeconfig)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: no pods for service 'iris' in namespace 'ml' (label selector {SELECTOR}): is it "
        "deployed, in this namespace and cluster?\n"
    )
    with pytest.raises(WebserviceException, match="no pods for service 'ab' version 'blue'"):
        Webservice(None, name="ab").get_logs(version="blue", kubeconfig=str(kubeconfig))
    assert api.seen[-1][1]["labelSelector"] == [
        "app.kubernetes.io/instance=ab-blue,app.kubernetes.io/name=aksml-webservice"
    ]
    with pytest.raises(WebserviceException, match="needs the service name"):
        Webservice(None).get_logs(kubeconfig=str(kubeconfig))


def test_follow_streams_the_newest_pod(kube: tuple[FakeApi, Path]) -> None:
    api, kubeconfig = kube
    api.pods["ml"] = [pod("iris-b", "2026-01-01T10:05:00Z"), pod("iris-a", "2026-01-01T10:00:00Z")]
    api.logs[("iris-b", "runtime", False)] = "line 1\nline 2\n"
    result = run_cli(kubeconfig, "--follow")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "line 1\nline 2\n"
    assert api.seen[-1][0].endswith("/pods/iris-b/log") and api.seen[-1][1]["follow"] == ["true"]
    assert run_cli(kubeconfig, "--follow", "--previous").exit_code == 2


def test_api_errors_are_one_line(kube: tuple[FakeApi, Path], tmp_path: Path) -> None:
    _, kubeconfig = kube
    result = CliRunner().invoke(
        app, ["logs", "iris", "-n", "forbidden", "--kubeconfig", str(kubeconfig)]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: listing pods in namespace 'forbidden': HTTP 403 pods is forbidden: "
        'User "me" cannot list resource "pods"\n'
    )
    result = run_cli(tmp_path / "missing-kubeconfig")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot load Kubernetes configuration: ")
    assert result.stderr.count("\n") == 1
