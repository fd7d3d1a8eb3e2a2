"""Build a convscope ``Sequential`` from an ONNX graph, one operator at a time.

One table, :data:`IMPORTERS`, maps each ONNX operator to the function that turns a
node into a convscope layer (or ``None`` for a node that only reshapes constants).
The graph must be a *chain*: each node reads the previous node's output (plus
constants), as in the CNNs convscope builds and the graphs PyTorch's exporter
writes for ``nn.Sequential`` models. While building, a zero example runs through
the layers made so far, so each converter knows the shape its node receives
(used to recognise TensorFlow-style ``'same'`` padding in asymmetric ``pads``,
and ceil-mode pooling written as extra end padding).

Unsupported operators, attributes or graph shapes raise :class:`ONNXImportError`
naming the operator and the node. Loading parses the protobuf only: no code runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from convscope import nn
from convscope.nn.functional.adaptive_pooling import averaging_matrix
from convscope.nn.functional.geometry import conv_output_size, same_padding
from convscope.onnx.export import _require
from convscope.tensor import Tensor, no_grad


class ONNXImportError(ValueError):
    """An ONNX graph (or one of its nodes) that convscope cannot build."""


class _Node:
    """One ONNX node with its attributes decoded and its constant inputs resolved."""

    def __init__(self, proto: Any, constants: dict[str, np.ndarray]):
        from onnx import helper

        self.proto = proto
        self.op = proto.op_type
        self.name = proto.name or proto.output[0]
        self.attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        self.inputs = list(proto.input)
        self.constants = constants

    def where(self) -> str:
        return f"{self.op} node '{self.name}'"

    def error(self, message: str) -> ONNXImportError:
        return ONNXImportError(f"Cannot import {self.where()}: {message}")

    def const(self, index: int, required: bool = True) -> np.ndarray | None:
        """The value of constant input ``index`` (an initializer or a Constant node)."""
        if index >= len(self.inputs) or not self.inputs[index]:
            if required:
                raise self.error(f"input {index} is missing.")
            return None
        name = self.inputs[index]
        if name not in self.constants:
            raise self.error(
                f"input {index} ('{name}') must be a constant (an initializer), but it is "
                "computed by the graph."
            )
        return self.constants[name]

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.attrs.get(name, default)
        if isinstance(value, bytes):
            value = value.decode()
        return value

    def refuse(self, **allowed: Any) -> None:
        """Raise if an attribute has a value other than the one convscope supports."""
        for key, ok in allowed.items():
            if key in self.attrs and self.attr(key) != ok:
                raise self.error(
                    f"attribute {key}={self.attr(key)!r} is not supported (only {ok!r})."
                )


Shape = tuple[int, ...]
Importer = Callable[[_Node, Shape], "nn.Module | None"]


# ---------------------------------------------------------------------------- helpers


def _spatial(node: _Node, name: str, default: int) -> tuple[int, int]:
    values = node.attr(name, [default, default])
    if len(values) != 2:
        raise node.error(f"only 2-D (NCHW) operators are supported; received {name}={values}.")
    return int(values[0]), int(values[1])


def _pads(node: _Node) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` from ONNX ``pads = [top, left, bottom, right]``."""
    pads = node.attr("pads", [0, 0, 0, 0])
    if len(pads) != 4:
        raise node.error(f"only 2-D (NCHW) operators are supported; received pads={pads}.")
    return int(pads[0]), int(pads[2]), int(pads[1]), int(pads[3])


def _auto_pad(
    node: _Node, shape: Shape, kernel: tuple[int, int], stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int, int, int]:  # fmt: skip
    """Explicit ``(top, bottom, left, right)`` pads, resolving ``auto_pad``."""
    mode = node.attr("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        return _pads(node)
    if mode == "VALID":
        return 0, 0, 0, 0
    if mode == "SAME_UPPER":
        h = same_padding(shape[2], kernel[0], stride[0], dilation[0])
        w = same_padding(shape[3], kernel[1], stride[1], dilation[1])
        return (*h, *w)
    raise node.error(f"auto_pad={mode!r} is not supported (NOTSET, VALID or SAME_UPPER).")


def _conv_padding(
    node: _Node, pads: tuple[int, int, int, int], shape: Shape, kernel, stride, dilation
) -> tuple[int, int] | str:
    """Symmetric pads as a pair; asymmetric ones only if they are TensorFlow's 'same'."""
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return top, left
    same = (*same_padding(shape[2], kernel[0], stride[0], dilation[0]),
            *same_padding(shape[3], kernel[1], stride[1], dilation[1]))  # fmt: skip
    if pads == same:
        return "same"
    raise node.error(
        f"asymmetric pads (top, bottom, left, right)={pads} are not convscope's 'same' "
        f"padding {same} for this {shape[2]}x{shape[3]} input."
    )


def _pool_geometry(node: _Node, shape: Shape) -> dict[str, Any]:
    """Kernel, stride, padding and ceil mode of a MaxPool/AveragePool node, in convscope terms.

    Extra bottom/right padding (how convscope writes ceil mode) is read back as
    ``ceil_mode=True`` when that gives the same windows.
    """
    kernel = _spatial(node, "kernel_shape", 1)
    stride = _spatial(node, "strides", 1)
    if _spatial(node, "dilations", 1) != (1, 1):
        raise node.error("dilated pooling is not supported.")
    pads = _auto_pad(node, shape, kernel, stride)
    ceil = bool(node.attr("ceil_mode", 0))
    top, bottom, left, right = pads
    wanted = tuple(
        conv_output_size(size, k, s, (before, after), 1, ceil)
        for size, k, s, before, after in ((shape[2], kernel[0], stride[0], top, bottom),
                                          (shape[3], kernel[1], stride[1], left, right))
    )  # fmt: skip
    same = (
        *same_padding(shape[2], kernel[0], stride[0]),
        *same_padding(shape[3], kernel[1], stride[1]),
    )
    # Symmetric padding as given; else extra end padding read as the ceil-mode overhang
    # (how convscope writes ceil mode), else TensorFlow's 'same'.
    candidates: list[tuple[Any, bool]] = []
    if (top, left) == (bottom, right):
        candidates.append(((top, left), ceil))
    candidates.append(((top, left), True))
    if pads == same:
        candidates.append(("same", ceil))
    for padding, ceil_mode in candidates:
        pad_h, pad_w = (top, left) if padding != "same" else (0, 0)
        if padding != "same" and (2 * pad_h > kernel[0] or 2 * pad_w > kernel[1]):
            continue
        if padding == "same":
            got = tuple(-(-size // s) for size, s in zip(shape[2:], stride, strict=True))
        else:
            got = tuple(
                conv_output_size(size, k, s, p, 1, ceil_mode)
                for size, k, s, p in zip(shape[2:], kernel, stride, (pad_h, pad_w), strict=True)
            )
        if got == wanted:
            return {"kernel_size": kernel, "stride": stride, "padding": padding,
                    "ceil_mode": ceil_mode, "pads": pads}  # fmt: skip
    raise node.error(
        f"pads (top, bottom, left, right)={pads} with kernel {kernel} and stride {stride} "
        "match no convscope pooling (symmetric padding up to half the kernel, 'same', or "
        "extra end padding of ceil mode)."
    )


def _epsilon(node: _Node) -> float:
    """The ``epsilon`` attribute; ONNX stores it as float32, so 1e-5 comes back as 1e-5."""
    return float(f"{float(node.attr('epsilon', 1e-5)):.7g}")


def _copy(param: Any, value: np.ndarray, node: _Node, what: str) -> None:
    value = np.asarray(value)
    if value.shape != param.shape:
        raise node.error(f"{what} has shape {value.shape}; expected {param.shape}.")
    param.data[...] = value


# ---------------------------------------------------------------------------- converters


def _conv(node: _Node, shape: Shape) -> nn.Module:
    weight = node.const(1)
    bias = node.const(2, required=False)
    if weight.ndim != 4:
        raise node.error(f"only 2-D convolutions are supported; weight has shape {weight.shape}.")
    out_channels, per_group, *kernel = weight.shape
    group = int(node.attr("group", 1))
    stride = _spatial(node, "strides", 1)
    dilation = _spatial(node, "dilations", 1)
    pads = _auto_pad(node, shape, tuple(kernel), stride, dilation)
    padding = _conv_padding(node, pads, shape, kernel, stride, dilation)
    layer = nn.Conv2d(
        per_group * group, out_channels, tuple(kernel), stride, padding, dilation, group,
        bias=bias is not None, dtype=weight.dtype,
    )  # fmt: skip
    _copy(layer.weight, weight, node, "weight")
    if bias is not None:
        _copy(layer.bias, bias, node, "bias")
    return layer


def _conv_transpose(node: _Node, shape: Shape) -> nn.Module:
    weight = node.const(1)
    bias = node.const(2, required=False)
    node.refuse(auto_pad="NOTSET")
    if "output_shape" in node.attrs:
        raise node.error("the output_shape attribute is not supported; give pads instead.")
    in_channels, per_group, *kernel = weight.shape
    group = int(node.attr("group", 1))
    top, bottom, left, right = _pads(node)
    if (top, left) != (bottom, right):
        raise node.error(f"asymmetric pads {(top, bottom, left, right)} are not supported.")
    layer = nn.ConvTranspose2d(
        in_channels, per_group * group, tuple(kernel), _spatial(node, "strides", 1), (top, left),
        _spatial(node, "output_padding", 0), group, bias is not None,
        _spatial(node, "dilations", 1), dtype=weight.dtype,
    )  # fmt: skip
    _copy(layer.weight, weight, node, "weight")
    if bias is not None:
        _copy(layer.bias, bias, node, "bias")
    return layer


def _max_pool(node: _Node, shape: Shape) -> nn.Module:
    if len(node.proto.output) > 1 and node.proto.output[1]:
        raise node.error("the Indices output is not supported.")
    node.refuse(storage_order=0)
    geo = _pool_geometry(node, shape)
    return nn.MaxPool2d(
        geo["kernel_size"], geo["stride"], geo["padding"], ceil_mode=geo["ceil_mode"]
    )


def _average_pool(node: _Node, shape: Shape) -> nn.Module:
    geo = _pool_geometry(node, shape)
    count_include_pad = bool(node.attr("count_include_pad", 0))
    if count_include_pad and geo["padding"] == "same":
        raise node.error("count_include_pad=1 with 'same' padding is not supported.")
    if geo["ceil_mode"] and count_include_pad and geo["pads"][1] != geo["pads"][0]:
        raise node.error(
            "count_include_pad=1 with extra end padding would count the overhang, which "
            "convscope (like PyTorch) does not."
        )
    return nn.AvgPool2d(
        geo["kernel_size"], geo["stride"], geo["padding"], geo["ceil_mode"], count_include_pad
    )


def _pad(node: _Node, shape: Shape) -> nn.Module:
    node.refuse(mode="constant")
    amounts = node.const(1)
    value = node.const(2, required=False)
    if value is not None and np.any(value != 0):
        raise node.error(f"only zero padding is supported; received constant_value={value}.")
    if len(node.inputs) > 3 and node.inputs[3]:
        raise node.error("the axes input is not supported.")
    amounts = [int(a) for a in amounts]
    if len(amounts) != 8 or any(amounts[i] for i in (0, 1, 4, 5)) or min(amounts) < 0:
        raise node.error(
            f"only non-negative padding of H and W of a 4-D tensor is supported; received "
            f"pads={amounts}."
        )
    top, left, bottom, right = amounts[2], amounts[3], amounts[6], amounts[7]
    return nn.ZeroPad2d((left, right, top, bottom))


def _batch_norm(node: _Node, shape: Shape) -> nn.Module:
    if node.attr("training_mode", 0):
        raise node.error("training_mode=1 is not supported (export the model in eval mode).")
    scale, bias, mean, var = (node.const(i) for i in range(1, 5))
    layer_type = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    layer = layer_type(
        len(scale), eps=_epsilon(node),
        momentum=round(1 - float(node.attr("momentum", 0.9)), 6), dtype=scale.dtype,
    )  # fmt: skip
    _copy(layer.weight, scale, node, "scale")
    _copy(layer.bias, bias, node, "B")
    layer.running_mean[...] = mean
    layer.running_var[...] = var
    return layer.eval()


def _group_norm(node: _Node, shape: Shape) -> nn.Module:
    scale, bias = node.const(1), node.const(2)
    groups = int(node.attr("num_groups"))
    if scale.shape != (shape[1],):
        raise node.error(
            f"scale of shape {scale.shape} is per group (opset 18); only per-channel scale "
            f"(opset 21, shape ({shape[1]},)) is supported."
        )
    layer = nn.GroupNorm(groups, shape[1], eps=_epsilon(node), dtype=scale.dtype)
    _copy(layer.weight, scale, node, "scale")
    _copy(layer.bias, bias, node, "bias")
    return layer


def _layer_norm(node: _Node, shape: Shape) -> nn.Module:
    scale = node.const(1)
    bias = node.const(2, required=False)
    axis = int(node.attr("axis", -1)) % len(shape)
    normalized = tuple(shape[axis:])
    layer = nn.LayerNorm(normalized, eps=_epsilon(node), bias=bias is not None, dtype=scale.dtype)
    _copy(layer.weight, np.broadcast_to(scale, normalized), node, "scale")
    if bias is not None:
        _copy(layer.bias, np.broadcast_to(bias, normalized), node, "bias")
    return layer


def _gemm(node: _Node, shape: Shape) -> nn.Module:
    if node.attr("transA", 0):
        raise node.error("transA=1 is not supported.")
    weight = node.const(1)
    bias = node.const(2, required=False)
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    weight = alpha * (weight if node.attr("transB", 0) else weight.T)  # (out, in)
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=bias is not None, dtype=weight.dtype)
    _copy(layer.weight, weight.astype(layer.weight.dtype), node, "B")
    if bias is not None:
        _copy(layer.bias, np.broadcast_to(beta * bias, (out_features,)), node, "C")
    return layer


def _matmul(node: _Node, shape: Shape) -> nn.Module:
    weight = node.const(1)
    if weight.ndim != 2:
        raise node.error(f"only a constant 2-D second input is supported; received {weight.shape}.")
    layer = nn.Linear(weight.shape[0], weight.shape[1], bias=False, dtype=weight.dtype)
    _copy(layer.weight, weight.T, node, "B")
    return layer


def _flatten(node: _Node, shape: Shape) -> nn.Module:
    axis = int(node.attr("axis", 1)) % max(len(shape), 1)
    if axis != 1:
        raise node.error(
            f"only axis=1 is supported (keeping the batch axis); received axis={axis}."
        )
    return nn.Flatten()


def _reshape(node: _Node, shape: Shape) -> nn.Module:
    target = [int(v) for v in node.const(1)]
    if (
        len(target) == 2
        and target[0] in (0, -1, shape[0])
        and target[1] in (-1, int(np.prod(shape[1:])))
    ):
        return nn.Flatten()
    raise node.error(f"only flattening to (batch, -1) is supported; received shape {target}.")


def _softmax(layer_type: type) -> Importer:
    def convert(node: _Node, shape: Shape) -> nn.Module:
        return layer_type(dim=int(node.attr("axis", -1)))

    return convert


def _simple(make: Callable[[_Node], nn.Module]) -> Importer:
    return lambda node, shape: make(node)


IMPORTERS: dict[str, Importer] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": _simple(lambda node: nn.AdaptiveAvgPool2d(1)),
    "GlobalMaxPool": _simple(lambda node: nn.AdaptiveMaxPool2d(1)),
    "Pad": _pad,
    "BatchNormalization": _batch_norm,
    "GroupNormalization": _group_norm,
    "LayerNormalization": _layer_norm,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Relu": _simple(lambda node: nn.ReLU()),
    "LeakyRelu": _simple(lambda node: nn.LeakyReLU(float(node.attr("alpha", 0.01)))),
    "Elu": _simple(lambda node: nn.ELU(float(node.attr("alpha", 1.0)))),
    "Tanh": _simple(lambda node: nn.Tanh()),
    "Sigmoid": _simple(lambda node: nn.Sigmoid()),
    "Gelu": _simple(lambda node: nn.GELU(node.attr("approximate", "none"))),
    "Softmax": _softmax(nn.Softmax),
    "LogSoftmax": _softmax(nn.LogSoftmax),
    "Identity": _simple(lambda node: nn.Identity()),
    "Dropout": _simple(lambda node: nn.Identity()),  # inference graphs: the identity
}


def _adaptive_average(node: _Node, previous: nn.Module | None, shape: Shape) -> nn.Module:
    """``MatMul(A, MatMul(x, Bᵀ))`` with averaging matrices is ``AdaptiveAvgPool2d``."""
    rows = node.const(0)
    cols = previous.weight.data if isinstance(previous, nn.Linear) else None
    if rows.ndim == 2 and cols is not None and previous.bias is None and len(shape) == 4:
        (out_h, h), (out_w, w) = rows.shape, cols.shape
        if (
            h == shape[2]
            and np.allclose(rows, averaging_matrix(h, out_h, rows.dtype))
            and np.allclose(cols, averaging_matrix(w, out_w, cols.dtype))
        ):
            return nn.AdaptiveAvgPool2d((out_h, out_w))
    raise node.error(
        "a constant first input is only supported as the row half of adaptive average "
        "pooling (after MatMul with the column averaging matrix)."
    )


def _padded_average(
    node: _Node, pad: nn.ZeroPad2d, unpadded: Shape, padded: Shape
) -> nn.Module | None:
    """``Pad(p)`` then ``AveragePool`` (pads only at the end, not counted) is PyTorch's
    ``AvgPool2d(padding=p, count_include_pad=True)``, padding counted, overhang not."""
    left, right, top, bottom = pad.padding
    kernel, stride = _spatial(node, "kernel_shape", 1), _spatial(node, "strides", 1)
    p_top, p_bottom, p_left, p_right = _pads(node)
    if (
        left != right or top != bottom or 2 * top > kernel[0] or 2 * left > kernel[1]
        or (p_top, p_left) != (0, 0) or node.attr("count_include_pad", 0)
        or node.attr("ceil_mode", 0) or node.attr("auto_pad", "NOTSET") not in ("NOTSET", "")
    ):  # fmt: skip
        return None
    wanted = (
        conv_output_size(padded[2], kernel[0], stride[0], (0, p_bottom)),
        conv_output_size(padded[3], kernel[1], stride[1], (0, p_right)),
    )
    for ceil_mode in (False, True):
        layer = nn.AvgPool2d(kernel, stride, (top, left), ceil_mode, count_include_pad=True)
        with no_grad():
            if layer(np.zeros(unpadded, np.float32)).shape[2:] == wanted:
                return layer
    return None


def _fold_constant(proto: Any, constants: dict[str, np.ndarray]) -> bool:
    """Evaluate a node that only rearranges constants (exporters write them for weights).

    ``Constant``, and ``Identity``/``Unsqueeze``/``Squeeze``/``Reshape`` whose inputs are
    all constants, become constants themselves. Returns True if ``proto`` was folded.
    """
    from onnx import helper, numpy_helper

    if proto.op_type == "Constant":
        attr = proto.attribute[0]
        value = numpy_helper.to_array(attr.t) if attr.name == "value" else None
        if value is None:  # value_float(s) / value_int(s)
            value = np.asarray(helper.get_attribute_value(attr))
        constants[proto.output[0]] = value
        return True
    names = [name for name in proto.input if name]
    if proto.op_type not in ("Identity", "Unsqueeze", "Squeeze", "Reshape") or not all(
        name in constants for name in names
    ):
        return False
    value = constants[names[0]]
    attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
    axes = [int(a) for a in (constants[names[1]] if len(names) > 1 else attrs.get("axes", []))]
    if proto.op_type == "Unsqueeze":
        value = np.expand_dims(value, tuple(axes))
    elif proto.op_type == "Squeeze":
        value = np.squeeze(value, tuple(axes) if axes else None)
    elif proto.op_type == "Reshape":
        target = [value.shape[i] if n == 0 else n for i, n in enumerate(axes)]
        value = value.reshape(target)
    constants[proto.output[0]] = value
    return True


def _torch_group_norm(
    nodes: list[Any], k: int, constants: dict[str, np.ndarray], x: str, shape: Shape
) -> tuple[nn.Module, int, str] | None:
    """PyTorch's exporter writes ``GroupNorm`` as six nodes; read them back as one layer.

    ``Reshape(x, [0, G, -1])`` → ``InstanceNormalization`` (scale 1, shift 0) →
    ``Shape(x)`` → ``Reshape`` back → ``Mul(weight)`` → ``Add(bias)`` (the last two only
    with ``affine``). ``nodes[k]`` is the first Reshape. Returns the layer, the index of
    the next node and the name of its output, or None if the nodes differ.
    """
    following: list[_Node] = []
    j = k
    while j < len(nodes) and len(following) < 6:
        proto = nodes[j]
        j += 1
        if not _fold_constant(proto, constants):
            following.append(_Node(proto, constants))
    ops = [n.op for n in following]
    if ops[:4] != ["Reshape", "InstanceNormalization", "Shape", "Reshape"] or len(shape) != 4:
        return None
    flat, norm, size, back = following[:4]
    target = constants.get(flat.inputs[1])
    if target is None or [int(v) for v in target][::2] != [0, -1] or len(target) != 3:
        return None
    groups, channels = int(target[1]), shape[1]
    scale, shift = constants.get(norm.inputs[1]), constants.get(norm.inputs[2])
    if (
        flat.inputs[0] != x or norm.inputs[0] != flat.proto.output[0] or size.inputs[0] != x
        or back.inputs != [norm.proto.output[0], size.proto.output[0]]
        or scale is None or shift is None or np.any(scale != 1) or np.any(shift != 0)
        or channels % groups
    ):  # fmt: skip
        return None
    out, used = back.proto.output[0], 4
    params = {}
    for op, name in (("Mul", "weight"), ("Add", "bias")):
        if len(following) > used and following[used].op == op:
            node = following[used]
            value = constants.get(node.inputs[1]) if node.inputs[0] == out else None
            if value is None or value.size != channels:
                break
            params[name], out, used = value.reshape(channels), node.proto.output[0], used + 1
    layer = nn.GroupNorm(
        groups, channels, eps=_epsilon(norm), affine=bool(params), dtype=scale.dtype
    )
    if params:
        layer.weight.data[...] = params.get("weight", 1)
        layer.bias.data[...] = params.get("bias", 0)
    # The index after the last node used (Constant nodes in between included).
    last = following[used - 1].proto
    return layer, next(i for i in range(k, len(nodes)) if nodes[i] is last) + 1, out


def _walk(model: Any) -> nn.Sequential:
    from onnx import numpy_helper

    graph = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx", 0)) < 13:
        raise ONNXImportError(
            f"convscope imports ONNX opset 13 or later; this model uses opset "
            f"{opsets.get('', 0)}. Re-export it with a newer opset."
        )
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ONNXImportError(
            f"convscope imports graphs with one input and one output; this one has inputs "
            f"{[i.name for i in inputs]} and outputs {[o.name for o in graph.output]}."
        )
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    if any(not d.HasField("dim_value") for d in list(dims)[1:]):
        raise ONNXImportError(
            f"convscope needs every input axis but the batch to be fixed; input "
            f"'{inputs[0].name}' has shape {[d.dim_param or d.dim_value for d in dims]}."
        )
    from onnx import helper

    elem = inputs[0].type.tensor_type.elem_type
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    current = inputs[0].name
    value = Tensor(np.zeros(shape, dtype=dtype))
    layers: list[nn.Module] = []
    previous_input = None  # the input of the last node: Sigmoid → Mul(x, σ) is SiLU
    last_input = value  # the example value the last layer received
    nodes = list(graph.node)
    k = 0
    while k < len(nodes):
        proto = nodes[k]
        k += 1
        if _fold_constant(proto, constants):
            continue
        node = _Node(proto, constants)
        data = [name for name in node.inputs if name and name not in constants]
        # Two-node patterns exporters write for one layer: x · σ(x), and MatMul + bias.
        if (
            node.op == "Mul"
            and len(data) == 2
            and set(data) == {current, previous_input}
            and (layers and isinstance(layers[-1], nn.Sigmoid))
        ):
            layers[-1] = nn.SiLU()  # x · σ(x), as convscope writes SiLU
            current = proto.output[0]
            continue
        if node.op == "Add" and data == [current] and layers and isinstance(layers[-1], nn.Linear):
            linear = layers[-1]
            if linear.bias is None:
                bias = node.const(1 if node.inputs[0] == current else 0)
                fused = nn.Linear(
                    linear.in_features, linear.out_features, dtype=linear.weight.dtype
                )
                fused.weight.data[...] = linear.weight.data
                _copy(fused.bias, np.broadcast_to(bias, (linear.out_features,)), node, "bias")
                layers[-1] = fused
                current = proto.output[0]
                continue
        if node.op == "AveragePool" and layers and isinstance(layers[-1], nn.ZeroPad2d):
            fused = _padded_average(node, layers[-1], last_input.shape, value.shape)
            if fused is not None:  # Pad + AveragePool: convscope's count_include_pad=True
                layers[-1] = fused
                with no_grad():
                    value = fused(last_input)
                previous_input, current = current, proto.output[0]
                continue
        if node.op == "Reshape" and data == [current]:
            match = _torch_group_norm(nodes, k - 1, constants, current, value.shape)
            if match is not None:
                layer, k, output = match
                with no_grad():
                    last_input, value = value, layer(value)
                layers.append(layer)
                previous_input, current = current, output
                continue
        if node.op == "MatMul" and data == [current] and node.inputs[1] == current:
            # A (OH, H) @ [x Bᵀ]: the second half of adaptive average pooling, as written
            # by convscope's exporter for unequal windows (x Bᵀ became a bias-free Linear).
            pooled = _adaptive_average(node, layers[-1] if layers else None, value.shape)
            layers[-1] = pooled
            with no_grad():
                value = pooled(last_input)
            current = proto.output[0]
            continue
        if data != [current]:
            raise ONNXImportError(
                f"Cannot import {node.where()}: convscope imports chains of layers, where each "
                f"node reads the previous one's output ('{current}'); this node reads "
                f"{data or 'only constants'}."
            )
        convert = IMPORTERS.get(node.op)
        if convert is None or (proto.domain not in ("", "ai.onnx")):
            raise ONNXImportError(
                f"Cannot import {node.where()}: operator '{node.op}' is not supported. "
                f"Supported operators: {', '.join(sorted(IMPORTERS))}."
            )
        layer = convert(node, value.shape)
        previous_input, last_input = current, value
        current = proto.output[0]
        if layer is None:
            continue
        layer.eval()
        with no_grad():
            try:
                value = layer(value)
            except ValueError as error:
                message = f"the layer built from it, {layer!r}, refused its input: {error}"
                raise node.error(message) from error
        layers.append(layer)
    if current != graph.output[0].name:
        raise ONNXImportError(
            f"The graph's output '{graph.output[0].name}' is not the end of its chain of nodes "
            f"('{current}')."
        )
    return nn.Sequential(*layers).eval()


def load(path: str | os.PathLike) -> nn.Sequential:
    """Build a convscope model from an ONNX file (or an ``onnx.ModelProto``).

    Args:
        path: the ``.onnx`` file, or a loaded ``ModelProto``.

    Returns:
        An ``nn.Sequential`` in evaluation mode, its parameters copied from the graph.

    Raises:
        ONNXImportError: an unsupported operator (naming it and its node), attribute or
            graph structure.
        ImportError: the ``onnx`` package is missing.

    >>> import numpy as np
    >>> from convscope import nn
    >>> from convscope.onnx import export
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
    >>> load(export(model, np.zeros((1, 1, 9, 9), np.float32)))
    Sequential(
      (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
      (1): ReLU()
      (2): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=1, ceil_mode=True)
    )
    """
    onnx = _require("onnx")
    model = path if isinstance(path, onnx.ModelProto) else onnx.load(os.fspath(path))
    return _walk(model)
