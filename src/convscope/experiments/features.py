"""§9.9 Random or unsupervised features: how much does learning the filters buy?

One conv layer (32 filters of 5×5), ReLU, 2×2 max pooling, then a linear
classifier. Its filters are either learned with the classifier (full training),
drawn at random and frozen, or set to k-means centroids of normalised image
patches (Coates et al., 2011) and frozen; with frozen filters only the linear
classifier is trained. A linear classifier on the raw pixels is the floor.
"""

from __future__ import annotations

import functools
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
)

FILTERS, KERNEL = 32, 5


def feature_cnn() -> nn.Sequential:
    """conv(32, 5×5, padding 2)–ReLU–max pool 2–flatten–linear(6272, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, FILTERS, KERNEL, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(FILTERS * 14 * 14, 10),
    )


def _budget(scale: str) -> tuple[int, int]:
    return pick(scale, (8000, 3), (400, 1))


@functools.lru_cache(maxsize=2)
def trained_feature_cnn(scale: str, seed: int = 0) -> nn.Sequential:
    """:func:`feature_cnn` fully trained on Fashion-MNIST (cached: §9.10 reads its filters)."""
    n, epochs = _budget(scale)
    x, y = images("fashion-mnist", "train", n, seed)
    seeded(seed)
    model = fit_quietly(feature_cnn(), x, y, epochs)
    model.eval()
    return model


def kmeans_filters(
    x: np.ndarray, k: int, size: int, patches: int, iterations: int, seed: int
) -> np.ndarray:
    """k-means centroids of contrast-normalised ``size×size`` patches of ``x``.

    Each patch has its mean removed and is scaled to unit norm (patches of empty
    background are skipped), so the centroids are edge and stroke detectors.

    Returns:
        ``(k, 1, size, size)`` filters of unit norm, dtype of ``x``.
    """
    rng = np.random.default_rng(seed)
    n, _, h, w = x.shape
    rows = rng.integers(0, h - size + 1, patches)
    cols = rng.integers(0, w - size + 1, patches)
    which = rng.integers(0, n, patches)
    offsets = np.arange(size)
    data = x[which[:, None, None], 0, rows[:, None, None] + offsets[None, :, None],
             cols[:, None, None] + offsets[None, None, :]]  # fmt: skip  # (P, size, size)
    data = data.reshape(patches, -1)  # (P, size²)
    data = data - data.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(data, axis=1)
    data = data[norms > 0.1] / norms[norms > 0.1, None]
    centroids = data[rng.choice(len(data), k, replace=False)]
    for _ in range(iterations):
        # nearest centroid by cosine (all unit norm): argmax of the dot product
        assign = (data @ centroids.T).argmax(axis=1)
        for c in range(k):
            members = data[assign == c]
            if len(members):
                centroids[c] = members.mean(axis=0)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-8)
    return centroids.reshape(k, 1, size, size).astype(x.dtype)


@dataclass
class FeaturesResult(Result):
    samples: int
    epochs: int
    names: list[str]
    accuracy: list[float]
    trained_parameters: list[int]  # parameters learned by gradient descent
    chance: float


def _frozen(model: nn.Sequential, x, y, x_test, y_test, epochs: int) -> float:
    """Train only the classifier: features computed once, then a linear layer on them."""
    trunk = nn.Sequential(*list(model)[:3])  # conv, ReLU, pool: (N, 32, 14, 14) maps
    head = nn.Sequential(model[3], model[4])  # flatten, linear
    fit_quietly(head, forward(trunk, x), y, epochs)
    return accuracy(nn.Sequential(trunk, head), x_test, y_test)


def random_features(scale: str = "full", seed: int = 0) -> FeaturesResult:
    """Learned vs random frozen vs k-means frozen filters, and raw pixels, same classifier."""
    check_scale(scale, "random_features")
    n, epochs = _budget(scale)
    x, y = images("fashion-mnist", "train", n, seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 200), seed)
    names, acc, trained = [], [], []

    names.append("learned filters (full training)")
    learned = trained_feature_cnn(scale, seed)
    acc.append(accuracy(learned, x_test, y_test))
    trained.append(learned.num_parameters())

    seeded(seed)
    random_model = feature_cnn()
    names.append("random filters, frozen")
    acc.append(_frozen(random_model, x, y, x_test, y_test, epochs))
    trained.append(random_model[4].num_parameters())

    seeded(seed)
    kmeans_model = feature_cnn()
    kmeans_model[0].weight.data[...] = kmeans_filters(x, FILTERS, KERNEL, 20000, 10, seed)
    kmeans_model[0].bias.data[...] = 0.0
    names.append("k-means filters, frozen")
    acc.append(_frozen(kmeans_model, x, y, x_test, y_test, epochs))
    trained.append(kmeans_model[4].num_parameters())

    seeded(seed)
    pixels = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    fit_quietly(pixels, x, y, epochs)
    names.append("raw pixels, linear only")
    acc.append(accuracy(pixels, x_test, y_test))
    trained.append(pixels.num_parameters())

    figure = _figure(
        [learned[0].weight.data, random_model[0].weight.data, kmeans_model[0].weight.data],
        ["learned", "random", "k-means"],
    )
    return FeaturesResult(
        samples=n,
        epochs=epochs,
        names=names,
        accuracy=acc,
        trained_parameters=trained,
        chance=0.1,
        figure=figure,
    )


def _figure(banks: list[np.ndarray], titles: list[str]) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(8.0, 3.2)
    for row, (bank, title) in enumerate(zip(banks, titles, strict=True)):
        for i in range(16):
            ax = fig.add_subplot(3, 16, row * 16 + i + 1)
            kernel = bank[i, 0]
            limit = float(np.abs(kernel).max()) or 1.0
            ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(title, fontsize=8)
    return fig
