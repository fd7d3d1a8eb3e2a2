"""The plain-loop textbook functions: the worked examples, PyTorch, and size formulas."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import scratch
from convscope.scratch import (
    average_pooling,
    avg_pool2d_loops,
    conv2d_loops,
    convolve2d,
    max_pool2d_loops,
    max_pooling,
    same_padding,
)

IMAGE = [
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 1, 1, 1],
    [0, 0, 1, 1, 0],
    [0, 1, 1, 0, 0],
]
KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
GRID = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize(
    "padding,stride,expected",
    [
        ("valid", 1, [[4, 3, 4], [2, 4, 3], [2, 3, 4]]),
        (
            "same",
            1,
            [[2, 2, 3, 1, 1], [1, 4, 3, 4, 1], [1, 2, 4, 3, 3], [1, 2, 3, 4, 1], [0, 2, 2, 1, 1]],
        ),
        ("valid", 2, [[4, 4], [2, 4]]),
        ("same", 2, [[2, 3, 1], [1, 4, 3], [0, 2, 1]]),
    ],
)
def test_convolve2d_worked_examples(padding, stride, expected):
    out = convolve2d(IMAGE, KERNEL, padding=padding, stride=stride)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype.kind == "i"  # integers stay integers
    # Arrays and upper-case padding give the same.
    again = convolve2d(np.array(IMAGE), np.array(KERNEL), padding=padding.upper(), stride=stride)
    np.testing.assert_array_equal(again, expected)


def test_pooling_worked_examples():
    np.testing.assert_array_equal(
        max_pooling(GRID, (2, 2)), [[6, 7, 8], [10, 11, 12], [14, 15, 16]]
    )
    np.testing.assert_array_equal(
        average_pooling(GRID, (2, 2)),
        [[3.5, 4.5, 5.5], [7.5, 8.5, 9.5], [11.5, 12.5, 13.5]],
    )
    np.testing.assert_array_equal(max_pooling(GRID, 2), max_pooling(GRID, (2, 2), stride=1))
    np.testing.assert_array_equal(max_pooling(GRID, 2, stride=2), [[6, 8], [14, 16]])
    np.testing.assert_array_equal(average_pooling(GRID, 2, stride=2), [[3.5, 5.5], [11.5, 13.5]])
    assert average_pooling(GRID, 2).dtype == np.float64
    assert average_pooling(np.array(GRID, np.float32), 2).dtype == np.float32


def test_no_kernel_flip():
    # Cross-correlation: the top-left kernel entry meets the top-left input entry.
    # A true (flipped) convolution would give 4 here.
    assert convolve2d([[1, 2], [3, 4]], [[1, 0], [0, 0]]).tolist() == [[1]]


# --------------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2)])
def test_convolve2d_valid_matches_torch(seed, stride):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(rng.integers(4, 9, 2)))
    k = rng.standard_normal(tuple(rng.integers(1, 4, 2)))
    expected = TF.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None], stride=stride)
    np.testing.assert_allclose(convolve2d(x, k, stride=stride), expected[0, 0].numpy(), atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_convolve2d_same_matches_torch_with_tensorflow_padding(seed, stride):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(3, 9, 2)
    kh, kw = rng.integers(1, 5, 2)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    top, bottom = same_padding(h, kh, stride)
    left, right = same_padding(w, kw, stride)
    padded = TF.pad(torch.tensor(x)[None, None], (left, right, top, bottom))
    expected = TF.conv2d(padded, torch.tensor(k)[None, None], stride=stride)[0, 0].numpy()
    out = convolve2d(x, k, padding="same", stride=stride)
    assert out.shape == (math.ceil(h / stride), math.ceil(w / stride))
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_same_padding_puts_the_extra_zero_bottom_right():
    # Kernel 2, stride 1 on 3 values needs one zero: TensorFlow adds it after.
    assert same_padding(3, 2, 1) == (0, 1)
    np.testing.assert_array_equal(convolve2d([[1, 2, 3]], [[1, 1]], padding="same"), [[3, 5, 3]])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("pool,stride", [(2, None), ((2, 3), None), (2, 2), (3, (1, 2))])
def test_pooling_matches_torch(seed, pool, stride):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(rng.integers(4, 8, 2)))
    t = torch.tensor(x)[None, None]
    torch_stride = 1 if stride is None else stride  # our stride=None means 1
    np.testing.assert_array_equal(
        max_pooling(x, pool, stride), TF.max_pool2d(t, pool, torch_stride)[0, 0].numpy()
    )
    np.testing.assert_allclose(
        average_pooling(x, pool, stride),
        TF.avg_pool2d(t, pool, torch_stride)[0, 0].numpy(),
        atol=1e-12,
    )


# --------------------------------------------------------------------------- size formulas


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
)
def test_output_size_formulas(h, w, kh, kw, sh, sw):
    x, k = np.ones((h, w)), np.ones((kh, kw))
    same = convolve2d(x, k, padding="same", stride=(sh, sw))
    assert same.shape == (math.ceil(h / sh), math.ceil(w / sw))
    for size, kernel, stride in ((h, kh, sh), (w, kw, sw)):
        before, after = same_padding(size, kernel, stride)
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        assert before + after == total and after - before in (0, 1)
    if kh <= h and kw <= w:
        valid = convolve2d(x, k, stride=(sh, sw))
        assert valid.shape == ((h - kh) // sh + 1, (w - kw) // sw + 1)
        # All-ones input and kernel: every output counts the kernel's cells.
        assert np.all(valid == kh * kw)
        assert max_pooling(x, (kh, kw), (sh, sw)).shape == valid.shape


# --------------------------------------------------------------------------- errors


def test_unknown_padding():
    with pytest.raises(ValueError) as info:
        convolve2d(IMAGE, KERNEL, padding="full")
    assert (
        str(info.value) == "convolve2d expected padding 'valid' or 'same'; received padding='full'."
    )
    with pytest.raises(ValueError, match="received padding=1"):
        convolve2d(IMAGE, KERNEL, padding=1)


def test_kernel_larger_than_input():
    with pytest.raises(ValueError) as info:
        convolve2d([[1, 2]], KERNEL)
    assert str(info.value) == (
        "convolve2d with padding='valid' expected a kernel no larger than the input (1, 2); "
        "received kernel (3, 3). Use padding='same' or a smaller kernel."
    )
    # With 'same' padding the kernel's centre meets each input value; its corners meet zeros.
    np.testing.assert_array_equal(convolve2d([[1, 2]], KERNEL, padding="same"), [[1, 2]])
    with pytest.raises(ValueError) as info:
        max_pooling(GRID, 5)
    assert str(info.value) == (
        "max_pooling expected a pool_size no larger than the input (4, 4); "
        "received pool_size=(5, 5)."
    )


def test_bad_shapes_and_sizes():
    with pytest.raises(ValueError) as info:
        convolve2d([1, 2, 3], KERNEL)
    assert (
        str(info.value)
        == "convolve2d expected input_matrix to be a 2-D matrix; received shape (3,)."
    )
    with pytest.raises(ValueError) as info:
        convolve2d(IMAGE, KERNEL, stride=0)
    assert str(info.value) == (
        "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
        "Received stride=0."
    )
    with pytest.raises(ValueError, match="Invalid value for argument `pool_size`"):
        average_pooling(GRID, (2, 2, 2))


# --------------------------------------------------------------------------- batched oracles


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"stride": 2},
        {"padding": 1},
        {"padding": (2, 0), "stride": (1, 2)},
        {"dilation": 2, "padding": 1},
        {"groups": 2},
        {"padding": "same", "dilation": (1, 2)},
        {"padding": "valid", "stride": 3},
    ],
)
@pytest.mark.parametrize("bias", [False, True])
def test_conv2d_loops_matches_torch(kwargs, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 6, 7))
    groups = kwargs.get("groups", 1)
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    b = rng.standard_normal(6) if bias else None
    expected = TF.conv2d(
        torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), **kwargs
    )
    np.testing.assert_allclose(conv2d_loops(x, w, b, **kwargs), expected.numpy(), atol=1e-12)


def test_conv2d_loops_errors():
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        conv2d_loops(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), padding="same", stride=2)
    with pytest.raises(ValueError, match=r"divisible by groups=2"):
        conv2d_loops(np.zeros((1, 3, 4, 4)), np.zeros((2, 1, 3, 3)), groups=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 3), "stride": (2, 1)},
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
    ],
)
def test_pool2d_loops_match_torch(kwargs):
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    t = torch.tensor(x)
    np.testing.assert_array_equal(max_pool2d_loops(x, **kwargs), TF.max_pool2d(t, **kwargs).numpy())
    np.testing.assert_allclose(
        avg_pool2d_loops(x, **kwargs), TF.avg_pool2d(t, **kwargs).numpy(), atol=1e-12
    )
    if kwargs.get("padding"):
        extra = dict(count_include_pad=False)
        np.testing.assert_allclose(
            avg_pool2d_loops(x, **kwargs, **extra),
            TF.avg_pool2d(t, **kwargs, **extra).numpy(),
            atol=1e-12,
        )


def test_pool2d_loops_dilation_and_divisor_override():
    x = np.random.default_rng(2).standard_normal((1, 2, 7, 7))
    t = torch.tensor(x)
    np.testing.assert_array_equal(
        max_pool2d_loops(x, 3, stride=1, padding=1, dilation=2),
        TF.max_pool2d(t, 3, stride=1, padding=1, dilation=2).numpy(),
    )
    np.testing.assert_allclose(
        avg_pool2d_loops(x, 3, stride=2, divisor_override=4),
        TF.avg_pool2d(t, 3, stride=2, divisor_override=4).numpy(),
        atol=1e-12,
    )


def test_module_docstring_names_cross_correlation():
    assert "cross-correlation" in scratch.__doc__.lower()
    assert "cross-correlation" in convolve2d.__doc__.lower()
