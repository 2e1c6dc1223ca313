"""Key auth through a real ``aksml serve``: 401s, both keys, generated keys, rotation."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def _score(server: Any, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(server.url + "/score", content=b"hi", headers=headers, timeout=10)


def test_primary_and_secondary_keys(serve: Callable[..., Any]) -> None:
    server = serve("with_headers.py", "--primary-key", "prim-KEY-1", "--secondary-key", "sec-KEY-2")
    missing = _score(server, None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "message" in missing.json()
    assert missing.headers["x-request-id"]
    assert _score(server, "wrong").status_code == 401
    ok = _score(server, "prim-KEY-1")
    assert ok.status_code == 200
    assert "Authorization" not in ok.json()["headers"]
    assert _score(server, "sec-KEY-2").status_code == 200
    # liveness, readiness and swagger need no key
    assert httpx.get(server.url + "/").status_code == 200
    assert httpx.get(server.url + "/swagger.json").json()["securityDefinitions"]
    assert server.stop() == 0
    assert "prim-KEY-1" not in server.output() and "sec-KEY-2" not in server.output()


def test_generated_keys_are_written_not_printed(serve: Callable[..., Any]) -> None:
    server = serve("plain.py", "--auth", "key")
    match = re.search(r"read them from (\S+),", server.output())
    assert match, server.output()
    keys = json.loads(Path(match.group(1)).read_text())
    assert keys["primaryKey"] not in server.output()
    assert _score(server, keys["primaryKey"]).status_code == 200
    assert _score(server, keys["secondaryKey"]).status_code == 200
    Path(match.group(1)).unlink()


def test_show_keys_prints_them(serve: Callable[..., Any]) -> None:
    server = serve("plain.py", "--primary-key", "visible-1", "--show-keys")
    assert "visible-1" in server.output()


def test_keys_file_rotation_without_restart(serve: Callable[..., Any], tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"primaryKey": "old-1", "secondaryKey": "old-2"}))
    server = serve("plain.py", "--keys-file", str(keys))
    assert _score(server, "old-1").status_code == 200
    keys.write_text(json.dumps({"primaryKey": "new-1", "secondaryKey": "old-1"}))
    deadline = time.monotonic() + 10
    while _score(server, "new-1").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert _score(server, "old-1").status_code == 200
    assert _score(server, "old-2").status_code == 401


def test_worker_processes_do_not_see_the_keys(serve: Callable[..., Any]) -> None:
    server = serve("plain.py", "--worker-mode", "process", env={"AKSML_PRIMARY_KEY": "env-key-9"})
    response = httpx.post(
        server.url + "/score", content=b"env", headers={"Authorization": "Bearer env-key-9"}
    )
    assert response.status_code == 200
    assert response.json()["key"] is None
