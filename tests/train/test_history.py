"""History: Keras's shape, NaN back-fill, JSON round trip."""

import json
import math

import pytest

from convscope.train.history import History, resolve_mode


def make_history():
    h = History()
    h.append(0, {"loss": 1.0, "accuracy": 0.5, "lr": 1e-3, "seconds": 2.0})
    h.append(1, {"loss": 0.5, "accuracy": 0.7, "val_loss": 0.6, "lr": 1e-3, "seconds": 2.1})
    return h


def test_keras_shape():
    h = make_history()
    assert h.epoch == [0, 1]
    assert h.history["loss"] == [1.0, 0.5]
    assert h["accuracy"] == [0.5, 0.7]
    assert all(len(values) == 2 for values in h.history.values())
    assert math.isnan(h.history["val_loss"][0]) and h.history["val_loss"][1] == 0.6
    assert len(h) == 2 and "lr" in h
    assert h.last()["loss"] == 0.5


def test_json_round_trip():
    h = make_history()
    text = h.to_json()
    json.loads(text)  # valid JSON (NaN as Python's json writes it)
    back = History.from_json(text)
    assert back.epoch == h.epoch
    assert back.history["loss"] == h.history["loss"]
    assert math.isnan(back.history["val_loss"][0])
    assert History.from_dict(h.to_dict()).to_json() == text


def test_best():
    h = make_history()
    assert h.best("loss") == (1, 0.5)
    assert h.best("accuracy") == (1, 0.7)  # auto: max for accuracies
    assert h.best("val_loss") == (1, 0.6)  # NaN skipped
    with pytest.raises(KeyError, match="recorded keys: loss, accuracy"):
        h.best("val_accuracy")


def test_bad_values_and_shapes():
    with pytest.raises(ValueError, match="must be numbers; received loss='x'"):
        History().append(0, {"loss": "x"})
    with pytest.raises(ValueError, match="has 1 values for 2 epochs"):
        History.from_dict({"epoch": [0, 1], "history": {"loss": [1.0]}})
    with pytest.raises(ValueError, match="received mode='up'"):
        resolve_mode("up", "loss")
