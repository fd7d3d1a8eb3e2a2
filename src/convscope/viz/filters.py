"""``plot_filters``: a convolution layer's learned kernels as a grid of small images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convscope.viz._arrays import finite_abs_max, grid_shape, is_int, numeric_array, positive_int
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILTER_CMAP = "RdBu_r"  # diverging: blue negative, white zero, red positive


def plot_filters(
    weights: Any,
    title: str | None = None,
    max_filters: int = 64,
    *,
    input_channel: int | None = None,
    save: PathLike | None = None,
) -> Figure:
    """Draw conv filters (kernels) as a grid: one tile per output channel.

    Colour is the weight value on one scale for the whole figure, symmetric around zero
    (blue negative, white zero, red positive), so tiles can be compared with each other
    and with the colorbar. A first layer trained on images typically shows edge and
    blob detectors: tiles with a red side and a blue side.

    With more than one input channel a kernel is a ``in_channels x kH x kW`` block; a
    tile shows its **mean over the input channels** by default (what the filter responds
    to in all channels together), or input channel ``input_channel`` alone.

    Args:
        weights: the layer's weight, e.g. ``model.conv1.weight.data``.
        title: figure title; by default the weight shape and what a tile shows.
        max_filters: draw only the first this many output channels (8 per row).
        input_channel: show this input channel of every kernel instead of the mean.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - weights: (out_channels, in_channels, kH, kW), as in ``Conv2d.weight``

    Returns:
        The figure: ``min(out_channels, max_filters)`` tile axes, then one colorbar axes.

    Raises:
        ValueError: ``weights`` is not 4-D, ``max_filters`` is not a positive integer, or
            ``input_channel`` is out of range.

    >>> import numpy as np
    >>> w = np.linspace(-1, 1, 6 * 2 * 3 * 3).reshape(6, 2, 3, 3)
    >>> fig = plot_filters(w)
    >>> len(fig.axes), fig.axes[0].get_title()
    (7, '0')
    """
    w = numeric_array(weights, "plot_filters", "weights")
    if w.ndim != 4 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(
            "plot_filters expected weights of shape (out_channels, in_channels, kH, kW), "
            f"e.g. conv.weight.data; received shape {w.shape}."
        )
    max_filters = positive_int(max_filters, "plot_filters", "max_filters")
    out_channels, in_channels, kh, kw = w.shape
    if input_channel is None:
        tiles = w.mean(axis=1) if in_channels > 1 else w[:, 0]  # (O, kH, kW)
        shows = f"mean over {in_channels} input channels" if in_channels > 1 else ""
    else:
        if not is_int(input_channel) or not 0 <= input_channel < in_channels:
            raise ValueError(
                f"plot_filters expected input_channel in [0, {in_channels}) for weights of "
                f"shape {w.shape}; received {input_channel!r}."
            )
        tiles = w[:, input_channel]  # (O, kH, kW)
        shows = f"input channel {input_channel}"
    tiles = tiles[:max_filters]
    count = len(tiles)

    if title is None:
        title = f"Conv filters {out_channels}×{in_channels}×{kh}×{kw}"
        details = [shows] if shows else []
        if count < out_channels:
            details.append(f"first {count} of {out_channels}")
        if details:
            title += f" ({'; '.join(details)})"
    rows, cols = grid_shape(count, max_cols=8)
    tile = 0.85
    fig = new_figure(max(cols * tile + 1.3, 4.0), rows * tile + 0.7)
    fig.suptitle(title, fontsize=11)
    vmax = finite_abs_max(tiles)
    grid = fig.add_gridspec(rows, cols)
    axes = []
    for i, kernel in enumerate(tiles):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        image = ax.imshow(kernel, cmap=FILTER_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(str(i), fontsize=8, pad=2)
        ax.set_xticks([])
        ax.set_yticks([])
        axes.append(ax)
    fig.colorbar(
        image,
        ax=axes,
        label="mean weight" if shows.startswith("mean") else "weight",
        shrink=min(1.0, 0.35 + 0.15 * rows),
    )
    return finish(fig, save)
