"""Interrupts: a training stopped mid-epoch (as by Ctrl-C) checkpoints its position and
resumes to bitwise the same weights, history and optimizer state as an uninterrupted run."""

import os
import signal

import numpy as np
import pytest

import convscope
from convscope import optim
from convscope.data import DataLoader, transforms
from convscope.train import (
    Callback,
    ModelCheckpoint,
    Trainer,
    TrainingInterrupted,
    load_checkpoint,
    stop_on_signals,
)
from train.train_helpers import assert_same_weights, quadrant_data, small_cnn, weights


class InterruptAt(Callback):
    """Requests an interrupt after training batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch, signum=signal.SIGINT):
        self.at, self.signum, self.epoch = (epoch, batch), signum, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.trainer.request_interrupt(self.signum)


def make_trainer(tmp_path, extra=()):
    convscope.manual_seed(0)
    model = small_cnn()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    callbacks = [ModelCheckpoint(tmp_path, monitor="val_loss"), *extra]
    return Trainer(model, opt, scheduler=sched, callbacks=callbacks)


def train(trainer, resume_from=None):
    # Augmentation draws from the global generator on every batch: the resumed epoch
    # must continue both the sample order and that stream exactly.
    loader = DataLoader(
        quadrant_data(), batch_size=16, shuffle=True, transform=transforms.RandomShift(1)
    )
    return trainer.fit(
        loader, quadrant_data(n=40, seed=1), epochs=3, verbose=0, resume_from=resume_from
    )


def test_interrupted_twice_mid_epoch_resumes_bitwise(tmp_path):
    straight = make_trainer(tmp_path / "straight")
    train(straight)
    path = tmp_path / "run" / "last.npz"
    for epoch, batch in ((0, 2), (1, 4)):
        trainer = make_trainer(tmp_path / "run", [InterruptAt(epoch, batch)])
        with pytest.raises(TrainingInterrupted) as info:
            train(trainer, resume_from=path if path.exists() else None)
        assert (info.value.epoch, info.value.batch, info.value.signum) == (
            epoch,
            batch + 1,
            signal.SIGINT,
        )
        trainer.save_checkpoint(path)
        saved = load_checkpoint(path)
        assert saved["epoch"] == epoch and saved["position"]["batch"] == batch + 1
        assert sorted(saved["position"]["order"].tolist()) == list(range(96))
    resumed = make_trainer(tmp_path / "run")
    history = train(resumed, resume_from=path)
    assert_same_weights(weights(straight.model), weights(resumed.model))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert history.history[key] == straight.history.history[key], key
    assert history.epoch == [0, 1, 2]
    assert "position" not in load_checkpoint(path)  # epoch ends write plain checkpoints


def test_interrupt_between_epochs_stops_before_the_next(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.request_interrupt(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as info:
        train(trainer)
    assert (info.value.epoch, info.value.batch) == (0, None)
    assert trainer.history.epoch == []


def test_stop_on_signals_turns_the_first_signal_into_a_request():
    class Recorder:
        signums: list = []

        def request_interrupt(self, signum):
            self.signums.append(signum)

    recorder = Recorder()
    before = signal.getsignal(signal.SIGINT)
    with stop_on_signals(recorder):
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
            os.kill(os.getpid(), signal.SIGTERM)
    assert recorder.signums == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is before


def test_iter_from_continues_the_saved_order_without_drawing():
    convscope.manual_seed(3)
    loader = DataLoader(
        (np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1), np.arange(10)), 4, True
    )
    full = [y.tolist() for _, y in loader]
    state = convscope.get_rng_state()
    rest = [y.tolist() for _, y in loader.iter_from(loader.epoch_order, 1)]
    assert rest == full[1:] and convscope.get_rng_state() == state
    with pytest.raises(ValueError, match="expected an order of 10 sample indices"):
        loader.iter_from(np.arange(9), 0)
