"""Exceptions shared by every layer (spec, plan, components, runtime, client, CLI)."""

from __future__ import annotations


class WebserviceException(Exception):
    """The Azure ML SDK v1 exception type for configuration and service errors.

    ``message`` holds the full text (for accumulated validation errors: every message with its
    ``\\n`` terminator, exactly as azureml-core produced it); ``str(exc)`` returns the same text.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message
