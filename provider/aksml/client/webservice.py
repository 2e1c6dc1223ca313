"""``Webservice`` and ``AsyncWebservice``: call a deployed (or local) aksml service the way
Azure ML SDK v1's ``Webservice.run()`` did, over one reused httpx connection pool."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import random
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from aksml.client._core import (
    DEFAULT_TIMEOUT,
    RETRY_EXCEPTIONS,
    RetryPolicy,
    ServiceConnectionError,
    ServiceResponseError,
    decode_response,
    encode_body,
    new_request_id,
    no_scoring_uri,
    parse_retry_after,
    request_headers,
    swagger_uri_for,
)
from aksml.client.keys import read_secret_keys, read_stack_outputs
from aksml.client.tokens import (
    AccessToken,
    AsyncTokenProvider,
    AzureIdentityTokenProvider,
    TokenLike,
    TokenProvider,
    as_access_token,
)
from aksml.errors import WebserviceException

KeysProvider = Callable[[], tuple[str, str | None]]
"""Returns (primary, secondary) keys; called once, and again after a 401."""

NO_KEYS = (
    "Error, no keys available: this client was created without keys (pass key=..., or use "
    "Webservice.from_stack_outputs() or Webservice.from_secret())."
)
NO_TOKEN = (
    "Error, token auth is not configured for this client (pass token_provider=... or "
    "token_audience=...)."
)
BOTH_AUTH = "Invalid configuration, key auth and token auth cannot both be used."


class _WebserviceBase:
    """Configuration and credentials shared by the sync and async clients."""

    def __init__(
        self,
        scoring_uri: str | None,
        *,
        key: str | None = None,
        secondary_key: str | None = None,
        keys_provider: KeysProvider | None = None,
        token_provider: AsyncTokenProvider | None = None,
        token_audience: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        name: str | None = None,
        state: str | None = None,
        error: str | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if key is not None and keys_provider is not None:
            raise WebserviceException("Invalid configuration, pass key or keys_provider, not both.")
        if token_provider is not None and token_audience is not None:
            raise WebserviceException(
                "Invalid configuration, pass token_provider or token_audience, not both."
            )
        has_keys = key is not None or keys_provider is not None
        if has_keys and (token_provider is not None or token_audience is not None):
            raise WebserviceException(BOTH_AUTH)
        self.scoring_uri = scoring_uri or None
        """The scoring URI (``http://<host>/api/v1/service/<name>/score``)."""
        self.name = name
        """Service name, when known."""
        self.state = state
        """Deployment state, when known (reported when there is no scoring URI)."""
        self.error = error
        """Deployment error, when known."""
        self.token_audience = token_audience
        """Audience for azure-identity tokens, when token auth uses azure-identity."""
        self.retry = retry or RetryPolicy()
        """Retry policy of ``run()``."""
        self.timeout = timeout
        """Per-attempt timeout (seconds or an ``httpx.Timeout``)."""
        self._extra_headers = dict(headers or {})
        self._verify = verify
        self._rand = rand
        if key is not None:
            static = (key, secondary_key)
            keys_provider = lambda: static  # noqa: E731
        self._keys_provider = keys_provider
        self._keys: tuple[str, str | None] | None = None
        if token_audience is not None:
            token_provider = AzureIdentityTokenProvider(token_audience)
        self._token_provider = token_provider
        self._token: AccessToken | None = None

    # --- constructors -------------------------------------------------------------------
    @classmethod
    def from_stack_outputs(
        cls, outputs: Mapping[str, Any] | str | Path, *, name: str | None = None, **kwargs: Any
    ) -> Self:
        """A client from Pulumi stack outputs (a dict, or a JSON/YAML file written by
        ``pulumi stack output --json --show-secrets``). Reads ``scoring_uri``/``scoringUri``,
        ``primary_key``/``primaryKey``, ``secondary_key``, ``token_audience`` and the service
        name. Keys come from the file again after a 401 (rotated keys are picked up).
        ``name`` selects outputs nested under that key. Other arguments go to the constructor.
        """
        found = read_stack_outputs(outputs, name)
        if found.primary_key is not None and "token_provider" not in kwargs:
            if isinstance(outputs, str | Path):
                path = Path(outputs)

                def reread() -> tuple[str, str | None]:
                    again = read_stack_outputs(path, name)
                    if again.primary_key is None:
                        raise WebserviceException(f"Error, {path} no longer holds primary_key.")
                    return again.primary_key, again.secondary_key

                kwargs.setdefault("keys_provider", reread)
            else:
                kwargs.setdefault("key", found.primary_key)
                kwargs.setdefault("secondary_key", found.secondary_key)
        if (
            found.token_audience is not None
            and "keys_provider" not in kwargs
            and "key" not in kwargs
            and "token_provider" not in kwargs
        ):
            kwargs.setdefault("token_audience", found.token_audience)
        kwargs.setdefault("name", found.name)
        kwargs.setdefault("state", found.state)
        return cls(found.scoring_uri, **kwargs)

    @classmethod
    def from_secret(
        cls,
        scoring_uri: str | None,
        secret: str | Path | Mapping[str, Any],
        *,
        secret_name: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """A key-auth client whose keys come from a Kubernetes Secret: a manifest or
        ``kubectl get secret -o json`` file, or the directory where it is mounted. The Secret
        is read again after a 401, so a rotated key is picked up."""
        read_secret_keys(secret, secret_name)  # fail early on a bad source
        return cls(
            scoring_uri, keys_provider=lambda: read_secret_keys(secret, secret_name), **kwargs
        )

    # --- properties ---------------------------------------------------------------------
    @property
    def swagger_uri(self) -> str | None:
        """v1's derivation from the scoring URI (``.../swagger.json``)."""
        return swagger_uri_for(self.scoring_uri)

    @property
    def auth_enabled(self) -> bool:
        """True when the client sends a key."""
        return self._keys_provider is not None

    @property
    def token_auth_enabled(self) -> bool:
        """True when the client sends a token."""
        return self._token_provider is not None

    # --- keys ---------------------------------------------------------------------------
    def get_keys(self) -> tuple[str, str | None]:
        """(primary, secondary) keys, as v1's ``get_keys()`` (from the given keys, the stack
        outputs or the Secret this client was created from)."""
        return self._current_keys(refresh=True)

    def _current_keys(self, refresh: bool = False) -> tuple[str, str | None]:
        if self._keys_provider is None:
            raise WebserviceException(NO_KEYS)
        if self._keys is None or refresh:
            primary, secondary = self._keys_provider()
            if not primary:
                raise WebserviceException("Invalid response key: primaryKey")
            self._keys = (primary, secondary)
        return self._keys

    def _key_credential(self, refresh: bool) -> str:
        return self._current_keys(refresh)[0]

    def _check_ready(self) -> str:
        if not self.scoring_uri:
            raise no_scoring_uri(self.state, self.error)
        return self.scoring_uri

    def _client_kwargs(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "verify": self._verify, "follow_redirects": False}


def _token_from(value: object) -> AccessToken:
    if isinstance(value, AccessToken | str):
        return as_access_token(value)
    raise WebserviceException(
        f"Error, token provider returned {type(value).__name__}; expected AccessToken or str "
        "(use AsyncWebservice for coroutine providers)."
    )


class Webservice(_WebserviceBase):
    """A v1-style client for one scoring endpoint (sync).

    ``run(input_data)`` POSTs to ``scoring_uri`` with ``Authorization: Bearer <key|token>``,
    retries transient failures, refreshes the credential once on a 401, returns the decoded
    JSON and raises ``WebserviceException`` otherwise. Use it as a context manager (or call
    ``close()``) to release the connection pool.
    """

    def __init__(
        self,
        scoring_uri: str | None,
        *,
        key: str | None = None,
        secondary_key: str | None = None,
        keys_provider: KeysProvider | None = None,
        token_provider: TokenProvider | None = None,
        token_audience: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        name: str | None = None,
        state: str | None = None,
        error: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(
            scoring_uri,
            key=key,
            secondary_key=secondary_key,
            keys_provider=keys_provider,
            token_provider=token_provider,
            token_audience=token_audience,
            timeout=timeout,
            retry=retry,
            headers=headers,
            verify=verify,
            name=name,
            state=state,
            error=error,
            rand=rand,
        )
        self._sleep = sleep
        self._client: httpx.Client | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (a later ``run()`` opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(**self._client_kwargs())
        return self._client

    # --- tokens -------------------------------------------------------------------------
    def _current_token(self, refresh: bool) -> AccessToken:
        if self._token_provider is None:
            raise WebserviceException(NO_TOKEN)
        if self._token is None or refresh or self._token.needs_refresh():
            self._token = _token_from(self._token_provider())
        return self._token

    def get_access_token(self) -> AccessToken:
        """The current access token (fetched again once its ``refresh_after`` has passed):
        ``access_token``, ``token_type``, ``refresh_after``, ``expiry_on`` (aware UTC)."""
        return self._current_token(refresh=False)

    def get_token(self) -> tuple[str, dt.datetime]:
        """Deprecated (as in v1): use ``get_access_token()``. Returns (token, refresh_after)."""
        warnings.warn(
            "get_token() is deprecated; use get_access_token() instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        token = self.get_access_token()
        return token.access_token, token.refresh_after

    def _credential(self, refresh: bool) -> str | None:
        if self._token_provider is not None:
            return self._current_token(refresh).access_token
        if self._keys_provider is not None:
            return self._key_credential(refresh)
        return None

    # --- scoring ------------------------------------------------------------------------
    def get_logs(
        self,
        num_lines: int = 5000,
        init: bool = False,
        *,
        namespace: str = "default",
        version: str | None = None,
        previous: bool = False,
        kubeconfig: str | None = None,
        context: str | None = None,
    ) -> str:
        """The service's pod logs (v1's ``get_logs(num_lines, init)``): the last ``num_lines``
        of each pod's runtime container (init containers with ``init=True``), read from the
        cluster with the kubeconfig (or in-cluster config). ``version`` selects an
        ``AksEndpoint`` version. Raises ``WebserviceException`` naming the cause when there is
        nothing to read (no pods, image pull failure, unschedulable pod)."""
        from aksml.client.logs import LogTarget, core_api, format_logs, read_logs

        if not self.name:
            raise WebserviceException("get_logs needs the service name (pass name=...).")
        target = LogTarget(self.name, namespace, version, init, previous, num_lines)
        found = read_logs(core_api(kubeconfig, context), target)
        notes = "".join(f"# {note}\n" for logs in found for note in logs.notes)
        return notes + format_logs(found)

    def run(self, input_data: Any) -> Any:
        """Score ``input_data`` (v1 semantics, see docs/client.md): str/bytes sent as given,
        dicts/lists JSON-encoded; returns the decoded JSON response."""
        uri = self._check_ready()
        body = encode_body(input_data)
        request_id = new_request_id()
        client = self._http()
        refreshed = False
        retry_index = 0
        attempts = 0
        credential = self._credential(refresh=False)
        while True:
            attempts += 1
            headers = request_headers(credential, request_id, self._extra_headers)
            try:
                response = client.post(uri, content=body, headers=headers)
            except RETRY_EXCEPTIONS as exc:
                if retry_index >= self.retry.retries:
                    raise ServiceConnectionError(uri, exc, request_id, attempts) from exc
                self._sleep(self.retry.delay(retry_index, None, self._rand))
                retry_index += 1
                continue
            if response.is_success:
                return decode_response(response)
            if response.status_code == 401 and credential is not None and not refreshed:
                refreshed = True
                credential = self._credential(refresh=True)
                continue
            if response.status_code in self.retry.statuses and retry_index < self.retry.retries:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                self._sleep(self.retry.delay(retry_index, retry_after, self._rand))
                retry_index += 1
                continue
            raise ServiceResponseError(response, request_id, attempts)


class AsyncWebservice(_WebserviceBase):
    """The asyncio variant of ``Webservice`` (``await ws.run(data)``; ``async with``).

    Token providers may be plain callables (run in a worker thread, so azure-identity's
    blocking calls do not stall the loop) or coroutine functions.
    """

    def __init__(
        self,
        scoring_uri: str | None,
        *,
        key: str | None = None,
        secondary_key: str | None = None,
        keys_provider: KeysProvider | None = None,
        token_provider: AsyncTokenProvider | None = None,
        token_audience: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        name: str | None = None,
        state: str | None = None,
        error: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(
            scoring_uri,
            key=key,
            secondary_key=secondary_key,
            keys_provider=keys_provider,
            token_provider=token_provider,
            token_audience=token_audience,
            timeout=timeout,
            retry=retry,
            headers=headers,
            verify=verify,
            name=name,
            state=state,
            error=error,
            rand=rand,
        )
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(**self._client_kwargs())
        return self._client

    async def _current_token(self, refresh: bool) -> AccessToken:
        provider = self._token_provider
        if provider is None:
            raise WebserviceException(NO_TOKEN)
        if self._token is None or refresh or self._token.needs_refresh():
            value: TokenLike | Awaitable[TokenLike]
            if inspect.iscoroutinefunction(provider):
                value = provider()
            else:
                value = await asyncio.to_thread(provider)
            if inspect.isawaitable(value):
                value = await value
            self._token = _token_from(value)
        return self._token

    async def get_access_token(self) -> AccessToken:
        """The current access token (see ``Webservice.get_access_token``)."""
        return await self._current_token(refresh=False)

    async def get_token(self) -> tuple[str, dt.datetime]:
        """Deprecated (as in v1): use ``get_access_token()``. Returns (token, refresh_after)."""
        warnings.warn(
            "get_token() is deprecated; use get_access_token() instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        token = await self.get_access_token()
        return token.access_token, token.refresh_after

    async def _credential(self, refresh: bool) -> str | None:
        if self._token_provider is not None:
            return (await self._current_token(refresh)).access_token
        if self._keys_provider is not None:
            return self._key_credential(refresh)
        return None

    async def run(self, input_data: Any) -> Any:
        """Score ``input_data``; same semantics as ``Webservice.run``."""
        uri = self._check_ready()
        body = encode_body(input_data)
        request_id = new_request_id()
        client = self._http()
        refreshed = False
        retry_index = 0
        attempts = 0
        credential = await self._credential(refresh=False)
        while True:
            attempts += 1
            headers = request_headers(credential, request_id, self._extra_headers)
            try:
                response = await client.post(uri, content=body, headers=headers)
            except RETRY_EXCEPTIONS as exc:
                if retry_index >= self.retry.retries:
                    raise ServiceConnectionError(uri, exc, request_id, attempts) from exc
                await self._sleep(self.retry.delay(retry_index, None, self._rand))
                retry_index += 1
                continue
            if response.is_success:
                return decode_response(response)
            if response.status_code == 401 and credential is not None and not refreshed:
                refreshed = True
                credential = await self._credential(refresh=True)
                continue
            if response.status_code in self.retry.statuses and retry_index < self.retry.retries:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                await self._sleep(self.retry.delay(retry_index, retry_after, self._rand))
                retry_index += 1
                continue
            raise ServiceResponseError(response, request_id, attempts)
