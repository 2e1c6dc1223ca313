"""Fixtures for the auth tests: test key pairs, a real OIDC discovery + JWKS server on 127.0.0.1,
and a token minting helper."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "api://aksml-test"
TENANT_PATH = "/00000000-0000-0000-0000-000000000000/v2.0"


@dataclass
class KeyPair:
    """A private signing key with its kid and public JWK."""

    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    alg: str

    def public_jwk(self, *, with_alg: bool = False) -> dict[str, Any]:
        """The public JWK (Entra-style: no 'alg' unless asked)."""
        pub = self.private.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            jwk = json.loads(RSAAlgorithm.to_jwk(pub))
        else:
            jwk = json.loads(ECAlgorithm.to_jwk(pub))
        jwk.update({"kid": self.kid, "use": "sig"})
        if with_alg:
            jwk["alg"] = self.alg
        return jwk

    def public_pem(self) -> bytes:
        """The public key in PEM form (what an attacker has)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="session")
def rsa_key() -> KeyPair:
    """An RSA-2048 key pair."""
    return KeyPair("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    """An EC P-256 key pair."""
    return KeyPair("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")


@dataclass
class IssuerServer:
    """A local OIDC issuer: discovery document and JWKS over real HTTP on 127.0.0.1."""

    base: str
    jwks: dict[str, Any]
    down: bool = False
    hits: Counter[str] = field(default_factory=Counter)
    overrides: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    """path -> (status, headers, body) served instead of the normal answer."""
    delay_s: float = 0.0
    """Sleep before answering (a slow issuer)."""

    @property
    def issuer(self) -> str:
        """The issuer URL (Entra v2 shaped path)."""
        return self.base + TENANT_PATH

    @property
    def discovery_path(self) -> str:
        """Path of the discovery document."""
        return TENANT_PATH + "/.well-known/openid-configuration"


def _serve(server: IssuerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.hits[self.path] += 1
            if server.delay_s:
                time.sleep(server.delay_s)
            if self.path in server.overrides:
                status, headers, raw = server.overrides[self.path]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            elif server.down:
                self._send(503, {"error": "down"})
            elif self.path == TENANT_PATH + "/.well-known/openid-configuration":
                self._send(200, {"issuer": server.issuer, "jwks_uri": server.base + "/keys"})
            elif self.path == "/keys":
                self._send(200, server.jwks)
            else:
                self._send(404, {"error": "not found"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out on purpose (slow-issuer tests) are not errors."""


@pytest.fixture
def issuer_server(rsa_key: KeyPair, ec_key: KeyPair) -> Iterator[IssuerServer]:
    """A running issuer publishing the RSA and EC test keys."""
    state = IssuerServer(base="", jwks={"keys": [rsa_key.public_jwk(), ec_key.public_jwk()]})
    httpd = _QuietServer(("127.0.0.1", 0), _serve(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def mint(
    key: KeyPair,
    issuer: str,
    *,
    alg: str | None = None,
    kid: str | None = "default",
    audience: str | None = AUDIENCE,
    lifetime_s: int = 600,
    **claims: Any,
) -> str:
    """A signed JWT; pass a claim as None to omit it."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": "client-1",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": key.kid if kid == "default" else kid}
    if headers["kid"] is None:
        del headers["kid"]
    return jwt.encode(payload, key.private, algorithm=alg or key.alg, headers=headers)


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """An HS256 token built by hand (PyJWT refuses to use a PEM public key as HMAC secret)."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


class FakeClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fresh hand-driven clock."""
    return FakeClock()


@dataclass
class Tools:
    """Helpers for tests (conftest modules cannot be imported under importlib import mode)."""

    mint = staticmethod(mint)
    forge_hs256 = staticmethod(forge_hs256)
    b64url = staticmethod(b64url)
    audience: str = AUDIENCE


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Token helpers."""
    return Tools()
