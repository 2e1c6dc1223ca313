"""Client side of an aksml service: v1's ``Webservice.run()``, keys and tokens.

``Webservice`` (sync) and ``AsyncWebservice`` (asyncio) call a scoring endpoint with v1
semantics plus retries with backoff; ``get_keys()`` reads keys from what the client was given,
Pulumi stack outputs or a Kubernetes Secret file; ``get_access_token()`` gets Entra ID tokens
through azure-identity (the ``azure`` extra). See docs/client.md.
"""

from __future__ import annotations

from aksml.client._core import (
    RETRY_STATUSES,
    RetryPolicy,
    ServiceConnectionError,
    ServiceResponseError,
    encode_body,
    parse_retry_after,
)
from aksml.client.keys import ServiceOutputs, read_secret_keys, read_stack_outputs
from aksml.client.tokens import AccessToken, AzureIdentityTokenProvider, scope_for
from aksml.client.webservice import AsyncWebservice, Webservice

__all__ = [
    "RETRY_STATUSES",
    "AccessToken",
    "AsyncWebservice",
    "AzureIdentityTokenProvider",
    "RetryPolicy",
    "ServiceConnectionError",
    "ServiceOutputs",
    "ServiceResponseError",
    "Webservice",
    "encode_body",
    "parse_retry_after",
    "read_secret_keys",
    "read_stack_outputs",
    "scope_for",
]
