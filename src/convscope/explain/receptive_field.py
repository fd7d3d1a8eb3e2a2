"""Where a unit looks: its window in the previous layer and its receptive field in the input.

A box is ``(top, left, bottom, right)`` with ``bottom``/``right`` exclusive, in the
coordinates of a layer's input, before clipping to it (a box may reach into the
padding). One step back through a convolution or pooling with kernel ``k``, stride
``s``, dilation ``d`` and top/left padding ``p`` maps output rows ``r0..r1`` to input
rows ``r0·s − p .. r1·s − p + (k − 1)·d``; elementwise layers keep the box; after a
``Flatten`` or ``Linear`` a unit sees the whole input. Composed back to the input this
gives boxes of the size :func:`convscope.nn.summary` reports as ``receptive_field``
(the same recurrence, with the position added).

>>> import numpy as np
>>> from convscope.nn import Conv2d, MaxPool2d, ReLU, Sequential
>>> from convscope.explain._trace import trace
>>> calls = trace(Sequential(Conv2d(1, 1, 3), ReLU(), MaxPool2d(2)), np.zeros((1, 1, 8, 8)))
>>> input_box(calls, 2, 1, 1)        # pool unit (1, 1): input rows/cols 2..5
(2, 2, 6, 6)
"""

from __future__ import annotations

from typing import Any

from convscope.explain._trace import Call
from convscope.nn.functional.adaptive_pooling import adaptive_windows
from convscope.nn.functional.geometry import resolve_padding
from convscope.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d

Box = tuple[int, int, int, int]


def geometry(call: Call) -> dict[str, Any] | None:
    """Kernel, stride, dilation and explicit ``pads`` (top, bottom, left, right) of a
    call whose layer slides a window (its ``window_geometry()``, which
    :func:`convscope.nn.summary` reads too), else None."""
    g = call.module.window_geometry()
    if g is None:
        return None
    return {
        "kernel": g.kernel,
        "stride": g.stride,
        "dilation": g.dilation,
        "pads": resolve_padding(g.padding, call.input.shape[2:], g.kernel, g.stride, g.dilation),
    }


def adaptive(call: Call) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The (start, end) rows and columns of each window of an adaptive pooling call."""
    (h, w), (oh, ow) = call.input.shape[2:], call.output.shape[2:]
    return adaptive_windows(h, oh), adaptive_windows(w, ow)


def is_spatial(call: Call) -> bool:
    """True when the call maps feature maps (N, C, H, W) to feature maps."""
    return call.input.ndim == 4 and call.output.ndim == 4


def step_box(call: Call, box: Box) -> Box | None:
    """The box in ``call``'s input that ``box`` of its output depends on; None for all of it.

    Raises:
        ValueError: a layer changes the spatial shape in a way this module does not know.
    """
    g = geometry(call)
    if g is not None:
        (kh, kw), (sh, sw), (dh, dw) = g["kernel"], g["stride"], g["dilation"]
        top, _, left, _ = g["pads"]
        t, l, b, r = box
        return (
            t * sh - top,
            l * sw - left,
            (b - 1) * sh - top + (kh - 1) * dh + 1,
            (r - 1) * sw - left + (kw - 1) * dw + 1,
        )
    if isinstance(call.module, (AdaptiveAvgPool2d, AdaptiveMaxPool2d)):
        (rows, cols), t, l, b, r = adaptive(call), *box
        return rows[t][0], cols[l][0], rows[b - 1][1], cols[r - 1][1]
    if call.module.receptive_field_is_global() or call.output.ndim != 4:
        return None  # Flatten, Linear, softmax: every input value
    if is_spatial(call) and call.input.shape[2:] == call.output.shape[2:]:
        return box  # elementwise in space: activations, batch norm, dropout
    raise ValueError(
        f"Cannot trace the receptive field through layer {call.name!r} "
        f"({type(call.module).__name__}): it maps {call.input.shape} to {call.output.shape} "
        "and is neither a convolution, a pooling nor an elementwise layer."
    )


def input_box(calls: list[Call], index: int, row: int, col: int) -> Box | None:
    """Receptive field in the model's input of unit ``(row, col)`` of call ``index``.

    Returns:
        The unclipped box, or None when the unit sees the whole input.
    """
    box: Box | None = (row, col, row + 1, col + 1)
    i: int | None = index
    while i is not None:
        box = step_box(calls[i], box)
        if box is None:
            return None
        i = calls[i].parent
    return box


def clip(box: Box | None, height: int, width: int) -> Box:
    """``box`` clipped to an ``height × width`` map (the whole map for None)."""
    if box is None:
        return (0, 0, height, width)
    t, l, b, r = box
    return (max(t, 0), max(l, 0), min(b, height), min(r, width))
