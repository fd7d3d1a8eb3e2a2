"""Grad-CAM (Selvaraju et al., 2017): which places of a layer's feature maps the class used.

For feature maps ``A`` (K, h, w) of a layer and the class **score** ``y`` (the
pre-softmax logit, see :mod:`convscope.explain`), each channel gets the weight
``α_k = mean over (i, j) of ∂y/∂A[k, i, j]``; the map is ``ReLU(Σ_k α_k · A[k])``.
It is brought to the input's size with each unit placed at the centre of its receptive
field (:mod:`convscope.explain.receptive_field`), bilinear in between and constant
beyond the outermost centres — so the heat sits over the pixels the units saw. (A plain
resize of the h×w map to H×W, as most libraries do, shifts it by up to half a receptive
field towards the borders.) The default layer is the last convolution, taken after the
batch norm and activation that directly follow it (the rectified maps the paper uses).

>>> import numpy as np
>>> import convscope
>>> from convscope.nn import Conv2d, Flatten, Linear, ReLU, Sequential
>>> convscope.manual_seed(0)
>>> model = Sequential(Conv2d(1, 2, 3), ReLU(), Flatten(), Linear(2 * 4 * 4, 3))
>>> default_layer(model, np.zeros((1, 6, 6), np.float32))
'1'
>>> grad_cam(model, np.ones((1, 6, 6), np.float32), target=0).shape
(6, 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.explain._common import as_batch, check_target, evaluating, scores
from convscope.explain._trace import find_call, trace
from convscope.explain.receptive_field import input_box, is_spatial
from convscope.nn.conv import Conv2d
from convscope.nn.module import Module
from convscope.tensor import Tensor


def default_layer(model: Module, x: Any) -> str:
    """The layer Grad-CAM uses by default: the last Conv2d, or the elementwise layers
    (batch norm, activation) directly after it when there are any.

    Raises:
        ValueError: the model has no Conv2d layer.
    """
    calls = trace(model, as_batch(x, "grad_cam"))
    convs = [i for i, c in enumerate(calls) if isinstance(c.module, Conv2d)]
    if not convs:
        raise ValueError(
            f"grad_cam expected a model with a Conv2d layer; {type(model).__name__} has none. "
            "Pass layer= the name of a layer with (N, C, H, W) output."
        )
    chosen = convs[-1]
    for i in range(chosen + 1, len(calls)):
        c = calls[i]
        if c.parent != chosen or not is_spatial(c) or c.output.shape != c.input.shape:
            break
        chosen = i
    return calls[chosen].name


def _replace_output(model: Module, name: str) -> tuple[Any, dict[str, Tensor]]:
    """Hook layer ``name`` so its output becomes a fresh leaf tensor: the score's
    gradient then lands in that leaf's ``.grad`` (= ∂score/∂A)."""
    modules = dict(model.named_modules())
    module_name, _, nth = name.partition("#")
    wanted = int(nth) if nth else 1  # "name#2": the module's second call
    held: dict[str, Tensor] = {}
    calls = [0]

    def hook(module: Module, inputs: tuple, output: Any) -> Tensor:
        calls[0] += 1
        if calls[0] != wanted:  # other calls of the same module are left alone
            return output
        held["A"] = Tensor(output.data.copy(), requires_grad=True)
        return held["A"]

    return modules[module_name].register_forward_hook(hook), held


def grad_cam(
    model: Module, x: Any, target: int, layer: str | None = None, *, upsample: bool = True
) -> np.ndarray:
    """The Grad-CAM map of one image for class ``target``.

    Args:
        model: a classifier.
        x: one image (C, H, W) or (1, C, H, W).
        target: class index.
        layer: dotted name of a layer with (N, K, h, w) output; default
            :func:`default_layer`.
        upsample: bring the map to the input's (H, W), each unit at the centre of its
            receptive field (:func:`place_on_input`); else keep (h, w).

    Shape:
        Returns (H, W) (or (h, w)), non-negative, not normalised.

    Raises:
        ValueError: unknown layer, a layer without feature maps, or a bad target.
    """
    batch = as_batch(x, "grad_cam")
    calls = trace(model, batch)
    layer = default_layer(model, batch) if layer is None else layer
    index = find_call(calls, layer)
    call = calls[index]
    if call.output.ndim != 4:
        raise ValueError(
            f"grad_cam expected a layer with feature maps (N, C, H, W); layer {layer!r} "
            f"outputs {call.output.shape}."
        )
    handle, held = _replace_output(model, layer)
    try:
        with evaluating(model):
            z = scores(model, Tensor(batch))
            target = check_target(target, z.shape[1], "grad_cam")
            z[0, target].backward()
    finally:
        handle.remove()
    activations, grads = held["A"].data[0], held["A"].grad[0]  # (K, h, w) each
    weights = grads.mean(axis=(1, 2))  # α_k
    cam = np.maximum(np.tensordot(weights, activations, axes=1), 0)  # (h, w)
    return place_on_input(cam, *field_centres(calls, index), batch.shape[2:]) if upsample else cam


def field_centres(calls: list, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Input position (row, col) of the receptive-field centre of unit (0, 0) of call
    ``index``, and the step (the jump) between neighbouring units' centres."""
    t, l, b, r = input_box(calls, index, 0, 0)
    t1, l1, b1, r1 = input_box(calls, index, 1, 1)
    first = ((t + b - 1) / 2, (l + r - 1) / 2)
    return first, ((t1 + b1 - 1) / 2 - first[0], (l1 + r1 - 1) / 2 - first[1])


def place_on_input(
    grid: np.ndarray,
    first: tuple[float, float],
    step: tuple[float, float],
    size: tuple[int, int],
) -> np.ndarray:
    """An (h, w) map of units as an (H, W) image: unit (i, j) at input position
    ``first + (i, j)·step``, bilinear in between, the edge value beyond.

    >>> place_on_input(np.array([[0.0, 1.0]]), (0.0, 1.0), (1.0, 2.0), (1, 5)).tolist()
    [[0.0, 0.0, 0.5, 1.0, 1.0]]
    """
    rows = (np.arange(size[0]) - first[0]) / step[0]
    cols = (np.arange(size[1]) - first[1]) / step[1]
    return _bilinear(grid, rows, cols)


def _bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``image`` sampled at fractional positions ``rows`` × ``cols`` (clamped to it)."""
    h, w = image.shape

    def weights(pos: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip(pos, 0, n - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        return lo, hi, (pos - lo).astype(image.dtype)

    r0, r1, fr = weights(rows, h)
    c0, c1, fc = weights(cols, w)
    out = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]  # (H, w)
    return out[:, c0] * (1 - fc) + out[:, c1] * fc  # (H, W)


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D map to ``size`` = (H, W) bilinearly, with half-pixel centres (the
    plain resize most Grad-CAM implementations use; :func:`grad_cam` places units at
    their receptive fields' centres instead).

    Output pixel ``i`` samples the input at ``(i + ½)·h/H − ½`` (clamped to the edge),
    as ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``.

    >>> resize_bilinear(np.array([[0.0, 1.0]]), (1, 4)).round(2).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    (h, w), (H, W) = image.shape, size
    rows = (np.arange(H) + 0.5) * h / H - 0.5
    cols = (np.arange(W) + 0.5) * w / W - 0.5
    return _bilinear(image, rows, cols)
