"""Grad-CAM (Selvaraju et al., 2017): which places of a layer's feature maps the class used.

For feature maps ``A`` (K, h, w) of a layer and the class **score** ``y`` (the
pre-softmax logit, see :mod:`convscope.explain`), each channel gets the weight
``α_k = mean over (i, j) of ∂y/∂A[k, i, j]``; the map is ``ReLU(Σ_k α_k · A[k])``,
resized (bilinearly) to the input's size. The default layer is the last convolution,
taken after the batch norm and activation that directly follow it (the rectified maps
the paper uses).

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
from convscope.explain.receptive_field import is_spatial
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
    held: dict[str, Tensor] = {}

    def hook(module: Module, inputs: tuple, output: Any) -> Tensor:
        if "A" in held:  # a second call of the same module is left alone
            return output
        held["A"] = Tensor(output.data.copy(), requires_grad=True)
        return held["A"]

    return modules[name.split("#")[0]].register_forward_hook(hook), held


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
        upsample: resize the map to the input's (H, W) (bilinear, half-pixel centres as
            PyTorch's ``interpolate(align_corners=False)``); else keep (h, w).

    Shape:
        Returns (H, W) (or (h, w)), non-negative, not normalised.

    Raises:
        ValueError: unknown layer, a layer without feature maps, or a bad target.
    """
    batch = as_batch(x, "grad_cam")
    calls = trace(model, batch)
    layer = default_layer(model, batch) if layer is None else layer
    call = calls[find_call(calls, layer)]
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
    return resize_bilinear(cam, batch.shape[2:]) if upsample else cam


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D map to ``size`` = (H, W) bilinearly, with half-pixel centres.

    Output pixel ``i`` samples the input at ``(i + ½)·h/H − ½`` (clamped to the edge),
    as ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``.

    >>> resize_bilinear(np.array([[0.0, 1.0]]), (1, 4)).round(2).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    h, w = image.shape
    H, W = size

    def weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
        lo = np.minimum(np.floor(pos).astype(int), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(image.dtype)

    r0, r1, fr = weights(h, H)
    c0, c1, fc = weights(w, W)
    rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]  # (H, w)
    return rows[:, c0] * (1 - fc) + rows[:, c1] * fc  # (H, W)
