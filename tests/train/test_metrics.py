"""Metrics against scikit-learn (when installed) and hand-computed values."""

import numpy as np
import pytest

from convscope.train.metrics import (
    accuracy,
    confusion_matrix,
    most_confused_pairs,
    per_class_accuracy,
)


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 5, size=200))
    return y_true, y_pred


def test_accuracy_matches_sklearn(labels):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = labels
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))


def test_accuracy_takes_scores():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], dtype=np.float32)
    assert accuracy([1, 1, 1], scores) == pytest.approx(2 / 3)


def test_confusion_matrix_matches_sklearn(labels):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = labels
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred)
    )
    cm = confusion_matrix([0, 1], [0, 0], num_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[1, 0] == 1


def test_per_class_accuracy_matches_sklearn_recall(labels):
    skm = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = labels
    expected = skm.recall_score(y_true, y_pred, average=None)
    np.testing.assert_allclose(per_class_accuracy(y_true, y_pred), expected)


def test_per_class_accuracy_nan_for_absent_class():
    out = per_class_accuracy([0, 0, 1], [0, 1, 1], num_classes=3)
    np.testing.assert_allclose(out[:2], [0.5, 1.0])
    assert np.isnan(out[2])


def test_most_confused_pairs_by_hand():
    cm = np.array([[50, 3, 7], [1, 40, 0], [9, 2, 30]])
    assert most_confused_pairs(cm, k=3) == [(2, 0, 9), (0, 2, 7), (0, 1, 3)]
    assert most_confused_pairs(cm, k=1, classes=["cat", "dog", "fox"]) == [("fox", "cat", 9)]
    assert most_confused_pairs(np.eye(3, dtype=int)) == []


def test_errors_say_what_was_received():
    with pytest.raises(ValueError, match=r"same number of samples; received 2 and 3"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match=r"labels in \[0, 1\]; received labels in \[0, 2\]"):
        confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match=r"shape \(N,\) or class scores of shape \(N, K\)"):
        accuracy(np.zeros((2, 2, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"square confusion matrix"):
        most_confused_pairs(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"at least one sample"):
        accuracy([], [])
