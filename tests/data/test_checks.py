"""check_images: the one place that decides which pixels a model may be fed."""

import numpy as np
import pytest

from convscope.data.checks import check_images


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.array([[[[0.5, np.inf]]]], np.float32), "received 1 NaN or infinite values"),
        (np.array([[[[0.5, -1e-3]]]], np.float32), "down to -0.001"),
        (np.array([[[[0.5, 1.001]]]], np.float32), "in [0, 1]; received values up to 1.001"),
        (np.array([[[[-1, 3]]]], np.int16), "down to -1"),
        (np.array([[[[256, 3]]]], np.uint16), "in [0, 255]; received values up to 256"),
        (np.array([[[[True]]]]), "received dtype bool"),
        (np.zeros((2, 4, 4), np.uint8), "shape (N, C, H, W); received an array of shape (2, 4, 4)"),
    ],
)
def test_invalid_pixels_are_named(images, message):
    with pytest.raises(ValueError, match="'x.npy': ") as info:
        check_images(images, "x.npy")
    assert message in str(info.value)


def test_boundaries_are_valid():
    check_images(np.array([[[[0.0, 1.0]]]], np.float32), "x")
    check_images(np.array([[[[0, 255]]]], np.int64), "x")
    check_images(np.zeros((0, 1, 2, 2), np.float32), "x", (1, 2, 2))


def test_shape_messages_say_what_differs():
    with pytest.raises(ValueError, match="3 channel\\(s\\) where the model takes 1"):
        check_images(np.zeros((1, 3, 4, 4), np.uint8), "x", (1, 4, 4))
    with pytest.raises(ValueError, match="4×5 images where the model takes 4×4"):
        check_images(np.zeros((1, 1, 4, 5), np.uint8), "x", (1, 4, 4))


def test_bad_value_is_found_in_a_later_chunk():
    images = np.zeros((10, 1, 2, 2), np.float32)
    images[7, 0, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"first at index \(7, 0, 1, 0\)"):
        check_images(images, "x", chunk=3)
