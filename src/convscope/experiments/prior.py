"""§9.4 Convolution and pooling as an infinitely strong prior.

A convolutional layer is a fully connected layer whose weights are forced to be
zero outside a small window and equal across locations: a prior that puts zero
probability on every other weight matrix. Pooling adds a prior of invariance to
small translations. When the prior is right (nearby pixels matter together, the
same feature can appear anywhere) it saves data; when it is wrong it hurts.
This experiment trains a CNN, a fully connected MLP, a locally connected network
(the CNN's layout without sharing) and an all-convolutional CNN (global average
pooling instead of a classifier over positions) on growing training sets, then again
after scrambling the pixels with one fixed permutation. The permutation keeps
all the information (it is invertible) but destroys the spatial neighbourhoods the
convolution's prior assumes; to an MLP, which treats pixels as an unordered
vector, both versions are the same problem.
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
    mlp,
    pick,
    seeded,
    small_cnn,
)


def local_net() -> nn.Sequential:
    """:func:`small_cnn` with each Conv2d replaced by a LocallyConnected2d (no sharing)."""
    return nn.Sequential(
        nn.LocallyConnected2d(1, 8, 3, input_size=28, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.LocallyConnected2d(8, 16, 3, input_size=14, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )


def all_conv_net() -> nn.Sequential:
    """:func:`small_cnn`'s convolutions, a third one, then global average pooling: no layer
    sees positions, so the prior of shared local features is all it has."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )


# name -> (builder, Adam learning rate); global pooling learns slowly at 1e-3.
BUILDERS = {
    "CNN": (small_cnn, 1e-3),
    "MLP": (mlp, 1e-3),
    "locally connected": (local_net, 1e-3),
    "all-convolutional CNN": (all_conv_net, 3e-3),
}


@dataclass
class PriorResult(Result):
    sizes: list[int]
    min_samples: int  # every model sees at least this many examples (epochs × size)
    epochs: list[int]  # per size
    test_images: int
    models: list[str]
    parameters: dict[str, int]
    accuracy: dict[str, list[float]]  # per model, per training-set size
    permuted_accuracy: dict[str, list[float]]  # the same with pixels permuted
    permutation_cost: dict[str, float]  # accuracy lost to the permutation, largest set
    cnn_minus_mlp: list[float]  # CNN accuracy − MLP accuracy, natural pixels, per size


def strong_prior(scale: str = "full", seed: int = 0) -> PriorResult:
    """CNN vs MLP vs locally connected net, natural and pixel-permuted Fashion-MNIST."""
    check_scale(scale, "strong_prior")
    sizes, min_samples = pick(scale, ([500, 2000, 10000, 60000], 20000), ([100, 400], 800))
    x_all, y_all = images("fashion-mnist", "train", sizes[-1], seed)
    x_test, y_test = images("fashion-mnist", "test", pick(scale, 2000, 200), seed)
    permutation = np.random.default_rng(seed).permutation(28 * 28)

    def scramble(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)[:, permutation].reshape(x.shape)  # (N, 784) -> (N,1,28,28)

    order = np.random.default_rng(seed + 1).permutation(len(x_all))  # nested subsets
    epochs = [max(1, round(min_samples / n)) for n in sizes]
    acc: dict[str, list[float]] = {name: [] for name in BUILDERS}
    permuted: dict[str, list[float]] = {name: [] for name in BUILDERS}
    params = {}
    for n, e in zip(sizes, epochs, strict=True):
        x, y = x_all[order[:n]], y_all[order[:n]]
        for name, (build, lr) in BUILDERS.items():
            for data, test, out in ((x, x_test, acc), (scramble(x), scramble(x_test), permuted)):
                seeded(seed)
                model = fit_quietly(build(), data, y, e, lr=lr)
                out[name].append(accuracy(model, test, y_test))
                params[name] = model.num_parameters()
    return PriorResult(
        sizes=sizes,
        min_samples=min_samples,
        epochs=epochs,
        test_images=len(x_test),
        models=list(BUILDERS),
        parameters=params,
        accuracy=acc,
        permuted_accuracy=permuted,
        permutation_cost={name: acc[name][-1] - permuted[name][-1] for name in BUILDERS},
        cnn_minus_mlp=[c - m for c, m in zip(acc["CNN"], acc["MLP"], strict=True)],
        figure=_figure(sizes, acc, permuted),
    )


def _figure(sizes: list[int], acc: dict, permuted: dict) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(8.0, 3.0)
    for i, (title, table) in enumerate((("natural pixels", acc), ("pixels permuted", permuted))):
        ax = fig.add_subplot(1, 2, i + 1)
        for (name, values), style in zip(table.items(), ("o-", "s--", "^:", "d-."), strict=True):
            ax.semilogx(sizes, values, style, label=name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("training images")
        ax.set_ylim(0.2, 0.95)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.set_ylabel("test accuracy")
            ax.legend(fontsize=7)
    return fig
