"""§9.5 Variants of the basic convolution function.

Padding, stride, unshared (locally connected) and tiled convolution, and the three
operations back-propagation needs: the forward convolution, its gradient with
respect to the kernel, and its gradient with respect to the input.

>>> [row.measured for row in output_sizes("smoke").rows if row.kernel == 3]
[26, 28, 30]
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
    images,
    pick,
    seeded,
)
from convscope.finite_differences import gradcheck
from convscope.nn import functional as F
from convscope.tensor import Tensor

# --------------------------------------------------------------------------- padding


@dataclass
class SizeRow:
    kernel: int
    padding: str  # valid, same or full
    pixels: tuple[int, int]  # zeros added (before, after) along each axis
    formula: str
    predicted: int
    measured: int  # F.conv2d's output size


@dataclass
class OutputSizeResult(Result):
    input_size: int
    rows: list[SizeRow]


def output_sizes(scale: str = "full", size: int = 28) -> OutputSizeResult:
    """Valid, same and full padding: the output-size formula and ``F.conv2d``'s output."""
    check_scale(scale, "output_sizes")
    x = Tensor(np.zeros((1, 1, size, size), dtype=np.float32))
    rows = []
    for k in (3, 5):
        w = Tensor(np.zeros((1, 1, k, k), dtype=np.float32))
        cases = [
            ("valid", 0, (0, 0), f"n − k + 1 = {size} − {k} + 1", size - k + 1),
            ("same", "same", ((k - 1) // 2, k // 2), f"n = {size}", size),
            ("full", k - 1, (k - 1, k - 1), f"n + k − 1 = {size} + {k} − 1", size + k - 1),
        ]
        for name, padding, pixels, formula, predicted in cases:
            measured = F.conv2d(x, w, padding=padding).shape[-1]
            rows.append(SizeRow(k, name, pixels, formula, predicted, measured))
    return OutputSizeResult(input_size=size, rows=rows)


# --------------------------------------------------------------------------- stride


@dataclass
class StrideResult(Result):
    stride: int
    max_difference: float  # conv2d(x, stride=s) vs conv2d(x)[..., ::s, ::s]
    output_shape: tuple[int, ...]
    multiplies_strided: int
    multiplies_full_then_subsampled: int


def stride_as_subsampling(scale: str = "full", seed: int = 0) -> StrideResult:
    """A stride-s convolution equals the stride-1 convolution keeping every s-th output."""
    check_scale(scale, "stride_as_subsampling")
    x, _ = images("fashion-mnist", "test", pick(scale, 64, 8), seed)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    s = 2
    strided = F.conv2d(Tensor(x), Tensor(w), stride=s, padding=1).numpy()
    full = F.conv2d(Tensor(x), Tensor(w), padding=1).numpy()
    per_output = w[0].size  # multiplies per output value
    return StrideResult(
        stride=s,
        max_difference=float(np.abs(strided - full[..., ::s, ::s]).max()),
        output_shape=strided.shape[1:],
        multiplies_strided=int(np.prod(strided.shape[1:])) * per_output,
        multiplies_full_then_subsampled=int(np.prod(full.shape[1:])) * per_output,
    )


# --------------------------------------------------------------------------- unshared, tiled


@dataclass
class SharingVariantsResult(Result):
    samples: int
    epochs: int
    layers: list[str]
    parameters: list[int]  # of the whole network
    layer_parameters: list[int]  # of the first (variant) layer
    accuracy: list[float]


def _variant_net(kind: str) -> nn.Sequential:
    """16 filters of 5×5 (conv, tiled 2×2, or locally connected), ReLU, 2×2 pool, linear."""
    if kind == "Conv2d":
        first: nn.Module = nn.Conv2d(1, 16, 5)
    elif kind == "TiledConv2d":
        first = nn.TiledConv2d(1, 16, 5, tile_size=2)
    else:
        first = nn.LocallyConnected2d(1, 16, 5, input_size=28)
    return nn.Sequential(first, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2304, 10))


def unshared_and_tiled(scale: str = "full", seed: int = 0) -> SharingVariantsResult:
    """Locally connected vs tiled vs ordinary convolution: parameters and test accuracy."""
    check_scale(scale, "unshared_and_tiled")
    n, epochs = pick(scale, (6000, 2), (300, 1))
    x, y = images("fashion-mnist", "train", n, seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 200), seed)
    kinds = ["LocallyConnected2d", "TiledConv2d", "Conv2d"]
    params, first, acc = [], [], []
    for kind in kinds:
        seeded(seed)
        model = fit_quietly(_variant_net(kind), x, y, epochs)
        params.append(model.num_parameters())
        first.append(model[0].num_parameters())
        acc.append(accuracy(model, x_test, y_test))
    return SharingVariantsResult(
        samples=n,
        epochs=epochs,
        layers=kinds,
        parameters=params,
        layer_parameters=first,
        accuracy=acc,
    )


# --------------------------------------------------------------------------- three operations


@dataclass
class GradcheckRow:
    operation: str
    max_abs_error: float
    max_rel_error: float
    ok: bool


@dataclass
class ThreeOperationsResult(Result):
    rows: list[GradcheckRow]


def three_operations(scale: str = "full", seed: int = 0) -> ThreeOperationsResult:
    """Finite differences (float64) confirm the gradients w.r.t. kernel and input.

    Forward, ``∂L/∂kernel`` and ``∂L/∂input`` are all a conv net needs to train;
    each is checked for ``conv2d`` (stride 2, padding 1), and for the new
    locally connected and tiled operations.
    """
    check_scale(scale, "three_operations")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 7, 7))
    w = rng.standard_normal((3, 2, 3, 3))
    local_w = rng.standard_normal((4, 4, 3, 2, 3, 3))
    tiled_w = rng.standard_normal((2, 2, 3, 2, 3, 3))
    rows = []
    conv = lambda a, k: F.conv2d(a, k, stride=2, padding=1)  # noqa: E731
    local = lambda a, k: F.locally_connected2d(a, k, stride=2, padding=1)  # noqa: E731
    # (name, op, kernel, input requires grad, kernel requires grad)
    cases: list[tuple[str, Any, np.ndarray, bool, bool]] = [
        ("conv2d, ∂L/∂kernel", conv, w, False, True),
        ("conv2d, ∂L/∂input", conv, w, True, False),
        ("locally_connected2d, ∂L/∂kernel and ∂L/∂input", local, local_w, True, True),
        ("tiled_conv2d, ∂L/∂kernel and ∂L/∂input", F.tiled_conv2d, tiled_w, True, True),
    ]
    for name, fn, kernel, input_grad, kernel_grad in cases:
        inputs = (Tensor(x, requires_grad=input_grad), Tensor(kernel, requires_grad=kernel_grad))
        result = gradcheck(fn, *inputs, raise_exception=False, seed=seed)
        rows.append(GradcheckRow(name, result.max_abs_error, result.max_rel_error, result.ok))
    return ThreeOperationsResult(rows=rows)
