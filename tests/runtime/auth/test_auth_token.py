"""Token auth against a real local OIDC discovery + JWKS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import jwt
import pytest

from aksml.runtime.auth import ALLOWED, AuthDecision
from aksml.runtime.auth_mode import build_authenticator
from aksml.runtime.auth_token import TokenAuthenticator

T = TypeVar("T")
JWKS = "/keys"


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


async def decide(auth: TokenAuthenticator, token: str) -> AuthDecision:
    return await auth.check(f"Bearer {token}")


def make(server: Any, clock: Any = None, **kwargs: Any) -> TokenAuthenticator:
    if clock is not None:
        kwargs["clock"] = clock
    return TokenAuthenticator(server.issuer, "api://aksml-test", **kwargs)


def assert_refused(decision: AuthDecision, fragment: str) -> None:
    assert not decision.ok, decision
    assert decision.status == 401
    assert decision.www_authenticate is not None
    assert decision.www_authenticate.startswith('Bearer realm="aksml", error="invalid_token"')
    assert fragment in decision.message, decision.message


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_valid_token(issuer_server: Any, rsa_key: Any, ec_key: Any, tools: Any, which: str) -> None:
    key = rsa_key if which == "rsa" else ec_key

    async def scenario() -> None:
        auth = make(issuer_server)
        await auth.start()
        assert auth.key_ids == {"rsa-1", "ec-1"}
        token = tools.mint(key, issuer_server.issuer)
        assert await decide(auth, token) is ALLOWED
        assert await auth.check(f"bearer  {token} ") is ALLOWED
        await auth.close()

    run(scenario)
    # one discovery + one JWKS fetch, cached afterwards
    assert issuer_server.hits[JWKS] == 1


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "PS512"])
def test_rsa_family_algorithms(issuer_server: Any, rsa_key: Any, tools: Any, alg: str) -> None:
    async def scenario() -> AuthDecision:
        auth = make(issuer_server)
        await auth.start()
        try:
            return await decide(auth, tools.mint(rsa_key, issuer_server.issuer, alg=alg))
        finally:
            await auth.close()

    assert run(scenario) is ALLOWED


def test_build_token_mode(issuer_server: Any, rsa_key: Any, tools: Any) -> None:
    async def scenario() -> None:
        auth = build_authenticator(
            "token",
            token_issuer=issuer_server.issuer,
            token_audience="00000000-aaaa-bbbb-cccc-000000000000, api://aksml-test",
        )
        await auth.start()
        assert await auth.check(f"Bearer {tools.mint(rsa_key, issuer_server.issuer)}") is ALLOWED
        other = tools.mint(
            rsa_key, issuer_server.issuer, audience="00000000-aaaa-bbbb-cccc-000000000000"
        )
        assert await auth.check(f"Bearer {other}") is ALLOWED
        await auth.close()

    run(scenario)


def hostile_tokens(
    issuer: str, rsa_key: Any, ec_key: Any, tools: Any
) -> dict[str, tuple[str, str]]:
    """name -> (token, expected message fragment)."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": tools.audience, "exp": now + 600, "nbf": now}
    pem = rsa_key.public_pem()
    return {
        "alg none": (
            jwt.encode(claims, None, algorithm="none", headers={"kid": rsa_key.kid}),
            "algorithm is not accepted",
        ),
        "alg none unsigned by hand": (
            tools.b64url(b'{"alg":"none","typ":"JWT"}')
            + "."
            + tools.b64url(str(claims).encode())
            + ".",
            "algorithm is not accepted",
        ),
        "alg NONE uppercase": (
            tools.forge_hs256(b"", {"alg": "NONE", "kid": rsa_key.kid}, claims),
            "algorithm is not accepted",
        ),
        "HS256 with the public key as secret": (
            tools.forge_hs256(pem, {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}, claims),
            "algorithm is not accepted",
        ),
        "HS256 with the JWK modulus as secret": (
            tools.forge_hs256(
                rsa_key.public_jwk()["n"].encode(), {"alg": "HS256", "kid": rsa_key.kid}, claims
            ),
            "algorithm is not accepted",
        ),
        "wrong aud": (
            tools.mint(rsa_key, issuer, audience="api://someone-else"),
            "audience",
        ),
        "aud list without ours": (
            tools.mint(rsa_key, issuer, audience=["api://a", "api://b"]),
            "audience",
        ),
        "wrong iss": (tools.mint(rsa_key, issuer + "x"), "issuer"),
        "v1 issuer for a v2 config": (
            tools.mint(rsa_key, "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"),
            "issuer",
        ),
        "expired beyond the skew": (
            tools.mint(rsa_key, issuer, exp=now - 120, iat=now - 700, nbf=now - 700),
            "expired",
        ),
        "future nbf beyond the skew": (tools.mint(rsa_key, issuer, nbf=now + 300), "not valid yet"),
        "future iat beyond the skew": (tools.mint(rsa_key, issuer, iat=now + 300), "not valid yet"),
        "missing exp": (tools.mint(rsa_key, issuer, exp=None), "'exp'"),
        "missing aud": (tools.mint(rsa_key, issuer, audience=None), "'aud'"),
        "missing iss": (tools.mint(rsa_key, issuer, iss=None), "'iss'"),
        "string exp": (tools.mint(rsa_key, issuer, exp="tomorrow"), "malformed"),
        "EC signature under the RSA kid": (
            tools.mint(ec_key, issuer, kid=rsa_key.kid),
            "does not match its signing key",
        ),
        "RSA signature under the EC kid": (
            tools.mint(rsa_key, issuer, kid=ec_key.kid),
            "does not match its signing key",
        ),
        "ES384 header on a P-256 key": (
            _reheader(tools.mint(ec_key, issuer), tools, {"alg": "ES384", "kid": ec_key.kid}),
            "does not match its signing key",
        ),
        "tampered payload": (
            _tamper(tools.mint(rsa_key, issuer), tools, {**claims, "sub": "admin"}),
            "signature is invalid",
        ),
        "signature stripped": (tools.mint(rsa_key, issuer).rsplit(".", 1)[0] + ".", "invalid"),
        "no kid with two published keys": (tools.mint(rsa_key, issuer, kid=None), "unknown"),
        "garbage": ("garbage", "malformed"),
        "three garbage segments": ("a.b.c", "malformed"),
        "header not an object": (tools.b64url(b"[1]") + ".e30.x", "malformed"),
        "kid not a string": (
            tools.forge_hs256(b"", {"alg": "RS256", "kid": 7}, claims),
            "malformed",
        ),
        "non-ASCII": ("\u00e9.\u00e9.\u00e9", "malformed"),
        "too large": ("a" * 20000, "too large"),
    }


def _reheader(token: str, tools: Any, header: dict[str, Any]) -> str:
    import json

    _, payload, sig = token.split(".")
    return tools.b64url(json.dumps(header).encode()) + "." + payload + "." + sig


def _tamper(token: str, tools: Any, payload: dict[str, Any]) -> str:
    import json

    head, _, sig = token.split(".")
    return head + "." + tools.b64url(json.dumps(payload).encode()) + "." + sig


def test_hostile_tokens_are_refused(
    issuer_server: Any, rsa_key: Any, ec_key: Any, tools: Any
) -> None:
    cases = hostile_tokens(issuer_server.issuer, rsa_key, ec_key, tools)

    async def scenario() -> None:
        auth = make(issuer_server)
        await auth.start()
        for name, (token, fragment) in cases.items():
            decision = await decide(auth, token)
            assert fragment in decision.message, (name, decision.message)
            assert_refused(decision, fragment)
            assert token not in decision.message, name
        await auth.close()

    run(scenario)


def test_clock_skew_is_tolerated(issuer_server: Any, rsa_key: Any, tools: Any) -> None:
    now = int(time.time())

    async def scenario() -> None:
        auth = make(issuer_server)
        await auth.start()
        recently_expired = tools.mint(rsa_key, issuer_server.issuer, exp=now - 20, iat=now - 600)
        assert await decide(auth, recently_expired) is ALLOWED
        soon_valid = tools.mint(rsa_key, issuer_server.issuer, nbf=now + 20)
        assert await decide(auth, soon_valid) is ALLOWED
        strict = make(issuer_server, leeway_s=0)
        await strict.start()
        assert_refused(await decide(strict, recently_expired), "expired")
        await strict.close()
        await auth.close()

    run(scenario)


def test_unknown_kid_refreshes_once_then_rate_limits(
    issuer_server: Any, rsa_key: Any, tools: Any, clock: Any
) -> None:
    async def scenario() -> None:
        auth = make(issuer_server, clock=clock)
        await auth.start()
        assert issuer_server.hits[JWKS] == 1
        unknown = tools.mint(rsa_key, issuer_server.issuer, kid="not-published")
        assert_refused(await decide(auth, unknown), "signing key is unknown")
        assert issuer_server.hits[JWKS] == 2  # exactly one refresh
        # a flood of made-up kids does not reach the issuer again within the interval
        results = await asyncio.gather(
            *(
                decide(auth, tools.mint(rsa_key, issuer_server.issuer, kid=f"junk-{i}"))
                for i in range(20)
            )
        )
        assert all(not r.ok for r in results)
        assert issuer_server.hits[JWKS] == 2
        # known keys keep working meanwhile
        assert await decide(auth, tools.mint(rsa_key, issuer_server.issuer)) is ALLOWED
        clock.advance(10)
        assert_refused(await decide(auth, unknown), "unknown")
        assert issuer_server.hits[JWKS] == 3
        await auth.close()

    run(scenario)


def test_issuer_key_rotation_is_picked_up(
    issuer_server: Any, rsa_key: Any, ec_key: Any, tools: Any, clock: Any
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    new_key = type(rsa_key)(
        "rsa-2", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
    )

    async def scenario() -> None:
        auth = make(issuer_server, clock=clock)
        await auth.start()
        # the issuer publishes a new key and signs with it (JWK now declares alg)
        issuer_server.jwks = {"keys": [new_key.public_jwk(with_alg=True), ec_key.public_jwk()]}
        clock.advance(10)
        assert await decide(auth, tools.mint(new_key, issuer_server.issuer)) is ALLOWED
        # the retired key is gone after that refresh
        assert_refused(await decide(auth, tools.mint(rsa_key, issuer_server.issuer)), "unknown")
        # the declared alg is enforced: PS256 is refused for an alg=RS256 JWK
        assert_refused(
            await decide(auth, tools.mint(new_key, issuer_server.issuer, alg="PS256")),
            "does not match",
        )
        await auth.close()

    run(scenario)


def test_stale_cache_refreshes_in_background(
    issuer_server: Any, rsa_key: Any, tools: Any, clock: Any
) -> None:
    async def scenario() -> None:
        auth = make(issuer_server, clock=clock, jwks_max_age_s=3600)
        await auth.start()
        clock.advance(3601)
        token = tools.mint(rsa_key, issuer_server.issuer)
        assert await decide(auth, token) is ALLOWED  # served from cache, refresh started
        for _ in range(100):
            if issuer_server.hits[JWKS] == 2:
                break
            await asyncio.sleep(0.02)
        assert issuer_server.hits[JWKS] == 2
        await auth.close()

    run(scenario)


def test_issuer_down_at_start_fails_closed_then_recovers(
    issuer_server: Any, rsa_key: Any, tools: Any, clock: Any
) -> None:
    issuer_server.down = True

    async def scenario() -> None:
        auth = make(issuer_server, clock=clock)
        await auth.start()  # must not raise
        token = tools.mint(rsa_key, issuer_server.issuer)
        assert_refused(await decide(auth, token), "signing keys are unavailable")
        assert issuer_server.hits[JWKS] == 0
        issuer_server.down = False
        # still inside the retry interval: refused without contacting the issuer
        hits = sum(issuer_server.hits.values())
        assert_refused(await decide(auth, token), "unavailable")
        assert sum(issuer_server.hits.values()) == hits
        clock.advance(10)
        assert await decide(auth, token) is ALLOWED
        # the issuer going down later keeps the cached keys in use
        issuer_server.down = True
        clock.advance(3601)
        assert await decide(auth, token) is ALLOWED
        await auth.close()

    run(scenario)


def test_issuer_unreachable_does_not_crash(rsa_key: Any, tools: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}/tenant/v2.0"

    async def scenario() -> AuthDecision:
        auth = TokenAuthenticator(issuer, "api://aksml-test")
        await auth.start()
        try:
            return await decide(auth, tools.mint(rsa_key, issuer))
        finally:
            await auth.close()

    assert_refused(run(scenario), "unavailable")


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": "nope"},
        {"nokeys": 1},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]},
        {"keys": [{"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"}]},
    ],
)
def test_unusable_jwks_is_refused(issuer_server: Any, rsa_key: Any, tools: Any, jwks: Any) -> None:
    issuer_server.jwks = jwks

    async def scenario() -> AuthDecision:
        auth = make(issuer_server)
        await auth.start()
        try:
            return await decide(auth, tools.mint(rsa_key, issuer_server.issuer))
        finally:
            await auth.close()

    assert_refused(run(scenario), "unavailable")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_symmetric_and_weak_jwks_entries_are_ignored(
    issuer_server: Any, rsa_key: Any, tools: Any
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = type(rsa_key)(
        "weak", rsa.generate_private_key(public_exponent=65537, key_size=1024), "RS256"
    )
    issuer_server.jwks = {
        "keys": [
            {"kty": "oct", "k": tools.b64url(b"secret"), "kid": "hmac", "alg": "HS256"},
            {**rsa_key.public_jwk(), "use": "enc", "kid": "enc"},
            weak.public_jwk(),
            rsa_key.public_jwk(),
            "not-a-dict",
        ]
    }

    async def scenario() -> None:
        auth = make(issuer_server)
        await auth.start()
        assert auth.key_ids == {"rsa-1"}
        forged = tools.forge_hs256(b"secret", {"alg": "HS256", "kid": "hmac"}, {})
        assert_refused(await decide(auth, forged), "algorithm is not accepted")
        assert_refused(await decide(auth, tools.mint(weak, issuer_server.issuer)), "unknown")
        # a single published key also verifies tokens without kid
        assert await decide(auth, tools.mint(rsa_key, issuer_server.issuer, kid=None)) is ALLOWED
        await auth.close()

    run(scenario)


def test_algorithm_allow_list_rejects_symmetric(issuer_server: Any) -> None:
    from aksml.errors import WebserviceException

    for algs in (["HS256"], ["none"], []):
        with pytest.raises(WebserviceException, match="subset"):
            TokenAuthenticator(issuer_server.issuer, "a", algorithms=algs)
    with pytest.raises(WebserviceException, match="--token-audience"):
        TokenAuthenticator(issuer_server.issuer, [])


def test_https_issuer_accepted_without_network() -> None:
    auth = build_authenticator(
        "token",
        token_issuer="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        token_audience="api://aksml",
    )
    assert isinstance(auth, TokenAuthenticator)
    assert auth.discovery_url == (
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000"
        "/v2.0/.well-known/openid-configuration"
    )


def test_verified_tokens_are_remembered_until_exp(
    issuer_server: Any, rsa_key: Any, ec_key: Any, tools: Any, clock: Any
) -> None:
    wall = [time.time()]

    async def scenario() -> None:
        auth = make(issuer_server, clock=clock, wall_clock=lambda: wall[0])
        await auth.start()
        token = tools.mint(rsa_key, issuer_server.issuer, lifetime_s=600)
        assert await decide(auth, token) is ALLOWED
        assert auth.cache_hits == 0
        assert await decide(auth, token) is ALLOWED
        assert await decide(auth, token) is ALLOWED
        assert auth.cache_hits == 2
        # refusals are not remembered
        bad = tools.mint(rsa_key, issuer_server.issuer, audience="api://other")
        assert_refused(await decide(auth, bad), "audience")
        assert_refused(await decide(auth, bad), "audience")
        assert auth.cache_hits == 2
        # past exp + leeway the memory no longer answers (the full check runs again)
        wall[0] += 600 + 61
        assert await decide(auth, token) is ALLOWED  # PyJWT's real clock: still valid
        assert auth.cache_hits == 2
        # the issuer withdraws the RSA key: after the refresh the remembered token is refused
        issuer_server.jwks = {"keys": [ec_key.public_jwk()]}
        clock.advance(10)
        probe = tools.mint(rsa_key, issuer_server.issuer, kid="probe")  # triggers a refresh
        assert_refused(await decide(auth, probe), "unknown")
        assert_refused(await decide(auth, token), "unknown")
        await auth.close()

    run(scenario)
