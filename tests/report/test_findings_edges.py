"""Findings at the exact edges of their rules, and the assembly in ``findings()`` (mutation
survivors of report/findings.py): hand-built inputs, hand-written expected sentences."""

import math

import numpy as np
import pytest

from convscope.report import findings as fd

X = np.tile([-1.0, 0.0, 1.0], (3, 1))  # the centred x grid of a 3x3 filter: Σ x² = 6


# ------------------------------------------------------------------ training health


def test_one_class_is_never_at_chance():
    # chance = 1/1: 1.5 x chance would flag every run; with one class there is nothing to learn
    assert fd.training_health({"loss": [1.0, 0.5], "accuracy": [0.5, 0.6]}, 1) is None


def test_health_without_a_training_loss():
    assert fd.training_health({"accuracy": [0.5, 0.9]}, 2) is None
    assert fd.training_health({"val_loss": [1.0, 0.9], "val_accuracy": [0.8, 0.9]}, 2) is None


def test_loss_exactly_one_percent_higher_is_not_diverging():
    first = 2.0
    at = first * (1 + fd.RISING_LOSS)  # the threshold itself: "exceeds by more than"
    assert fd.training_health({"loss": [first, at], "accuracy": [0.9, 0.9]}, 10) is None
    above = math.nextafter(at, math.inf)
    assert fd.training_health({"loss": [first, above], "accuracy": [0.9, 0.9]}, 10).startswith(
        "Training is diverging: the training loss rose from 2.0000 (epoch 1) to 2.0200 (epoch 2)"
    )


# ------------------------------------------------------------------ curves


def test_overfitting_without_a_training_loss():
    assert fd.overfitting_findings({"val_loss": [0.6, 0.5]}) == [
        "Validation loss fell to its lowest value in the last epoch (0.5000, epoch 2): no sign "
        "of overfitting within 2 epochs; more epochs may still help."
    ]


def test_overfitting_sentence_names_the_best_epoch():
    fell = {"loss": [0.9, 0.7, 0.5, 0.4], "val_loss": [0.6, 0.45, 0.5, 0.55]}
    assert fd.overfitting_findings(fell) == [
        "Validation loss was lowest at epoch 2 (0.4500) and then rose for 2 epochs (to 0.5500) "
        "while training loss kept falling (0.7000 → 0.4000): the model started to overfit from "
        "epoch 3."
    ]


def test_unstable_sentence_names_the_best_epoch():
    flat = {"loss": [0.9, 0.5, 0.6], "val_loss": [0.6, 0.45, 0.5]}
    assert fd.overfitting_findings(flat) == [
        "Validation loss was lowest at epoch 2 (0.4500) and rose afterwards, but training loss "
        "did not fall either (0.5000 → 0.6000): that points to an unstable optimisation "
        "(learning rate) rather than overfitting."
    ]


# ------------------------------------------------------------------ confusions


def test_three_confusions_by_default():
    cm = np.array([[10, 4, 3], [2, 10, 5], [1, 6, 10]])  # off-diagonal: 6, 5, 4, 3, 2, 1
    assert fd.confused_pairs(cm) == [(2, 1, 6, 6 / 17), (1, 2, 5, 5 / 17), (0, 1, 4, 4 / 17)]
    first = fd.confusion_findings(cm, ["a", "b", "c"])[0]
    assert first == (
        "The most frequent confusions: c taken for b 6 times (35.3% of c images); b taken for c "
        "5 times (29.4% of b images); a taken for b 4 times (23.5% of a images)."
    )


# ------------------------------------------------------------------ filters


def test_threshold_is_inclusive_for_edges_and_blobs():
    ramp = fd.classify_filter(X, threshold=1.0)  # a pure ramp: edge = 6·1²/6 = 1 exactly
    assert (ramp.kind, ramp.edge, ramp.blob) == ("edge", 1.0, 0.0)
    flat = fd.classify_filter(np.ones((3, 3)), threshold=1.0)  # blob = 1²·9/9 = 1 exactly
    assert (flat.kind, flat.blob, flat.edge) == ("blob", 1.0, 0.0)


def test_vertical_ramp_energy_and_angle():
    shape = fd.classify_filter(X.T * 2)  # intensity grows downwards: b = 2, energy 24
    assert shape.kind == "edge"
    assert shape.edge == pytest.approx(1.0) and shape.blob == pytest.approx(0.0)
    assert shape.angle == pytest.approx(-90.0)  # image y grows downwards
    diagonal = fd.classify_filter(X + X.T)  # a = b = 1: energy 12, all of it in the ramp
    assert diagonal.edge == pytest.approx(1.0) and diagonal.angle == pytest.approx(-45.0)


def test_integer_filters_are_computed_in_float64():
    w = (X * 100 + 20).astype(np.int8)  # int8 squares would overflow
    got = fd.classify_filter(w)
    energy = 9 * 20**2 + 6 * 100**2  # 63600
    assert got.kind == "edge"
    assert got.edge == pytest.approx(60000 / energy) and got.blob == pytest.approx(3600 / energy)


# ------------------------------------------------------------------ findings()


def _run(**extra):
    history = {
        "loss": [0.9, 0.5],
        "accuracy": [0.80, 0.85],
        "val_loss": [0.6, 0.5],
        "val_accuracy": [0.82, 0.88],
    }
    history.update(extra.pop("history", {}))
    cm = np.array([[9, 1], [2, 8]])
    return fd.findings(
        history=history, test_accuracy=0.87, confusion=cm, class_names=["a", "b"], **extra
    )


def test_findings_default_is_no_dropout():
    # test accuracy above training accuracy, dropout not mentioned unless has_dropout
    assert _run()[0] == (
        "Training accuracy 85.0% (averaged over epoch 2) against test accuracy 87.0%: -2.0 pp, "
        "test accuracy is higher than training accuracy."
    )


def test_findings_include_confidence_only_with_both_arrays():
    sentence = (
        "Mean confidence is 80.0% on correct predictions and 60.0% on wrong ones; 0.0% of the "
        "mistakes were made with over 90% confidence."
    )
    out = _run(confidences=np.array([0.9, 0.7, 0.6]), correct=np.array([True, True, False]))
    assert sentence in out
    assert not any("Mean confidence" in s for s in _run(correct=np.array([True, False])))
    assert not any("Mean confidence" in s for s in _run(confidences=np.array([0.9, 0.5])))


def test_findings_filter_sentence_is_added_to_the_others():
    plain = _run()
    out = _run(first_layer_weights=np.stack([X, np.ones((3, 3))])[:, None])
    assert out[: len(plain)] == plain
    assert out[len(plain)].startswith(
        "Of the first layer's 2 filters, 1 look like edge detectors and 1 like blob detectors"
    )


def test_findings_speed_from_the_history_seconds():
    out = _run(history={"seconds": [2.0, 4.0]}, train_size=600)
    assert out[-1] == (
        "An epoch — training on 600 images, forward and backward, then validation — took 3.0 s "
        "(median of 2 epochs): 200 training images per second on this CPU."
    )
    assert not any("An epoch" in s for s in _run(history={"seconds": [2.0, 4.0]}))
