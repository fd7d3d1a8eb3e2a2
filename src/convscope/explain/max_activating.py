"""The dataset patches that excite one channel most (Zeiler & Fergus, 2014, figure 2).

For each image, the channel's largest value over all positions (the first in row-major
order on ties); the ``k`` images with the largest such values, largest first (the lower
index first on ties); and for each, the input patch that unit sees — its receptive
field (see :mod:`convscope.explain.receptive_field`), zero where it leaves the image.

>>> import numpy as np
>>> import convscope
>>> from convscope.nn import Conv2d, ReLU, Sequential
>>> convscope.manual_seed(0)
>>> model = Sequential(Conv2d(1, 2, 3), ReLU())
>>> top = max_activating(model, np.ones((5, 1, 6, 6), np.float32), "1", channel=0, k=2)
>>> top["patches"].shape, top["indices"].tolist()
((2, 1, 3, 3), [0, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.data.transforms import to_float
from convscope.explain._trace import find_call, layer_output, trace
from convscope.explain.receptive_field import input_box
from convscope.nn.module import Module


def _images(dataset: Any) -> np.ndarray:
    """(N, C, H, W) images from an array, an (images, labels) pair or a Dataset."""
    images = getattr(dataset, "images", None)
    if images is None:
        images = dataset[0] if isinstance(dataset, tuple) else dataset
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(
            "max_activating expected a dataset of images (N, C, H, W) (an array, an "
            f"(images, labels) pair or a Dataset); received images of shape {images.shape}."
        )
    return images


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``image[:, top:bottom, left:right]`` with zeros where the box leaves the image.

    >>> crop(np.ones((1, 2, 2)), (-1, 0, 1, 2))[0].tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    top, left, bottom, right = box
    out = np.zeros((image.shape[0], bottom - top, right - left), dtype=image.dtype)
    h, w = image.shape[1:]
    t, l, b, r = max(top, 0), max(left, 0), min(bottom, h), min(right, w)
    if t < b and l < r:
        out[:, t - top : b - top, l - left : r - left] = image[:, t:b, l:r]
    return out


def max_activating(
    model: Module,
    dataset: Any,
    layer: str,
    channel: int | None,
    k: int = 9,
    batch_size: int = 256,
) -> dict[str, np.ndarray] | list[dict[str, np.ndarray]]:
    """The ``k`` images of ``dataset`` where ``channel`` of ``layer`` responds most.

    Args:
        model: any model (run in evaluation mode).
        dataset: images (N, C, H, W) uint8 or float, an (images, labels) pair, or a Dataset.
        layer: dotted name of a layer with feature maps (N, C, h, w).
        channel: channel index; None for every channel of the layer (one forward pass).
        k: how many images (fewer when the dataset is smaller).
        batch_size: images per forward pass.

    Returns:
        A dict (a list of them, one per channel, for ``channel=None``) of arrays:
        ``values`` (k,), the activations; ``indices`` (k,), image indices; ``positions``
        (k, 2), the unit's (row, col); ``boxes`` (k, 4), its receptive field
        ``(top, left, bottom, right)`` in the image, unclipped, bottom/right exclusive;
        ``patches`` (k, C, rf_h, rf_w), the image under that box (float in [0, 1]).

    Raises:
        ValueError: unknown layer, a layer without feature maps, a bad channel or k.
    """
    images = _images(dataset)
    calls = trace(model, to_float(images[:1]))
    index = find_call(calls, layer)
    shape = calls[index].output.shape
    if len(shape) != 4:
        raise ValueError(
            f"max_activating expected a layer with feature maps (N, C, H, W); layer {layer!r} "
            f"outputs {shape}."
        )
    valid = isinstance(channel, (int, np.integer)) and 0 <= channel < shape[1]
    if channel is not None and not valid:
        raise ValueError(
            f"max_activating expected channel in [0, {shape[1]}) for layer {layer!r}; "
            f"received channel={channel!r}."
        )
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"max_activating expected k to be an integer >= 1; received k={k!r}.")
    best = np.empty((len(images), shape[1]))  # per image and channel: the largest value
    where = np.empty((len(images), shape[1]), dtype=np.int64)  # and its flat position
    for start in range(0, len(images), batch_size):
        maps = layer_output(model, to_float(images[start : start + batch_size]), layer)
        flat = maps.reshape(maps.shape[0], maps.shape[1], -1)  # (n, C, h·w)
        where[start : start + len(flat)] = flat.argmax(axis=2)
        best[start : start + len(flat)] = flat.max(axis=2)
    channels = range(shape[1]) if channel is None else [int(channel)]
    results = []
    for c in channels:
        order = np.argsort(-best[:, c], kind="stable")[:k]
        rows, cols = np.divmod(where[order, c], shape[3])
        boxes = np.array([input_box(calls, index, r, q) for r, q in zip(rows, cols)])
        results.append({
            "values": best[order, c].astype(calls[index].output.dtype),
            "indices": order,
            "positions": np.stack([rows, cols], axis=1),
            "boxes": boxes,
            "patches": np.stack([crop(to_float(images[i]), b) for i, b in zip(order, boxes)]),
        })  # fmt: skip
    return results if channel is None else results[0]
