"""More of each finding's rule at its exact boundaries (mutation survivors of
report/findings.py): thresholds hit exactly (values chosen so the float arithmetic is
exact), the last rather than the second epoch, short or missing histories, JSON nulls,
integer masks, tiny filters, and findings() passing its options through."""

import numpy as np
import pytest

from convscope.report import findings as fd

X = np.tile([-1.0, 0.0, 1.0], (3, 1))  # the centred x grid of a 3x3 filter


# ------------------------------------------------------------------ training health


def test_a_json_null_loss_is_nan():
    sentence = fd.training_health({"loss": [2.3, None], "accuracy": [0.5, 0.5]}, 10)
    assert sentence.startswith("Training diverged: the training loss became NaN at epoch 2.")


def test_health_without_any_accuracy():
    assert fd.training_health({"loss": [1.0, 0.9]}, 10) is None


def test_chance_uses_the_last_epoch_and_is_strict():
    # 4 classes: chance 0.25, threshold 1.5 · 0.25 = 0.375 exactly
    assert fd.training_health({"loss": [1.0, 0.9], "val_accuracy": [0.1, 0.1, 0.375]}, 4) is None
    sentence = fd.training_health({"loss": [1.0, 0.9], "val_accuracy": [0.9, 0.1, 0.25]}, 4)
    assert sentence.startswith(
        "The model did not learn: its final validation accuracy, 25.0%, is at chance level "
        "(25.0% for 4 classes)."
    )


def test_two_epochs_are_enough_to_see_a_rising_loss():
    sentence = fd.training_health({"loss": [1.0, 2.0], "accuracy": [0.9, 0.9]}, 10)
    assert sentence.startswith(
        "Training is diverging: the training loss rose from 1.0000 (epoch 1) to 2.0000 (epoch 2)"
    )


# ------------------------------------------------------------------ curves


def test_lowest_in_the_last_of_three_epochs():
    assert fd.overfitting_findings({"loss": [1.0, 0.9, 0.8], "val_loss": [0.9, 0.8, 0.7]}) == [
        "Validation loss fell to its lowest value in the last epoch (0.7000, epoch 3): no sign "
        "of overfitting within 3 epochs; more epochs may still help."
    ]


def test_training_history_of_another_length_is_not_read_as_falling():
    # It used to claim "training loss kept falling (0.4000 → 0.6000)": epochs of the two
    # histories do not line up, so the training loss is not compared at all.
    history = {"loss": [0.5, 0.4, 0.45, 0.6], "val_loss": [0.6, 0.45, 0.5]}
    assert fd.overfitting_findings(history) == [
        "Validation loss was lowest at epoch 2 (0.4500) and then rose for 1 epoch (to 0.5000); "
        "the training loss of those epochs is not recorded, so overfitting cannot be told apart "
        "from an unstable optimisation."
    ]


def test_epoch_gains_sentence_in_full():
    assert fd.epoch_gain_findings({"accuracy": [0.5, 0.75, 1.0]}) == [
        "Epoch 1 reached 50.0% training accuracy; then epoch 2 +25.0 pp, epoch 3 +25.0 pp. The "
        "last epoch still added +25.0 pp: training longer should help. The first epoch alone "
        "delivered 50.0% of the final accuracy."
    ]


def test_epoch_gain_with_a_final_accuracy_of_zero():
    sentence = fd.epoch_gain_findings({"accuracy": [0.2, 0.5, 0.0]})[0]
    assert sentence.endswith("The first epoch alone delivered 0.0% of the final accuracy.")


def test_a_gain_of_exactly_a_fifth_of_a_point_still_helps():
    sentence = fd.epoch_gain_findings({"accuracy": [0.0, 0.002]})[0]  # 0.002 · 100 = 0.2 exactly
    assert "The last epoch still added +0.2 pp: training longer should help." in sentence


def test_generalisation_without_training_accuracy_and_a_large_gap():
    assert fd.generalisation_findings({"loss": [1.0]}, 0.5) == []
    sentence = fd.generalisation_findings({"accuracy": [0.95]}, 0.5)[0]
    assert "against test accuracy 50.0%: +45.0 pp, a sizeable generalisation gap" in sentence


@pytest.mark.parametrize(
    ("train", "test", "verdict"),
    [
        (0.03, 0.0, "+3.0 pp, a small generalisation gap"),
        (0.0, 0.01, "-1.0 pp, a small generalisation gap"),
    ],
)
def test_generalisation_gap_exactly_at_the_thresholds_is_small(train, test, verdict):
    assert verdict in fd.generalisation_findings({"accuracy": [train]}, test)[0]  # exact in floats


# ------------------------------------------------------------------ confusions, confidence


def test_share_of_a_class_with_one_image():
    cm = np.array([[0, 1], [0, 5]])
    assert fd.confused_pairs(cm) == [(0, 1, 1, 1.0)]
    assert fd.confusion_findings(cm, ["a", "b"])[-1] == (
        "Easiest class: b (100.0% correct); hardest: a (0.0% correct), a spread of 100.0 pp."
    )


def test_top_is_passed_on_and_one_way_confusions_are_not_mutual():
    cm = np.array([[10, 4, 3], [0, 10, 0], [0, 0, 10]])  # a taken for b and c; never back
    out = fd.confusion_findings(cm, ["a", "b", "c"], top=1)
    assert out[0] == "The most frequent confusions: a taken for b 4 times (23.5% of a images)."
    out = fd.confusion_findings(cm, ["a", "b", "c"])
    assert not any("both directions" in s for s in out)


def test_confidence_with_an_integer_mask():
    conf = np.array([0.95, 0.5, 0.91, 0.9])
    assert (
        fd.confidence_findings(conf, np.array([1, 0, 0, 0]))
        == fd.confidence_findings(conf, np.array([True, False, False, False]))
        == [
            "Mean confidence is 95.0% on correct predictions and 77.0% on wrong ones; 33.3% of "
            "the mistakes were made with over 90% confidence."
        ]
    )


# ------------------------------------------------------------------ filters


def test_two_pixel_ramps_are_edges():
    across = fd.classify_filter(np.array([[-1.0, 1.0]]))  # Σ x² = 0.5: a = 2, edge = 4·0.5/2
    down = fd.classify_filter(np.array([[-1.0], [1.0]]))
    assert (across.kind, across.edge, across.angle) == ("edge", 1.0, 0.0)
    assert (down.kind, down.edge, down.angle) == ("edge", 1.0, -90.0)


def test_edge_wins_a_tie_with_blob():
    shape = fd.classify_filter(np.array([[0.0, 2.0], [0.0, 2.0]]))  # blob = edge = 4/8 exactly
    assert (shape.kind, shape.blob, shape.edge) == ("edge", 0.5, 0.5)


def test_orientation_of_an_angle_past_ninety_degrees():
    assert fd._orientation(157.6) == "vertical"  # 22.4° from a horizontal ramp
    assert fd._orientation(-157.6) == "vertical"


def test_filter_findings_passes_the_threshold_and_counts_orientations():
    weights = np.stack([X, 2 * X, X + 0.4 * np.ones((3, 3))])[
        :, None
    ]  # edge share of the 3rd: 6/7.44
    sentence = fd.filter_findings(weights)[0]
    assert sentence.startswith("Of the first layer's 3 filters, 3 look like edge detectors")
    assert sentence.endswith("Edge orientations: 3 vertical.")
    strict = fd.filter_findings(weights, threshold=0.9)[0]
    assert strict.startswith("Of the first layer's 3 filters, 2 look like edge detectors")
    assert "explains at least 90.0% of its squared weights" in strict


# ------------------------------------------------------------------ speed and findings()


def test_sub_second_epochs_are_timed():
    assert fd.epoch_timing([0.5, 0.25], 100) == {
        "median": 0.375,
        "total": 0.75,
        "epochs": 2,
        "images_per_second": 100 / 0.375,
    }


def _healthy(**extra):
    history = {
        "loss": [0.9, 0.5, 0.4],
        "accuracy": [0.80, 0.85, 0.95],
        "val_loss": [0.6, 0.45, 0.5],
        "val_accuracy": [0.82, 0.88, 0.87],
    }
    return fd.findings(
        history=history,
        test_accuracy=0.9,
        confusion=np.array([[9, 1], [2, 8]]),
        class_names=["a", "b"],
        **extra,
    )


def test_findings_keep_every_curve_sentence_in_order():
    out = _healthy()
    assert out[0].startswith("Training accuracy 95.0% (averaged over epoch 3)")
    assert out[1].startswith("Epoch 1 reached 82.0% validation accuracy")
    assert out[2].startswith("Validation loss was lowest at epoch 2")
    assert out[3].startswith("The most frequent confusions:")


def test_findings_pass_the_evaluated_epoch_and_dropout_on():
    out = _healthy(evaluated_epoch=2, has_dropout=True)
    assert out[0] == (
        "Training accuracy 85.0% (averaged over epoch 2, with dropout active) against test "
        "accuracy 90.0%: -5.0 pp, test accuracy is higher than training accuracy, as expected: "
        "dropout is active while training but not at test time."
    )
    assert _healthy(has_dropout=True)[0].startswith(
        "Training accuracy 95.0% (averaged over epoch 3, with dropout active)"
    )
