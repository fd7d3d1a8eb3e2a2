import warnings

import numpy as np
import pytest

from convscope.viz import plot_confusion_matrix, plot_per_class_accuracy

NAMES = ["cat", "dog", "bird"]
CM = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])  # no bird in the test set


def test_confusion_matrix_rows_are_normalised_and_annotated():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the empty bird row must not divide by zero
        fig = plot_confusion_matrix(CM, NAMES)
    ax, colorbar = fig.axes
    assert [t.get_text() for t in ax.texts] == ["0.80", "0.20", "0", "0.10", "0.90"] + ["0"] * 4
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert colorbar.get_ylabel() == "fraction of the true class"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {45.0}
    assert ax.get_title() == "Confusion matrix (row-normalized)"


def test_confusion_matrix_counts():
    fig = plot_confusion_matrix(CM, NAMES, normalize=False)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts][:3] == ["8", "2", "0"]
    assert ax.images[0].get_clim() == (0.0, 9.0)
    assert ax.get_title() == "Confusion matrix (counts)"


def test_many_classes_skip_annotations_and_default_names():
    fig = plot_confusion_matrix(np.eye(40, dtype=np.int64))
    assert len(fig.axes[0].texts) == 0
    assert fig.axes[0].get_yticklabels()[39].get_text() == "39"


@pytest.mark.parametrize(
    "cm, names, message",
    [
        (
            np.zeros((2, 3)),
            None,
            r"square confusion matrix of shape \(K, K\); received shape \(2, 3\)",
        ),
        (np.zeros(4), None, "square confusion matrix"),
        (-np.eye(2), None, "non-negative finite counts"),
        (np.eye(3), ["a", "b"], "expected 3 class_names, one per class; received 2"),
        (np.eye(3), "abc", "sequence of names"),
    ],
)
def test_confusion_matrix_rejects_bad_input(cm, names, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(cm, names)


def bars(ax):
    return [patch.get_width() for patch in ax.patches]


def test_per_class_accuracy_in_class_order_with_overall_line():
    fig = plot_per_class_accuracy([0.9, 0.6, 0.8], NAMES, overall_accuracy=0.75)
    (ax,) = fig.axes
    assert bars(ax) == pytest.approx([0.9, 0.6, 0.8])
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first class on top
    assert [t.get_text() for t in ax.texts] == ["90.0%", "60.0%", "80.0%"]
    (line,) = ax.get_lines()
    assert line.get_xdata()[0] == 0.75 and line.get_linestyle() == "--"
    assert "overall 75.0%" in ax.get_title()
    orange = [p.get_facecolor() for p in ax.patches].count(ax.patches[1].get_facecolor())
    assert orange == 1  # only the class below the overall accuracy


def test_per_class_accuracy_sorted_worst_first_and_nan():
    fig = plot_per_class_accuracy(np.array([0.9, np.nan, 0.8]), NAMES, sort=True)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["dog", "bird", "cat"]
    assert [t.get_text() for t in ax.texts] == ["n/a", "80.0%", "90.0%"]
    assert len(ax.get_lines()) == 0


@pytest.mark.parametrize(
    "values, kwargs, message",
    [
        ([90.0, 60.0, 80.0], {}, r"accuracies in \[0, 1\].*divide percentages by 100"),
        (np.ones((3, 1)), {}, r"shape \(K,\), one value per class; received shape \(3, 1\)"),
        ([0.5, 0.5], {}, "expected 2 class_names, one per class; received 3"),
        ([0.5, 0.5, 0.5], {"overall_accuracy": 75}, r"overall_accuracy in \[0, 1\]"),
    ],
)
def test_per_class_accuracy_rejects_bad_input(values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_per_class_accuracy(values, NAMES, **kwargs)
