import pandas as pd
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("frame", PandasParameterType(pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})))
def run(frame):
    assert isinstance(frame, pd.DataFrame)
    return {"rows": len(frame), "sum_a": int(frame["a"].sum()), "columns": list(frame.columns)}
