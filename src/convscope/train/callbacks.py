"""Callbacks: code ``fit`` runs at the start and end of training, epochs and batches.

Subclass :class:`Callback` and override the hooks you need. ``self.trainer`` is the
running :class:`~convscope.train.Trainer` (``self.model``, ``self.trainer.optimizer``,
``self.trainer.history``); set ``self.trainer.stop_training = True`` to stop after
the current batch (or, from ``on_epoch_end``, after the current epoch).

Epoch indices are 0-based, as in Keras. A callback that keeps state across epochs
returns it from ``state_dict()`` so a resumed run carries on exactly.

>>> class PrintLoss(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(f"epoch {epoch}: loss {logs['loss']:.2f}")
>>> PrintLoss().on_epoch_end(0, {"loss": 0.5})
epoch 0: loss 0.50
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from convscope.io import atomic_write
from convscope.train.history import resolve_mode


class Callback:
    """Base class: every hook does nothing.

    Attributes:
        trainer: the Trainer running this callback (set by ``fit``).
        order: callbacks run in increasing ``order`` (stable); ``ModelCheckpoint`` uses
            100 so a checkpoint captures the other callbacks' end-of-epoch state.
    """

    order = 0
    trainer: Any = None

    def set_trainer(self, trainer: Any) -> None:
        """Called by ``fit`` before training starts."""
        self.trainer = trainer

    @property
    def model(self) -> Any:
        """The model being trained."""
        return None if self.trainer is None else self.trainer.model

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """After the last epoch (or after training was stopped)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Before epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """After epoch ``epoch``; ``logs``: loss, metrics, ``val_*``, ``lr``, ``seconds``."""

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Before training batch ``batch`` (0-based within the epoch)."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """After the optimizer step of batch ``batch``; ``logs`` has ``loss`` and ``size``."""

    def state_dict(self) -> dict[str, Any]:
        """State to keep in checkpoints (``{}`` for stateless callbacks)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""


class CallbackList:
    """Runs a list of callbacks in ``order``, and names them for checkpoints."""

    def __init__(self, callbacks: Iterable[Callback] = ()):
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "`callbacks` must be Callback instances; received "
                    f"{type(cb).__name__}. Subclass convscope.train.Callback."
                )
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)

    def __iter__(self):
        return iter(self.callbacks)

    def names(self) -> list[str]:
        """``EarlyStopping``, ``EarlyStopping_1``, ...: class name plus occurrence index."""
        seen: dict[str, int] = {}
        names = []
        for cb in self.callbacks:
            base = type(cb).__name__
            count = seen.get(base, 0)
            seen[base] = count + 1
            names.append(base if count == 0 else f"{base}_{count}")
        return names

    def state_dict(self) -> dict[str, Any]:
        pairs = zip(self.names(), self.callbacks, strict=True)
        return {name: state for name, cb in pairs if (state := cb.state_dict())}

    def load_state_dict(self, states: Mapping[str, Any]) -> None:
        for name, cb in zip(self.names(), self.callbacks, strict=True):
            if name in states:
                cb.load_state_dict(states[name])

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


def monitored(logs: Mapping[str, Any] | None, monitor: str, who: str) -> float:
    """``logs[monitor]`` as a float, or a ValueError naming the keys available."""
    logs = logs or {}
    if monitor not in logs:
        hint = " Pass val_data to fit, or monitor='loss'." if monitor.startswith("val_") else ""
        raise ValueError(
            f"{who}(monitor={monitor!r}) found no {monitor!r} in the epoch logs; available: "
            f"{', '.join(logs) or 'none'}.{hint}"
        )
    return float(logs[monitor])


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    if math.isnan(value):
        return False
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _copy_state(state: Mapping[str, Any]) -> dict[str, Any]:
    return {k: np.array(getattr(v, "data", v), copy=True) for k, v in state.items()}


class EarlyStopping(Callback):
    """Stop training when a monitored value stops improving.

    Args:
        monitor: key of the epoch logs to watch, e.g. ``"val_loss"``, ``"val_accuracy"``.
        patience: epochs without improvement before stopping (0: stop at the first).
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, load the weights of the best epoch.

    Attributes:
        best_epoch (int): epoch of the best value (-1 before any).
        stopped_epoch (int): epoch after which training stopped (-1 if it did not).

    Raises:
        ValueError: ``patience`` or ``min_delta`` is negative; ``monitor`` is missing
            from the logs at the end of an epoch.

    >>> EarlyStopping(monitor="val_accuracy", patience=2).mode
    'max'
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ):
        if patience < 0:
            raise ValueError(f"`patience` must be >= 0; received patience={patience}.")
        if min_delta < 0:
            raise ValueError(f"`min_delta` must be >= 0; received min_delta={min_delta}.")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = resolve_mode(mode, monitor)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1
        self.stopped_epoch = -1
        self.wait = 0
        self.best_weights: dict[str, Any] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = monitored(logs, self.monitor, "EarlyStopping")
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model.state_dict())
            return
        self.wait += 1
        if self.wait >= self.patience:  # patience epochs in a row without improvement
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
        }
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else _copy_state(weights)


class ModelCheckpoint(Callback):
    """Write full training checkpoints (``last.npz``, ``best.npz``) after each epoch.

    Each file holds model, optimizer and scheduler state, epoch, history and RNG
    state (see :mod:`convscope.train.checkpoint`), written atomically. Resume with
    ``fit(..., resume_from="<directory>/last.npz")``.

    Args:
        directory: folder for the files (created if needed).
        monitor: log key deciding which epoch is best.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        save_best: keep ``best.npz``, rewritten whenever ``monitor`` improves.
        save_last: keep ``last.npz``, rewritten every epoch.

    Raises:
        ValueError: neither file is requested; ``monitor`` is missing from the logs.

    >>> ModelCheckpoint("runs/w1", save_best=False).last_path.name
    'last.npz'
    """

    order = 100

    def __init__(
        self,
        directory: str | os.PathLike,
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best: bool = True,
        save_last: bool = True,
    ):
        if not (save_best or save_last):
            raise ValueError("ModelCheckpoint needs save_best=True or save_last=True (or both).")
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = resolve_mode(mode, monitor)
        self.save_best = save_best
        self.save_last = save_last
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1

    @property
    def last_path(self) -> Path:
        return self.directory / "last.npz"

    @property
    def best_path(self) -> Path:
        return self.directory / "best.npz"

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        is_best = False
        if self.save_best:
            value = monitored(logs, self.monitor, "ModelCheckpoint")
            if _improved(value, self.best, self.mode, 0.0):
                self.best, self.best_epoch, is_best = value, epoch, True
        # Update self.best first: the files then record this callback's new state too.
        if is_best:
            self.trainer.save_checkpoint(self.best_path)
        if self.save_last:
            self.trainer.save_checkpoint(self.last_path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])


def is_plateau_scheduler(scheduler: Any) -> bool:
    """True for schedulers whose ``step`` takes the monitored value (ReduceLROnPlateau)."""
    from convscope.optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau)


def step_scheduler(scheduler: Any, logs: Mapping[str, Any] | None, monitor: str) -> None:
    """``scheduler.step()``, or ``scheduler.step(logs[monitor])`` for ReduceLROnPlateau."""
    if is_plateau_scheduler(scheduler):
        scheduler.step(monitored(logs, monitor, type(scheduler).__name__))
    else:
        scheduler.step()


def set_lr(optimizer: Any, lr: float) -> None:
    """Set the learning rate of every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = float(lr)


class LearningRateScheduler(Callback):
    """Step a learning-rate scheduler once per epoch, or apply a ``schedule(epoch, lr)``.

    Args:
        scheduler: a ``convscope.optim.lr_scheduler`` object, stepped at each epoch's
            end (``ReduceLROnPlateau`` is fed ``logs[monitor]``); or a function
            ``schedule(epoch, lr) -> new_lr`` applied at each epoch's start (Keras style).
        monitor: the value fed to ``ReduceLROnPlateau``.

    Raises:
        TypeError: ``scheduler`` is neither a scheduler nor a callable.

    >>> cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    >>> callable(cb.scheduler)
    True
    """

    def __init__(self, scheduler: Any, monitor: str = "val_loss"):
        if not (hasattr(scheduler, "step") or callable(scheduler)):
            raise TypeError(
                "LearningRateScheduler expected a scheduler (with .step()) or a function "
                f"schedule(epoch, lr) -> lr; received {type(scheduler).__name__}."
            )
        self.scheduler = scheduler
        self.monitor = monitor
        self._is_function = not hasattr(scheduler, "step")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._is_function:
            optimizer = self.trainer.optimizer
            set_lr(optimizer, self.scheduler(epoch, optimizer.param_groups[0]["lr"]))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._is_function:
            step_scheduler(self.scheduler, logs, self.monitor)

    def state_dict(self) -> dict[str, Any]:
        return {} if self._is_function else {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not self._is_function and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


def _history_rows(history: Any) -> tuple[list[str], list[list[Any]]]:
    keys = list(history.history)
    rows = [
        [epoch] + [history.history[key][i] for key in keys] for i, epoch in enumerate(history.epoch)
    ]
    return ["epoch", *keys], rows


class CSVLogger(Callback):
    """Write the history as CSV (one row per epoch), rewritten atomically after each epoch.

    A resumed run rewrites the file with all epochs, those before the checkpoint included.

    Args:
        path: the CSV file.
        separator: field separator.

    >>> CSVLogger("history.csv").path.name
    'history.csv'
    """

    def __init__(self, path: str | os.PathLike, separator: str = ","):
        self.path = Path(path)
        self.separator = separator

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        header, rows = _history_rows(self.trainer.history)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "w") as f:
            f.write(self.separator.join(header) + "\n")
            for row in rows:
                f.write(self.separator.join(repr(v) for v in row) + "\n")


class JSONLogger(Callback):
    """Write ``History.to_json()`` to ``path``, atomically, after every epoch.

    >>> JSONLogger("history.json").path.suffix
    '.json'
    """

    def __init__(self, path: str | os.PathLike, indent: int | None = 2):
        self.path = Path(path)
        self.indent = indent

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "w") as f:
            f.write(self.trainer.history.to_json(indent=self.indent))


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    >>> cb = LambdaCallback(on_batch_end=lambda batch, logs: None)
    >>> cb.on_batch_end(0, {})
    """

    def __init__(self, **hooks: Callable[..., None]):
        names = {"on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end"}
        names |= {"on_batch_begin", "on_batch_end"}
        for name, fn in hooks.items():
            if name not in names:
                raise ValueError(
                    f"LambdaCallback got an unknown hook {name!r}; expected one of "
                    f"{', '.join(sorted(names))}."
                )
            setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite (diverging run)."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.trainer.stop_training = True
