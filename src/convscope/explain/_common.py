"""What every explanation shares: the input check, evaluation mode, and the score.

The **score** of a class is its pre-softmax logit: the model's output for that class,
or — when the model ends in a ``Softmax`` or ``LogSoftmax`` layer — that layer's input.
Saliency and Grad-CAM differentiate the score; occlusion and the explorer's bars use
the class probability ``softmax(scores)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from convscope.data.transforms import to_float
from convscope.nn import functional as F
from convscope.nn.activation import LogSoftmax, Softmax
from convscope.nn.module import Module
from convscope.tensor import Tensor, no_grad


def as_batch(x: Any, who: str) -> np.ndarray:
    """One image (C, H, W) or a batch of one (1, C, H, W) as a float (1, C, H, W) array.

    uint8 images are scaled to [0, 1]; float64 stays float64 (for finite differences).
    """
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim == 3:
        array = array[None]  # (C, H, W) -> (1, C, H, W)
    if array.ndim != 4 or array.shape[0] != 1 or array.dtype.kind not in "uif":
        raise ValueError(
            f"{who} expected one image of shape (C, H, W) or (1, C, H, W); received "
            f"an array of shape {array.shape} and dtype {array.dtype}."
        )
    return array if array.dtype.kind == "f" else to_float(array)


def check_target(target: Any, classes: int, who: str) -> int:
    """``target`` as a class index in ``[0, classes)``."""
    if (
        not isinstance(target, (int, np.integer))
        or isinstance(target, bool)
        or not (0 <= target < classes)
    ):
        raise ValueError(
            f"{who} expected target to be a class index in [0, {classes}); received "
            f"target={target!r}."
        )
    return int(target)


@contextmanager
def evaluating(model: Module) -> Iterator[None]:
    """Evaluation mode (Dropout off, BatchNorm on running statistics) with gradients on.

    On exit every module's training flag and every parameter's ``.grad`` are restored,
    so explaining a model never disturbs its training state.
    """
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.grad) for p in model.parameters()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
        for param, grad in grads:
            param.grad = grad


def scores(model: Module, x: Any) -> Tensor:
    """The score (pre-softmax logits) of ``model(x)``, shape (N, classes), with its graph.

    Call it inside :func:`evaluating`. When the model's output is a ``Softmax`` or
    ``LogSoftmax`` layer's, the score is that layer's input.
    """
    seen: dict[int, Any] = {}
    handles = [
        m.register_forward_hook(lambda mod, inputs, out: seen.__setitem__(id(out), inputs[0]))
        for m in model.modules()
        if isinstance(m, (Softmax, LogSoftmax))
    ]
    try:
        out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    out = seen.get(id(out), out)
    out = out if isinstance(out, Tensor) else Tensor(out)
    if out.ndim != 2:
        raise ValueError(
            f"Explanations expected the model to output class scores of shape (N, classes); "
            f"{type(model).__name__} output shape {out.shape}."
        )
    return out


def probabilities(model: Module, x: np.ndarray) -> np.ndarray:
    """``softmax(scores)`` for a batch (N, C, H, W), in evaluation mode, without a graph."""
    with evaluating(model), no_grad():
        return F.softmax(scores(model, x), dim=1).data
