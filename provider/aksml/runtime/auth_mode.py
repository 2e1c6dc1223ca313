"""The authenticator for an auth mode (``key``, ``token`` or ``none``).

Kept apart from :mod:`aksml.runtime.auth` (key auth and the shared decision types) and
:mod:`aksml.runtime.auth_token` (token auth), which both import nothing from here: the import
direction is ``auth_mode -> auth_token -> auth``.
"""

from __future__ import annotations

from aksml import contract
from aksml.errors import WebserviceException
from aksml.runtime.auth import (
    AUTH_MODES,
    DEFAULT_REALM,
    DEFAULT_RELOAD_INTERVAL_S,
    Authenticator,
    KeyAuthenticator,
    NoAuthenticator,
)


def build_authenticator(
    mode: str,
    *,
    primary_key: str | None = None,
    secondary_key: str | None = None,
    keys_file: str | None = None,
    token_issuer: str | None = None,
    token_audience: str | None = None,
    realm: str = DEFAULT_REALM,
    reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
    token_leeway_s: float | None = None,
) -> Authenticator:
    """The authenticator for ``mode`` (``key``, ``token`` or ``none``).

    Raises :class:`~aksml.errors.WebserviceException` naming the setting for an unknown mode,
    key mode without any key, and token mode without issuer or audience. ``token_audience``
    may list several accepted audiences separated by commas.
    """
    normalized = mode.strip().lower()
    if normalized == "none":
        return NoAuthenticator()
    if normalized == "key":
        return KeyAuthenticator(
            primary_key,
            secondary_key,
            keys_file=keys_file,
            realm=realm,
            reload_interval_s=reload_interval_s,
        )
    if normalized == "token":
        # imported here: jwt, httpx and cryptography load only when token auth is used
        from aksml.runtime.auth_token import DEFAULT_LEEWAY_S, TokenAuthenticator

        missing = [
            f"{s.flag} ({s.env})"
            for s, v in (
                (contract.TOKEN_ISSUER, token_issuer),
                (contract.TOKEN_AUDIENCE, token_audience),
            )
            if not (v and v.strip())
        ]
        if missing:
            raise WebserviceException(f"Token auth needs {' and '.join(missing)}.")
        assert token_issuer is not None and token_audience is not None
        audiences = tuple(a.strip() for a in token_audience.split(",") if a.strip())
        return TokenAuthenticator(
            token_issuer.strip(),
            audiences,
            realm=realm,
            leeway_s=DEFAULT_LEEWAY_S if token_leeway_s is None else token_leeway_s,
        )
    raise WebserviceException(
        f"{contract.AUTH_MODE.flag} ({contract.AUTH_MODE.env}) must be one of "
        f"{', '.join(AUTH_MODES)}, got {mode!r}."
    )
