"""Request semantics of ``aksml serve`` against a plain (undecorated) score.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aksml import contract as c


def test_post_body_reaches_run_as_text(plain: Any) -> None:
    with plain.client() as client:
        response = client.post("/score", content=b'{"data": [[1, 2]]}')
    assert response.status_code == 200
    assert response.json() == {"echo": '{"data": [[1, 2]]}'}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-ms-run-function-failed"] == "False"
    exec_ms = response.headers["x-ms-run-fn-exec-ms"]
    assert float(exec_ms) >= 0 and len(exec_ms.split(".")[1]) == 3
    generated = response.headers["x-request-id"]
    assert str(uuid.UUID(generated)) == generated
    assert response.headers["x-ms-request-id"] == generated


def test_aml_path_and_get_query(plain: Any) -> None:
    with plain.client() as client:
        response = client.get("/api/v1/service/svc/score?a=1&b=[1,2]&c=x&c=y")
    assert response.status_code == 200
    assert json.loads(response.json()["echo"]) == {"a": 1, "b": [1, 2], "c": ["x", "y"]}


def test_return_values_encoded_like_the_reference(plain: Any) -> None:
    with plain.client() as client:
        assert client.post("/score", content=b"none").content == b"{}"
        assert client.post("/score", content=b"string").json() == '{"a": 1}'


def test_script_sees_azureml_environment(plain: Any) -> None:
    with plain.client() as client:
        env = client.post("/score", content=b"env").json()
    assert env["model_dir"] == "/models/m/1"
    assert env["entry"].endswith("plain.py")
    assert env["root"]


def test_request_ids_are_echoed(plain: Any) -> None:
    headers = {"x-request-id": "abc", "x-ms-client-request-id": "client-1", "TraceId": "t1"}
    with plain.client() as client:
        response = client.post("/score", content=b"x", headers=headers)
    assert response.headers["x-request-id"] == "abc"
    assert response.headers["x-ms-client-request-id"] == "client-1"
    assert response.headers["x-ms-request-id"] == "client-1"
    assert response.headers["traceid"] == "t1"
    with plain.client() as client:
        legacy = client.post("/score", content=b"x", headers={"x-ms-request-id": "legacy"})
    assert legacy.headers["x-ms-request-id"] == "legacy"


def test_request_id_over_100_chars_is_431(plain: Any) -> None:
    with plain.client() as client:
        response = client.post("/score", content=b"x", headers={"x-request-id": "a" * 101})
        other = client.post("/score", content=b"x", headers={"x-ms-request-id": "b" * 101})
        ok = client.post("/score", content=b"x", headers={"x-request-id": "a" * 100})
    assert response.status_code == 431
    assert response.json() == {"message": "x-request-id must not exceed 100 characters"}
    assert other.status_code == 431
    assert "x-ms-client-request-id must not exceed 100" in other.json()["message"]
    assert ok.status_code == 200


def test_liveness_readiness_and_options(plain: Any) -> None:
    with plain.client() as client:
        live = client.get(c.LIVENESS_PATH)
        ready = client.get(c.READINESS_PATH)
        options = client.options("/score")
    assert (live.status_code, live.text) == (200, "Healthy")
    assert live.headers["content-type"] == "text/html; charset=utf-8"
    assert ready.status_code == 200
    assert options.status_code == 200 and options.content == b""


def test_unknown_path_is_404_json(plain: Any) -> None:
    with plain.client() as client:
        response = client.get("/nope")
        other_service = client.post("/api/v1/service/other/score", content=b"x")
    assert response.status_code == 404
    assert response.json()["message"].startswith("The requested URL was not found")
    assert other_service.status_code == 404


def test_wrong_method_is_405_json(plain: Any) -> None:
    with plain.client() as client:
        response = client.put("/score", content=b"x")
        swagger = client.post("/swagger.json", content=b"x")
    assert response.status_code == 405
    assert response.json() == {"message": "The method is not allowed for the requested URL."}
    assert response.headers["allow"] == "GET, POST, OPTIONS"
    assert swagger.status_code == 405


def test_body_over_limit_is_413_from_content_length(plain: Any) -> None:
    with plain.client() as client:
        response = client.post("/score", content=b"x" * 1001)
        at_limit = client.post("/score", content=b"x" * 1000)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["message"]
    assert at_limit.status_code == 200


def test_body_over_limit_is_413_while_streaming(plain: Any) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    with plain.client() as client:
        response = client.post("/score", content=chunks())
    assert response.status_code == 413


def test_invalid_utf8_is_400(plain: Any) -> None:
    with plain.client() as client:
        response = client.post("/score", content=b"\xff\xfe")
    assert response.status_code == 400
    assert response.json()["message"].startswith("Input cannot be decoded as UTF-8")


def test_undecorated_swagger(plain: Any) -> None:
    with plain.client() as client:
        v2 = client.get("/swagger.json").json()
        v3 = client.get("/api/v1/service/svc/swagger.json?version=3").json()
        v31 = client.get("/swagger.json?version=3.1").json()
        bad = client.get("/swagger.json?version=4")
    assert v2["swagger"] == "2.0"
    assert v2["info"]["title"] == "svc"
    assert set(v2["paths"]) == {
        "/api/v1/service/svc/",
        "/api/v1/service/svc/score",
        "/api/v1/service/svc/swagger.json",
    }
    assert v2["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert v3["openapi"] == "3.0.1"
    assert v31["openapi"] == "3.1.0"
    assert bad.status_code == 404
    assert bad.json() == {
        "message": "Swagger version [4] is not valid. Supported versions: [2, 3, 3.1]."
    }


def test_raising_run_is_502(serve: Callable[..., Any]) -> None:
    server = serve("raising.py")
    with server.client() as client:
        response = client.post("/score", content=b"x")
    assert response.status_code == 502
    assert response.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    assert response.headers["x-ms-run-function-failed"] == "True"
    assert server.stop() == 0
    assert "ValueError: boom" in server.output()


def test_not_serializable_return_is_500(serve: Callable[..., Any]) -> None:
    server = serve("not_serializable.py")
    with server.client() as client:
        response = client.post("/score", content=b"x")
    assert response.status_code == 500
    assert response.json() == {
        "message": "An unexpected internal error occurred. Check the logs for more info."
    }


@pytest.mark.parametrize("script", ["init_fails.py", "no_run.py"])
def test_init_failure_exits_3(serve: Callable[..., Any], script: str) -> None:
    server = serve(script, ready=False)
    assert server.wait_exit() == c.EXIT_INIT_FAILED
    assert "failed to start" in server.output()


def test_user_swagger_file_wins(
    serve: Callable[..., Any], tmp_path: Path, scripts_dir: Path
) -> None:
    (tmp_path / "swagger.json").write_text('{"swagger": "2.0", "mine": true}')
    (tmp_path / "score.py").write_text((scripts_dir / "plain.py").read_text())
    server = serve(None, "--entry-script", "score.py", "--app-root", str(tmp_path))
    with server.client() as client:
        assert client.get("/swagger.json").json() == {"swagger": "2.0", "mine": True}
        assert client.get("/swagger.json?version=3").json()["openapi"] == "3.0.1"
