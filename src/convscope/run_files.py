"""Reading a run directory: its config, history, checkpoints and the model they hold.

The layout is described in :mod:`convscope.runs`. Everything here reads (or, for
``_write_json``, atomically writes) one file of a run; nothing trains.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from convscope import nn
from convscope.io import atomic_write
from convscope.models import build_model
from convscope.run_config import Splits, TrainConfig, is_folder_dataset, resolve_dataset
from convscope.serialization import CheckpointError
from convscope.train import load_checkpoint


def default_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    model = Path(config.model).stem
    dataset = resolve_dataset(config.dataset)
    dataset = Path(dataset).name if is_folder_dataset(dataset) else dataset
    return Path(root) / f"{stamp}-{dataset}-{model}"


def _write_json(path: Path, obj: Any) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2, default=float)


def read_run_info(run_dir: str | Path) -> dict[str, Any]:
    """Everything ``config.json`` records, for built-in datasets and image folders alike.

    Keys: the :class:`TrainConfig` fields, ``classes`` (class names, label order),
    ``input_shape`` ([C, H, W]), ``version``; for image folders also
    ``dataset_fingerprint``; with a model file, ``model_file`` (its copy in the run).

    Raises:
        FileNotFoundError: ``run_dir`` has no config.json.
        ValueError: config.json is not valid JSON.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(run_dir)!r} is not a run directory: it has no config.json. "
            "Pass the directory `convscope train` printed."
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(path)!r} is not valid JSON ({error}).") from None


def read_config(run_dir: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` a run was trained with."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in read_run_info(run_dir).items() if k in fields})


def history_of(run_dir: str | Path) -> dict[str, list[float]]:
    path = Path(run_dir) / "history.json"
    raw = json.loads(path.read_text()) if path.is_file() else {}
    return raw.get("history", raw)


def _model_source(config: TrainConfig, run_dir: Path | None) -> str:
    """The model to build: a preset name, the run's own copy of its model file, or the file."""
    if run_dir is not None and config.model.endswith(".py") and (run_dir / "model.py").is_file():
        return str(run_dir / "model.py")
    return config.model


def _load_checkpoint_file(path: Path) -> dict[str, Any]:
    """A run's checkpoint, or CheckpointError naming the file and saying what is wrong."""
    try:
        return load_checkpoint(path)
    except CheckpointError:
        raise
    except ValueError as error:  # a readable .npz that is not a training checkpoint
        raise CheckpointError(str(error)) from None


def load_run(run_dir: str | Path, which: str = "best") -> tuple[TrainConfig, nn.Module]:
    """The config and trained model of a run (``which``: 'best' or 'last' checkpoint).

    Raises:
        FileNotFoundError: not a run, or it has no such checkpoint yet.
        CheckpointError: the checkpoint is corrupt, not a convscope checkpoint, or does
            not fit the run's model (the message lists the layers that differ).
    """
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    path = run_dir / "checkpoints" / f"{which}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"Run {str(run_dir)!r} has no {which} checkpoint ({path}); was its training "
            "interrupted before the first epoch ended? Resume it with "
            f"`convscope train --resume {run_dir}`."
        )
    config = read_config(run_dir)
    model = build_model(
        _model_source(config, run_dir),
        num_classes=len(info["classes"]),
        input_shape=info["input_shape"],
    )
    state = _load_checkpoint_file(path)["model"]
    differences = state_differences(model.state_dict(), state)
    if differences:
        raise CheckpointError(
            f"{path} does not fit the run's model ({config.model}): "
            + "; ".join(differences)
            + ". The checkpoint comes from another model, or the model file changed."
        )
    model.load_state_dict(state)
    model.eval()
    return config, model


def state_differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Which entries of a checkpoint's state dict do not match a model's: missing, extra,
    or of another shape.

    >>> state_differences({"0.weight": np.zeros((2, 3))}, {"0.weight": np.zeros((4, 3))})
    ['0.weight has shape (4, 3) in the checkpoint, (2, 3) in the model']
    """
    out = []
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing:
        out.append("missing from the checkpoint: " + ", ".join(missing))
    if extra:
        out.append("not in the model: " + ", ".join(extra))
    for key in expected:
        if key in found and np.shape(found[key]) != np.shape(expected[key]):
            out.append(
                f"{key} has shape {tuple(np.shape(found[key]))} in the checkpoint, "
                f"{tuple(np.shape(expected[key]))} in the model"
            )
    return out


class DataChangedWarning(UserWarning):
    """A run is evaluated on image files that differ from those it was trained on."""


def warn_if_data_changed(run_dir: str | Path, splits: Splits) -> None:
    """Warn (:class:`DataChangedWarning`) when an image folder differs from the run's record."""
    recorded = read_run_info(run_dir).get("dataset_fingerprint")
    if recorded is None or splits.fingerprint is None or recorded == splits.fingerprint:
        return
    then = recorded.get("test", recorded)
    now = splits.fingerprint.get("test", splits.fingerprint)
    warnings.warn(
        f"The images in {then.get('path')} changed since run {str(run_dir)!r} was trained "
        f"({then.get('files')} files, SHA-256 {str(then.get('sha256'))[:12]} then; "
        f"{now.get('files')} files, {str(now.get('sha256'))[:12]} now): results are not "
        "comparable with the run's report.",
        DataChangedWarning,
        stacklevel=2,
    )
