"""Checkpoints and resume: an interrupted-then-resumed run ends bitwise where an
uninterrupted one does (Dropout, shuffling, Adam state, scheduler and callbacks included)."""

import numpy as np
import pytest

import convscope
from convscope import optim
from convscope.data import DataLoader
from convscope.train import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    fit,
    load_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from train.train_helpers import assert_same_weights, quadrant_data, small_cnn, weights


class Interrupt(Exception):
    pass


class RaiseAt(Callback):
    """Simulates a crash in the middle of an epoch."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise Interrupt


class EpochCounter(Callback):
    """A callback with state: resumed runs must carry its count on."""

    def __init__(self):
        self.count = 0

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = int(state["count"])


def run(epochs, *, resume_from=None, checkpoint_dir=None, extra_callbacks=(), loader=None):
    """One 'script': a fresh model, Adam, StepLR, EarlyStopping; seeded the same way."""
    convscope.manual_seed(0)
    model = small_cnn()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    stop = EarlyStopping(monitor="val_loss", patience=10)
    stop.counter = counter = EpochCounter()
    train = loader if loader is not None else quadrant_data()
    history = fit(
        model,
        train,
        quadrant_data(n=40, seed=1),
        epochs=epochs,
        batch_size=16,
        optimizer=opt,
        scheduler=sched,
        callbacks=[stop, counter, *extra_callbacks],
        checkpoint_dir=checkpoint_dir,
        resume_from=resume_from,
        verbose=0,
    )
    return model, opt, history, stop


def assert_same_optimizer_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"][0]["lr"] == sb["param_groups"][0]["lr"]
    for key in sa["state"]:
        for name, value in sa["state"][key].items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(sb["state"][key][name]))


def test_resume_after_two_epochs_is_bitwise_identical(tmp_path):
    straight, straight_opt, straight_history, straight_stop = run(3)
    run(2, checkpoint_dir=tmp_path)
    resumed, resumed_opt, history, stop = run(3, resume_from=tmp_path / "last.npz")
    assert_same_weights(weights(straight), weights(resumed))
    assert_same_optimizer_state(straight_opt, resumed_opt)
    assert history.epoch == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert history.history[key] == straight_history.history[key], key
    assert (stop.best, stop.best_epoch, stop.wait) == (
        straight_stop.best,
        straight_stop.best_epoch,
        straight_stop.wait,
    )
    assert stop.counter.count == straight_stop.counter.count == 3


def test_crash_mid_epoch_then_resume_from_last_checkpoint(tmp_path):
    straight, *_ = run(3)
    with pytest.raises(Interrupt):
        run(3, checkpoint_dir=tmp_path, extra_callbacks=[RaiseAt(epoch=2, batch=3)])
    assert load_checkpoint(tmp_path / "last.npz")["epoch"] == 2
    resumed, _, history, _ = run(3, checkpoint_dir=tmp_path, resume_from=tmp_path)  # a directory
    assert_same_weights(weights(straight), weights(resumed))
    assert history.epoch == [0, 1, 2]
    assert load_checkpoint(tmp_path / "last.npz")["epoch"] == 3


def test_resume_with_the_loaders_own_generator(tmp_path):
    def loader():
        x, y = quadrant_data()
        return DataLoader((x, y), batch_size=16, shuffle=True, generator=np.random.default_rng(7))

    straight, *_ = run(3, loader=loader())
    run(2, checkpoint_dir=tmp_path, loader=loader())
    resumed, *_ = run(3, resume_from=tmp_path / "last.npz", loader=loader())
    assert_same_weights(weights(straight), weights(resumed))


def test_resume_past_the_end_trains_nothing(tmp_path, capsys):
    run(2, checkpoint_dir=tmp_path)
    model, _, history, _ = run(2, resume_from=tmp_path / "last.npz")
    assert history.epoch == [0, 1]
    assert_same_weights(weights(model), load_checkpoint(tmp_path / "last.npz")["model"])


def test_save_restore_roundtrip_and_rng(tmp_path, seeded):
    model = small_cnn()
    opt = optim.Adam(model.parameters())
    fit(model, quadrant_data(), epochs=1, optimizer=opt, verbose=0)
    path = save_checkpoint(tmp_path / "c.npz", model=model, optimizer=opt, epoch=1)
    expected_draw = convscope.generator().random(3)
    fresh = small_cnn()
    fresh_opt = optim.Adam(fresh.parameters())
    assert restore_checkpoint(path, fresh, fresh_opt) == 1
    np.testing.assert_array_equal(convscope.generator().random(3), expected_draw)
    assert_same_weights(weights(model), weights(fresh))
    assert_same_optimizer_state(opt, fresh_opt)
    with pytest.raises(ValueError, match="holds no scheduler state"):
        restore_checkpoint(path, fresh, fresh_opt, optim.lr_scheduler.StepLR(fresh_opt, 1))


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "missing.npz")
    from convscope.serialization import save

    save({"0.weight": np.zeros(2)}, tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="is not a convscope training checkpoint"):
        load_checkpoint(tmp_path / "weights.npz")


def test_checkpoint_callback_writes_best_and_last_atomically(tmp_path, seeded):
    fit(
        small_cnn(),
        quadrant_data(),
        epochs=2,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path, monitor="loss")],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]  # no temp files
