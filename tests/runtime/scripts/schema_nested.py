import numpy as np
import pandas as pd
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

FRAME = pd.DataFrame({"k": ["a", "b"], "v": [0.5, 1.5], "n": [1, 2]})


def init():
    pass


@input_schema(
    "payload",
    StandardPythonParameterType(
        {
            "x": NumpyParameterType(np.zeros((2, 3), dtype=np.float32)),
            "f": PandasParameterType(FRAME, orient="split"),
            "n": StandardPythonParameterType(1),
        }
    ),
)
@input_schema("rows", PandasParameterType(FRAME, orient="columns"))
@input_schema("label", StandardPythonParameterType("a"))
@output_schema(StandardPythonParameterType({"x": [[0.0]], "f": {}}))
def run(payload, rows, label="none"):
    x, f = payload["x"], payload["f"]
    return {
        "x": x.tolist(),
        "x_dtype": str(x.dtype),
        "f": f.to_dict(orient="split"),
        "f_dtypes": [str(t) for t in f.dtypes],
        "rows": rows.to_dict(orient="split"),
        "rows_dtypes": [str(t) for t in rows.dtypes],
        "label": label,
        "n": payload.get("n"),
    }
