"""One hooked forward pass that records every layer call: its input, its output, its parent.

Every explanation needs to know which layer fed which: the previous layer of a unit,
the chain of windows from a unit back to the input pixels, the layer whose output
Grad-CAM weighs. :func:`trace` gets that from the model's own ``forward`` (no
re-implemented forward), with the hooks of :mod:`convscope.nn.capture`.

>>> import numpy as np
>>> from convscope.nn import Conv2d, MaxPool2d, ReLU, Sequential
>>> calls = trace(Sequential(Conv2d(1, 2, 3), ReLU(), MaxPool2d(2)), np.zeros((1, 1, 6, 6)))
>>> [(c.name, c.output.shape, c.parent) for c in calls]
[('0', (1, 2, 4, 4), None), ('1', (1, 2, 4, 4), 0), ('2', (1, 2, 2, 2), 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope.nn.capture import _hooked_eval_pass, _leaf_or_included
from convscope.nn.module import Module
from convscope.tensor import Tensor


@dataclass
class Call:
    """One leaf layer's call in a forward pass.

    Attributes:
        name: the layer's dotted name (``"name#2"`` for its second call).
        module: the layer.
        input: its first input, as an array (batch first).
        output: its output, as an array.
        parent: index (in the trace) of the call that produced ``input``; None when the
            input is the model's input.
    """

    name: str
    module: Module
    input: np.ndarray
    output: np.ndarray
    parent: int | None


def trace(model: Module, x: Any) -> list[Call]:
    """Run ``model(x)`` once (evaluation mode, no graph) and record every leaf layer call.

    A layer's parent is the call whose output is its input. An input made outside any
    layer (e.g. by ``F.relu`` in a custom ``forward``) is attributed to the most recent
    call, as :func:`convscope.nn.summary` does for receptive fields: exact for chains.

    Args:
        model: any Module.
        x: the input batch (N, C, H, W), array or Tensor.

    Returns:
        The calls in execution order.
    """
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    calls: list[Call] = []
    # id of each tensor produced so far -> call index; tensors kept alive so no id is reused.
    producer: dict[int, int | None] = {id(x): None}
    alive: list[Any] = [x]
    counts: dict[str, int] = {}

    def record(name: str, module: Module, inputs: tuple, output: Any) -> None:
        first = inputs[0] if inputs else None
        parent = producer.get(id(first), len(calls) - 1 if calls else None)
        calls_so_far = counts[name] = counts.get(name, 0) + 1
        producer[id(output)] = len(calls)
        alive.append(output)
        calls.append(
            Call(
                name=name if calls_so_far == 1 else f"{name}#{calls_so_far}",
                module=module,
                input=_array(first),
                output=_array(output),
                parent=parent,
            )
        )

    with _hooked_eval_pass(model, _leaf_or_included(model, None), record):
        model(x)
    return calls


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def find_call(calls: list[Call], layer: str) -> int:
    """Index of the call named ``layer``; ValueError listing the names otherwise."""
    for i, call in enumerate(calls):
        if call.name == layer:
            return i
    names = ", ".join(repr(c.name) for c in calls)
    raise ValueError(f"Unknown layer {layer!r}: expected one of the model's layers {names}.")


def layer_output(model: Module, x: Any, layer: str) -> np.ndarray:
    """The output of layer ``layer`` (a dotted name, ``"name#k"`` for its k-th call) for
    the batch ``x``, from one hooked pass in evaluation mode without a graph."""
    name, _, nth = layer.partition("#")
    modules = dict(model.named_modules())
    if name not in modules or (nth and not nth.isdigit()):
        leaves = [n for n, m in modules.items() if n and next(m.children(), None) is None]
        names = ", ".join(map(repr, leaves))
        raise ValueError(f"Unknown layer {layer!r}: expected one of the model's layers {names}.")
    wanted = int(nth) if nth else 1
    seen: list[np.ndarray] = []

    def record(_: str, module: Module, inputs: tuple, output: Any) -> None:
        seen.append(_array(output))

    with _hooked_eval_pass(model, [(name, modules[name])], record):
        model(x if isinstance(x, Tensor) else Tensor(np.asarray(x)))
    if len(seen) < wanted:
        raise ValueError(f"Layer {layer!r} did not run {wanted} time(s) in the forward pass.")
    return seen[wanted - 1]
