"""Shared argument builders for the endpoint tests."""

from __future__ import annotations

from typing import Any

from startable import SCRIPT_ARGS

GATEWAY = {
    "parent_refs": [{"name": "shared", "namespace": "gateways"}],
    "hostnames": ["ml.example.com"],
}


def ab_args(**overrides: Any) -> dict[str, Any]:
    """Two versions 90/10 on the gateway, green shadowed."""
    args: dict[str, Any] = {
        "exposure": "gateway",
        "gateway": GATEWAY,
        "versions": [
            {**SCRIPT_ARGS, "version_name": "blue", "is_default": True, "version_type": "control"},
            {
                **SCRIPT_ARGS,
                "version_name": "green",
                "traffic_percentile": 10,
                "version_type": "treatment",
            },
        ],
    }
    args.update(overrides)
    return args
