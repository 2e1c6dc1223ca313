"""The service image (generated Dockerfile, pulumi-docker-build push to ACR, AcrPull for the
kubelet identity) and the Entra ID app registration for token auth, under Pulumi mocks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azure_fakes import (
    ACR_PASSWORD,
    ACR_USER,
    APP_CLIENT_ID,
    CLUSTER_NAME,
    IMAGE_DIGEST,
    KUBELET_OBJECT_ID,
    RG,
    SUBSCRIPTION,
    TENANT,
    Recorder,
    is_wrapped_secret,
    unwrap,
)
from pulumi_azure_native import containerservice

from aksml import contract
from aksml.azure import image as images
from aksml.azure import naming
from aksml.azure.resources import AzureServiceResources, AzureServiceResourcesArgs
from aksml.components.webservice import AksWebservice
from aksml.errors import WebserviceException
from aksml.plan.settings import DEFAULT_IMAGE
from startable import SCRIPT_ARGS

Install = Callable[..., Recorder]
REPO_DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"
ACR_PULL_ID = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    "7f951dca-d2c6-4e46-8bf0-4a8e6e3fb3a0"
)
IMAGE = "docker-build:index:Image"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
APP = "azuread:index/application:Application"


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    (src / "lib" / "features.py").write_text("X = 1\n")
    return src


def _recipe(**kwargs: Any) -> images.ImageRecipe:
    values: dict[str, Any] = {
        "base_image": DEFAULT_IMAGE,
        "directory_name": "src",
        "entry_script": "score.py",
        "pip_requirements": ("scikit-learn==1.5.2", "joblib>=1.4"),
    }
    return images.ImageRecipe(**(values | kwargs))


# --- the generated Dockerfile (pure) ---
def test_dockerfile_installs_requirements_copies_source_and_runs_as_non_root() -> None:
    text = images.dockerfile(_recipe(index_url="https://pkgs.example.invalid/simple"))
    lines = text.splitlines()
    assert lines[0] == "# syntax=docker/dockerfile:1"  # heredoc COPY needs dockerfile 1.4+
    assert [line for line in lines if line.startswith("FROM ")] == [f"FROM {DEFAULT_IMAGE}"]
    # the requirement lines go into the image through a heredoc, then into the runtime venv
    start = lines.index('COPY <<"AKSML_REQUIREMENTS" /opt/aksml/requirements.txt')
    assert lines[start + 1 : start + 4] == [
        "scikit-learn==1.5.2",
        "joblib>=1.4",
        "AKSML_REQUIREMENTS",
    ]
    run = lines[start + 4]
    assert run == (
        'RUN ["/usr/local/bin/python", "-m", "pip", "--python", "/opt/aksml/venv/bin/python", '
        '"install", "--no-cache-dir", "--disable-pip-version-check", "--requirement", '
        '"/opt/aksml/requirements.txt", "--index-url", "https://pkgs.example.invalid/simple"]'
    )
    # the build context (the source directory) lands where code_in_image pods look for it
    assert "COPY . /var/azureml-app/src/" in lines
    assert lines.index("COPY . /var/azureml-app/src/") > lines.index(run)
    assert "ENV AZUREML_SOURCE_DIRECTORY=src AZUREML_ENTRY_SCRIPT=src/score.py" in lines
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER 0:0", "USER 10001:10001"]  # root only to install; runs as 10001
    assert lines[-2:] == ["USER 10001:10001", 'ENTRYPOINT ["aksml", "serve"]'] or lines[-3:] == [
        "USER 10001:10001",
        'ENTRYPOINT ["aksml", "serve"]',
        "",
    ]
    assert text.endswith('ENTRYPOINT ["aksml", "serve"]\n')


def test_dockerfile_without_requirements_has_no_pip_step() -> None:
    text = images.dockerfile(_recipe(pip_requirements=()))
    assert "pip" not in text and "AKSML_REQUIREMENTS" not in text
    assert "COPY . /var/azureml-app/src/" in text


def test_dockerfile_matches_the_runtime_image_it_builds_on() -> None:
    """The generated file relies on the repository's runtime image: its venv, its python,
    its uid and its app root. Fail here if that Dockerfile changes under it."""
    runtime = REPO_DOCKERFILE.read_text()
    # /usr/local/bin/python with pip: the default base, and required of any BASE_IMAGE
    assert "ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim" in runtime
    assert "FROM ${BASE_IMAGE} AS base" in runtime and "/usr/local/bin/python" in runtime
    assert f"uv venv {images.RUNTIME_VENV}" in runtime  # not --seed: that venv has no pip
    # the plan's install init container runs exactly this (pip >= 22.3 has --python)
    assert (
        f"RUN {contract.SYSTEM_PYTHON} -m pip --python {contract.RUNTIME_PYTHON} --version"
        in runtime
    )
    assert "--seed" not in runtime and "pip==" not in runtime
    assert f"PATH={images.RUNTIME_VENV}/bin:$PATH" in runtime
    assert f"USER {images.RUNTIME_USER}" in runtime
    assert f"AML_APP_ROOT={contract.APP_ROOT_DIR}" in runtime
    assert 'ENTRYPOINT ["aksml", "serve"]' in runtime


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_image": "bad image"}, "Invalid base image"),
        ({"entry_script": "../score.py"}, "Invalid entry_script"),
        ({"directory_name": "/abs"}, "Invalid source directory name"),
        ({"pip_requirements": ("AKSML_REQUIREMENTS",)}, "Invalid pip requirement"),
        ({"pip_requirements": ("a\nRUN rm -rf /",)}, "Invalid pip requirement"),
        ({"index_url": "https://user:token@pkgs.example.invalid/simple"}, "credentials"),
    ],
)
def test_dockerfile_refuses_inputs_that_would_break_it(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(WebserviceException, match=message):
        images.dockerfile(_recipe(**kwargs))


def test_content_tag_changes_with_content_only() -> None:
    files = {"score.py": b"a", "lib/x.py": b"b"}
    tag = images.content_tag("FROM x\n", files)
    assert re.fullmatch(r"[0-9a-f]{12}", tag)
    assert images.content_tag("FROM x\n", dict(reversed(files.items()))) == tag
    assert images.content_tag("FROM y\n", files) != tag
    assert images.content_tag("FROM x\n", {**files, "score.py": b"c"}) != tag
    assert images.content_tag("FROM x\n", {**files, "new.py": b""}) != tag


def test_registry_names_and_helpers() -> None:
    name = images.registry_name("churn-azure", "proj/dev")
    assert images.validate_registry_name(name) == name
    assert name.startswith("churnazure") and name == images.registry_name("churn-azure", "proj/dev")
    assert name != images.registry_name("churn-azure", "proj/prod")
    assert images.validate_registry_name(images.registry_name("-", "s"))
    with pytest.raises(WebserviceException, match="registry_name"):
        images.validate_registry_name("a-b")
    with pytest.raises(WebserviceException, match="repository"):
        images.validate_repository("Churn")
    assert images.login_server("MyAcr") == "myacr.azurecr.io"
    with pytest.raises(WebserviceException, match="kubelet identity"):
        images.kubelet_object_id({})
    with pytest.raises(WebserviceException, match="push_credentials"):
        images.push_credentials("key")
    assert naming.entra_issuer(TENANT) == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    with pytest.raises(WebserviceException, match="identifier_uri"):
        naming.validate_identifier_uri("urn:x")


# --- AzureServiceResources under mocks ---
def _run(make: Callable[[], Any]) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[misc]
    async def wrapper() -> None:
        comp: AzureServiceResources = make()
        captured["component"] = comp
        for key in ("image_ref", "registry_login_server", "token_issuer", "token_audience"):
            output = getattr(comp, key)
            captured[key] = await output.future()
            captured[f"{key}.known"] = await output.is_known()

    wrapper()
    return captured


def _image_args(tmp_path: Path, **image: Any) -> AzureServiceResourcesArgs:
    src = _source(tmp_path)
    return {
        "resource_group_name": RG,
        "compute_target_name": CLUSTER_NAME,
        "kubernetes_provider_enabled": False,
        "image": image,  # type: ignore[typeddict-item]
        "image_source": {
            "source_directory": str(src),
            "entry_script": "score.py",
            "pip_requirements": ["scikit-learn==1.5.2"],
        },
    }


def test_image_build_creates_registry_pushes_with_secret_admin_password_and_grants_acr_pull(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    args = _image_args(tmp_path)
    got = _run(lambda: AzureServiceResources("ws", args))
    registry_name = images.registry_name("ws", "aksml-test/dev")
    server = f"{registry_name}.azurecr.io"

    assert sorted((r.typ, r.name) for r in rec.custom()) == [
        (ROLE, "ws-acr-pull"),
        (REGISTRY, "ws-acr"),
        (IMAGE, "ws-image"),
    ]
    registry = rec.inputs(REGISTRY, "ws-acr")
    assert registry == {
        "registryName": registry_name,
        "resourceGroupName": RG,
        "sku": {"name": "Basic"},
        "adminUserEnabled": True,
        "tags": {},
        # the SDK's defaults: no anonymous pull
        "anonymousPullEnabled": False,
        "networkRuleBypassOptions": "AzureServices",
        "publicNetworkAccess": "Enabled",
        "zoneRedundancy": "Disabled",
    }
    listed = [c for c in rec.calls if c.token.endswith(":listRegistryCredentials")]
    assert [dict(c.args) for c in listed] == [
        {"registryName": registry_name, "resourceGroupName": RG}
    ]

    raw = rec.one(IMAGE, "ws-image").inputs
    assert is_wrapped_secret(raw["registries"])  # the password (and so the list) stays secret
    built = unwrap(raw)
    expected_dockerfile = images.dockerfile(
        images.ImageRecipe(
            base_image=DEFAULT_IMAGE,
            directory_name="src",
            entry_script="score.py",
            pip_requirements=("scikit-learn==1.5.2",),
        )
    )
    assert built["dockerfile"] == {"inline": expected_dockerfile}
    assert built["context"] == {"location": str(tmp_path / "src")}
    assert built["push"] is True
    assert built["buildOnPreview"] is False
    assert built["platforms"] == ["linux/amd64"]
    assert built["registries"] == [
        {"address": server, "username": ACR_USER, "password": ACR_PASSWORD}
    ]
    (tag,) = built["tags"]
    assert re.fullmatch(rf"{re.escape(server)}/ws:[0-9a-f]{{12}}", tag)
    assert got["image_ref"] == f"{tag}@{IMAGE_DIGEST}"
    assert got["registry_login_server"] == server

    grant = rec.inputs(ROLE, "ws-acr-pull")
    assert grant == {
        "principalId": KUBELET_OBJECT_ID,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": ACR_PULL_ID,
        "scope": (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/"
            f"Microsoft.ContainerRegistry/registries/{registry_name}"
        ),
    }
    # the image is pushed only after the registry exists
    assert rec.urn_of(IMAGE, "ws-image").startswith("urn:pulumi:dev::aksml-test::")
    assert not rec.of_type(APP)


def test_image_tag_changes_when_a_source_file_changes(azure_mocks: Install, tmp_path: Path) -> None:
    tags = []
    for content in ("X = 1\n", "X = 2\n"):
        rec = azure_mocks()
        args = _image_args(tmp_path / content.strip()[-1])
        (tmp_path / content.strip()[-1] / "src" / "lib" / "features.py").write_text(content)
        _run(lambda args=args: AzureServiceResources("ws", args))
        tags.append(rec.inputs(IMAGE, "ws-image")["tags"][0])
    assert tags[0] != tags[1]


def test_existing_registry_with_docker_login_lists_no_credentials(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    registry_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shared/providers/"
        "Microsoft.ContainerRegistry/registries/SharedAcr"
    )
    args = _image_args(
        tmp_path,
        registry_id=registry_id,
        push_credentials="docker",
        repository="team/churn",
        platforms=["linux/arm64"],
    )
    got = _run(lambda: AzureServiceResources("ws", args))
    assert not rec.of_type(REGISTRY)
    assert not [c for c in rec.calls if "Registry" in c.token]
    built = rec.inputs(IMAGE, "ws-image")
    assert "registries" not in built
    assert built["platforms"] == ["linux/arm64"]
    assert built["tags"][0].startswith("sharedacr.azurecr.io/team/churn:")
    assert got["image_ref"].startswith("sharedacr.azurecr.io/team/churn:")
    assert rec.inputs(ROLE, "ws-acr-pull")["scope"] == registry_id


def test_grant_acr_pull_false_needs_no_cluster(azure_mocks: Install, tmp_path: Path) -> None:
    rec = azure_mocks()
    args = _image_args(tmp_path, grant_acr_pull=False)
    del args["compute_target_name"]
    _run(lambda: AzureServiceResources("ws", args))
    assert sorted(r.typ for r in rec.custom()) == [REGISTRY, IMAGE]
    assert rec.calls and all(c.token.endswith(":listRegistryCredentials") for c in rec.calls)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"registry_name": "no-dashes"}, "registry_name"),
        ({"registry_sku": "Free"}, "registry_sku"),
        ({"platforms": ["linux/sparc"]}, "Unsupported platforms"),
        ({"push_credentials": "key"}, "push_credentials"),
    ],
)
def test_invalid_image_settings_fail_before_any_child(
    azure_mocks: Install, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    rec = azure_mocks()
    args = _image_args(tmp_path, **change)
    with pytest.raises(WebserviceException, match=message):
        _run(lambda: AzureServiceResources("ws", args))
    assert not rec.custom()


def test_missing_or_wrong_image_source_fails_before_any_child(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    args = _image_args(tmp_path)
    args["image_source"]["entry_script"] = "missing.py"
    with pytest.raises(WebserviceException, match="not found"):
        _run(lambda: AzureServiceResources("ws", args))
    del args["image_source"]
    with pytest.raises(WebserviceException, match=r"image_source \(one image\) or image_sources"):
        _run(lambda: AzureServiceResources("ws", args))
    assert not rec.custom()


def test_acr_pull_without_cluster_is_refused(azure_mocks: Install, tmp_path: Path) -> None:
    azure_mocks()
    args = _image_args(tmp_path)
    del args["compute_target_name"]
    with pytest.raises(WebserviceException, match="AcrPull needs the AKS cluster"):
        _run(lambda: AzureServiceResources("ws", args))


def test_preview_with_cluster_in_same_program_registers_build_and_grant(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks(preview=True, unknown_cluster=True)

    def make() -> AzureServiceResources:
        cluster = containerservice.ManagedCluster("aks", resource_group_name=RG, dns_prefix="aks")
        args = _image_args(tmp_path)
        del args["compute_target_name"]
        args["cluster"] = cluster
        return AzureServiceResources("ws", args)

    got = _run(make)
    assert sorted(r.name for r in rec.custom() if r.name != "aks") == [
        "ws-acr",
        "ws-acr-pull",
        "ws-image",
    ]
    assert got["image_ref.known"] is False  # nothing is built in a preview


def test_token_application_sets_issuer_and_audience(azure_mocks: Install) -> None:
    rec = azure_mocks()
    args: AzureServiceResourcesArgs = {
        "resource_group_name": RG,
        "token_auth_application": {"display_name": "Churn scoring"},
    }
    got = _run(lambda: AzureServiceResources("ws", args))
    app = rec.inputs(APP, "ws-app")
    assert app == {
        "displayName": "Churn scoring",
        "identifierUris": ["api://ws"],
        "signInAudience": "AzureADMyOrg",
        "api": {"requestedAccessTokenVersion": 2},
    }
    assert [c.token for c in rec.calls] == ["azure-native:authorization:getClientConfig"]
    assert got["token_issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert got["token_audience"] == f"{APP_CLIENT_ID},api://ws"
    assert [r.typ for r in rec.custom()] == [APP]  # nothing else is created for it


def test_token_application_with_given_tenant_reads_no_client_config(azure_mocks: Install) -> None:
    rec = azure_mocks()
    args: AzureServiceResourcesArgs = {
        "resource_group_name": RG,
        "token_auth_application": {
            "tenant_id": "contoso.onmicrosoft.com",
            "identifier_uri": "api://churn-scoring",
        },
    }
    got = _run(lambda: AzureServiceResources("ws", args))
    assert rec.calls == []
    assert got["token_issuer"] == "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
    assert got["token_audience"] == f"{APP_CLIENT_ID},api://churn-scoring"


# --- AksWebservice with azure.image / azure.token_auth_application ---
def _service(args: dict[str, Any]) -> None:
    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> pulumi.Output[Any]:
        return AksWebservice("iris", args).scoring_uri  # type: ignore[arg-type]

    body()


def _pod(rec: Recorder) -> dict[str, Any]:
    (deployment,) = [r for r in rec.custom() if r.typ == "kubernetes:apps/v1:Deployment"]
    pod: dict[str, Any] = unwrap(deployment.inputs)["spec"]["template"]["spec"]
    return pod


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_webservice_runs_the_pushed_image_without_pip_init_or_code_configmap(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    src = _source(tmp_path)
    _service(
        {
            "compute_target_name": CLUSTER_NAME,
            "namespace": "ml",
            "entry_script": "score.py",
            "source_directory": str(src),
            "environment": {"pip_requirements": ["scikit-learn==1.5.2", "joblib"]},
            "azure": {"resource_group_name": RG, "image": {}},
        }
    )
    built = rec.inputs(IMAGE, "iris-azure-image")
    assert "scikit-learn==1.5.2\njoblib\nAKSML_REQUIREMENTS" in built["dockerfile"]["inline"]
    (tag,) = built["tags"]
    assert tag.split(":")[0].endswith(".azurecr.io/iris")  # repository = the service name
    pod = _pod(rec)
    (runtime,) = pod["containers"]
    assert runtime["image"] == f"{tag}@{IMAGE_DIGEST}"
    assert "initContainers" not in pod  # no pip install at pod start
    assert {v["name"] for v in pod["volumes"]} == {"tmp", "keys"}  # no code/env ConfigMap
    env = _env(runtime)
    assert env[contract.ENTRY_SCRIPT.env] == "src/score.py"
    assert contract.SOURCE_DIRECTORY.env not in env  # the image's ENV sets it
    assert "PYTHONPATH" not in env
    assert not [r for r in rec.custom() if r.typ == "kubernetes:core/v1:ConfigMap"]
    grant = rec.inputs(ROLE, "iris-azure-acr-pull")
    assert grant["principalId"] == KUBELET_OBJECT_ID and grant["roleDefinitionId"] == ACR_PULL_ID


def test_webservice_without_image_section_keeps_the_pip_init_container(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    src = _source(tmp_path)
    _service(
        {
            "compute_target_name": CLUSTER_NAME,
            "namespace": "ml",
            "entry_script": "score.py",
            "source_directory": str(src),
            "environment": {"pip_requirements": ["joblib"]},
            "azure": {"resource_group_name": RG},
        }
    )
    assert not rec.of_type(IMAGE) and not rec.of_type(REGISTRY) and not rec.of_type(ROLE)
    pod = _pod(rec)
    assert [c["name"] for c in pod["initContainers"]] == ["install-environment"]
    # the runtime's virtualenv has no pip (uv venv): the base image's python installs
    assert pod["initContainers"][0]["command"][:3] == [images.SYSTEM_PYTHON, "-m", "pip"]
    assert pod["containers"][0]["image"] == DEFAULT_IMAGE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"entry_script": None}, "needs entry_script and source_directory"),
        ({"code_in_image": True}, "drop code_in_image"),
        ({"image": pulumi.Output.from_input("x")}, "base image"),
        ({"source_directory": "."}, "folder's name"),
    ],
)
def test_webservice_image_build_refuses_conflicting_args(
    azure_mocks: Install, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    rec = azure_mocks()
    args: dict[str, Any] = {
        "compute_target_name": CLUSTER_NAME,
        "entry_script": "score.py",
        "source_directory": str(_source(tmp_path)),
        "azure": {"resource_group_name": RG, "image": {}},
    }
    args.update(change)
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(WebserviceException, match=message):
        _service(args)
    assert not [r for r in rec.resources if r.typ.startswith(("azure-native", "docker-build"))]


def test_webservice_token_auth_application_feeds_runtime_issuer_and_audience(
    azure_mocks: Install,
) -> None:
    rec = azure_mocks()
    _service(
        {
            **SCRIPT_ARGS,
            "namespace": "ml",
            "auth_enabled": False,
            "token_auth_enabled": True,
            "azure": {"resource_group_name": RG, "token_auth_application": {}},
        }
    )
    app = rec.inputs(APP, "iris-azure-app")
    assert app["identifierUris"] == ["api://iris"] and app["displayName"] == "iris"
    env = _env(_pod(rec)["containers"][0])
    assert env[contract.AUTH_MODE.env] == "token"
    assert env[contract.TOKEN_ISSUER.env] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert env[contract.TOKEN_AUDIENCE.env] == f"{APP_CLIENT_ID},api://iris"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "needs token_auth_enabled=True"),
        (
            {"auth_enabled": False, "token_auth_enabled": True, "token_issuer": "https://x/"},
            "not both",
        ),
    ],
)
def test_webservice_token_application_only_for_token_auth(
    azure_mocks: Install, extra: dict[str, Any], message: str
) -> None:
    rec = azure_mocks()
    args = {"azure": {"resource_group_name": RG, "token_auth_application": {}}, **extra}
    with pytest.raises(WebserviceException, match=message):
        _service(args)
    assert not rec.of_type(APP)


# --- the multi-language package is the same with or without the azure extra ---
def test_provider_package_does_not_host_azure_service_resources() -> None:
    from aksml.package import COMPONENTS, schema_json

    assert AzureServiceResources not in COMPONENTS
    assert "aksml:index:AzureServiceResources" not in schema_json()


def test_offline_stand_ins_for_registries_images_and_app_registrations() -> None:
    from aksml.azure import offline

    rid, state = offline.resource_state(
        "azure-native:containerregistry:Registry", "x-acr", {"registryName": "MyAcr1"}
    )
    assert rid.endswith("/providers/Microsoft.ContainerRegistry/registries/MyAcr1")
    assert state["loginServer"] == "myacr1.azurecr.io" and state["name"] == "MyAcr1"
    _, image = offline.resource_state("docker-build:index:Image", "x-image", {"tags": ["r/a:1"]})
    assert image["ref"] == f"r/a:1@{offline.IMAGE_DIGEST}"
    _, app = offline.resource_state("azuread:index/application:Application", "x-app", {})
    assert app["clientId"] == offline.ZERO_GUID
    creds = offline.invoke_result("azure-native:containerregistry:listRegistryCredentials", {})
    assert creds is not None and creds["passwords"][0]["value"] == "render"
    cluster = offline.invoke_result(
        "azure-native:containerservice:getManagedCluster",
        {"resourceGroupName": "g", "resourceName": "c"},
    )
    assert cluster is not None
    assert images.kubelet_object_id(cluster["identityProfile"]) == offline.ZERO_GUID
