"""IDX reading and writing: round trips, and every kind of damage failing with a clear error."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.data import DatasetError, read_idx, write_idx
from convscope.data.idx import encode_idx, parse_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    raw = path.read_bytes()
    assert raw.startswith(b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_mnist_header_layout():
    data = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:4] == b"\x00\x00\x08\x03"  # MNIST images magic 2051
    assert int.from_bytes(data[4:8], "big") == 2 and len(data) == 16 + 2 * 28 * 28
    assert encode_idx(np.zeros(5, np.uint8))[:4] == b"\x00\x00\x08\x01"  # labels magic 2049


def test_multibyte_is_big_endian_on_disk():
    data = encode_idx(np.array([1, 256], dtype=np.int32))
    assert data[8:] == b"\x00\x00\x00\x01\x00\x00\x01\x00"
    np.testing.assert_array_equal(parse_idx(data), [1, 256])


def test_gzip_recognised_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    plain_named_gz = tmp_path / "x.gz"
    plain_named_gz.write_bytes(encode_idx(array))
    gz_named_plain = tmp_path / "y"
    gz_named_plain.write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(read_idx(plain_named_gz), array)
    np.testing.assert_array_equal(read_idx(gz_named_plain), array)


def test_uint8_read_is_a_read_only_view(tmp_path):
    path = tmp_path / "a"
    write_idx(path, np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError, match="read-only"):
        read_idx(path)[0, 0] = 1


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(DTYPES),
)
def test_round_trip_property(shape, dtype):
    array = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).astype(dtype)
    back = parse_idx(encode_idx(array))
    assert back.shape == tuple(shape) and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)


def _write(tmp_path, data: bytes, name="bad-idx3-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = encode_idx(np.zeros((3, 4, 5), np.uint8))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", r"too short to be an IDX file: 2 bytes"),
        (b"PK\x03\x04" + GOOD[4:], r"bad magic number 0x504B0304"),
        (b"\x00\x00\x07\x03" + GOOD[4:], r"unknown element type code 0x07"),
        (b"\x00\x00\x08\x00", r"declares 0 dimensions"),
        (GOOD[:10], r"truncated header: 3 dimensions need 16 header bytes, but the file has 10"),
        (
            GOOD[:-1],
            r"truncated: 1 bytes are missing.*shape \(3, 4, 5\) of uint8 \(60 data bytes\)",
        ),
        (GOOD + b"\x00\x00", r"2 unexpected bytes follow the data"),
        # 60,000 declared, 59,999 stored
        (encode_idx(np.zeros(60000, np.uint8))[:-1], r"truncated: 1 bytes are missing"),
        (
            b"\x00\x00\x0c\x01\x00\x00\x00\x02" + b"\x00" * 7,
            r"shape \(2,\) of int32 \(8 data bytes\)",
        ),
    ],
)
def test_malformed_idx_names_file_and_problem(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    path = _write(tmp_path, gzip.compress(GOOD * 50)[:-20], "cut.gz")
    with pytest.raises(DatasetError, match=r"cut\.gz: not a valid gzip file"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(bytes(range(256)) * 20))
    data[20:40] = b"\xff" * 20  # damage the deflate stream
    path = _write(tmp_path, bytes(data), "bad.gz")
    with pytest.raises(DatasetError, match=r"bad\.gz: not a valid gzip file.*delete it"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_writer_rejects_unsupported():
    with pytest.raises(TypeError, match="received an array of dtype uint16"):
        encode_idx(np.zeros(3, np.uint16))
    with pytest.raises(ValueError, match=r"received shape \(\)"):
        encode_idx(np.float32(1.0))


def test_idx_files_are_recognised_by_content_whatever_their_name(tmp_path):
    from convscope.data.idx import is_idx_file, open_idx

    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "images.bin", array)
    write_idx(tmp_path / "images.gz", array)
    (tmp_path / "text.idx").write_text("hello")
    assert is_idx_file(tmp_path / "images.bin") and is_idx_file(tmp_path / "images.gz")
    assert not is_idx_file(tmp_path / "text.idx")
    mapped = open_idx(tmp_path / "images.bin")
    assert isinstance(mapped, np.memmap)  # not read into memory
    np.testing.assert_array_equal(mapped, array)
    np.testing.assert_array_equal(open_idx(tmp_path / "images.gz"), array)
