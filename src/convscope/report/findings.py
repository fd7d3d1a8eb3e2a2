"""Findings: sentences computed from one run's own numbers, never canned text.

Each function looks at one aspect of a run (training curves, confusions, the
first layer's filters, speed) and returns plain-English sentences whose every
number comes from its arguments. :func:`findings` gathers them for the report.

>>> history = {"loss": [0.9, 0.5, 0.4], "val_loss": [0.6, 0.45, 0.5],
...            "accuracy": [0.7, 0.82, 0.86], "val_accuracy": [0.78, 0.84, 0.83]}
>>> print(overfitting_findings(history)[0])  # doctest: +NORMALIZE_WHITESPACE
Validation loss was lowest at epoch 2 (0.4500) and then rose for 1 epoch (to 0.5000)
while training loss kept falling (0.5000 → 0.4000): the model started to overfit from epoch 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- training health

# A run "did not learn" when its final accuracy is below CHANCE_FACTOR × chance (1/K).
CHANCE_FACTOR = 1.5
# A run's loss "rose" when its last epoch's training loss exceeds the first's by this share.
RISING_LOSS = 0.01


def training_health(history: dict[str, Sequence[float]], num_classes: int) -> str | None:
    """One sentence when a run diverged or did not learn, else None.

    Checked in order: a NaN or infinite loss (training or validation); a final
    (validation, else training) accuracy below ``CHANCE_FACTOR`` times chance
    (``1 / num_classes``); a training loss that rose from the first epoch to the last
    by more than ``RISING_LOSS``. Each names the likely cause, the learning rate.

    >>> print(training_health({"loss": [2.3, float("nan")], "accuracy": [0.1, 0.1]}, 10))
    ... # doctest: +NORMALIZE_WHITESPACE
    Training diverged: the training loss became NaN at epoch 2. The learning rate is most
    likely too high; try one 10 times smaller (e.g. --lr 0.0001 for Adam).
    >>> training_health({"loss": [0.9, 0.5], "accuracy": [0.7, 0.8]}, 10) is None
    True
    """
    advice = "The learning rate is most likely too high; try one 10 times smaller"
    for key, what in (("loss", "training loss"), ("val_loss", "validation loss")):
        values = np.asarray(history.get(key, []), dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            kind = "NaN" if np.isnan(values[bad[0]]) else "infinite"
            return (
                f"Training diverged: the {what} became {kind} at epoch {bad[0] + 1}. "
                f"{advice} (e.g. --lr 0.0001 for Adam)."
            )
    key = "val_accuracy" if history.get("val_accuracy") else "accuracy"
    acc = list(history.get(key, []))
    chance = 1.0 / max(int(num_classes), 1)
    if acc and num_classes > 1 and acc[-1] < CHANCE_FACTOR * chance:
        which = "validation" if key == "val_accuracy" else "training"
        return (
            f"The model did not learn: its final {which} accuracy, {_pct(acc[-1])}, is at chance "
            f"level ({_pct(chance)} for {num_classes} classes). {advice} (or, if the loss "
            "barely moved, larger)."
        )
    loss = list(history.get("loss", []))
    if len(loss) >= 2 and loss[-1] > loss[0] * (1 + RISING_LOSS):
        return (
            f"Training is diverging: the training loss rose from {loss[0]:.4f} (epoch 1) to "
            f"{loss[-1]:.4f} (epoch {len(loss)}) instead of falling. {advice}."
        )
    return None


# --------------------------------------------------------------------------- training curves


def overfitting_findings(history: dict[str, Sequence[float]]) -> list[str]:
    """Whether validation loss rose while training loss fell, and from which epoch."""
    train = list(history.get("loss", []))
    val = list(history.get("val_loss", []))
    if not val:
        return ["No validation data was used, so overfitting could not be measured."]
    if len(val) < 2:
        return ["Only one epoch was trained: too few to see a trend in validation loss."]
    best = int(np.argmin(val))
    after = val[best + 1 :]
    if not after:
        return [
            f"Validation loss fell to its lowest value in the last epoch ({val[-1]:.4f}, epoch "
            f"{len(val)}): no sign of overfitting within {_epochs(len(val))}; "
            "more epochs may still help."
        ]
    if len(train) != len(val):  # no training loss per validated epoch to compare with
        return [
            f"Validation loss was lowest at epoch {best + 1} ({val[best]:.4f}) and then rose for "
            f"{_epochs(len(after))} (to {val[-1]:.4f}); the training loss of those epochs is not "
            "recorded, so overfitting cannot be told apart from an unstable optimisation."
        ]
    if train[-1] < train[best]:
        return [
            f"Validation loss was lowest at epoch {best + 1} ({val[best]:.4f}) and then rose for "
            f"{_epochs(len(after))} (to {val[-1]:.4f}) while training loss kept falling "
            f"({train[best]:.4f} → {train[-1]:.4f}): the model started to overfit from epoch "
            f"{best + 2}."
        ]
    return [
        f"Validation loss was lowest at epoch {best + 1} ({val[best]:.4f}) and rose afterwards, "
        f"but training loss did not fall either ({train[best]:.4f} → {train[-1]:.4f}): "
        "that points to an unstable optimisation (learning rate) rather than overfitting."
    ]


def epoch_gain_findings(history: dict[str, Sequence[float]]) -> list[str]:
    """How much each epoch added to (validation, else training) accuracy."""
    key = "val_accuracy" if history.get("val_accuracy") else "accuracy"
    acc = list(history.get(key, []))
    if not acc:
        return []
    which = "validation" if key == "val_accuracy" else "training"
    if len(acc) == 1:
        return [f"After its single epoch the model reached {_pct(acc[0])} {which} accuracy."]
    gains = np.diff(acc) * 100
    parts = ", ".join(f"epoch {i + 2} {g:+.1f} pp" for i, g in enumerate(gains))
    sentence = f"Epoch 1 reached {_pct(acc[0])} {which} accuracy; then {parts}."
    first_share = acc[0] / acc[-1] if acc[-1] else 0
    tail = gains[-1]
    if tail < 0.2:
        sentence += (
            f" The last epoch added {tail:+.1f} pp: accuracy has plateaued at this learning rate."
        )
    else:
        sentence += f" The last epoch still added {tail:+.1f} pp: training longer should help."
    sentence += f" The first epoch alone delivered {_pct(first_share)} of the final accuracy."
    return [sentence]


def generalisation_findings(
    history: dict[str, Sequence[float]],
    test_accuracy: float,
    evaluated_epoch: int | None = None,
    has_dropout: bool = False,
) -> list[str]:
    """The gap between the accuracy on training data and on unseen test data.

    ``evaluated_epoch`` (1-based) is the epoch whose weights were tested; its training
    accuracy is the fair comparison. Default: the last epoch.
    """
    train_acc = list(history.get("accuracy", []))
    if not train_acc:
        return []
    epoch = evaluated_epoch or len(train_acc)
    train = train_acc[epoch - 1]
    gap = (train - test_accuracy) * 100
    if gap > 3:
        verdict = "a sizeable generalisation gap: the model fits its training data better"
    elif gap < -1:
        verdict = "test accuracy is higher than training accuracy" + (
            ", as expected: dropout is active while training but not at test time"
            if has_dropout
            else ""
        )
    else:
        verdict = "a small generalisation gap"
    measured = (
        "averaged over epoch " + str(epoch) + (", with dropout active" if has_dropout else "")
    )
    return [
        f"Training accuracy {_pct(train)} ({measured}) against test accuracy "
        f"{_pct(test_accuracy)}: {gap:+.1f} pp, {verdict}."
    ]


# --------------------------------------------------------------------------- confusions


def confused_pairs(cm: np.ndarray, top: int = 3) -> list[tuple[int, int, int, float]]:
    """The ``top`` largest off-diagonal cells: (true, predicted, count, share of the true class)."""
    cm = np.asarray(cm)
    off = cm.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    pairs = []
    for flat in order:
        t, p = np.unravel_index(flat, off.shape)
        count = int(off[t, p])
        if count == 0:
            break
        pairs.append((int(t), int(p), count, count / max(int(cm[t].sum()), 1)))
    return pairs


def confusion_findings(cm: np.ndarray, class_names: Sequence[str], top: int = 3) -> list[str]:
    """Which classes are most confused and how often; the best and worst classes."""
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    present = np.flatnonzero(totals > 0)  # classes with no test image have no accuracy
    per_class = np.diag(cm)[present] / totals[present]
    sentences = []
    pairs = confused_pairs(cm, top)
    if pairs:
        described = "; ".join(
            f"{class_names[t]} taken for {class_names[p]} {c} times "
            f"({_pct(share)} of {class_names[t]} images)"
            for t, p, c, share in pairs
        )
        sentences.append(f"The most frequent confusions: {described}.")
        listed = {(t, p) for t, p, _, _ in pairs}
        mutual = [(t, p) for t, p in listed if (p, t) in listed and t < p]
        if mutual:
            t, p = min(mutual)
            sentences.append(
                f"{class_names[t]} and {class_names[p]} are confused in both directions "
                f"({int(cm[t, p])} and {int(cm[p, t])} times): the network has not found what "
                "separates them."
            )
    else:
        sentences.append("No test image was misclassified.")
    if len(present) < 2:
        return sentences
    worst, best = present[np.argmin(per_class)], present[np.argmax(per_class)]
    per_class = dict(zip(present, per_class))
    sentences.append(
        f"Easiest class: {class_names[best]} ({_pct(per_class[best])} correct); hardest: "
        f"{class_names[worst]} ({_pct(per_class[worst])} correct), a spread of "
        f"{100 * (per_class[best] - per_class[worst]):.1f} pp."
    )
    return sentences


def confidence_findings(confidences: np.ndarray, correct: np.ndarray) -> list[str]:
    """How sure the model is when it is right versus when it is wrong."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if correct.all() or not correct.any():
        return []
    right, wrong = confidences[correct].mean(), confidences[~correct].mean()
    confident_wrong = float(np.mean(confidences[~correct] > 0.9))
    return [
        f"Mean confidence is {_pct(right)} on correct predictions and {_pct(wrong)} on wrong ones; "
        f"{_pct(confident_wrong)} of the mistakes were made with over 90% confidence."
    ]


# --------------------------------------------------------------------------- first-layer filters


@dataclass
class FilterShape:
    """How one filter's energy splits into a flat (blob) part, a linear ramp (edge) and the rest.

    For a filter ``w`` (averaged over input channels), least squares fits
    ``w ≈ c + a·x + b·y`` on the centred pixel grid. The fractions of ``Σ w²``
    explained by the constant term and by the ramp are ``blob`` and ``edge``;
    ``angle`` is the direction the ramp increases in, in degrees (0 = left→right).
    """

    kind: str
    blob: float
    edge: float
    angle: float


def classify_filter(weights: np.ndarray, threshold: float = 0.5) -> FilterShape:
    """Label a (kH, kW) or (C, kH, kW) filter 'edge', 'blob' or 'other'.

    A filter is an *edge detector* when a linear ramp explains at least
    ``threshold`` of its energy (it responds to intensity changing in one direction)
    and a *blob detector* when its mean does (it responds to bright or dark spots);
    otherwise 'other' (textures, centre-surround, noise).

    >>> classify_filter(np.array([[-1., 0, 1], [-1, 0, 1], [-1, 0, 1]])).kind
    'edge'
    >>> classify_filter(np.ones((3, 3))).kind
    'blob'
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 3:
        w = w.mean(axis=0)
    kh, kw = w.shape
    ys, xs = np.mgrid[0:kh, 0:kw]
    xs = xs - (kw - 1) / 2
    ys = ys - (kh - 1) / 2
    energy = float(np.sum(w * w)) or 1.0
    mean = w.mean()
    blob = mean * mean * w.size / energy
    # The centred x and y grids are orthogonal to the constant and to each other.
    a = np.sum(w * xs) / max(np.sum(xs * xs), 1e-12)
    b = np.sum(w * ys) / max(np.sum(ys * ys), 1e-12)
    edge = (a * a * np.sum(xs * xs) + b * b * np.sum(ys * ys)) / energy
    angle = float(np.degrees(np.arctan2(-b, a)))  # image y grows downwards
    if edge >= threshold and edge >= blob:
        kind = "edge"
    elif blob >= threshold:
        kind = "blob"
    else:
        kind = "other"
    return FilterShape(kind, float(blob), float(edge), angle)


def _orientation(angle: float) -> str:
    a = abs(((angle + 90) % 180) - 90)  # fold to [0, 90]: 0 = horizontal ramp
    if a < 22.5:
        return "vertical"  # intensity changes left↔right: a vertical edge
    if a > 67.5:
        return "horizontal"
    return "diagonal"


def filter_findings(weights: np.ndarray, threshold: float = 0.5) -> list[str]:
    """Count edge and blob detectors among the first layer's filters (O, C, kH, kW)."""
    weights = np.asarray(weights)
    if weights.ndim != 4:
        return []
    shapes = [classify_filter(w, threshold) for w in weights]
    edges = [s for s in shapes if s.kind == "edge"]
    blobs = [s for s in shapes if s.kind == "blob"]
    n = len(shapes)
    orientations = {}
    for s in edges:
        orientations[_orientation(s.angle)] = orientations.get(_orientation(s.angle), 0) + 1
    sentence = (
        f"Of the first layer's {n} filters, {len(edges)} look like edge detectors and {len(blobs)} "
        f"like blob detectors (a linear intensity ramp, or the filter's mean, explains at least "
        f"{_pct(threshold)} of its squared weights); the other {n - len(edges) - len(blobs)} mix "
        "several patterns."
    )
    if orientations:
        described = ", ".join(f"{count} {name}" for name, count in sorted(orientations.items()))
        sentence += f" Edge orientations: {described}."
    return [sentence]


# --------------------------------------------------------------------------- speed


def epoch_timing(seconds_per_epoch: Sequence[float], train_size: int) -> dict[str, float]:
    """Median epoch seconds (training plus validation), epochs timed, images per second."""
    seconds = [s for s in seconds_per_epoch if s > 0]
    if not seconds:
        return {}
    median = float(np.median(seconds))
    return {
        "median": median,
        "total": float(sum(seconds)),
        "epochs": len(seconds),
        "images_per_second": train_size / median,
    }


def speed_findings(seconds_per_epoch: Sequence[float], train_size: int) -> list[str]:
    """Epoch time and throughput."""
    timing = epoch_timing(seconds_per_epoch, train_size)
    if not timing:
        return []
    return [
        f"An epoch — training on {train_size:,} images, forward and backward, then validation — "
        f"took {timing['median']:.1f} s (median of {_epochs(timing['epochs'])}): "
        f"{timing['images_per_second']:,.0f} training images per second on this CPU."
    ]


def findings(
    *,
    history: dict[str, Sequence[float]],
    test_accuracy: float,
    confusion: np.ndarray,
    class_names: Sequence[str],
    first_layer_weights: np.ndarray | None = None,
    confidences: np.ndarray | None = None,
    correct: np.ndarray | None = None,
    train_size: int | None = None,
    evaluated_epoch: int | None = None,
    has_dropout: bool = False,
) -> list[str]:
    """All findings for a run, in reading order.

    A run that diverged or did not learn (:func:`training_health`) is reported as such,
    first; its curves then say nothing about generalisation, plateaus or overfitting,
    so those findings are left out.
    """
    out: list[str] = []
    problem = training_health(history, len(class_names))
    if problem:
        out.append(problem)
    else:
        out += generalisation_findings(history, test_accuracy, evaluated_epoch, has_dropout)
        out += epoch_gain_findings(history)
        out += overfitting_findings(history)
    out += confusion_findings(confusion, class_names)
    if confidences is not None and correct is not None:
        out += confidence_findings(confidences, correct)
    if first_layer_weights is not None:
        out += filter_findings(first_layer_weights)
    if train_size and history.get("seconds"):
        out += speed_findings(history["seconds"], train_size)
    return out
