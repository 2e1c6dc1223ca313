"""Benchmark score.py: a numpy-typed input of rows x 20 floats; one value per row back."""

import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

WEIGHTS = np.linspace(-1.0, 1.0, 20)


def init():
    pass


@input_schema("data", NumpyParameterType(np.zeros((2, 20))))
@output_schema(StandardPythonParameterType([0.0, 0.0]))
def run(data):
    return (data @ WEIGHTS).tolist()
