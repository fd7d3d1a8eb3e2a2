import math

import numpy as np
import pytest

from convscope.train import History
from convscope.viz import plot_history


def lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_loss_accuracy_and_lr_panels(history):
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "Learning rate"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch"] * 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    loss = lines(fig.axes[0])
    np.testing.assert_array_equal(loss["train"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(loss["validation"].get_ydata(), history["val_loss"])
    assert loss["train"].get_marker() == "o"  # few epochs: a marker per point
    assert fig.axes[2].get_yscale() == "log"


def test_best_validation_epochs_are_starred(history):
    fig = plot_history(history)
    assert "best: epoch 3 (0.85)" in lines(fig.axes[0])
    assert "best: epoch 3 (0.74)" in lines(fig.axes[1])


def test_history_object_acc_alias_and_many_epochs():
    h = History()
    for epoch in range(50):
        h.append(epoch, {"loss": 1 / (epoch + 1), "acc": epoch / 50, "seconds": 1.0})
    fig = plot_history(h, title="run 1")
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
    assert fig.get_suptitle() == "run 1"
    assert lines(fig.axes[0])["train"].get_marker() == "None"
    assert fig.axes[0].get_xlim() == (0.5, 50.5)


def test_other_metrics_get_a_panel_and_all_nan_series_are_skipped():
    fig = plot_history({"loss": [1.0, 0.5], "val_loss": [math.nan, math.nan], "mae": [3, 2]})
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Mae"]
    assert list(lines(fig.axes[0])) == ["train"]


@pytest.mark.parametrize(
    "history, message",
    [
        ([0.5, 0.4], "expected a dict of per-epoch lists"),
        ({"loss": ["a", "b"]}, r"history\['loss'\] to be a list of numbers"),
        ({"loss": [[1, 2], [3, 4]]}, "flat list with one number per epoch"),
        ({}, "nothing to plot"),
        ({"seconds": [1.0, 2.0]}, r"nothing to plot.*received keys \['seconds'\]"),
    ],
)
def test_rejects_bad_history(history, message):
    with pytest.raises(ValueError, match=message):
        plot_history(history)
