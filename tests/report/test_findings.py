"""Each finding's rule at and around its thresholds: hand-built histories and matrices in,
hand-computed sentences out (never the library against itself)."""

import math

import numpy as np
import pytest

from convscope.report import findings as fd

NAN = math.nan


# ------------------------------------------------------------------ training health


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"loss": [2.3, NAN]}, "the training loss became NaN at epoch 2"),
        (
            {"loss": [2.3, 2.0], "val_loss": [math.inf, 1.0]},
            "validation loss became infinite at epoch 1",
        ),
    ],
)
def test_non_finite_loss_is_divergence(history, expected):
    sentence = fd.training_health(history, 10)
    assert sentence.startswith("Training diverged: ") and expected in sentence
    assert "learning rate is most likely too high" in sentence


@pytest.mark.parametrize(("accuracy", "flagged"), [(0.149, True), (0.151, False)])
def test_chance_level_is_one_and_a_half_times_one_over_k(accuracy, flagged):
    history = {"loss": [2.4, 2.3], "accuracy": [0.9, 0.9], "val_accuracy": [0.1, accuracy]}
    sentence = fd.training_health(history, 10)  # chance 10%: threshold 15%
    assert (sentence is not None) == flagged
    if flagged:
        assert sentence == (
            f"The model did not learn: its final validation accuracy, {100 * accuracy:.1f}%, is "
            "at chance level (10.0% for 10 classes). The learning rate is most likely too "
            "high; try one 10 times smaller (or, if the loss barely moved, larger)."
        )


def test_training_accuracy_is_used_without_validation():
    sentence = fd.training_health({"loss": [1.0, 0.9], "accuracy": [0.5, 0.6]}, 2)
    assert "final training accuracy, 60.0%" in sentence  # 2 classes: threshold 75%
    assert fd.training_health({"loss": [1.0, 0.9], "accuracy": [0.5, 0.76]}, 2) is None


@pytest.mark.parametrize(("last", "flagged"), [(1.0101, True), (1.0099, False)])
def test_rising_loss_beyond_one_percent(last, flagged):
    history = {"loss": [1.0, 0.8, last], "accuracy": [0.5, 0.6, 0.6]}
    sentence = fd.training_health(history, 10)
    assert (sentence is not None) == flagged
    if flagged:
        assert sentence.startswith(
            f"Training is diverging: the training loss rose from 1.0000 (epoch 1) to {last:.4f} "
            "(epoch 3) instead of falling."
        )


def test_a_diverged_run_is_never_called_a_plateau():
    # What `--lr 100` produced: finite falling loss, validation accuracy at chance.
    history = {
        "loss": [50.0, 40.0],
        "accuracy": [0.1, 0.1],
        "val_loss": [45.0, 30.0],
        "val_accuracy": [0.100, 0.101],
    }
    cm = np.eye(10, dtype=int) * 0
    cm[:, 3] = 10  # everything predicted as class 3
    out = fd.findings(
        history=history, test_accuracy=0.1, confusion=cm, class_names=list("abcdefghij")
    )
    assert out[0].startswith("The model did not learn")
    text = " ".join(out)
    assert "plateau" not in text and "more epochs may still help" not in text
    assert "overfit" not in text and "generalisation gap" not in text
    healthy = {**history, "val_accuracy": [0.8, 0.9], "accuracy": [0.8, 0.9]}
    text = " ".join(
        fd.findings(
            history=healthy, test_accuracy=0.9, confusion=cm, class_names=list("abcdefghij")
        )
    )
    assert "more epochs may still help" in text  # the same curves, learning: said as before


# ------------------------------------------------------------------ curves


def test_overfitting_rules():
    assert fd.overfitting_findings({"loss": [1.0]}) == [
        "No validation data was used, so overfitting could not be measured."
    ]
    assert fd.overfitting_findings({"loss": [1.0], "val_loss": [0.9]}) == [
        "Only one epoch was trained: too few to see a trend in validation loss."
    ]
    assert fd.overfitting_findings({"loss": [1.0, 0.8], "val_loss": [0.9, 0.7]}) == [
        "Validation loss fell to its lowest value in the last epoch (0.7000, epoch 2): no sign "
        "of overfitting within 2 epochs; more epochs may still help."
    ]
    fell = {"loss": [0.9, 0.5, 0.4], "val_loss": [0.6, 0.45, 0.5]}
    assert fd.overfitting_findings(fell)[0].endswith(
        "while training loss kept falling (0.5000 → 0.4000): the model started to overfit from "
        "epoch 3."
    )
    flat = {"loss": [0.9, 0.5, 0.5], "val_loss": [0.6, 0.45, 0.5]}  # train loss equal: not fell
    assert "unstable optimisation (learning rate)" in fd.overfitting_findings(flat)[0]


@pytest.mark.parametrize(
    ("last", "phrase"),
    [(0.8015, "added +0.1 pp: accuracy has plateaued"), (0.8025, "still added +0.2 pp")],
)
def test_epoch_gain_plateau_below_a_fifth_of_a_point(last, phrase):
    sentence = fd.epoch_gain_findings({"val_accuracy": [0.5, 0.8, last], "accuracy": [0.1] * 3})[0]
    assert sentence.startswith("Epoch 1 reached 50.0% validation accuracy; then epoch 2 +30.0 pp")
    assert phrase in sentence
    assert f"delivered {100 * 0.5 / last:.1f}% of the final accuracy" in sentence


def test_epoch_gain_single_epoch_and_training_accuracy():
    assert fd.epoch_gain_findings({"accuracy": [0.42]}) == [
        "After its single epoch the model reached 42.0% training accuracy."
    ]
    assert fd.epoch_gain_findings({}) == []


@pytest.mark.parametrize(
    ("train", "test", "verdict"),
    [
        (0.905, 0.87, "+3.5 pp, a sizeable generalisation gap"),
        (0.895, 0.87, "+2.5 pp, a small generalisation gap"),
        (0.895, 0.91, "-1.5 pp, test accuracy is higher than training accuracy."),
        (0.895, 0.90, "-0.5 pp, a small generalisation gap"),
    ],
)
def test_generalisation_gap_thresholds(train, test, verdict):
    sentence = fd.generalisation_findings({"accuracy": [0.5, train]}, test)[0]
    assert verdict in sentence and "(averaged over epoch 2)" in sentence


def test_generalisation_uses_the_evaluated_epoch_and_explains_dropout():
    sentence = fd.generalisation_findings(
        {"accuracy": [0.80, 0.95]}, 0.83, evaluated_epoch=1, has_dropout=True
    )[0]
    assert sentence == (
        "Training accuracy 80.0% (averaged over epoch 1, with dropout active) against test "
        "accuracy 83.0%: -3.0 pp, test accuracy is higher than training accuracy, as expected: "
        "dropout is active while training but not at test time."
    )


# ------------------------------------------------------------------ confusions, confidence


def test_confusions_mutual_pairs_and_classes_without_test_images():
    cm = np.array([[5, 3, 0], [1, 6, 0], [0, 0, 0]])  # class c has no test image
    assert fd.confused_pairs(cm) == [(0, 1, 3, 3 / 8), (1, 0, 1, 1 / 7)]
    assert fd.confusion_findings(cm, ["a", "b", "c"]) == [
        "The most frequent confusions: a taken for b 3 times (37.5% of a images); b taken for "
        "a 1 times (14.3% of b images).",
        "a and b are confused in both directions (3 and 1 times): the network has not found "
        "what separates them.",
        "Easiest class: b (85.7% correct); hardest: a (62.5% correct), a spread of 23.2 pp.",
    ]
    assert fd.confusion_findings(np.diag([3, 4]), ["a", "b"])[0] == (
        "No test image was misclassified."
    )


def test_confidence_counts_mistakes_strictly_above_ninety_percent():
    conf = np.array([0.95, 0.5, 0.91, 0.9])
    correct = np.array([True, False, False, False])
    assert fd.confidence_findings(conf, correct) == [
        "Mean confidence is 95.0% on correct predictions and 77.0% on wrong ones; 33.3% of "
        "the mistakes were made with over 90% confidence."
    ]
    assert fd.confidence_findings(conf, np.ones(4, bool)) == []
    assert fd.confidence_findings(conf, np.zeros(4, bool)) == []


# ------------------------------------------------------------------ filters


def ramp(constant, slope):
    x = np.array([-1.0, 0.0, 1.0])
    return constant + slope * np.tile(x, (3, 1))  # energy 9c² + 6a²: blob 9c²/E, edge 6a²/E


def test_filter_kinds_at_the_half_energy_threshold():
    at = fd.classify_filter(ramp(1.0, math.sqrt(1.5)))  # edge = blob = 0.5
    assert at.kind == "edge" and at.edge == pytest.approx(0.5) and at.blob == pytest.approx(0.5)
    below = fd.classify_filter(ramp(1.0, math.sqrt(1.4)))  # edge 0.483, blob 0.517
    assert below.kind == "blob" and below.edge == pytest.approx(8.4 / 17.4)
    assert fd.classify_filter(ramp(1.0, math.sqrt(1.5)), threshold=0.6).kind == "other"
    checker = np.array([[1.0, -1, 1], [-1, 1, -1], [1, -1, 1]])
    assert fd.classify_filter(checker).kind == "other"
    assert fd.classify_filter(np.stack([ramp(0, 1), ramp(0, 1)])).angle == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("angle", "name"),
    [
        (22.4, "vertical"),
        (22.5, "diagonal"),
        (67.5, "diagonal"),
        (67.6, "horizontal"),
        (180.0, "vertical"),
        (-90.0, "horizontal"),
        (-45.0, "diagonal"),
    ],
)
def test_orientation_boundaries(angle, name):
    assert fd._orientation(angle) == name


def test_filter_counts():
    weights = np.stack([ramp(0, 1), ramp(0, 1).T, np.ones((3, 3)), np.eye(3) - 1 / 3])[:, None]
    sentence = fd.filter_findings(weights)[0]
    assert sentence.startswith(
        "Of the first layer's 4 filters, 2 look like edge detectors and 1 like blob detectors"
    )
    assert "the other 1 mix several patterns" in sentence
    assert sentence.endswith("Edge orientations: 1 horizontal, 1 vertical.")
    assert fd.filter_findings(np.ones((3, 3))) == []


# ------------------------------------------------------------------ speed


def test_timing_ignores_untimed_epochs():
    assert fd.epoch_timing([2.0, 0.0, 4.0, 3.0], 600) == {
        "median": 3.0,
        "total": 9.0,
        "epochs": 3,
        "images_per_second": 200.0,
    }
    assert fd.epoch_timing([0.0], 600) == {}
    assert fd.speed_findings([3.0], 1200) == [
        "An epoch — training on 1,200 images, forward and backward, then validation — took "
        "3.0 s (median of 1 epoch): 400 training images per second on this CPU."
    ]
