"""Swagger / OpenAPI documents for ``GET /swagger.json?version=2|3|3.1``.

User files in the app root win (``swagger.json`` or ``swagger2.json`` for 2.0, ``swagger3.json``
for 3.0, ``swagger3.1.json`` for 3.1); otherwise documents are generated from the
inference-schema decorators in the shape azureml-inference-server-http 1.5.1 produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SWAGGER_VERSIONS: tuple[str, ...] = ("2.0", "3.0", "3.1")
"""Document versions, as inference-schema names them."""

_QUERY_VERSION = {"2": "2.0", "2.0": "2.0", "3": "3.0", "3.0": "3.0", "3.1": "3.1"}
_USER_FILES = {
    "2.0": ("swagger.json", "swagger2.json"),
    "3.0": ("swagger3.json",),
    "3.1": ("swagger3.1.json",),
}
DEFAULT_TITLE = "ML service"
"""Title when no service name is set (the reference's SERVICE_NAME default)."""
_UNDECORATED_SCHEMA: dict[str, Any] = {"type": "object", "example": {}}


_SHORT_NAME = {"2.0": "2", "3.0": "3", "3.1": "3.1"}


def lookup_message(requested: str | None, supported: tuple[str, ...]) -> tuple[str | None, str]:
    """Map a ``?version=`` value to a document version, or to the reference's 404 message
    (which lists the versions this script has documents for, as ``[2, 3, 3.1]``)."""
    requested = requested if requested is not None else "2"
    key = _QUERY_VERSION.get(requested)
    names = ", ".join(sorted(_SHORT_NAME[v] for v in supported if v in _SHORT_NAME))
    if key is None:
        return None, f"Swagger version [{requested}] is not valid. Supported versions: [{names}]."
    if key not in supported:
        return None, (
            f"Swagger version [{requested}] is not supported for the scoring script. "
            f"Supported swagger versions: [{names}]."
        )
    return key, ""


def build_documents(
    *,
    app_root: Path,
    service_name: str | None,
    path_prefix: str,
    input_schema: dict[str, Any] | None,
    output_schema: dict[str, Any] | None,
    supported: tuple[str, ...],
    secured: bool,
) -> dict[str, bytes]:
    """Every servable document, version -> encoded JSON (user files first)."""
    title = service_name or DEFAULT_TITLE
    docs: dict[str, bytes] = {}
    for version in SWAGGER_VERSIONS:
        user = _user_document(app_root, version)
        if user is not None:
            docs[version] = user
        elif version in supported:
            doc = _generate(
                version,
                title=title,
                prefix=path_prefix,
                service_input=input_schema or _UNDECORATED_SCHEMA,
                service_output=output_schema or _UNDECORATED_SCHEMA,
                secured=secured,
            )
            docs[version] = json.dumps(doc, indent=2).encode()
    return docs


def _user_document(app_root: Path, version: str) -> bytes | None:
    for name in _USER_FILES[version]:
        path = app_root / name
        if path.is_file():
            return path.read_bytes()
    return None


def _error_schema() -> dict[str, Any]:
    # as the reference's templates: "message" is not listed as required (clients generated
    # from the document must see the same type before and after migrating)
    return {"type": "object", "properties": {"message": {"type": "string"}}}


def _generate(
    version: str,
    *,
    title: str,
    prefix: str,
    service_input: dict[str, Any],
    service_output: dict[str, Any],
    secured: bool,
) -> dict[str, Any]:
    v2 = version == "2.0"
    ref = "#/definitions/" if v2 else "#/components/schemas/"
    error = {"description": "The service failed to execute due to an error."}
    health_ok: dict[str, Any] = {
        "description": "If service is up and running, this response will be returned with "
        "the content 'Healthy'"
    }
    score_ok: dict[str, Any] = {
        "description": "The service processed the input correctly and provided a result "
        "prediction, if applicable."
    }
    swagger_ok: dict[str, Any] = {"description": "The service's swagger (OpenAPI) document."}
    if v2:
        health_ok["schema"] = {"type": "string"}
        score_ok["schema"] = {"$ref": ref + "ServiceOutput"}
        swagger_ok["schema"] = {"type": "object"}
        error["schema"] = {"$ref": ref + "ErrorResponse"}  # type: ignore[assignment]
    else:
        health_ok["content"] = {"text/plain": {"schema": {"type": "string"}}}
        score_ok["content"] = {"application/json": {"schema": {"$ref": ref + "ServiceOutput"}}}
        swagger_ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        error["content"] = {  # type: ignore[assignment]
            "application/json": {"schema": {"$ref": ref + "ErrorResponse"}}
        }
    score: dict[str, Any] = {
        "operationId": "RunMLService",
        "description": "Run web service's model and get the prediction output",
        "responses": {"200": score_ok, "default": error},
    }
    if secured:
        score["security"] = [{"Bearer": []}]
    body_description = "The input payload for executing the real-time machine learning service."
    if v2:
        score["parameters"] = [
            {
                "name": "serviceInputPayload",
                "in": "body",
                "description": body_description,
                "schema": {"$ref": ref + "ServiceInput"},
            }
        ]
    else:
        score["requestBody"] = {
            "description": body_description,
            "content": {"application/json": {"schema": {"$ref": ref + "ServiceInput"}}},
        }
    paths = {
        f"{prefix}/": {
            "get": {
                "operationId": "ServiceHealthCheck",
                "description": "Simple health check endpoint to ensure the service is up at "
                "any given point.",
                "responses": {"200": health_ok, "default": error},
            }
        },
        f"{prefix}/score": {"post": score},
        f"{prefix}/swagger.json": {
            "get": {
                "operationId": "GetSwaggerSpec",
                "description": "Get the Swagger specification.",
                "responses": {"200": swagger_ok, "default": error},
            }
        },
    }
    schemas = {
        "ServiceInput": service_input,
        "ServiceOutput": service_output,
        "ErrorResponse": _error_schema(),
    }
    security_scheme = {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "For example: Bearer abc123",
    }
    info = {
        "title": title,
        "description": f"API specification for the Azure Machine Learning service {title}",
        "version": "1.0",
    }
    if v2:
        doc: dict[str, Any] = {
            "swagger": "2.0",
            "info": info,
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "paths": paths,
            "definitions": schemas,
        }
        if secured:
            doc["securityDefinitions"] = {"Bearer": security_scheme}
        return doc
    components: dict[str, Any] = {"schemas": schemas}
    if secured:
        components["securitySchemes"] = {"Bearer": security_scheme}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.1",
        "info": info,
        "paths": paths,
        "components": components,
    }
