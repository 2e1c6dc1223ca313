"""Reliability fixture: an inference-schema decorated script (numpy + standard types)."""

import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import (
    StandardPythonParameterType,
)
from inference_schema.schema_decorators import input_schema, output_schema


def init() -> None:
    """Nothing to load."""


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
@input_schema("scale", StandardPythonParameterType(1.0))
@output_schema(StandardPythonParameterType([6.0]))
def run(data: "np.ndarray", scale: float = 1.0) -> list[float]:
    """Row sums times ``scale``."""
    return [float(v) for v in data.sum(axis=1) * scale]
