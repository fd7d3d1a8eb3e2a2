"""Callbacks: early stopping, checkpoints, schedulers, CSV/JSON logs."""

import csv
import json
import math

import numpy as np
import pytest

from convscope import optim
from convscope.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
    fit,
    load_checkpoint,
)
from train.train_helpers import assert_same_weights, small_cnn, weights


class Script(Callback):
    """Overwrites logs[key] with scripted values (runs before the callbacks after it)
    and snapshots the weights at every epoch end."""

    def __init__(self, key, values):
        self.key, self.values, self.snapshots = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.trainer.history.history[self.key][-1] = self.values[epoch]
        self.snapshots.append(weights(self.model))


def test_early_stopping_stops_after_patience_and_restores_best(seeded, data, val_data):
    script = Script("val_loss", [3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    model = small_cnn()
    history = fit(model, data, val_data, epochs=6, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2, 3]
    assert (stop.best_epoch, stop.stopped_epoch, stop.best) == (1, 3, 1.0)
    assert_same_weights(weights(model), script.snapshots[1])


def test_early_stopping_keeps_last_weights_by_default(seeded, data, val_data):
    script = Script("val_loss", [1.0, 2.0, 3.0])
    model = small_cnn()
    fit(model, data, val_data, epochs=3, verbose=0, callbacks=[script, EarlyStopping()])
    assert len(script.snapshots) == 2  # patience 0: stops at the first non-improvement
    assert_same_weights(weights(model), script.snapshots[1])


def test_early_stopping_min_delta_and_max_mode(seeded, data, val_data):
    script = Script("val_accuracy", [0.50, 0.505, 0.509, 0.70])
    stop = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.01)
    history = fit(small_cnn(), data, val_data, epochs=4, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2] and stop.best == 0.50


def test_monitor_missing_is_a_clear_error(seeded, data):
    with pytest.raises(
        ValueError,
        match=r"EarlyStopping\(monitor='val_loss'\) found no 'val_loss'"
        r" in the epoch logs; available: loss, accuracy, lr, seconds\. Pass val_data",
    ):
        fit(small_cnn(), data, epochs=2, verbose=0, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="`patience` must be >= 0; received patience=-1"):
        EarlyStopping(patience=-1)


def test_model_checkpoint_best_and_last(seeded, data, val_data, tmp_path):
    script = Script("val_loss", [2.0, 1.0, 3.0])
    ckpt = ModelCheckpoint(tmp_path / "run")
    model = small_cnn()
    history = fit(model, data, val_data, epochs=3, verbose=0, callbacks=[script, ckpt])
    last = load_checkpoint(tmp_path / "run" / "last.npz")
    best = load_checkpoint(tmp_path / "run" / "best.npz")
    assert (last["epoch"], best["epoch"]) == (3, 2)
    assert_same_weights(last["model"], weights(model))
    assert_same_weights(best["model"], script.snapshots[1])
    assert last["history"].to_json() == history.to_json()
    assert best["history"].history["val_loss"] == [2.0, 1.0]
    assert {"optimizer", "rng"} <= set(last)
    assert last["callbacks"]["ModelCheckpoint"]["best"] == 1.0
    fresh = small_cnn()
    fresh.load_state_dict(best["model"])
    assert_same_weights(weights(fresh), script.snapshots[1])


def test_model_checkpoint_last_only(seeded, data, tmp_path):
    fit(
        small_cnn(),
        data,
        epochs=1,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path, monitor="loss", save_best=False)],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]
    with pytest.raises(ValueError, match="save_best=True or save_last=True"):
        ModelCheckpoint(tmp_path, save_best=False, save_last=False)


def test_checkpoint_dir_argument(seeded, data, tmp_path):
    fit(small_cnn(), data, epochs=2, verbose=0, checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]
    assert load_checkpoint(tmp_path / "last.npz")["epoch"] == 2


def test_learning_rate_scheduler_callback(seeded, data):
    model = small_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = LearningRateScheduler(optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1))
    history = fit(model, data, epochs=4, optimizer=opt, verbose=0, callbacks=[step])
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.01])


def test_learning_rate_schedule_function(seeded, data):
    model = small_cnn()
    schedule = LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    history = fit(model, data, epochs=3, verbose=0, callbacks=[schedule])
    assert history.history["lr"] == pytest.approx([0.01, 0.005, 0.01 / 3])


def test_plateau_scheduler_callback_uses_its_monitor(seeded, data):
    model = small_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
    script = Script("loss", [1.0, 2.0, 3.0, 4.0])
    fit(
        model,
        data,
        epochs=4,
        optimizer=opt,
        verbose=0,
        callbacks=[script, LearningRateScheduler(plateau, monitor="loss")],
    )
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def test_csv_and_json_loggers(seeded, data, val_data, tmp_path):
    history = fit(
        small_cnn(),
        data,
        val_data,
        epochs=3,
        verbose=0,
        callbacks=[CSVLogger(tmp_path / "log.csv"), JSONLogger(tmp_path / "h.json")],
    )
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", *history.history]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values  # repr: exact round trip
    assert json.loads((tmp_path / "h.json").read_text()) == history.to_dict()
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("log.csv", "h.json")] == []


def test_terminate_on_nan(seeded, data):
    def nan_loss(output, target):
        return (output * float("nan")).mean()

    history = fit(
        small_cnn(),
        data,
        epochs=3,
        loss=nan_loss,
        metrics=[],
        verbose=0,
        callbacks=[TerminateOnNaN()],
    )
    assert history.epoch == [0] and math.isnan(history.history["loss"][0])


def test_callback_state_names_and_unknown_hook():
    from convscope.train.callbacks import CallbackList, LambdaCallback

    cbs = CallbackList([ModelCheckpoint("x"), EarlyStopping(), EarlyStopping(monitor="loss")])
    assert cbs.names() == ["EarlyStopping", "EarlyStopping_1", "ModelCheckpoint"]
    with pytest.raises(ValueError, match="unknown hook 'on_step'"):
        LambdaCallback(on_step=print)
    assert np.isinf(EarlyStopping().best)
