"""Full training checkpoints: everything needed to continue a run bit for bit.

A checkpoint is one ``.npz`` file (written atomically by :mod:`convscope.serialization`)
holding a nested dict:

- ``format``, ``version``: identify the file;
- ``epoch``: number of epochs completed (the index of the next epoch to run);
- ``model``: ``model.state_dict()`` (parameters and buffers);
- ``optimizer``, ``scheduler``: their ``state_dict()`` (when there is one);
- ``history``: :meth:`History.to_dict` of the epochs so far;
- ``rng``: :func:`convscope.get_rng_state` at the end of the epoch, so the next
  epoch draws the same shuffle and dropout masks as an uninterrupted run;
- ``loader_rng``: state of the training DataLoader's own generator, if it has one;
- ``callbacks``: state of callbacks that keep some (e.g. EarlyStopping's patience count);
- ``position`` (version 2, only in a checkpoint written mid-epoch, e.g. on Ctrl-C): the
  running epoch's batches done, its sample ``order`` and partial loss/metric sums, so a
  resumed run finishes that epoch exactly as an uninterrupted one would.

>>> import tempfile, os
>>> import numpy as np
>>> class Tiny:  # anything with state_dict / load_state_dict
...     def __init__(self): self.w = np.zeros(2, np.float32)
...     def state_dict(self): return {"w": self.w}
...     def load_state_dict(self, state): self.w = np.array(state["w"])
>>> model = Tiny(); model.w += 1
>>> path = os.path.join(tempfile.mkdtemp(), "last.npz")
>>> _ = save_checkpoint(path, model=model, epoch=3)
>>> fresh = Tiny()
>>> restore_checkpoint(load_checkpoint(path), fresh)
3
>>> fresh.w
array([1., 1.], dtype=float32)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convscope.random import get_rng_state, set_rng_state
from convscope.serialization import load, save
from convscope.train.history import History

FORMAT = "convscope.train.checkpoint"
VERSION = 2  # 2: optional mid-epoch "position"


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: Any,
    epoch: int,
    optimizer: Any = None,
    scheduler: Any = None,
    history: History | None = None,
    callbacks: Mapping[str, Any] | None = None,
    loader_rng: Mapping[str, Any] | None = None,
    position: Mapping[str, Any] | None = None,
) -> Path:
    """Write a training checkpoint atomically (a crash never leaves a half-written file).

    Args:
        path: file to write (``.npz``); parent directories are created.
        model: a Module (anything with ``state_dict()``).
        epoch: number of epochs completed.
        optimizer: its ``state_dict()`` is saved when given.
        scheduler: its ``state_dict()`` is saved when given.
        history: the run's History so far.
        callbacks: per-callback state, keyed by callback name.
        loader_rng: the training DataLoader's own generator state, if it has one.
        position: where an interrupted epoch stopped (see the module docstring).

    Returns:
        The path written.

    Raises:
        ValueError: ``epoch`` is negative.
    """
    if int(epoch) < 0:
        raise ValueError(f"`epoch` must be the number of epochs completed (>= 0); got {epoch}.")
    checkpoint: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "model": model.state_dict(),
        "history": (history if history is not None else History()).to_dict(),
        "rng": get_rng_state(),
    }
    if optimizer is not None:
        checkpoint["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        checkpoint["scheduler"] = scheduler.state_dict()
    if callbacks:
        checkpoint["callbacks"] = dict(callbacks)
    if loader_rng is not None:
        checkpoint["loader_rng"] = dict(loader_rng)
    if position is not None:
        checkpoint["position"] = dict(position)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(checkpoint, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (or ``ModelCheckpoint``).

    Returns:
        The checkpoint dict; ``checkpoint["history"]`` is a :class:`History`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a convscope training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {str(path)!r}.")
    checkpoint = dict(load(path))
    if checkpoint.get("format") != FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a convscope training checkpoint (expected format={FORMAT!r}; "
            f"found keys {sorted(checkpoint)}). For a bare state_dict use "
            "model.load_state_dict(convscope.serialization.load(path))."
        )
    if int(checkpoint.get("version", 0)) > VERSION:
        raise ValueError(
            f"{str(path)!r} is a version {checkpoint['version']} checkpoint; this convscope "
            f"reads versions up to {VERSION}."
        )
    lacking = [key for key in ("epoch", "model") if key not in checkpoint]
    if lacking:
        raise ValueError(
            f"{str(path)!r} is a damaged convscope training checkpoint: it has no "
            f"{lacking[0]!r} entry (keys: {sorted(checkpoint)})."
        )
    checkpoint["epoch"] = int(checkpoint["epoch"])
    checkpoint["history"] = History.from_dict(checkpoint.get("history", {}))
    return checkpoint


def restore_checkpoint(
    checkpoint: Mapping[str, Any] | str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    *,
    restore_rng: bool = True,
) -> int:
    """Load a checkpoint's state into a model (and optimizer, scheduler, RNG).

    Args:
        checkpoint: a dict from :func:`load_checkpoint`, or a path.
        model: receives ``checkpoint["model"]``.
        optimizer: receives ``checkpoint["optimizer"]`` when given.
        scheduler: receives ``checkpoint["scheduler"]`` when given.
        restore_rng: also restore convscope's global random generator.

    Returns:
        The number of epochs completed (the index of the next epoch to run).

    Raises:
        ValueError: an optimizer or scheduler is given but the checkpoint has no state for it.
    """
    if not isinstance(checkpoint, Mapping):
        checkpoint = load_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["model"])
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler)):
        if target is None:
            continue
        if name not in checkpoint:
            raise ValueError(
                f"The checkpoint holds no {name} state, but a {name} was given to restore. "
                f"It was saved without one; pass {name}=None or train from scratch."
            )
        target.load_state_dict(checkpoint[name])
    if restore_rng:
        set_rng_state(checkpoint["rng"])
    return int(checkpoint["epoch"])
