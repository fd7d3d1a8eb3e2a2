"""Runs: train a model on a dataset into a run directory, then evaluate, predict, explain.

A run directory holds everything one training run produced::

    runs/20261125-101500-fashion-mnist-simple/
      config.json          what was asked for (dataset, model, hyper-parameters, seed), the
                           classes, input shape and, for image folders, the data's fingerprint
      model.py             a copy of the --model file, if one was used (the run is self-contained)
      history.json         per-epoch loss/accuracy/lr/seconds (Keras-shaped)
      checkpoints/         last.npz and best.npz (model, optimizer, epoch, history, RNG);
                           after an interrupt, last.npz also holds the mid-epoch position
      evaluation.json      the final test evaluation the report quotes
      figures/*.png        curves, confusion matrix, filters, feature maps, mistakes
      report.html, report.md

Every file is written atomically; a run is never overwritten by accident and is
locked while a process writes into it (:mod:`convscope.rundir`). SIGINT/SIGTERM during
training save a resumable checkpoint and raise :class:`RunInterrupted`.

The pieces live in small modules, all re-exported here: :mod:`convscope.run_config`
(what to train on, the splits), :mod:`convscope.run_files` (reading a run),
:mod:`convscope.run_predict` (predicting and drawing with a run),
:mod:`convscope.rundir` (safety of the directory); this module trains, resumes,
evaluates and reports. The command-line interface (:mod:`convscope.cli`) is a thin
layer over these functions.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import convscope
from convscope import data, nn
from convscope.io import atomic_write
from convscope.models import build_model
from convscope.report.build import build_report
from convscope.run_config import (
    AUTO_DATASETS,
    OPTIMIZERS,
    Splits,
    TrainConfig,
    is_folder_dataset,
    load_splits,
    make_optimizer,
    resolve_dataset,
    training_transform,
)
from convscope.run_files import (
    DataChangedWarning,
    _load_checkpoint_file,
    _model_source,
    _write_json,
    default_run_dir,
    history_of,
    load_run,
    read_config,
    read_run_info,
    state_differences,
    warn_if_data_changed,
)
from convscope.run_predict import (
    MAX_VISUALIZE_IMAGES,
    load_inputs,
    predict_arrays,
    predict_inputs,
    visualize_run,
)
from convscope.rundir import check_new_run, clear_run, is_run, lock_run
from convscope.serialization import load
from convscope.train import Trainer, TrainingInterrupted, evaluate
from convscope.train import callbacks as cb
from convscope.train.interrupt import stop_on_signals
from convscope.train.parallel import data_parallel

__all__ = [
    "AUTO_DATASETS",
    "MAX_VISUALIZE_IMAGES",
    "OPTIMIZERS",
    "DataChangedWarning",
    "ResumeConflictError",
    "RunInterrupted",
    "Splits",
    "TrainConfig",
    "default_run_dir",
    "evaluate_model",
    "evaluate_run",
    "history_of",
    "is_folder_dataset",
    "load_inputs",
    "load_run",
    "load_splits",
    "make_optimizer",
    "predict_arrays",
    "predict_inputs",
    "read_config",
    "read_run_info",
    "report_run",
    "resolve_dataset",
    "resume_conflicts",
    "state_differences",
    "train_run",
    "training_transform",
    "visualize_run",
    "warn_if_data_changed",
]


# Settings a resumed run may change: the number of epochs (to train longer) and
# whether missing files may be downloaded. Any other change would mix two runs.
RESUMABLE_CHANGES = ("epochs", "download")


class ResumeConflictError(ValueError):
    """``--resume`` was given settings that differ from the run's own."""


class RunInterrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving a resumable checkpoint.

    Attributes:
        signum: the signal received; ``exit_code`` is ``128 + signum`` (130, 143).
        run_dir: the run, resumable with ``convscope train --resume RUN_DIR``.
    """

    def __init__(self, message: str, signum: int, run_dir: Path) -> None:
        super().__init__(message)
        self.signum = signum
        self.run_dir = run_dir
        self.exit_code = 128 + int(signum)


def resume_conflicts(saved: TrainConfig, asked: TrainConfig, given: set[str]) -> list[str]:
    """The settings in ``given`` (options the user passed) that differ from the run's own.

    Returns:
        One ``--option value (the run used value)`` string per conflict.
    """
    conflicts = []
    for name in sorted(given - set(RESUMABLE_CHANGES)):
        if not hasattr(saved, name):
            continue
        mine, theirs = getattr(asked, name), getattr(saved, name)
        if name == "dataset":
            mine = resolve_dataset(mine)
        if mine != theirs and not (isinstance(mine, list) and list(theirs or []) == mine):
            option = "--" + name.replace("_", "-")
            conflicts.append(f"{option} {mine} (the run used {theirs})")
    return conflicts


def _changed_fields(config: TrainConfig) -> set[str]:
    """Fields of ``config`` that differ from the defaults (what a library caller asked for)."""
    default = TrainConfig()
    return {
        f.name
        for f in dataclasses.fields(TrainConfig)
        if getattr(config, f.name) != getattr(default, f.name)
    }


def _resumed_config(config: TrainConfig, run_dir: Path, given: set[str] | None) -> TrainConfig:
    if not is_run(run_dir):
        raise FileNotFoundError(
            f"Cannot resume {str(run_dir)!r}: it is not a run directory (no config.json)."
        )
    saved = read_config(run_dir)
    given = _changed_fields(config) if given is None else set(given)
    conflicts = resume_conflicts(saved, config, given)
    if conflicts:
        raise ResumeConflictError(
            f"Cannot resume {str(run_dir)!r} with different settings: {'; '.join(conflicts)}. "
            "A resumed run keeps its own settings; only --epochs may change (to train longer). "
            "Start a new run with --out for other settings."
        )
    last = run_dir / "checkpoints" / "last.npz"
    if not last.is_file():
        raise FileNotFoundError(
            f"Cannot resume {str(run_dir)!r}: it has no checkpoints/last.npz (it was stopped "
            "before its first checkpoint). Start it again with --overwrite."
        )
    if "epochs" in given:
        done = len(history_of(run_dir).get("loss", []))
        if config.epochs < done:
            raise ResumeConflictError(
                f"Cannot resume {str(run_dir)!r} to --epochs {config.epochs}: it has already "
                f"trained {done} epochs. Pass --epochs {done} or more."
            )
        saved.epochs = config.epochs
    return saved


def train_run(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    given: set[str] | None = None,
    verbose: int = 1,
    report: bool = True,
) -> Path:
    """Train ``config`` into ``run_dir`` (created), evaluate on the test split, write the report.

    With ``resume=True``, ``run_dir`` must be an existing run: its own config is used
    and training continues from ``checkpoints/last.npz`` (mid-epoch if it was
    interrupted there), bitwise as if it had never stopped. ``config.epochs`` may
    extend the run; any other setting that differs is refused.

    Args:
        given: the settings the user actually passed (command-line options); a resumed
            run checks them against its own. Default: those differing from TrainConfig().
        overwrite: replace an existing run in ``run_dir`` (otherwise refused).

    Returns:
        The run directory.

    Raises:
        RunExistsError: ``run_dir`` holds a run and neither ``resume`` nor ``overwrite``.
        RunLockedError: another process is using ``run_dir``.
        ResumeConflictError: resumed with changed settings.
        RunInterrupted: SIGINT/SIGTERM; a resumable checkpoint was saved first.
    """
    if resume and overwrite:
        raise ValueError("Pass either --resume (continue the run) or --overwrite (replace it).")
    if resume:
        if run_dir is None:
            raise ValueError("resume=True needs the run directory to resume.")
        run_dir = Path(run_dir)
        config = _resumed_config(config, run_dir, given)
    config.validate()
    # Record the dataset actually used, so evaluating the run later never picks another.
    config.dataset = resolve_dataset(config.dataset)
    if run_dir is not None and not resume:
        check_new_run(run_dir, overwrite)  # before spending time on loading data
    splits = load_splits(config)
    input_shape = tuple(splits.train[0].shape[1:])
    convscope.manual_seed(config.seed)
    # Built before the run directory exists, so a model that cannot take these
    # images fails without leaving an empty run behind.
    model_source = _model_source(config, Path(run_dir) if resume else None)
    model = build_model(model_source, num_classes=len(splits.classes), input_shape=input_shape)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    with lock_run(run_dir):
        if not resume:
            check_new_run(run_dir, overwrite)  # again: another process may have been quicker
            if overwrite:
                clear_run(run_dir)
        (run_dir / "checkpoints").mkdir(exist_ok=True)
        if not resume:
            _write_run_config(run_dir, config, splits, input_shape)
        elif read_config(run_dir).epochs != config.epochs:  # extended with --epochs N
            _write_json(run_dir / "config.json", read_run_info(run_dir) | {"epochs": config.epochs})
        trainer = _train(config, model, splits, run_dir, resume, verbose)
        # The run's result is its best checkpoint (lowest validation loss), the same
        # weights `convscope evaluate` loads, so the report and evaluate always agree.
        model.load_state_dict(load(run_dir / "checkpoints" / "best.npz")["model"])
        evaluation = evaluate_model(model, splits)
        _write_json(run_dir / "evaluation.json", evaluation)
        if report:
            report_run(run_dir, model=model, splits=splits, evaluation=evaluation, locked=True)
    del trainer
    return run_dir


def _write_run_config(
    run_dir: Path, config: TrainConfig, splits: Splits, input_shape: tuple[int, ...]
) -> None:
    info = dataclasses.asdict(config) | {
        "classes": splits.classes,
        "input_shape": list(input_shape),
        "version": convscope.__version__,
    }
    if splits.fingerprint is not None:
        info["dataset_fingerprint"] = splits.fingerprint
    if config.model.endswith(".py"):
        # A copy, so the run still loads when the original file moves or changes.
        with atomic_write(run_dir / "model.py") as f:
            f.write(Path(config.model).read_bytes())
        info["model_file"] = "model.py"
    _write_json(run_dir / "config.json", info)


def _train(
    config: TrainConfig,
    model: nn.Module,
    splits: Splits,
    run_dir: Path,
    resume: bool,
    verbose: int,
) -> Trainer:
    """Fit the model; on SIGINT/SIGTERM save a resumable checkpoint and raise RunInterrupted."""
    monitor = _monitor(splits)
    callbacks: list[cb.Callback] = [
        cb.ModelCheckpoint(run_dir / "checkpoints", monitor=monitor),
        cb.JSONLogger(run_dir / "history.json"),
    ]
    if config.early_stopping:
        callbacks.append(
            cb.EarlyStopping(
                monitor=monitor, patience=config.early_stopping, restore_best_weights=True
            )
        )
    train_loader = data.DataLoader(
        splits.train,
        batch_size=config.batch_size,
        shuffle=True,
        # A last batch of one image would break batch normalisation's statistics.
        drop_last=len(splits.train[1]) % config.batch_size == 1,
        transform=training_transform(config.augment),
    )
    val_loader = data.DataLoader(splits.val, batch_size=512) if splits.val else None
    trainer = Trainer(model, make_optimizer(config, model), callbacks=callbacks)
    last = run_dir / "checkpoints" / "last.npz"
    try:
        with stop_on_signals(trainer), data_parallel(config.workers):
            trainer.fit(
                train_loader,
                val_loader,
                epochs=config.epochs,
                verbose=verbose,
                resume_from=last if resume else None,
            )
    except TrainingInterrupted as stop:
        trainer.save_checkpoint(last)
        where = f"epoch {stop.epoch + 1}/{config.epochs}"
        if stop.batch is not None:
            where += f", batch {stop.batch}/{len(train_loader)}"
        raise RunInterrupted(
            f"Interrupted by {signal.Signals(stop.signum).name} at {where}: saved "
            f"{last} (mid-epoch position and random state included). Resume with: "
            f"convscope train --resume {run_dir}",
            stop.signum,
            run_dir,
        ) from None
    if trainer.interrupt_requested is not None:  # arrived during the last validation
        signum = trainer.interrupt_requested
        raise RunInterrupted(
            f"Interrupted by {signal.Signals(signum).name} after the last epoch: training is "
            f"complete and saved in {last}; the evaluation and report were not written. "
            f"Write them with: convscope train --resume {run_dir}",
            signum,
            run_dir,
        )
    return trainer


def _monitor(splits: Splits) -> str:
    """What chooses a run's best epoch: validation loss, or training loss without validation."""
    return "val_loss" if splits.val else "loss"


def report_run(
    run_dir: str | Path,
    *,
    model: nn.Module | None = None,
    splits: Splits | None = None,
    evaluation: dict[str, Any] | None = None,
    locked: bool = False,
) -> tuple[Path, Path]:
    """Write a run's ``report.html`` and ``report.md``; return their paths.

    Whatever is not passed is re-loaded: the best checkpoint, the dataset splits, and
    the test evaluation (recomputed, so the report always equals :func:`evaluate_run`).
    The run is locked while the report is written (``locked``: the caller holds it).
    """
    run_dir = Path(run_dir)
    if not locked:
        read_run_info(run_dir)  # a clear error before creating any lock file
        with lock_run(run_dir):
            return report_run(
                run_dir, model=model, splits=splits, evaluation=evaluation, locked=True
            )
    config = read_config(run_dir)
    if model is None:
        config, model = load_run(run_dir)
    best = _load_checkpoint_file(run_dir / "checkpoints" / "best.npz")
    if splits is None:
        splits = load_splits(config)
        warn_if_data_changed(run_dir, splits)
    evaluation = evaluation if evaluation is not None else evaluate_model(model, splits)
    return build_report(
        run_dir,
        model=model,
        test=splits.test,
        classes=splits.classes,
        dataset_info=splits.info,
        evaluation=evaluation,
        history=history_of(run_dir),
        hyperparameters=dataclasses.asdict(config),
        model_name=config.model,
        evaluated_epoch=int(best["epoch"]),
        monitor=_monitor(splits),
    )


def evaluate_model(
    model: nn.Module,
    splits: Splits,
    batch_size: int = 512,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Test loss, accuracy, per-class accuracy and confusion matrix, as JSON-ready values.

    The test images are evaluated batch by batch; ``progress`` is called with each
    batch's size (and its ``set_total``, if it has one, with the number of images).
    """
    if progress is not None and hasattr(progress, "set_total"):
        progress.set_total(len(splits.test[1]))
    result = evaluate(
        model,
        splits.test,
        batch_size=batch_size,
        return_confusion_matrix=True,
        progress=progress,
    )
    cm = result["confusion_matrix"][: len(splits.classes), : len(splits.classes)]
    totals = cm.sum(axis=1)
    return {
        "loss": float(result["loss"]),
        "accuracy": float(result["accuracy"]),
        "num_examples": int(result["num_samples"]),
        "classes": splits.classes,
        # None for a class with no test image: it has no accuracy.
        "per_class_accuracy": [float(c / t) if t else None for c, t in zip(np.diag(cm), totals)],
        "confusion_matrix": cm.tolist(),
    }


def evaluate_run(
    run_dir: str | Path,
    which: str = "best",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Re-load a run's model and evaluate it on its dataset's test split.

    Warns (:class:`DataChangedWarning`) when an image-folder dataset changed since training.
    """
    config, model = load_run(run_dir, which)
    splits = load_splits(config)
    warn_if_data_changed(run_dir, splits)
    return evaluate_model(model, splits, progress=progress)
