"""``AksWebserviceArgs``: the component's inputs, built for cross-language use.

Every field is ``NotRequired[pulumi.Input[T]]`` with a docstring (it becomes the schema's
description); nested settings are the package's own TypedDicts, closed sets are str enums.
Every ``AksWebservice.deploy_configuration`` keyword is a field under its v1 name.

``AksWebserviceArgs`` is generated (``args_generated.py``, by ``scripts/generate``) from the
parameter table (``aksml.v1.params``) and ``aksml.plan.settings.WorkloadSettings``; the nested
types are written by hand in ``arg_types.py``. This module is where to import them from.
"""

from aksml.azure.args import AzureArgs
from aksml.components.arg_types import (
    EnvironmentArgs,
    GatewayArgs,
    GatewayParentRefArgs,
    IngressArgs,
    KedaArgs,
    ModelArgs,
    ProxyArgs,
    TimeoutsArgs,
    TolerationArgs,
)
from aksml.components.args_generated import AksWebserviceArgs
from aksml.plan.settings import AutoscalerKind, Exposure, ModelSource, RuntimeMode

__all__ = [
    "AksWebserviceArgs",
    "AutoscalerKind",
    "AzureArgs",
    "EnvironmentArgs",
    "Exposure",
    "GatewayArgs",
    "GatewayParentRefArgs",
    "IngressArgs",
    "KedaArgs",
    "ModelArgs",
    "ModelSource",
    "ProxyArgs",
    "RuntimeMode",
    "TimeoutsArgs",
    "TolerationArgs",
]
