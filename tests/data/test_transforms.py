"""Batch transforms: shapes, ranges, and that flips/shifts/crops do what they say."""

from __future__ import annotations

import numpy as np
import pytest

import convscope
from convscope.data import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    ToFloat,
    compute_mean_std,
)
from convscope.data.transforms import crop, translate


def _dot(n=1, h=5, w=5, at=(2, 2)):
    x = np.zeros((n, 1, h, w), np.float32)
    x[:, 0, at[0], at[1]] = 1.0
    return x


def test_to_float():
    x = np.array([0, 128, 255], np.uint8).reshape(1, 1, 1, 3)
    y = ToFloat()(x)
    assert y.dtype == np.float32 and y.min() == 0.0 and y.max() == 1.0
    np.testing.assert_allclose(y.ravel(), [0, 128 / 255, 1], rtol=1e-6)
    f = np.ones((1, 1, 1, 1), np.float32) * 3
    assert ToFloat()(f) is f  # float32 passes through


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -2), (-2, 2), (2, 1)])
def test_translate_moves_pixels(dy, dx):
    out = translate(_dot(), np.array([dy]), np.array([dx]), 2)
    assert out.shape == (1, 1, 5, 5) and out.sum() == 1
    assert out[0, 0, 2 + dy, 2 + dx] == 1


def test_translate_drops_what_leaves_the_frame():
    out = translate(_dot(at=(0, 4)), np.array([-1]), np.array([0]), 1)
    assert out.sum() == 0


def test_random_shift_draws_each_image_its_own_shift_within_range():
    convscope.manual_seed(0)
    x = _dot(n=400, h=9, w=9, at=(4, 4))
    out = RandomShift(2)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.all(out.sum(axis=(1, 2, 3)) == 1)  # the dot never leaves a 9x9 frame
    where = out[:, 0].reshape(400, 81).argmax(axis=1)  # flat position of each dot
    dy, dx = where // 9 - 4, where % 9 - 4
    assert set(dy.tolist()) == set(range(-2, 3)) and set(dx.tolist()) == set(range(-2, 3))
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) == 25  # all 5 x 5 shifts occur
    np.testing.assert_array_equal(x, _dot(n=400, h=9, w=9, at=(4, 4)))  # input untouched


def test_random_shift_reproducible():
    x = np.random.default_rng(0).random((6, 2, 7, 7), dtype=np.float32)
    convscope.manual_seed(4)
    a = RandomShift(3)(x)
    convscope.manual_seed(4)
    np.testing.assert_array_equal(RandomShift(3)(x), a)
    np.testing.assert_array_equal(RandomShift(0)(x), x)


def test_crop_picks_windows():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    out = crop(x, np.array([0, 2]), np.array([1, 0]), (2, 3))
    assert out.shape == (2, 1, 2, 3)
    np.testing.assert_array_equal(out[0], x[0, :, 0:2, 1:4])
    np.testing.assert_array_equal(out[1], x[1, :, 2:4, 0:3])


def test_random_crop_shape_and_content():
    convscope.manual_seed(1)
    x = np.random.default_rng(1).random((8, 3, 6, 6)).astype(np.float32)
    out = RandomCrop(4)(x)
    assert out.shape == (8, 3, 4, 4)
    for n in range(8):  # every output is some 4x4 window of its own input
        windows = np.lib.stride_tricks.sliding_window_view(x[n], (4, 4), axis=(1, 2))
        assert any(np.array_equal(windows[:, i, j], out[n]) for i in range(3) for j in range(3))
    padded = RandomCrop((6, 6), padding=2)(x)
    assert padded.shape == x.shape
    np.testing.assert_array_equal(RandomCrop(6)(x), x)  # full-size crop without padding: identity


@pytest.mark.parametrize("padding", [0, 1])
def test_random_crop_draws_every_offset_uniformly_including_the_last(padding):
    # Pixel (r, c) of the padded image holds 1 + 8r + c, so a crop's values name its
    # offset. A 5×5 image padded by p, cropped to 3×3: 3 + 2p offsets per axis.
    convscope.manual_seed(0)
    size, crop, n = 5, 3, 3000
    grid = 1.0 + 8 * np.arange(size + 2 * padding)[:, None] + np.arange(size + 2 * padding)
    x = np.broadcast_to(grid[padding : padding + size, padding : padding + size], (n, 1, 5, 5))
    out = RandomCrop(crop, padding=padding)(np.ascontiguousarray(x, dtype=np.float32))
    # The top-left may be padding (0); the pixel below-right of it is always real here.
    inner = out[:, 0, 1, 1].astype(int) - 1
    top, left = inner // 8 - 1, inner % 8 - 1
    offsets = size + 2 * padding - crop + 1
    for axis in (top, left):
        counts = np.bincount(axis, minlength=offsets)
        assert len(counts) == offsets  # no offset beyond the last possible one
        # each offset is drawn with probability 1/offsets: 3000/5 = 600 ± 5σ (σ ≈ 22)
        assert np.all(np.abs(counts - n / offsets) < 5 * np.sqrt(n / offsets)), counts


def test_random_crop_too_big():
    with pytest.raises(
        ValueError,
        match=r"RandomCrop\(size=\(9, 9\)\) does not fit in images of size \(6, 6\) "
        r"padded by \(1, 1\) to \(8, 8\)",
    ):
        RandomCrop(9, padding=1)(np.zeros((1, 1, 6, 6), np.float32))


def test_horizontal_flip():
    x = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)
    convscope.manual_seed(0)
    many = np.repeat(x[:1], 200, axis=0)
    out = RandomHorizontalFlip()(many)
    flipped = np.all(out == x[0, ..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x[0], axis=(1, 2, 3))
    assert np.all(flipped ^ kept) and 60 < flipped.sum() < 140


def test_normalize_per_channel():
    x = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 1.0)])[None].astype(
        np.float32
    )  # (1, 2, 2, 2)
    out = Normalize([0.5, 0.0], [1.0, 0.5])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], 0.0)
    np.testing.assert_allclose(out[0, 1], 2.0)
    with pytest.raises(
        ValueError, match="Normalize has 2 channel values; received a batch with 3 channels"
    ):
        Normalize([0.5, 0.0], [1.0, 0.5])(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="std > 0"):
        Normalize(0.0, 0.0)


def test_compute_mean_std_matches_numpy_and_normalizes():
    images = np.random.default_rng(2).integers(0, 256, (50, 3, 4, 4), dtype=np.uint8)
    mean, std = compute_mean_std((images, np.zeros(50, int)), batch_size=7)
    as_float = images / 255.0
    np.testing.assert_allclose(mean, as_float.mean(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(std, as_float.std(axis=(0, 2, 3)), rtol=1e-8)
    out = Normalize(mean, std)(ToFloat()(images))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, atol=1e-5)


def test_compose_order_and_repr():
    t = Compose([ToFloat(), Normalize(0.5, 0.5), RandomShift(1)])
    assert "RandomShift(max_shift=1)" in repr(t) and "Normalize(mean=[0.5], std=[0.5])" in repr(t)
    out = Compose([lambda x: x + 1, lambda x: x * 2])(np.zeros((1, 1, 1, 1)))
    assert out.item() == 2


@pytest.mark.parametrize(
    "t", [RandomShift(1), RandomCrop(2), RandomHorizontalFlip(), Normalize(0, 1)]
)
def test_single_image_is_rejected_with_a_hint(t):
    with pytest.raises(
        ValueError,
        match=r"expected a batch of shape \(N, C, H, W\); received shape \(1, 3, 3\)\. "
        r"For a single image, pass image\[None\]",
    ):
        t(np.zeros((1, 3, 3), np.float32))


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_shift >= 0"):
        RandomShift(-1)
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `size`\. Expected an int >= 1 or a pair of them\. "
        r"Received size=\(2, 2, 2\)\.",
    ):
        RandomCrop((2, 2, 2))


@pytest.mark.parametrize(
    "name, call",
    [
        ("RandomShift", lambda x: RandomShift(1)(x)),
        ("RandomCrop", lambda x: RandomCrop(2)(x)),
        ("RandomHorizontalFlip", lambda x: RandomHorizontalFlip()(x)),
        ("Normalize", lambda x: Normalize(0, 1)(x)),
        ("crop", lambda x: crop(x, np.zeros(1, int), np.zeros(1, int), (2, 2))),
        ("translate", lambda x: translate(x, np.zeros(1, int), np.zeros(1, int), 1)),
        ("compute_mean_std", compute_mean_std),
    ],
)
def test_shape_errors_name_the_transform(name, call):
    with pytest.raises(ValueError, match=rf"^{name} expected a batch of shape \(N, C, H, W\)"):
        call(np.zeros((1, 3, 3), np.float32))


def test_pad_places_the_image_inside_unequal_borders():
    from convscope.data.transforms import pad

    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3) + 1
    out = pad(x, (1, 2))  # 1 row above and below, 2 columns left and right
    assert out.shape == (1, 1, 4, 7)
    np.testing.assert_array_equal(out[0, 0, 1:3, 2:5], x[0, 0])
    assert out.sum() == x.sum()  # zeros everywhere else
    with pytest.raises(ValueError, match=r"^Invalid value for argument `padding`"):
        pad(x, (1, 2, 3))


def test_random_crop_on_non_square_images_and_one_axis_too_large():
    convscope.manual_seed(3)
    x = np.random.default_rng(3).random((6, 2, 4, 7)).astype(np.float32)
    out = RandomCrop((3, 5))(x)
    assert out.shape == (6, 2, 3, 5)
    for n in range(6):  # every crop is a 3×5 window of its own image
        windows = np.lib.stride_tricks.sliding_window_view(x[n], (3, 5), axis=(1, 2))
        assert any(np.array_equal(windows[:, i, j], out[n]) for i in range(2) for j in range(3))
    with pytest.raises(ValueError, match=r"RandomCrop\(size=\(5, 3\)\) does not fit"):
        RandomCrop((5, 3))(x)  # too tall, narrow enough
    with pytest.raises(ValueError, match=r"RandomCrop\(size=\(3, 8\)\) does not fit"):
        RandomCrop((3, 8))(x)  # short enough, too wide


def test_random_shift_never_exceeds_max_shift():
    convscope.manual_seed(4)
    x = _dot(n=2000, h=11, w=11, at=(5, 5))
    where = RandomShift(1)(x)[:, 0].reshape(2000, 121).argmax(axis=1)
    assert set((where // 11 - 5).tolist()) == {-1, 0, 1} == set((where % 11 - 5).tolist())


def test_compose_and_to_float_repr_exactly():
    assert repr(ToFloat()) == "ToFloat()"
    assert repr(Compose([ToFloat(), RandomShift(2)])) == (
        "Compose([\n    ToFloat(),\n    RandomShift(max_shift=2),\n])"
    )


def test_normalize_refuses_mean_and_std_of_different_lengths():
    with pytest.raises(ValueError) as info:
        Normalize([0.5, 0.5], [0.1, 0.2, 0.3])
    assert str(info.value) == (
        "Normalize expected mean and std with one value per channel (same length); "
        "received mean=[0.5, 0.5], std=[0.1, 0.2, 0.3]."
    )


def test_compute_mean_std_accepts_datasets_tuples_and_arrays_of_any_aspect():
    # Two channels of a 2×3 image, by hand: channel 0 is 0 and 255 (mean 0.5, std 0.5),
    # channel 1 is all 51 (0.2, std 0).
    images = np.zeros((2, 2, 2, 3), np.uint8)
    images[1, 0] = 255
    images[:, 1] = 51

    class Dataset:
        def __init__(self, images):
            self.images = images

    for data in (images, (images, np.zeros(2)), Dataset(images)):
        mean, std = compute_mean_std(data, batch_size=1)
        np.testing.assert_allclose(mean, (0.5, 0.2), rtol=1e-12)
        np.testing.assert_allclose(std, (0.5, 0.0), atol=1e-12)
