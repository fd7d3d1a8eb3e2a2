"""§9.6 Structured outputs: a classifier made fully convolutional gives a map of classes.

A fully connected layer reading a ``C×h×w`` feature map is a convolution with
``h×w`` kernels and no padding: ``Linear(C·h·w, K)`` has the weights of
``Conv2d(C, K, (h, w))``, reshaped (Flatten orders features ``(c, y, x)``, the
kernel's layout). Later ``Linear`` layers become 1×1 convolutions. On a 28×28 image
the converted network outputs a 1×1 map — the classifier's logits; on a larger
canvas it slides the whole classifier over the canvas and outputs one class score
vector per location, computed with shared work (Goodfellow et al. §9.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope import nn
from convscope.experiments._common import Result, check_scale, forward, images, pick
from convscope.experiments.history import trained_lenet5


def fully_convolutional(model: nn.Sequential, input_shape=(1, 28, 28)) -> nn.Sequential:
    """``model`` with Flatten removed and every Linear turned into the equivalent convolution.

    The first Linear after Flatten becomes a ``Conv2d`` whose kernel covers the whole
    feature map it read; every later Linear a 1×1 convolution. Weights are copied.
    """
    layers = list(model)
    at = next(i for i, layer in enumerate(layers) if isinstance(layer, nn.Flatten))
    features = nn.Sequential(*layers[:at])
    channels = None
    converted: list[nn.Module] = list(layers[:at])  # the same layer objects, not copies
    for layer in layers[at + 1 :]:
        if isinstance(layer, nn.Linear):
            if channels is None:  # the layer reading the flattened (C, h, w) map
                channels, *kernel = _map_shape(features, input_shape)
            else:
                kernel, channels = (1, 1), layer.in_features
            conv = nn.Conv2d(channels, layer.out_features, tuple(kernel))
            conv.weight.data[...] = layer.weight.data.reshape(conv.weight.shape)  # (K, C, h, w)
            conv.bias.data[...] = layer.bias.data
            converted.append(conv)
        else:
            converted.append(layer)
    return nn.Sequential(*converted)


def _map_shape(features: nn.Module, input_shape) -> tuple[int, int, int]:
    out = forward(features, np.zeros((1, *input_shape), dtype=np.float32))
    return tuple(out.shape[1:])


@dataclass
class StructuredResult(Result):
    canvas_size: int
    map_size: tuple[int, int]
    map_stride: int  # pixels between neighbouring map locations
    canvases: int
    digits: int
    single_image_difference: float  # the converted net on one 28×28 image vs the classifier
    logit_difference: float  # map at a digit's location vs the classifier on that digit alone
    classifier_accuracy: float  # on the same digits, one 28×28 image each
    map_accuracy: float  # argmax of the map at each digit's location
    example_map: list[list[int]]  # argmax class per location, first canvas
    example_digits: list[int]  # the four digits on it (top-left, top-right, ...)


def class_map(scale: str = "full", seed: int = 0) -> StructuredResult:
    """LeNet-5, trained on 28×28 digits, run fully convolutionally on 56×56 canvases of 4."""
    check_scale(scale, "class_map")
    model, _, _ = trained_lenet5(scale, seed)
    fcn = fully_convolutional(model)
    canvases = pick(scale, 100, 5)
    x, y = images("mnist-5k", "test", 4 * canvases, seed)
    order = np.random.default_rng(seed).permutation(len(x))  # the split is sorted by class
    x, y = x[order], y[order]
    canvas = np.zeros((canvases, 1, 56, 56), dtype=np.float32)
    corners = [(0, 0), (0, 28), (28, 0), (28, 28)]
    for q, (top, left) in enumerate(corners):
        canvas[:, :, top : top + 28, left : left + 28] = x[q::4]
    maps = forward(fcn, canvas)  # (canvases, 10, 8, 8)
    stride = 4  # two 2×2 poolings: map location (i, j) is the 28×28 window at (4i, 4j)
    logits = forward(model, x)  # (4·canvases, 10)
    single = forward(fcn, x)[:, :, 0, 0]  # a 1×1 map per 28×28 image: (4·canvases, 10)
    at = [maps[:, :, top // stride, left // stride] for top, left in corners]  # 4 × (canvases, 10)
    located = np.stack(at, axis=1).reshape(-1, 10)  # (canvases·4, 10) in the order of x
    return StructuredResult(
        canvas_size=56,
        map_size=maps.shape[-2:],
        map_stride=stride,
        canvases=canvases,
        digits=len(x),
        single_image_difference=float(np.abs(single - logits).max()),
        logit_difference=float(np.abs(located - logits).max()),
        classifier_accuracy=float((logits.argmax(1) == y).mean()),
        map_accuracy=float((located.argmax(1) == y).mean()),
        example_map=maps[0].argmax(0).tolist(),
        example_digits=[int(v) for v in y[:4]],
        figure=_figure(canvas[0, 0], maps[0]),
    )


def _figure(canvas: np.ndarray, scores: np.ndarray) -> Any:
    from convscope.viz._mpl import new_figure

    fig = new_figure(6.4, 3.0)
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(canvas, cmap="gray")
    ax.set_title("56×56 canvas", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(1, 2, 2)
    exp = np.exp(scores - scores.max(0))
    probs = exp / exp.sum(0)
    ax.imshow(probs.max(0), cmap="Greens", vmin=0, vmax=1)
    for i in range(scores.shape[1]):
        for j in range(scores.shape[2]):
            ax.text(j, i, str(scores[:, i, j].argmax()), ha="center", va="center", fontsize=7)
    ax.set_title("class per location (shade: softmax max)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
