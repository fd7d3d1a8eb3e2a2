"""Where a classifier goes wrong: ``plot_confusion_matrix`` and ``plot_per_class_accuracy``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.viz._arrays import class_names_list, numeric_array
from convscope.viz._mpl import PathLike, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ANNOTATE_MAX_CLASSES = 30  # write the value in every cell up to this many classes


def _cell_font_size(classes: int) -> float:
    return 10 if classes <= 10 else 8 if classes <= 15 else 6.5 if classes <= 22 else 5.5


def plot_confusion_matrix(
    cm: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = True,
    *,
    title: str | None = None,
    cmap: str = "Blues",
    save: PathLike | None = None,
) -> Figure:
    """Draw a confusion matrix: rows are true classes, columns predicted classes.

    With ``normalize=True`` each row is divided by its total, so a cell reads "the
    fraction of class *row* predicted as *column*" and the diagonal is each class's
    recall (a class with no examples gets a row of zeros). With ``normalize=False`` the
    cells are counts. Up to 30 classes every cell is annotated.

    Args:
        cm: the counts, ``cm[true, predicted]`` (scikit-learn's convention).
        class_names: one name per class; class indices by default.
        normalize: draw row fractions instead of counts.
        title: figure title.
        cmap: matplotlib colormap name.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - cm: (K, K)

    Returns:
        The figure: the matrix axes and its colorbar axes.

    Raises:
        ValueError: ``cm`` is not square, has negative or non-finite entries, or
            ``class_names`` does not have K names.

    >>> fig = plot_confusion_matrix([[5, 1], [2, 8]], ["cat", "dog"])
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), [t.get_text() for t in ax.texts]
    ('predicted class', ['0.83', '0.17', '0.20', '0.80'])
    """
    func = "plot_confusion_matrix"
    counts = numeric_array(cm, func, "cm")
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(
            f"{func} expected a square confusion matrix of shape (K, K); "
            f"received shape {counts.shape}."
        )
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError(f"{func} expected non-negative finite counts in cm; received {counts}.")
    k = counts.shape[0]
    names = class_names_list(class_names, func, k) or [str(i) for i in range(k)]
    if normalize:
        totals = counts.sum(axis=1, keepdims=True, dtype=np.float64)  # (K, 1)
        values = np.divide(counts, totals, out=np.zeros((k, k)), where=totals > 0)
        vmin, vmax, bar_label = 0.0, 1.0, "fraction of the true class"
    else:
        values = counts
        vmin, vmax, bar_label = 0.0, max(float(counts.max()), 1.0), "count"

    side = min(max(4.6, 0.42 * k + 2.6), 16.0)
    fig = new_figure(side + 0.9, side)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, label=bar_label, shrink=0.8)
    ax.set_xticks(range(k), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), names)
    ax.tick_params(labelsize=9 if k <= 15 else 7 if k <= 40 else 5)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or f"Confusion matrix ({'row-normalized' if normalize else 'counts'})")
    if k <= ANNOTATE_MAX_CLASSES:
        integer = not normalize and np.all(values == np.round(values))
        for (i, j), value in np.ndenumerate(values):
            text = "0" if value == 0 else f"{value:.0f}" if integer else f"{value:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=_cell_font_size(k),
                color="white" if value > 0.6 * vmax else "black" if value else "0.6",
            )
    return finish(fig, save)


def plot_per_class_accuracy(
    per_class_accuracy: Any,
    class_names: Sequence[str] | None = None,
    overall_accuracy: float | None = None,
    *,
    sort: bool = False,
    title: str | None = None,
    save: PathLike | None = None,
) -> Figure:
    """Draw each class's accuracy as a horizontal bar, with its value at the bar's end.

    Bars run top to bottom in class order, or worst class first with ``sort=True``.
    If ``overall_accuracy`` is given it is drawn as a dashed vertical line and the
    classes below it are drawn in orange. A NaN accuracy (a class absent from the test
    set) gets no bar and the label "n/a".

    Args:
        per_class_accuracy: accuracy (recall) of each class, in [0, 1].
        class_names: one name per class; class indices by default.
        overall_accuracy: the accuracy over all examples, in [0, 1].
        sort: order the bars from worst to best instead of by class.
        title: figure title.
        save: also write the figure to this path (see :func:`save_figure`).

    Shape:
        - per_class_accuracy: (K,)

    Returns:
        The figure, with one axes.

    Raises:
        ValueError: ``per_class_accuracy`` is not 1-D, a value lies outside [0, 1] (pass
            fractions, not percentages), or ``class_names`` does not have K names.

    >>> fig = plot_per_class_accuracy([0.9, 0.75, 1.0], ["a", "b", "c"], overall_accuracy=0.88)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b', 'c']
    """
    func = "plot_per_class_accuracy"
    accuracy = numeric_array(per_class_accuracy, func, "per_class_accuracy").astype(np.float64)
    if accuracy.ndim != 1 or accuracy.size == 0:
        raise ValueError(
            f"{func} expected per_class_accuracy of shape (K,), one value per class; "
            f"received shape {accuracy.shape}."
        )
    known = accuracy[~np.isnan(accuracy)]
    if ((known < 0) | (known > 1)).any():
        raise ValueError(
            f"{func} expected accuracies in [0, 1]; received values from {known.min():g} to "
            f"{known.max():g} (divide percentages by 100)."
        )
    if overall_accuracy is not None and not 0 <= overall_accuracy <= 1:
        raise ValueError(
            f"{func} expected overall_accuracy in [0, 1]; received {overall_accuracy!r}."
        )
    k = accuracy.size
    names = class_names_list(class_names, func, k) or [str(i) for i in range(k)]
    order = np.arange(k)
    if sort:
        order = np.argsort(np.nan_to_num(accuracy, nan=-1.0), kind="stable")

    fig = new_figure(6.8, min(0.32 * k + 1.6, 30.0))
    ax = fig.add_subplot()
    values = accuracy[order]
    below = np.zeros(k, bool) if overall_accuracy is None else values < overall_accuracy
    colors = np.where(below, "tab:orange", "tab:blue")
    positions = np.arange(k)
    ax.barh(positions, np.nan_to_num(values), color=colors, height=0.7)
    font = 9 if k <= 20 else 7
    for y, value in zip(positions, values, strict=True):
        text = "n/a" if np.isnan(value) else f"{value:.1%}"
        x = 0 if np.isnan(value) else value
        ax.text(
            x + 0.01,
            y,
            text,
            va="center",
            fontsize=font,
            zorder=4,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set_yticks(positions, [names[i] for i in order], fontsize=font)
    ax.set_ylim(k - 0.5, -0.5)  # first class on top
    ax.set_xlim(0, 1.12)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.set_xlabel("accuracy")
    ax.grid(axis="x", alpha=0.3)
    heading = "Per-class accuracy" + (" (worst first)" if sort else "")
    if overall_accuracy is not None:
        ax.axvline(overall_accuracy, color="black", linestyle="--", linewidth=1.2)
        heading += f"\noverall {overall_accuracy:.1%} (dashed line); orange: classes below it"
    ax.set_title(title or heading)
    return finish(fig, save)
