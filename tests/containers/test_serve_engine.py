"""``aksml serve <program-dir> --engine podman``: the user's way to run a program's pods in
containers (same adaptations as the lane: ``aksml.offline.engine``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from lanekit import EXAMPLES

from aksml.offline import engine as eng


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
        [aksml, "serve", str(EXAMPLES / "ab-test"), "--engine", "docker"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "engine" in bad.stderr
    alone = subprocess.run(
        [aksml, "serve", "--engine", "podman"], capture_output=True, text=True, timeout=60
    )
    assert alone.returncode == 2 and "program directory" in alone.stderr
