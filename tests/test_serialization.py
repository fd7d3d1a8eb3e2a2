"""Tests of convscope.serialization: exact round trips, atomic saves, safe and clear loads."""

from __future__ import annotations

import json
import math
import pickle
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
from convscope import Tensor
from convscope.serialization import (
    FORMAT_VERSION,
    HEADER_KEY,
    CheckpointError,
    load,
    save,
)


def assert_same(expected, actual, where="root"):
    """Structural equality with exact types, dtypes and shapes (NaN equals NaN)."""
    if isinstance(expected, Tensor):
        expected = expected.data
    if isinstance(expected, OrderedDict):
        expected = dict(expected)
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype}"
        assert actual.shape == expected.shape, f"{where}: shape {actual.shape}"
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype}"
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)}"
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}.{key!r}")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, f"{where}[{i}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual), where
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
        if isinstance(expected, float):
            assert math.copysign(1, actual) == math.copysign(1, expected), where


def round_trip(obj, path, **kwargs):
    save(obj, path, **kwargs)
    return load(path)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def training_checkpoint() -> dict:
    rng = np.random.default_rng(0)
    cs.manual_seed(5)
    return {
        "format": "convscope.checkpoint",
        "epoch": 7,
        "model": {
            "features.0.weight": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
            "features.0.bias": np.zeros(4, dtype=np.float32),
            "bn.running_mean": np.zeros(4, dtype=np.float32),
            "bn.num_batches_tracked": np.array(12, dtype=np.int64),
            "fc.weight": Tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        },
        "optimizer": {  # the shape of a PyTorch optimizer state_dict: int keys
            "state": {
                0: {"step": np.array(12.0, np.float32), "exp_avg": np.ones((4, 1, 3, 3))},
                1: {"step": np.array(12.0, np.float32), "exp_avg": np.ones(4)},
            },
            "param_groups": [
                {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1], "amsgrad": False}
            ],
        },
        "rng": cs.get_rng_state(),  # 128-bit integers
        "history": {"loss": [2.3, 1.1, float("nan")], "accuracy": [0.1, 0.5, None]},
        "classes": ["cat", "dog", "émeu"],
        "best": float("inf"),
        "mask": np.array([[True, False]]),
    }


# --------------------------------------------------------------------------- round trips


def test_training_checkpoint_round_trips_exactly(tmp_path):
    checkpoint = training_checkpoint()
    loaded = round_trip(checkpoint, tmp_path / "ckpt.npz")
    assert_same(checkpoint, loaded)
    assert list(loaded["optimizer"]["state"]) == [0, 1]  # int keys come back as int
    assert isinstance(loaded["optimizer"]["param_groups"][0]["betas"], tuple)
    cs.manual_seed(99)
    cs.set_rng_state(loaded["rng"])
    cs.manual_seed(5)
    expected = cs.generator().random(3)
    cs.set_rng_state(loaded["rng"])
    np.testing.assert_array_equal(cs.generator().random(3), expected)


@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int32, np.int64, np.bool_]
)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (1, 2, 1, 3)])
def test_arrays_keep_dtype_and_shape(tmp_path, dtype, shape):
    array = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype)
    loaded = round_trip({"x": array, "y": [array]}, tmp_path / "a.npz")
    assert_same({"x": array, "y": [array]}, loaded)


def test_non_contiguous_fortran_and_big_endian_arrays(tmp_path):
    base = np.arange(24.0).reshape(4, 6)
    obj = {
        "transposed": base.T,
        "strided": base[::2, ::3],
        "fortran": np.asfortranarray(base),
        "big_endian": base.astype(">f4"),
    }
    assert_same(obj, round_trip(obj, tmp_path / "a.npz"))


def test_numpy_scalars_keep_their_type(tmp_path):
    obj = [np.float32(1.5), np.float64(-0.0), np.int64(2**62), np.uint8(7), np.bool_(True)]
    loaded = round_trip(obj, tmp_path / "s.npz")
    assert_same(obj, loaded)
    assert [type(v) for v in loaded] == [type(v) for v in obj]


def test_python_scalars_round_trip_exactly(tmp_path):
    obj = {
        "ints": [0, -1, 2**53, 2**53 + 1, -(2**64) - 5, 2**128 + 3, 10**400],
        "floats": [0.1, -0.0, 1e-310, 1.7976931348623157e308, float("-inf"), float("nan")],
        "other": [True, False, None, "", "a/b\\c", "日本"],
        "nested": ((1, (2,)), [], {}, ()),
    }
    assert_same(obj, round_trip(obj, tmp_path / "p.npz"))


def test_keys_keep_type_order_and_never_collide(tmp_path):
    a, b, c, d = (np.full(2, float(i)) for i in range(4))
    obj = {"b": a, 0: b, "0": c, -3: d, "a/b": a, "a": {"b": b}, "": c, HEADER_KEY: d}
    loaded = round_trip(obj, tmp_path / "k.npz")
    assert_same(obj, loaded)
    assert list(loaded) == ["b", 0, "0", -3, "a/b", "a", "", HEADER_KEY]


def test_root_can_be_any_supported_value(tmp_path):
    for obj in (np.arange(3), [1, 2], 5, None, "text", np.float32(2.0)):
        assert_same(obj, round_trip(obj, tmp_path / "r.npz"))


def test_tensors_and_ordered_dicts_load_as_arrays_and_dicts(tmp_path):
    state = OrderedDict(w=Tensor(np.ones((2, 2)), requires_grad=True), b=Tensor([1.0]))
    loaded = round_trip(state, tmp_path / "t.npz")
    assert type(loaded) is dict and type(loaded["w"]) is np.ndarray
    assert loaded["w"].dtype == np.float64 and loaded["b"].dtype == np.float32


def test_arrays_are_readable_by_plain_numpy_under_flat_keys(tmp_path):
    save(training_checkpoint(), tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert "model/features.0.weight" in archive.files
        assert "optimizer/state/0/exp_avg" in archive.files
        assert archive["model/fc.weight"].shape == (3, 4)
        header = json.loads(archive[HEADER_KEY].tobytes().decode("utf-8"))
    assert header["format"] == "convscope" and header["version"] == FORMAT_VERSION


def test_saved_file_is_exactly_the_path_given(tmp_path):
    save({"a": 1}, tmp_path / "checkpoint")  # no suffix added
    assert files_in(tmp_path) == ["checkpoint"]
    assert load(str(tmp_path / "checkpoint")) == {"a": 1}


def test_compression_round_trips_and_shrinks(tmp_path):
    obj = {"zeros": np.zeros((200, 200), dtype=np.float32), "n": 3}
    save(obj, tmp_path / "plain.npz")
    loaded = round_trip(obj, tmp_path / "small.npz", compress=True)
    assert_same(obj, loaded)
    assert (tmp_path / "small.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size / 10


def test_loaded_arrays_are_independent_and_writable(tmp_path):
    array = np.arange(4.0)
    loaded = round_trip({"x": array}, tmp_path / "w.npz")
    loaded["x"][0] = 99
    assert array[0] == 0


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.builds(
        lambda dtype, shape: np.ones(shape, dtype=dtype),
        st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
        st.lists(st.integers(0, 3), max_size=3).map(tuple),
    ),
)
keys = st.one_of(st.text(max_size=4), st.integers(-5, 5))
structures = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(obj=structures)
def test_random_structures_round_trip(obj):
    with tempfile.TemporaryDirectory() as folder:
        assert_same(obj, round_trip(obj, Path(folder) / "h.npz"))


# --------------------------------------------------------------------------- what save refuses


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"a": {1, 2}}, r"cannot store a value of type set at 'a'"),
        ({"a": [object()]}, r"type object at 'a.0'"),
        ({"a": {1.5: 2}}, r"dict keys of type str or int; received key 1.5 of type float in 'a'"),
        ({(1, 2): 2}, r"received key \(1, 2\) of type tuple in the top level"),
        ({True: 2}, r"received key True of type bool"),
        ({"m": {"x": np.array([{}], dtype=object)}}, r"object array at 'm.x'"),
    ],
)
def test_save_refuses_unsupported_values_and_writes_nothing(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        save(obj, tmp_path / "bad.npz")
    assert files_in(tmp_path) == []


# --------------------------------------------------------------------------- atomic saves


def test_a_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    first = training_checkpoint()
    save(first, path)
    real_write_array = np.lib.format.write_array
    calls = []

    def write_then_crash(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # a few arrays in: write half of this one, then die
            fp.write(b"\x93NUMPY partial bytes")
            raise OSError(28, "No space left on device")
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_crash)
    second = training_checkpoint()
    second["epoch"] = 8
    with pytest.raises(OSError, match="No space left"):
        save(second, path)
    monkeypatch.undo()
    assert len(calls) == 4
    assert files_in(tmp_path) == ["ckpt.npz"]  # no stray temporary file
    assert_same(first, load(path))


def test_a_crash_during_the_first_save_leaves_no_file(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        save({"a": np.ones(3)}, tmp_path / "ckpt.npz")
    assert files_in(tmp_path) == []


def test_saving_over_an_existing_file_replaces_it(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"epoch": 1}, path)
    save({"epoch": 2, "w": np.ones(2)}, path)
    assert_same({"epoch": 2, "w": np.ones(2)}, load(path))
    assert files_in(tmp_path) == ["ckpt.npz"]


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"a": 1}, tmp_path / "nope" / "ckpt.npz")


# --------------------------------------------------------------------------- plain .npz files


def test_loads_a_plain_npz_exported_from_pytorch(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 10),
    )
    model(torch.randn(2, 1, 8, 8))  # update the BatchNorm buffers
    state = model.state_dict()
    path = tmp_path / "torch_weights.npz"
    np.savez(path, **{k: v.numpy() for k, v in state.items()})
    loaded = load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert loaded[key].dtype == value.numpy().dtype and loaded[key].shape == tuple(value.shape)
        np.testing.assert_array_equal(loaded[key], value.numpy())
    assert loaded["1.num_batches_tracked"].dtype == np.int64


def test_a_plain_npz_with_positional_arrays(tmp_path):
    np.savez(tmp_path / "p.npz", np.arange(3), np.eye(2))
    loaded = load(tmp_path / "p.npz")
    assert sorted(loaded) == ["arr_0", "arr_1"]
    np.testing.assert_array_equal(loaded["arr_1"], np.eye(2))


# --------------------------------------------------------------------------- errors


def rewrite_archive(path: Path, *, header=None, drop=None, extra=None):
    """Copy the archive at ``path`` with the header replaced and/or members dropped/added."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    if header is not None:
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        arrays[HEADER_KEY] = np.frombuffer(raw, dtype=np.uint8)
    for key in drop or ():
        del arrays[key]
    arrays.update(extra or {})
    with zipfile.ZipFile(path, "w") as z:
        for key, array in arrays.items():
            with z.open(key + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=True)


def saved_header(path: Path) -> dict:
    with np.load(path) as archive:
        return json.loads(archive[HEADER_KEY].tobytes())


@pytest.fixture
def good_file(tmp_path) -> Path:
    path = tmp_path / "good.npz"
    save(training_checkpoint(), path)
    return path


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.npz")


def test_truncated_file(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"good\.npz'.*truncated or corrupt"):
        load(good_file)


def test_every_truncation_is_reported_as_checkpoint_error(good_file):
    data = good_file.read_bytes()
    for cut in np.linspace(1, len(data) - 1, 40).astype(int):
        good_file.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="good.npz"):
            load(good_file)


def test_corrupt_array_bytes_fail_the_crc_check(good_file):
    data = bytearray(good_file.read_bytes())
    header_len = len(json.dumps(saved_header(good_file)))
    position = data.find(b"\x93NUMPY", header_len) + 200  # inside an array's data
    data[position] ^= 0xFF
    good_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"truncated or corrupt \(BadZipFile: Bad CRC-32"):
        load(good_file)


def test_corruption_anywhere_is_detected_or_harmless(good_file):
    expected = load(good_file)
    data = good_file.read_bytes()
    rng = np.random.default_rng(0)
    for position in rng.choice(len(data), size=60, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        good_file.write_bytes(bytes(damaged))
        try:
            loaded = load(good_file)
        except CheckpointError as error:
            assert "good.npz" in str(error)
        else:  # a byte zipfile never reads (e.g. a local header's extra field)
            assert_same(expected, loaded)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"the file is empty"),
        (b"epoch,loss\n1,0.5\n", r"not an \.npz \(zip\) archive; it starts with b'epoch,'"),
        (pickle.dumps({"a": 1}), r"not an \.npz \(zip\) archive"),
    ],
)
def test_not_an_npz(tmp_path, content, message):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"x\.npz'.*{message}"):
        load(path)


def test_a_npy_file_is_not_an_npz(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(CheckpointError, match=r"single-array \.npy file, not an \.npz archive"):
        load(tmp_path / "array.npy")


def test_foreign_header(good_file):
    rewrite_archive(good_file, header={"format": "someone-else", "version": 1, "root": None})
    with pytest.raises(
        CheckpointError,
        match=r"good\.npz'.*not written by convscope .*format='someone-else'; expected 'convscope'",
    ):
        load(good_file)


@pytest.mark.parametrize(
    "header, message",
    [
        (b"\xff\xfe not utf-8", r"header is corrupt"),
        (b"{not json", r"header is corrupt"),
        ([1, 2], r"not written by convscope \(its header names format='list'"),
        ({"format": "convscope", "root": None}, r"no valid format version"),
        ({"format": "convscope", "version": 1}, r"header is corrupt \(no 'root'\)"),
        ({"format": "convscope", "version": 1, "root": {"$": "blob"}}, r"unknown node type"),
        ({"format": "convscope", "version": 1, "root": {"$": "dict"}}, r"malformed 'dict' node"),
        (
            {"format": "convscope", "version": 1, "root": {"$": "dict", "items": [[1.5, 0]]}},
            r"dict key 1\.5 is neither str nor int",
        ),
    ],
)
def test_corrupt_headers(good_file, header, message):
    rewrite_archive(good_file, header=header)
    with pytest.raises(CheckpointError, match=rf"good\.npz'.*{message}"):
        load(good_file)


def test_header_of_the_wrong_dtype(good_file):
    rewrite_archive(good_file, extra={HEADER_KEY: np.zeros(3, dtype=np.float32)})
    with pytest.raises(CheckpointError, match=r"header is corrupt \(expected a 1-d uint8 array"):
        load(good_file)


def test_newer_format_version(good_file):
    header = saved_header(good_file)
    header["version"] = FORMAT_VERSION + 1
    rewrite_archive(good_file, header=header)
    with pytest.raises(
        CheckpointError, match=rf"format version {FORMAT_VERSION + 1}, newer than .*Upgrade"
    ):
        load(good_file)


def test_missing_array_referenced_by_the_header(good_file):
    rewrite_archive(good_file, drop=["model/fc.weight"])
    with pytest.raises(
        CheckpointError, match=r"refers to array 'model/fc.weight', which the archive does not"
    ):
        load(good_file)


def test_array_that_does_not_match_its_header(good_file):
    rewrite_archive(good_file, extra={"model/fc.weight": np.zeros((4, 3), np.float32)})
    with pytest.raises(CheckpointError, match=r"should be <f4 of shape \(3, 4\); .* \(4, 3\)"):
        load(good_file)


class _Canary:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("with_header", [False, True])
def test_object_arrays_are_refused_without_running_code(tmp_path, with_header):
    path = tmp_path / "evil.npz"
    canary = tmp_path / "code_ran"
    evil = np.array([_Canary(str(canary))], dtype=object)
    if with_header:
        save({"w": np.ones(2)}, path)
        rewrite_archive(path, extra={"w": evil})
    else:
        np.savez(path, w=evil)  # np.savez pickles object arrays
    with pytest.raises(CheckpointError, match=r"evil\.npz'.*pickled object arrays"):
        load(path)
    assert not canary.exists()


def test_keys_with_control_characters_round_trip(tmp_path):
    # Zip truncates member names at NUL: archive names are sanitised, the header keeps keys.
    obj = {"\x00": np.ones(2, np.float32), "a\x14b/c": np.zeros(1), "\x00 ": np.arange(3)}
    save(obj, tmp_path / "odd.npz")
    back = load(tmp_path / "odd.npz")
    assert list(back) == list(obj)
    for key, value in obj.items():
        np.testing.assert_array_equal(back[key], value)
