"""Overlays of what a network looks at: saliency and Grad-CAM maps, top-activating patches.

The maps come from :mod:`convscope.explain` as plain arrays; these functions only draw
them. Each heat map is scaled to its own maximum (its colours compare places within
one image, not images with each other) and laid over the image in gray.

>>> import numpy as np
>>> images = np.zeros((2, 1, 8, 8), np.float32)
>>> maps = {"saliency": np.ones((2, 8, 8)), "Grad-CAM": np.ones((2, 8, 8))}
>>> fig = plot_explanations(images, maps, ["a", "b"])
>>> [ax.get_title() for ax in fig.axes[:3]]
['a', 'saliency', 'Grad-CAM']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.viz._arrays import display_images, numeric_array
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEAT_CMAP = "inferno"
HEAT_ALPHA = 0.6


def _show(ax: Any, image: np.ndarray, rgb: bool) -> None:
    if rgb:
        ax.imshow(image)
    else:
        ax.imshow(image, cmap="gray", vmin=min(0.0, float(image.min())),
                  vmax=max(1.0, float(image.max())))  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])


def plot_explanations(
    images: Any,
    maps: Mapping[str, Any],
    titles: Sequence[str] | None = None,
    *,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """One row per image: the image, then each explanation map laid over it.

    Args:
        images: the images explained (NCHW as convscope uses, or NHWC).
        maps: method name → its maps, one (H, W) per image, e.g.
            ``{"saliency": ..., "Grad-CAM": ...}``.
        titles: a title per image (e.g. "true 3, predicted 5").
        title: figure title.
        save: also write the figure to this path.

    Shape:
        - images: (N, C, H, W) or (N, H, W) with C = 1 or 3
        - each maps value: (N, H, W)

    Raises:
        ValueError: a map does not have one (H, W) plane per image.
    """
    func = "plot_explanations"
    batch, rgb = display_images(images, func)
    n, height, width = batch.shape[:3]
    planes = {}
    for name, value in maps.items():
        array = numeric_array(value, func, f"maps[{name!r}]")
        if array.shape != (n, height, width):
            raise ValueError(
                f"{func} expected maps[{name!r}] of shape {(n, height, width)}, one map per "
                f"image; received {array.shape}."
            )
        planes[name] = array
    cols = 1 + len(planes)
    fig = new_figure(1.7 * cols, 1.8 * n + (0.4 if title else 0))
    axes = fig.subplots(n, cols, squeeze=False)
    for i in range(n):
        _show(axes[i, 0], batch[i], rgb)
        axes[i, 0].set_title(titles[i] if titles else "image", fontsize=8)
        for j, (name, array) in enumerate(planes.items(), start=1):
            _show(axes[i, j], batch[i], rgb)
            top = float(np.max(array[i])) or 1.0
            axes[i, j].imshow(array[i], cmap=HEAT_CMAP, alpha=HEAT_ALPHA, vmin=0, vmax=top)
            axes[i, j].set_title(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, save)


def plot_top_patches(
    rows: Sequence[tuple[str, Any, Any]],
    *,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """One row per channel: the dataset patches that excite it most, with their values.

    Args:
        rows: ``(label, patches, values)`` per channel, e.g. from
            :func:`convscope.explain.max_activating`: patches (k, C, h, w), values (k,).
        title: figure title.
        save: also write the figure to this path.

    >>> fig = plot_top_patches([("conv 0 / 3", np.zeros((4, 1, 3, 3)), np.arange(4.0))])
    >>> len(fig.axes), fig.axes[0].get_ylabel()
    (4, 'conv 0 / 3')
    """
    func = "plot_top_patches"
    if not rows:
        raise ValueError(f"{func} expected at least one (label, patches, values) row.")
    k = max(len(numeric_array(p, func, "patches")) for _, p, _ in rows)
    fig = new_figure(0.8 * k + 0.8, 0.9 * len(rows) + (0.4 if title else 0))
    axes = fig.subplots(len(rows), k, squeeze=False)
    for r, (label, patches, values) in enumerate(rows):
        batch, rgb = display_images(patches, func, "patches")
        for c in range(k):
            ax = axes[r, c]
            if c >= len(batch):
                ax.set_axis_off()
                continue
            _show(ax, batch[c], rgb)
            ax.set_title(f"{float(values[c]):.2f}", fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, save)
