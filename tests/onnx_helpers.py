"""Run an ONNX model with onnxruntime on CPU (tests only)."""

import os

import numpy as np


def ort_run(path_or_proto, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for an ``.onnx`` path or an in-memory ``ModelProto``."""
    import onnxruntime

    if isinstance(path_or_proto, (str, os.PathLike)):
        source = str(path_or_proto)
    else:
        source = path_or_proto.SerializeToString()
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]
