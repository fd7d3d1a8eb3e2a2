"""ChannelMatrix (per-channel sums and scale/shift in memory order) against plain NumPy.

The reference is NumPy's axis arithmetic in float64 on a C-contiguous copy; each
layout ChannelMatrix distinguishes is drawn: standard (N, C, *), channels-last
views, 2-D (N, C), spatial size 1, one channel, and strided slices (copied).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.nn.functional.channels import ChannelMatrix


def channels_last(a):
    """The same values stored channels-last (as conv2d returns them)."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(
        0, a.ndim - 1, *range(1, a.ndim - 1)
    )


def layouts(a):
    yield "standard", a
    if a.ndim > 2:
        yield "channels-last", channels_last(a)
    wide = np.concatenate([a, a], axis=-1)
    yield "strided slice", wide[..., : a.shape[-1]]
    yield "negative strides", np.flip(np.flip(a, 0).copy(), 0)


def reference_sums(a):
    axes = (0,) + tuple(range(2, a.ndim))
    return a.astype(np.float64).sum(axis=axes)


def per_channel(v, ndim):
    return np.asarray(v).reshape((1, -1) + (1,) * (ndim - 2))


SHAPES = [
    (3, 4),
    (2, 3, 5),
    (2, 1, 3, 3),
    (4, 5, 1, 1),
    (3, 7, 5, 3),
    (128, 32, 7, 7),
    (1, 2, 13),
    (1, 5, 8209, 1),
]  # the last: a prime row count (8209)


@pytest.mark.parametrize("shape", SHAPES)
def test_sums_and_affine_match_numpy_in_every_layout(shape):
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    scale = rng.standard_normal(shape[1])
    shift = rng.standard_normal(shape[1])
    expected = values.astype(np.float64) * per_channel(scale, values.ndim) + per_channel(
        shift, values.ndim
    )
    for name, a in layouts(values):
        m = ChannelMatrix(a)
        assert m.matrix.ndim == 2, name
        np.testing.assert_allclose(
            m.sums(m.matrix), reference_sums(values), rtol=1e-6, err_msg=name
        )
        assert m.sums(m.matrix).dtype == np.float64
        np.testing.assert_array_equal(m.array(m.matrix), values, err_msg=name)
        out = m.array(m.affine(m.matrix, scale, shift))
        assert out.shape == shape and out.dtype == np.float32, name
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6, err_msg=name)
        only_scale = m.array(m.affine(m.matrix, scale, None))
        np.testing.assert_allclose(
            only_scale, values * per_channel(scale, values.ndim), rtol=1e-6, atol=1e-6
        )
        only_shift = m.array(m.affine(m.matrix, None, shift))
        np.testing.assert_allclose(
            only_shift, values + per_channel(shift, values.ndim), rtol=1e-6, atol=1e-6
        )
        copied = m.array(m.affine(m.matrix, None, None))
        np.testing.assert_array_equal(copied, values)
        assert not np.shares_memory(copied, a)


def test_conv_outputs_stay_channels_last_and_are_not_copied():
    a = channels_last(np.random.default_rng(1).standard_normal((4, 3, 5, 5)).astype(np.float32))
    m = ChannelMatrix(a)
    assert m.channels_last and np.shares_memory(m.matrix, a)
    out = m.array(m.affine(m.matrix, np.ones(3), None))
    assert np.moveaxis(out, 1, -1).flags.c_contiguous  # handed on channels-last
    standard = ChannelMatrix(np.ascontiguousarray(a))
    assert not standard.channels_last and np.shares_memory(
        standard.matrix, standard.array(standard.matrix)
    )


def test_like_converts_a_gradient_of_another_layout():
    rng = np.random.default_rng(2)
    x = channels_last(rng.standard_normal((2, 3, 4, 5)).astype(np.float32))
    g = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)  # standard layout
    m = ChannelMatrix(x)
    np.testing.assert_array_equal(m.array(m.like(g)), g)
    np.testing.assert_array_equal(m.array(m.like(channels_last(g))), g)


def test_add_scaled_and_in_place_affine():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 2, 3)).astype(np.float32)
    b = rng.standard_normal((6, 2, 3)).astype(np.float32)
    m = ChannelMatrix(a)
    out = m.affine(m.matrix, None, np.array([1.0, -1.0]))  # a + shift, a new matrix
    m.add_scaled(out, m.like(b), np.array([2.0, 3.0]))
    expected = a + per_channel([1.0, -1.0], 3) + b * per_channel([2.0, 3.0], 3)
    np.testing.assert_allclose(m.array(out), expected, rtol=1e-6, atol=1e-6)
    same = m.affine(out, np.array([0.5, 0.5]), None, out=out)
    assert same is out
    np.testing.assert_allclose(m.array(out), expected * 0.5, rtol=1e-6, atol=1e-6)


def test_column_sums_are_accurate_far_from_zero():
    # 128·26·26 rows of mean 50: a float32 running sum loses ~1e-5 relative.
    rng = np.random.default_rng(4)
    a = channels_last((50 + rng.standard_normal((128, 4, 26, 26))).astype(np.float32))
    m = ChannelMatrix(a)
    exact = reference_sums(a)
    np.testing.assert_allclose(m.sums(m.matrix), exact, rtol=2e-7)


@pytest.mark.parametrize(
    ("m", "limit", "expected"),
    [
        (100352, 1024, 1024),
        (8209, 6553, 1),
        (45, 4681, 45),
        (12, 5, 4),
        (1, 9, 1),
        (0, 4, 1),
        (36, 6, 6),
        (49, 10, 7),
    ],
)
def test_largest_divisor(m, limit, expected):
    from convscope.nn.functional.channels import _largest_divisor

    assert _largest_divisor(m, limit) == expected
    brute = max((d for d in range(1, limit + 1) if m and m % d == 0), default=1)
    assert expected == brute


def test_rejects_arrays_without_a_channel_axis():
    with pytest.raises(ValueError, match=r"\(N, C, \*\)"):
        ChannelMatrix(np.ones(3, np.float32))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    c=st.integers(1, 6),
    spatial=st.lists(st.integers(1, 6), min_size=0, max_size=2),
    last=st.booleans(),
)
def test_property_sums_and_affine(n, c, spatial, last):
    shape = (n, c, *spatial)
    rng = np.random.default_rng(n * 100 + c)
    values = rng.standard_normal(shape).astype(np.float32)
    a = channels_last(values) if last and spatial else values
    m = ChannelMatrix(a)
    np.testing.assert_allclose(m.sums(m.matrix), reference_sums(values), rtol=1e-5, atol=1e-5)
    scale, shift = rng.standard_normal(c), rng.standard_normal(c)
    expected = values * per_channel(scale, len(shape)) + per_channel(shift, len(shape))
    np.testing.assert_allclose(
        m.array(m.affine(m.matrix, scale, shift)), expected, rtol=1e-5, atol=1e-5
    )
