"""Access tokens for token-auth services: the v1 ``WebServiceAccessToken`` shape and an
azure-identity provider.

v1's ``get_access_token()`` returned naive local-time datetimes (azureml-core 1.61
``Webservice.get_token``); here every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from aksml.errors import WebserviceException

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from azure.core.credentials import TokenCredential

UTC = dt.UTC

REFRESH_MARGIN = dt.timedelta(minutes=5)
"""How long before expiry a token without an explicit refresh time is refreshed."""

_FAR_FUTURE = dt.datetime.max.replace(tzinfo=UTC)

AZURE_EXTRA_MISSING = (
    "Token auth with --token-audience needs azure-identity, which is part of the 'azure' extra: "
    "pip install 'aksml[azure]'"
)


@dataclass(frozen=True)
class AccessToken:
    """A bearer token for a token-auth service (v1 ``WebServiceAccessToken``)."""

    access_token: str
    """The token itself (a JWT for Entra ID); sent as ``Authorization: Bearer <token>``."""
    token_type: str
    """Token type; always ``Bearer`` for the tokens aksml handles."""
    refresh_after: dt.datetime
    """When to fetch a new token (timezone-aware UTC)."""
    expiry_on: dt.datetime
    """When the token expires (timezone-aware UTC)."""

    def needs_refresh(self, now: dt.datetime | None = None) -> bool:
        """True once ``refresh_after`` has passed."""
        return (now or dt.datetime.now(UTC)) >= self.refresh_after

    def serialize(self) -> dict[str, Any]:
        """v1's ``WebServiceAccessToken.serialize()``: accessToken, tokenType, refreshAfter,
        expiryOn (datetimes, as in v1; use ``.isoformat()`` for JSON)."""
        return {
            "accessToken": self.access_token,
            "tokenType": self.token_type,
            "refreshAfter": self.refresh_after,
            "expiryOn": self.expiry_on,
        }

    @classmethod
    def from_epoch(
        cls,
        access_token: str,
        expires_on: int | float,
        refresh_on: int | float | None = None,
        token_type: str = "Bearer",
    ) -> AccessToken:
        """Build from epoch seconds (azure-identity's and v1's REST representation). Without
        ``refresh_on`` the token is refreshed ``REFRESH_MARGIN`` before expiry."""
        expiry = dt.datetime.fromtimestamp(expires_on, UTC)
        refresh = (
            dt.datetime.fromtimestamp(refresh_on, UTC)
            if refresh_on is not None
            else expiry - REFRESH_MARGIN
        )
        return cls(access_token, token_type, refresh, expiry)

    @classmethod
    def from_string(cls, token: str) -> AccessToken:
        """Wrap a bare token string. A JWT's ``exp`` claim (read without verification: the
        service verifies) sets the expiry; an opaque string never expires client-side."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            return cls.from_epoch(token, exp)
        return cls(token, "Bearer", _FAR_FUTURE, _FAR_FUTURE)


TokenLike = AccessToken | str
"""What a token provider may return: an ``AccessToken`` or a bare token string."""

TokenProvider = Callable[[], TokenLike]
"""A callable returning a fresh token; called when the cached one is due or after a 401."""

AsyncTokenProvider = Callable[[], TokenLike | Awaitable[TokenLike]]
"""For ``AsyncWebservice``: a sync callable or a coroutine function."""


def as_access_token(value: TokenLike) -> AccessToken:
    """Normalise a provider's result."""
    if isinstance(value, AccessToken):
        return value
    if isinstance(value, str) and value:
        return AccessToken.from_string(value)
    raise WebserviceException(
        f"Error, token provider returned {type(value).__name__}; expected AccessToken or str."
    )


def scope_for(audience: str) -> str:
    """The OAuth scope for an audience (``api://x`` -> ``api://x/.default``); a value that
    already ends in ``/.default`` is a scope and is kept."""
    audience = audience.strip()
    if not audience:
        raise WebserviceException("Error, token audience must not be empty.")
    if audience.endswith("/.default"):
        return audience
    return audience.rstrip("/") + "/.default"


class AzureIdentityTokenProvider:
    """Tokens for ``audience`` from azure-identity (``DefaultAzureCredential`` unless a
    credential is given: environment, workload identity, managed identity, Azure CLI, ...).

    azure-identity is imported on first use; without the ``azure`` extra the call raises a
    ``WebserviceException`` that says how to install it.
    """

    def __init__(self, audience: str, credential: TokenCredential | None = None) -> None:
        self.scope = scope_for(audience)
        """The scope requested from Entra ID."""
        self._credential = credential

    def _get_credential(self) -> TokenCredential:
        if self._credential is None:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError as exc:
                raise WebserviceException(AZURE_EXTRA_MISSING) from exc
            self._credential = DefaultAzureCredential()
        return self._credential

    def __call__(self) -> AccessToken:
        """Fetch a token (azure-identity caches and refreshes it internally)."""
        credential = self._get_credential()
        try:
            get_token_info = getattr(credential, "get_token_info", None)
            if get_token_info is not None:
                info = get_token_info(self.scope)
                return AccessToken.from_epoch(
                    info.token, info.expires_on, info.refresh_on, info.token_type or "Bearer"
                )
            token = credential.get_token(self.scope)
            return AccessToken.from_epoch(token.token, token.expires_on)
        except WebserviceException:
            raise
        except Exception as exc:  # azure-identity raises several unrelated types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WebserviceException(
                f"Error, could not get a token for scope {self.scope}: {first}"
            ) from exc
