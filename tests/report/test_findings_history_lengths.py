"""Overfitting findings when the training-loss history does not match the validation one."""

import pytest

from convscope.report.findings import overfitting_findings


@pytest.mark.parametrize("train", [[], [1.0], [1.0, 0.8, 0.7, 0.6]])
def test_a_rise_in_validation_loss_without_matching_training_loss_is_reported_not_raised(train):
    history = {"val_loss": [0.6, 0.45, 0.5], "loss": train}
    (finding,) = overfitting_findings(history)
    assert "lowest at epoch 2 (0.4500)" in finding and "to 0.5000" in finding
    assert "training loss of those epochs is not recorded" in finding


def test_matching_histories_still_tell_overfitting_from_instability():
    rose = overfitting_findings({"val_loss": [0.6, 0.45, 0.5], "loss": [1.0, 0.8, 0.7]})[0]
    assert "started to overfit from epoch 3" in rose
    unstable = overfitting_findings({"val_loss": [0.6, 0.45, 0.5], "loss": [1.0, 0.8, 0.9]})[0]
    assert "unstable optimisation" in unstable
