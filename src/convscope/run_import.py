"""A run directory from a model trained elsewhere: ``convscope import model.onnx --out runs/x``.

The ONNX graph is built into a convscope model (:func:`convscope.onnx.load`), checked
against the dataset named for evaluation (its image shape and number of classes),
and written in the layout :mod:`convscope.runs` reads, so ``evaluate``, ``report``,
``visualize``, ``summary`` and the explorer work on it as on a run convscope trained:

- ``model.onnx`` — a copy of the graph (the model's definition and weights);
- ``model.py`` — the run's model file, three lines that rebuild the model from
  ``model.onnx`` beside it (``runs.load_run`` builds a run's model from its model
  file; the ONNX is only parsed, never executed);
- ``checkpoints/best.npz`` and ``last.npz`` — the imported weights (epoch 0);
- ``config.json`` — the dataset, classes, input shape, and ``imported_from``.

There is no ``history.json``: the model was not trained here.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

import convscope
from convscope.io import atomic_write
from convscope.rundir import check_new_run, clear_run, lock_run
from convscope.runs import TrainConfig, _write_json, load_splits, resolve_dataset
from convscope.tensor import no_grad
from convscope.train.checkpoint import save_checkpoint

MODEL_FILE = '''"""Rebuild the imported model from the model.onnx beside this file."""

from pathlib import Path


def build_model(num_classes, in_channels):
    from convscope.onnx import load

    return load(Path(__file__).with_name("model.onnx"))
'''


def import_onnx_run(
    onnx_path: str | os.PathLike,
    out: str | os.PathLike,
    dataset: str = "auto",
    overwrite: bool = False,
) -> Path:
    """Make a run directory at ``out`` from the ONNX model at ``onnx_path``.

    Args:
        onnx_path: the ``.onnx`` file (a chain of supported operators; see
            :data:`convscope.onnx.IMPORTERS`).
        out: the run directory to create.
        dataset: the dataset to evaluate on (a built-in name, an image folder or
            ``auto``); its images must have the model's input shape and its classes
            the model's number of outputs, in the same order.
        overwrite: replace a run already at ``out``.

    Returns:
        The run directory.

    Raises:
        ONNXImportError: the graph cannot be built (the message names operator and node).
        ValueError: the model does not fit the dataset (input shape or class count).
        RunExistsError: ``out`` holds a run and ``overwrite`` is False.
    """
    from convscope.onnx import load

    onnx_path, out = Path(onnx_path), Path(out)
    model = load(onnx_path)
    config = TrainConfig(dataset=resolve_dataset(dataset), model="model.py")
    splits = load_splits(config)
    input_shape = tuple(int(n) for n in splits.test[0].shape[1:])
    with no_grad():
        try:
            logits = model(np.zeros((1, *input_shape), dtype=np.float32))
        except ValueError as error:
            raise ValueError(
                f"The model in {str(onnx_path)!r} cannot take the {config.dataset} images of "
                f"shape {input_shape} (C, H, W): {error}"
            ) from error
    if logits.shape != (1, len(splits.classes)):
        raise ValueError(
            f"The model in {str(onnx_path)!r} gives outputs of shape {logits.shape[1:]} per "
            f"image; {config.dataset} has {len(splits.classes)} classes. Name the dataset it "
            "was trained on with --dataset."
        )
    check_new_run(out, overwrite)
    with lock_run(out):
        if overwrite:
            clear_run(out)
        with atomic_write(out / "model.onnx", "wb") as f:
            f.write(onnx_path.read_bytes())
        with atomic_write(out / "model.py", "w") as f:
            f.write(MODEL_FILE)
        (out / "checkpoints").mkdir(exist_ok=True)
        for name in ("best", "last"):
            save_checkpoint(out / "checkpoints" / f"{name}.npz", model=model, epoch=0)
        info = dataclasses.asdict(config) | {
            "classes": splits.classes,
            "input_shape": list(input_shape),
            "version": convscope.__version__,
            "model_file": "model.py",
            "imported_from": str(onnx_path.resolve()),
        }
        if splits.fingerprint is not None:
            info["dataset_fingerprint"] = splits.fingerprint
        _write_json(out / "config.json", info)
    return out
