"""The runtime contract: every name that both the pod spec (``aksml.plan``) and the scoring
server (``aksml.runtime``) must agree on. One module owns them; both sides import it.

Nothing here imports Pulumi, Kubernetes or pydantic; the v1 defaults and limits come from the
parameter table (``aksml.v1.params``), which imports none of them either. Each runtime setting
has a CLI flag for ``aksml serve`` and an environment variable (the Deployment sets them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aksml.v1.params import default, maximum


@dataclass(frozen=True)
class RuntimeSetting:
    """One setting of ``aksml serve``: its CLI flag, its environment variable and its meaning."""

    flag: str
    env: str
    help: str


# --- Azure ML inference-server compatible variables (score.py code reads some of these) ---
ENTRY_SCRIPT: Final = RuntimeSetting(
    "--entry-script",
    "AZUREML_ENTRY_SCRIPT",
    "Scoring script (score.py) with init() and run(); relative paths resolve against the app root.",
)
APP_ROOT: Final = RuntimeSetting(
    "--app-root",
    "AML_APP_ROOT",
    "Application root: added to sys.path; user swagger files are looked up here.",
)
SOURCE_DIRECTORY: Final = RuntimeSetting(
    "--source-dir",
    "AZUREML_SOURCE_DIRECTORY",
    "Source directory (relative to the app root) added to sys.path.",
)
MODEL_DIR: Final = RuntimeSetting(
    "--model-dir",
    "AZUREML_MODEL_DIR",
    "Model directory exposed to score.py (…/azureml-models/<name>/<version> for one model).",
)

# --- aksml runtime settings ---
PORT: Final = RuntimeSetting("--port", "AKSML_PORT", "Scoring HTTP port.")
HEALTH_PORT: Final = RuntimeSetting(
    "--health-port",
    "AKSML_HEALTH_PORT",
    "A second port answering the same paths, for a health checker kept off the scoring port "
    "(azmlinfsrv's --health_port; 0: none).",
)
METRICS_PORT: Final = RuntimeSetting(
    "--metrics-port", "AKSML_METRICS_PORT", "Prometheus /metrics port (0 disables)."
)
HOST: Final = RuntimeSetting("--host", "AKSML_HOST", "Address to bind.")
CONFIG: Final = RuntimeSetting(
    "--config",
    "AKSML_CONFIG",
    "Deploy configuration (AML v1 JSON or YAML): admission, timeouts, auth, data collection.",
)
SERVICE_NAME: Final = RuntimeSetting(
    "--service-name",
    "AKSML_SERVICE_NAME",
    "Service name: serves /api/v1/service/<name>/score and titles the swagger document.",
)
PRIMARY_KEY: Final = RuntimeSetting("--primary-key", "AKSML_PRIMARY_KEY", "Primary auth key.")
SECONDARY_KEY: Final = RuntimeSetting(
    "--secondary-key", "AKSML_SECONDARY_KEY", "Secondary auth key."
)
KEYS_FILE: Final = RuntimeSetting(
    "--keys-file",
    "AKSML_KEYS_FILE",
    'Keys file, re-read on change: a JSON file {"primaryKey":…,"secondaryKey":…} or a '
    "directory holding files 'primaryKey' and 'secondaryKey' (a mounted Kubernetes Secret).",
)
AUTH_MODE: Final = RuntimeSetting(
    "--auth", "AKSML_AUTH", "Authentication: 'key', 'token' or 'none'."
)
TOKEN_ISSUER: Final = RuntimeSetting(
    "--token-issuer",
    "AKSML_TOKEN_ISSUER",
    "OIDC issuer URL for token auth (discovery at <issuer>/.well-known/openid-configuration).",
)
TOKEN_AUDIENCE: Final = RuntimeSetting(
    "--token-audience", "AKSML_TOKEN_AUDIENCE", "Expected JWT 'aud' for token auth."
)
UPSTREAM: Final = RuntimeSetting(
    "--upstream",
    "AKSML_UPSTREAM",
    "Proxy mode: base URL of the model server in the same pod (http://127.0.0.1:PORT).",
)
UPSTREAM_SCORE_PATH: Final = RuntimeSetting(
    "--upstream-score-path", "AKSML_UPSTREAM_SCORE_PATH", "Proxy mode: upstream scoring path."
)
UPSTREAM_SWAGGER_PATH: Final = RuntimeSetting(
    "--upstream-swagger-path", "AKSML_UPSTREAM_SWAGGER_PATH", "Proxy mode: upstream swagger path."
)
MAX_CONCURRENT_REQUESTS: Final = RuntimeSetting(
    "--max-concurrent-requests",
    "AKSML_MAX_CONCURRENT_REQUESTS",
    "replica_max_concurrent_requests: run() calls at once.",
)
MAX_REQUEST_WAIT_MS: Final = RuntimeSetting(
    "--max-request-wait-ms",
    "AKSML_MAX_REQUEST_WAIT_MS",
    "max_request_wait_time: queue wait before 503.",
)
SCORING_TIMEOUT_MS: Final = RuntimeSetting(
    "--scoring-timeout-ms", "AKSML_SCORING_TIMEOUT_MS", "scoring_timeout_ms: run() time before 504."
)
MAX_BODY_BYTES: Final = RuntimeSetting(
    "--max-body-bytes", "AKSML_MAX_BODY_BYTES", "Largest accepted request body (413 above)."
)
APP_INSIGHTS_SAMPLE_RATE: Final = RuntimeSetting(
    "--app-insights-sample-rate",
    "AKSML_APP_INSIGHTS_SAMPLE_RATE",
    "Requests exported to Application Insights: 'adaptive' (default: about 5 per second per "
    "replica, failed run() calls always) or a fixed fraction 0-1 (1: every request); exported "
    "items carry their sample rate, so counts in the portal stay right.",
)
ACCESS_LOG: Final = RuntimeSetting(
    "--access-log",
    "AKSML_ACCESS_LOG",
    "Write one JSON line per scoring request to stdout (request id, status, durations; never "
    "bodies, headers, keys or tokens).",
)
CORS_ORIGINS: Final = RuntimeSetting(
    "--access-control-allow-origins",
    "AML_CORS_ORIGINS",
    "Comma-separated origins a browser may call the scoring and swagger paths from ('*': any), "
    "for GET and POST, as azureml-inference-server-http's flask-cors setting (default: none).",
)
SERVER_VERSION_HEADER: Final = RuntimeSetting(
    "--server-version-header",
    "SERVER_VERSION_LOG_RESPONSE_ENABLED",
    "Send x-ms-server-version: aksml/<version> on every response (default true; any value but "
    "true/1/yes/on hides it, as the reference treats an invalid value as false).",
)
SERVICE_VERSION: Final = RuntimeSetting(
    "--service-version",
    "AKSML_SERVICE_VERSION",
    "Service version reported to Application Insights (default: the model versions, else 1.0).",
)
DATA_COLLECTION_SAMPLE_RATE: Final = RuntimeSetting(
    "--data-collection-sample-rate",
    "AKSML_DATA_COLLECTION_SAMPLE_RATE",
    "Fraction (0-1) of requests whose input and prediction are collected (default 1).",
)
DATA_COLLECTION_MAX_RECORD_BYTES: Final = RuntimeSetting(
    "--data-collection-max-record-bytes",
    "AKSML_DATA_COLLECTION_MAX_RECORD_BYTES",
    "Largest input/prediction kept per collected record; longer ones are truncated with a marker.",
)
DATA_COLLECTION_BUFFER_BYTES: Final = RuntimeSetting(
    "--data-collection-buffer-bytes",
    "AKSML_DATA_COLLECTION_BUFFER_BYTES",
    "In-memory buffer bound for collected data; when the sink lags, new records are dropped "
    "and counted (scoring never waits for storage).",
)
DATA_COLLECTION_FLUSH_MS: Final = RuntimeSetting(
    "--data-collection-flush-ms",
    "AKSML_DATA_COLLECTION_FLUSH_MS",
    "How often buffered collected data is written to the sink (sooner when half the buffer is "
    "used; always at shutdown).",
)
COLLECT_MODEL_DATA: Final = RuntimeSetting(
    "--collect-model-data",
    "AKSML_COLLECT_MODEL_DATA",
    "collect_model_data: capture inputs/predictions.",
)
DATA_COLLECTION_DIR: Final = RuntimeSetting(
    "--data-collection-dir", "AKSML_DATA_COLLECTION_DIR", "Directory sink for collected model data."
)
DATA_COLLECTION_BLOB_URL: Final = RuntimeSetting(
    "--data-collection-blob-url",
    "AKSML_DATA_COLLECTION_BLOB_URL",
    "Azure Blob container URL sink for collected model data (workload identity).",
)
WORKER_MODE: Final = RuntimeSetting(
    "--worker-mode",
    "AKSML_WORKER_MODE",
    "Where run() executes: 'thread' (in the server process), 'process' (one worker process per "
    "concurrent request, each running init()) or 'auto' (thread for 1, process above).",
)
WORKER_PREFETCH: Final = RuntimeSetting(
    "--worker-prefetch",
    "AKSML_WORKER_PREFETCH",
    "Process mode: calls handed to a busy worker in advance while calls queue (1, the default: "
    "it starts the next call without waiting for the server process; 0: a call goes to the "
    "first free worker, in strict arrival order, for run() times that vary widely).",
)
SHOW_KEYS: Final = RuntimeSetting(
    "--show-keys",
    "AKSML_SHOW_KEYS",
    "Print the auth key values at startup (off by default; keys are never logged otherwise).",
)
APP_INSIGHTS_CONNECTION_STRING_ENV: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
"""Set (from a Kubernetes Secret) when enable_app_insights is on; the runtime exports to it."""

# --- paths, ports and mounts ---
DEFAULT_PORT: Final = 5001
DEFAULT_METRICS_PORT: Final = 9090
DEFAULT_MAX_BODY_BYTES: Final = 100 * 1024 * 1024
LIVENESS_PATH: Final = "/"
READINESS_PATH: Final = "/-/ready"
"""Fails (503) until init() returned and again from the moment draining starts."""
SCORE_PATH: Final = "/score"
SWAGGER_PATH: Final = "/swagger.json"
METRICS_PATH: Final = "/metrics"
INFLIGHT_METRIC: Final = "aksml_requests_in_flight"
"""Prometheus gauge on METRICS_PATH: run() calls in progress in this replica (the KEDA autoscaler
divides its per-replica average by replica_max_concurrent_requests: AML utilisation)."""
AML_PATH_PREFIX: Final = "/api/v1/service/{name}"
"""The AML path prefix; the runtime serves <prefix>/score and <prefix>/swagger.json too."""

APP_ROOT_DIR: Final = "/var/azureml-app"
MODEL_ROOT_DIR: Final = "/var/azureml-app/azureml-models"
KEYS_MOUNT_DIR: Final = "/var/run/secrets/aksml/keys"
PRIMARY_KEY_FILE: Final = "primaryKey"
SECONDARY_KEY_FILE: Final = "secondaryKey"
PACKAGES_DIR: Final = "/opt/aksml/packages"
"""Init-container pip target for the score.py environment; on the runtime's PYTHONPATH."""
RUNTIME_VENV: Final = "/opt/aksml/venv"
"""The runtime image's virtualenv (the repository's Dockerfile, ``uv venv``): ``aksml serve``
and its locked dependencies; it has no pip."""
RUNTIME_PYTHON: Final = f"{RUNTIME_VENV}/bin/python"
"""The interpreter that runs ``aksml serve`` and so imports score.py's packages."""
SYSTEM_PYTHON: Final = "/usr/local/bin/python"
"""The runtime image's base interpreter (python:slim), which has pip (>= 22.3). Package
installs run its pip with ``--python`` :data:`RUNTIME_PYTHON`, so wheels and environment
markers are chosen for the interpreter that imports them."""
TMP_DIR: Final = "/tmp"
DEFAULT_MAX_REQUEST_WAIT_MS: Final[int] = default("max_request_wait_time")
"""max_request_wait_time default (AML v1), from the parameter table."""
DEFAULT_SCORING_TIMEOUT_MS: Final[int] = default("scoring_timeout_ms")
"""scoring_timeout_ms default (AML v1 azureml-fe: one minute), from the parameter table."""
DEFAULT_MAX_CONCURRENT_REQUESTS: Final[int] = default("replica_max_concurrent_requests")
"""replica_max_concurrent_requests default (AML v1), from the parameter table."""
MAX_CONCURRENT_REQUESTS_LIMIT: Final[int] = maximum("replica_max_concurrent_requests")
"""The most concurrent requests one replica accepts (beyond v1; the configuration refuses more,
see ``aksml.v1.params``)."""

# --- process exit codes ---
EXIT_OK: Final = 0
EXIT_USAGE: Final = 2
EXIT_INIT_FAILED: Final = 3
"""init() raised or run() is missing: the same exit code as azureml-inference-server-http."""


# --- more Prometheus metric names (see INFLIGHT_METRIC above) ---
QUEUE_DEPTH_METRIC: Final = "aksml_queue_depth"
"""Gauge: requests waiting for an admission slot in this replica. Not in the default KEDA query
(v1 counted busy replicas); adding it gives azureml-fe v2's busy + queued utilisation."""

ALL_SETTINGS: Final[tuple[RuntimeSetting, ...]] = tuple(
    v for v in list(globals().values()) if isinstance(v, RuntimeSetting)
)
"""Every runtime setting; tests check the rendered container env against ``env`` names here."""

RUNTIME_ENV_NAMES: Final[frozenset[str]] = frozenset(s.env for s in ALL_SETTINGS) | {
    APP_INSIGHTS_CONNECTION_STRING_ENV
}
