"""``aksml serve <program-dir> --engine podman``: the user's way to run a program's pods in
containers (same adaptations as the lane: ``aksml.offline.engine``)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lanekit import EXAMPLES, play

from aksml.offline import engine as eng

# the container lane (docs/containers.md); building the images from nothing takes minutes
pytestmark = [pytest.mark.containers, pytest.mark.timeout(1500)]


def test_serve_engine_podman_runs_the_program_and_stops_it(
    podman: eng.Engine, runtime_image: str
) -> None:
    aksml = str(Path(sys.executable).parent / "aksml")
    cmd = [
        aksml,
        "serve",
        str(EXAMPLES / "ab-test"),
        "--engine",
        "podman",
        "--image",
        runtime_image,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        rows: dict[str, tuple[str, str]] = {}
        deadline = time.monotonic() + 300
        for line in proc.stdout:
            assert time.monotonic() < deadline
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 3 and fields[0].startswith("abtest-"):
                rows[fields[0]] = (fields[1], fields[2])
            if line.startswith("keys:"):
                break
        assert set(rows) == {"abtest-blue", "abtest-green"}, proc.stderr
        for deployment, (uri, keys_dir) in rows.items():
            assert uri.startswith("http://127.0.0.1:")
            for name in ("primaryKey", "secondaryKey"):
                key = (Path(keys_dir) / name).read_text()
                response = httpx.post(
                    uri, json={"data": [0.9]}, headers={"Authorization": f"Bearer {key}"}
                )
                assert response.status_code == 200, response.text
                assert response.json()["version"] == deployment.removeprefix("abtest-")
            assert httpx.post(uri, json={"data": [0.9]}).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
        pods = podman.run("pod", "ps", "--format", "{{.Name}}")
        assert "abtest-" not in pods  # stopped and removed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_engine_errors_are_one_line() -> None:
    aksml = str(Path(sys.executable).parent / "aksml")
    bad = subprocess.run(
        [aksml, "serve", str(EXAMPLES / "ab-test"), "--engine", "nerdctl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: Error, --engine must be one of podman, docker."
    ]
    alone = subprocess.run(
        [aksml, "serve", "--engine", "podman"], capture_output=True, text=True, timeout=60
    )
    assert alone.returncode == 2 and "program directory" in alone.stderr


@pytest.fixture
def docker_cli(podman: eng.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The Docker CLI talking to podman's Docker-compatible API (``podman system service``
    on a private socket); podman's own CLI where no Docker CLI is installed."""
    docker = shutil.which("docker")
    if docker is None:
        yield podman.binary
        return
    with tempfile.TemporaryDirectory(prefix="aksml-docker-") as tmp:
        sock = Path(tmp) / "podman.sock"
        service = subprocess.Popen(
            [podman.binary, "system", "service", "--time=0", f"unix://{sock}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
            deadline = time.monotonic() + 30
            while subprocess.run([docker, "info"], capture_output=True).returncode != 0:
                assert time.monotonic() < deadline, "podman's Docker API did not come up"
                time.sleep(0.2)
            yield docker
        finally:
            service.terminate()
            service.wait(30)


def test_docker_translation_runs_the_quickstart_pod(
    podman: eng.Engine, runtime_image: str, docker_cli: str
) -> None:
    """``--engine docker``'s translation (``aksml.offline.dockerrun``) with the Docker CLI
    against podman's Docker-compatible API (no Docker daemon here)."""
    docker_style = eng.Engine("docker", binary=docker_cli)
    for played in play(docker_style, runtime_image, "quickstart"):
        pod = played.pods["iris"]
        sklearn = played.exec(pod, "python", "-c", "import sklearn; print(sklearn.__file__)")
        assert sklearn.stdout.startswith("/opt/aksml/packages/"), sklearn.stderr
        assert played.exec(pod, "id", "-u").stdout.strip() == "10001"
        assert played.exec(pod, "touch", "/opt/aksml/x").returncode != 0
        assert played.exec(pod, "touch", f"{pod.keys_mount}/x").returncode != 0
        assert played.exec(pod, "touch", "/tmp/x").returncode == 0
        iris = {"data": [[5.1, 3.5, 1.4, 0.2]]}
        for name in ("primaryKey", "secondaryKey"):
            auth = {"Authorization": f"Bearer {pod.keys[name]}"}
            response = httpx.post(pod.scoring_uri, json=iris, headers=auth, timeout=30)
            assert response.status_code == 200 and response.json() == ["setosa"]
        assert httpx.post(pod.scoring_uri, json=iris, timeout=30).status_code == 401
        docker_style.stop_pod(pod)
        assert docker_style.container_state(pod, pod.runtime_container) == ("exited", 0)
    leftovers = podman.run("ps", "-a", "--format", "{{.Names}}")
    assert "iris-" not in leftovers
