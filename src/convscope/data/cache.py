"""Where dataset files are looked for, in order, and where downloads go.

1. ``root``, when the caller gives one: ``root/<dataset>/``, ``root/`` itself and
   torchvision's layout ``root/<TorchvisionName>/raw/``. Downloads then go to
   ``root/<dataset>/``.
2. Otherwise the cache directory, ``<cache>/<dataset>/``, where downloads go:
   ``$CONVSCOPE_DATA`` if set, else the platform's user cache directory
   (``$XDG_CACHE_HOME/convscope``, by default ``~/.cache/convscope``, on Linux;
   ``~/Library/Caches/convscope`` on macOS; ``%LOCALAPPDATA%\\convscope\\Cache`` on Windows).
3. Known system locations, e.g. ``/usr/share/datasets/fashion-mnist`` where
   Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST.

A file ``name`` is found as ``name`` or ``name.gz``.

>>> str(download_dir("mnist", root="/data"))
'/data/mnist'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def cache_dir() -> Path:
    """The directory downloads go to (see the module docstring); not created here."""
    env = os.environ.get("CONVSCOPE_DATA")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "convscope" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "convscope"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "convscope"


def download_dir(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """Where files of ``dataset`` are saved when downloaded: ``<root or cache>/<dataset>``."""
    return (Path(root).expanduser() if root is not None else cache_dir()) / dataset


def search_dirs(
    dataset: str,
    root: str | os.PathLike | None = None,
    system_dirs: Sequence[str | os.PathLike] = (),
    torchvision_name: str | None = None,
) -> list[Path]:
    """The directories searched for ``dataset``'s files, in order (duplicates removed).

    >>> [str(p) for p in search_dirs("mnist", root="/data", torchvision_name="MNIST")]
    ['/data/mnist', '/data', '/data/MNIST/raw']
    """
    if root is not None:
        base = Path(root).expanduser()
        dirs = [base / dataset, base]
        if torchvision_name:
            dirs.append(base / torchvision_name / "raw")
    else:
        dirs = [cache_dir() / dataset]
    dirs += [Path(d) for d in system_dirs]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def candidates(filename: str, dirs: Sequence[Path]) -> list[Path]:
    """Existing files named ``filename`` or ``filename.gz`` in ``dirs``, in search order."""
    found = []
    for d in dirs:
        for name in (filename, filename + ".gz"):
            path = d / name
            if path.is_file():
                found.append(path)
    return found
