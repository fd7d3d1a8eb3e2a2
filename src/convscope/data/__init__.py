"""Datasets, batching and augmentation: MNIST, Fashion-MNIST and your own images.

Offline first: files are looked for in the cache (``$CONVSCOPE_DATA`` or the user
cache directory) and in system locations (Debian's ``dataset-fashion-mnist``)
before anything is downloaded, and only with ``download=True``. Every IDX file is
checked against the SHA-256 of the original release.

Every dataset holds ``images`` as uint8 (N, C, H, W), exactly as stored, and
``labels`` as int64 (N,); :class:`DataLoader` turns them into float32 [0, 1]
batches one batch at a time.

>>> from convscope.data import DataLoader, load_dataset
>>> train = load_dataset("digits", "train")
>>> x, y = next(iter(DataLoader(train, batch_size=16)))
>>> x.shape, x.dtype, y.dtype, float(x.max()) <= 1.0
((16, 1, 8, 8), dtype('float32'), dtype('int64'), True)
"""

from convscope.data.base import Dataset, stratified_split
from convscope.data.bundled import load_digits, load_mnist_5k
from convscope.data.cache import cache_dir
from convscope.data.download import download_file
from convscope.data.errors import DatasetError, DatasetNotFoundError, DownloadError
from convscope.data.folder import ImageFolder, read_image
from convscope.data.idx import read_idx, write_idx
from convscope.data.loader import DataLoader
from convscope.data.mnist import IDX_DATASETS, MNIST, FashionMNIST, IDXSpec, load_idx_dataset
from convscope.data.registry import (
    DATASET_NAMES,
    DatasetInfo,
    available_datasets,
    canonical_name,
    format_available,
    load_dataset,
)
from convscope.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    ToFloat,
    compute_mean_std,
    to_float,
)

__all__ = [
    "DATASET_NAMES",
    "IDX_DATASETS",
    "MNIST",
    "Compose",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DownloadError",
    "FashionMNIST",
    "IDXSpec",
    "ImageFolder",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomShift",
    "ToFloat",
    "available_datasets",
    "cache_dir",
    "canonical_name",
    "compute_mean_std",
    "download_file",
    "format_available",
    "load_dataset",
    "load_digits",
    "load_idx_dataset",
    "load_mnist_5k",
    "read_idx",
    "read_image",
    "stratified_split",
    "to_float",
    "write_idx",
]
