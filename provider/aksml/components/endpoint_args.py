"""``AksEndpointArgs`` / ``AksEndpointVersionArgs``: the endpoint component's inputs, built for
cross-language use (``NotRequired[pulumi.Input[T]]`` fields with docstrings, str enums).

Endpoint-level settings (auth, keys, app insights, namespace, exposure) are shared by every
version; each version carries v1 ``create_version``'s parameters plus what runs in it. Both are
generated (``args_generated.py``, by ``scripts/generate``) from the parameter table and
``aksml.plan.settings.WorkloadSettings``; this module is where to import them from.
"""

from aksml.components.args_generated import AksEndpointArgs, AksEndpointVersionArgs
from aksml.plan.endpoint import VersionType

__all__ = ["AksEndpointArgs", "AksEndpointVersionArgs", "VersionType"]
