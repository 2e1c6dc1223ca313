"""The pod of a service and what it mounts: volumes, init containers (model fetchers, package
install), the runtime container (and the model container in proxy mode), the Deployment, and
the ConfigMaps that ship code and requirements into the pod."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan.metadata import (
    APP_INSIGHTS_SECRET_KEY,
    WORKLOAD_IDENTITY_USE_LABEL,
    Meta,
    app_insights_secret_name,
    content_hash,
    selector_labels,
)
from aksml.plan.settings import CodeBundle, ModelRef, ModelSource, RuntimeMode, WorkloadSettings
from aksml.plan.units import cpu_quantity, memory_quantity
from aksml.v1.resolved import ResolvedServiceConfig

Obj = dict[str, Any]

LIVENESS_SUCCESS_THRESHOLD = 1
"""The only ``successThreshold`` the API server accepts on a liveness probe ("must be 1",
k8s.io/kubernetes pkg/apis/core/validation); ``success_threshold`` goes to readiness instead."""

PRESTOP_SLEEP_SECONDS = 5
"""Pause before SIGTERM so endpoint controllers and load balancers stop sending new requests."""

SHUTDOWN_MARGIN_SECONDS = 10
"""Extra grace after the longest scoring call for flushing collected data and exiting."""

CONFIGMAP_LIMIT_BYTES = 1024 * 1024
"""Kubernetes' ConfigMap size limit (1 MiB)."""

RUN_AS_USER = 10001
"""Numeric non-root UID/GID the pod runs as (restricted Pod Security)."""

SIDECAR_CPU_CORES = 0.1
"""Proxy mode: the runtime container's CPU request in cores (the model container gets the v1
numbers)."""
SIDECAR_MEMORY_GB = 0.25
"""Proxy mode: the runtime container's memory request in GiB."""
SIDECAR_CPU = cpu_quantity(SIDECAR_CPU_CORES)
""":data:`SIDECAR_CPU_CORES` as a quantity (``100m``)."""
SIDECAR_MEMORY = memory_quantity(SIDECAR_MEMORY_GB)
""":data:`SIDECAR_MEMORY_GB` as a quantity (``256Mi``)."""

DATA_COLLECTION_DIR = "/var/aksml/data-collection"
"""collect_model_data without a blob URL: pod-local volume the runtime appends JSON lines to."""

ENVIRONMENT_MOUNT_DIR = "/var/run/aksml/environment"
"""Where the install init container reads requirements.txt from."""

PYTHONPATH_ENV = "PYTHONPATH"
"""Set to contract.PACKAGES_DIR when an environment is installed at pod start."""

STANDARD_ENV_NAMES = frozenset({PYTHONPATH_ENV})
"""Non-aksml variables the plan may set on the runtime container (Python's own)."""

BLOB_CSI_DRIVER = "blob.csi.azure.com"
"""Azure Blob CSI driver (AKS add-on)."""

_FETCH_SCRIPT = (
    "import os,sys,urllib.parse,urllib.request\n"
    "a=sys.argv[1:]\n"
    "for d,u in zip(a[::2],a[1::2]):\n"
    "    os.makedirs(d,exist_ok=True)\n"
    "    n=os.path.basename(urllib.parse.urlsplit(u).path) or 'model'\n"
    "    urllib.request.urlretrieve(u,os.path.join(d,n))\n"
    "    print('fetched',n,'into',d)\n"
)

_TMP_MOUNT: Obj = {"name": "tmp", "mountPath": contract.TMP_DIR}
_CONFIGMAP_KEY_BAD = re.compile(r"[^-._a-zA-Z0-9]")


def runtime_env_names() -> set[str]:
    """Environment variables the plan sets on the runtime container (users may not)."""
    return set(contract.RUNTIME_ENV_NAMES) | set(STANDARD_ENV_NAMES)


def blob_parts(model: ModelRef) -> tuple[str, str, str] | None:
    """(account, container, path-in-container) of a blob URL, or None."""
    parts = urlsplit(model.url or "")
    host = parts.hostname or ""
    if parts.scheme != "https" or not host.endswith(".blob.core.windows.net"):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    return host.split(".")[0], segments[0], "/".join(segments[1:])


def container_security() -> Obj:
    """The restricted securityContext of every container."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def model_path(model: ModelRef) -> str:
    """``<model root>/<name>/<version>``: where one model's files are in the pod."""
    return f"{contract.MODEL_ROOT_DIR}/{model.name}/{model.version}"


# ---- ConfigMaps that feed the pod ----------------------------------------------------------


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


def code_configmap(name: str, meta: Meta, code: CodeBundle) -> tuple[Obj, list[Obj]]:
    """(immutable ConfigMap ``<name>-code-<hash>``, its volume items) for shipped code."""
    data, binary, items = _configmap_payload(name, code)
    parts = [p.encode() + b"\0" + c for p, c in sorted(code.files.items())]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.of(f"{name}-code-{content_hash(*parts)}", "code"),
        "immutable": True,
        "data": data,
    }
    if binary:
        obj["binaryData"] = binary
    return obj, items


def environment_configmap(name: str, meta: Meta, work: WorkloadSettings) -> Obj | None:
    """The immutable ConfigMap holding requirements.txt, when packages are installed."""
    env = work.environment
    if env is None or not env.pip_requirements:
        return None
    text = "".join(f"{line}\n" for line in env.pip_requirements)
    digest = content_hash(text.encode(), (env.index_url or "").encode())
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.of(f"{name}-env-{digest}", "environment"),
        "immutable": True,
        "data": {"requirements.txt": text},
    }


# ---- the pod -------------------------------------------------------------------------------


@dataclass
class _Mounts:
    """What the pod mounts, collected in pod order."""

    volumes: list[Obj] = field(default_factory=list)
    runtime: list[Obj] = field(default_factory=list)
    """Mounts of the runtime container (model mounts are added in process mode)."""
    models: list[Obj] = field(default_factory=list)
    """Mounts of the model files (runtime container in process mode, model container in proxy)."""
    init_containers: list[Obj] = field(default_factory=list)


@dataclass(frozen=True)
class PodPlan:
    """The pod of the service ``name``; ``served_name`` is the name its runtime serves and
    ``keys_secret`` the Secret it mounts the keys from (an endpoint version serves and mounts
    the endpoint's)."""

    name: str
    """The service (Deployment, selector and object names)."""
    config: ResolvedServiceConfig
    """The resolved v1 configuration."""
    work: WorkloadSettings
    """What runs and how it is reached."""
    meta: Meta
    """The service's labels and annotations."""
    served_name: str
    """The name the runtime serves (``/api/v1/service/<served_name>/score``)."""
    keys_secret: str
    """The Secret the keys volume mounts."""
    code: tuple[Obj, list[Obj]] | None
    """The code ConfigMap and its volume items (None: no code shipped)."""
    environment: Obj | None
    """The requirements ConfigMap (None: no packages installed)."""
    extra_labels: dict[str, str] = field(default_factory=dict)
    """Labels added to the pod template."""

    # --- models ---
    def model_dir(self) -> str:
        """AZUREML_MODEL_DIR: the one model's folder, or the model root for several."""
        models = self.work.models
        return model_path(models[0]) if len(models) == 1 else contract.MODEL_ROOT_DIR

    def _blob_mounted(self, model: ModelRef) -> bool:
        return model.source is ModelSource.BLOB and self.config.blobfuse_enabled

    def _identity_fetched(self, model: ModelRef) -> bool:
        """A blob model downloaded with the pod's workload identity (``aksml.azure.fetch``)."""
        return (
            model.source is ModelSource.BLOB
            and not self._blob_mounted(model)
            and bool(self.work.workload_identity_client_id)
        )

    def _downloaded(self) -> list[ModelRef]:
        return [
            m
            for m in self.work.models
            if m.source is not ModelSource.IMAGE
            and not self._blob_mounted(m)
            and not self._identity_fetched(m)
        ]

    def _init_container(self, name: str, command: list[str], mounts: list[Obj]) -> Obj:
        return {
            "name": name,
            "image": self.work.image,
            "command": command,
            "env": [{"name": "HOME", "value": contract.TMP_DIR}],
            # the pod's CPU and memory (never its GPUs): init containers run before the app
            # containers, so this reserves nothing more, and cpu_cores_limit/memory_gb_limit
            # cap them too
            "resources": self.resources(gpu=False),
            "securityContext": container_security(),
            "volumeMounts": [dict(_TMP_MOUNT), *mounts],
        }

    def _fetch_container(self, name: str, command: list[str], models: list[ModelRef]) -> Obj:
        """An init container running ``command <dir> <url> ...`` for ``models`` into the
        shared models volume (the two fetchers differ only in their command)."""
        args = [arg for m in models for arg in (model_path(m), m.url or "")]
        mount: Obj = {"name": "models", "mountPath": contract.MODEL_ROOT_DIR}
        return self._init_container(name, [*command, *args], [mount])

    def _add_fetched_models(self, out: _Mounts) -> None:
        downloaded = self._downloaded()
        identity = [m for m in self.work.models if self._identity_fetched(m)]
        if not downloaded and not identity:
            return
        out.volumes.append({"name": "models", "emptyDir": {}})
        out.models.append(
            {"name": "models", "mountPath": contract.MODEL_ROOT_DIR, "readOnly": True}
        )
        if downloaded:
            command = ["python", "-c", _FETCH_SCRIPT]
            out.init_containers.append(self._fetch_container("fetch-models", command, downloaded))
        if identity:
            command = ["python", "-m", "aksml.azure.fetch"]
            out.init_containers.append(
                self._fetch_container("fetch-blob-models", command, identity)
            )

    def _add_blob_mounts(self, out: _Mounts) -> None:
        work = self.work
        for index, model in enumerate(m for m in work.models if self._blob_mounted(m)):
            parts = blob_parts(model)
            assert parts is not None  # checked by plan_webservice
            account, container, path = parts
            attributes = {"containerName": container, "storageAccount": account}
            if model.storage_secret_name:
                attributes["secretName"] = model.storage_secret_name
            elif work.workload_identity_client_id:
                # blob CSI >= 1.27: mount with the pod's workload identity token, no account key
                attributes["clientID"] = work.workload_identity_client_id
                attributes["mountWithWorkloadIdentityToken"] = "true"
            volume = f"model-blob-{index}"
            out.volumes.append(
                {
                    "name": volume,
                    "csi": {
                        "driver": BLOB_CSI_DRIVER,
                        "readOnly": True,
                        "volumeAttributes": attributes,
                    },
                }
            )
            mount: Obj = {"name": volume, "mountPath": model_path(model), "readOnly": True}
            if path:
                mount["subPath"] = path
            out.models.append(mount)

    # --- other volumes ---
    def _add_keys_and_code(self, out: _Mounts) -> None:
        files = (contract.PRIMARY_KEY_FILE, contract.SECONDARY_KEY_FILE)
        out.volumes.append(
            {
                "name": "keys",
                "secret": {
                    "secretName": self.keys_secret,
                    "defaultMode": 0o440,
                    "items": [{"key": f, "path": f} for f in files],
                },
            }
        )
        out.runtime.append({"name": "keys", "mountPath": contract.KEYS_MOUNT_DIR, "readOnly": True})
        if self.code is not None and self.work.code is not None:
            cm, items = self.code
            out.volumes.append(
                {"name": "code", "configMap": {"name": cm["metadata"]["name"], "items": items}}
            )
            directory = f"{contract.APP_ROOT_DIR}/{self.work.code.directory_name}"
            out.runtime.append({"name": "code", "mountPath": directory, "readOnly": True})

    def _add_environment(self, out: _Mounts) -> None:
        env = self.work.environment
        if self.environment is None or env is None:
            return
        out.volumes.append({"name": "packages", "emptyDir": {}})
        out.volumes.append(
            {"name": "environment", "configMap": {"name": self.environment["metadata"]["name"]}}
        )
        # the base interpreter's pip (the runtime's virtualenv has none), choosing wheels and
        # markers for the runtime's interpreter, which imports the packages
        command = [
            *(contract.SYSTEM_PYTHON, "-m", "pip", "--python", contract.RUNTIME_PYTHON),
            *("install", "--no-cache-dir", "--disable-pip-version-check"),
            *("--target", contract.PACKAGES_DIR),
            *("--requirement", f"{ENVIRONMENT_MOUNT_DIR}/requirements.txt"),
        ]
        if env.index_url:
            command += ["--index-url", env.index_url]
        mounts: list[Obj] = [
            {"name": "packages", "mountPath": contract.PACKAGES_DIR},
            {"name": "environment", "mountPath": ENVIRONMENT_MOUNT_DIR, "readOnly": True},
        ]
        out.init_containers.append(self._init_container("install-environment", command, mounts))
        out.runtime.append(
            {"name": "packages", "mountPath": contract.PACKAGES_DIR, "readOnly": True}
        )

    def mounts(self) -> _Mounts:
        """Every volume, mount and init container, in pod order."""
        out = _Mounts(volumes=[{"name": "tmp", "emptyDir": {}}], runtime=[dict(_TMP_MOUNT)])
        self._add_keys_and_code(out)
        self._add_fetched_models(out)
        self._add_blob_mounts(out)
        self._add_environment(out)
        if self.config.collect_model_data and not self.work.data_collection_blob_url:
            out.volumes.append({"name": "data-collection", "emptyDir": {}})
            out.runtime.append({"name": "data-collection", "mountPath": DATA_COLLECTION_DIR})
        if not self.proxied():
            out.runtime.extend(out.models)
        return out

    # --- containers ---
    def proxied(self) -> bool:
        """Proxy mode: the runtime fronts a model-server container."""
        return self.work.runtime_mode is RuntimeMode.PROXY and self.work.proxy is not None

    def _limits(self, least_cores: float = 0, least_gb: float = 0) -> dict[str, str]:
        """cpu_cores_limit and memory_gb_limit (each only when set), at least the given floor."""
        cfg = self.config
        limits: dict[str, str] = {}
        if cfg.cpu_cores_limit is not None:
            limits["cpu"] = cpu_quantity(max(cfg.cpu_cores_limit, least_cores), "cpu_cores_limit")
        if cfg.memory_gb_limit is not None:
            memory = max(cfg.memory_gb_limit, least_gb)
            limits["memory"] = memory_quantity(memory, "memory_gb_limit")
        return limits

    def resources(self, gpu: bool = True) -> Obj:
        """Requests and limits from cpu_cores, memory_gb, their limits and (``gpu``) gpu_cores."""
        cfg = self.config
        requests = {"cpu": cpu_quantity(cfg.cpu_cores), "memory": memory_quantity(cfg.memory_gb)}
        limits = self._limits()
        if gpu and cfg.gpu_cores > 0:
            requests["nvidia.com/gpu"] = str(cfg.gpu_cores)
            limits["nvidia.com/gpu"] = str(cfg.gpu_cores)
        out: Obj = {"requests": requests}
        if limits:
            out["limits"] = limits
        return out

    def sidecar_resources(self) -> Obj:
        """Proxy mode's runtime container: its own small requests, capped by the v1 limits when
        set (never below those requests), so the limits cover every container of the pod."""
        out: Obj = {"requests": {"cpu": SIDECAR_CPU, "memory": SIDECAR_MEMORY}}
        limits = self._limits(SIDECAR_CPU_CORES, SIDECAR_MEMORY_GB)
        if limits:
            out["limits"] = limits
        return out

    def _code_env(self) -> list[Obj]:
        work = self.work

        def var(setting: contract.RuntimeSetting, value: str) -> Obj:
            return {"name": setting.env, "value": value}

        env: list[Obj] = []
        if work.runtime_mode is RuntimeMode.IN_PROCESS:
            if work.code is not None:
                directory = work.code.directory_name
                env.append(var(contract.SOURCE_DIRECTORY, directory))
                env.append(var(contract.ENTRY_SCRIPT, f"{directory}/{work.entry_script}"))
            elif work.entry_script:
                env.append(var(contract.ENTRY_SCRIPT, work.entry_script))
            if work.models:
                env.append(var(contract.MODEL_DIR, self.model_dir()))
        elif work.proxy is not None:
            env.append(var(contract.UPSTREAM, f"http://127.0.0.1:{work.proxy.port}"))
            env.append(var(contract.UPSTREAM_SCORE_PATH, work.proxy.score_path))
            if work.proxy.swagger_path:
                env.append(var(contract.UPSTREAM_SWAGGER_PATH, work.proxy.swagger_path))
        return env

    def runtime_env(self) -> list[Obj]:
        """The runtime container's environment: the deploy configuration as ``aksml serve``
        settings (``aksml.contract``), then the user's variables."""
        cfg, work = self.config, self.work

        def var(setting: contract.RuntimeSetting, value: str) -> Obj:
            return {"name": setting.env, "value": value}

        auth = "key" if cfg.auth_enabled else "token" if cfg.token_auth_enabled else "none"
        env: list[Obj] = [
            var(contract.SERVICE_NAME, self.served_name),
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
        env += self._code_env()
        if cfg.enable_app_insights:
            ref = {"name": app_insights_secret_name(self.name), "key": APP_INSIGHTS_SECRET_KEY}
            env.append(
                {
                    "name": contract.APP_INSIGHTS_CONNECTION_STRING_ENV,
                    "valueFrom": {"secretKeyRef": ref},
                }
            )
        if self.environment is not None and work.runtime_mode is RuntimeMode.IN_PROCESS:
            env.append({"name": PYTHONPATH_ENV, "value": contract.PACKAGES_DIR})
        env.extend({"name": k, "value": v} for k, v in sorted(work.environment_variables.items()))
        return env

    def runtime_container(self, mounts: list[Obj]) -> Obj:
        """The ``aksml serve`` container: settings, ports, probes, resources, mounts."""
        cfg = self.config
        ports = [
            {"name": "http", "containerPort": contract.DEFAULT_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": contract.DEFAULT_METRICS_PORT, "protocol": "TCP"},
        ]
        return {
            "name": "runtime",
            "image": self.work.image,
            "command": ["aksml", "serve"],
            "env": self.runtime_env(),
            "ports": ports,
            "livenessProbe": {
                "httpGet": {"path": contract.LIVENESS_PATH, "port": "http"},
                "initialDelaySeconds": cfg.initial_delay_seconds,
                "periodSeconds": cfg.period_seconds,
                "timeoutSeconds": cfg.timeout_seconds,
                # the API server accepts only 1 for a liveness probe; v1's success_threshold
                # ("successes after a failure before the replica counts as healthy again")
                # is carried to the readiness probe, which decides when a replica gets traffic
                "successThreshold": LIVENESS_SUCCESS_THRESHOLD,
                "failureThreshold": cfg.failure_threshold,
            },
            "readinessProbe": {
                "httpGet": {"path": contract.READINESS_PATH, "port": "http"},
                "periodSeconds": 5,
                "timeoutSeconds": cfg.timeout_seconds,
                "successThreshold": cfg.success_threshold,
                "failureThreshold": 3,
            },
            "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
            "resources": self.sidecar_resources() if self.proxied() else self.resources(),
            "securityContext": container_security(),
            "volumeMounts": mounts,
        }

    def model_container(self, model_mounts: list[Obj]) -> Obj:
        """Proxy mode: the user's model server, with the v1 resources and the model files."""
        work = self.work
        assert work.proxy is not None  # only called when proxied()
        env = [{"name": k, "value": v} for k, v in sorted(work.environment_variables.items())]
        if work.models:
            env.insert(0, {"name": contract.MODEL_DIR.env, "value": self.model_dir()})
        container: Obj = {
            "name": "model",
            "image": work.proxy.image,
            "ports": [{"name": "upstream", "containerPort": work.proxy.port, "protocol": "TCP"}],
            "env": env,
            "resources": self.resources(),
            "securityContext": container_security(),
            "volumeMounts": [dict(_TMP_MOUNT), *model_mounts],
            "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
        }
        if work.proxy.args:
            container["args"] = list(work.proxy.args)
        return container

    def service_account_name(self) -> str | None:
        """The pod's service account (``<name>`` when workload identity needs one)."""
        if self.work.workload_identity_client_id:
            return self.work.service_account_name or self.name
        return self.work.service_account_name

    def _spec(self) -> Obj:
        work, mounts = self.work, self.mounts()
        containers = [self.runtime_container(mounts.runtime)]
        if self.proxied():
            containers.append(self.model_container(mounts.models))
        grace = PRESTOP_SLEEP_SECONDS + math.ceil(self.config.scoring_timeout_ms / 1000)
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
            "volumes": mounts.volumes,
        }
        if mounts.init_containers:
            spec["initContainers"] = mounts.init_containers
        account = self.service_account_name()
        if account:
            spec["serviceAccountName"] = account
        if work.node_selector:
            spec["nodeSelector"] = dict(sorted(work.node_selector.items()))
        if work.tolerations:
            spec["tolerations"] = [t.model_dump(exclude_none=True) for t in work.tolerations]
        if work.priority_class_name:
            spec["priorityClassName"] = work.priority_class_name
        if work.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in work.image_pull_secrets]
        return spec

    def template(self) -> Obj:
        """The pod template: selector labels (plus the extra ones), Prometheus annotations."""
        labels = {**selector_labels(self.name), "app.kubernetes.io/managed-by": "aksml"}
        if self.work.workload_identity_client_id:
            labels[WORKLOAD_IDENTITY_USE_LABEL] = "true"
        labels.update(self.extra_labels)
        annotations = {
            "prometheus.io/path": contract.METRICS_PATH,
            "prometheus.io/port": str(contract.DEFAULT_METRICS_PORT),
            "prometheus.io/scrape": "true",
        }
        return {"metadata": {"labels": labels, "annotations": annotations}, "spec": self._spec()}

    def deployment(self) -> Obj:
        """The Deployment: rolling updates that never drop below the desired replicas."""
        spec: Obj = {
            "selector": {"matchLabels": selector_labels(self.name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "revisionHistoryLimit": 5,
            "template": self.template(),
        }
        if not self.config.autoscale_enabled:
            spec["replicas"] = self.config.num_replicas
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.meta.of(self.name, "deployment"),
            "spec": spec,
        }
