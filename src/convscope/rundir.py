"""Safe run directories: never overwritten by accident, one process at a time.

- :func:`check_new_run` refuses a directory that already holds a run (a
  ``config.json``) unless the caller resumes it or explicitly overwrites it;
- :func:`lock_run` takes an exclusive lock (``RUN_DIR/.lock``, via the ``filelock``
  package) for as long as a process writes into the run, so a second ``train`` or
  ``report`` on the same directory stops at once with a clear message instead of
  mixing two runs' files;
- :func:`clear_run` removes a previous run's files (only those a run writes) for
  ``--overwrite``.

Every file inside a run is written with :func:`convscope.io.atomic_write`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"
# What a run directory holds; --overwrite removes exactly these.
RUN_FILES = ("config.json", "history.json", "evaluation.json", "report.html", "report.md")
RUN_FILES += ("model.py",)
RUN_DIRS = ("checkpoints", "figures", "visualize")


class RunExistsError(FileExistsError):
    """The output directory already holds a run."""


class RunLockedError(RuntimeError):
    """Another process is using the run directory."""


def is_run(run_dir: str | os.PathLike) -> bool:
    """True when ``run_dir`` holds a run (its ``config.json``)."""
    return (Path(run_dir) / "config.json").is_file()


def check_new_run(run_dir: str | os.PathLike, overwrite: bool = False) -> None:
    """Refuse to train into a directory that holds a run, unless ``overwrite``.

    Raises:
        RunExistsError: the message names ``--resume`` and ``--overwrite``.
    """
    if is_run(run_dir) and not overwrite:
        raise RunExistsError(
            f"{str(run_dir)!r} already holds a run; refusing to replace it. Continue it with "
            f"`convscope train --resume {run_dir}`, choose another --out, or pass --overwrite "
            "to replace it."
        )


@contextlib.contextmanager
def lock_run(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold ``RUN_DIR/.lock`` exclusively while the block runs (creating ``run_dir``).

    The lock is an OS-level file lock: it is released when the process ends, even if
    it is killed, so a crash never leaves a run locked.

    Raises:
        RunLockedError: another process holds the lock.
        ImportError: the ``filelock`` package is missing (``pip install convscope[extras]``).
    """
    try:
        from filelock import FileLock, Timeout
    except ImportError:
        raise ImportError(
            "Run directories are locked with the filelock package: pip install filelock"
        ) from None
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunLockedError(
            f"{str(run_dir)!r} is in use by another convscope process (it holds "
            f"{run_dir / LOCK_NAME}). Wait for it to finish, or use another directory."
        ) from None
    try:
        yield run_dir
    finally:
        lock.release()


def clear_run(run_dir: str | os.PathLike) -> None:
    """Remove the files a previous run wrote into ``run_dir`` (for ``--overwrite``)."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()
    for name in RUN_DIRS:
        shutil.rmtree(run_dir / name, ignore_errors=True)
