"""``fit`` and the ``Trainer`` behind it: the training loop, with PyTorch semantics inside.

Each epoch: ``model.train()``; for every batch ``optimizer.zero_grad()``, forward,
``loss.backward()``, ``optimizer.step()``; then validation in ``model.eval()`` under
``no_grad``; then the scheduler steps and the callbacks run. ``fit`` returns a
Keras-style :class:`History`.

>>> import numpy as np
>>> import convscope
>>> from convscope import nn
>>> convscope.manual_seed(0)
>>> rng = np.random.default_rng(0)
>>> x = rng.random((64, 1, 4, 4), dtype=np.float32)
>>> y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
>>> history = fit(model, (x, y), (x, y), epochs=2, batch_size=16, verbose=0)
>>> sorted(history.history)
['accuracy', 'loss', 'lr', 'seconds', 'val_accuracy', 'val_loss']
>>> history.epoch
[0, 1]
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convscope.train import checkpoint as _checkpoint
from convscope.train.callbacks import Callback, CallbackList, ModelCheckpoint, step_scheduler
from convscope.train.evaluation import run_validation
from convscope.train.history import History
from convscope.train.inputs import as_batch, as_loader, num_images, resolve_loss, resolve_metrics
from convscope.train.parallel import forward_backward
from convscope.train.progress import EpochProgress

Transform = Callable[[np.ndarray], np.ndarray]


class TrainingInterrupted(Exception):
    """Training stopped at a step boundary because :meth:`Trainer.request_interrupt` was called.

    The trainer's state is consistent at that point: :meth:`Trainer.save_checkpoint`
    writes a checkpoint that resumes exactly there (mid-epoch position included).

    Attributes:
        signum: the signal number passed to ``request_interrupt`` (or None).
        epoch: index of the epoch that was running (0-based).
        batch: batches of that epoch already done (None when stopped between epochs).
    """

    def __init__(self, signum: int | None, epoch: int, batch: int | None) -> None:
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", after batch {batch}")
        super().__init__(f"Training interrupted at {where}.")
        self.signum = signum
        self.epoch = epoch
        self.batch = batch


class Trainer:
    """A model, its optimizer, loss, metrics, scheduler and callbacks, trained epoch by epoch.

    ``fit(model, ...)`` builds one and calls :meth:`fit`. Use a Trainer directly to
    train in several calls: ``epochs`` always counts the total, so
    ``trainer.fit(data, epochs=3)`` then ``trainer.fit(data, epochs=5)`` runs 5 epochs.

    Args:
        model: a Module returning class scores (N, K) (or whatever ``loss`` expects).
        optimizer: a ``convscope.optim`` optimizer; default ``Adam(lr=1e-3)``.
        loss: a name (``"cross_entropy"``, ``"nll_loss"``, ``"mse_loss"``, ...), a
            function ``loss(output, target) -> scalar Tensor`` or a Module.
        metrics: names (``"accuracy"``) or functions ``metric(y_true, scores) -> float``
            (each a mean over the batch; averaged over the epoch by sample count).
        scheduler: a learning-rate scheduler stepped after every epoch;
            ``ReduceLROnPlateau`` is fed ``val_loss`` (``loss`` without validation data).
        callbacks: :class:`Callback` instances.

    Attributes:
        history (History): all epochs so far.
        epoch (int): epochs completed.
        stop_training (bool): set it (e.g. from a callback) to stop after the current batch.
        interrupt_requested (int | None): set by :meth:`request_interrupt`; the loop then
            raises :class:`TrainingInterrupted` at the next step boundary.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any = None,
        *,
        loss: Any = "cross_entropy",
        metrics: Sequence[Any] = ("accuracy",),
        scheduler: Any = None,
        callbacks: Sequence[Callback] = (),
    ):
        if optimizer is None:
            from convscope.optim import Adam

            optimizer = Adam(model.parameters(), lr=1e-3)
        self.model = model
        self.optimizer = optimizer
        self.loss_name, self.loss_fn = resolve_loss(loss)
        self.metrics = resolve_metrics(metrics)
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        self.history = History()
        self.epoch = 0
        self.stop_training = False
        self._active = CallbackList(self.callbacks)
        self._train_loader: Any = None
        self.interrupt_requested: int | None = None
        # Where an interrupted epoch stopped (batches done, sample order, partial sums);
        # saved in checkpoints, and restored from them to finish that epoch exactly.
        self._position: dict[str, Any] | None = None
        self._step_key: tuple[int, int] | None = None  # (epoch, batch) of the running step

    def request_interrupt(self, signum: int | None = None) -> None:
        """Stop at the next step boundary by raising :class:`TrainingInterrupted`.

        Safe to call from a signal handler: it only sets a flag the loop checks after
        every optimizer step (and before every epoch).
        """
        self.interrupt_requested = signum if signum is not None else 0

    # ----------------------------------------------------------------- checkpoints

    def _loader_generator(self) -> np.random.Generator | None:
        generator = getattr(self._train_loader, "generator", None)
        return generator if isinstance(generator, np.random.Generator) else None

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write everything needed to resume after ``self.epoch`` epochs (atomically)."""
        generator = self._loader_generator()
        return _checkpoint.save_checkpoint(
            path,
            model=self.model,
            epoch=self.epoch,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            history=self.history,
            callbacks=self._active.state_dict(),
            loader_rng=None if generator is None else generator.bit_generator.state,
            position=self._position,
        )

    def load_checkpoint(self, path: str | os.PathLike) -> int:
        """Restore a checkpoint (model, optimizer, scheduler, history, RNG, callbacks).

        Args:
            path: a checkpoint file, or a directory holding ``last.npz``.

        Returns:
            The number of epochs completed.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "last.npz"
        ckpt = _checkpoint.load_checkpoint(path)
        if self.scheduler is None and "scheduler" in ckpt:
            warnings.warn(
                f"{path} holds scheduler state but no scheduler was given; the learning rate "
                "will no longer be scheduled.",
                stacklevel=3,
            )
        scheduler = self.scheduler if "scheduler" in ckpt else None
        self.epoch = _checkpoint.restore_checkpoint(ckpt, self.model, self.optimizer, scheduler)
        self.history = ckpt["history"]
        self._active.load_state_dict(ckpt.get("callbacks", {}))
        generator = self._loader_generator()
        if generator is not None and "loader_rng" in ckpt:
            generator.bit_generator.state = ckpt["loader_rng"]
        self._position = ckpt.get("position")
        return self.epoch

    # ----------------------------------------------------------------- training

    def fit(
        self,
        train_data: Any,
        val_data: Any = None,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        transform: Transform | None = None,
        val_transform: Transform | None = None,
        verbose: int = 1,
        checkpoint_dir: str | os.PathLike | None = None,
        resume_from: str | os.PathLike | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are complete. Arguments as :func:`fit`."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"`epochs` must be a non-negative int; received epochs={epochs!r}.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1 or 2; received verbose={verbose!r}.")
        train_loader = as_loader(train_data, batch_size, shuffle, transform, "train_data")
        val_loader = None
        if val_data is not None:
            val_loader = as_loader(val_data, batch_size, False, val_transform, "val_data")
        monitor = "val_loss" if val_loader is not None else "loss"
        callbacks = list(self.callbacks)
        if checkpoint_dir is not None:
            callbacks.append(ModelCheckpoint(checkpoint_dir, monitor=monitor))
        self._active = CallbackList(callbacks)
        self._train_loader = train_loader
        for cb in self._active:
            cb.set_trainer(self)
        if resume_from is not None:
            done = self.load_checkpoint(resume_from)
            if verbose:
                within = self._position
                where = "" if within is None else f" and {within['batch']} batch(es) of the next"
                print(
                    f"Resuming from {resume_from}: {done} epoch(s){where} done, "
                    f"training to {epochs}."
                )
        self.stop_training = False
        was_training = getattr(self.model, "training", True)
        self._active.call("on_train_begin", {})
        for epoch in range(self.epoch, int(epochs)):
            if self.interrupt_requested is not None and self._position is None:
                raise TrainingInterrupted(self.interrupt_requested, epoch, None)
            self._run_epoch(epoch, int(epochs), train_loader, val_loader, monitor, verbose)
            if self.stop_training:
                break
        self._active.call("on_train_end", self.history.last())
        self.model.train(was_training)
        return self.history

    def _run_epoch(
        self,
        epoch: int,
        epochs: int,
        train_loader: Any,
        val_loader: Any,
        monitor: str,
        verbose: int,
    ) -> dict[str, float]:
        start = time.perf_counter()
        position, self._position = self._position, None
        if position is None:
            self._active.call("on_epoch_begin", epoch, {})
            lr = self._lr()
        else:  # finishing an interrupted epoch: it has begun already
            lr = position.get("lr")
            start -= float(position["seconds"])
        progress = EpochProgress(epoch, epochs, num_images(train_loader), verbose)
        try:
            logs = self._train_batches(train_loader, progress, epoch, start, lr, position)
            progress.end_training()
            if val_loader is not None:
                val_logs, *_ = run_validation(self.model, val_loader, self.loss_fn, self.metrics)
                logs.update({f"val_{key}": value for key, value in val_logs.items()})
        except BaseException:
            progress.abort()
            raise
        if lr is not None:
            logs["lr"] = lr
        logs["seconds"] = time.perf_counter() - start
        self.history.append(epoch, logs)
        self.epoch = epoch + 1
        if self.scheduler is not None:
            step_scheduler(self.scheduler, logs, monitor)
        progress.close(logs)
        self._active.call("on_epoch_end", epoch, logs)
        return logs

    def _train_batches(
        self,
        loader: Any,
        progress: EpochProgress,
        epoch: int,
        start: float,
        lr: float | None,
        position: dict[str, Any] | None,
    ) -> dict[str, float]:
        """One epoch of training steps; ``position`` continues an interrupted epoch."""
        self.model.train()
        if position is None:
            first, total, loss_sum = 0, 0, 0.0
            sums = dict.fromkeys((name for name, _ in self.metrics), 0.0)
            batches = iter(loader)
        else:
            first, total = int(position["batch"]), int(position["total"])
            loss_sum = float(position["loss_sum"])
            sums = {name: float(value) for name, value in position["sums"].items()}
            batches = _batches_from(loader, position.get("order"), first)
            if total:
                progress.update(total, loss_sum / total)
        # The epoch's sample order, so an interrupted epoch can be finished in it.
        order = getattr(loader, "epoch_order", None)
        for batch, (x, y) in enumerate(batches, start=first):
            self._active.call("on_batch_begin", batch, {})
            self._step_key = (epoch, batch)  # names the step for data-parallel dropout
            value, n, batch_logs = self._train_step(x, y)
            for name in sums:
                sums[name] += batch_logs[name] * n
            loss_sum += value * n
            total += n
            progress.update(n, value)
            self._active.call("on_batch_end", batch, batch_logs)
            if self.interrupt_requested is not None:
                self._position = {
                    "epoch": epoch,
                    "batch": batch + 1,
                    "total": total,
                    "loss_sum": loss_sum,
                    "sums": dict(sums),
                    "seconds": time.perf_counter() - start,
                    **({} if lr is None else {"lr": lr}),
                    **({} if order is None else {"order": np.asarray(order)}),
                }
                raise TrainingInterrupted(self.interrupt_requested, epoch, batch + 1)
            if self.stop_training:
                break
        if total == 0:
            raise ValueError(
                "The training data yielded no batch: it is empty, or smaller than batch_size "
                "with drop_last=True."
            )
        return {"loss": loss_sum / total, **{name: s / total for name, s in sums.items()}}

    # ------------------------------------------------------------ the training step
    # Everything one optimizer step does, in one place: zero the gradients, forward,
    # loss, backward, step. Returns (mean loss, batch size, batch logs).
    def _train_step(self, x: Any, y: Any) -> tuple[float, int, dict[str, float]]:
        x, y = as_batch(x, y)
        self.optimizer.zero_grad()
        # Data-parallel hook (train/parallel.py): forward + backward, split over worker
        # threads inside `with data_parallel(n)`; otherwise model(x), loss, loss.backward().
        output, loss = forward_backward(self.model, self.loss_fn, x, y, step=self._step_key)
        self.optimizer.step()
        n = len(y.data)
        value = float(loss.item())
        batch_logs: dict[str, float] = {"loss": value, "size": n}
        for name, fn in self.metrics:
            batch_logs[name] = float(fn(y.data, output.data))
        return value, n, batch_logs

    def _lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None


def _batches_from(loader: Any, order: np.ndarray | None, first: int) -> Any:
    """The batches of an interrupted epoch from batch ``first`` on, in the saved order.

    A :class:`~convscope.data.DataLoader` continues in exactly the saved sample order
    without drawing a new permutation; any other iterable is re-iterated and its first
    ``first`` batches are skipped (exact only if it yields the same batches again).
    """
    if hasattr(loader, "iter_from"):
        return loader.iter_from(order, first)
    batches = iter(loader)
    for _ in range(first):
        next(batches, None)
    return batches


def fit(
    model: Any,
    train_data: Any,
    val_data: Any = None,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    optimizer: Any = None,
    loss: Any = "cross_entropy",
    metrics: Sequence[Any] = ("accuracy",),
    callbacks: Sequence[Callback] = (),
    scheduler: Any = None,
    verbose: int = 1,
    shuffle: bool = True,
    transform: Transform | None = None,
    val_transform: Transform | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs; return the History.

    Args:
        model: a Module returning class scores (N, K).
        train_data: a DataLoader (used as it is: its own batch size and shuffling), a
            Dataset, or an ``(images, labels)`` tuple of arrays; the latter two are
            wrapped in ``DataLoader(batch_size, shuffle, transform)``. uint8 images are
            scaled to [0, 1].
        val_data: the same kinds, evaluated after every epoch into ``val_*`` keys.
        epochs: total number of epochs; with ``resume_from``, those already in the
            checkpoint count (``epochs=3`` after a 2-epoch checkpoint runs one more).
        batch_size: samples per batch, for the loaders built here.
        optimizer: default ``Adam(model.parameters(), lr=1e-3)``; pass your own to keep
            its state across several ``fit`` calls.
        loss: ``"cross_entropy"`` (default), another name, a function or a Module.
        metrics: names or ``metric(y_true, scores) -> float`` functions.
        callbacks: e.g. ``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``.
        scheduler: a learning-rate scheduler stepped once per epoch (ReduceLROnPlateau
            is fed ``val_loss``, or ``loss`` without validation data).
        verbose: 0 silent; 1 a progress bar in terminals and notebooks (one line per
            epoch otherwise); 2 one line per epoch.
        shuffle: reshuffle the training data every epoch (loaders built here).
        transform: batch transform for the training data (augmentation).
        val_transform: batch transform for the validation data.
        checkpoint_dir: add ``ModelCheckpoint(checkpoint_dir)``: ``last.npz`` and
            ``best.npz`` full training checkpoints.
        resume_from: a checkpoint file (or a directory with ``last.npz``) to continue
            from: model, optimizer, scheduler, history, RNG and callback state are
            restored, and training resumes at the next epoch, bitwise as if never stopped.

    Returns:
        The :class:`History` (all epochs, those of a resumed checkpoint included).

    Raises:
        ValueError: bad ``epochs``/``verbose``, empty data, or a callback's monitored
            value missing from the logs.
        TypeError: data, loss or metrics of an unsupported kind.

    Example::

        import convscope
        from convscope import nn
        from convscope.data import load_dataset
        from convscope.train import EarlyStopping, fit

        convscope.manual_seed(0)
        train = load_dataset("fashion-mnist", "train")
        test = load_dataset("fashion-mnist", "test")
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
        )
        history = fit(model, train, test, epochs=5, batch_size=128,
                      callbacks=[EarlyStopping(patience=2, restore_best_weights=True)],
                      checkpoint_dir="runs/w1")
        history.history["val_accuracy"]      # one value per epoch
        # Interrupted? Rebuild model (and optimizer) and continue where it stopped:
        fit(model, train, test, epochs=5, batch_size=128, resume_from="runs/w1/last.npz")
    """
    trainer = Trainer(
        model,
        optimizer,
        loss=loss,
        metrics=metrics,
        scheduler=scheduler,
        callbacks=callbacks,
    )
    return trainer.fit(
        train_data,
        val_data,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        transform=transform,
        val_transform=val_transform,
        verbose=verbose,
        checkpoint_dir=checkpoint_dir,
        resume_from=resume_from,
    )
