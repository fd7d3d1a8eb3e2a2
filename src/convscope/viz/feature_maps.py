"""``plot_feature_maps``: what each layer makes of one input image, one row per layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.viz._arrays import (
    display_image,
    finite_range,
    gray_range,
    is_int,
    numeric_array,
    positive_int,
)
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAP_CMAP = "viridis"


def _layer_output(name: str, value: Any, index: int) -> np.ndarray:
    """One example's output: (C, H, W) for a spatial layer, (F,) for a vector."""
    array = numeric_array(value, "plot_feature_maps", f"outputs[{name!r}]")
    if array.ndim in (2, 4):  # batched: (N, F) or (N, C, H, W)
        if not -array.shape[0] <= index < array.shape[0]:
            raise ValueError(
                f"plot_feature_maps expected index in [0, {array.shape[0]}) for "
                f"outputs[{name!r}] of shape {array.shape}; received index={index}."
            )
        array = array[index]
    if array.ndim not in (1, 3) or array.size == 0:
        raise ValueError(
            f"plot_feature_maps expected outputs[{name!r}] of shape (N, C, H, W), (C, H, W), "
            f"(N, features) or (features,); received {array.shape}."
        )
    return array


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def plot_feature_maps(
    outputs: Mapping[str, Any],
    image: Any = None,
    max_channels: int = 8,
    layers: Sequence[str] | None = None,
    *,
    index: int = 0,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """Draw the activations of each layer for one input: one row per layer.

    The input image (if given) comes first, then one row per layer in the order of
    ``outputs`` (execution order, as :func:`convscope.nn.capture_outputs` returns it),
    with the first ``max_channels`` channels as tiles. The channels of a row share one
    colour scale (viridis, with a colorbar on the right), so a channel that stays dark
    is one that barely responds to this input.

    Non-spatial outputs, such as the (N, features) vectors after ``Flatten`` or a
    ``Linear`` layer, are drawn as a single heat strip spanning the row (one cell per
    feature) rather than skipped, so the whole path to the logits is visible.

    Args:
        outputs: layer name to its output for a batch (or one example).
        image: the input, drawn in gray (or RGB) in the first row.
        max_channels: channels drawn per spatial layer.
        layers: names of ``outputs`` to draw, in this order; all by default.
        index: which example of a batched output to draw.
        title: figure title.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - outputs values: (N, C, H, W) or (C, H, W) for spatial layers, (N, features) or
          (features,) for vectors; a 3-D value is always read as (C, H, W).
        - image: (H, W), (C, H, W), (H, W, C) or (1, C, H, W) with C = 1 or 3.

    Returns:
        The figure: the input image axes, then for each layer its tile axes followed by
        the row's colorbar axes.

    Raises:
        ValueError: ``outputs`` is empty, a layer's output or ``image`` has an unsupported
            shape, ``layers`` names a missing layer, or ``index`` is out of range.

    >>> x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    >>> fig = plot_feature_maps({"conv1": x, "fc": x.reshape(2, -1)}, image=x[0, 0])
    >>> [ax.get_ylabel().split()[0] for ax in fig.axes if ax.get_ylabel()]
    ['input', 'conv1', 'fc']
    """
    func = "plot_feature_maps"
    if not isinstance(outputs, Mapping) or not outputs:
        raise ValueError(
            f"{func} expected a non-empty dict of layer name to output array, as returned by "
            f"convscope.nn.capture_outputs; received {type(outputs).__name__} {outputs!r:.80}."
        )
    max_channels = positive_int(max_channels, func, "max_channels")
    if not is_int(index):
        raise ValueError(f"{func} expected index to be an integer; received {index!r}.")
    names = list(outputs) if layers is None else list(layers)
    missing = [name for name in names if name not in outputs]
    if missing or not names:
        raise ValueError(
            f"{func} expected layers to be a non-empty list of names from {list(outputs)}; "
            f"received {missing if missing else names}."
        )
    rows = [(name, _layer_output(name, outputs[name], int(index))) for name in names]
    picture = None if image is None else display_image(image, func)

    spatial = [len(array[:max_channels]) for _, array in rows if array.ndim == 3]
    cols = max(spatial, default=1)
    count = len(rows) + (picture is not None)
    tile = 1.15
    fig = new_figure(max(cols * tile + 2.2, 5.0), count * tile + 0.6)
    fig.suptitle(title or f"Feature maps of example {index}", fontsize=11)
    grid = fig.add_gridspec(count, cols + 1, width_ratios=[1] * cols + [0.08])
    row = 0

    def label(ax: Any, text: str) -> None:
        ax.set_ylabel(text, rotation=0, ha="right", va="center", fontsize=9, labelpad=6)
        ax.set_xticks([])
        ax.set_yticks([])

    if picture is not None:
        pixels, rgb = picture
        ax = fig.add_subplot(grid[0, 0])
        vmin, vmax = (None, None) if rgb else gray_range(pixels)
        ax.imshow(pixels, cmap=None if rgb else "gray", vmin=vmin, vmax=vmax)
        label(ax, f"input\n{_shape_text(pixels.shape)}")
        row = 1
    for name, array in rows:
        if array.ndim == 3:  # (C, H, W): one tile per channel
            shown = array[:max_channels]
            vmin, vmax = finite_range(shown)
            for c, channel in enumerate(shown):
                ax = fig.add_subplot(grid[row, c])
                mappable = ax.imshow(channel, cmap=MAP_CMAP, vmin=vmin, vmax=vmax)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"ch {c}", fontsize=7, pad=2)
            more = f"\n(first {len(shown)})" if len(shown) < len(array) else ""
            label(fig.axes[-len(shown)], f"{name}\n{_shape_text(array.shape)}{more}")
        else:  # (F,): one strip cell per feature
            ax = fig.add_subplot(grid[row, :cols])
            vmin, vmax = finite_range(array)
            mappable = ax.imshow(
                array[None, :],
                cmap=MAP_CMAP,
                vmin=vmin,
                vmax=vmax,
                aspect="auto",
                interpolation="nearest",
            )
            label(ax, f"{name}\n{array.shape[0]} features")
            if len(array) <= 20:  # e.g. logits: the index is the class
                ax.set_xticks(range(len(array)))
                ax.tick_params(axis="x", labelsize=7)
        colorbar = fig.colorbar(mappable, cax=fig.add_subplot(grid[row, cols], label="<colorbar>"))
        colorbar.ax.tick_params(labelsize=7)
        row += 1
    return finish(fig, save)
