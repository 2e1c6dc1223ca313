"""The Pulumi package that other languages consume: components, name, version, schema.

``provider/__main__.py`` hosts these components with
``pulumi.provider.experimental.component_provider_host``; the schema the engine infers from
their type annotations is generated here in-process and checked in as ``provider/schema.json``
(a test fails when code and file disagree, so a pull request shows the public-contract diff).
"""

import importlib.metadata
import json
from pathlib import Path

import pulumi
from pulumi.provider.experimental.component import ComponentProvider

from aksml.components.endpoint import AksEndpoint
from aksml.components.webservice import AksWebservice

PACKAGE_NAME = "aksml"
"""Pulumi package name: type tokens are ``aksml:index:<Component>``."""


COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (AksWebservice, AksEndpoint)
"""Every component the provider hosts, whatever extras are installed.

``pulumi package add`` installs the provider with a plain ``uv sync`` (no extras), so a
component that exists only with the ``azure`` extra would make the served package differ from
the checked-in schema. ``aksml.azure.resources.AzureServiceResources`` is therefore a Python
component only; the ``azure`` section of ``AksWebservice``/``AksEndpoint`` is plain data and is
in the schema either way."""

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.json"
"""Where the checked-in schema lives in a source checkout (``provider/schema.json``)."""


def package_version() -> str:
    """The installed distribution's version (pyproject.toml is the only literal)."""
    return importlib.metadata.version(PACKAGE_NAME)


def component_provider() -> ComponentProvider:
    """A ComponentProvider for :data:`COMPONENTS` (no engine connection needed)."""
    return ComponentProvider(list(COMPONENTS), PACKAGE_NAME, version=package_version())


def schema_json() -> str:
    """The package schema as stable, pretty-printed JSON (sorted keys, trailing newline)."""
    text = component_provider().schema
    if text is None:  # ComponentProvider always sets it; keeps the type checker honest
        raise RuntimeError("the component provider produced no schema")
    schema = json.loads(text)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
