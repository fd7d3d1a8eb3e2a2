"""Read and write IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one 4-byte big-endian size per dimension,
then the elements, big-endian, row-major::

    magic  = 0x00 0x00 <type code> <number of dimensions>
    sizes  = ndim x uint32 (big-endian)
    data   = prod(sizes) elements of the type below

    type code  0x08 uint8   0x09 int8   0x0B int16   0x0C int32   0x0D float32   0x0E float64

MNIST images are ``0x00000803`` (uint8, 3 dims: N, 28, 28), labels ``0x00000801``
(uint8, 1 dim: N). Files may be gzipped: gzip is recognised by its content
(``1f 8b``), not by the file name. Anything malformed raises :class:`DatasetError`
naming the file and what is wrong with it.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte.gz")
>>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
>>> read_idx(path)
array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from convscope.data.errors import DatasetError
from convscope.io import atomic_write

# type code -> big-endian dtype, and back
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_NAMES = ", ".join(f"0x{code:02X} ({dt.name})" for code, dt in IDX_TYPES.items())
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """A file's content, gunzipped if it is gzip-compressed (recognised by content).

    Raises:
        DatasetError: the file looks like gzip but does not decompress (corrupt or
            truncated archive).
        FileNotFoundError: no such file.
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        raise DatasetError(
            f"{os.fspath(path)}: not a valid gzip file ({err}). The file is corrupt or was "
            "cut short; delete it and fetch it again."
        ) from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file.

    Args:
        data: the whole file.
        source: a name for error messages (usually the path).

    Returns:
        An array of the declared shape in native byte order. For uint8/int8 it is a
        read-only view of ``data`` (no copy).

    Raises:
        DatasetError: bad magic number, unknown type code, truncated header, or a data
            size that does not match the header.

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
    array([7, 9], dtype=uint8)
    """
    n = len(data)
    if n < 4:
        raise DatasetError(
            f"{source}: too short to be an IDX file: {n} bytes, and the magic number alone takes 4."
        )
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"{source}: bad magic number 0x{magic:08X}. An IDX file starts with two zero "
            "bytes, a type code and the number of dimensions (MNIST images: 0x00000803, "
            "labels: 0x00000801). This is not an IDX file, or it is corrupt."
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise DatasetError(
            f"{source}: unknown element type code 0x{code:02X} in magic number "
            f"0x{magic:08X}; expected one of {_TYPE_NAMES}."
        )
    if ndim == 0:
        raise DatasetError(f"{source}: the IDX header declares 0 dimensions; expected 1 or more.")
    header = 4 + 4 * ndim
    if n < header:
        raise DatasetError(
            f"{source}: truncated header: {ndim} dimensions need {header} header bytes, "
            f"but the file has {n} bytes."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = n - header
    if found != expected:
        what = (
            f"truncated: {expected - found} bytes are missing"
            if found < expected
            else f"{found - expected} unexpected bytes follow the data"
        )
        raise DatasetError(
            f"{source}: {what}. The header declares shape {shape} of {dtype.name} "
            f"({expected} data bytes) but the file holds {found} bytes after its "
            f"{header}-byte header."
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    array = array.reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))  # big-endian -> native (a copy)
    return array


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or plain.

    Args:
        path: the file.

    Returns:
        The stored array in native byte order (uint8 arrays are read-only).

    Raises:
        DatasetError: the file is not valid gzip or not a valid IDX file; the message
            names the file and what is wrong.
        FileNotFoundError: no such file.
    """
    return parse_idx(read_bytes(path), os.fspath(path))


def is_idx_file(path: str | os.PathLike) -> bool:
    """True when a file starts like an IDX file (plain or gzipped), whatever its name.

    Only the header is read: two zero bytes, a known type code, at least one dimension.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.bin")
    >>> write_idx(path, np.array([1, 2], dtype=np.uint8))
    >>> is_idx_file(path), is_idx_file(__file__)
    (True, False)
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if head[:2] == _GZIP_MAGIC:
                f.seek(0)
                with gzip.open(f) as g:
                    head = g.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in IDX_TYPES and head[3] > 0


def open_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file as an array without reading it into memory when it is not compressed.

    A plain file is memory-mapped (read-only, pages loaded as they are used, so a
    100,000-image file costs no memory up front); a gzipped one is decompressed and
    parsed by :func:`read_idx`.

    Raises:
        DatasetError, FileNotFoundError: as :func:`read_idx`.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in IDX_TYPES or head[3] == 0:
        return read_idx(path)
    ndim = head[3]
    with open(path, "rb") as f:
        header = f.read(4 + 4 * ndim)
    shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[head[2]]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(header) != 4 + 4 * ndim or os.path.getsize(path) != len(header) + expected:
        return read_idx(path)  # raises the precise DatasetError
    return np.memmap(path, dtype=dtype, mode="r", offset=len(header), shape=shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (header + big-endian data).

    Raises:
        TypeError: the dtype has no IDX type code.
        ValueError: a 0-d array, or more than 255 dimensions / a size over 2**32 - 1.

    >>> encode_idx(np.array([7, 9], dtype=np.uint8))
    b'\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x02\\x07\\t'
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(dt.name for dt in IDX_TYPES.values())
        raise TypeError(f"IDX can store {names}; received an array of dtype {array.dtype}.")
    if not 1 <= array.ndim <= 255 or any(s >= 2**32 for s in array.shape):
        raise ValueError(
            "IDX stores arrays of 1 to 255 dimensions, each smaller than 2**32; received "
            f"shape {array.shape}."
        )
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    big_endian = np.ascontiguousarray(array, dtype=IDX_TYPES[code])
    return header + big_endian.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file, atomically (a crash never leaves half a file).

    Args:
        path: destination.
        array: uint8, int8, int16, int32, float32 or float64, 1 to 255 dimensions.
        compress: gzip the file; by default, when ``path`` ends in ``.gz``.

    Raises:
        TypeError, ValueError: as :func:`encode_idx`.
    """
    data = encode_idx(array)
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)  # mtime=0: identical bytes run after run
    with atomic_write(path, mode="wb") as f:
        f.write(data)
