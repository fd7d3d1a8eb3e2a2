"""fit: History, modes, losses, optimizers, schedulers, data kinds, output, reproducibility."""

import numpy as np
import pytest

import convscope
from convscope import is_grad_enabled, nn, optim
from convscope.data import DataLoader, Dataset
from convscope.train import Callback, LambdaCallback, Trainer, fit
from train.train_helpers import assert_same_weights, quadrant_data, small_cnn, weights


def train_once(seed=0, **kwargs):
    convscope.manual_seed(seed)
    model = small_cnn()
    x, y = quadrant_data()
    kwargs.setdefault("epochs", 2)
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("verbose", 0)
    history = fit(model, kwargs.pop("train_data", (x, y)), **kwargs)
    return model, history


def test_history_keys_and_shape(seeded, data, val_data):
    history = fit(small_cnn(), data, val_data, epochs=3, batch_size=16, verbose=0)
    assert history.epoch == [0, 1, 2]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.history["lr"] == [1e-3] * 3
    assert all(s > 0 for s in history.history["seconds"])
    assert all(0 <= a <= 1 for a in history.history["val_accuracy"])
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_learns_the_toy_task(seeded, data):
    model = small_cnn()
    history = fit(
        model,
        data,
        data,
        epochs=15,
        batch_size=16,
        verbose=0,
        optimizer=optim.Adam(model.parameters(), lr=1e-2),
    )
    assert history.history["val_accuracy"][-1] >= 0.9


class ModeProbe(nn.Module):
    """Records (training flag, grad enabled) at every forward call."""

    def __init__(self):
        super().__init__()
        self.net = small_cnn()
        object.__setattr__(self, "calls", [])

    def forward(self, x):
        self.calls.append((self.training, is_grad_enabled(), x.shape[0]))
        return self.net(x)


def test_train_mode_for_training_eval_and_no_grad_for_validation(seeded, data, val_data):
    model = ModeProbe()
    fit(model, data, val_data, epochs=1, batch_size=32, verbose=0)
    train_calls = [c for c in model.calls if c[0]]
    val_calls = [c for c in model.calls if not c[0]]
    assert [c[2] for c in train_calls] == [32, 32, 32]
    assert all(c[1] for c in train_calls)
    assert [c[2] for c in val_calls] == [32, 8] and not any(c[1] for c in val_calls)
    assert model.training  # left as it was before fit


def test_default_optimizer_is_adam_1e3(seeded):
    trainer = Trainer(small_cnn())
    assert isinstance(trainer.optimizer, optim.Adam)
    assert trainer.optimizer.param_groups[0]["lr"] == 1e-3


def test_loss_by_name_function_or_module_gives_the_same_run():
    a, _ = train_once(loss="cross_entropy")
    b, _ = train_once(loss=nn.functional.cross_entropy)
    c, _ = train_once(loss=nn.CrossEntropyLoss())
    d, _ = train_once(loss="sparse_categorical_crossentropy")
    for other in (b, c, d):
        assert_same_weights(weights(a), weights(other))


def test_data_as_tuple_dataset_or_loader_gives_the_same_run():
    x, y = quadrant_data()
    a, _ = train_once(train_data=(x, y))
    b, _ = train_once(train_data=Dataset(x, y, ["a", "b", "c", "d"]))
    c, _ = train_once(train_data=DataLoader((x, y), batch_size=16, shuffle=True))
    assert_same_weights(weights(a), weights(b))
    assert_same_weights(weights(a), weights(c))


def test_same_seed_same_weights_bitwise():
    """manual_seed(0) then the same script twice: init, shuffling and dropout all repeat."""
    a, ha = train_once(epochs=3)
    b, hb = train_once(epochs=3)
    assert_same_weights(weights(a), weights(b))
    assert ha.history["loss"] == hb.history["loss"]
    c, _ = train_once(seed=1, epochs=3)
    assert not np.array_equal(weights(a)["0.weight"], weights(c)["0.weight"])


def test_no_shuffle_changes_the_run():
    a, _ = train_once()
    b, _ = train_once(shuffle=False)
    assert not np.array_equal(weights(a)["5.weight"], weights(b)["5.weight"])


def test_transform_applies_to_training_batches_only(seeded, data, val_data):
    seen = {"train": [], "val": []}

    def train_tf(x):
        seen["train"].append(x.shape[0])
        return x

    def val_tf(x):
        seen["val"].append(x.shape[0])
        return x

    fit(
        small_cnn(),
        data,
        val_data,
        epochs=1,
        batch_size=48,
        verbose=0,
        transform=train_tf,
        val_transform=val_tf,
    )
    assert seen == {"train": [48, 48], "val": [40]}


def test_scheduler_steps_each_epoch(seeded, data):
    model = small_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        data,
        epochs=3,
        optimizer=opt,
        verbose=0,
        scheduler=optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
    )
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_plateau_scheduler_is_fed_val_loss(seeded, data, val_data):
    fed = []

    class Recording(optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            fed.append(metrics)
            super().step(metrics)

    model = small_cnn()
    opt = optim.Adam(model.parameters())
    history = fit(
        model, data, val_data, epochs=2, optimizer=opt, verbose=0, scheduler=Recording(opt)
    )
    assert fed == history.history["val_loss"]


def test_metric_functions(seeded, data):
    def top2(y_true, scores):
        return float(np.mean(np.any(np.argsort(scores, axis=1)[:, -2:] == y_true[:, None], 1)))

    history = fit(small_cnn(), data, data, epochs=1, verbose=0, metrics=["acc", top2])
    assert {"accuracy", "top2", "val_top2"} <= set(history.history)
    assert history.history["val_top2"][0] >= history.history["val_accuracy"][0]


def test_stop_training_from_a_batch_callback(seeded, data):
    batches = []

    class StopAfterTwo(Callback):
        def on_batch_end(self, batch, logs=None):
            batches.append((batch, logs["size"]))
            if batch == 1:
                self.trainer.stop_training = True

    history = fit(small_cnn(), data, epochs=5, batch_size=16, verbose=0, callbacks=[StopAfterTwo()])
    assert batches == [(0, 16), (1, 16)]
    assert history.epoch == [0]


def test_hooks_called_in_order(seeded, data):
    events = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda e, logs: events.append(f"epoch_begin {e}"),
        on_batch_begin=lambda b, logs: events.append("b"),
        on_epoch_end=lambda e, logs: events.append(f"epoch_end {e} {sorted(logs)}"),
        on_train_end=lambda logs: events.append("train_end"),
    )
    fit(small_cnn(), data, epochs=2, batch_size=48, verbose=0, callbacks=[cb])
    keys = "['accuracy', 'loss', 'lr', 'seconds']"
    assert events == [
        "train_begin",
        "epoch_begin 0",
        "b",
        "b",
        f"epoch_end 0 {keys}",
        "epoch_begin 1",
        "b",
        "b",
        f"epoch_end 1 {keys}",
        "train_end",
    ]


def test_trainer_epochs_count_the_total(seeded, data):
    trainer = Trainer(small_cnn())
    trainer.fit(data, epochs=2, verbose=0)
    history = trainer.fit(data, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2]


def test_output_silent_or_plain_lines_when_not_a_terminal(seeded, data, val_data, capsys):
    fit(small_cnn(), data, val_data, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    fit(small_cnn(), data, val_data, epochs=2, verbose=1)  # captured stdout is not a tty
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ") and lines[1].startswith("Epoch 2/2 - ")
    for part in ("img/s", "loss: ", "accuracy: ", "val_loss: ", "val_accuracy: ", "lr: 0.001"):
        assert part in lines[1]


def test_bad_arguments(data):
    model = small_cnn()
    with pytest.raises(ValueError, match="Unknown loss 'hinge'; expected one of"):
        fit(model, data, loss="hinge")
    with pytest.raises(ValueError, match="Unknown metric 'f1'"):
        fit(model, data, metrics=["f1"])
    with pytest.raises(ValueError, match="`epochs` must be a non-negative int; received epochs=-1"):
        fit(model, data, epochs=-1)
    with pytest.raises(ValueError, match="`verbose` must be 0, 1 or 2; received verbose=3"):
        fit(model, data, verbose=3)
    with pytest.raises(TypeError, match="`train_data` expected a DataLoader, a Dataset, or an"):
        fit(model, 3)
    with pytest.raises(TypeError, match="Callback instances; received function"):
        fit(model, data, callbacks=[lambda: None])
    empty = (np.zeros((0, 1, 8, 8), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="yielded no batch"):
        fit(model, empty, verbose=0)
