"""The one int/pair/tuple check: one error type and one message from every caller."""

import numpy as np
import pytest

from convscope import nn, scratch
from convscope.arguments import int_tuple, is_int, pair
from convscope.data.transforms import RandomCrop, pad
from convscope.nn import functional as F

STRIDE_MESSAGE = (
    "Invalid value for argument `stride`. Expected an int >= 1 or a pair of them. "
    "Received stride=1.5."
)
X = np.zeros((1, 1, 6, 6), np.float32)
W = np.zeros((2, 1, 3, 3), np.float32)


def test_forms():
    assert pair(3, "k") == (3, 3) and pair((2, 5), "k") == (2, 5) and pair([1, 4], "k") == (1, 4)
    assert pair(np.int64(2), "k") == (2, 2) and type(pair(np.int64(2), "k")[0]) is int
    assert pair(0, "padding", minimum=0) == (0, 0)
    assert int_tuple(2, "k", length=3) == (2, 2, 2)
    assert int_tuple((1, 2, 3), "k", length=3) == (1, 2, 3)
    assert int_tuple(4, "k", length=1) == (4,)
    assert is_int(np.uint8(1)) and not is_int(np.bool_(True)) and not is_int(1.0)


@pytest.mark.parametrize(
    "value, length, minimum, expected",
    [
        (0, 2, 1, "Expected an int >= 1 or a pair of them. Received k=0."),
        (-1, 2, 0, "Expected an int >= 0 or a pair of them. Received k=-1."),
        ((1, 0), 2, 1, "Expected an int >= 1 or a pair of them. Received k=(1, 0)."),
        ((1, 2, 3), 2, 1, "Expected an int >= 1 or a pair of them. Received k=(1, 2, 3)."),
        ((1, 2), 3, 1, "Expected an int >= 1 or a triple of them. Received k=(1, 2)."),
        ((1,) * 3, 4, 1, "Expected an int >= 1 or a tuple of 4 of them. Received k=(1, 1, 1)."),
        (0, 1, 1, "Expected an int >= 1. Received k=0."),
        (True, 2, 0, "Expected an int >= 0 or a pair of them. Received k=True."),
        ((1, 2.0), 2, 1, "Expected an int >= 1 or a pair of them. Received k=(1, 2.0)."),
        ("3", 2, 1, "Expected an int >= 1 or a pair of them. Received k='3'."),
        (None, 2, 1, "Expected an int >= 1 or a pair of them. Received k=None."),
    ],
)
def test_one_error_type_and_message(value, length, minimum, expected):
    with pytest.raises(ValueError) as info:
        int_tuple(value, "k", length=length, minimum=minimum)
    assert str(info.value) == "Invalid value for argument `k`. " + expected


@pytest.mark.parametrize(
    "call",
    [
        lambda: nn.Conv2d(1, 2, 3, stride=1.5),
        lambda: F.conv2d(X, W, stride=1.5),
        lambda: scratch.conv2d_loops(X, W, stride=1.5),
        lambda: scratch.convolve2d(X[0, 0], W[0, 0], stride=1.5),
        lambda: nn.MaxPool2d(2, stride=1.5),
        lambda: F.max_pool2d(X, 2, stride=1.5),
        lambda: nn.AvgPool2d(2, stride=1.5),
        lambda: F.avg_pool2d(X, 2, stride=1.5),
        lambda: scratch.max_pool2d_loops(X, 2, stride=1.5),
        lambda: scratch.max_pooling(X[0, 0], 2, stride=1.5),
    ],
)
def test_stride_1_5_gives_the_same_error_from_layers_ops_and_loops(call):
    with pytest.raises(ValueError) as info:
        call()
    assert type(info.value) is ValueError
    assert str(info.value) == STRIDE_MESSAGE


def test_padding_error_is_the_same_from_layer_and_op():
    messages = []
    for call in (
        lambda: nn.Conv2d(1, 2, 3, padding="full"),
        lambda: F.conv2d(X, W, padding="full"),
        lambda: nn.MaxPool2d(2, padding="full"),
        lambda: F.max_pool2d(X, 2, padding="full"),
    ):
        with pytest.raises(ValueError) as info:
            call()
        messages.append(str(info.value))
    assert set(messages) == {
        "Invalid value for argument `padding`. Expected an int, a pair of ints, 'valid' or "
        "'same'. Received padding='full'."
    }


def test_transforms_use_the_same_check():
    with pytest.raises(
        ValueError,
        match=r"^Invalid value for argument `padding`\. Expected an "
        r"int >= 0 or a pair of them\. Received padding=-1\.$",
    ):
        pad(X, -1)
    with pytest.raises(ValueError, match=r"Received size=1\.5\.$"):
        RandomCrop(1.5)
