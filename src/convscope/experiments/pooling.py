"""§9.3 Pooling: approximate invariance to small translations, measured.

Max pooling reports the largest detector response in each window; shift the input
by one pixel and the maximum often stays in the same window, so the pooled value
does not change. The detector maps themselves *move* with the input (they are
equivariant, §9.2), so in place almost every one of their values changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope import nn
from convscope.experiments._common import (
    Result,
    accuracy,
    check_scale,
    fit_quietly,
    forward,
    images,
    pick,
    seeded,
    shift,
    small_cnn,
)
from convscope.nn import functional as F
from convscope.tensor import Tensor


@dataclass
class InvarianceResult(Result):
    shifts: list[int]
    pool_sizes: list[int]  # 1 means no pooling
    unchanged: dict[int, list[float]]  # pool size -> fraction of active units unchanged, per shift
    relative_change: dict[int, list[float]]  # pool size -> ||f(shift x) − f(x)|| / ||f(x)||
    avg_relative_change: list[float]  # the same after 2×2 average pooling, per shift


def _changes(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    active = (a > 0) | (b > 0)
    same = np.abs(a - b) <= 1e-6 * max(float(np.abs(a).max()), 1e-12)
    return float(same[active].mean()), float(np.linalg.norm(a - b) / np.linalg.norm(a))


def pooling_invariance(scale: str = "full", seed: int = 0) -> InvarianceResult:
    """Shift test images 1–3 px right; how much do detector and pooled units change?

    The detector stage is the first conv + ReLU of a CNN trained on Fashion-MNIST;
    it is followed by max pooling over 2×2 or 4×4 windows (stride = window).
    """
    check_scale(scale, "pooling_invariance")
    n, epochs = pick(scale, (4000, 1), (200, 1))
    x, y = images("fashion-mnist", "train", n, seed)
    seeded(seed)
    model = fit_quietly(small_cnn(), x, y, epochs)
    x_test, _ = images("fashion-mnist", "test", pick(scale, 500, 50), seed)
    detector = nn.Sequential(model[0], model[1])
    base = forward(detector, x_test)
    shifts, sizes = [1, 2, 3], [1, 2, 4]
    unchanged: dict[int, list[float]] = {s: [] for s in sizes}
    relative: dict[int, list[float]] = {s: [] for s in sizes}
    averaged = []
    for k in shifts:
        moved = forward(detector, shift(x_test, 0, k))
        for size in sizes:
            a, b = base, moved
            if size > 1:
                a = F.max_pool2d(Tensor(base), size).numpy()
                b = F.max_pool2d(Tensor(moved), size).numpy()
            same, change = _changes(a, b)
            unchanged[size].append(same)
            relative[size].append(change)
        a, b = (F.avg_pool2d(Tensor(m), 2).numpy() for m in (base, moved))
        averaged.append(_changes(a, b)[1])
    return InvarianceResult(
        shifts=shifts,
        pool_sizes=sizes,
        unchanged=unchanged,
        relative_change=relative,
        avg_relative_change=averaged,
    )


@dataclass
class ShiftedAccuracyResult(Result):
    samples: int
    epochs: int
    shifts: list[int]
    pooled: list[float]  # test accuracy of the CNN with two 2×2 max-pools, per shift
    unpooled: list[float]  # the same CNN without pooling
    pooled_drop: float  # accuracy lost from 0 to the largest shift
    unpooled_drop: float


def shifted_test_accuracy(scale: str = "full", seed: int = 0) -> ShiftedAccuracyResult:
    """Test accuracy on test sets shifted 0–3 px, CNN with and without max pooling.

    Both nets have the same two 3×3 conv layers; without pooling the classifier
    reads 28×28 maps instead of 7×7 ones.
    """
    check_scale(scale, "shifted_test_accuracy")
    n, epochs = pick(scale, (6000, 2), (1000, 2))
    x, y = images("fashion-mnist", "train", n, seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 300), seed)
    shifts = [0, 1, 2, 3]
    results = {}
    for pool in (True, False):
        seeded(seed)
        model = fit_quietly(small_cnn(pool=pool), x, y, epochs)
        results[pool] = [accuracy(model, shift(x_test, 0, k), y_test) for k in shifts]
    return ShiftedAccuracyResult(
        samples=n,
        epochs=epochs,
        shifts=shifts,
        pooled=results[True],
        unpooled=results[False],
        pooled_drop=results[True][0] - results[True][-1],
        unpooled_drop=results[False][0] - results[False][-1],
        figure=_figure(shifts, results),
    )


def _figure(shifts: list[int], results: dict[bool, list[float]]) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(4.5, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(shifts, results[True], "o-", label="conv + 2×2 max pooling")
    ax.plot(shifts, results[False], "s--", label="conv, no pooling")
    ax.set_xlabel("test images shifted right by (px)")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(shifts)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
