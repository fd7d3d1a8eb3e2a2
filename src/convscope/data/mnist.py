"""MNIST and Fashion-MNIST from their IDX files: found locally, or downloaded, always verified.

Each file is looked for as described in :mod:`convscope.data.cache` (``root`` or
the cache directory, then known system locations such as Debian's
``/usr/share/datasets/fashion-mnist``), gzipped or not. Whatever its origin, a file
is used only if the SHA-256 of its **decompressed** content equals the digest of
the original release below (Debian recompressed its ``.gz`` files, so digests of
the compressed bytes would differ; the content is identical). A file that fails
is skipped with a warning naming it, and the next location is tried. With
``download=True`` and no valid local copy, the file is fetched from the mirrors
into the cache (see :mod:`convscope.data.download`).

The specifications are plain module-level data (:data:`IDX_DATASETS`): tests and
users can point ``mirrors`` elsewhere (``load_idx_dataset(..., mirrors=[...])``)
or replace a spec with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convscope.data.base import Dataset, Transform
from convscope.data.cache import candidates, download_dir, search_dirs
from convscope.data.download import download_file
from convscope.data.errors import DatasetError, DatasetNotFoundError
from convscope.data.idx import parse_idx, read_bytes


@dataclass(frozen=True)
class IDXSpec:
    """Everything needed to find, download and check an IDX dataset.

    ``files`` maps a split to its (images, labels) file names *without* ``.gz``;
    ``sha256`` maps each of those names to the SHA-256 of its uncompressed
    content (``None`` disables the check for that file); mirrors serve ``name.gz``.
    """

    name: str
    title: str
    description: str
    classes: tuple[str, ...]
    files: Mapping[str, tuple[str, str]]
    sha256: Mapping[str, str | None]
    mirrors: tuple[str, ...]
    sizes: Mapping[str, int] = field(default_factory=dict)
    system_dirs: tuple[str, ...] = ()
    torchvision_name: str | None = None
    apt_package: str | None = None
    download_size: str = ""


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the *uncompressed* files of the original releases. Fashion-MNIST's
# were computed here from Debian's dataset-fashion-mnist; their uncompressed MD5s
# (e.g. f4a8712d7a061bf5bd6d2ca38dc4d50a for train-images) also match those other
# projects list for the official release. Both tables agree with the SHA-256s
# listed in many independent public projects (build scripts and data manifests
# found by code search); MNIST's could not be recomputed here (no copy on this
# machine). Mirrors: torchvision's (pytorch/vision, torchvision/datasets/mnist.py)
# and those in zalandoresearch/fashion-mnist's README.
MNIST_SPEC = IDXSpec(
    name="mnist",
    title="MNIST",
    description="MNIST handwritten digits (LeCun, Cortes & Burges): 28x28 grayscale, 10 classes.",
    classes=tuple(str(d) for d in range(10)),
    files=_IDX_FILES,
    sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    sizes={"train": 60000, "test": 10000},
    torchvision_name="MNIST",
    download_size="11 MB",
)

FASHION_MNIST_SPEC = IDXSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    description="Zalando's Fashion-MNIST article images: 28x28 grayscale, 10 classes.",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    files=_IDX_FILES,
    sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    sizes={"train": 60000, "test": 10000},
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    torchvision_name="FashionMNIST",
    apt_package="dataset-fashion-mnist",
    download_size="30 MB",
)

IDX_DATASETS: dict[str, IDXSpec] = {"mnist": MNIST_SPEC, "fashion-mnist": FASHION_MNIST_SPEC}


def load_idx_dataset(
    spec: IDXSpec,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = False,
    *,
    mirrors: Sequence[str] | None = None,
    transform: Transform | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Find (or download), verify and read one split of an IDX dataset.

    Args:
        spec: what to load, e.g. ``IDX_DATASETS["fashion-mnist"]``.
        split: a key of ``spec.files`` (``"train"`` or ``"test"``).
        root: a directory searched instead of the cache (see :mod:`convscope.data.cache`).
        download: fetch missing files from the mirrors.
        mirrors: base URLs to use instead of ``spec.mirrors``.
        transform: stored on the returned Dataset.
        progress: download progress bar (default: when stderr is a terminal).

    Returns:
        A :class:`Dataset` with uint8 images (N, 1, H, W) (read-only) and int64 labels.

    Raises:
        DatasetNotFoundError: no copy found and ``download`` is False; the message
            says where it looked and how to get the data.
        DatasetError: files found but corrupt or inconsistent (and no good copy).
        DownloadError: downloading failed on every mirror.
        ValueError: an unknown split.
    """
    if split not in spec.files:
        raise ValueError(f"{spec.title} has splits {sorted(spec.files)}; received split={split!r}.")
    dirs = search_dirs(spec.name, root, spec.system_dirs, spec.torchvision_name)
    found: dict[str, tuple[Path, bytes]] = {}
    rejected: list[str] = []
    missing = []
    for filename in spec.files[split]:
        hit = _find_verified(filename, spec.sha256.get(filename), dirs, rejected)
        if hit is None:
            missing.append(filename)
        else:
            found[filename] = hit
    if missing and download:
        for filename in missing:
            dest = download_dir(spec.name, root) / (filename + ".gz")
            download_file(
                filename + ".gz",
                dest,
                mirrors if mirrors is not None else spec.mirrors,
                spec.sha256.get(filename),
                progress=progress,
            )
            found[filename] = (dest, _read_verified(dest, spec.sha256.get(filename)))
        missing = []
    if missing:
        raise _not_found(spec, split, root, dirs, rejected)
    for problem in rejected:
        warnings.warn(f"Skipped a bad copy of {spec.title}: {problem}", stacklevel=2)
    (images_path, images_bytes), (labels_path, labels_bytes) = (found[f] for f in spec.files[split])
    images = parse_idx(images_bytes, str(images_path))
    labels = parse_idx(labels_bytes, str(labels_path))
    _check_pair(spec, images, labels, images_path, labels_path)
    source = (
        str(images_path.parent)
        if images_path.parent == labels_path.parent
        else f"{images_path}; {labels_path}"
    )
    return Dataset(
        images[:, None],  # (N, H, W) -> (N, 1, H, W), a view
        labels,
        spec.classes,
        name=spec.name,
        split=split,
        source=source,
        description=spec.description,
        transform=transform,
    )


def _find_verified(
    filename: str, sha256: str | None, dirs: Sequence[Path], rejected: list[str]
) -> tuple[Path, bytes] | None:
    """The first copy of ``filename`` whose content matches ``sha256``.

    Every copy rejected on the way is described in ``rejected``.
    """
    for path in candidates(filename, dirs):
        try:
            return path, _read_verified(path, sha256)
        except (OSError, DatasetError) as err:
            rejected.append(str(err))
    return None


def _read_verified(path: Path, sha256: str | None) -> bytes:
    """The decompressed content of ``path``, or DatasetError if its SHA-256 is not ``sha256``."""
    try:
        data = read_bytes(path)
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err}).") from None
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise DatasetError(
                f"{path}: SHA-256 of the decompressed content is {digest}, expected {sha256} "
                "(corrupt, truncated, or a different file)."
            )
    return data


def _check_pair(
    spec: IDXSpec, images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path
) -> None:
    """Images (N, H, W) uint8 and labels (N,) uint8 in range, or DatasetError naming both files."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{images_path}: expected uint8 images of shape (N, H, W); the file holds "
            f"{images.dtype} of shape {images.shape}."
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            f"{labels_path}: expected integer labels of shape (N,); the file holds "
            f"{labels.dtype} of shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"{spec.title}: {images_path} holds {len(images)} images but {labels_path} "
            f"holds {len(labels)} labels; they must match one to one."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(spec.classes)):
        raise DatasetError(
            f"{labels_path}: labels must be in [0, {len(spec.classes)}); found values from "
            f"{labels.min()} to {labels.max()}."
        )


def how_to_get(spec: IDXSpec, root: str | os.PathLike | None = None) -> list[str]:
    """The ways to obtain ``spec``'s files, one sentence each."""
    ways = []
    if spec.apt_package:
        where = f" (installs to {spec.system_dirs[0]})" if spec.system_dirs else ""
        ways.append(f"sudo apt-get install {spec.apt_package}{where}")
    size = f", {spec.download_size}" if spec.download_size else ""
    ways.append(
        f"download it (verified by SHA-256{size}): load_dataset('{spec.name}', download=True), "
        f"or convscope train --dataset {spec.name} --download"
    )
    names = ", ".join(f + ".gz" for pair in spec.files.values() for f in pair)
    target = download_dir(spec.name, root)
    env = "" if root is not None else " (set CONVSCOPE_DATA to use another directory)"
    ways.append(f"copy {names} (gzipped or not) into {target}/{env}")
    return ways


def _not_found(
    spec: IDXSpec, split: str, root, dirs: Sequence[Path], rejected: list[str]
) -> DatasetError:
    wanted = " and ".join(f"{f}[.gz]" for f in spec.files[split])
    lines = [f"{spec.title} ({split} split) is not available: looked for {wanted} in"]
    lines += [f"  {d}" for d in dirs]
    if rejected:
        lines.append("and rejected these copies:")
        lines += [f"  {r}" for r in rejected]
    lines.append("Get it in one of these ways:")
    lines += [f"  - {way}" for way in how_to_get(spec, root)]
    error = DatasetError if rejected else DatasetNotFoundError
    return error("\n".join(lines))


class MNIST(Dataset):
    """MNIST handwritten digits (torchvision-style constructor); classes "0" ... "9".

    Args:
        root: directory searched instead of the cache (downloads go to ``root/mnist``).
        train: the 60,000-image training split, else the 10,000-image test split.
        download: fetch the files if no verified local copy exists.
        transform: batch transform applied after conversion to float32.

    Raises:
        DatasetNotFoundError, DatasetError, DownloadError: see :func:`load_idx_dataset`.
    """

    spec_name = "mnist"

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Transform | None = None,
    ) -> None:
        split = "train" if train else "test"
        ds = load_idx_dataset(IDX_DATASETS[self.spec_name], split, root, download)
        super().__init__(
            ds.images,
            ds.labels,
            ds.classes,
            name=ds.name,
            split=split,
            source=ds.source,
            description=ds.description,
            transform=transform,
        )
        self.train = bool(train)


class FashionMNIST(MNIST):
    """Fashion-MNIST (torchvision-style constructor); ``classes`` are the 10 article names.

    Same arguments as :class:`MNIST`. On Debian/Ubuntu, ``sudo apt-get install
    dataset-fashion-mnist`` provides the files with no download.
    """

    spec_name = "fashion-mnist"
