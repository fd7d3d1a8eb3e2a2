"""max_pool2d and avg_pool2d against PyTorch, finite differences and hand-worked cases."""

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

# (input shape, kernel_size, stride, padding, ceil_mode)
CASES = [
    ((2, 3, 8, 8), 2, None, 0, False),  # windows tile the input: the fast path
    ((2, 3, 9, 7), 2, None, 0, False),  # odd sizes: last row/column dropped
    ((2, 3, 9, 7), 2, None, 0, True),  # ... or kept as partial windows
    ((2, 3, 9, 9), 3, 2, 1, False),  # overlapping windows, padding
    ((2, 3, 9, 9), 3, 2, 1, True),
    ((2, 3, 8, 10), 3, 1, 1, False),  # stride 1: every pixel in up to 9 windows
    ((1, 2, 10, 11), (3, 2), (2, 3), (1, 1), True),
    ((2, 2, 7, 9), (2, 4), (1, 2), (1, 2), False),
    ((2, 2, 9, 9), 2, 3, 0, False),  # stride > kernel: some pixels in no window
    ((2, 2, 10, 10), 2, 3, 1, True),
    ((1, 1, 5, 5), 5, None, 0, False),  # one window covering the image
    ((1, 1, 5, 5), 4, 3, 2, True),  # last window starts in the padding band
    ((1, 1, 4, 4), 2, 2, 1, True),  # ceil window that would start in the right pad dropped
    ((3, 4, 6, 6), 1, 1, 0, False),
]


def make(shape, seed, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_max_pool2d_matches_torch(case, dtype):
    shape, kernel, stride, padding, ceil_mode = case
    out = torch_parity(
        lambda x: F.max_pool2d(x, kernel, stride, padding, ceil_mode),
        lambda x: TF.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode),
        make(shape, 0, dtype),
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_avg_pool2d_matches_torch(case, count_include_pad, dtype):
    shape, kernel, stride, padding, ceil_mode = case
    out = torch_parity(
        lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad),
        lambda x: TF.avg_pool2d(
            x, kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad
        ),
        make(shape, 0, dtype),
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("case", CASES[:6], ids=str)
def test_channels_last_input_matches_torch(case):
    shape, kernel, stride, padding, ceil_mode = case
    x = make(shape, 0, np.float64)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for ours, theirs in ((F.max_pool2d, TF.max_pool2d), (F.avg_pool2d, TF.avg_pool2d)):
        torch_parity(
            lambda x, ours=ours: ours(x, kernel, stride, padding, ceil_mode),
            lambda x, theirs=theirs: theirs(x, kernel, stride, padding, ceil_mode=ceil_mode),
            channels_last,
        )


def test_max_pool_after_conv_matches_torch():
    x, w = make((2, 3, 10, 10), 0, np.float32), make((4, 3, 3, 3), 1, np.float32)
    torch_parity(
        lambda x, w: F.max_pool2d(F.conv2d(x, w), 2),
        lambda x, w: TF.max_pool2d(TF.conv2d(x, w), 2),
        x,
        w,
    )


# --------------------------------------------------------------------------- ties


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (3, 2), ((2, 3), (1, 2))])
def test_ties_send_the_gradient_to_the_first_maximum_like_torch(kernel, stride):
    # Values in {0, 1, 2}: nearly every window has tied maxima.
    x = np.random.default_rng(0).integers(0, 3, (2, 3, 9, 8)).astype(np.float64)
    torch_parity(
        lambda x: F.max_pool2d(x, kernel, stride),
        lambda x: TF.max_pool2d(x, kernel, stride),
        x,
    )


def test_tie_rule_is_first_in_row_major_window_order():
    # One 2x2 window, all equal: the gradient goes to the top-left pixel.
    x = Tensor(np.full((1, 1, 2, 2), 3.0, dtype=np.float32), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0], [0, 0]])
    # Maxima at (0, 1) and (1, 0): row-major order picks (0, 1), not column-major (1, 0).
    x = Tensor(np.array([[[[0.0, 5.0], [5.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 1], [0, 0]])


def test_overlapping_windows_accumulate_the_gradient_of_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 9.0  # the maximum of all four 2x2 windows
    t = Tensor(x, requires_grad=True)
    F.max_pool2d(t, 2, stride=1).sum().backward()
    assert t.grad[0, 0, 1, 1] == 4 and t.grad.sum() == 4


def test_nan_propagates_like_torch():
    x = make((1, 1, 4, 4), 0, np.float64)
    x[0, 0, 1, 2] = np.nan
    ours = F.max_pool2d(x, 2).numpy()
    theirs = TF.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours[0, 0, 0, 1])


def max_pool_grads(x, *args, **kwargs):
    """(our input gradient, PyTorch's) for the sum of max_pool2d(x, ...)."""
    ours = Tensor(x.copy(), requires_grad=True)
    F.max_pool2d(ours, *args, **kwargs).sum().backward()
    theirs = torch.tensor(x.copy(), requires_grad=True)
    TF.max_pool2d(theirs, *args, **kwargs).sum().backward()
    return ours.grad, theirs.grad.numpy()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=2, stride=2, padding=1),
        dict(kernel_size=2, stride=2, ceil_mode=True),
        dict(kernel_size=(3, 2), stride=1, padding=(1, 1)),
    ],
    ids=str,
)
def test_minus_inf_windows_send_the_gradient_to_their_first_real_pixel_like_torch(kwargs):
    x = make((2, 3, 5, 5), 0, np.float64)
    x[0, 0] = -np.inf  # every window all -inf, padding included
    x[1, 2, :3, :3] = -np.inf  # some windows all -inf
    ours, theirs = max_pool_grads(x, **kwargs)
    np.testing.assert_array_equal(ours, theirs)
    # Nothing is lost in the padding: every window hands on its gradient of 1.
    out = TF.max_pool2d(torch.tensor(x), **kwargs)
    assert ours.sum() == out.numel()


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (3, 2)])
def test_nan_windows_send_the_gradient_to_their_last_nan_like_torch(kernel, stride):
    x = make((2, 2, 6, 6), 1, np.float64)
    x[0, 0, 1, 2] = x[0, 0, 0, 3] = np.nan  # two NaNs sharing windows
    x[1, 1, 4, 4] = np.nan
    x[1, 0] = np.nan  # all NaN
    ours, theirs = max_pool_grads(x, kernel, stride)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_max_pool_of_relu_matches_torch(case, dtype):
    # max_pool2d(relu(z)) sends its gradient straight to z: same values as torch's
    # two-step backward, also for windows with no positive pixel (gradient 0).
    shape, kernel, stride, padding, ceil_mode = case
    z = make(shape, 2, dtype) - 0.5
    z[0, 0] = -1.0  # a whole channel without a positive pixel
    torch_parity(
        lambda t: F.max_pool2d(F.relu(t), kernel, stride, padding, ceil_mode),
        lambda t: TF.max_pool2d(TF.relu(t), kernel, stride, padding, ceil_mode=ceil_mode),
        z,
    )


def test_relu_output_used_twice_still_gets_both_gradients():
    z = make((2, 3, 6, 6), 3, np.float64)
    torch_parity(
        lambda t: (lambda a: F.max_pool2d(a, 2).sum() + (a * a).sum())(F.relu(t)),
        lambda t: (lambda a: TF.max_pool2d(a, 2).sum() + (a * a).sum())(TF.relu(t)),
        z,
    )


def test_gradient_in_another_layout_than_the_input_gives_the_same_values():
    # Channels-last input, NCHW-contiguous upstream gradient (what flatten hands back).
    x = make((2, 6, 6, 4), 4, np.float64).transpose(0, 3, 1, 2)
    g = make((2, 4, 3, 3), 5, np.float64)
    ours = Tensor(x, requires_grad=True)
    F.max_pool2d(ours, 2).backward(g)
    theirs = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    TF.max_pool2d(theirs, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


# --------------------------------------------------------------------------- 'same' / 'valid'


def tf_same_pads(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(8, 8), (9, 9), (7, 10)])
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (3, 1), (2, 1), (3, 3), (4, 2)])
def test_same_max_pool_matches_torch_on_a_minus_inf_padded_input(size, kernel, stride, dtype):
    top, bottom = tf_same_pads(size[0], kernel, stride)
    left, right = tf_same_pads(size[1], kernel, stride)
    out = torch_parity(
        lambda x: F.max_pool2d(x, kernel, stride, padding="same"),
        lambda x: TF.max_pool2d(
            TF.pad(x, (left, right, top, bottom), value=-math.inf), kernel, stride
        ),
        make((2, 2, *size), 0, dtype),
    )
    assert out.shape[2:] == (math.ceil(size[0] / stride), math.ceil(size[1] / stride))


@pytest.mark.parametrize("size", [(8, 8), (9, 9), (7, 10)])
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (3, 1), (4, 2)])
def test_same_avg_pool_matches_torch(size, kernel, stride):
    top, bottom = tf_same_pads(size[0], kernel, stride)
    left, right = tf_same_pads(size[1], kernel, stride)
    x = make((2, 2, *size), 0, np.float64)

    def zero_padded(x):  # count_include_pad=True: padded zeros count
        return TF.avg_pool2d(TF.pad(x, (left, right, top, bottom)), kernel, stride)

    def real_pixels_only(x):  # TensorFlow: average of the real pixels of each window
        ones = torch.ones_like(x)
        padded_sum = TF.avg_pool2d(TF.pad(x, (left, right, top, bottom)), kernel, stride)
        padded_count = TF.avg_pool2d(TF.pad(ones, (left, right, top, bottom)), kernel, stride)
        return padded_sum / padded_count

    torch_parity(lambda x: F.avg_pool2d(x, kernel, stride, padding="same"), zero_padded, x)
    torch_parity(
        lambda x: F.avg_pool2d(x, kernel, stride, padding="same", count_include_pad=False),
        real_pixels_only,
        x,
    )


def test_same_avg_pool_without_pad_counting_averages_real_pixels():
    x = Tensor(np.ones((1, 1, 3, 3), dtype=np.float32))
    out = F.avg_pool2d(x, 2, padding="same", count_include_pad=False)
    np.testing.assert_array_equal(out.numpy(), np.ones((1, 1, 2, 2), dtype=np.float32))
    out = F.avg_pool2d(x, 2, padding="same")  # bottom/right windows half zeros
    np.testing.assert_array_equal(out.numpy()[0, 0], [[1, 0.5], [0.5, 0.25]])


def test_valid_padding_is_no_padding():
    x = make((2, 3, 9, 7), 0, np.float32)
    np.testing.assert_array_equal(
        F.max_pool2d(x, 3, 2, padding="valid").numpy(), F.max_pool2d(x, 3, 2).numpy()
    )
    np.testing.assert_array_equal(
        F.avg_pool2d(x, 3, 2, padding="valid").numpy(), F.avg_pool2d(x, 3, 2).numpy()
    )


# --------------------------------------------------------------------------- misc


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=1, padding=1), dict(ceil_mode=True)])
def test_avg_pool_gradcheck(kwargs):
    check_grad(lambda x: F.avg_pool2d(x, 2, **kwargs), make((2, 2, 5, 5), 0, np.float64))


def test_max_pool_gradcheck():
    # Distinct, well separated values: finite differences never flip a maximum.
    x = np.random.default_rng(0).permutation(50).reshape(2, 1, 5, 5).astype(np.float64)
    check_grad(lambda x: F.max_pool2d(x, 2, stride=1, padding=1), x)


def test_no_grad_records_nothing():
    x = Tensor(make((1, 1, 4, 4), 0, np.float32), requires_grad=True)
    with convscope.no_grad():
        out = F.max_pool2d(x, 2)
    assert not out.requires_grad


def test_fast_path_gradient_covers_every_pixel_exactly_once():
    x = Tensor(make((2, 3, 6, 8), 0, np.float32), requires_grad=True)
    F.avg_pool2d(x, 2).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(x.shape, 0.25, dtype=np.float32))
    assert x.grad.dtype == np.float32


# --------------------------------------------------------------------------- errors


def f32(*shape):
    return np.zeros(shape, dtype=np.float32)


@pytest.mark.parametrize("fn", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (
            (f32(28, 28), 2),
            {},
            ValueError,
            "{fn} expected a 4-D input of shape (N, C, H, W); received input of shape (28, 28). "
            "For a single image add a batch axis: x[None].",
        ),
        (
            (np.zeros((1, 1, 4, 4), dtype=np.int64), 2),
            {},
            TypeError,
            "{fn} expected a floating-point input; received dtype int64. Convert it first, e.g. "
            "x.astype(np.float32).",
        ),
        (
            (f32(1, 1, 4, 4), 3),
            dict(padding=2),
            ValueError,
            "{fn} expected padding of at most half the kernel size (kernel_size=(3, 3)); "
            "received padding=2.",
        ),
        (
            (f32(1, 1, 4, 4), 5),
            {},
            ValueError,
            "{fn} kernel_size=(5, 5) is larger than the padded input (input shape (1, 1, 4, 4), "
            "padding (top, bottom, left, right)=(0, 0, 0, 0)).",
        ),
        (
            (f32(1, 1, 4, 4), 0),
            {},
            ValueError,
            "Invalid value for argument `kernel_size`. Expected an int >= 1 or a pair of them. "
            "Received kernel_size=0.",
        ),
        (
            (f32(1, 1, 4, 4), 2),
            dict(stride=(1, 0)),
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=(1, 0).",
        ),
        (
            (f32(1, 1, 4, 4), 2),
            dict(padding="full"),
            ValueError,
            "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
            "'same'. Received padding='full'.",
        ),
    ],
)
def test_pooling_errors(fn, args, kwargs, error, message):
    with pytest.raises(error) as info:
        getattr(F, fn)(*args, **kwargs)
    assert str(info.value) == message.format(fn=fn)


@pytest.mark.parametrize("padding", [1, "same"])
def test_float32_stays_float32_inside_backward(padding):
    # The engine casts gradients to the parent's dtype, which would hide a float64
    # temporary: check the array the backward closure itself returns.
    x = Tensor(make((2, 3, 7, 6), 0, np.float32), requires_grad=True)
    for out in (
        F.max_pool2d(x, 3, 2, padding, ceil_mode=True),
        F.avg_pool2d(x, 3, 2, padding, ceil_mode=True, count_include_pad=False),
        F.avg_pool2d(x, 2),
    ):
        assert out.dtype == np.float32
        (grad,) = out._backward(np.ones(out.shape, dtype=np.float32))
        assert grad.dtype == np.float32
