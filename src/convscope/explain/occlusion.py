"""Occlusion maps (Zeiler & Fergus, 2014): cover part of the image, watch the probability fall.

A ``window`` patch of constant ``value`` (0, or the image mean for "grey") slides over
the image with ``stride``; each position's entry is ``p(target | image) −
p(target | occluded image)``, where ``p`` is the class probability ``softmax(score)``.
Large values mark the places the prediction depends on; negative ones, places whose
removal makes the class *more* likely.

>>> import numpy as np
>>> import convscope
>>> from convscope.nn import Conv2d, Flatten, Linear, Sequential
>>> convscope.manual_seed(0)
>>> model = Sequential(Conv2d(1, 2, 3), Flatten(), Linear(2 * 6 * 6, 3))
>>> occlusion(model, np.ones((1, 8, 8), np.float32), 0, window=4, stride=2).shape
(3, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.explain._common import as_batch, check_target, probabilities
from convscope.nn.functional.geometry import pair
from convscope.nn.module import Module


def positions(size: int, window: int, stride: int) -> np.ndarray:
    """Top (or left) edges of the windows along one axis: 0, stride, … while the window fits."""
    return np.arange(0, size - window + 1, stride)


def occlusion(
    model: Module,
    x: Any,
    target: int,
    window: int | tuple[int, int] = 4,
    stride: int | tuple[int, int] = 2,
    value: float | str = 0.0,
    batch_size: int = 256,
) -> np.ndarray:
    """Drop in the probability of ``target`` for each position of the occluding patch.

    Args:
        model: a classifier.
        x: one image (C, H, W) or (1, C, H, W).
        target: class index.
        window: patch height and width.
        stride: step between patch positions.
        value: the patch's fill value, or ``"mean"`` for the image's mean (grey).
        batch_size: occluded images evaluated per forward pass.

    Shape:
        Returns (rows, cols): ``rows = ⌊(H − window_h) / stride_h⌋ + 1``, likewise cols;
        entry ``[i, j]`` is the patch with top-left corner ``(i·stride_h, j·stride_w)``.

    Raises:
        ValueError: the window does not fit in the image, or a bad target.
    """
    batch = as_batch(x, "occlusion")
    (wh, ww), (sh, sw) = pair(window, "window"), pair(stride, "stride")
    height, width = batch.shape[2:]
    if wh > height or ww > width:
        raise ValueError(
            f"occlusion expected a window that fits in the {height}×{width} image; "
            f"received window={(wh, ww)}."
        )
    fill = float(batch.mean()) if value == "mean" else float(value)
    base = probabilities(model, batch)[0]
    target = check_target(target, base.shape[0], "occlusion")
    tops, lefts = positions(height, wh, sh), positions(width, ww, sw)
    corners = [(t, l) for t in tops for l in lefts]
    drops = np.empty(len(corners), dtype=base.dtype)
    for start in range(0, len(corners), batch_size):
        chunk = corners[start : start + batch_size]
        occluded = np.repeat(batch, len(chunk), axis=0)  # (n, C, H, W)
        for k, (t, l) in enumerate(chunk):
            occluded[k, :, t : t + wh, l : l + ww] = fill
        drops[start : start + len(chunk)] = base[target] - probabilities(model, occluded)[:, target]
    return drops.reshape(len(tops), len(lefts))  # (rows, cols)


def spread(
    grid: np.ndarray,
    size: tuple[int, int],
    window: int | tuple[int, int] = 4,
    stride: int | tuple[int, int] = 2,
) -> np.ndarray:
    """An occlusion grid as an (H, W) map: each pixel the mean of the windows covering it.

    Pixels no window covers (at the right/bottom edge when the stride does not fit) get 0.

    >>> spread(np.array([[1.0, 3.0]]), (2, 3), window=2, stride=1).tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    """
    (wh, ww), (sh, sw) = pair(window, "window"), pair(stride, "stride")
    total = np.zeros(size, dtype=np.float64)
    count = np.zeros(size, dtype=np.float64)
    for i, t in enumerate(positions(size[0], wh, sh)):
        for j, l in enumerate(positions(size[1], ww, sw)):
            total[t : t + wh, l : l + ww] += grid[i, j]
            count[t : t + wh, l : l + ww] += 1
    return (total / np.maximum(count, 1)).astype(grid.dtype)
