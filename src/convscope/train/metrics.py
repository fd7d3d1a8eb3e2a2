"""Classification metrics on plain NumPy arrays: accuracy, confusion matrix, per-class accuracy.

Every function takes true labels and predictions as arrays (or anything
``np.asarray`` accepts). Predictions may be class indices, shape ``(N,)``, or
class scores (logits or probabilities), shape ``(N, K)``, reduced with ``argmax``.

>>> y_true = [0, 1, 2, 2]
>>> y_pred = [0, 2, 2, 2]
>>> accuracy(y_true, y_pred)
0.75
>>> confusion_matrix(y_true, y_pred)
array([[1, 0, 0],
       [0, 0, 1],
       [0, 0, 2]])
>>> most_confused_pairs(confusion_matrix(y_true, y_pred), classes=["a", "b", "c"])
[('b', 'c', 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _labels(values: Any, name: str) -> np.ndarray:
    """Class indices, shape (N,), from indices (N,) or scores (N, K)."""
    array = np.asarray(getattr(values, "data", values))
    if array.ndim == 2:
        return array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(
            f"`{name}` expected class indices of shape (N,) or class scores of shape (N, K); "
            f"received shape {array.shape}."
        )
    if array.size and array.dtype.kind not in "iub":
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise ValueError(
                f"`{name}` of shape (N,) must hold integer class indices; "
                f"received non-integer values of dtype {array.dtype}."
            )
    return array.astype(np.int64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true = _labels(y_true, "y_true")
    pred = _labels(y_pred, "y_pred")
    if true.shape[0] != pred.shape[0]:
        raise ValueError(
            f"`y_true` and `y_pred` must hold the same number of samples; "
            f"received {true.shape[0]} and {pred.shape[0]}."
        )
    if true.shape[0] == 0:
        raise ValueError("Metrics need at least one sample; received empty arrays.")
    return true, pred


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices, or class scores reduced with ``argmax``.

    Shape:
        - y_true: ``(N,)``
        - y_pred: ``(N,)`` or ``(N, K)``

    Returns:
        Accuracy in ``[0, 1]``.

    Raises:
        ValueError: the arrays are empty, differ in length, or are badly shaped.

    >>> accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]])
    0.5
    """
    true, pred = _pair(y_true, y_pred)
    return float(np.mean(true == pred))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs, sklearn's convention.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices, or class scores reduced with ``argmax``.
        num_classes: number of classes ``K``; defaults to ``max(label) + 1``.

    Shape:
        - Output: ``(K, K)``, int64; row ``i`` is true class ``i``, column ``j``
          predicted class ``j``.

    Returns:
        The confusion matrix.

    Raises:
        ValueError: a label is negative or not below ``num_classes``.

    >>> confusion_matrix([0, 1, 1], [1, 1, 1], num_classes=2)
    array([[0, 1],
           [0, 2]])
    """
    true, pred = _pair(y_true, y_pred)
    largest = int(max(true.max(), pred.max()))
    k = largest + 1 if num_classes is None else int(num_classes)
    if min(true.min(), pred.min()) < 0 or largest >= k:
        raise ValueError(
            f"confusion_matrix expected labels in [0, {k - 1}]; received labels in "
            f"[{int(min(true.min(), pred.min()))}, {largest}]."
        )
    # Pair (t, p) -> bin t * K + p, then reshape the K*K counts.
    counts = np.bincount(true * k + pred, minlength=k * k)
    return counts.reshape(k, k)  # (K_true, K_pred)


def per_class_accuracy(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Accuracy within each true class (recall): correct / samples of that class.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices, or class scores reduced with ``argmax``.
        num_classes: number of classes ``K``; defaults to ``max(label) + 1``.

    Shape:
        - Output: ``(K,)``, float64; NaN for a class with no samples.

    Returns:
        Per-class accuracy. From a confusion matrix ``cm`` it is
        ``np.diag(cm) / cm.sum(axis=1)``.

    >>> per_class_accuracy([0, 0, 1, 2], [0, 1, 1, 1], num_classes=4)
    array([0.5, 1. , 0. , nan])
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    out = np.full(cm.shape[0], np.nan)
    np.divide(np.diag(cm), support, out=out, where=support > 0)
    return out


def most_confused_pairs(
    confusion: Any, k: int = 5, classes: Sequence[str] | None = None
) -> list[tuple[Any, Any, int]]:
    """The ``k`` largest off-diagonal entries of a confusion matrix, largest first.

    Args:
        confusion: a square confusion matrix (rows true, columns predicted).
        k: how many pairs to return at most; pairs with a zero count are left out.
        classes: class names; when given, pairs name classes instead of indices.

    Returns:
        A list of ``(true_class, predicted_class, count)``; ties keep row-major order.

    Raises:
        ValueError: ``confusion`` is not square, or ``classes`` has the wrong length.

    >>> most_confused_pairs([[5, 2, 0], [3, 4, 0], [0, 2, 9]], k=2)
    [(1, 0, 3), (0, 1, 2)]
    """
    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"Expected a square confusion matrix (K, K); received shape {cm.shape}.")
    if classes is not None and len(classes) != cm.shape[0]:
        raise ValueError(
            f"`classes` must name all {cm.shape[0]} classes of the confusion matrix; "
            f"received {len(classes)} names."
        )
    off = cm.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    order = np.argsort(-flat, kind="stable")[: max(int(k), 0)]
    pairs = []
    for index in order:
        if flat[index] <= 0:
            break
        t, p = divmod(int(index), cm.shape[0])
        if classes is not None:
            pairs.append((classes[t], classes[p], int(flat[index])))
        else:
            pairs.append((t, p, int(flat[index])))
    return pairs
