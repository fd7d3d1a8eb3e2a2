"""Grids of images: ``plot_images`` (a dataset preview) and ``plot_misclassified``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.viz._arrays import (
    class_names_list,
    display_images,
    gray_range,
    grid_shape,
    label_array,
    label_text,
    numeric_array,
    positive_int,
)
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _image_grid(
    images: np.ndarray,
    rgb: bool,
    titles: list[str] | None,
    *,
    cols: int,
    tile: float,
    title: str | None,
    title_lines: int,
) -> Figure:
    """One tile per image, titled; gray images share one fixed range when they have one."""
    rows, cols = grid_shape(len(images), cols)
    text_height = 0.17 * title_lines if titles else 0.0
    fig = new_figure(
        max(cols * tile + 0.3, 3.0), rows * (tile + text_height) + (0.5 if title else 0.15)
    )
    if title is not None:
        fig.suptitle(title, fontsize=12)
    vmin, vmax = (None, None) if rgb else gray_range(images)
    grid = fig.add_gridspec(rows, cols)
    for i, pixels in enumerate(images):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.imshow(
            pixels, cmap=None if rgb else "gray", vmin=vmin, vmax=vmax, interpolation="nearest"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9, pad=3)
    return fig


def plot_images(
    images: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    *,
    max_images: int = 32,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """Preview a dataset: the first images in a grid of 8 columns, titled with their labels.

    Gray images are drawn with the gray colormap, on a fixed range when the data has one
    (uint8: 0-255, floats in [0, 1]) so dark images stay dark; normalised data is scaled
    per image. RGB images are scaled into [0, 1] the same way.

    Args:
        images: a batch of images (NCHW as convscope uses, or NHWC).
        labels: class index of each image; tiles are untitled without them.
        class_names: name of each class; titles show the index without them.
        max_images: draw only the first this many images.
        title: figure title.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - images: (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3
        - labels: (N,)

    Returns:
        The figure, one axes per image drawn.

    Raises:
        ValueError: ``images`` has an unsupported shape, ``labels`` is not one integer per
            image, or a label does not index ``class_names``.

    >>> fig = plot_images(np.zeros((3, 1, 8, 8), np.uint8), [0, 1, 1], ["zero", "one"])
    >>> [ax.get_title() for ax in fig.axes]
    ['zero', 'one', 'one']
    """
    func = "plot_images"
    batch, rgb = display_images(images, func)
    max_images = positive_int(max_images, func, "max_images")
    if len(batch) == 0:
        raise ValueError(f"{func} expected at least one image; received an empty batch.")
    names = class_names_list(class_names, func)
    titles = None
    if labels is not None:
        num_classes = None if names is None else len(names)
        indices = label_array(labels, func, "labels", len(batch), num_classes)
        titles = [label_text(int(label), names) for label in indices[:max_images]]
    return finish(
        _image_grid(batch[:max_images], rgb, titles, cols=8, tile=1.25, title=title, title_lines=1),
        save,
    )


def plot_misclassified(
    images: Any,
    true_labels: Any,
    predicted_labels: Any,
    confidences: Any = None,
    class_names: Sequence[str] | None = None,
    max_images: int = 16,
    *,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """Show the images the model got wrong, titled "true: X / pred: Y (87%)".

    Only images whose predicted label differs from the true one are drawn (pass the
    whole test set or just the mistakes), **most confident mistakes first** when
    ``confidences`` are given, otherwise in the given order. Those are the instructive
    ones: a confident mistake is often a mislabelled or truly ambiguous image. With no
    mistakes the figure says so.

    Args:
        images: the images (NCHW as convscope uses, or NHWC).
        true_labels: class index of each image.
        predicted_labels: the model's class index for each image.
        confidences: the model's probability for its predicted class, in [0, 1].
        class_names: name of each class; titles show indices without them.
        max_images: draw at most this many mistakes (4 per row).
        title: figure title.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - images: (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3
        - true_labels, predicted_labels, confidences: (N,)

    Returns:
        The figure, one axes per mistake drawn (one empty axes with a note if none).

    Raises:
        ValueError: ``images`` has an unsupported shape, the label or confidence arrays do
            not have one entry per image, a label does not index ``class_names``, or a
            confidence lies outside [0, 1].

    >>> images = np.zeros((3, 1, 8, 8), np.float32)
    >>> fig = plot_misclassified(images, [0, 1, 1], [0, 0, 2], [0.9, 0.6, 0.8], ["a", "b", "c"])
    >>> [ax.get_title() for ax in fig.axes]
    ['true: b\\npred: c (80%)', 'true: b\\npred: a (60%)']
    """
    func = "plot_misclassified"
    batch, rgb = display_images(images, func)
    n = len(batch)
    max_images = positive_int(max_images, func, "max_images")
    names = class_names_list(class_names, func)
    k = None if names is None else len(names)
    true = label_array(true_labels, func, "true_labels", n, k)
    predicted = label_array(predicted_labels, func, "predicted_labels", n, k)
    confidence = None
    if confidences is not None:
        confidence = numeric_array(confidences, func, "confidences").astype(np.float64)
        if confidence.shape != (n,):
            raise ValueError(
                f"{func} expected confidences of shape ({n},), one per image; "
                f"received shape {confidence.shape}."
            )
        if ((confidence < 0) | (confidence > 1 + 1e-6)).any():  # float32 softmax slack
            raise ValueError(
                f"{func} expected confidences (probabilities) in [0, 1]; received values "
                f"from {confidence.min():g} to {confidence.max():g}."
            )
    wrong = np.flatnonzero(true != predicted)
    if confidence is not None:
        wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    wrong = wrong[:max_images]
    heading = title or "Misclassified images" + (
        " (most confident first)" if confidence is not None else ""
    )
    if len(wrong) == 0:
        fig = new_figure(4.0, 1.6)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"No misclassified images among {n}.", ha="center", va="center")
        ax.set_title(heading)
        return finish(fig, save)
    titles = []
    for i in wrong:
        line = f"true: {label_text(true[i], names)}\npred: {label_text(predicted[i], names)}"
        titles.append(line + (f" ({confidence[i]:.0%})" if confidence is not None else ""))
    fig = _image_grid(batch[wrong], rgb, titles, cols=4, tile=1.7, title=heading, title_lines=2)
    return finish(fig, save)
