"""Benchmark score.py: a standard-Python-typed input (a list of rows of 20 floats); one value
per row back."""

from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("rows", StandardPythonParameterType([[0.0, 0.0], [0.0, 0.0]]))
@output_schema(StandardPythonParameterType([0.0, 0.0]))
def run(rows):
    return [sum(row) for row in rows]
