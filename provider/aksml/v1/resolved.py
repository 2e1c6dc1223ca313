"""The resolved view of a deploy configuration: every documented default applied.

This is what the plan layer and the runtime consume. v1 itself applied these defaults on the
server (MMS); aksml applies them client-side after validation, so a preview shows real values.
Field names are the v1 parameter names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResolvedServiceConfig(BaseModel):
    """A validated ``AksServiceDeploymentConfiguration`` with all defaults filled in.

    Invariants (enforced by ``resolve()`` and tested): ``cpu_cores <= cpu_cores_limit`` and
    ``memory_gb <= memory_gb_limit`` whenever a limit is set; exactly one of
    ``autoscale_enabled`` / ``num_replicas`` decides the replica count; never both auth modes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    autoscale_enabled: bool
    """True: replicas between autoscale_min_replicas and autoscale_max_replicas."""
    autoscale_min_replicas: int
    autoscale_max_replicas: int
    autoscale_refresh_seconds: int
    autoscale_target_utilization: int
    num_replicas: int | None
    """Fixed replica count; None exactly when autoscale_enabled."""
    collect_model_data: bool
    auth_enabled: bool
    """Key auth (Authorization: Bearer <primary|secondary key>)."""
    token_auth_enabled: bool
    """Token (JWT) auth; never together with key auth."""
    cpu_cores: float
    """CPU request, in cores."""
    cpu_cores_limit: float | None
    """CPU limit, in cores; None = no limit."""
    memory_gb: float
    """Memory request, in GiB (AML's GB are GiB: 0.5 -> 512Mi)."""
    memory_gb_limit: float | None
    """Memory limit, in GiB; None = no limit."""
    gpu_cores: int
    """nvidia.com/gpu count (request = limit); 0 = none."""
    enable_app_insights: bool
    scoring_timeout_ms: int
    replica_max_concurrent_requests: int
    max_request_wait_time: int
    """Queue wait in ms before 503."""
    period_seconds: int
    initial_delay_seconds: int
    timeout_seconds: int
    success_threshold: int
    failure_threshold: int
    namespace: str | None
    """Kubernetes namespace; None = the component's default (see the component docs)."""
    primary_key: str | None
    """Given key, or None to generate one at deploy time."""
    secondary_key: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    description: str | None
    compute_target_name: str | None
    blobfuse_enabled: bool
