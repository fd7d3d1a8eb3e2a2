"""Write a convscope model as an ONNX graph (``onnx.helper``, opset 21), layer by layer.

One table, :data:`EXPORTERS`, maps each layer class to the function that writes its
ONNX nodes (the way onnx2torch and tf2onnx are organised), so supporting a new
layer is one entry. Containers (``Sequential``, nested) are walked in order; the
example input is run through the model alongside, so every converter knows the
exact shape its layer sees — needed for TensorFlow-style ``'same'`` padding, which
becomes explicit (possibly asymmetric) ``pads``, and for pooling in ``ceil_mode``,
which becomes extra bottom/right padding that ONNX's floor-mode pooling ignores
(so the windows are exactly PyTorch's, whatever the runtime's ceil convention).

The batch axis is symbolic (``"batch"``) when ``dynamic_batch=True``; the other
axes are fixed to the example's. Layers without an ONNX equivalent raise
:class:`ONNXExportError` naming the layer and its path in the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from convscope import nn
from convscope.io import atomic_write
from convscope.nn import functional as F
from convscope.nn.functional.adaptive_pooling import averaging_matrix
from convscope.nn.functional.geometry import conv_output_size, resolve_padding
from convscope.tensor import Tensor, as_tensor, no_grad

OPSET = 21  # GroupNormalization with per-channel scale (21) and Gelu (20) are native


class ONNXExportError(ValueError):
    """A model (or one of its layers) that cannot be written as ONNX."""


class _Graph:
    """The nodes and constants being written, with unique names."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: set[str] = set()

    def name(self, hint: str) -> str:
        base, k = hint or "t", 0
        name = base
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def const(self, array: np.ndarray, hint: str) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.require(array, requirements="C"), name))
        return name

    def param(self, value: Any, hint: str) -> str:
        """A parameter or buffer (or array) as a constant, in its own dtype."""
        return self.const(np.asarray(value.data if isinstance(value, Tensor) else value), hint)

    def node(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        output = self.name(f"{name}_{op.lower()}" if name else op.lower())
        self.nodes.append(
            helper.make_node(op, inputs, [output], name=self.name(name or op), **attrs)
        )
        return output


Shape = tuple[int, ...]
Exporter = Callable[[_Graph, Any, str, Shape, str], str]


# ---------------------------------------------------------------------------- geometry


def _onnx_pads(top: int, bottom: int, left: int, right: int) -> list[int]:
    return [top, left, bottom, right]  # ONNX: all "begin" pads, then all "end" pads


def _pool_pads(
    padding: Any, shape: Shape, kernel: tuple[int, int], stride: tuple[int, int], ceil_mode: bool
) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Regular ``(top, bottom, left, right)`` pads, and the extra bottom/right rows and
    columns that make floor-mode ONNX pooling give the ceil-mode output size."""
    h, w = shape[2:]
    pads = resolve_padding(padding, (h, w), kernel, stride)
    extras = []
    for size, k, s, before, after in ((h, kernel[0], stride[0], *pads[:2]),
                                      (w, kernel[1], stride[1], *pads[2:])):  # fmt: skip
        out = conv_output_size(size, k, s, (before, after), 1, ceil_mode)
        extras.append(max(0, (out - 1) * s + k - (size + before + after)))
    return pads, (extras[0], extras[1])


# ---------------------------------------------------------------------------- converters


def _conv(g: _Graph, m: nn.Conv2d, x: str, shape: Shape, name: str) -> str:
    pads = resolve_padding(m.padding, shape[2:], m.kernel_size, m.stride, m.dilation)
    inputs = [x, g.param(m.weight, f"{name}.weight")]
    if m.bias is not None:
        inputs.append(g.param(m.bias, f"{name}.bias"))
    return g.node(
        "Conv", inputs, name, kernel_shape=list(m.kernel_size), strides=list(m.stride),
        pads=_onnx_pads(*pads), dilations=list(m.dilation), group=m.groups,
    )  # fmt: skip


def _conv_transpose(g: _Graph, m: nn.ConvTranspose2d, x: str, shape: Shape, name: str) -> str:
    inputs = [x, g.param(m.weight, f"{name}.weight")]
    if m.bias is not None:
        inputs.append(g.param(m.bias, f"{name}.bias"))
    (ph, pw) = m.padding
    return g.node(
        "ConvTranspose", inputs, name, kernel_shape=list(m.kernel_size), strides=list(m.stride),
        pads=[ph, pw, ph, pw], output_padding=list(m.output_padding),
        dilations=list(m.dilation), group=m.groups,
    )  # fmt: skip


def _max_pool(g: _Graph, m: nn.MaxPool2d, x: str, shape: Shape, name: str) -> str:
    kernel = _pair(m.kernel_size)
    stride = _pair(m.stride)
    (top, bottom, left, right), (eh, ew) = _pool_pads(m.padding, shape, kernel, stride, m.ceil_mode)
    return g.node(
        "MaxPool", [x], name, kernel_shape=list(kernel), strides=list(stride),
        pads=_onnx_pads(top, bottom + eh, left, right + ew),
    )  # fmt: skip


def _avg_pool(g: _Graph, m: nn.AvgPool2d, x: str, shape: Shape, name: str) -> str:
    kernel, stride = _pair(m.kernel_size), _pair(m.stride)
    (top, bottom, left, right), (eh, ew) = _pool_pads(m.padding, shape, kernel, stride, m.ceil_mode)
    if m.count_include_pad and (top, bottom, left, right) != (0, 0, 0, 0):
        # Padding counts in the divisor but the ceil-mode overhang does not (PyTorch):
        # pad with real zeros first, then average over what is inside.
        x = _pad(g, x, (top, bottom, left, right), name)
        top = bottom = left = right = 0
    return g.node(
        "AveragePool", [x], name, kernel_shape=list(kernel), strides=list(stride),
        pads=_onnx_pads(top, bottom + eh, left, right + ew), count_include_pad=0,
    )  # fmt: skip


def _pad(g: _Graph, x: str, pads: tuple[int, int, int, int], name: str) -> str:
    top, bottom, left, right = pads
    amounts = g.const(np.array([0, 0, top, left, 0, 0, bottom, right], np.int64), f"{name}.pads")
    return g.node("Pad", [x, amounts], f"{name}.pad" if name else "pad", mode="constant")


def _zero_pad(g: _Graph, m: nn.ZeroPad2d, x: str, shape: Shape, name: str) -> str:
    left, right, top, bottom = m.padding
    return _pad(g, x, (top, bottom, left, right), name)


def _adaptive_pool(g: _Graph, m: Any, x: str, shape: Shape, name: str) -> str:
    is_max = isinstance(m, nn.AdaptiveMaxPool2d)
    h, w = shape[2:]
    out_h, out_w = F.adaptive_output_size(m.output_size, (h, w))
    if (out_h, out_w) == (1, 1):
        return g.node("GlobalMaxPool" if is_max else "GlobalAveragePool", [x], name)
    if h % out_h == 0 and w % out_w == 0:  # equal, non-overlapping windows
        kernel = [h // out_h, w // out_w]
        op = "MaxPool" if is_max else "AveragePool"
        return g.node(op, [x], name, kernel_shape=kernel, strides=kernel)
    if is_max:
        raise ONNXExportError(
            f"Cannot export layer '{name}' ({m!r}) for a {h}x{w} input: its windows have "
            f"unequal sizes ({out_h}x{out_w} outputs do not divide {h}x{w}), which ONNX pooling "
            "cannot express. Use an output size that divides the input, or 1."
        )
    # Unequal windows: out = A x Bᵀ with averaging matrices (see F.adaptive_avg_pool2d).
    rows = averaging_matrix(h, out_h, g.dtype)  # (OH, H)
    cols = averaging_matrix(w, out_w, g.dtype)  # (OW, W)
    y = g.node("MatMul", [x, g.const(cols.T, f"{name}.columns")], name)  # (N, C, H, OW)
    return g.node("MatMul", [g.const(rows, f"{name}.rows"), y], name)  # (N, C, OH, OW)


def _batch_norm(g: _Graph, m: Any, x: str, shape: Shape, name: str) -> str:
    if m.running_mean is None:
        raise ONNXExportError(
            f"Cannot export layer '{name}' ({m!r}): without running statistics "
            "(track_running_stats=False) it normalises with each batch's own statistics, "
            "which ONNX's inference BatchNormalization cannot express."
        )
    c = m.num_features
    dtype = m.running_mean.dtype
    scale = m.weight if m.weight is not None else np.ones(c, dtype)
    bias = m.bias if m.bias is not None else np.zeros(c, dtype)
    inputs = [
        x,
        g.param(scale, f"{name}.weight"),
        g.param(bias, f"{name}.bias"),
        g.param(m.running_mean, f"{name}.running_mean"),
        g.param(m.running_var, f"{name}.running_var"),
    ]
    return g.node("BatchNormalization", inputs, name, epsilon=float(m.eps))


def _group_norm(g: _Graph, m: nn.GroupNorm, x: str, shape: Shape, name: str) -> str:
    c = m.num_channels
    scale = m.weight if m.weight is not None else np.ones(c, g.dtype)
    bias = m.bias if m.bias is not None else np.zeros(c, g.dtype)
    inputs = [x, g.param(scale, f"{name}.weight"), g.param(bias, f"{name}.bias")]
    return g.node("GroupNormalization", inputs, name, num_groups=m.num_groups, epsilon=float(m.eps))


def _layer_norm(g: _Graph, m: nn.LayerNorm, x: str, shape: Shape, name: str) -> str:
    scale = m.weight if m.weight is not None else np.ones(m.normalized_shape, g.dtype)
    inputs = [x, g.param(scale, f"{name}.weight")]
    if m.bias is not None:
        inputs.append(g.param(m.bias, f"{name}.bias"))
    axis = -len(m.normalized_shape)
    return g.node("LayerNormalization", inputs, name, axis=axis, epsilon=float(m.eps))


def _linear(g: _Graph, m: nn.Linear, x: str, shape: Shape, name: str) -> str:
    weight = g.param(m.weight, f"{name}.weight")  # (out, in)
    bias = [] if m.bias is None else [g.param(m.bias, f"{name}.bias")]
    if len(shape) == 2:
        return g.node("Gemm", [x, weight, *bias], name, transB=1)  # x Wᵀ + b
    weight_t = g.const(np.ascontiguousarray(m.weight.data.T), f"{name}.weight_t")  # (in, out)
    y = g.node("MatMul", [x, weight_t], name)
    return g.node("Add", [y, *bias], name) if bias else y


def _flatten(g: _Graph, m: nn.Flatten, x: str, shape: Shape, name: str) -> str:
    start, end = m.start_dim % len(shape), m.end_dim % len(shape)
    if start == 1 and end == len(shape) - 1:
        return g.node("Flatten", [x], name, axis=1)
    if start == 0:
        raise ONNXExportError(
            f"Cannot export layer '{name}' ({m!r}): flattening the batch axis (start_dim=0) "
            "would fix the batch size. Use start_dim=1."
        )
    kept = [0, *shape[1:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :]]
    return g.node("Reshape", [x, g.const(np.array(kept, np.int64), f"{name}.shape")], name)


def _simple(op: str, **attrs_of: Callable[[Any], Any]) -> Exporter:
    """A converter writing one node ``op`` whose attributes are read off the layer."""

    def convert(g: _Graph, m: Any, x: str, shape: Shape, name: str) -> str:
        return g.node(op, [x], name, **{key: read(m) for key, read in attrs_of.items()})

    return convert


def _silu(g: _Graph, m: nn.SiLU, x: str, shape: Shape, name: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], name)], name)  # x · σ(x)


def _softmax_axis(m: Any) -> int:
    return int(m.dim)


EXPORTERS: dict[type, Exporter] = {
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv_transpose,
    nn.MaxPool2d: _max_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_pool,
    nn.AdaptiveMaxPool2d: _adaptive_pool,
    nn.ZeroPad2d: _zero_pad,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.GroupNorm: _group_norm,
    nn.LayerNorm: _layer_norm,
    nn.Linear: _linear,
    nn.Flatten: _flatten,
    nn.ReLU: _simple("Relu"),
    nn.LeakyReLU: _simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    nn.ELU: _simple("Elu", alpha=lambda m: float(m.alpha)),
    nn.Tanh: _simple("Tanh"),
    nn.Sigmoid: _simple("Sigmoid"),
    nn.GELU: _simple("Gelu", approximate=lambda m: m.approximate),
    nn.SiLU: _silu,
    nn.Softmax: _simple("Softmax", axis=_softmax_axis),
    nn.LogSoftmax: _simple("LogSoftmax", axis=_softmax_axis),
    nn.Dropout: _simple("Identity"),  # inference: dropout is the identity
    nn.Dropout2d: _simple("Identity"),
    nn.Identity: _simple("Identity"),
}


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


# ---------------------------------------------------------------------------- the walk


def _emit(g: _Graph, module: nn.Module, x: str, value: Tensor, path: str) -> tuple[str, Tensor]:
    """Write ``module``'s nodes after tensor ``x`` (whose example value is ``value``)."""
    if type(module) is nn.Sequential:
        for child_name, child in module.named_children():
            x, value = _emit(g, child, x, value, f"{path}.{child_name}" if path else child_name)
        return x, value
    convert = EXPORTERS.get(type(module))
    if convert is None:
        where = f"'{path}' " if path else ""
        supported = ", ".join(sorted(t.__name__ for t in EXPORTERS))
        raise ONNXExportError(
            f"Cannot export layer {where}({type(module).__name__}): convscope's ONNX exporter "
            f"has no converter for it. Supported: Sequential (nested) of {supported}."
        )
    out = convert(g, module, x, value.shape, path)
    return out, module(value)


def export(
    model: nn.Module,
    example_input: Any,
    path: str | os.PathLike | None = None,
    dynamic_batch: bool = True,
    input_name: str = "input",
    output_name: str = "output",
) -> Any:
    """Write ``model`` as an ONNX file (opset 21), checked by ``onnx.checker``.

    Args:
        model: a layer or a (nested) ``Sequential`` of the layers in :data:`EXPORTERS`;
            exported as in evaluation mode (dropout off, batch norm's running statistics).
        example_input: an ``(N, C, H, W)`` (or ``(N, features)``) array or Tensor of the
            input the model will see; fixes every axis but the batch.
        path: where to write the ``.onnx`` file (atomically); None to only return it.
        dynamic_batch: make the batch axis symbolic, so any batch size runs.
        input_name, output_name: names of the graph's input and output.

    Returns:
        The ``onnx.ModelProto``.

    Raises:
        ONNXExportError: a layer without an ONNX converter (the message names it and
            its path in the model), or settings ONNX cannot express.
        ImportError: the ``onnx`` package is missing.

    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding="same"), nn.ReLU(),
    ...                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    >>> proto = export(model, np.zeros((1, 1, 28, 28), np.float32))
    >>> [node.op_type for node in proto.graph.node]
    ['Conv', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm']
    """
    onnx = _require("onnx")
    from onnx import helper

    example = as_tensor(example_input)
    if example.dtype.kind != "f":
        raise TypeError(
            f"export expected a floating-point example_input; received dtype {example.dtype}."
        )
    params = list(model.parameters())
    dtype = params[0].dtype if params else example.dtype
    example = example.astype(dtype) if example.dtype != dtype else example
    was_training = model.training
    model.eval()
    try:
        g = _Graph(np.dtype(dtype))
        with no_grad():
            output, result = _emit(g, model, input_name, example, "")
    finally:
        model.train(was_training)
    # Rename the last tensor to the graph's output name.
    if output == input_name:
        g.nodes.append(helper.make_node("Identity", [output], [output_name], name="output"))
    else:
        last = g.nodes[-1]
        last.output[0] = output_name
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    batch: Any = "batch" if dynamic_batch else example.shape[0]
    graph = helper.make_graph(
        g.nodes,
        type(model).__name__,
        [helper.make_tensor_value_info(input_name, elem, [batch, *example.shape[1:]])],
        [helper.make_tensor_value_info(output_name, elem, [batch, *result.shape[1:]])],
        g.initializers,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="convscope"
    )
    proto.ir_version = min(proto.ir_version, 10)  # readable by current onnxruntime releases
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        with atomic_write(path, "wb") as f:
            f.write(proto.SerializeToString())
    return proto


def _require(package: str) -> Any:
    """Import an optional dependency, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise ImportError(
            f"convscope.onnx needs the '{package}' package: pip install 'convscope[onnx]' "
            f"(or pip install {package})."
        ) from error
