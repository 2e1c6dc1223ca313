"""inference-schema decorated scripts (numpy, pandas), request_headers and generated swagger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def numpy_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    start = request.getfixturevalue("start_server_fn")
    scripts = request.getfixturevalue("scripts_dir")
    server = start(["--entry-script", str(scripts / "numpy_decorated.py")])
    server.wait_ready()
    yield server
    assert server.stop() == 0


def test_numpy_parameters_are_converted(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        response = client.post("/score", json={"data": [[1, 2, 3], [4, 5, 6]]})
        scaled = client.post("/score", json={"data": [[1, 1, 1]], "scale": 2})
    assert response.status_code == 200, response.text
    assert response.json() == [6.0, 15.0]
    assert scaled.json() == [6.0]


def test_schema_get_uses_query_parameters(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        response = client.get("/score", params={"data": "[[1, 2, 3]]", "scale": "3"})
    assert response.status_code == 200, response.text
    assert response.json() == [18.0]


def test_schema_needs_json_content_type(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        response = client.post(
            "/score", content=b'{"data": [[1, 2, 3]]}', headers={"content-type": "text/plain"}
        )
        vendor = client.post(
            "/score",
            content=b'{"data": [[1, 2, 3]]}',
            headers={"content-type": "application/vnd.x+json; charset=utf-8"},
        )
    assert response.status_code == 415
    assert response.json() == {"message": "Expects Content-Type to be application/json"}
    assert vendor.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "POST body is empty. Expecting a JSON dictionary."),
        (b"[1, 2]", "POST body should be a JSON dictionary."),
        (b'{"scale": 1}', "A value is not provided for the 'data' parameter."),
    ],
)
def test_schema_malformed_input_is_400(numpy_server: Any, body: bytes, message: str) -> None:
    with numpy_server.client() as client:
        response = client.post("/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_schema_invalid_json_is_400(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        response = client.post(
            "/score", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["message"].startswith("POST body could not be decoded as JSON: ")


def test_conversion_error_is_a_script_error(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        response = client.post("/score", json={"data": [["a", "b", "c", "d"]]})
    assert response.status_code == 502
    assert response.headers["x-ms-run-function-failed"] == "True"


def test_swagger_from_decorators(numpy_server: Any) -> None:
    with numpy_server.client() as client:
        v2 = client.get("/swagger.json?version=2").json()
        v3 = client.get("/swagger.json?version=3").json()
    service_input = v2["definitions"]["ServiceInput"]
    assert service_input["type"] == "object"
    assert service_input["properties"]["data"]["format"] == "numpy.ndarray"
    assert service_input["example"]["data"] == [[1.0, 2.0, 3.0]]
    assert service_input["example"]["scale"] == 1.0
    assert v2["definitions"]["ServiceOutput"]["type"] == "array"
    assert v2["paths"]["/score"]["post"]["parameters"][0]["schema"] == {
        "$ref": "#/definitions/ServiceInput"
    }
    assert v3["components"]["schemas"]["ServiceInput"] == service_input


def test_pandas_records(serve: Callable[..., Any]) -> None:
    server = serve("pandas_decorated.py")
    with server.client() as client:
        response = client.post("/score", json={"frame": [{"a": 1, "b": 2.0}, {"a": 5, "b": 1.0}]})
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "sum_a": 6, "columns": ["a", "b"]}


def test_request_headers_parameter(serve: Callable[..., Any]) -> None:
    server = serve("with_headers.py")
    with server.client() as client:
        response = client.post("/score", content=b"hi", headers={"X-Custom-Thing": "v"})
    assert response.status_code == 200
    body = response.json()
    assert body["raw"] == "hi"
    assert body["headers"]["X-Custom-Thing"] == "v"
    assert body["headers"]["Content-Length"] == "2"
