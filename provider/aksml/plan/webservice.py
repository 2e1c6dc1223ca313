"""The expansion of one ``AksWebservice`` into Kubernetes objects (plain dicts).

Pure and deterministic: the same (name, config, workload) always gives the same list, in the
same order, with the same bytes once rendered. Values only known at deploy time (generated
keys, Output-valued strings) appear as opaque placeholders (:func:`placeholder`) that the
component substitutes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan.admission import require_deployable
from aksml.plan.settings import (
    AutoscalerKind,
    CodeBundle,
    Exposure,
    GatewaySpec,
    ModelRef,
    ModelSource,
    RuntimeMode,
    WorkloadSettings,
)
from aksml.plan.startup import require_startable
from aksml.plan.units import cpu_quantity, memory_quantity
from aksml.v1.names import validate_service_name
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]

DEFAULT_NAMESPACE = "default"
"""Namespace used when the configuration leaves ``namespace`` unset."""

SERVICE_PORT = 80
"""The Service (and URI) port: AML scoring URIs are plain port 80 (443 behind TLS)."""

PRESTOP_SLEEP_SECONDS = 5
"""Pause before SIGTERM so endpoint controllers and load balancers stop sending new requests."""

SHUTDOWN_MARGIN_SECONDS = 10
"""Extra grace after the longest scoring call for flushing collected data and exiting."""

CONFIGMAP_LIMIT_BYTES = 1024 * 1024
"""Kubernetes' ConfigMap size limit (1 MiB)."""

RUN_AS_USER = 10001
"""Numeric non-root UID/GID the pod runs as (restricted Pod Security)."""

SIDECAR_CPU = "100m"
"""Proxy mode: the runtime container's CPU request (the model container gets the v1 numbers)."""
SIDECAR_MEMORY = "256Mi"
"""Proxy mode: the runtime container's memory request."""

DATA_COLLECTION_DIR = "/var/aksml/data-collection"
"""collect_model_data without a blob URL: pod-local volume the runtime appends JSON lines to."""

ENVIRONMENT_MOUNT_DIR = "/var/run/aksml/environment"
"""Where the install init container reads requirements.txt from."""

PYTHONPATH_ENV = "PYTHONPATH"
"""Set to contract.PACKAGES_DIR when an environment is installed at pod start."""

STANDARD_ENV_NAMES = frozenset({PYTHONPATH_ENV})
"""Non-aksml variables the plan may set on the runtime container (Python's own)."""

SELECTOR_NAME = "aksml-webservice"
"""``app.kubernetes.io/name`` of every webservice pod."""

BLOB_CSI_DRIVER = "blob.csi.azure.com"
"""Azure Blob CSI driver (AKS add-on)."""

INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"
"""Azure cloud provider: put the Service on an internal load balancer."""

WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
"""ServiceAccount annotation read by the Azure workload identity webhook."""
WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use"
"""Pod label that opts pods into the Azure workload identity webhook."""

ROLE_LABEL = "app.kubernetes.io/component"
"""Which part of the service an object is; the component derives child names from it."""

PRIMARY_KEY_FIELD = "primary_key"
"""Placeholder field for the primary key."""
SECONDARY_KEY_FIELD = "secondary_key"
"""Placeholder field for the secondary key."""

_FETCH_SCRIPT = (
    "import os,sys,urllib.parse,urllib.request\n"
    "a=sys.argv[1:]\n"
    "for d,u in zip(a[::2],a[1::2]):\n"
    "    os.makedirs(d,exist_ok=True)\n"
    "    n=os.path.basename(urllib.parse.urlsplit(u).path) or 'model'\n"
    "    urllib.request.urlretrieve(u,os.path.join(d,n))\n"
    "    print('fetched',n,'into',d)\n"
)

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_CONFIGMAP_KEY_BAD = re.compile(r"[^-._a-zA-Z0-9]")


def placeholder(field: str) -> str:
    """The opaque token standing for a value only known at deploy time."""
    return f"${{aksml:{field}}}"


def namespace_of(config: ResolvedServiceConfig) -> str:
    """The namespace every namespaced object lands in."""
    return config.namespace or DEFAULT_NAMESPACE


def selector_labels(name: str) -> dict[str, str]:
    """Minimal, never-versioned labels selecting the service's pods."""
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/name": SELECTOR_NAME}


def keys_secret_name(name: str) -> str:
    """Name of the Secret holding primaryKey/secondaryKey."""
    return f"{name}-keys"


def app_insights_secret_name(name: str) -> str:
    """Name of the Secret holding the Application Insights connection string."""
    return f"{name}-appinsights"


def _content_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:10]


class _Builder:
    """Builds the object list for one service; one instance per call."""

    def __init__(self, name: str, config: ResolvedServiceConfig, work: WorkloadSettings) -> None:
        self.name = name
        self.config = config
        self.work = work
        self.namespace = namespace_of(config)
        self._check()

    # --- validation of combinations the models cannot see alone ---
    def _check(self) -> None:
        validate_service_name(self.name)
        work = self.work
        if work.exposure is Exposure.GATEWAY and work.gateway is None:
            raise WebserviceException(
                "Error, exposure 'gateway' needs gateway settings with at least one parent_ref."
            )
        if work.runtime_mode is RuntimeMode.PROXY and work.proxy is None:
            raise WebserviceException(
                "Error, runtime_mode 'proxy' needs proxy settings with the upstream image."
            )
        if work.proxy is not None and work.proxy.port in (
            contract.DEFAULT_PORT,
            contract.DEFAULT_METRICS_PORT,
        ):
            raise WebserviceException(
                f"Error, proxy port {work.proxy.port} is used by the aksml runtime; "
                "choose another upstream port."
            )
        if self.config.enable_app_insights and not work.app_insights_connection_string:
            raise WebserviceException(
                "Error, enable_app_insights needs app_insights_connection_string "
                "(the Application Insights resource's connection string)."
            )
        seen: set[tuple[str, str]] = set()
        for model in work.models:
            if (model.name, model.version) in seen:
                raise WebserviceException(
                    f"Error, model {model.name}:{model.version} is listed twice."
                )
            seen.add((model.name, model.version))
            if model.source is not ModelSource.IMAGE and not model.url:
                raise WebserviceException(
                    f"Error, model {model.name}:{model.version} with source "
                    f"'{model.source.value}' needs a url."
                )
            if model.source is ModelSource.BLOB and self._blob_parts(model) is None:
                raise WebserviceException(
                    f"Error, model {model.name}:{model.version}: {model.url!r} is not an "
                    "Azure Blob URL (https://<account>.blob.core.windows.net/<container>/...)."
                )
        reserved = self._runtime_env_names()
        clash = sorted(set(work.environment_variables) & reserved)
        if clash:
            raise WebserviceException(
                f"Error, environment_variables must not set {', '.join(clash)}: aksml sets "
                "them from the deploy configuration."
            )
        if work.code is not None and not work.entry_script:
            raise WebserviceException("Error, need to specify entry_script.")
        if work.entry_script and not work.entry_script.endswith(".py"):
            raise WebserviceException(
                "Invalid driver type. Currently only Python drivers are supported."
            )

    @staticmethod
    def _runtime_env_names() -> set[str]:
        return set(contract.RUNTIME_ENV_NAMES) | set(STANDARD_ENV_NAMES)

    @staticmethod
    def _blob_parts(model: ModelRef) -> tuple[str, str, str] | None:
        """(account, container, path-in-container) of a blob URL, or None."""
        parts = urlsplit(model.url or "")
        host = parts.hostname or ""
        if parts.scheme != "https" or not host.endswith(".blob.core.windows.net"):
            return None
        segments = [s for s in parts.path.split("/") if s]
        if not segments:
            return None
        return host.split(".")[0], segments[0], "/".join(segments[1:])

    # --- shared metadata ---
    def labels(self, role: str) -> dict[str, str]:
        out = {
            **selector_labels(self.name),
            ROLE_LABEL: role,
            "app.kubernetes.io/managed-by": "aksml",
            "app.kubernetes.io/part-of": self.name,
        }
        for key, value in self.config.tags.items():
            if _LABEL_NAME.match(key) and _LABEL_VALUE.match(value):
                out[f"tags.aksml.io/{key}"] = value
        return out

    def annotations(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.config.tags:
            out["aksml.io/tags"] = json.dumps(self.config.tags, sort_keys=True)
        if self.config.properties:
            out["aksml.io/properties"] = json.dumps(self.config.properties, sort_keys=True)
        if self.config.description:
            out["aksml.io/description"] = self.config.description
        if self.config.compute_target_name:
            out["aksml.io/compute-target"] = self.config.compute_target_name
        return out

    def metadata(self, name: str, role: str, namespaced: bool = True) -> Obj:
        meta: Obj = {"name": name, "labels": self.labels(role)}
        if namespaced:
            meta["namespace"] = self.namespace
        annotations = self.annotations()
        if annotations:
            meta["annotations"] = annotations
        return meta

    # --- objects ---
    def namespace_object(self) -> Obj:
        meta = self.metadata(self.namespace, "namespace", namespaced=False)
        meta["labels"].update(
            {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }
        )
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}

    def service_account_name(self) -> str | None:
        if self.work.workload_identity_client_id:
            return self.work.service_account_name or self.name
        return self.work.service_account_name

    def service_account(self) -> Obj | None:
        client_id = self.work.workload_identity_client_id
        sa_name = self.service_account_name()
        if not client_id or sa_name is None:
            return None
        meta = self.metadata(sa_name, "service-account")
        meta.setdefault("annotations", {})[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] = client_id
        return {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": False,
        }

    def keys_secret(self) -> Obj:
        primary = self.config.primary_key or placeholder(PRIMARY_KEY_FIELD)
        secondary = self.config.secondary_key or placeholder(SECONDARY_KEY_FIELD)
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(keys_secret_name(self.name), "keys"),
            "type": "Opaque",
            "stringData": {
                contract.PRIMARY_KEY_FILE: primary,
                contract.SECONDARY_KEY_FILE: secondary,
            },
        }

    def app_insights_secret(self) -> Obj | None:
        if not self.config.enable_app_insights:
            return None
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.metadata(app_insights_secret_name(self.name), "app-insights"),
            "type": "Opaque",
            "stringData": {"connectionString": self.work.app_insights_connection_string or ""},
        }

    def code_configmap(self) -> tuple[Obj, list[Obj]] | None:
        """(ConfigMap, volume items) for shipped code, or None when it is in the image."""
        code = self.work.code
        if code is None:
            return None
        data, binary, items = _configmap_payload(self.name, code)
        parts = [p.encode() + b"\0" + c for p, c in sorted(code.files.items())]
        name = f"{self.name}-code-{_content_hash(*parts)}"
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(name, "code"),
            "immutable": True,
            "data": data,
        }
        if binary:
            obj["binaryData"] = binary
        return obj, items

    def environment_configmap(self) -> Obj | None:
        env = self.work.environment
        if env is None or not env.pip_requirements:
            return None
        text = "".join(f"{line}\n" for line in env.pip_requirements)
        name = f"{self.name}-env-{_content_hash(text.encode(), (env.index_url or '').encode())}"
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(name, "environment"),
            "immutable": True,
            "data": {"requirements.txt": text},
        }

    # --- the pod ---
    @staticmethod
    def container_security() -> Obj:
        return {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        }

    def model_dir(self) -> str:
        models = self.work.models
        if len(models) == 1:
            return f"{contract.MODEL_ROOT_DIR}/{models[0].name}/{models[0].version}"
        return contract.MODEL_ROOT_DIR

    def _blob_mounted(self, model: ModelRef) -> bool:
        return model.source is ModelSource.BLOB and self.config.blobfuse_enabled

    def _downloaded(self) -> list[ModelRef]:
        return [
            m
            for m in self.work.models
            if m.source is not ModelSource.IMAGE
            and not self._blob_mounted(m)
            and not self._identity_fetched(m)
        ]

    def _identity_fetched(self, model: ModelRef) -> bool:
        """A blob model downloaded with the pod's workload identity (``aksml.azure.fetch``)."""
        return (
            model.source is ModelSource.BLOB
            and not self._blob_mounted(model)
            and bool(self.work.workload_identity_client_id)
        )

    def resources(self) -> Obj:
        cfg = self.config
        requests = {"cpu": cpu_quantity(cfg.cpu_cores), "memory": memory_quantity(cfg.memory_gb)}
        limits: dict[str, str] = {}
        if cfg.cpu_cores_limit is not None:
            limits["cpu"] = cpu_quantity(cfg.cpu_cores_limit, "cpu_cores_limit")
        if cfg.memory_gb_limit is not None:
            limits["memory"] = memory_quantity(cfg.memory_gb_limit, "memory_gb_limit")
        if cfg.gpu_cores > 0:
            requests["nvidia.com/gpu"] = str(cfg.gpu_cores)
            limits["nvidia.com/gpu"] = str(cfg.gpu_cores)
        out: Obj = {"requests": requests}
        if limits:
            out["limits"] = limits
        return out

    def runtime_env(self) -> list[Obj]:
        cfg, work = self.config, self.work

        def var(setting: contract.RuntimeSetting, value: str) -> Obj:
            return {"name": setting.env, "value": value}

        auth = "key" if cfg.auth_enabled else "token" if cfg.token_auth_enabled else "none"
        env: list[Obj] = [
            var(contract.SERVICE_NAME, self.name),
            var(contract.HOST, "0.0.0.0"),
            var(contract.PORT, str(contract.DEFAULT_PORT)),
            var(contract.METRICS_PORT, str(contract.DEFAULT_METRICS_PORT)),
            var(contract.AUTH_MODE, auth),
            var(contract.KEYS_FILE, contract.KEYS_MOUNT_DIR),
            var(contract.MAX_CONCURRENT_REQUESTS, str(cfg.replica_max_concurrent_requests)),
            var(contract.MAX_REQUEST_WAIT_MS, str(cfg.max_request_wait_time)),
            var(contract.SCORING_TIMEOUT_MS, str(cfg.scoring_timeout_ms)),
            var(contract.COLLECT_MODEL_DATA, "true" if cfg.collect_model_data else "false"),
            var(contract.APP_ROOT, contract.APP_ROOT_DIR),
        ]
        if cfg.token_auth_enabled and work.token_issuer:
            env.append(var(contract.TOKEN_ISSUER, work.token_issuer))
        if cfg.token_auth_enabled and work.token_audience:
            env.append(var(contract.TOKEN_AUDIENCE, work.token_audience))
        if cfg.collect_model_data:
            if work.data_collection_blob_url:
                env.append(var(contract.DATA_COLLECTION_BLOB_URL, work.data_collection_blob_url))
            else:
                env.append(var(contract.DATA_COLLECTION_DIR, DATA_COLLECTION_DIR))
        if work.runtime_mode is RuntimeMode.IN_PROCESS:
            if work.code is not None:
                env.append(var(contract.SOURCE_DIRECTORY, work.code.directory_name))
                env.append(
                    var(contract.ENTRY_SCRIPT, f"{work.code.directory_name}/{work.entry_script}")
                )
            elif work.entry_script:
                env.append(var(contract.ENTRY_SCRIPT, work.entry_script))
            if work.models:
                env.append(var(contract.MODEL_DIR, self.model_dir()))
        elif work.proxy is not None:
            env.append(var(contract.UPSTREAM, f"http://127.0.0.1:{work.proxy.port}"))
            env.append(var(contract.UPSTREAM_SCORE_PATH, work.proxy.score_path))
            if work.proxy.swagger_path:
                env.append(var(contract.UPSTREAM_SWAGGER_PATH, work.proxy.swagger_path))
        if cfg.enable_app_insights:
            env.append(
                {
                    "name": contract.APP_INSIGHTS_CONNECTION_STRING_ENV,
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": app_insights_secret_name(self.name),
                            "key": "connectionString",
                        }
                    },
                }
            )
        if self.environment_configmap() is not None and work.runtime_mode is RuntimeMode.IN_PROCESS:
            env.append({"name": PYTHONPATH_ENV, "value": contract.PACKAGES_DIR})
        env.extend({"name": k, "value": v} for k, v in sorted(work.environment_variables.items()))
        return env

    def pod(self) -> Obj:
        cfg, work = self.config, self.work
        volumes: list[Obj] = [{"name": "tmp", "emptyDir": {}}]
        mounts: list[Obj] = [{"name": "tmp", "mountPath": contract.TMP_DIR}]
        init_containers: list[Obj] = []

        volumes.append(
            {
                "name": "keys",
                "secret": {
                    "secretName": keys_secret_name(self.name),
                    "defaultMode": 0o440,
                    "items": [
                        {"key": contract.PRIMARY_KEY_FILE, "path": contract.PRIMARY_KEY_FILE},
                        {"key": contract.SECONDARY_KEY_FILE, "path": contract.SECONDARY_KEY_FILE},
                    ],
                },
            }
        )
        mounts.append({"name": "keys", "mountPath": contract.KEYS_MOUNT_DIR, "readOnly": True})

        code = self.code_configmap()
        if code is not None and work.code is not None:
            cm, items = code
            volumes.append(
                {"name": "code", "configMap": {"name": cm["metadata"]["name"], "items": items}}
            )
            mounts.append(
                {
                    "name": "code",
                    "mountPath": f"{contract.APP_ROOT_DIR}/{work.code.directory_name}",
                    "readOnly": True,
                }
            )

        # models: downloaded ones share one volume at the model root; blob ones are CSI mounts
        downloaded = self._downloaded()
        model_mounts: list[Obj] = []
        if downloaded:
            volumes.append({"name": "models", "emptyDir": {}})
            model_mounts.append(
                {"name": "models", "mountPath": contract.MODEL_ROOT_DIR, "readOnly": True}
            )
            fetch_args: list[str] = []
            for model in downloaded:
                fetch_args += [
                    f"{contract.MODEL_ROOT_DIR}/{model.name}/{model.version}",
                    model.url or "",
                ]
            init_containers.append(
                {
                    "name": "fetch-models",
                    "image": work.image,
                    "command": ["python", "-c", _FETCH_SCRIPT, *fetch_args],
                    "env": [{"name": "HOME", "value": contract.TMP_DIR}],
                    "securityContext": self.container_security(),
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": contract.TMP_DIR},
                        {"name": "models", "mountPath": contract.MODEL_ROOT_DIR},
                    ],
                }
            )
        identity_fetched = [m for m in work.models if self._identity_fetched(m)]
        if identity_fetched:
            if not downloaded:
                volumes.append({"name": "models", "emptyDir": {}})
                model_mounts.append(
                    {"name": "models", "mountPath": contract.MODEL_ROOT_DIR, "readOnly": True}
                )
            blob_args: list[str] = []
            for model in identity_fetched:
                blob_args += [
                    f"{contract.MODEL_ROOT_DIR}/{model.name}/{model.version}",
                    model.url or "",
                ]
            init_containers.append(
                {
                    "name": "fetch-blob-models",
                    "image": work.image,
                    "command": ["python", "-m", "aksml.azure.fetch", *blob_args],
                    "env": [{"name": "HOME", "value": contract.TMP_DIR}],
                    "securityContext": self.container_security(),
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": contract.TMP_DIR},
                        {"name": "models", "mountPath": contract.MODEL_ROOT_DIR},
                    ],
                }
            )
        for index, model in enumerate(m for m in work.models if self._blob_mounted(m)):
            parts = self._blob_parts(model)
            assert parts is not None  # checked in _check
            account, container, path = parts
            attributes = {"containerName": container, "storageAccount": account}
            if model.storage_secret_name:
                attributes["secretName"] = model.storage_secret_name
            elif work.workload_identity_client_id:
                # blob CSI >= 1.27: mount with the pod's workload identity token, no account key
                attributes["clientID"] = work.workload_identity_client_id
                attributes["mountWithWorkloadIdentityToken"] = "true"
            volume = f"model-blob-{index}"
            volumes.append(
                {
                    "name": volume,
                    "csi": {
                        "driver": BLOB_CSI_DRIVER,
                        "readOnly": True,
                        "volumeAttributes": attributes,
                    },
                }
            )
            mount: Obj = {
                "name": volume,
                "mountPath": f"{contract.MODEL_ROOT_DIR}/{model.name}/{model.version}",
                "readOnly": True,
            }
            if path:
                mount["subPath"] = path
            model_mounts.append(mount)

        env_cm = self.environment_configmap()
        if env_cm is not None and work.environment is not None:
            volumes.append({"name": "packages", "emptyDir": {}})
            volumes.append(
                {"name": "environment", "configMap": {"name": env_cm["metadata"]["name"]}}
            )
            command = [
                contract.SYSTEM_PYTHON,  # the runtime's virtualenv has no pip
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--target",
                contract.PACKAGES_DIR,
                "--requirement",
                f"{ENVIRONMENT_MOUNT_DIR}/requirements.txt",
            ]
            if work.environment.index_url:
                command += ["--index-url", work.environment.index_url]
            init_containers.append(
                {
                    "name": "install-environment",
                    "image": work.image,
                    "command": command,
                    "env": [{"name": "HOME", "value": contract.TMP_DIR}],
                    "securityContext": self.container_security(),
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": contract.TMP_DIR},
                        {"name": "packages", "mountPath": contract.PACKAGES_DIR},
                        {
                            "name": "environment",
                            "mountPath": ENVIRONMENT_MOUNT_DIR,
                            "readOnly": True,
                        },
                    ],
                }
            )
            mounts.append(
                {"name": "packages", "mountPath": contract.PACKAGES_DIR, "readOnly": True}
            )

        if cfg.collect_model_data and not work.data_collection_blob_url:
            volumes.append({"name": "data-collection", "emptyDir": {}})
            mounts.append({"name": "data-collection", "mountPath": DATA_COLLECTION_DIR})

        proxy = work.runtime_mode is RuntimeMode.PROXY and work.proxy is not None
        if not proxy:
            mounts.extend(model_mounts)

        grace = PRESTOP_SLEEP_SECONDS + math.ceil(cfg.scoring_timeout_ms / 1000)
        runtime: Obj = {
            "name": "runtime",
            "image": work.image,
            "command": ["aksml", "serve"],
            "env": self.runtime_env(),
            "ports": [
                {"name": "http", "containerPort": contract.DEFAULT_PORT, "protocol": "TCP"},
                {
                    "name": "metrics",
                    "containerPort": contract.DEFAULT_METRICS_PORT,
                    "protocol": "TCP",
                },
            ],
            "livenessProbe": {
                "httpGet": {"path": contract.LIVENESS_PATH, "port": "http"},
                "initialDelaySeconds": cfg.initial_delay_seconds,
                "periodSeconds": cfg.period_seconds,
                "timeoutSeconds": cfg.timeout_seconds,
                "successThreshold": cfg.success_threshold,
                "failureThreshold": cfg.failure_threshold,
            },
            "readinessProbe": {
                "httpGet": {"path": contract.READINESS_PATH, "port": "http"},
                "periodSeconds": 5,
                "timeoutSeconds": cfg.timeout_seconds,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
            "resources": (
                {"requests": {"cpu": SIDECAR_CPU, "memory": SIDECAR_MEMORY}}
                if proxy
                else self.resources()
            ),
            "securityContext": self.container_security(),
            "volumeMounts": mounts,
        }
        containers = [runtime]
        if proxy and work.proxy is not None:
            model_container: Obj = {
                "name": "model",
                "image": work.proxy.image,
                "ports": [
                    {"name": "upstream", "containerPort": work.proxy.port, "protocol": "TCP"}
                ],
                "env": [
                    {"name": k, "value": v} for k, v in sorted(work.environment_variables.items())
                ],
                "resources": self.resources(),
                "securityContext": self.container_security(),
                "volumeMounts": [{"name": "tmp", "mountPath": contract.TMP_DIR}, *model_mounts],
                "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
            }
            if work.proxy.args:
                model_container["args"] = list(work.proxy.args)
            if work.models:
                model_container["env"].insert(
                    0, {"name": contract.MODEL_DIR.env, "value": self.model_dir()}
                )
            containers.append(model_container)

        pod_labels = dict(selector_labels(self.name))
        pod_labels["app.kubernetes.io/managed-by"] = "aksml"
        if work.workload_identity_client_id:
            pod_labels[WORKLOAD_IDENTITY_USE_LABEL] = "true"
        spec: Obj = {
            "automountServiceAccountToken": False,
            "containers": containers,
            "enableServiceLinks": False,
            "securityContext": {
                "fsGroup": RUN_AS_USER,
                "runAsGroup": RUN_AS_USER,
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": grace + SHUTDOWN_MARGIN_SECONDS,
            "volumes": volumes,
        }
        if init_containers:
            spec["initContainers"] = init_containers
        sa = self.service_account_name()
        if sa:
            spec["serviceAccountName"] = sa
        if work.node_selector:
            spec["nodeSelector"] = dict(sorted(work.node_selector.items()))
        if work.tolerations:
            spec["tolerations"] = [t.model_dump(exclude_none=True) for t in work.tolerations]
        if work.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in work.image_pull_secrets]
        return {
            "metadata": {
                "labels": pod_labels,
                "annotations": {
                    "prometheus.io/path": contract.METRICS_PATH,
                    "prometheus.io/port": str(contract.DEFAULT_METRICS_PORT),
                    "prometheus.io/scrape": "true",
                },
            },
            "spec": spec,
        }

    def deployment(self) -> Obj:
        spec: Obj = {
            "selector": {"matchLabels": selector_labels(self.name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "revisionHistoryLimit": 5,
            "template": self.pod(),
        }
        if not self.config.autoscale_enabled:
            spec["replicas"] = self.config.num_replicas
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(self.name, "deployment"),
            "spec": spec,
        }

    def service(self) -> Obj:
        meta = self.metadata(self.name, "service")
        spec: Obj = {
            "type": "ClusterIP",
            "selector": selector_labels(self.name),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        }
        if self.work.exposure is Exposure.LOAD_BALANCER:
            spec["type"] = "LoadBalancer"
            if self.work.internal_load_balancer:
                meta.setdefault("annotations", {})[INTERNAL_LB_ANNOTATION] = "true"
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}

    def scale_target(self) -> Obj:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.name}

    def autoscaler(self) -> Obj | None:
        cfg = self.config
        if not cfg.autoscale_enabled:
            return None
        if self.work.autoscaler is AutoscalerKind.HPA:
            return {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": self.metadata(self.name, "autoscaler"),
                "spec": {
                    "scaleTargetRef": self.scale_target(),
                    "minReplicas": cfg.autoscale_min_replicas,
                    "maxReplicas": cfg.autoscale_max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": cfg.autoscale_target_utilization,
                                },
                            },
                        }
                    ],
                },
            }
        # AML utilisation: busy slots / (replicas x max concurrent) kept at target %, i.e. an
        # average of target% x max_concurrent in-flight requests per replica.
        per_replica = cfg.replica_max_concurrent_requests * cfg.autoscale_target_utilization / 100
        query = (
            f'sum({contract.INFLIGHT_METRIC}{{namespace="{self.namespace}",'
            f'pod=~"{self.name}-[a-z0-9]+-[a-z0-9]+"}})'
        )
        return {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": self.metadata(self.name, "autoscaler"),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": self.name,
                },
                "pollingInterval": cfg.autoscale_refresh_seconds,
                "minReplicaCount": cfg.autoscale_min_replicas,
                "maxReplicaCount": cfg.autoscale_max_replicas,
                "triggers": [
                    {
                        "type": "prometheus",
                        "metricType": "AverageValue",
                        "metadata": {
                            "serverAddress": self.work.keda.prometheus_address,
                            "query": query,
                            "threshold": _decimal_text(per_replica),
                        },
                    }
                ],
            },
        }

    def disruption_budget(self) -> Obj | None:
        cfg = self.config
        most = cfg.autoscale_max_replicas if cfg.autoscale_enabled else (cfg.num_replicas or 1)
        if most <= 1:
            return None
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": self.metadata(self.name, "disruption-budget"),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(self.name)}},
        }

    def network_policy(self) -> Obj:
        work = self.work
        http_port = [{"port": "http", "protocol": "TCP"}]
        same_namespace: Obj = {"podSelector": {}}
        if work.exposure is Exposure.LOAD_BALANCER:
            http_from: list[Obj] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
        elif work.exposure is Exposure.INGRESS:
            http_from = [_namespace_peer(work.ingress.controller_namespace), same_namespace]
        elif work.exposure is Exposure.GATEWAY and work.gateway is not None:
            gw_ns = (
                work.gateway.gateway_namespace_for_traffic
                or work.gateway.parent_refs[0].namespace
                or self.namespace
            )
            http_from = [_namespace_peer(gw_ns), same_namespace]
        else:
            http_from = [same_namespace]
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.metadata(self.name, "network-policy"),
            "spec": {
                "podSelector": {"matchLabels": selector_labels(self.name)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": http_from, "ports": http_port},
                    {
                        "from": [{"namespaceSelector": {}}],
                        "ports": [{"port": "metrics", "protocol": "TCP"}],
                    },
                ],
            },
        }

    def path_prefix(self) -> str:
        return contract.AML_PATH_PREFIX.format(name=self.name)

    def backend(self) -> Obj:
        return {"name": self.name, "port": {"number": SERVICE_PORT}}

    def exposure_object(self) -> Obj | None:
        work = self.work
        if work.exposure is Exposure.INGRESS:
            rule: Obj = {
                "http": {
                    "paths": [
                        {
                            "path": self.path_prefix(),
                            "pathType": "Prefix",
                            "backend": {"service": self.backend()},
                        }
                    ]
                }
            }
            if work.ingress.host:
                rule["host"] = work.ingress.host
            spec: Obj = {"ingressClassName": work.ingress.class_name, "rules": [rule]}
            if work.ingress.tls_secret_name:
                tls: Obj = {"secretName": work.ingress.tls_secret_name}
                if work.ingress.host:
                    tls["hosts"] = [work.ingress.host]
                spec["tls"] = [tls]
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": self.metadata(self.name, "ingress"),
                "spec": spec,
            }
        if work.exposure is Exposure.GATEWAY and work.gateway is not None:
            parents = gateway_parent_refs(work.gateway)
            route: Obj = {
                "parentRefs": parents,
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": self.path_prefix()}}],
                        "backendRefs": [
                            {
                                "kind": "Service",
                                "name": self.name,
                                "port": SERVICE_PORT,
                                "weight": 1,
                            }
                        ],
                    }
                ],
            }
            if work.gateway.hostnames:
                route["hostnames"] = list(work.gateway.hostnames)
            return {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": self.metadata(self.name, "route"),
                "spec": route,
            }
        return None

    def build(self) -> list[Obj]:
        objs: list[Obj | None] = [
            self.namespace_object() if self.work.create_namespace else None,
            self.service_account(),
            self.keys_secret(),
            self.app_insights_secret(),
        ]
        code = self.code_configmap()
        objs.append(code[0] if code else None)
        objs.append(self.environment_configmap())
        objs += [
            self.deployment(),
            self.service(),
            self.autoscaler(),
            self.disruption_budget(),
            self.network_policy(),
            self.exposure_object(),
        ]
        return [o for o in objs if o is not None]


def _namespace_peer(namespace: str) -> Obj:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {},
    }


def _decimal_text(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _configmap_key(path: str) -> str:
    return _CONFIGMAP_KEY_BAD.sub("_", path.replace("/", "__"))


def _configmap_payload(
    service: str, code: CodeBundle
) -> tuple[dict[str, str], dict[str, str], list[Obj]]:
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    items: list[Obj] = []
    size = 0
    for path in sorted(code.files):
        content = code.files[path]
        key = _configmap_key(path)
        if key in data or key in binary:
            raise WebserviceException(
                f"Error, source files {path!r} and another file map to the same ConfigMap key "
                f"{key!r}; rename one of them."
            )
        size += len(key) + len(content)
        try:
            data[key] = content.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(content).decode("ascii")
        items.append({"key": key, "path": path})
    if size > CONFIGMAP_LIMIT_BYTES:
        raise WebserviceException(
            f"Error, the code for service '{service}' ({code.directory_name}) is {size} bytes, "
            f"over the {CONFIGMAP_LIMIT_BYTES}-byte (1 MiB) ConfigMap limit; bake it into the "
            "image (code_in_image) or make the source directory smaller."
        )
    return data, binary, items


def plan_webservice(
    name: str, config: ResolvedServiceConfig, workload: WorkloadSettings | None = None
) -> list[Obj]:
    """Every Kubernetes object of the service ``name``, in apply order.

    Raises ``WebserviceException`` for combinations that cannot be deployed (v1 messages where
    v1 had one), for settings the runtime would refuse to start with
    (``aksml.plan.startup``) and for objects the cluster would refuse (``aksml.plan.admission``).
    """
    work = workload or WorkloadSettings()
    require_startable(config, work)
    return require_deployable(_Builder(name, config, work).build())


def gateway_parent_refs(gateway: GatewaySpec) -> list[Obj]:
    """HTTPRoute ``parentRefs`` for the configured Gateway listeners."""
    parents: list[Obj] = []
    for ref in gateway.parent_refs:
        parent: Obj = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ref.name}
        if ref.namespace:
            parent["namespace"] = ref.namespace
        if ref.section_name:
            parent["sectionName"] = ref.section_name
        parents.append(parent)
    return parents
