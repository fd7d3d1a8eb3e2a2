"""What every experiment shares: the scale argument, data subsets, training, shifting.

Every experiment takes ``scale="full"`` (the numbers printed in the guide) or
``scale="smoke"`` (the same code on tiny data, seconds, for the tests) and seeds
convscope's generator itself, so calling it twice gives the same result.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope import nn, optim, train
from convscope.data import load_dataset
from convscope.random import manual_seed
from convscope.tensor import Tensor, no_grad

SCALES = ("full", "smoke")


def check_scale(scale: str, experiment: str) -> str:
    """``scale`` if it is ``"full"`` or ``"smoke"``, else a ValueError naming the experiment."""
    if scale not in SCALES:
        raise ValueError(
            f"{experiment} expected scale='full' or scale='smoke'; received scale={scale!r}."
        )
    return scale


def pick(scale: str, full: Any, smoke: Any) -> Any:
    """The value for this scale."""
    return full if scale == "full" else smoke


@dataclass
class Result:
    """Base of every experiment's result: its numbers as fields, plus an optional figure."""

    figure: Any = field(default=None, repr=False, compare=False, kw_only=True)


@functools.lru_cache(maxsize=4)
def _dataset(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    ds = load_dataset(name, split)
    return ds.images, ds.labels


def images(
    name: str, split: str, count: int | None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images of a dataset split (all with None), floats in [0, 1], and labels.

    The subset is a fixed random draw (private generator seeded with ``seed``), so it
    does not depend on, nor disturb, convscope's generator.

    Returns:
        x float32 ``(count, 1, 28, 28)``, y int64 ``(count,)``.
    """
    raw, labels = _dataset(name, split)
    if count is not None and count < len(raw):
        index = np.sort(np.random.default_rng(seed).permutation(len(raw))[:count])
        raw, labels = raw[index], labels[index]
    return raw.astype(np.float32) / 255.0, labels


def fit_quietly(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    *,
    batch_size: int = 64,
    lr: float = 1e-3,
    parameters: Any = None,
) -> nn.Module:
    """Train with Adam(lr) and cross-entropy, no output; ``parameters`` default: all."""
    params = model.parameters() if parameters is None else parameters
    train.fit(
        model,
        (x, y),
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optim.Adam(params, lr=lr),
        verbose=0,
    )
    return model


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy of ``model`` (evaluation mode, no graph)."""
    return float(train.evaluate(model, (x, y), batch_size=500, loss=None)["accuracy"])


def forward(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """``model(x)`` as an array, in evaluation mode and without a graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return model(Tensor(x)).numpy()
    finally:
        model.train(was_training)


def small_cnn(channels: tuple[int, int] = (8, 16), pool: bool = True, classes: int = 10):
    """conv(3×3)–ReLU–[pool]–conv(3×3)–ReLU–[pool]–linear: the guide's workhorse CNN.

    Without pooling the convolutions use stride 1 throughout and the classifier
    sees the full-resolution maps.
    """
    c1, c2 = channels
    layers: list[nn.Module] = [nn.Conv2d(1, c1, 3, padding=1), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    side = 7 if pool else 28
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c2 * side * side, classes))


def mlp(hidden: int = 256, classes: int = 10, inputs: int = 784) -> nn.Sequential:
    """Flatten–linear–ReLU–linear: the fully connected baseline."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes)
    )


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate ``(..., H, W)`` images by ``(dy, dx)`` pixels, filling with zeros.

    >>> shift(np.arange(4.0).reshape(1, 4), 0, 1)
    array([[0., 0., 1., 2.]])
    """
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    src_y = slice(max(-dy, 0), h - max(dy, 0))
    dst_y = slice(max(dy, 0), h - max(-dy, 0))
    src_x = slice(max(-dx, 0), w - max(dx, 0))
    dst_x = slice(max(dx, 0), w - max(-dx, 0))
    out[..., dst_y, dst_x] = x[..., src_y, src_x]
    return out


def seeded(seed: int) -> None:
    """Seed convscope's generator (initialisation, shuffling, dropout)."""
    manual_seed(seed)
