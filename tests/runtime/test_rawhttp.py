"""``@rawhttp`` scripts and ``AMLResponse``: real ``aksml serve`` processes in thread and
process mode, plus the pure request/response conversions."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Response

from aksml import contract as c
from aksml.runtime.amlcompat import AMLRequest, AMLResponse, build_request, response_result
from aksml.runtime.messages import MSG_RUN_FAILED, ScoreRequest

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture(scope="module", params=["thread", "process"])
def raw(request: pytest.FixtureRequest, start_server_fn: Callable[..., Any]) -> Iterator[Any]:
    """The rawhttp.py fixture served in thread mode, then in process mode."""
    server = start_server_fn(
        [
            "--entry-script",
            str(SCRIPTS / "rawhttp.py"),
            "--service-name",
            "svc",
            "--worker-mode",
            request.param,
        ]
    )
    server.wait_ready()
    yield server
    assert server.stop() == 0


def test_get_reaches_run_with_the_request(raw: Any) -> None:
    with raw.client() as client:
        response = client.get("/score?a=1&b=x")
    assert response.status_code == 200
    assert response.text == "/score?a=1&b=x"  # request.full_path
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-ms-run-function-failed"] == "False"
    assert float(response.headers["x-ms-run-fn-exec-ms"]) >= 0


def test_post_custom_status_and_repeated_headers(raw: Any) -> None:
    with raw.client() as client:
        response = client.post(
            "/score", content="héllo".encode(), headers={"content-type": "text/plain"}
        )
    assert response.status_code == 201
    assert response.json() == {"echo": "héllo", "path": "/score", "content_type": "text/plain"}
    assert response.headers.get_list("x-custom") == ["a", "b"]
    assert response.headers.get_list("x-single") == ["one"]
    assert response.headers.get_list("content-type") == ["text/html; charset=utf-8"]
    assert response.headers.get_list("x-ms-run-function-failed") == ["False"]
    assert response.headers["x-request-id"]


def test_aml_path_reaches_run(raw: Any) -> None:
    with raw.client() as client:
        response = client.post("/api/v1/service/svc/score", content=b"x")
    assert response.status_code == 201
    assert response.json()["echo"] == "x"
    assert response.json()["path"] == "/api/v1/service/svc/score"  # request.path


def test_script_500_is_502_and_marks_the_run_failed(raw: Any) -> None:
    with raw.client() as client:
        response = client.post("/score?do=fail", content=b"x")
    assert response.status_code == 502  # azureml-fe's rewrite of a container's 500
    assert response.text == "model broke"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers.get_list("x-ms-run-function-failed") == ["True"]


def test_other_5xx_pass_through_failed(raw: Any) -> None:
    with raw.client() as client:
        response = client.post("/score?do=unavailable", content=b"x")
    assert response.status_code == 503
    assert response.json() == {"retry": True}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "1"
    assert response.headers.get_list("x-ms-run-function-failed") == ["True"]


def test_exception_in_raw_run_is_502(raw: Any) -> None:
    with raw.client() as client:
        response = client.post("/score?do=raise", content=b"x")
    assert response.status_code == 502
    assert response.json() == {"message": MSG_RUN_FAILED}
    assert response.headers["x-ms-run-function-failed"] == "True"


def test_plain_values_and_empty_responses(raw: Any) -> None:
    with raw.client() as client:
        value = client.post("/score?do=value", content=b"12345")
        empty = client.post("/score?do=none", content=b"")
    assert (value.status_code, value.json()) == (200, {"length": 5})
    assert value.headers["content-type"] == "application/json"
    assert (empty.status_code, empty.content) == (202, b"{}")
    assert empty.headers["content-type"] == "application/json"


def test_headers_and_form_as_gunicorn_gives_them(raw: Any) -> None:
    headers = [("X-A", "1"), ("X-A", "2"), ("x_dropped", "3"), ("Authorization", "Bearer k")]
    with raw.client() as client:
        seen = client.post("/score?do=headers", content=b"x", headers=headers)
        form = client.post("/score?do=form", data={"a": "1", "b": "2"})
    assert seen.json() == {"X-A": "1,2", "Authorization": "Bearer k"}
    assert seen.headers.get_list("content-type") == ["application/json"]
    assert form.json() == {"form": {"a": "1", "b": "2"}, "url": f"{raw.url}/score?do=form"}


def test_request_headers_parameter_with_rawhttp(raw: Any) -> None:
    with raw.client() as client:
        response = client.post("/score?do=request_headers", content=b"x", headers={"X-Q": "1"})
    assert response.json() == {"request_headers": {"X-Q": "1"}, "same": True}


def test_rawhttp_with_input_schema_fails_to_load(serve: Callable[..., Any]) -> None:
    server = serve("rawhttp_schema.py", ready=False)
    assert server.wait_exit() == c.EXIT_INIT_FAILED
    assert "both @rawhttp and @input_schema" in server.output()


def test_installed_azureml_contrib_services_is_not_shadowed(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    package = tmp_path / "site" / "azureml" / "contrib" / "services"
    package.mkdir(parents=True)
    for folder in (package, package.parent, package.parent.parent):
        (folder / "__init__.py").write_text("")
    (package / "aml_request.py").write_text(
        textwrap.dedent(
            """
            REAL = True
            _rawHttpRequested = False

            def rawhttp(func):
                global _rawHttpRequested
                _rawHttpRequested = True
                return func
            """
        )
    )
    script = tmp_path / "score.py"
    script.write_text(
        textwrap.dedent(
            """
            import azureml.contrib.services.aml_request as aml_request
            from azureml.contrib.services.aml_request import rawhttp

            def init():
                pass

            @rawhttp
            def run(request):
                return {"real": aml_request.REAL, "type": type(request).__name__}
            """
        )
    )
    server = serve(str(script), "--source-dir", str(tmp_path / "site"), cwd=tmp_path)
    with server.client() as client:
        response = client.get("/score")
    assert response.json() == {"real": True, "type": "AMLRequest"}


def test_aliases_resolve_every_import_form_without_azureml() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from aksml.runtime.script import install_contrib_aliases
        install_contrib_aliases()
        import azureml.contrib.services.aml_request as request_module
        from azureml.contrib.services import aml_response
        from azureml.contrib.services.aml_response import AMLResponse
        import aksml.runtime.amlcompat as compat
        print(json.dumps([
            request_module is compat,
            aml_response is compat,
            AMLResponse is compat.AMLResponse,
            compat.__spec__.name,
            sys.modules["azureml"].__path__ == [],
        ]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == [True, True, True, "aksml.runtime.amlcompat", True]


# --- the conversions, in-process ---


def _request(**overrides: Any) -> ScoreRequest:
    fields: dict[str, Any] = {
        "method": "POST",
        "query": b"a=1&a=2",
        "content_type": "application/json",
        "headers": (
            ("host", "example.org:8080"),
            ("content-type", "application/json"),
            ("content-length", "7"),
            ("authorization", "Bearer secret"),
            ("x-b", "1"),
            ("x-b", "2"),
            ("x_c", "3"),
        ),
        "body": b'{"a":1}',
        "path": "/api/v1/service/svc/score",
    }
    fields.update(overrides)
    return ScoreRequest(**fields)


def test_build_request_is_the_wsgi_view() -> None:
    request = build_request(_request(), hide_authorization=True)
    assert isinstance(request, AMLRequest)
    assert request.full_path == "/api/v1/service/svc/score?a=1&a=2"
    assert request.args.getlist("a") == ["1", "2"]
    assert request.get_json() == {"a": 1}
    assert request.host == "example.org:8080"
    assert request.url == "http://example.org:8080/api/v1/service/svc/score?a=1&a=2"
    assert dict(request.headers) == {
        "Content-Type": "application/json",
        "Content-Length": "7",
        "Host": "example.org:8080",
        "X-B": "1,2",
    }
    shown = build_request(_request(path="/score/é"), hide_authorization=False)
    assert shown.headers["Authorization"] == "Bearer secret"
    assert shown.path == "/score/é"


def test_build_request_without_host_or_body() -> None:
    request = build_request(
        _request(method="GET", headers=(), body=b"", content_type="", query=b""),
        hide_authorization=False,
    )
    assert request.url == "http://localhost/api/v1/service/svc/score"
    assert request.get_data() == b""
    assert request.full_path == "/api/v1/service/svc/score?"  # Flask/werkzeug's rendering


def test_aml_response_like_the_reference() -> None:
    plain = AMLResponse("text", 201, {"x-multi": "a, b ,c", "Content-Type": "text/csv"})
    assert plain.status_code == 201
    assert plain.headers.getlist("x-multi") == ["a", "b", "c"]
    assert plain.headers.getlist("Content-Type") == ["text/csv"]
    assert plain.headers["x-ms-run-function-failed"] == "False"
    assert AMLResponse("x", 200).headers["Content-Type"] == "text/html; charset=utf-8"
    as_json = AMLResponse({"a": 1}, 200, json_str=True, run_function_failed=True)
    assert (as_json.get_data(), as_json.mimetype) == (b'{"a": 1}', "application/json")
    assert AMLResponse(None, 204).get_data() == b"{}"


def test_response_result_passes_a_response_through() -> None:
    result = response_result(AMLResponse(b"\x00png", 200, {"Content-Type": "image/png"}), 1.5)
    assert (result.status, result.body, result.content_type) == (200, b"\x00png", b"image/png")
    assert (result.run_failed, result.exec_ms, result.error) == (False, 1.5, None)
    assert result.headers == ()
    assert pickle.loads(pickle.dumps(result)) == result

    response = Response(
        "gone",
        410,
        headers=[("X-Request-Id", "mine"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    gone = response_result(response, 0.0)
    assert gone.status == 410 and gone.error == "run() returned status 410"
    assert gone.content_type == b"text/plain; charset=utf-8"  # werkzeug's own default
    assert gone.headers == ((b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2"))

    flagged = response_result(AMLResponse("ok", 200, run_function_failed=True), 0.0)
    assert (flagged.status, flagged.run_failed) == (200, True)
    assert response_result(AMLResponse("no", 500), 0.0)[:3] == (502, b"no", True)


def test_response_result_survives_a_failing_stream() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        raise RuntimeError("stream broke")

    result = response_result(Response(chunks()), 2.0)
    assert (result.status, result.run_failed) == (502, True)
    assert json.loads(result.body) == {"message": MSG_RUN_FAILED}
