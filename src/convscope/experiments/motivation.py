"""§9.2 Motivation: sparse interactions, parameter sharing, equivariance to translation.

>>> r = receptive_fields("smoke")
>>> r.conv_only[:3], r.with_pooling[:3]
([3, 5, 7], [3, 4, 8])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope import nn
from convscope.experiments._common import Result, check_scale, forward, images, seeded, shift

# --------------------------------------------------------------------------- sparse interactions


@dataclass
class ReceptiveFieldResult(Result):
    depth: list[int]
    conv_only: list[int]  # receptive field (pixels per side) after each 3×3 conv
    with_pooling: list[int]  # after each layer of conv, pool, conv, pool, ...
    with_pooling_layers: list[str]


def receptive_fields(scale: str = "full") -> ReceptiveFieldResult:
    """How far one unit sees, layer by layer, read from ``summary`` (no training)."""
    check_scale(scale, "receptive_fields")
    depth = 5
    convs = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(depth)])
    rows = nn.summary(convs, (1, 28, 28)).rows
    conv_only = [row["receptive_field"][0] for row in rows]
    layers: list[nn.Module] = []
    for _ in range(3):
        layers += [nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2)]
    rows = nn.summary(nn.Sequential(*layers), (1, 28, 28)).rows
    return ReceptiveFieldResult(
        depth=list(range(1, depth + 1)),
        conv_only=conv_only,
        with_pooling=[row["receptive_field"][0] for row in rows],
        with_pooling_layers=[type(layer).__name__ for layer in layers],
    )


# --------------------------------------------------------------------------- parameter sharing


@dataclass
class SharingResult(Result):
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    dense_parameters: int
    local_parameters: int
    conv_parameters: int
    dense_multiplies: int
    conv_multiplies: int


def parameter_sharing(scale: str = "full") -> SharingResult:
    """Weights needed to map a 28×28 image to 32 maps of 26×26: dense vs local vs conv.

    The counts come from building the three layers; the dense one has ~17 M weights.
    """
    check_scale(scale, "parameter_sharing")
    seeded(0)
    conv = nn.Conv2d(1, 32, 3)
    local = nn.LocallyConnected2d(1, 32, 3, input_size=28)
    outputs = 32 * 26 * 26
    dense = nn.Linear(28 * 28, outputs)
    table = nn.summary(nn.Sequential(conv), (1, 28, 28))
    return SharingResult(
        input_shape=(1, 28, 28),
        output_shape=(32, 26, 26),
        dense_parameters=dense.num_parameters(),
        local_parameters=local.num_parameters(),
        conv_parameters=conv.num_parameters(),
        dense_multiplies=28 * 28 * outputs,
        conv_multiplies=int(table.rows[0]["mult_adds"]),
    )


# --------------------------------------------------------------------------- equivariance


@dataclass
class EquivarianceResult(Result):
    shifts: list[int]
    interior_error: list[float]  # max |f(shift x) − shift f(x)| away from the borders
    border_error: list[float]  # the same on the border band, where zero padding differs
    map_scale: float  # max |f(x)|, to read the errors against
    rotation_error: float  # relative error of f(rot90 x) vs rot90 f(x)
    scaling_error: float  # relative error of f(upsample x) vs upsample f(x)


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def equivariance(scale: str = "full", seed: int = 0) -> EquivarianceResult:
    """Shift the input by k pixels: a conv–ReLU–conv stack's maps shift by k.

    ``f`` is two 3×3 convolutions (padding 1) with a ReLU between, random weights.
    Shifting commutes with ``f`` exactly except within ``k + 2`` pixels of the
    border (zero padding and pixels pushed out of the frame). Rotating the image by
    90° or doubling its size does not commute with ``f``: convolution is equivariant
    to translation only.
    """
    check_scale(scale, "equivariance")
    x, _ = images("fashion-mnist", "test", 64 if scale == "full" else 8, seed)
    seeded(seed)
    f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    fx = forward(f, x)
    shifts, interior, border = [1, 2, 3], [], []
    for k in shifts:
        diff = np.abs(forward(f, shift(x, k, k)) - shift(fx, k, k))
        band = k + 2  # pixels pushed out, plus the stack's radius of 2
        inside = np.zeros(diff.shape[-2:], dtype=bool)
        inside[band:-band, band:-band] = True
        interior.append(float(diff[..., inside].max()))
        border.append(float(diff[..., ~inside].max()))
    rotated = _relative(forward(f, np.rot90(x, axes=(2, 3)).copy()), np.rot90(fx, axes=(2, 3)))
    big = x.repeat(2, axis=2).repeat(2, axis=3)
    scaled = _relative(forward(f, big), fx.repeat(2, axis=2).repeat(2, axis=3))
    return EquivarianceResult(
        shifts=shifts,
        interior_error=interior,
        border_error=border,
        map_scale=float(np.abs(fx).max()),
        rotation_error=rotated,
        scaling_error=scaled,
        figure=_equivariance_figure(f, x[0], fx[0]),
    )


def _equivariance_figure(f: nn.Module, image: np.ndarray, fmap: np.ndarray) -> Any:
    from convscope.viz._mpl import new_figure

    k = 3
    moved = forward(f, shift(image[None], k, k))[0]
    panels = [
        ("image x", image[0]),
        (f"x shifted by {k} px", shift(image, k, k)[0]),
        ("f(x), channel 0", fmap[0]),
        ("f(shifted x), channel 0", moved[0]),
        ("f(shifted x) − shift(f(x))", moved[0] - shift(fmap, k, k)[0]),
    ]
    fig = new_figure(9.0, 2.2)
    for i, (title, panel) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        limit = np.abs(fmap[0]).max() if i == 4 else None
        cmap = "RdBu_r" if i == 4 else "gray"
        ax.imshow(panel, cmap=cmap, vmin=-limit if limit else None, vmax=limit)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    return fig
