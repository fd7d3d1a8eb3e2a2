"""Metrics against scikit-learn and hand counts, on the inputs the training loop really
passes (Tensors of scores, float labels) and on the edges of most_confused_pairs."""

import numpy as np
import pytest
from sklearn import metrics as sk

from convscope import Tensor
from convscope.train.metrics import (
    accuracy,
    confusion_matrix,
    most_confused_pairs,
    per_class_accuracy,
)

RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, 4, 50)
SCORES = RNG.standard_normal((50, 4)).astype(np.float32)


def test_tensors_of_scores_and_float_labels_match_sklearn():
    predicted = SCORES.argmax(axis=1)
    expected = sk.accuracy_score(LABELS, predicted)
    assert accuracy(Tensor(LABELS), Tensor(SCORES)) == pytest.approx(expected, abs=1e-12)
    assert accuracy(LABELS.astype(np.float32), SCORES) == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(
        confusion_matrix(Tensor(LABELS.astype(np.float64)), Tensor(SCORES), num_classes=4),
        sk.confusion_matrix(LABELS, predicted, labels=range(4)),
    )
    np.testing.assert_allclose(
        per_class_accuracy(LABELS, SCORES, num_classes=4),
        sk.recall_score(LABELS, predicted, average=None, labels=range(4)),
    )


@pytest.mark.parametrize("name", ["y_true", "y_pred"])
def test_non_integer_labels_are_refused_naming_the_argument(name):
    good, bad = np.array([0, 1, 2]), np.array([0.0, 1.5, 2.0])
    args = (bad, good) if name == "y_true" else (good, bad)
    with pytest.raises(ValueError) as info:
        accuracy(*args)
    assert str(info.value) == (
        f"`{name}` of shape (N,) must hold integer class indices; "
        "received non-integer values of dtype float64."
    )


def test_empty_input_is_refused():
    with pytest.raises(ValueError) as info:
        accuracy(np.array([], np.int64), np.array([], np.int64))
    assert str(info.value) == "Metrics need at least one sample; received empty arrays."


def test_most_confused_pairs_default_k_ties_counts_of_one_and_names():
    cm = np.array(
        [
            [9, 1, 1, 1],
            [1, 9, 0, 2],
            [1, 0, 9, 0],
            [3, 1, 0, 9],
        ]
    )
    # Off-diagonal, largest first, ties in row-major order; 8 non-zero pairs, k=5 keeps 5.
    assert most_confused_pairs(cm) == [(3, 0, 3), (1, 3, 2), (0, 1, 1), (0, 2, 1), (0, 3, 1)]
    assert len(most_confused_pairs(cm, k=10)) == 8  # every non-zero pair, count 1 included
    assert most_confused_pairs(cm, k=0) == []
    names = ["a", "b", "c", "d"]
    assert most_confused_pairs(cm.astype(np.float64), k=1, classes=names) == [("d", "a", 3)]
    with pytest.raises(ValueError) as info:
        most_confused_pairs(cm, classes=names[:3])
    assert str(info.value) == (
        "`classes` must name all 4 classes of the confusion matrix; received 3 names."
    )
