"""Crash-safe file writing: a file is either the old version or the complete new one.

:func:`atomic_write` writes to a temporary file in the destination's directory,
flushes it to disk (``os.fsync``) and only then renames it over the destination
with ``os.replace``, which is atomic on POSIX and Windows. If the writer raises —
or the machine loses power mid-write — the previous file is left untouched and no
half-written file ever appears under the destination's name. Checkpoints,
downloads and reports all go through it.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_write(folder / "notes.txt", "w") as f:
...     _ = f.write("complete")
>>> (folder / "notes.txt").read_text()
'complete'
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_MODES = ("wb", "w", "wt")


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "wb", *, encoding: str = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only once it is completely written.

    The temporary file (``.<name>.<random>.tmp``) lives in the same directory as
    ``path``, so the final ``os.replace`` never crosses file systems. On leaving the
    ``with`` block normally the data is flushed and fsynced, the file is renamed to
    ``path`` and the directory entry is fsynced (where the OS supports it). If the
    block raises (including ``KeyboardInterrupt``), the temporary file is deleted,
    ``path`` keeps its previous content (or stays absent) and the exception propagates.
    The new file gets the usual permissions (``0o666`` minus the umask).

    Args:
        path: the destination file. Its directory must exist.
        mode: ``"wb"`` (bytes, the default), ``"w"`` or ``"wt"`` (text).
        encoding: text encoding for text modes.

    Returns:
        A context manager yielding the open temporary file object.

    Raises:
        ValueError: ``mode`` is not a write mode listed above.
        FileNotFoundError: the destination's directory does not exist.
        OSError: writing failed (disk full, read-only, permission denied); the error's
            ``filename`` is always ``path``, so messages can say which file it was.

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "data.bin"
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"old")
    >>> try:
    ...     with atomic_write(target) as f:
    ...         _ = f.write(b"new but incomplete")
    ...         raise RuntimeError("crash while writing")
    ... except RuntimeError:
    ...     pass
    >>> target.read_bytes()
    b'old'
    >>> sorted(p.name for p in target.parent.iterdir())
    ['data.bin']
    """
    if mode not in _MODES:
        raise ValueError(
            f"atomic_write expected mode 'wb', 'w' or 'wt'; received mode={mode!r}. "
            "Appending or reading cannot be done atomically this way."
        )
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Cannot write {str(path)!r}: its directory {str(directory)!r} does not exist."
        )
    temp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    binary = mode == "wb"
    try:
        # "x": create exclusively, with the usual permissions (0o666 minus the umask).
        f = open(temp, "xb" if binary else "x", encoding=None if binary else encoding)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(error, OSError) and error.errno is not None:
            raise _naming(error, path) from error
        raise
    _fsync_directory(directory)


def _naming(error: OSError, path: Path) -> OSError:
    """The same kind of OSError (same errno, so the same subclass), naming ``path``."""
    return OSError(error.errno, error.strerror or str(error), str(path))


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
