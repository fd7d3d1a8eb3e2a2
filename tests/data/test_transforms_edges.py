"""Transform edges (mutation survivors of data/transforms.py): argument errors name the
argument, RandomShift's offsets stay within max_shift and reach all of them, and
compute_mean_std of non-square images equals NumPy's mean and std."""

import numpy as np
import pytest

from convscope.data.transforms import RandomCrop, RandomShift, compute_mean_std
from convscope.random import manual_seed


@pytest.mark.parametrize("padding", [-1, 1.5, (1, 2, 3)])
def test_random_crop_padding_errors_name_padding(padding):
    with pytest.raises(
        ValueError,
        match=r"^Invalid value for argument `padding`\. Expected an int >= 0 or a pair of them\. "
        r"Received padding=",
    ):
        RandomCrop(4, padding=padding)


def test_random_shift_moves_by_at_most_max_shift_and_reaches_every_offset():
    manual_seed(0)
    x = np.zeros((400, 1, 5, 5), np.float32)
    x[:, 0, 2, 2] = 1.0  # one bright pixel in the centre of each image
    out = RandomShift(1)(x)
    assert out.shape == x.shape
    flat = out[:, 0].reshape(400, 25)
    assert (flat.sum(axis=1) == 1).all()  # the pixel is moved, never lost or copied
    rows, cols = np.divmod(flat.argmax(axis=1), 5)
    offsets = set(zip((rows - 2).tolist(), (cols - 2).tolist()))
    assert offsets == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}  # P(one missing) < 1e-19


def test_compute_mean_std_of_non_square_images_equals_numpy():
    images = np.random.default_rng(0).integers(0, 256, (5, 2, 3, 7), dtype=np.uint8)
    mean, std = compute_mean_std(images, batch_size=2)
    scaled = images / 255.0
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 2, 3)), rtol=1e-12)
