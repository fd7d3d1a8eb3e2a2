"""The arithmetic behind one unit of one layer, with the numbers the model computed.

:func:`unit_arithmetic` runs the model once and, for the chosen unit, returns the
values that produced it — for a convolution the input window, the kernel, their
elementwise products, the sum, the bias and the pre-activation (and the batch norm and
activation applied right after); for max pooling the window and the winner; for
average pooling the window and the divisor; for batch norm the statistics; for a
linear layer the largest contributions ``wᵢ·xᵢ``; for softmax the logits and their
exponentials. Each layer type has one function in :data:`HANDLERS`; the
``value`` is always the model's own output at that unit, so every sum can be checked
against it.

>>> import numpy as np
>>> from convscope.nn import Conv2d, Sequential
>>> conv = Conv2d(1, 1, 2)
>>> conv.weight.data[...] = 1.0; conv.bias.data[...] = 0.5
>>> image = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
>>> unit = unit_arithmetic(Sequential(conv), image, "0", 0, 1, 1)
>>> unit["window"].tolist(), unit["sum"], unit["pre_activation"], unit["value"]
([[[4.0, 5.0], [7.0, 8.0]]], 24.0, 24.5, 24.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from convscope.explain._common import as_batch
from convscope.explain._trace import Call, find_call, trace
from convscope.explain.receptive_field import clip, geometry, input_box, step_box
from convscope.nn import activation as act
from convscope.nn.container import Identity
from convscope.nn.conv import Conv2d
from convscope.nn.dropout import Dropout, Dropout2d
from convscope.nn.flatten import Flatten
from convscope.nn.linear import Linear
from convscope.nn.module import Module
from convscope.nn.normalization import BatchNorm1d, BatchNorm2d
from convscope.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d

# How many of a linear layer's contributions are listed (the rest are summed up).
TOP_CONTRIBUTIONS = 10


def _f(v: float) -> str:
    """A number as the formulas print it: 4 decimals, a true minus sign, brackets if < 0."""
    text = f"{v:.4f}".replace("-", "−")
    return f"({text})" if v < 0 else text


def _at(array: np.ndarray, channel: int, row: int, col: int) -> float:
    """One unit of a single-image output: (1, C, H, W) or (1, F)."""
    return float(array[0, channel, row, col] if array.ndim == 4 else array[0, channel])


# --------------------------------------------------------------------------- elementwise


def _elementwise(module: Module, v: float) -> tuple[float, str, dict[str, Any]]:
    """(output, formula, parameters) of an elementwise layer applied to the value ``v``."""
    if isinstance(module, act.ReLU):
        out = max(v, 0.0)
        return out, f"ReLU: max(0, {_f(v)}) = {_f(out)}", {}
    if isinstance(module, act.LeakyReLU):
        a = float(module.negative_slope)
        out = v if v > 0 else a * v
        return out, f"LeakyReLU: {_f(v)} > 0 ? x : {a:g}·x = {_f(out)}", {"negative_slope": a}
    if isinstance(module, act.ELU):
        a = float(module.alpha)
        out = v if v > 0 else a * float(np.expm1(v))
        return out, f"ELU: {_f(v)} > 0 ? x : {a:g}·(eˣ − 1) = {_f(out)}", {"alpha": a}
    if isinstance(module, act.Tanh):
        out = float(np.tanh(v))
        return out, f"tanh({_f(v)}) = {_f(out)}", {}
    if isinstance(module, act.Sigmoid):
        out = float(1 / (1 + np.exp(-v)))
        return out, f"σ({_f(v)}) = 1/(1 + e^−x) = {_f(out)}", {}
    if isinstance(module, act.GELU):
        if module.approximate == "tanh":
            inner = np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)
            out = float(0.5 * v * (1 + np.tanh(inner)))
            return out, f"GELU: x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2 = {_f(out)}", {}
        out = 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
        return out, f"GELU: {_f(v)}·Φ({_f(v)}) = {_f(out)}", {}
    if isinstance(module, act.SiLU):
        out = float(v / (1 + np.exp(-v)))
        return out, f"SiLU: {_f(v)}·σ({_f(v)}) = {_f(out)}", {}
    if isinstance(module, (Dropout, Dropout2d)):
        name = type(module).__name__
        return v, f"{name} (off when evaluating): {_f(v)}", {"p": float(module.p)}
    if isinstance(module, Identity):
        return v, f"Identity: {_f(v)}", {}
    raise AssertionError(type(module).__name__)  # only called for ELEMENTWISE types


ELEMENTWISE = (
    act.ReLU, act.LeakyReLU, act.ELU, act.Tanh, act.Sigmoid, act.GELU, act.SiLU,
    Dropout, Dropout2d, Identity,
)  # fmt: skip


def _batch_norm_terms(module: Module, channel: int, v: float) -> dict[str, Any]:
    mean = float(module.running_mean[channel]) if module.running_mean is not None else None
    var = float(module.running_var[channel]) if module.running_var is not None else None
    if mean is None or var is None:
        raise ValueError(
            f"unit_arithmetic expected {type(module).__name__} to have running statistics "
            "(track_running_stats=True); this one normalises with each batch's own."
        )
    gamma = float(module.weight.data[channel]) if module.weight is not None else 1.0
    beta = float(module.bias.data[channel]) if module.bias is not None else 0.0
    normalized = (v - mean) / float(np.sqrt(var + module.eps))
    out = normalized * gamma + beta
    return {
        "input": v,
        "mean": mean,
        "var": var,
        "eps": float(module.eps),
        "gamma": gamma,
        "beta": beta,
        "normalized": normalized,
        "computed": out,
        "formula": f"({_f(v)} − {_f(mean)}) / √({var:.4f} + {module.eps:g}) · {_f(gamma)} + "
        f"{_f(beta)} = {_f(out)}",
    }


def _followed_by(calls: list[Call], index: int, channel: int, row: int, col: int) -> list[dict]:
    """The batch norm / activation / dropout layers applied to this unit right after it."""
    steps = []
    i = index
    while i + 1 < len(calls) and calls[i + 1].parent == i:
        nxt = calls[i + 1]
        if not isinstance(nxt.module, (*ELEMENTWISE, BatchNorm1d, BatchNorm2d)):
            break
        v = _at(nxt.input, channel, row, col)
        if isinstance(nxt.module, (BatchNorm1d, BatchNorm2d)):
            terms = _batch_norm_terms(nxt.module, channel, v)
            computed, formula = terms["computed"], terms["formula"]
        else:
            computed, formula, _ = _elementwise(nxt.module, v)
        steps.append({
            "layer": nxt.name,
            "type": type(nxt.module).__name__,
            "input": v,
            "computed": computed,
            "value": _at(nxt.output, channel, row, col),
            "formula": formula,
        })  # fmt: skip
        i += 1
    return steps


# --------------------------------------------------------------------------- per layer type


def _conv(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict[str, Any]:
    call = calls[index]
    conv: Conv2d = call.module
    g = geometry(call)
    (kh, kw), (sh, sw), (dh, dw) = g["kernel"], g["stride"], g["dilation"]
    top, bottom, left, right = g["pads"]
    per_group = conv.in_channels // conv.groups
    group = channel // (conv.out_channels // conv.groups)
    channels = list(range(group * per_group, (group + 1) * per_group))
    image = call.input[0, channels].astype(np.float64)  # (Cg, H, W)
    padded = np.pad(image, ((0, 0), (top, bottom), (left, right)))
    r, c = row * sh, col * sw
    # (Cg, kh, kw): the taps the kernel multiplies, dilation apart
    window = padded[:, r : r + (kh - 1) * dh + 1 : dh, c : c + (kw - 1) * dw + 1 : dw]
    kernel = conv.weight.data[channel].astype(np.float64)  # (Cg, kh, kw)
    products = window * kernel
    total = float(products.sum())
    bias = float(conv.bias.data[channel]) if conv.bias is not None else 0.0
    pre = total + bias
    steps = _followed_by(calls, index, channel, row, col)
    return {
        "kind": "conv",
        "channels": channels,
        "window": window,
        "kernel": kernel,
        "products": products,
        "sum": total,
        "bias": bias,
        "pre_activation": pre,
        "computed": pre,
        "followed_by": steps,
        "formula": f"Σ window ⊙ kernel ({products.size} products) + bias = {_f(total)} + "
        f"{_f(bias)} = {_f(pre)}" + "".join(f"; then {s['formula']}" for s in steps),
    }


def _max_pool(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict[str, Any]:
    call = calls[index]
    g = geometry(call)
    top, left, bottom, right = step_box(call, (row, col, row + 1, col + 1))
    window = _window(call.input[0, channel], (top, left, bottom, right), -np.inf)
    winner = np.unravel_index(int(np.argmax(window)), window.shape)
    best = float(window[winner])
    return {
        "kind": "max_pool",
        "channels": [channel],
        "window": window,
        "winner": [int(winner[0]), int(winner[1])],
        "winner_position": [top + int(winner[0]), left + int(winner[1])],
        "computed": best,
        "formula": f"max of the {g['kernel'][0]}×{g['kernel'][1]} window = {_f(best)} "
        f"(row {int(winner[0])}, column {int(winner[1])} of the window)",
    }


def _avg_pool(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict[str, Any]:
    call = calls[index]
    pool: AvgPool2d = call.module
    height, width = call.input.shape[2:]
    top, left, bottom, right = step_box(call, (row, col, row + 1, col + 1))
    window = _window(call.input[0, channel], (top, left, bottom, right), 0.0)
    pads = geometry(call)["pads"]
    if pool.count_include_pad:  # as PyTorch: window cells inside the padded input
        t, l = max(top, -pads[0]), max(left, -pads[2])
        b, r = min(bottom, height + pads[1]), min(right, width + pads[3])
    else:  # only real pixels
        t, l, b, r = clip((top, left, bottom, right), height, width)
    count = (b - t) * (r - l)
    total = float(window.sum())
    mean = total / count
    return {
        "kind": "avg_pool",
        "channels": [channel],
        "window": window,
        "sum": total,
        "count": count,
        "computed": mean,
        "formula": f"mean of the window = {_f(total)} / {count} = {_f(mean)}",
    }


def _adaptive_pool(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    top, left, bottom, right = step_box(call, (row, col, row + 1, col + 1))
    window = call.input[0, channel, top:bottom, left:right].astype(np.float64)
    if isinstance(call.module, AdaptiveMaxPool2d):
        winner = np.unravel_index(int(np.argmax(window)), window.shape)
        best = float(window[winner])
        return {
            "kind": "max_pool",
            "channels": [channel],
            "window": window,
            "winner": [int(winner[0]), int(winner[1])],
            "winner_position": [top + int(winner[0]), left + int(winner[1])],
            "computed": best,
            "formula": f"max of the {window.shape[0]}×{window.shape[1]} adaptive window "
            f"(rows {top}–{bottom - 1}, columns {left}–{right - 1}) = {_f(best)}",
        }
    total = float(window.sum())
    mean = total / window.size
    return {
        "kind": "avg_pool",
        "channels": [channel],
        "window": window,
        "sum": total,
        "count": int(window.size),
        "computed": mean,
        "formula": f"mean of the {window.shape[0]}×{window.shape[1]} adaptive window (rows "
        f"{top}–{bottom - 1}, columns {left}–{right - 1}) = {_f(total)} / {window.size} "
        f"= {_f(mean)}",
    }


def _window(plane: np.ndarray, box: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """plane[top:bottom, left:right] in float64, ``fill`` where the box is in the padding."""
    top, left, bottom, right = box
    out = np.full((bottom - top, right - left), fill)
    t, l, b, r = clip(box, *plane.shape)
    out[t - top : b - top, l - left : r - left] = plane[t:b, l:r]
    return out


def _batch_norm(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    terms = _batch_norm_terms(call.module, channel, _at(call.input, channel, row, col))
    return {"kind": "batch_norm", "channels": [channel], **terms}


def _activation(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    v = _at(call.input, channel, row, col)
    computed, formula, params = _elementwise(call.module, v)
    return {
        "kind": "activation",
        "channels": [channel],
        "input": v,
        "computed": computed,
        "formula": formula,
        **params,
    }


def _source(call: Call, feature: int) -> list[int] | None:
    """(c, y, x) that feature ``feature`` of a Flatten call's output came from."""
    if isinstance(call.module, Flatten) and call.input.ndim == 4:
        return [int(i) for i in np.unravel_index(feature, call.input.shape[1:])]
    return None


def _flatten_before(calls: list[Call], index: int | None) -> Call | None:
    """The Flatten call feeding a vector layer through elementwise layers only (Dropout,
    activations, batch norm keep each feature's index), or None."""
    while index is not None:
        call = calls[index]
        if isinstance(call.module, Flatten):
            return call if call.input.ndim == 4 else None
        if not isinstance(call.module, (*ELEMENTWISE, BatchNorm1d)):
            return None
        index = call.parent
    return None


def _flatten(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    source = _source(call, channel)
    flat = call.input.reshape(1, -1)  # (1, F)
    v = float(call.input[0][tuple(source)]) if source else float(flat[0, channel])
    return {
        "kind": "flatten",
        "channels": [source[0]] if source else [],
        "source": source,
        "input": v,
        "computed": v,
        "formula": f"feature {channel} = input[{', '.join(map(str, source or [channel]))}] "
        f"= {_f(v)}",
    }


def _linear(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    layer: Linear = call.module
    inputs = call.input[0].astype(np.float64)  # (F_in,)
    weights = layer.weight.data[channel].astype(np.float64)
    products = inputs * weights
    order = np.argsort(-np.abs(products), kind="stable")[:TOP_CONTRIBUTIONS]
    flatten = _flatten_before(calls, call.parent)
    total = float(products.sum())
    bias = float(layer.bias.data[channel]) if layer.bias is not None else 0.0
    pre = total + bias
    listed = float(products[order].sum())
    steps = _followed_by(calls, index, channel, 0, 0)
    return {
        "kind": "linear",
        "channels": [],
        "inputs": int(inputs.size),
        "contributions": [
            {
                "index": int(j),
                "input": float(inputs[j]),
                "weight": float(weights[j]),
                "product": float(products[j]),
                "source": _source(flatten, int(j)) if flatten is not None else None,
            }
            for j in order
        ],
        # The feature maps the inputs were flattened from (their (c, y, x) are "source").
        "source_layer": None
        if flatten is None
        else (calls[flatten.parent].name if flatten.parent is not None else "input"),
        "rest": total - listed,
        "sum": total,
        "bias": bias,
        "pre_activation": pre,
        "computed": pre,
        "followed_by": steps,
        "formula": f"Σ wᵢ·xᵢ over {inputs.size} inputs + bias = {_f(listed)} (largest "
        f"{len(order)}) + {_f(total - listed)} (rest) + {_f(bias)} = {_f(pre)}"
        + "".join(f"; then {s['formula']}" for s in steps),
    }


def _softmax(calls: list[Call], index: int, channel: int, row: int, col: int) -> dict:
    call = calls[index]
    if call.input.ndim != 2 or call.module.dim not in (1, -1):
        raise ValueError(
            f"unit_arithmetic explains softmax over the classes of (N, classes) scores; "
            f"layer {call.name!r} has input {call.input.shape} and dim={call.module.dim}."
        )
    logits = call.input[0].astype(np.float64)
    shifted = logits - logits.max()
    exps = np.exp(shifted)
    total = float(exps.sum())
    p = float(exps[channel] / total)
    log = isinstance(call.module, act.LogSoftmax)
    computed = float(shifted[channel] - np.log(total)) if log else p
    name = "log softmax" if log else "softmax"
    return {
        "kind": "softmax",
        "channels": [],
        "logits": logits,
        "max": float(logits.max()),
        "exp": exps,
        "sum_exp": total,
        "probability": p,
        "computed": computed,
        "formula": f"{name}: e^(z − max z) / Σ e^(z − max z) = {exps[channel]:.4f} / "
        f"{total:.4f} = {p:.4f}" + (f"; log = {_f(computed)}" if log else ""),
    }


HANDLERS: dict[type, Callable[..., dict[str, Any]]] = {
    Conv2d: _conv,
    MaxPool2d: _max_pool,
    AvgPool2d: _avg_pool,
    AdaptiveAvgPool2d: _adaptive_pool,
    AdaptiveMaxPool2d: _adaptive_pool,
    BatchNorm2d: _batch_norm,
    BatchNorm1d: _batch_norm,
    act.ReLU: _activation,
    act.LeakyReLU: _activation,
    act.ELU: _activation,
    act.Tanh: _activation,
    act.Sigmoid: _activation,
    act.GELU: _activation,
    act.SiLU: _activation,
    Dropout: _activation,
    Dropout2d: _activation,
    Identity: _activation,
    Flatten: _flatten,
    Linear: _linear,
    act.Softmax: _softmax,
    act.LogSoftmax: _softmax,
}


def _handler(module: Module) -> Callable[..., dict[str, Any]]:
    for kind in type(module).__mro__:
        if kind in HANDLERS:
            return HANDLERS[kind]
    supported = ", ".join(sorted(k.__name__ for k in HANDLERS))
    raise ValueError(
        f"unit_arithmetic does not know the arithmetic of {type(module).__name__} layers; "
        f"supported layers: {supported}."
    )


def _check_unit(call: Call, channel: Any, row: Any, col: Any) -> None:
    shape = call.output.shape[1:]
    unit = (channel, row, col) if len(shape) == 3 else (channel,)
    limits = shape if len(shape) == 3 else shape[:1]
    ok = len(shape) in (1, 3) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < n
        for v, n in zip(unit, limits)
    )
    if len(shape) == 1 and (row, col) != (0, 0):
        ok = False
    if not ok:
        what = "(channel, row, col)" if len(shape) == 3 else "(feature, 0, 0)"
        raise ValueError(
            f"unit_arithmetic expected a unit {what} inside layer {call.name!r}'s output of "
            f"shape {tuple(shape)}; received (channel, row, col) = {(channel, row, col)}."
        )


def unit_arithmetic(
    model: Module, x: Any, layer: str, channel: int, row: int = 0, col: int = 0
) -> dict[str, Any]:
    """Explain how one output value of ``layer`` was computed for input ``x``.

    Args:
        model: any model built from the layers in :data:`HANDLERS` (evaluation mode).
        x: one image (C, H, W) or (1, C, H, W).
        layer: the layer's dotted name (as in ``state_dict``; ``"name#2"`` for a
            second call).
        channel: the output channel — or the feature index for (N, F) outputs.
        row, col: the unit's position (``y``, ``x``) in the feature map; 0 for vectors.

    Returns:
        A dict with ``layer``, ``type``, ``kind`` (conv, max_pool, avg_pool, batch_norm,
        activation, flatten, linear, softmax), the unit (``channel``, ``row``, ``col``),
        ``value`` (the model's own output there), ``computed`` (the same number from
        the arithmetic below, in float64), ``formula`` (one line with the numbers),
        ``previous`` (the layer feeding this one, or ``"input"``, its ``channels``
        used and the unit's ``box`` there, clipped, None for all of it),
        ``receptive_field`` (``box`` in the input image, clipped, and the unclipped
        ``size``; None after Flatten/Linear: the whole image) and the kind's own terms
        (see the module docstring).

    Raises:
        ValueError: unknown layer, a unit outside the output, or a layer type without
            a handler (the message lists the supported ones).
    """
    batch = as_batch(x, "unit_arithmetic")
    calls = trace(model, batch)
    index = find_call(calls, layer)
    call = calls[index]
    handler = _handler(call.module)
    _check_unit(call, channel, row, col)
    channel, row, col = int(channel), int(row), int(col)
    result = handler(calls, index, channel, row, col)
    channels_used = result.pop("channels")
    spatial = call.output.ndim == 4
    prev_box = step_box(call, (row, col, row + 1, col + 1)) if spatial else None
    field = input_box(calls, index, row, col) if spatial else None
    height, width = batch.shape[2:]
    parent = calls[call.parent].name if call.parent is not None else "input"
    return {
        "layer": call.name,
        "type": type(call.module).__name__,
        "channel": channel,
        "row": row,
        "col": col,
        "value": _at(call.output, channel, row, col),
        **result,
        "previous": {
            "layer": parent,
            "shape": list(call.input.shape[1:]),
            "channels": channels_used,
            "box": None if prev_box is None or call.input.ndim != 4
            else list(clip(prev_box, *call.input.shape[2:])),
        },
        "receptive_field": None if field is None else {
            "box": list(clip(field, height, width)),
            "size": [field[2] - field[0], field[3] - field[1]],
        },
    }  # fmt: skip
