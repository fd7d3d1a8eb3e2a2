"""``plot_history``: training curves from a Keras-shaped history, one panel per metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.viz._arrays import grid_shape
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LR_KEYS = ("lr", "learning_rate")
NOT_PLOTTED = ("seconds", "time", "epoch", "epochs")  # bookkeeping, not curves
ALIASES = {"acc": "accuracy"}
MARKER_EPOCHS = 30  # draw a marker on every point up to this many epochs


def _series(history: Any) -> dict[str, np.ndarray]:
    """The history's lists as 1-D float arrays, checked."""
    logs = history
    if not isinstance(history, Mapping) and hasattr(history, "history"):
        logs = history.history  # keras.callbacks.History, convscope.train.History
    if not isinstance(logs, Mapping):
        raise ValueError(
            "plot_history expected a dict of per-epoch lists such as {'loss': [...], "
            "'val_loss': [...]} or an object with such a .history dict; "
            f"received {type(history).__name__}."
        )
    series = {}
    for key, values in logs.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"plot_history expected history[{key!r}] to be a list of numbers; "
                f"received {values!r:.80}."
            ) from None
        if array.ndim != 1:
            raise ValueError(
                f"plot_history expected history[{key!r}] to be a flat list with one number "
                f"per epoch; received an array of shape {array.shape}."
            )
        series[str(key)] = array
    return series


def _panels(series: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Group keys into panels: ``{'loss': {'loss': ..., 'val_loss': ...}, ...}``.

    Order: loss, accuracy, other metrics as they appear, learning rate last. Series that
    are empty or all NaN are left out, and so are panels left with nothing.
    """
    panels: dict[str, dict[str, np.ndarray]] = {"loss": {}, "accuracy": {}}
    for key, values in series.items():
        if key in NOT_PLOTTED or not np.isfinite(values).any():
            continue
        if key in LR_KEYS:
            panels.setdefault("learning rate", {})[key] = values
            continue
        base = key.removeprefix("val_")
        panels.setdefault(ALIASES.get(base, base), {})[key] = values
    lr = panels.pop("learning rate", None)
    if lr:
        panels["learning rate"] = lr
    return {name: curves for name, curves in panels.items() if curves}


def _draw(ax: Axes, name: str, curves: dict[str, np.ndarray]) -> None:
    longest = max(len(values) for values in curves.values())
    marker = "o" if longest <= MARKER_EPOCHS else None
    for key, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        validation = key.startswith("val_")
        label = "validation" if validation else ("train" if name != "learning rate" else key)
        (line,) = ax.plot(
            epochs,
            values,
            marker=marker,
            markersize=4,
            label=label,
            color="tab:orange" if validation else "tab:blue",
        )
        if validation and name in ("loss", "accuracy"):
            best = np.nanargmin(values) if name == "loss" else np.nanargmax(values)
            ax.plot(
                epochs[best],
                values[best],
                marker="*",
                markersize=13,
                linestyle="none",
                color=line.get_color(),
                markeredgecolor="black",
                zorder=3,
                label=f"best: epoch {best + 1} ({values[best]:.4g})",
            )
    if name == "learning rate" and all((v[np.isfinite(v)] > 0).all() for v in curves.values()):
        ax.set_yscale("log")
    ax.set_title(name.capitalize(), fontsize=11)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.set_xlim(0.5, longest + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if len(ax.get_lines()) > 1:
        ax.legend(fontsize=8)


def plot_history(
    history: Any,
    title: str | None = None,
    *,
    save: PathLike | None = None,
) -> Figure:
    """Draw training curves: loss, accuracy (and any other metric), learning rate.

    Each metric gets a panel with its training curve and, when present, its ``val_``
    curve; epochs are numbered from 1 on the x axis, with a marker on every point up to
    30 epochs. The best validation loss (lowest) and accuracy (highest) are starred:
    a validation loss that rises while the training loss keeps falling is overfitting.
    The learning rate, if recorded, gets its own panel (log scale). ``acc``/``val_acc``
    count as accuracy; bookkeeping keys (``seconds``) are not drawn.

    Args:
        history: ``{'loss': [...], 'val_loss': [...], 'accuracy': [...],
            'val_accuracy': [...], 'lr': [...]}`` (Keras's shape), or an object with such
            a ``.history`` dict (``convscope.train.History``, Keras's ``History``).
        title: figure title.
        save: also write the figure to this path (see :func:`save_figure`).

    Returns:
        The figure, one axes per panel.

    Raises:
        ValueError: ``history`` is not such a dict, a value is not a flat list of
            numbers, or there is nothing to plot.

    >>> fig = plot_history({"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.75],
    ...                     "accuracy": [0.6, 0.8, 0.85], "lr": [0.01, 0.01, 0.001]})
    >>> [ax.get_title() for ax in fig.axes]
    ['Loss', 'Accuracy', 'Learning rate']
    """
    series = _series(history)
    panels = _panels(series)
    if not panels:
        raise ValueError(
            "plot_history found nothing to plot: expected keys such as 'loss', 'val_loss', "
            f"'accuracy' with at least one finite number; received keys {list(series)}."
        )
    rows, cols = grid_shape(len(panels), max_cols=3)
    fig = new_figure(4.3 * cols, 3.4 * rows + (0.3 if title else 0))
    if title is not None:
        fig.suptitle(title, fontsize=12)
    grid = fig.add_gridspec(rows, cols)
    for i, (name, curves) in enumerate(panels.items()):
        _draw(fig.add_subplot(grid[i // cols, i % cols]), name, curves)
    return finish(fig, save)
