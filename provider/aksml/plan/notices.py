"""Warnings for preview: settings that deploy and run, but not the way a user may expect.

The components print each with ``pulumi.log.warn`` on ``pulumi preview`` / ``up``. Pure:
planned objects in, sentences out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aksml import contract

Obj = dict[str, Any]

MODEL_DATA_WARNING = (
    "{where}: collect_model_data=True without data_collection_blob_url: model data is "
    "collected into a pod-local emptyDir volume and is lost whenever the pod goes (every "
    "rollout, scale-in, eviction or node drain). Set data_collection_blob_url (or the azure "
    "section, which creates a storage container) to keep it."
)
"""Collected model data with no durable sink."""


def _runtime_env(obj: Obj) -> dict[str, str] | None:
    for container in obj["spec"]["template"]["spec"].get("containers", []):
        if container.get("name") == "runtime":
            return {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}
    return None


def preview_warnings(objs: Iterable[Obj]) -> list[str]:
    """One sentence per thing the user should know before deploying these objects."""
    warnings: list[str] = []
    for obj in objs:
        if obj.get("kind") != "Deployment":
            continue
        env = _runtime_env(obj)
        if env is None or env.get(contract.COLLECT_MODEL_DATA.env) != "true":
            continue
        if not env.get(contract.DATA_COLLECTION_BLOB_URL.env):
            where = f"Deployment {obj['metadata']['name']}"
            warnings.append(MODEL_DATA_WARNING.format(where=where))
    return warnings
