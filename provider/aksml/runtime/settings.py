"""Settings of ``aksml serve``: every flag also from its environment variable.

Precedence: command-line flag > environment variable > ``--config`` file > default. An invalid
value raises :class:`aksml.errors.WebserviceException` with one line naming the flag and the
variable, which the CLI turns into exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from aksml import contract as c
from aksml.errors import WebserviceException

AuthMode = Literal["key", "token", "none"]
WorkerMode = Literal["auto", "thread", "process"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class RuntimeSettings:
    """The effective settings of one ``aksml serve`` process (all defaults applied)."""

    entry_script: Path | None = None
    """Absolute path of score.py; None only in proxy mode."""
    app_root: Path = field(default_factory=Path.cwd)
    """Application root (sys.path entry; user swagger files live here)."""
    source_dir: Path | None = None
    """Absolute source directory added to sys.path, if any."""
    model_dir: str = ""
    """Value exported as AZUREML_MODEL_DIR."""
    host: str = "0.0.0.0"
    """Bind address."""
    port: int = c.DEFAULT_PORT
    """Scoring port."""
    metrics_port: int = c.DEFAULT_METRICS_PORT
    """Prometheus port; 0 disables /metrics."""
    health_port: int = 0
    """Second port serving the same app (0: none)."""
    service_name: str | None = None
    """Service name for the AML path prefix and the swagger title."""
    auth_mode: AuthMode = "none"
    """Resolved auth mode."""
    primary_key: str | None = None
    """Primary key (key auth)."""
    secondary_key: str | None = None
    """Secondary key (key auth)."""
    keys_file: str | None = None
    """Keys file or directory, re-read on change."""
    token_issuer: str | None = None
    """OIDC issuer (token auth)."""
    token_audience: str | None = None
    """Expected JWT audience (token auth)."""
    upstream: str | None = None
    """Proxy mode upstream base URL."""
    upstream_score_path: str = "/score"
    """Upstream scoring path (proxy mode)."""
    upstream_swagger_path: str = "/swagger.json"
    """Upstream swagger path (proxy mode)."""
    max_concurrent_requests: int = c.DEFAULT_MAX_CONCURRENT_REQUESTS
    """replica_max_concurrent_requests."""
    max_request_wait_ms: int = c.DEFAULT_MAX_REQUEST_WAIT_MS
    """max_request_wait_time (ms)."""
    scoring_timeout_ms: int = c.DEFAULT_SCORING_TIMEOUT_MS
    """scoring_timeout_ms."""
    max_body_bytes: int = c.DEFAULT_MAX_BODY_BYTES
    """Largest accepted request body."""
    collect_model_data: bool = False
    """collect_model_data."""
    data_collection_dir: str | None = None
    """Directory sink for collected data."""
    data_collection_blob_url: str | None = None
    """Blob container sink for collected data."""
    data_collection_sample_rate: float | None = None
    """Fraction of requests collected (None: the collector's default, 1)."""
    data_collection_max_record_bytes: int | None = None
    """Largest payload kept per collected record (None: the collector's default)."""
    data_collection_buffer_bytes: int | None = None
    """Data-collection buffer bound (None: the collector's default)."""
    data_collection_flush_ms: int | None = None
    """Data-collection writer interval in ms (None: the collector's default, 1000)."""
    app_insights_sample_rate: float | Literal["adaptive"] = "adaptive"
    """Requests exported to Application Insights: ``"adaptive"`` (the default: about 5 per
    second, each carrying its sampling rate) or a fixed fraction (1: every request)."""
    access_log: bool = False
    """One JSON access-log line per scoring request."""
    cors_origins: str | None = None
    """Comma-separated CORS origins ('*' for any); None: no CORS headers."""
    server_version_header: bool = True
    """Send x-ms-server-version on every response."""
    service_version: str | None = None
    """Service version for telemetry (None: derived from the model directory)."""
    worker_mode: WorkerMode = "auto"
    """Requested worker mode (see :attr:`uses_processes`)."""
    worker_prefetch: int = 1
    """Process mode: calls a busy worker may hold in advance (0 or 1)."""
    show_keys: bool = False
    """Print key values at startup."""
    keys_generated: bool = False
    """True when no key was configured and the runtime generated both."""

    @property
    def uses_processes(self) -> bool:
        """Whether run() executes in worker processes (else in threads of this process)."""
        if self.worker_mode == "auto":
            return self.max_concurrent_requests > 1
        return self.worker_mode == "process"

    @property
    def aml_prefix(self) -> str | None:
        """``/api/v1/service/<name>`` when a service name is set."""
        return c.AML_PATH_PREFIX.format(name=self.service_name) if self.service_name else None


def _bad(setting: c.RuntimeSetting, value: object, why: str) -> WebserviceException:
    return WebserviceException(f"invalid value {value!r} for {setting.flag} / {setting.env}: {why}")


def _int(lo: int, hi: int | None = None) -> Callable[[c.RuntimeSetting, object], int]:
    def parse(setting: c.RuntimeSetting, value: object) -> int:
        if isinstance(value, bool):
            raise _bad(setting, value, "expected an integer")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _bad(setting, value, "expected an integer") from None
        if number < lo or (hi is not None and number > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise _bad(setting, value, f"must be {bound}")
        return number

    return parse


def _bool(setting: c.RuntimeSetting, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(setting, value, "expected true or false")


def _lenient_bool(setting: c.RuntimeSetting, value: object) -> bool:
    """True/false words as :func:`_bool`, anything else false (the reference's reading of its
    own variables: an invalid value disables)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _text(setting: c.RuntimeSetting, value: object) -> str | None:
    text = str(value).strip()
    return text or None


def _fraction(setting: c.RuntimeSetting, value: object) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise _bad(setting, value, "expected a number between 0 and 1") from None
    if not 0.0 <= number <= 1.0:
        raise _bad(setting, value, "expected a number between 0 and 1")
    return number


def _sample_rate(setting: c.RuntimeSetting, value: object) -> float | Literal["adaptive"]:
    if str(value).strip().lower() == "adaptive":
        return "adaptive"
    try:
        return _fraction(setting, value)
    except WebserviceException:
        raise _bad(setting, value, "expected 'adaptive' or a number between 0 and 1") from None


def _choice(*choices: str) -> Callable[[c.RuntimeSetting, object], str]:
    def parse(setting: c.RuntimeSetting, value: object) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise _bad(setting, value, "expected one of " + ", ".join(choices))
        return text

    return parse


def _url(setting: c.RuntimeSetting, value: object) -> str | None:
    text = str(value).strip().rstrip("/")
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(setting, value, "expected an http(s) URL")
    return text


def _path(setting: c.RuntimeSetting, value: object) -> str:
    text = str(value).strip()
    return text if text.startswith("/") else "/" + text


# settings field -> (contract setting, parser)
_PARSERS: dict[str, tuple[c.RuntimeSetting, Callable[[c.RuntimeSetting, object], Any]]] = {
    "entry_script": (c.ENTRY_SCRIPT, _text),
    "app_root": (c.APP_ROOT, _text),
    "source_dir": (c.SOURCE_DIRECTORY, _text),
    "model_dir": (c.MODEL_DIR, _text),
    "host": (c.HOST, _text),
    "port": (c.PORT, _int(0, 65535)),
    "metrics_port": (c.METRICS_PORT, _int(0, 65535)),
    "health_port": (c.HEALTH_PORT, _int(0, 65535)),
    "service_name": (c.SERVICE_NAME, _text),
    "auth_mode": (c.AUTH_MODE, _choice("key", "token", "none")),
    "primary_key": (c.PRIMARY_KEY, _text),
    "secondary_key": (c.SECONDARY_KEY, _text),
    "keys_file": (c.KEYS_FILE, _text),
    "token_issuer": (c.TOKEN_ISSUER, _url),
    "token_audience": (c.TOKEN_AUDIENCE, _text),
    "upstream": (c.UPSTREAM, _url),
    "upstream_score_path": (c.UPSTREAM_SCORE_PATH, _path),
    "upstream_swagger_path": (c.UPSTREAM_SWAGGER_PATH, _path),
    "max_concurrent_requests": (
        c.MAX_CONCURRENT_REQUESTS,
        _int(1, c.MAX_CONCURRENT_REQUESTS_LIMIT),
    ),
    "max_request_wait_ms": (c.MAX_REQUEST_WAIT_MS, _int(0)),
    "scoring_timeout_ms": (c.SCORING_TIMEOUT_MS, _int(1)),
    "max_body_bytes": (c.MAX_BODY_BYTES, _int(1)),
    "collect_model_data": (c.COLLECT_MODEL_DATA, _bool),
    "data_collection_dir": (c.DATA_COLLECTION_DIR, _text),
    "data_collection_blob_url": (c.DATA_COLLECTION_BLOB_URL, _url),
    "data_collection_sample_rate": (c.DATA_COLLECTION_SAMPLE_RATE, _fraction),
    "data_collection_max_record_bytes": (c.DATA_COLLECTION_MAX_RECORD_BYTES, _int(1)),
    "data_collection_buffer_bytes": (c.DATA_COLLECTION_BUFFER_BYTES, _int(1)),
    "data_collection_flush_ms": (c.DATA_COLLECTION_FLUSH_MS, _int(1)),
    "app_insights_sample_rate": (c.APP_INSIGHTS_SAMPLE_RATE, _sample_rate),
    "access_log": (c.ACCESS_LOG, _bool),
    "cors_origins": (c.CORS_ORIGINS, _text),
    "server_version_header": (c.SERVER_VERSION_HEADER, _lenient_bool),
    "service_version": (c.SERVICE_VERSION, _text),
    "worker_mode": (c.WORKER_MODE, _choice("auto", "thread", "process")),
    "worker_prefetch": (c.WORKER_PREFETCH, _int(0, 1)),
    "show_keys": (c.SHOW_KEYS, _bool),
}

FLAG_FIELDS: dict[str, str] = {s.flag: name for name, (s, _) in _PARSERS.items()}
"""``--flag`` -> settings field name, for every setting ``aksml serve`` accepts."""


def config_values(path: str) -> dict[str, Any]:
    """Settings taken from a deploy configuration file (AML v1 JSON or YAML).

    Uses ``aksml.v1.load_config(path).resolve()``; returns values keyed by settings field.
    """
    from aksml.v1 import load_config

    resolved = load_config(path).resolve()
    values: dict[str, Any] = {
        "max_concurrent_requests": resolved.replica_max_concurrent_requests,
        "max_request_wait_ms": resolved.max_request_wait_time,
        "scoring_timeout_ms": resolved.scoring_timeout_ms,
        "collect_model_data": resolved.collect_model_data,
        "auth_mode": "token"
        if resolved.token_auth_enabled
        else ("key" if resolved.auth_enabled else "none"),
    }
    if resolved.primary_key:
        values["primary_key"] = resolved.primary_key
    if resolved.secondary_key:
        values["secondary_key"] = resolved.secondary_key
    return values


def resolve_settings(
    flags: Mapping[str, object | None],
    environ: Mapping[str, str],
    *,
    cwd: Path | None = None,
) -> RuntimeSettings:
    """Merge flags (keyed by settings field; None = not given), environment and ``--config``.

    Raises :class:`WebserviceException` (one line) for any invalid or inconsistent value.
    """
    raw: dict[str, object] = {}
    config_flag = flags.get("config")
    config_path = (
        str(config_flag) if config_flag not in (None, "") else environ.get(c.CONFIG.env, "")
    )
    if config_path:
        if not Path(config_path).is_file():
            raise _bad(c.CONFIG, config_path, "no such file")
        try:
            raw.update(config_values(config_path))
        except WebserviceException as exc:
            first = " ".join(exc.message.split())
            raise WebserviceException(f"invalid {c.CONFIG.flag} {config_path}: {first}") from None
    parsed: dict[str, Any] = {}
    for name, (setting, parser) in _PARSERS.items():
        value: object | None = flags.get(name)
        if value is None:
            value = environ.get(setting.env)
        if value is None:
            if name in raw:
                parsed[name] = raw[name]
            continue
        parsed[name] = parser(setting, value)
    return _finish(parsed, cwd or Path.cwd())


def _finish(parsed: dict[str, Any], cwd: Path) -> RuntimeSettings:
    app_root = Path(parsed.pop("app_root", None) or cwd).resolve()
    entry = parsed.pop("entry_script", None)
    source_dir = parsed.pop("source_dir", None)
    values: dict[str, Any] = {k: v for k, v in parsed.items() if v is not None}
    values["app_root"] = app_root
    if entry:
        entry_path = Path(entry)
        values["entry_script"] = (
            entry_path if entry_path.is_absolute() else app_root / entry_path
        ).resolve()
        if not values["entry_script"].is_file():
            raise _bad(c.ENTRY_SCRIPT, entry, "no such file")
    elif not values.get("upstream"):
        raise WebserviceException(
            f"{c.ENTRY_SCRIPT.flag} (or {c.ENTRY_SCRIPT.env}) is required unless "
            f"{c.UPSTREAM.flag} is given"
        )
    if source_dir:
        values["source_dir"] = (app_root / source_dir).resolve()
    auth = _auth_mode(values)
    values["auth_mode"] = auth
    if auth == "token" and not (values.get("token_issuer") and values.get("token_audience")):
        raise WebserviceException(
            f"token auth needs {c.TOKEN_ISSUER.flag} and {c.TOKEN_AUDIENCE.flag}"
        )
    if auth == "key" and not (
        values.get("primary_key") or values.get("secondary_key") or values.get("keys_file")
    ):
        import secrets

        values["primary_key"] = secrets.token_urlsafe(32)
        values["secondary_key"] = secrets.token_urlsafe(32)
        values["keys_generated"] = True
    _check_ports(values)
    known = {f.name for f in fields(RuntimeSettings)}
    return RuntimeSettings(**{k: v for k, v in values.items() if k in known})


def _check_ports(values: Mapping[str, Any]) -> None:
    """The scoring, health and metrics ports must differ (0: any free port, never a clash)."""
    named = [
        (c.PORT, values.get("port", c.DEFAULT_PORT)),
        (c.HEALTH_PORT, values.get("health_port", 0)),
        (c.METRICS_PORT, values.get("metrics_port", c.DEFAULT_METRICS_PORT)),
    ]
    for i, (first, port) in enumerate(named):
        for second, other in named[i + 1 :]:
            if port and port == other:
                raise WebserviceException(
                    f"{first.flag} and {second.flag} must differ (both {port})"
                )


def _auth_mode(values: Mapping[str, Any]) -> AuthMode:
    explicit = values.get("auth_mode")
    if explicit in ("key", "token", "none"):
        mode: AuthMode = explicit
        return mode
    if values.get("primary_key") or values.get("secondary_key") or values.get("keys_file"):
        return "key"
    if values.get("token_issuer"):
        return "token"
    return "none"
