"""Hostile input on the auth side (issue #10): odd headers, hostile issuers, and no secret ever
reaching a log record or a decision. Arbitrary headers never raise (hypothesis)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aksml.runtime.auth import ALLOWED, AuthDecision, KeyAuthenticator, NoAuthenticator
from aksml.runtime.auth_token import TokenAuthenticator

PRIMARY = "pk-7d0c5b9e2a6f4c3b8e1d0a9f8e7d6c5b"
SECONDARY = "sk-0123456789abcdef0123456789abcdef"
AUDIENCE = "api://aksml-test"

HOSTILE_HEADERS = [
    "Bearer " + "A" * 1_000_000,
    "Bearer\x00" + PRIMARY,
    "Bearer " + PRIMARY + "\x00",
    "Bearer " + PRIMARY + "\r\nX-Injected: 1",
    "\r\n",
    "Bearer \u202e" + PRIMARY,
    "Bearer\u00a0" + PRIMARY,  # non-breaking space is not a separator
    "Bearer " + "\ud800",
    "Bearer " + "=" * 50,
    "Bearer ..",
    "Bearer ...",
    "Bearer e30.e30.",
    "Bearer e30.e30.e30.e30",
    "Bearer " + "e30." * 5000,
    "Bearer " + "eyJ" + "A" * 20,
    "Bearer, Bearer " + PRIMARY,
    "Bearer " + PRIMARY + ", Basic x",
    "bearer=" + PRIMARY,
    " " * 10_000,
    "\x7f" * 100,
]


def check(auth: Any, header: str | None) -> AuthDecision:
    result: AuthDecision = asyncio.run(auth.check(header))
    return result


def assert_well_formed(decision: AuthDecision) -> None:
    assert isinstance(decision, AuthDecision)
    if decision.ok:
        assert (decision.status, decision.www_authenticate) == (200, None)
    else:
        assert decision.status == 401
        assert decision.www_authenticate is not None
        assert decision.www_authenticate.startswith('Bearer realm="aksml"')
        # a challenge must be a legal header value
        assert all(" " <= c <= "~" for c in decision.www_authenticate)
        assert len(decision.message) < 200


@pytest.mark.parametrize("header", HOSTILE_HEADERS, ids=range(len(HOSTILE_HEADERS)))
def test_hostile_headers_key_mode(header: str) -> None:
    decision = check(KeyAuthenticator(PRIMARY, SECONDARY), header)
    assert_well_formed(decision)
    assert not decision.ok
    assert PRIMARY not in decision.message


@pytest.mark.parametrize("header", HOSTILE_HEADERS, ids=range(len(HOSTILE_HEADERS)))
def test_hostile_headers_token_mode(issuer_server: Any, header: str) -> None:
    async def scenario() -> AuthDecision:
        auth = TokenAuthenticator(issuer_server.issuer, AUDIENCE)
        await auth.start()
        try:
            return await auth.check(header)
        finally:
            await auth.close()

    decision = asyncio.run(scenario())
    assert_well_formed(decision)
    assert not decision.ok


headers = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=st.characters(codec="latin-1")),
    st.builds(lambda s, t: s + t, st.sampled_from(["Bearer ", "bearer\t", " BEARER  "]), st.text()),
    st.builds(
        lambda parts: "Bearer " + ".".join(parts),
        st.lists(st.text(alphabet="ABCDEFabcdef0123456789-_=e3yJ"), min_size=1, max_size=5),
    ),
    st.builds(
        lambda header, body: (
            "Bearer " + _b64(json.dumps(header)) + "." + _b64(json.dumps(body)) + ".c2ln"
        ),
        st.dictionaries(
            st.sampled_from(["alg", "kid", "typ", "jku", "x5u", "crit"]),
            st.one_of(
                st.sampled_from(["RS256", "ES256", "HS256", "none", "rsa-1", "ec-1"]),
                st.integers(),
                st.none(),
                st.lists(st.integers(), max_size=3),
            ),
        ),
        st.dictionaries(st.sampled_from(["exp", "nbf", "iat", "aud", "iss"]), st.integers()),
    ),
)


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_arbitrary_headers_always_decide(issuer_server: Any) -> None:
    loop = asyncio.new_event_loop()
    key_auth = KeyAuthenticator(PRIMARY, SECONDARY)
    token_auth = TokenAuthenticator(issuer_server.issuer, AUDIENCE)
    none_auth = NoAuthenticator()
    loop.run_until_complete(token_auth.start())

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(headers)
    def prop(header: str | None) -> None:
        for auth in (key_auth, token_auth):
            decision = loop.run_until_complete(auth.check(header))
            assert_well_formed(decision)
            assert not decision.ok
        assert loop.run_until_complete(none_auth.check(header)) is ALLOWED

    try:
        prop()
    finally:
        loop.run_until_complete(token_auth.close())
        loop.close()


# --- hostile issuers ---


def _refused_with_issuer(issuer_server: Any, rsa_key: Any, tools: Any, **kwargs: Any) -> str:
    async def scenario() -> AuthDecision:
        auth = TokenAuthenticator(issuer_server.issuer, AUDIENCE, **kwargs)
        await auth.start()
        try:
            return await auth.check(f"Bearer {tools.mint(rsa_key, issuer_server.issuer)}")
        finally:
            await auth.close()

    decision = asyncio.run(scenario())
    assert not decision.ok
    return decision.message


def _override(server: Any, path: str, body: Any, status: int = 200, **headers: str) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    server.overrides[path] = (status, {"Content-Type": "application/json", **headers}, raw)


@pytest.mark.parametrize(
    "case",
    [
        "huge jwks",
        "non-json discovery",
        "discovery array",
        "no jwks_uri",
        "jwks_uri plain http off loopback",
        "jwks_uri not a url",
        "redirect",
        "deeply nested jwks",
    ],
)
def test_hostile_issuer_fails_closed(
    issuer_server: Any, rsa_key: Any, tools: Any, case: str
) -> None:
    disc = issuer_server.discovery_path
    if case == "huge jwks":
        _override(issuer_server, "/keys", b'{"keys": [' + b'{"kty":"x"},' * 200_000 + b"{}]}")
    elif case == "non-json discovery":
        _override(issuer_server, disc, b"<html>hello</html>")
    elif case == "discovery array":
        _override(issuer_server, disc, [issuer_server.base + "/keys"])
    elif case == "no jwks_uri":
        _override(issuer_server, disc, {"issuer": issuer_server.issuer})
    elif case == "jwks_uri plain http off loopback":
        # rejected before any request: nothing leaves 127.0.0.1
        _override(issuer_server, disc, {"jwks_uri": "http://10.255.255.1/keys"})
    elif case == "jwks_uri not a url":
        _override(issuer_server, disc, {"jwks_uri": "file:///etc/passwd"})
    elif case == "redirect":
        _override(issuer_server, "/keys", b"", 302, Location=issuer_server.base + "/keys2")
    elif case == "deeply nested jwks":
        _override(issuer_server, "/keys", b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert "unavailable" in _refused_with_issuer(issuer_server, rsa_key, tools)


def test_slow_issuer_is_bounded(issuer_server: Any, rsa_key: Any, tools: Any) -> None:
    issuer_server.delay_s = 1.0
    message = _refused_with_issuer(issuer_server, rsa_key, tools, http_timeout_s=0.2)
    assert "unavailable" in message


# --- nothing secret in logs ---


def test_no_secret_in_logs(
    issuer_server: Any, rsa_key: Any, tools: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root: every logger, including httpx/httpcore
    secrets: list[str] = [PRIMARY, SECONDARY]
    clock_now = [0.0]
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"primaryKey": PRIMARY, "secondaryKey": SECONDARY}))
    key_auth = KeyAuthenticator(keys_file=str(keys_file), clock=lambda: clock_now[0])
    for header in (f"Bearer {PRIMARY}", f"Bearer {SECONDARY}", f"Bearer {PRIMARY}x", None):
        check(key_auth, header)
    # a rotation to a broken file that holds a would-be key, then a good one
    broken = "pk-broken-" + "9" * 20
    keys_file.write_text('{"primaryKey": "' + broken)
    clock_now[0] += 5
    check(key_auth, f"Bearer {PRIMARY}")
    rotated = "pk-rotated-" + "8" * 20
    keys_file.write_text(json.dumps({"primaryKey": rotated, "secondaryKey": SECONDARY}))
    clock_now[0] += 5
    assert check(key_auth, f"Bearer {rotated}") is ALLOWED
    secrets += [broken, rotated]

    good = tools.mint(rsa_key, issuer_server.issuer)
    tokens = [
        good,
        tools.mint(rsa_key, issuer_server.issuer, audience="api://other"),
        tools.mint(rsa_key, issuer_server.issuer, kid="unknown-kid"),
        tools.mint(rsa_key, issuer_server.issuer, exp=1),
        good[:-5] + "AAAAA",
        "garbage-token-value-123456",
    ]

    async def token_scenario() -> None:
        auth = TokenAuthenticator(issuer_server.issuer, AUDIENCE)
        await auth.start()
        for token in tokens:
            await auth.check(f"Bearer {token}")
        await auth.close()

    asyncio.run(token_scenario())
    # signatures and payloads are secret-bearing parts of a token
    secrets += tokens + [t.split(".")[-1] for t in tokens if t.count(".") == 2]
    records = caplog.records
    assert records, "expected some log records (reloads, refusals, fetches)"
    for record in records:
        text = record.getMessage() + (record.exc_text or "") + str(record.args)
        for secret in secrets:
            if len(secret) >= 8:
                assert secret not in text, (record.name, record.levelname)


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"primaryKey": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"\xff\xfe\x00garbage",
        b'{"primaryKey": "' + b"k" * 70_000 + b'"}',
        b'{"primaryKey": "tab\\tinside"}',
        b"\x00" * 10,
    ],
    ids=["deep array", "deep value", "not utf-8", "over 64 KiB", "control char", "NULs"],
)
def test_hostile_keys_file_contents(tmp_path: Path, content: bytes) -> None:
    """Refused at start with a clean error; on reload the previous keys stay in force."""
    from aksml.errors import WebserviceException

    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(WebserviceException, match="--keys-file") as info:
        KeyAuthenticator(keys_file=str(path))
    assert len(str(info.value)) < 300
    path.write_text(json.dumps({"primaryKey": PRIMARY}))
    now = [0.0]
    auth = KeyAuthenticator(keys_file=str(path), clock=lambda: now[0])
    path.write_bytes(content)
    now[0] += 2
    assert check(auth, f"Bearer {PRIMARY}") is ALLOWED
