"""Drawings are fitted in 20×20 and centred by centre of mass in 28×28, as MNIST was."""

import io

import numpy as np
import pytest
from PIL import Image

from convscope.explorer.preprocess import (
    MAX_UPLOAD_BYTES,
    center_of_mass,
    drawing_to_input,
    upload_to_input,
)


def stroke_canvas() -> np.ndarray:
    canvas = np.zeros((280, 280), np.uint8)
    canvas[30:200, 150:190] = 255  # a tall bar, off centre
    canvas[30:60, 100:190] = 200  # and a lighter top bar
    return canvas


def test_the_drawing_fits_a_20_box_and_its_mass_is_centred():
    image = drawing_to_input(stroke_canvas(), (1, 28, 28))[0]
    rows, cols = np.nonzero(image > 1e-3)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert max(height, width) in (20, 21)  # 20 plus at most one pixel of resampling halo
    r, c = center_of_mass(image)
    assert abs(r - 13.5) <= 0.5 and abs(c - 13.5) <= 0.5
    assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1


def test_centre_of_mass_by_hand():
    plane = np.zeros((3, 4))
    plane[0, 0], plane[2, 3] = 1.0, 3.0
    assert center_of_mass(plane) == (1.5, 2.25)  # ((0·1 + 2·3)/4, (0·1 + 3·3)/4)


def test_blank_canvas_gives_a_blank_image():
    np.testing.assert_array_equal(drawing_to_input(np.zeros((50, 60), np.uint8), (1, 28, 28)), 0)


def test_rgb_and_other_sizes():
    image = drawing_to_input(stroke_canvas(), (3, 32, 40))
    assert image.shape == (3, 32, 40)
    np.testing.assert_array_equal(image[0], image[2])
    rows, _ = np.nonzero(image[0] > 1e-3)
    assert rows.max() - rows.min() + 1 in (23, 24)  # 20/28 of the shorter side, 32


def test_bad_drawing_array():
    with pytest.raises(ValueError, match=r"2-D uint8 array; received float64 of shape \(2, 2, 2\)"):
        drawing_to_input(np.zeros((2, 2, 2)), (1, 28, 28))


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_uploads_are_read_like_predict_reads_files():
    pixels = np.random.default_rng(0).integers(0, 256, (56, 56), dtype=np.uint8)
    image = upload_to_input(png(pixels), (1, 28, 28))
    expected = np.asarray(Image.fromarray(pixels).resize((28, 28), Image.BILINEAR), np.float32)
    assert image.shape == (1, 28, 28)
    assert np.abs(image[0] * 255 - expected).max() <= 1.0
    inverted = upload_to_input(png(pixels), (1, 28, 28), invert=True)
    np.testing.assert_allclose(inverted, 1 - image, atol=1e-6)


def test_bad_uploads_say_what_was_expected():
    with pytest.raises(ValueError, match="not an image"):
        upload_to_input(b"just some text", (1, 28, 28))
    with pytest.raises(ValueError, match="empty upload"):
        upload_to_input(b"", (1, 28, 28))
    with pytest.raises(ValueError, match="at most 4 MB"):
        upload_to_input(b"\0" * (MAX_UPLOAD_BYTES + 1), (1, 28, 28))
