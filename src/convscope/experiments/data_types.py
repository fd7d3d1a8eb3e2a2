"""§9.7 Data types: inputs of varying size, and inputs with several channels.

A convolution's kernel does not depend on the image size, so a network of
convolutions and pooling accepts any size; only a layer with a fixed number of
inputs (``Flatten`` + ``Linear``) pins it. Global average pooling
(``AdaptiveAvgPool2d(1)``) reduces a map of any size to one number per channel,
so the same weights classify images of different sizes; so does global max pooling
(``AdaptiveMaxPool2d(1)``). Accepting an input is not
the same as handling it well: what changes with the size matters (more background
is harmless, a bigger object is a different input to a 3×3 kernel).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    small_cnn,
)
from convscope.nn import functional as F
from convscope.tensor import Tensor


def global_pool_cnn(pool: str = "avg") -> nn.Sequential:
    """conv–ReLU–pool–conv–ReLU–conv–ReLU–global (avg or max) pool–linear: any input size."""
    head = nn.AdaptiveAvgPool2d(1) if pool == "avg" else nn.AdaptiveMaxPool2d(1)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        head,
        nn.Flatten(),
        nn.Linear(32, 10),
    )


def _pad_to(x: np.ndarray, size: int) -> np.ndarray:
    """Centre 28×28 images on a ``size×size`` black canvas (the object keeps its scale)."""
    out = np.zeros((*x.shape[:2], size, size), dtype=x.dtype)
    top = (size - x.shape[-1]) // 2
    out[..., top : top + x.shape[-2], top : top + x.shape[-1]] = x
    return out


@dataclass
class SizeRow:
    input: str
    size: int
    feature_map: tuple[int, int]  # spatial size of the map before global pooling
    accuracy_avg: float  # global average pooling
    accuracy_max: float  # global max pooling


@dataclass
class VariableSizeResult(Result):
    samples: int
    epochs: int
    rows: list[SizeRow]
    flatten_error: str  # what a Flatten+Linear CNN says when given a 36×36 image


def variable_size_inputs(scale: str = "full", seed: int = 0) -> VariableSizeResult:
    """One set of weights (trained on 28×28) evaluated on 14×14 to 56×56 inputs."""
    check_scale(scale, "variable_size_inputs")
    n, epochs = pick(scale, (5000, 3), (300, 1))
    x, y = images("fashion-mnist", "train", n, seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 100), seed)
    models = {}
    for pool in ("avg", "max"):
        seeded(seed)
        models[pool] = fit_quietly(global_pool_cnn(pool), x, y, epochs, lr=3e-3)
    trunk = nn.Sequential(*list(models["avg"])[:7])  # everything before the global pooling
    variants = [
        ("as trained", x_test),
        ("padded to 36×36", _pad_to(x_test, 36)),
        ("padded to 56×56", _pad_to(x_test, 56)),
        ("upsampled ×2 to 56×56", x_test.repeat(2, axis=2).repeat(2, axis=3)),
        ("downsampled ×½ to 14×14", F.avg_pool2d(Tensor(x_test), 2).numpy()),
    ]
    rows = [
        SizeRow(
            name,
            data.shape[-1],
            tuple(forward(trunk, data[:1]).shape[-2:]),
            accuracy(models["avg"], data, y_test),
            accuracy(models["max"], data, y_test),
        )
        for name, data in variants
    ]
    try:
        forward(small_cnn(), _pad_to(x_test[:1], 36))
        message = ""
    except ValueError as error:
        message = str(error)
    return VariableSizeResult(samples=n, epochs=epochs, rows=rows, flatten_error=message)


@dataclass
class ChannelsResult(Result):
    in_channels: int
    out_channels: int
    parameters: int  # C_out · C_in · k² + C_out
    sum_of_single_channel_difference: float  # conv over 3 channels vs Σ_c conv of channel c
    grey_as_rgb_difference: float  # grey image ×3 channels, kernel/3 vs the 1-channel conv


def multichannel(scale: str = "full", seed: int = 0) -> ChannelsResult:
    """A multi-channel convolution sums one 2-D convolution per input channel."""
    check_scale(scale, "multichannel")
    rng = np.random.default_rng(seed)
    x = rng.random((pick(scale, 16, 2), 3, 28, 28), dtype=np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    whole = F.conv2d(Tensor(x), Tensor(w)).numpy()
    by_channel = sum(
        F.conv2d(Tensor(x[:, c : c + 1]), Tensor(w[:, c : c + 1])).numpy() for c in range(3)
    )
    grey = x[:, :1]
    as_rgb = F.conv2d(Tensor(np.repeat(grey, 3, axis=1)), Tensor(np.repeat(w[:, :1], 3, 1) / 3))
    single = F.conv2d(Tensor(grey), Tensor(w[:, :1])).numpy()
    seeded(seed)
    layer = nn.Conv2d(3, 8, 3)
    return ChannelsResult(
        in_channels=3,
        out_channels=8,
        parameters=layer.num_parameters(),
        sum_of_single_channel_difference=float(np.abs(whole - by_channel).max()),
        grey_as_rgb_difference=float(np.abs(as_rgb.numpy() - single).max()),
    )
