"""Size arithmetic of convolution and pooling, against PyTorch and by brute force."""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convscope.nn.functional.geometry import (
    conv_output_size,
    pair,
    resolve_padding,
    same_padding,
)


def test_pair_accepts_int_and_pairs():
    assert pair(3) == (3, 3)
    assert pair((2, 5)) == (2, 5)
    assert pair([1, 4]) == (1, 4)
    assert pair(np.int64(2)) == (2, 2)
    assert pair(0, "padding", minimum=0) == (0, 0)


@pytest.mark.parametrize(
    "value, error, message",
    [
        (
            0,
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=0.",
        ),
        (
            (2, -1),
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=(2, -1).",
        ),
        (
            2.0,
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=2.0.",
        ),
        (
            (1, 2, 3),
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=(1, 2, 3).",
        ),
        (
            True,
            ValueError,
            "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
            "Received stride=True.",
        ),
    ],
)
def test_pair_rejects_bad_values(value, error, message):
    with pytest.raises(error) as info:
        pair(value, "stride")
    assert str(info.value) == message


def test_output_size_textbook_values():
    assert conv_output_size(28, 3) == 26
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size(7, 3, stride=2) == 3
    assert conv_output_size(7, 3, stride=2, dilation=2) == 2
    assert conv_output_size(5, 3, padding=(0, 1)) == 4


def test_output_size_rejects_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError) as info:
        conv_output_size(4, 3, dilation=2)
    assert str(info.value) == (
        "Kernel of size 3 (dilation 2, spanning 5 pixels) does not fit in an input of size 4 "
        "padded to 4."
    )


def torch_pool_length(size, kernel, stride, pad, ceil_mode):
    x = torch.zeros(1, 1, 1, size)
    return torch.nn.functional.max_pool2d(
        x, (1, kernel), (1, stride), (0, pad), ceil_mode=ceil_mode
    ).shape[-1]


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 20),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    pad=st.integers(0, 3),
)
def test_output_size_is_the_number_of_windows_that_fit(size, kernel, stride, dilation, pad):
    span = dilation * (kernel - 1) + 1
    starts = [s for s in range(0, size + 2 * pad) if s % stride == 0 and s + span <= size + 2 * pad]
    if not starts:
        with pytest.raises(ValueError):
            conv_output_size(size, kernel, stride, pad, dilation)
        return
    assert conv_output_size(size, kernel, stride, pad, dilation) == len(starts)
    formula = math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1
    assert conv_output_size(size, kernel, stride, pad, dilation) == formula


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 20),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    ceil_mode=st.booleans(),
)
def test_output_size_matches_torch_pooling(size, kernel, stride, pad, ceil_mode):
    assume(2 * pad <= kernel <= size + 2 * pad)  # PyTorch refuses the others
    ours = conv_output_size(size, kernel, stride, pad, ceil_mode=ceil_mode)
    assert ours == torch_pool_length(size, kernel, stride, pad, ceil_mode)


def test_ceil_mode_drops_a_window_starting_in_the_right_padding():
    # 4 pixels, pad 1 each side, kernel 2, stride 2: ceil would give a 4th window at
    # padded position 6 = the right padding, which PyTorch drops.
    assert conv_output_size(4, 2, stride=2, padding=1, ceil_mode=True) == 3
    assert torch_pool_length(4, 2, 2, 1, True) == 3
    assert conv_output_size(5, 2, stride=2, ceil_mode=True) == 3


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
)
def test_same_padding_gives_ceil_output_and_puts_the_extra_pixel_after(
    size, kernel, stride, dilation
):
    before, after = same_padding(size, kernel, stride, dilation)
    assert 0 <= after - before <= 1
    out = conv_output_size(size, kernel, stride, (before, after), dilation)
    assert out == math.ceil(size / stride)
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    assert before + after == total


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("size", [5, 6, 7, 28])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_at_stride_1_matches_torch(size, kernel, dilation):
    x = torch.zeros(1, 1, size, size)
    w = torch.zeros(1, 1, kernel, kernel)
    expected = torch.nn.functional.conv2d(x, w, padding="same", dilation=dilation).shape[-1]
    top, bottom, left, right = resolve_padding("same", (size, size), kernel, 1, dilation)
    assert (top, bottom) == (left, right) == same_padding(size, kernel, 1, dilation)
    assert conv_output_size(size, kernel, 1, (top, bottom), dilation) == expected == size
    # PyTorch also puts the odd pixel after: its explicit split is total // 2 before.
    assert top == dilation * (kernel - 1) // 2


def test_resolve_padding_forms():
    assert resolve_padding(0, (5, 5), (3, 3)) == (0, 0, 0, 0)
    assert resolve_padding(2, (5, 5), (3, 3)) == (2, 2, 2, 2)
    assert resolve_padding((1, 3), (5, 5), (3, 3)) == (1, 1, 3, 3)
    assert resolve_padding("valid", (5, 5), (3, 3)) == (0, 0, 0, 0)
    assert resolve_padding("same", (5, 5), (3, 3), (2, 2)) == (1, 1, 1, 1)
    assert resolve_padding("same", (6, 5), (3, 3), (2, 2)) == (0, 1, 1, 1)
    assert resolve_padding("same", (4, 4), (2, 2), (2, 2)) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "padding, error, message",
    [
        (
            "full",
            ValueError,
            "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
            "'same'. Received padding='full'.",
        ),
        (
            "SAME",
            ValueError,
            "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
            "'same'. Received padding='SAME'.",
        ),
        (
            -1,
            ValueError,
            "Invalid value for argument `padding`. Expected an int >= 0 or a pair of them. "
            "Received padding=-1.",
        ),
        (
            None,
            ValueError,
            "Invalid value for argument `padding`. Expected an int >= 0 or a pair of them. "
            "Received padding=None.",
        ),
    ],
)
def test_resolve_padding_errors(padding, error, message):
    with pytest.raises(error) as info:
        resolve_padding(padding, (5, 5), (3, 3))
    assert str(info.value) == message


def test_same_padding_and_resolve_padding_defaults_are_stride_and_dilation_1():
    # size 6, kernel 4 at stride 1, dilation 1: total 3, split 1 before and 2 after.
    assert same_padding(6, 4) == (1, 2) == same_padding(6, 4, 1, 1)
    assert resolve_padding("same", (6, 6), 4) == (1, 2, 1, 2)


def test_same_padding_reads_each_axis_own_stride_and_dilation():
    # H: size 7, kernel 3, stride 1, dilation 2: total 4 -> (2, 2).
    # W: size 7, kernel 3, stride 2, dilation 1: ceil(7/2) = 4 outputs need 6 + 3 - 7 = 2.
    assert resolve_padding("same", (7, 7), 3, stride=(1, 2), dilation=(2, 1)) == (2, 2, 1, 1)


def test_same_padding_checks_its_arguments_by_name():
    with pytest.raises(ValueError, match=r"^Invalid value for argument `kernel_size`\."):
        resolve_padding("same", (5, 5), 0)
    with pytest.raises(ValueError, match=r"^Invalid value for argument `stride`\."):
        resolve_padding("same", (5, 5), 3, stride=0)
    with pytest.raises(ValueError, match=r"^Invalid value for argument `dilation`\."):
        resolve_padding("same", (5, 5), 3, dilation=(1, 0))


@pytest.mark.parametrize(
    "kernel, stride, dilation, padding",
    [(3, 1, 1, 0), ((3, 5), (2, 1), (1, 2), (1, 2)), (4, 2, 1, 1), (2, 3, 2, 0)],
)
def test_window_geometry_output_size_matches_torch_conv(kernel, stride, dilation, padding):
    from convscope.nn.functional.geometry import WindowGeometry

    g = WindowGeometry(kernel, stride, dilation, padding)
    out = torch.nn.functional.conv2d(
        torch.zeros(1, 1, 13, 11),
        torch.zeros(1, 1, *pair(kernel)),
        stride=stride,
        dilation=dilation,
        padding=padding,
    )
    assert g.output_size((13, 11)) == tuple(out.shape[2:])
    assert g.kernel == pair(kernel) and g.padding == pair(padding, minimum=0)


def test_check_padding_keeps_strings_and_makes_pairs():
    from convscope.nn.functional.geometry import check_padding

    assert check_padding("valid") == "valid" and check_padding("same") == "same"
    assert check_padding(2) == (2, 2) and check_padding([0, 3]) == (0, 3)
    with pytest.raises(ValueError, match=r"Received padding='Same'\.$"):
        check_padding("Same")
