import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import output_schema


def init():
    pass


@output_schema(NumpyParameterType(np.zeros((2, 2))))
def run(data):
    return {"got": data, "nan": float("nan"), "big": 2**70, "text": "héllo ☃"}
