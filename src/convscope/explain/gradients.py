"""Saliency maps (Simonyan, Vedaldi & Zisserman, 2014) and SmoothGrad (Smilkov et al., 2017).

The saliency of a pixel is how much the class **score** (the pre-softmax logit, see
:mod:`convscope.explain`) changes when that pixel changes: ``|∂score/∂pixel|``, the
largest over the colour channels. SmoothGrad averages the saliency of noisy copies of
the image, which removes much of the speckle of a single gradient.

>>> import numpy as np
>>> import convscope
>>> from convscope.nn import Conv2d, Flatten, Linear, ReLU, Sequential
>>> convscope.manual_seed(0)
>>> model = Sequential(Conv2d(1, 2, 3), ReLU(), Flatten(), Linear(2 * 4 * 4, 3))
>>> saliency(model, np.ones((1, 6, 6), np.float32), target=1).shape
(6, 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.explain._common import as_batch, check_target, evaluating, scores
from convscope.nn.module import Module
from convscope.random import generator
from convscope.tensor import Tensor


def input_gradient(model: Module, x: Any, target: int) -> np.ndarray:
    """``∂score[target]/∂x``: the gradient of one class's score with respect to the input.

    Args:
        model: a classifier (evaluated in evaluation mode; its state is left unchanged).
        x: one image (C, H, W) or (1, C, H, W); uint8 is scaled to [0, 1].
        target: class index.

    Shape:
        Returns (C, H, W), the dtype of ``x`` (float32 for uint8).
    """
    return _batch_gradient(model, as_batch(x, "input_gradient"), target, "input_gradient")[0]


def _batch_gradient(model: Module, batch: np.ndarray, target: Any, who: str) -> np.ndarray:
    """∂score[target]/∂x for every image of a batch at once (eval mode: images independent)."""
    leaf = Tensor(batch.copy(), requires_grad=True)
    with evaluating(model):
        z = scores(model, leaf)
        target = check_target(target, z.shape[1], who)
        z[:, target].sum().backward()
    return leaf.grad


def saliency(
    model: Module,
    x: Any,
    target: int,
    *,
    smooth_samples: int = 0,
    noise: float = 0.15,
) -> np.ndarray:
    """``|∂score/∂pixel|``, the largest over channels; with SmoothGrad when asked.

    Args:
        model: a classifier.
        x: one image (C, H, W) or (1, C, H, W).
        target: class index whose score is explained.
        smooth_samples: 0 for the plain gradient; ``n > 0`` averages the saliency of
            ``n`` copies of ``x`` with Gaussian noise added (SmoothGrad), drawn from
            convscope's generator (:func:`convscope.manual_seed` makes it repeatable).
        noise: the noise's standard deviation as a share of the image's value range
            (``σ = noise · (max − min)``; Smilkov et al. recommend 10–20%).

    Shape:
        Returns (H, W), non-negative.

    Raises:
        ValueError: a bad image, target, ``smooth_samples`` or ``noise``.
    """
    batch = as_batch(x, "saliency")
    if not isinstance(smooth_samples, (int, np.integer)) or smooth_samples < 0:
        raise ValueError(
            f"saliency expected smooth_samples to be an integer >= 0; received {smooth_samples!r}."
        )
    if not noise >= 0:
        raise ValueError(f"saliency expected noise >= 0; received noise={noise!r}.")
    if smooth_samples:
        sigma = noise * float(batch.max() - batch.min())
        draws = generator().standard_normal((smooth_samples, *batch.shape[1:]))
        batch = batch + (sigma * draws).astype(batch.dtype)  # (n, C, H, W)
    grads = _batch_gradient(model, batch, target, "saliency")
    return np.abs(grads).max(axis=1).mean(axis=0)  # max over channels, mean over samples
