"""Download a file from a list of mirrors: verified, retried, atomic.

:func:`download_file` tries each mirror in turn. A transient failure (connection
refused or cut, timeout, HTTP 5xx, a body shorter than its ``Content-Length``)
is retried on the same mirror after ``backoff * 2**attempt`` seconds; a client
error (HTTP 4xx) or wrong content (checksum mismatch) moves on to the next mirror.
The bytes are streamed into a temporary file beside the destination while the
SHA-256 of their *decompressed* content is computed on the fly (gzip is
recognised by content); only a complete, verified file is renamed into place
(:func:`convscope.io.atomic_write`), so an interrupted or corrupted download
never leaves a file that could later pass for data. Only ``urllib`` is used.
A tqdm progress bar is shown when tqdm is installed and stderr is a terminal.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

from convscope.data.errors import DownloadError
from convscope.io import atomic_write

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16
_sleep = time.sleep  # tests replace this to observe the backoff without waiting


class _TryNextMirror(Exception):
    """This mirror cannot serve the right file: do not retry it."""


class _Transient(Exception):
    """A failure worth retrying on the same mirror."""


def download_file(
    filename: str,
    dest: str | os.PathLike,
    mirrors: Sequence[str],
    sha256: str | None,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool | None = None,
) -> Path:
    """Fetch ``<mirror>/<filename>`` into ``dest``, verifying its decompressed SHA-256.

    Args:
        filename: the name on the mirrors, e.g. ``"train-images-idx3-ubyte.gz"``.
        dest: where to save the file (as received, still compressed); its parent
            directory is created.
        mirrors: base URLs tried in order, e.g. ``["https://ossci-datasets.s3.amazonaws.com/mnist/"]``.
        sha256: expected hex SHA-256 of the content after gunzip (of the bytes
            themselves if they are not gzip); ``None`` skips the check.
        retries: attempts per mirror for transient failures (at least 1).
        backoff: seconds before the first retry, doubled after each failure.
        timeout: seconds without data before a connection is abandoned.
        progress: show a tqdm bar; ``None`` means when stderr is a terminal.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: every mirror failed; the message lists each URL and why.
        ValueError: ``retries`` < 1 or no mirrors.
    """
    if retries < 1:
        raise ValueError(f"download_file expected retries >= 1; received retries={retries}.")
    if not mirrors:
        raise ValueError(
            f"download_file expected at least one mirror for {filename}; received none."
        )
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        for attempt in range(retries):
            try:
                _fetch(url, dest, sha256, timeout, progress)
                return dest
            except _TryNextMirror as err:
                failures.append(f"{url}: {err}")
                break
            except _Transient as err:
                failures.append(f"{url} (attempt {attempt + 1} of {retries}): {err}")
                if attempt + 1 < retries:
                    delay = backoff * 2**attempt
                    logger.warning("%s failed (%s); retrying in %.1f s", url, err, delay)
                    _sleep(delay)
    lines = "\n  ".join(failures)
    raise DownloadError(
        f"Could not download {filename} from any mirror; nothing was saved to {dest}.\n  {lines}"
    )


def _fetch(url: str, dest: Path, sha256: str | None, timeout: float, progress: bool | None) -> None:
    """One attempt: stream ``url`` into ``dest`` atomically, or raise and leave nothing."""
    request = urllib.request.Request(url, headers={"User-Agent": "convscope"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None and length.isdigit() else None
            with atomic_write(dest, mode="wb") as f:
                received, digest = _stream(response, f, total, dest.name, progress)
                if total is not None and received != total:
                    raise _Transient(
                        f"connection closed after {received} of {total} bytes (Content-Length)"
                    )
                if sha256 is not None and digest != sha256.lower():
                    raise _TryNextMirror(
                        f"SHA-256 of the decompressed content is {digest}, expected {sha256} "
                        "(wrong or corrupted file)"
                    )
    except urllib.error.HTTPError as err:
        if 400 <= err.code < 500:
            raise _TryNextMirror(f"HTTP {err.code} {err.reason}") from None
        raise _Transient(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _Transient(f"{err.reason}") from None
    except (http.client.HTTPException, OSError) as err:  # incl. resets, timeouts
        raise _Transient(f"{type(err).__name__}: {err}") from None


class _Inflater:
    """Hash of the content after gunzip (all members), or of the raw bytes if not gzip."""

    def __init__(self) -> None:
        self.hasher = hashlib.sha256()
        self.gzip: bool | None = None
        self.inflater = zlib.decompressobj(wbits=31)

    def update(self, chunk: bytes) -> None:
        if self.gzip is None:
            self.gzip = chunk[:2] == b"\x1f\x8b"
        if not self.gzip:
            self.hasher.update(chunk)
            return
        while chunk:
            self.hasher.update(self.inflater.decompress(chunk))
            chunk = b""
            if self.inflater.eof and self.inflater.unused_data:  # next gzip member
                chunk = self.inflater.unused_data
                self.inflater = zlib.decompressobj(wbits=31)

    def hexdigest(self) -> str:
        if self.gzip and not self.inflater.eof:
            raise _Transient("the gzip stream ends before its end-of-stream marker")
        return self.hasher.hexdigest()


def _stream(response, f, total: int | None, name: str, progress: bool | None) -> tuple[int, str]:
    """Copy ``response`` to ``f`` chunk by chunk; return (bytes received, content digest)."""
    inflater = _Inflater()
    bar = _progress_bar(total, name, progress)
    received = 0
    try:
        while chunk := response.read(_CHUNK):
            f.write(chunk)
            received += len(chunk)
            try:
                inflater.update(chunk)
            except zlib.error as err:
                raise _TryNextMirror(f"corrupt gzip data ({err})") from None
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    if total is not None and received != total:
        return received, ""
    return received, inflater.hexdigest()


def _progress_bar(total: int | None, name: str, progress: bool | None):
    """A tqdm bar, or None when disabled, not a terminal, or tqdm is not installed."""
    if progress is None:
        progress = sys.stderr is not None and sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm  # optional extra
    except ImportError:
        return None
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
