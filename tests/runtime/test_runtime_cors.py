"""CORS (AML_CORS_ORIGINS / --access-control-allow-origins, flask-cors semantics of the
reference server) and the x-ms-server-version header, on real servers."""

from collections.abc import Callable
from typing import Any

from aksml import contract as c

Serve = Callable[..., Any]
ORIGIN = "https://app.example.org"


def test_allowed_origin_gets_cors_headers_on_score_and_errors(serve: Serve) -> None:
    server = serve("plain.py", env={c.CORS_ORIGINS.env: f"{ORIGIN}, https://other.example.org"})
    with server.client() as client:
        ok = client.post("/score", content=b'{"a": 1}', headers={"Origin": ORIGIN})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        assert ok.headers["vary"] == "Origin"
        assert "x-request-id" in ok.headers["access-control-expose-headers"]
        missing = client.get("/nowhere", headers={"Origin": ORIGIN})
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == ORIGIN
        other = client.post("/score", content=b"{}", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers
        plain = client.post("/score", content=b"{}")
        assert "access-control-allow-origin" not in plain.headers


def test_preflight_allows_get_and_post_with_the_requested_headers(serve: Serve) -> None:
    server = serve("plain.py", c.CORS_ORIGINS.flag, ORIGIN)
    with server.client() as client:
        pre = client.options(
            "/score",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert pre.status_code == 200 and pre.content == b""
        assert pre.headers["access-control-allow-origin"] == ORIGIN
        assert pre.headers["access-control-allow-methods"] == "GET, POST"
        assert pre.headers["access-control-allow-headers"] == "authorization, content-type"
        put = client.options(
            "/score", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        assert "access-control-allow-methods" not in put.headers


def test_wildcard_origin(serve: Serve) -> None:
    server = serve("plain.py", env={c.CORS_ORIGINS.env: "*"})
    with server.client() as client:
        resp = client.get("/swagger.json", headers={"Origin": "https://anything.example"})
        assert resp.headers["access-control-allow-origin"] == "*"
        assert "vary" not in resp.headers


def test_no_cors_headers_unless_configured_and_server_version_header(serve: Serve) -> None:
    server = serve("plain.py")
    with server.client() as client:
        resp = client.post("/score", content=b"{}", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in resp.headers
        assert resp.headers["x-ms-server-version"].startswith("aksml/")
        assert client.get("/").headers["x-ms-server-version"].startswith("aksml/")


def test_server_version_header_can_be_switched_off(serve: Serve) -> None:
    server = serve("plain.py", env={c.SERVER_VERSION_HEADER.env: "false"})
    with server.client() as client:
        assert "x-ms-server-version" not in client.post("/score", content=b"{}").headers
