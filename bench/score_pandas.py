"""Benchmark score.py: a pandas-typed input (records orient) of rows x 4 columns; one value per
row back."""

import pandas as pd
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

SAMPLE = pd.DataFrame(
    {
        "age": [31, 45],
        "income": [52000.5, 71000.25],
        "city": ["Oslo", "Lima"],
        "member": [True, False],
    }
)


def init():
    pass


@input_schema("frame", PandasParameterType(SAMPLE))
@output_schema(StandardPythonParameterType([0.0, 0.0]))
def run(frame):
    score = frame["income"] / (frame["age"] + 1) + frame["member"] * 10.0
    return score.tolist()
