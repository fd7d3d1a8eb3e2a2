"""The fast vectorized ops agree with the plain-loop versions in ``convscope.scratch``.

Hypothesis draws random shapes and arguments; each fast op must equal the
textbook loop on the same input (single 2-D images for the problem-set
functions, NCHW batches for the PyTorch-style loops), forward and backward
(the gradients against ``scratch``'s backward loops).
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import Tensor, scratch
from convscope.nn import functional as F
from convscope.nn.functional.geometry import conv_output_size

SETTINGS = settings(max_examples=80, deadline=None)


@st.composite
def image_and_kernel(draw, padding):
    """A 2-D image, a kernel, a stride, with the kernel fitting for 'valid'."""
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh = draw(st.integers(1, h if padding == "valid" else 5))
    kw = draw(st.integers(1, w if padding == "valid" else 5))
    stride = draw(st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return rng.integers(-4, 5, (h, w)), rng.integers(-3, 4, (kh, kw)), stride


@SETTINGS
@given(data=st.data(), padding=st.sampled_from(["valid", "same"]))
def test_conv2d_equals_scratch_convolve2d(data, padding):
    image, kernel, stride = data.draw(image_and_kernel(padding))
    expected = scratch.convolve2d(image, kernel, padding=padding, stride=stride)
    ours = F.conv2d(
        image.astype(np.float64)[None, None],
        kernel.astype(np.float64)[None, None],
        stride=stride,
        padding=padding,
    )
    np.testing.assert_allclose(ours.numpy()[0, 0], expected, atol=1e-9)
    if padding == "same":
        s = (stride, stride) if isinstance(stride, int) else stride
        assert ours.shape[2:] == (
            math.ceil(image.shape[0] / s[0]),
            math.ceil(image.shape[1] / s[1]),
        )


@SETTINGS
@given(
    data=st.data(),
    pool=st.integers(1, 4) | st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.none() | st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_pooling_equals_scratch(data, pool, stride):
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    h, w = data.draw(st.integers(ph, 9)), data.draw(st.integers(pw, 9))
    image = np.random.default_rng(data.draw(st.integers(0, 2**16))).standard_normal((h, w))
    fast_stride = 1 if stride is None else stride  # scratch: None means 1
    batch = image[None, None]
    np.testing.assert_array_equal(
        F.max_pool2d(batch, pool, fast_stride).numpy()[0, 0],
        scratch.max_pooling(image, pool, stride),
    )
    np.testing.assert_allclose(
        F.avg_pool2d(batch, pool, fast_stride).numpy()[0, 0],
        scratch.average_pooling(image, pool, stride),
        atol=1e-12,
    )


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]), 8))
    w = draw(st.integers(max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]), 8))
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c // groups, kh, kw))
    bias = rng.standard_normal(o) if draw(st.booleans()) else None
    return x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@SETTINGS
@given(case=conv_case())
def test_conv2d_equals_scratch_loops(case):
    x, weight, bias, kwargs = case
    expected = scratch.conv2d_loops(x, weight, bias, **kwargs)
    np.testing.assert_allclose(F.conv2d(x, weight, bias, **kwargs).numpy(), expected, atol=1e-10)


@st.composite
def pool_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), 9))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), 9))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal((1, 2, h, w))
    return x, (kh, kw), stride, padding, draw(st.booleans())


@SETTINGS
@given(case=pool_case(), count_include_pad=st.booleans())
def test_pool2d_equals_scratch_loops(case, count_include_pad):
    x, kernel, stride, padding, ceil_mode = case
    np.testing.assert_array_equal(
        F.max_pool2d(x, kernel, stride, padding, ceil_mode).numpy(),
        scratch.max_pool2d_loops(x, kernel, stride, padding, ceil_mode=ceil_mode),
    )
    np.testing.assert_allclose(
        F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad).numpy(),
        scratch.avg_pool2d_loops(x, kernel, stride, padding, ceil_mode, count_include_pad),
        atol=1e-12,
    )
    out_h = conv_output_size(x.shape[2], kernel[0], stride[0], padding[0], ceil_mode=ceil_mode)
    assert F.max_pool2d(x, kernel, stride, padding, ceil_mode).shape[2] == out_h


# --------------------------------------------------------------------------- backward


def _backward(op, upstream, *arrays):
    """Gradients of ``sum(upstream · op(*arrays))`` with respect to each array."""
    tensors = [None if a is None else Tensor(a, requires_grad=True) for a in arrays]
    op(*tensors).backward(upstream)
    return [None if t is None else t.grad for t in tensors]


@SETTINGS
@given(case=conv_case(), seed=st.integers(0, 2**16))
def test_conv2d_gradients_equal_scratch_backward_loops(case, seed):
    x, weight, bias, kwargs = case
    out_shape = scratch.conv2d_loops(x, weight, bias, **kwargs).shape
    upstream = np.random.default_rng(seed).standard_normal(out_shape)
    dx, dw, db = scratch.conv2d_backward_loops(x, weight, upstream, **kwargs)
    ours = _backward(lambda a, b, c: F.conv2d(a, b, c, **kwargs), upstream, x, weight, bias)
    np.testing.assert_allclose(ours[0], dx, atol=1e-10)
    np.testing.assert_allclose(ours[1], dw, atol=1e-10)
    if bias is not None:
        np.testing.assert_allclose(ours[2], db, atol=1e-10)


@SETTINGS
@given(case=pool_case(), count_include_pad=st.booleans(), seed=st.integers(0, 2**16))
def test_pool2d_gradients_equal_scratch_backward_loops(case, count_include_pad, seed):
    x, kernel, stride, padding, ceil_mode = case  # continuous values: no tied maxima
    out_shape = scratch.max_pool2d_loops(x, kernel, stride, padding, ceil_mode=ceil_mode).shape
    upstream = np.random.default_rng(seed).standard_normal(out_shape)
    (ours,) = _backward(lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode), upstream, x)
    expected = scratch.max_pool2d_backward_loops(
        x, upstream, kernel, stride, padding, ceil_mode=ceil_mode
    )
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    (ours,) = _backward(
        lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad),
        upstream,
        x,
    )
    expected = scratch.avg_pool2d_backward_loops(
        x, upstream, kernel, stride, padding, ceil_mode, count_include_pad
    )
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_backward_loops_by_hand():
    # 1×1×3×3 image of ones, 2×2 kernel of ones, stride 1, upstream ones: the centre
    # pixel is in all 4 windows, corners in 1; each tap saw 4 ones; bias: 4 outputs.
    dx, dw, db = scratch.conv2d_backward_loops(
        np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2))
    )
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(dw[0, 0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(db, [4])
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])  # tie: the first 5 (row-major) wins
    np.testing.assert_array_equal(
        scratch.max_pool2d_backward_loops(x, np.full((1, 1, 1, 1), 3.0), 2)[0, 0], [[0, 3], [0, 0]]
    )
