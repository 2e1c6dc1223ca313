"""Token auth: JWT bearer tokens verified against an OIDC issuer's discovery document and JWKS.

* Discovery: ``GET <issuer>/.well-known/openid-configuration`` gives ``jwks_uri``; the JWKS is
  fetched with httpx (5 s per operation and 10 s in all, no redirects, 1 MiB cap) and cached.
* The cache is refreshed in the background when it is older than ``jwks_max_age_s`` (1 h), and
  on demand when a token names an unknown ``kid``. Request-triggered fetches (both kinds) happen
  at most once per ``refresh_min_interval_s`` (10 s), so tokens with made-up ``kid`` values
  cannot make the server hammer the issuer: at most one fetch per interval, whatever the load.
* ``start()`` prefetches; if the issuer is unreachable it logs and returns: requests are refused
  (fail closed) until a later refresh, triggered by requests and rate-limited the same way,
  succeeds.
* Only asymmetric algorithms are accepted (RS*, PS*, ES*; never ``none`` or HS*); the token's
  ``alg`` must be one the key supports (the JWK's ``alg`` when it has one; otherwise RS*/PS* for
  RSA keys, and the ES* of the key's curve for EC keys). RSA keys under 2048 bits are ignored.
* A verified token is remembered (by SHA-256, up to 4096 tokens) until its ``exp`` plus the
  leeway, so a client re-using its token costs a hash and a dict lookup, not a signature check.
  The memory is cleared whenever the JWKS is re-fetched. Refusals are never cached.
* Claims: ``exp``, ``iss`` and ``aud`` are required; ``iss`` must equal the configured issuer,
  ``aud`` one of the configured audiences; ``exp``/``nbf``/``iat`` are checked with
  ``leeway_s`` (60 s) of clock skew.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from aksml import contract
from aksml.errors import WebserviceException
from aksml.runtime.auth import (
    ALLOWED,
    DEFAULT_REALM,
    AuthDecision,
    BearerParser,
    refuse,
)

logger = logging.getLogger(__name__)

RSA_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
"""Algorithms an RSA JWK without ``alg`` may verify."""
EC_ALGORITHM_BY_CURVE: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
"""The one algorithm an EC JWK of each curve may verify."""
DEFAULT_ALGORITHMS: Final = (*RSA_ALGORITHMS, *EC_ALGORITHM_BY_CURVE.values())
"""The allow-list: asymmetric algorithms only."""
DEFAULT_LEEWAY_S: Final = 60.0
"""Accepted clock skew for ``exp``, ``nbf`` and ``iat``."""
DEFAULT_REFRESH_MIN_INTERVAL_S: Final = 10.0
"""Least time between two fetches of discovery + JWKS (unknown ``kid``, retries)."""
DEFAULT_JWKS_MAX_AGE_S: Final = 3600.0
"""Age after which the cached JWKS is refreshed in the background."""
HTTP_TIMEOUT_S: Final = 5.0
"""Timeout of each discovery/JWKS request."""
MAX_DOCUMENT_BYTES: Final = 1024 * 1024
"""Largest discovery document or JWKS accepted."""
MAX_TOKEN_CHARS: Final = 16 * 1024
"""Longer bearer tokens are refused without parsing."""
MIN_RSA_BITS: Final = 2048
"""RSA keys shorter than this are ignored."""
REQUIRED_CLAIMS: Final = ("exp", "iss", "aud")
"""Claims every accepted token must carry."""
VERIFIED_CACHE_SIZE: Final = 4096
"""How many verified tokens (by SHA-256) are remembered until their ``exp``."""

_LOOPBACK_NAMES: Final = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One usable key from the issuer's JWKS."""

    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    """The public key."""
    algorithms: frozenset[str]
    """The ``alg`` values this key may verify (already intersected with the allow-list)."""


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> None:
    """https everywhere; plain http only for a loopback host (local testing)."""
    parts = urlsplit(url)
    ok = bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))
    )
    if not ok:
        raise ValueError(f"{what} must be an https:// URL (http:// only for a loopback host)")


class TokenAuthenticator:
    """``auth token``: ``Authorization: Bearer <JWT>`` verified against the issuer's JWKS."""

    def __init__(
        self,
        issuer: str,
        audiences: str | Sequence[str],
        *,
        realm: str = DEFAULT_REALM,
        leeway_s: float = DEFAULT_LEEWAY_S,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        refresh_min_interval_s: float = DEFAULT_REFRESH_MIN_INTERVAL_S,
        jwks_max_age_s: float = DEFAULT_JWKS_MAX_AGE_S,
        http_timeout_s: float = HTTP_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            _check_url(issuer, "the issuer")
        except ValueError as exc:
            raise WebserviceException(
                f"{contract.TOKEN_ISSUER.flag} ({contract.TOKEN_ISSUER.env}): {exc}."
            ) from None
        auds = (audiences,) if isinstance(audiences, str) else tuple(audiences)
        if not auds or not all(auds):
            raise WebserviceException(
                f"Token auth needs {contract.TOKEN_AUDIENCE.flag} ({contract.TOKEN_AUDIENCE.env})."
            )
        bad = [a for a in algorithms if a not in DEFAULT_ALGORITHMS]
        if bad or not algorithms:
            raise WebserviceException(
                f"Token algorithms must be a non-empty subset of {', '.join(DEFAULT_ALGORITHMS)}."
            )
        self.issuer = issuer
        """The expected ``iss`` claim (exactly as configured)."""
        self.audiences = auds
        """The accepted ``aud`` values."""
        self.discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        """Where the OIDC discovery document is fetched from."""
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_s
        self._min_interval = refresh_min_interval_s
        self._max_age = jwks_max_age_s
        self._clock = clock
        self._http_timeout = http_timeout_s
        self._wall = wall_clock
        self._verified: dict[bytes, float] = {}
        self.cache_hits = 0
        """Requests answered from the verified-token cache (diagnostics and tests)."""
        self._parser = BearerParser(realm)
        self._realm = realm
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = -math.inf
        self._last_attempt = -math.inf
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._background: asyncio.Task[None] | None = None
        self._closed = False
        r = realm
        self._no_keys = refuse(
            r, "Token cannot be verified: the issuer's signing keys are unavailable."
        )
        self._unknown_kid = refuse(r, "Token signing key is unknown.")
        self._bad_alg = refuse(r, "Token algorithm is not accepted.")
        self._alg_mismatch = refuse(r, "Token algorithm does not match its signing key.")
        self._too_large = refuse(r, "Token is too large.")
        self._malformed = refuse(r, "Token is malformed.")
        self._expired = refuse(r, "Token has expired.")
        self._immature = refuse(r, "Token is not valid yet.")
        self._bad_aud = refuse(r, "Token audience is not accepted.")
        self._bad_iss = refuse(r, "Token issuer is not accepted.")
        self._bad_sig = refuse(r, "Token signature is invalid.")
        self._invalid = refuse(r, "Token is invalid.")
        self._missing_claim = {
            c: refuse(r, f"Token lacks the required '{c}' claim.") for c in REQUIRED_CLAIMS
        }

    # --- lifecycle ---

    async def start(self) -> None:
        """Prefetch discovery + JWKS; on failure log and return (requests fail closed)."""
        async with self._lock:
            await self._refresh_logged()

    async def close(self) -> None:
        """Stop the background refresh and close the HTTP client."""
        self._closed = True
        task, self._background = self._background, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    @property
    def key_ids(self) -> frozenset[str]:
        """The ``kid`` values currently cached (for diagnostics and tests)."""
        return frozenset(self._keys)

    # --- request path ---

    async def check(self, authorization: str | None) -> AuthDecision:
        """Allow a bearer JWT that verifies against the issuer's keys with the expected claims."""
        cred = self._parser.credential(authorization)
        if isinstance(cred, AuthDecision):
            return cred
        if len(cred) > MAX_TOKEN_CHARS:
            return self._too_large
        if not cred.isascii():
            return self._malformed
        self._maybe_refresh_in_background()
        # a token verified before is accepted again until its exp (+ leeway) without the
        # signature check; keyed by SHA-256 so lookups reveal nothing about stored tokens
        digest = hashlib.sha256(cred.encode()).digest()
        until = self._verified.get(digest)
        if until is not None:
            if self._wall() < until:
                self.cache_hits += 1
                return ALLOWED
            del self._verified[digest]
        decision, expires = await self._verify(cred)
        if decision.ok:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]
            self._verified[digest] = expires + self._leeway
        else:
            logger.debug("token refused: %s", decision.message)
        return decision

    async def _verify(self, token: str) -> tuple[AuthDecision, float]:
        """The decision and, when accepted, the token's ``exp``."""
        decision = await self._verify_decision(token)
        if isinstance(decision, AuthDecision):
            return decision, 0.0
        return ALLOWED, decision

    async def _verify_decision(self, token: str) -> AuthDecision | float:
        try:
            header = jwt.get_unverified_header(token)
        except Exception:  # any parse failure of attacker-controlled input is "malformed"
            return self._malformed
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            return self._bad_alg
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            return self._malformed
        key = await self._key_for(kid)
        if key is None:
            return self._unknown_kid if self._keys else self._no_keys
        if alg not in key.algorithms:
            return self._alg_mismatch
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=list(self.audiences),
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            return self._expired
        except jwt.ImmatureSignatureError:
            return self._immature
        except jwt.InvalidAudienceError:
            return self._bad_aud
        except jwt.InvalidIssuerError:
            return self._bad_iss
        except jwt.MissingRequiredClaimError as exc:
            return self._missing_claim.get(exc.claim, self._invalid)
        except jwt.InvalidSignatureError:
            return self._bad_sig
        except jwt.DecodeError:
            return self._malformed
        except Exception:  # any other failure on attacker-controlled input refuses the token
            return self._invalid
        return float(claims["exp"])

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            # no kid: acceptable only when the issuer publishes exactly one key
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_fetch(self) -> bool:
        return self._clock() - self._last_attempt >= self._min_interval

    def _maybe_refresh_in_background(self) -> None:
        if (
            self._keys
            and self._clock() - self._loaded_at >= self._max_age
            and self._background is None
            and self._may_fetch()
            and not self._closed
        ):
            self._background = asyncio.create_task(self._refresh_in_background())

    async def _key_for(self, kid: str | None) -> SigningKey | None:
        key = self._lookup(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._lookup(kid)
            if key is None and self._may_fetch() and not self._closed:
                self._last_attempt = self._clock()
                await self._refresh_logged()
                key = self._lookup(kid)
        return key

    # --- fetching ---

    async def _refresh_in_background(self) -> None:
        try:
            async with self._lock:
                if self._may_fetch():
                    self._last_attempt = self._clock()
                    await self._refresh_logged()
        finally:
            self._background = None

    async def _refresh_logged(self) -> None:
        """Refresh under the lock; failures keep the previous keys and are logged."""
        try:
            # httpx timeouts are per operation; bound the whole fetch against trickling issuers
            async with asyncio.timeout(2 * self._http_timeout):
                await self._refresh()
        except Exception as exc:  # network, HTTP, JSON or key errors: stay on the old keys
            logger.warning(
                "cannot load signing keys from %s: %s: %s",
                self.discovery_url,
                type(exc).__name__,
                exc,
            )

    async def _get_json(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise ValueError(f"GET {url} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ValueError(f"GET {url} returned more than {MAX_DOCUMENT_BYTES} bytes")
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ValueError(f"GET {url} did not return a JSON object")
        return doc

    async def _refresh(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._http_timeout, follow_redirects=False)
        discovery = await self._get_json(self._client, self.discovery_url)
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("the discovery document has no jwks_uri")
        _check_url(jwks_uri, "jwks_uri")
        if discovery.get("issuer") != self.issuer:
            logger.warning(
                "discovery document issuer %r differs from the configured issuer %r; "
                "tokens must carry the configured one",
                discovery.get("issuer"),
                self.issuer,
            )
        jwks = await self._get_json(self._client, jwks_uri)
        keys = self._parse_jwks(jwks)
        if not keys:
            raise ValueError("the JWKS holds no usable signing key")
        self._keys = keys
        self._verified.clear()  # keys may have been withdrawn: verify every token again
        self._loaded_at = self._clock()
        logger.info("loaded %d signing key(s) from %s", len(keys), jwks_uri)

    def _parse_jwks(self, jwks: dict[str, Any]) -> dict[str, SigningKey]:
        entries = jwks.get("keys")
        if not isinstance(entries, list):
            raise ValueError("the JWKS has no 'keys' list")
        keys: dict[str, SigningKey] = {}
        for jwk in entries:
            if not isinstance(jwk, dict):
                continue
            try:
                parsed = self._parse_jwk(jwk)
            except Exception as exc:  # one bad entry must not drop the others
                logger.warning("ignoring JWKS entry: %s", type(exc).__name__)
                continue
            if parsed is not None:
                kid = jwk.get("kid")
                keys[kid if isinstance(kid, str) else ""] = parsed
        return keys

    def _parse_jwk(self, jwk: dict[str, Any]) -> SigningKey | None:
        if jwk.get("use", "sig") != "sig" or "d" in jwk:
            return None
        declared = jwk.get("alg")
        kty = jwk.get("kty")
        key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
        if kty == "RSA":
            rsa_key = RSAAlgorithm.from_jwk(jwk)
            if not isinstance(rsa_key, rsa.RSAPublicKey) or rsa_key.key_size < MIN_RSA_BITS:
                return None
            key = rsa_key
            supported = set(RSA_ALGORITHMS)
        elif kty == "EC":
            curve_alg = EC_ALGORITHM_BY_CURVE.get(jwk.get("crv", ""))
            if curve_alg is None:
                return None
            ec_key = ECAlgorithm.from_jwk(jwk)
            if not isinstance(ec_key, ec.EllipticCurvePublicKey):
                return None
            key = ec_key
            supported = {curve_alg}
        else:
            return None
        if declared is not None:
            supported &= {declared}
        allowed = frozenset(supported & self._algorithms)
        return SigningKey(key, allowed) if allowed else None
