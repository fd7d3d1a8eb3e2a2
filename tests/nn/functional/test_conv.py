"""conv2d and pad against PyTorch, finite differences and the textbook example."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope
from convscope import Tensor
from convscope.nn import functional as F
from oracle import check_grad, torch_parity

DTYPES = [np.float32, np.float64]

# (input shape, weight shape, stride, padding, dilation, groups): kernels 1-5 and
# non-square, strides 1-3 (also above the kernel), dilation, groups, odd shapes.
CASES = [
    ((2, 3, 7, 7), (4, 3, 1, 1), 1, 0, 1, 1),
    ((2, 3, 8, 7), (4, 3, 2, 2), 1, 0, 1, 1),
    ((2, 3, 9, 8), (5, 3, 3, 3), 1, 1, 1, 1),
    ((1, 2, 10, 9), (3, 2, 4, 4), 2, 1, 1, 1),
    ((2, 2, 11, 12), (3, 2, 5, 5), 1, 2, 1, 1),
    ((2, 3, 9, 10), (4, 3, 3, 2), (2, 1), (1, 0), 1, 1),
    ((2, 2, 8, 13), (3, 2, 1, 4), (1, 3), (0, 2), 1, 1),
    ((2, 3, 12, 11), (4, 3, 5, 3), 3, 1, 1, 1),
    ((2, 3, 9, 9), (4, 3, 2, 2), 3, 0, 1, 1),  # stride > kernel: pixels skipped
    ((2, 3, 9, 9), (4, 3, 1, 1), 2, 0, 1, 1),
    ((2, 3, 11, 10), (4, 3, 3, 3), 1, 2, 2, 1),
    ((2, 3, 12, 11), (4, 3, 3, 2), 2, 1, (2, 1), 1),
    ((2, 4, 9, 8), (6, 2, 3, 3), 1, 1, 1, 2),
    ((2, 6, 9, 8), (6, 2, 3, 3), 2, 1, 2, 3),
    ((2, 4, 9, 8), (4, 1, 3, 3), 1, 1, 1, 4),  # depthwise
    ((2, 4, 9, 8), (8, 1, 5, 5), 2, 2, 1, 4),  # depthwise, channel multiplier 2
    ((1, 1, 5, 5), (1, 1, 5, 5), 1, 0, 1, 1),  # kernel as large as the input
    ((1, 1, 28, 28), (8, 1, 3, 3), 1, 0, 1, 1),
    ((3, 8, 13, 13), (16, 8, 3, 3), 1, 0, 1, 1),
]


def make(shape, seed, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def conv_arrays(input_shape, weight_shape, bias, dtype, seed=0):
    arrays = [make(input_shape, seed, dtype), make(weight_shape, seed + 1, dtype) / 2]
    if bias:
        arrays.append(make(weight_shape[:1], seed + 2, dtype))
    return arrays


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_matches_torch(case, bias, dtype):
    input_shape, weight_shape, stride, padding, dilation, groups = case
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    arrays = conv_arrays(input_shape, weight_shape, bias, dtype)
    out = torch_parity(
        lambda *t: F.conv2d(*t, **kwargs),
        lambda *t: TF.conv2d(*t, **kwargs),
        *arrays,
    )
    assert out.dtype == dtype


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 3)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_valid_and_same_at_stride_1_match_torch(kernel, dilation, dtype):
    arrays = conv_arrays((2, 2, 12, 11), (3, 2, *kernel), True, dtype)
    for padding in ("valid", "same"):
        out = torch_parity(
            lambda *t, padding=padding: F.conv2d(*t, padding=padding, dilation=dilation),
            lambda *t, padding=padding: TF.conv2d(*t, padding=padding, dilation=dilation),
            *arrays,
        )
        if padding == "same":
            assert out.shape[2:] == (12, 11)


def tf_same_pads(size, kernel, stride, dilation):
    """TensorFlow SAME_UPPER, computed independently of convscope's geometry."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(8, 8), (9, 9), (8, 11), (10, 7)])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 2), (4, 3), (1, 1), (5, 5)])
@pytest.mark.parametrize("stride", [2, 3])
def test_same_at_stride_above_1_matches_torch_on_an_asymmetrically_padded_input(
    size, kernel, stride, dtype
):
    top, bottom = tf_same_pads(size[0], kernel[0], stride, 1)
    left, right = tf_same_pads(size[1], kernel[1], stride, 1)
    arrays = conv_arrays((2, 2, *size), (3, 2, *kernel), True, dtype)
    out = torch_parity(
        lambda *t: F.conv2d(*t, stride=stride, padding="same"),
        lambda x, w, b: TF.conv2d(TF.pad(x, (left, right, top, bottom)), w, b, stride=stride),
        *arrays,
    )
    assert out.shape[2:] == (math.ceil(size[0] / stride), math.ceil(size[1] / stride))


def test_same_with_dilation_and_stride_matches_torch_on_padded_input():
    top, bottom = tf_same_pads(10, 3, 2, 2)
    left, right = tf_same_pads(9, 3, 2, 2)
    torch_parity(
        lambda *t: F.conv2d(*t, stride=2, padding="same", dilation=2),
        lambda x, w: TF.conv2d(TF.pad(x, (left, right, top, bottom)), w, stride=2, dilation=2),
        *conv_arrays((2, 2, 10, 9), (3, 2, 3, 3), False, np.float64),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(stride=2, padding=1),
        dict(padding="same", stride=2),
        dict(dilation=2, padding=(1, 2)),
        dict(groups=2, stride=(1, 2)),
    ],
    ids=str,
)
def test_conv2d_gradcheck(kwargs):
    x = make((2, 2, 6, 5), 3, np.float64)
    w = make((2, 1 if kwargs.get("groups") else 2, 3, 2), 4, np.float64)
    b = make((2,), 5, np.float64)
    check_grad(lambda *t: F.conv2d(*t, **kwargs), x, w, b)


TEXTBOOK_INPUT = [
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 1, 1, 1],
    [0, 0, 1, 1, 0],
    [0, 1, 1, 0, 0],
]
TEXTBOOK_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]


@pytest.mark.parametrize(
    "padding, stride, expected",
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
def test_textbook_example(padding, stride, expected):
    x = Tensor(np.array(TEXTBOOK_INPUT, dtype=np.float32)[None, None])
    k = Tensor(np.array(TEXTBOOK_KERNEL, dtype=np.float32)[None, None])
    out = F.conv2d(x, k, stride=stride, padding=padding)
    np.testing.assert_array_equal(out.numpy()[0, 0], np.array(expected, dtype=np.float32))


def test_only_inputs_that_require_grad_get_gradients():
    x = Tensor(make((2, 1, 6, 6), 0, np.float32))  # like a batch of images
    w = Tensor(make((3, 1, 3, 3), 1, np.float32), requires_grad=True)
    b = Tensor(make((3,), 2, np.float32))
    out = F.conv2d(x, w, b)
    out.sum().backward()
    assert x.grad is None and b.grad is None
    tw = torch.tensor(w.numpy(), requires_grad=True)
    TF.conv2d(torch.tensor(x.numpy()), tw, torch.tensor(b.numpy())).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert w.grad.dtype == np.float32


def test_no_grad_records_nothing():
    w = Tensor(make((3, 2, 3, 3), 1, np.float32), requires_grad=True)
    with convscope.no_grad():
        out = F.conv2d(make((1, 2, 5, 5), 0, np.float32), w)
    assert not out.requires_grad and out.grad_fn is None


def test_accepts_arrays_and_keeps_float32():
    out = F.conv2d(make((2, 3, 6, 6), 0, np.float32), make((4, 3, 3, 3), 1, np.float32))
    assert isinstance(out, Tensor) and out.dtype == np.float32 and out.shape == (2, 4, 4, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_stacked_convolutions_and_channels_last_inputs_match_torch(dtype):
    # Inputs may be stored channels last and upstream gradients may be any strided
    # view: both must give the same numbers as contiguous NCHW arrays.
    x, w1, w2, w3 = (
        make(s, i, dtype)
        for i, s in enumerate([(2, 3, 10, 9), (4, 3, 3, 3), (5, 4, 3, 3), (6, 5, 2, 2)])
    )

    def ours(x, w1, w2, w3):
        h = F.conv2d(F.conv2d(x, w1), w2, padding=1)
        return F.conv2d(h, w3, stride=2).transpose(0, 1, 3, 2)  # a non-contiguous gradient

    def theirs(x, w1, w2, w3):
        h = TF.conv2d(TF.conv2d(x, w1), w2, padding=1)
        return TF.conv2d(h, w3, stride=2).transpose(2, 3)

    torch_parity(ours, theirs, x, w1, w2, w3)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    torch_parity(lambda x, w: F.conv2d(x, w), TF.conv2d, channels_last, w1)
    torch_parity(
        lambda x, w: F.conv2d(x, w, padding=1),
        lambda x, w: TF.conv2d(x, w, padding=1),
        channels_last,
        w1,
    )


@pytest.mark.parametrize("groups", [1, 2])
def test_output_and_input_gradient_are_channels_last_views(groups):
    # conv2d returns (N, O, OH, OW) views of NHWC arrays, and its input gradient is laid
    # out the same way, so a following conv2d (and ReLU/pooling) copies nothing to
    # re-layout them. The values are checked against PyTorch in the tests above.
    x = Tensor(make((2, 4, 7, 6), 0, np.float32), requires_grad=True)
    w = Tensor(make((6, 4 // groups, 3, 3), 1, np.float32), requires_grad=True)
    out = F.conv2d(x, w, groups=groups, padding=1)
    assert out.shape == (2, 6, 7, 6)
    assert out.data.transpose(0, 2, 3, 1).flags.c_contiguous
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.shape == x.shape and x.grad.transpose(0, 2, 3, 1).flags.c_contiguous


def test_gradient_accumulates_when_a_weight_is_used_twice():
    x = make((2, 2, 6, 6), 0, np.float64)
    w = make((2, 2, 3, 3), 1, np.float64)
    torch_parity(
        lambda x, w: F.conv2d(F.conv2d(x, w, padding=1), w),
        lambda x, w: TF.conv2d(TF.conv2d(x, w, padding=1), w),
        x,
        w,
    )


# --------------------------------------------------------------------------- errors


def error_text(error, fn):
    with pytest.raises(error) as info:
        fn()
    return str(info.value)


def f32(*shape):
    return np.zeros(shape, dtype=np.float32)


def test_channel_mismatch_message():
    text = error_text(ValueError, lambda: F.conv2d(f32(4, 1, 28, 28), f32(8, 3, 3, 3)))
    assert text == (
        "conv2d expected input with 3 channels (weight shape (8, 3, 3, 3)); received input of "
        "shape (4, 1, 28, 28)"
    )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: F.conv2d(f32(28, 28), f32(8, 1, 3, 3)),
            ValueError,
            "conv2d expected a 4-D input of shape (N, C, H, W); received input of shape "
            "(28, 28). For a single image add a batch axis: x[None].",
        ),
        (
            lambda: F.conv2d(f32(2, 1, 28, 28), f32(8, 3, 3)),
            ValueError,
            "conv2d expected a 4-D weight of shape (out_channels, in_channels / groups, KH, KW); "
            "received weight of shape (8, 3, 3).",
        ),
        (
            lambda: F.conv2d(f32(2, 4, 8, 8), f32(6, 1, 3, 3), groups=2),
            ValueError,
            "conv2d expected input with 2 channels (weight shape (6, 1, 3, 3) and groups=2); "
            "received input of shape (2, 4, 8, 8)",
        ),
        (
            lambda: F.conv2d(f32(2, 5, 8, 8), f32(4, 2, 3, 3), groups=2),
            ValueError,
            "conv2d expected input channels divisible by groups=2; received input of shape "
            "(2, 5, 8, 8) (5 channels).",
        ),
        (
            lambda: F.conv2d(f32(2, 4, 8, 8), f32(5, 2, 3, 3), groups=2),
            ValueError,
            "conv2d expected out_channels divisible by groups=2; received weight shape "
            "(5, 2, 3, 3) (5 output channels).",
        ),
        (
            lambda: F.conv2d(f32(2, 4, 8, 8), f32(4, 4, 3, 3), groups=0),
            ValueError,
            "conv2d expected groups to be an int >= 1; received groups=0.",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 4, 4), f32(8, 3, 5, 5)),
            ValueError,
            "conv2d kernel spanning 5x5 pixels (weight shape (8, 3, 5, 5), dilation (1, 1)) is "
            "larger than the padded input of 4x4 pixels (input shape (2, 3, 4, 4), padding "
            "(0, 0, 0, 0)).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), dilation=3),
            ValueError,
            "conv2d kernel spanning 7x7 pixels (weight shape (8, 3, 3, 3), dilation (3, 3)) is "
            "larger than the padded input of 6x6 pixels (input shape (2, 3, 6, 6), padding "
            "(0, 0, 0, 0)).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), stride=0),
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=0.",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), dilation=(1, 0)),
            ValueError,
            "Invalid value for argument `dilation`. Expected an int >= 1 or a pair of them. "
            "Received dilation=(1, 0).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), padding="full"),
            ValueError,
            "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
            "'same'. Received padding='full'.",
        ),
        (
            lambda: F.conv2d(np.zeros((2, 3, 6, 6), dtype=np.int64), f32(8, 3, 3, 3)),
            TypeError,
            "conv2d expected a floating-point input; received dtype int64. Convert it first, "
            "e.g. input.astype(np.float32).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), np.zeros((8, 3, 3, 3), dtype=np.int32)),
            TypeError,
            "conv2d expected a floating-point weight; received dtype int32. Convert it first, "
            "e.g. weight.astype(np.float32).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), np.zeros((8, 3, 3, 3))),
            TypeError,
            "conv2d expected weight of the input's dtype float32; received float64.",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), f32(3)),
            ValueError,
            "conv2d expected bias of shape (8,) for weight shape (8, 3, 3, 3); received bias of "
            "shape (3,).",
        ),
        (
            lambda: F.conv2d(f32(2, 3, 6, 6), f32(8, 3, 3, 3), f32(1, 8)),
            ValueError,
            "conv2d expected bias of shape (8,) for weight shape (8, 3, 3, 3); received bias of "
            "shape (1, 8).",
        ),
    ],
)
def test_conv2d_errors(call, error, message):
    assert error_text(error, call) == message


# --------------------------------------------------------------------------- pad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "pad", [(1, 1), (0, 2), (1, 2, 3, 0), (2, 0, 0, 1), (1, 1, 1, 1, 1, 1), (0, 0, 0, 0)]
)
@pytest.mark.parametrize("value", [0.0, 1.5])
def test_pad_matches_torch(pad, value, dtype):
    out = torch_parity(
        lambda x: F.pad(x, pad, value=value),
        lambda x: TF.pad(x, pad, value=value),
        make((2, 3, 4, 5), 0, dtype),
    )
    assert out.dtype == dtype


def test_pad_with_minus_infinity_and_left_right_top_bottom_order():
    x = Tensor(np.ones((1, 1, 2, 2), dtype=np.float32), requires_grad=True)
    out = F.pad(x, (1, 0, 0, 2), value=-np.inf)  # left 1, right 0, top 0, bottom 2
    assert out.shape == (1, 1, 4, 3)
    expected = np.full((4, 3), -np.inf, dtype=np.float32)
    expected[0:2, 1:3] = 1
    np.testing.assert_array_equal(out.numpy()[0, 0], expected)
    F.max_pool2d(out, (4, 3)).sum().backward()
    assert x.grad.sum() == 1  # the gradient reaches the interior only


def test_pad_gradcheck():
    check_grad(lambda x: F.pad(x, (1, 2, 0, 1)) * 2, make((1, 2, 3, 3), 0, np.float64))


@pytest.mark.parametrize(
    "pad, error, message",
    [
        (
            (1, -1),
            ValueError,
            "pad() expected non-negative pad sizes (it does not crop); received pad=(1, -1).",
        ),
        (
            (1, 2, 3),
            ValueError,
            "pad() expected an even number of pad sizes, at most 2 per dimension (input has 2 "
            "dimensions); received pad=(1, 2, 3).",
        ),
        (
            (1,) * 6,
            ValueError,
            "pad() expected an even number of pad sizes, at most 2 per dimension (input has 2 "
            "dimensions); received pad=(1, 1, 1, 1, 1, 1).",
        ),
        (1, TypeError, "pad() expected a tuple of ints for `pad`; received pad=1."),
        ((1.0, 1), TypeError, "pad() expected a tuple of ints for `pad`; received pad=(1.0, 1)."),
    ],
)
def test_pad_errors(pad, error, message):
    assert error_text(error, lambda: F.pad(f32(2, 2), pad)) == message


def test_pad_integer_input_with_infinity_is_rejected():
    text = error_text(
        TypeError, lambda: F.pad(np.zeros((2, 2), dtype=np.int64), (1, 1), value=-np.inf)
    )
    assert text == "pad() cannot fill an integer input (dtype int64) with value=-inf."


def test_float32_stays_float32_inside_backward():
    # The engine casts gradients to each parent's dtype, which would hide a float64
    # temporary: check the arrays the backward closure itself returns.
    x = Tensor(make((2, 4, 7, 6), 0, np.float32), requires_grad=True)
    w = Tensor(make((4, 2, 3, 3), 1, np.float32), requires_grad=True)
    b = Tensor(make((4,), 2, np.float32), requires_grad=True)
    for out in (
        F.conv2d(x, w, b, stride=2, padding="same", groups=2),
        F.pad(x, (1, 2, 0, 1), value=-np.inf),
    ):
        assert out.dtype == np.float32
        grads = out._backward(np.ones(out.shape, dtype=np.float32))
        assert all(g.dtype == np.float32 for g in grads if g is not None)


def test_bias_gradient_over_many_rows_is_accurate_like_torch():
    # 128·26·26 rows summed per channel: a sequential float32 sum is 30x less accurate
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    b = np.zeros(8, np.float32)
    g = (rng.standard_normal((128, 8, 26, 26)) + 50).astype(np.float32)
    bias = Tensor(b, requires_grad=True)
    F.conv2d(Tensor(x), Tensor(w), bias).backward(g)
    exact = g.astype(np.float64).sum(axis=(0, 2, 3))
    error = np.abs(bias.grad - exact).max() / np.abs(exact).max()
    assert bias.grad.dtype == np.float32 and error < 5e-7


@pytest.mark.parametrize("padding, stride, dilation", [(0, 1, 1), (1, 1, 1), (2, 2, 1), (1, 1, 2)])
def test_input_gradient_comes_back_channels_last(padding, stride, dilation):
    x = Tensor(make((2, 3, 9, 9), 0, np.float64), requires_grad=True)
    w = Tensor(make((4, 3, 3, 3), 1, np.float64))
    F.conv2d(x, w, padding=padding, stride=stride, dilation=dilation).sum().backward()
    assert x.grad.transpose(0, 2, 3, 1).flags.c_contiguous  # (N, H, W, C) in memory
