"""AML v1 service JSON -> aksml config file and Pulumi program (``aksml migrate``).

Input: a v1 service GET payload, ``AksWebservice.serialize()`` output, a create payload or an
``az ml model deploy --dc`` deploymentconfig.json. The deploy settings go through
``aksml.v1.from_aml_json`` (so every v1 validation message applies); what runs (entry script,
source directory, models, pip dependencies, environment variables) is taken from the
environment and model details when present; everything else is listed as not carried over.
Pure: no file or network I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from aksml.errors import WebserviceException
from aksml.v1 import (
    AksEndpointDeploymentConfiguration,
    AnyConfiguration,
    from_aml_json,
    is_valid_service_name,
)

CONFIG_FILE_NAME = "deploy.yaml"
"""Name of the configuration file inside a generated program directory."""

SECRET_KEYS = ("primary_key", "secondary_key")
"""Never written to files: the generated program reads them from Pulumi secrets."""

PULUMI_SECRET_NAMES = {
    "primary_key": "primaryKey",
    "secondary_key": "secondaryKey",
    "app_insights_connection_string": "appInsightsConnectionString",
}
"""``pulumi config set --secret <name>`` names the generated program reads secrets from."""

PULUMI_CONFIG_NAMES = {"token_issuer": "tokenIssuer", "token_audience": "tokenAudience"}
"""``pulumi config set <name>`` names the generated program reads token-auth settings from."""

# v1 packages the aksml runtime replaces (it serves score.py itself)
_REPLACED_PACKAGES = ("azureml-defaults", "azureml-inference-server-http", "azureml-core")

_ENV_ENTRY = "AZUREML_ENTRY_SCRIPT"
_ENV_SOURCE = "AZUREML_SOURCE_DIRECTORY"


@dataclass(frozen=True)
class Migration:
    """What ``aksml migrate`` produces from one v1 JSON document."""

    config: AnyConfiguration
    """The validated deploy configuration (including keys when the input had them)."""
    name: str | None
    """Service (endpoint) name from the input, when it had one."""
    entry_script: str | None = None
    """score.py path relative to ``source_directory`` (from AZUREML_ENTRY_SCRIPT)."""
    source_directory: str | None = None
    """From AZUREML_SOURCE_DIRECTORY."""
    models: list[dict[str, str]] = field(default_factory=list)
    """Registered models as {"name", "version"}."""
    pip_requirements: list[str] = field(default_factory=list)
    """pip dependencies of the v1 environment (runtime-replaced packages removed)."""
    environment_variables: dict[str, str] = field(default_factory=dict)
    """Other environment variables of the v1 environment."""
    not_carried: list[str] = field(default_factory=list)
    """Values that have no aksml equivalent or must be supplied by hand, one line each."""

    @property
    def is_endpoint(self) -> bool:
        """True for an AksEndpoint configuration."""
        return isinstance(self.config, AksEndpointDeploymentConfiguration)

    @property
    def secret_keys(self) -> dict[str, str]:
        """Keys the input carried (parameter name -> value)."""
        return {k: v for k in SECRET_KEYS if (v := getattr(self.config, k)) is not None}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _environment(data: Mapping[str, Any]) -> Mapping[str, Any]:
    request = _mapping(data.get("environmentImageRequest"))
    return _mapping(request.get("environment")) or _mapping(data.get("environmentDetails"))


def _models(data: Mapping[str, Any], notes: list[str]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    request = _mapping(data.get("environmentImageRequest"))
    for source in (data.get("models"), data.get("modelDetails")):
        for model in source if isinstance(source, list) else []:
            if isinstance(model, Mapping) and model.get("name") is not None:
                found.append(
                    {"name": str(model["name"]), "version": str(model.get("version", "1"))}
                )
    if not found:
        for model_id in request.get("modelIds") or []:
            name, _, version = str(model_id).partition(":")
            found.append({"name": name, "version": version or "1"})
    unique = list({(m["name"], m["version"]): m for m in found}.values())
    if unique:
        names = ", ".join(f"{m['name']}:{m['version']}" for m in unique)
        notes.append(
            f"models ({names}): the workspace model registry is not reachable from aksml; set "
            "each model's source (image, url or blob) in the program."
        )
    return unique


def _pip(environment: Mapping[str, Any], notes: list[str]) -> list[str]:
    python = _mapping(environment.get("python"))
    conda = _mapping(python.get("condaDependencies"))
    pip: list[str] = []
    conda_packages: list[str] = []
    for dependency in conda.get("dependencies") or []:
        if isinstance(dependency, Mapping):
            pip.extend(str(p) for p in dependency.get("pip") or [])
        elif isinstance(dependency, str) and not re.match(r"python([=<>!~ ]|$)", dependency):
            conda_packages.append(dependency)
    kept = [p for p in pip if not p.lower().startswith(_REPLACED_PACKAGES)]
    dropped = [p for p in pip if p not in kept]
    if dropped:
        notes.append(
            f"pip packages {', '.join(dropped)}: not needed, the aksml runtime serves score.py."
        )
    if conda_packages:
        notes.append(
            f"conda packages {', '.join(conda_packages)}: conda is not used; add pip equivalents "
            "to environment.pip_requirements if score.py needs them."
        )
    return kept


def _not_carried(data: Mapping[str, Any], environment: Mapping[str, Any], notes: list[str]) -> None:
    image = data.get("imageId") or _mapping(data.get("imageDetails")).get("id")
    if image:
        notes.append(
            f"imageId {image}: workspace images are not reused; the aksml runtime image runs "
            "score.py (set image=... for a custom one)."
        )
    docker = _mapping(environment.get("docker"))
    base_image = docker.get("baseImage") or docker.get("base_image")
    if base_image:
        notes.append(
            f"environment base image {base_image}: replaced by the aksml runtime image; build "
            "your own on top of it (image=...) if score.py needs system packages."
        )
    if environment.get("name"):
        notes.append(
            f"environment {environment.get('name')}:{environment.get('version')}: its pip "
            "dependencies are carried over; the environment itself is not."
        )
    if data.get("scoringUri"):
        notes.append(
            f"scoringUri {data['scoringUri']}: the new service gets its own URI (stack output "
            "scoring_uri)."
        )
    if data.get("aadAuthEnabled") or data.get("tokenAuthEnabled"):
        notes.append(
            "token auth: v1 tokens came from the workspace (get_access_token()); aksml validates "
            "Entra ID (OIDC) tokens for token_issuer / token_audience."
        )
    if data.get("appInsightsEnabled"):
        notes.append(
            "appInsightsEnabled: v1 used the workspace's Application Insights; aksml needs its "
            "connection string (app_insights_connection_string)."
        )
    if _mapping(data.get("dataCollection")).get("eventHubEnabled"):
        notes.append("dataCollection.eventHubEnabled: Event Hub data collection is not supported.")
    for key in ("workspaceName", "createdBy", "state", "deploymentStatus", "error"):
        if data.get(key):
            notes.append(f"{key}: describes the v1 deployment, not carried over.")


def migrate(data: Mapping[str, Any]) -> Migration:
    """Convert one v1 JSON document (raises ``WebserviceException`` with v1's messages)."""
    if not isinstance(data, Mapping):
        raise WebserviceException("Invalid configuration, expected a JSON object.\n")
    notes: list[str] = []
    cleaned = dict(data)
    if _mapping(cleaned.get("dataCollection")).get("eventHubEnabled"):
        cleaned["dataCollection"] = {
            k: v for k, v in _mapping(cleaned["dataCollection"]).items() if k != "eventHubEnabled"
        }
    config = from_aml_json(cleaned)
    environment = _environment(data)
    variables = {
        str(k): str(v) for k, v in _mapping(environment.get("environmentVariables")).items()
    }
    source_directory = variables.pop(_ENV_SOURCE, None) or None
    entry_script = variables.pop(_ENV_ENTRY, None) or None
    if entry_script and source_directory and entry_script.startswith(source_directory + "/"):
        entry_script = entry_script[len(source_directory) + 1 :]
    driver = _mapping(data.get("environmentImageRequest")).get("driverProgram")
    if driver and not entry_script:
        notes.append(
            f"driverProgram {driver}: an SDK-generated wrapper; set entry_script to your score.py."
        )
    models = _models(data, notes)
    pip = _pip(environment, notes)
    _not_carried(data, environment, notes)
    name = data.get("name")
    return Migration(
        config=config,
        name=str(name) if isinstance(name, str) and name else None,
        entry_script=entry_script,
        source_directory=source_directory,
        models=models,
        pip_requirements=pip,
        environment_variables=variables,
        not_carried=notes,
    )


def config_document(migration: Migration) -> dict[str, Any]:
    """The config file's content: ``computeType`` plus every set v1 parameter (snake_case, v1
    order), keys left out."""
    kind = "aksendpoint" if migration.is_endpoint else "aks"
    given = {k: v for k, v in migration.config.given().items() if k not in SECRET_KEYS}
    return {"computeType": kind, **given}


def config_yaml(migration: Migration, source: str) -> str:
    """The config file (YAML, readable by ``aksml.v1.load_config``)."""
    header = (
        f"# aksml deploy configuration, migrated from {source} by `aksml migrate`.\n"
        "# AML v1 parameter names; unset parameters take v1's documented defaults\n"
        "# (see `aksml config show` for the resolved values).\n"
    )
    if migration.secret_keys:
        names = ", ".join(PULUMI_SECRET_NAMES[k] for k in migration.secret_keys)
        header += f"# Keys are not stored here: set them as Pulumi secrets ({names}).\n"
    body = yaml.safe_dump(config_document(migration), sort_keys=False, default_flow_style=False)
    return header + body


def _py(value: Any) -> str:
    """A deterministic Python literal for JSON-like values."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid Python
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_py(str(k))}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def program_name(migration: Migration, override: str | None) -> str:
    """The service name for the program (``--name`` wins; else the input's name)."""
    name = override or migration.name
    if name is None:
        raise WebserviceException(
            "Error, the input has no service name (deploymentconfig.json never does); pass --name."
        )
    if not is_valid_service_name(name):
        from aksml.v1 import SERVICE_NAME_MESSAGE

        raise WebserviceException(SERVICE_NAME_MESSAGE)
    return name


def _program_secrets(migration: Migration) -> list[str]:
    secrets = list(migration.secret_keys)
    if migration.config.enable_app_insights:
        secrets.append("app_insights_connection_string")
    return secrets


def _program_settings(migration: Migration) -> list[str]:
    return list(PULUMI_CONFIG_NAMES) if migration.config.token_auth_enabled else []


def main_py(migration: Migration, name: str, source: str) -> str:
    """A ready ``__main__.py`` deploying the migrated service with ``aksml.AksWebservice``."""
    if migration.is_endpoint:
        raise WebserviceException(
            "Error, program generation supports AksWebservice configurations; for an "
            "AksEndpoint, migrate the configuration file (-o) and declare the endpoint by hand."
        )
    pad = " " * 8
    args: list[str] = [f"{pad}deployment_config=load_config(HERE / {_py(CONFIG_FILE_NAME)}),"]
    for key in _program_secrets(migration):
        args.append(f'{pad}{key}=config.require_secret("{PULUMI_SECRET_NAMES[key]}"),')
    for key in _program_settings(migration):
        args.append(f'{pad}{key}=config.require("{PULUMI_CONFIG_NAMES[key]}"),')
    # code paths are relative to the program directory (Pulumi runs programs there)
    args.append(f"{pad}entry_script={_py(migration.entry_script or 'score.py')},")
    if migration.source_directory:
        args.append(f"{pad}source_directory={_py(migration.source_directory)},")
    if migration.models:
        models = ", ".join(
            f'{{"name": {_py(m["name"])}, "version": {_py(m["version"])}}}'
            for m in migration.models
        )
        args.append(f"{pad}models=[{models}],")
    if migration.pip_requirements:
        args.append(f'{pad}environment={{"pip_requirements": {_py(migration.pip_requirements)}}},')
    if migration.environment_variables:
        args.append(f"{pad}environment_variables={_py(migration.environment_variables)},")
    lines = [
        f'"""{name}: migrated from {source} by `aksml migrate`."""',
        "",
        "from pathlib import Path",
        "",
        "import pulumi",
        "",
        "from aksml import AksWebservice",
        "from aksml.components.args import AksWebserviceArgs",
        "from aksml.v1 import load_config",
        "",
        "HERE = Path(__file__).resolve().parent",
        "config = pulumi.Config()",
        "",
        "service = AksWebservice(",
        f"    {_py(name)},",
        "    AksWebserviceArgs(",
        *args,
        "    ),",
        ")",
        "",
        'pulumi.export("scoring_uri", service.scoring_uri)',
        'pulumi.export("swagger_uri", service.swagger_uri)',
        'pulumi.export("primary_key", service.primary_key)',
        'pulumi.export("secondary_key", service.secondary_key)',
        "",
    ]
    return "\n".join(lines)


def next_steps(migration: Migration, program: str) -> list[str]:
    """What the user still has to do before ``pulumi up`` on a generated program."""
    entry = migration.entry_script or "score.py"
    if migration.source_directory:
        steps = [
            f"copy your scoring code into {program}/{migration.source_directory} "
            f"(entry script {entry})"
        ]
    else:
        steps = [
            f"copy {entry} into {program} (only the entry script is shipped; set "
            "source_directory in __main__.py to ship a directory with it)"
        ]
    steps += [
        f"pulumi config set --secret {PULUMI_SECRET_NAMES[key]} <value>  ({key})"
        for key in _program_secrets(migration)
    ]
    steps += [
        f"pulumi config set {PULUMI_CONFIG_NAMES[key]} <value>  ({key}: Entra ID tokens)"
        for key in _program_settings(migration)
    ]
    if migration.models:
        steps.append("give each model a source (image, url or blob) in __main__.py")
    return steps


def pulumi_yaml(name: str) -> str:
    """``Pulumi.yaml`` for the generated program."""
    return (
        f"name: {name}\n"
        f"description: {name}, migrated from Azure ML v1 by aksml migrate\n"
        "runtime:\n"
        "  name: python\n"
    )
