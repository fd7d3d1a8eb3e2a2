"""DataLoader: shapes, dtypes, len, drop_last, shuffling from convscope.random, no aliasing."""

from __future__ import annotations

import numpy as np
import pytest

import convscope
from convscope.data import DataLoader, Dataset, Normalize


def _arrays(n=10, dtype=np.uint8):
    images = np.arange(n * 4).reshape(n, 1, 2, 2).astype(dtype)
    return images, np.arange(n) % 3


@pytest.mark.parametrize(
    "n, batch, drop_last, sizes",
    [
        (10, 4, False, [4, 4, 2]),
        (10, 4, True, [4, 4]),
        (8, 4, True, [4, 4]),
        (3, 5, True, []),
        (3, 5, False, [3]),
    ],
)
def test_batches_len_and_drop_last(n, batch, drop_last, sizes):
    loader = DataLoader(_arrays(n), batch_size=batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(y) for _, y in batches] == sizes
    for x, y in batches:
        assert x.dtype == np.float32 and x.ndim == 4 and x.shape[1:] == (1, 2, 2)
        assert y.dtype == np.int64


def test_uint8_scaled_float_kept():
    images, labels = _arrays(6)
    x, _ = next(iter(DataLoader((images, labels), batch_size=6)))
    np.testing.assert_allclose(x, images / 255.0, rtol=1e-6)
    floats = images.astype(np.float64) * 3
    x, _ = next(iter(DataLoader((floats, labels), batch_size=6)))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, floats)  # floats are not rescaled


def test_batches_never_alias_the_source():
    images, labels = _arrays(6, np.float32)
    source = images.copy()
    for x, y in DataLoader((images, labels), batch_size=4):
        x += 100
        y += 100
    np.testing.assert_array_equal(images, source)
    np.testing.assert_array_equal(labels, np.arange(6) % 3)


def test_three_dimensional_images_get_a_channel():
    x, _ = next(iter(DataLoader((np.zeros((5, 3, 3), np.uint8), np.zeros(5, int)), batch_size=2)))
    assert x.shape == (2, 1, 3, 3)


def test_shuffle_visits_every_sample_once_per_epoch_in_a_new_order():
    convscope.manual_seed(0)
    images, _ = _arrays(50)
    loader = DataLoader((images, np.arange(50)), batch_size=7, shuffle=True)
    orders = []
    for _ in range(3):
        ys = np.concatenate([y for _, y in loader])
        assert sorted(ys.tolist()) == list(range(50))
        orders.append(ys.tolist())
    assert orders[0] != orders[1] != orders[2]


def test_images_follow_their_labels_when_shuffled():
    convscope.manual_seed(3)
    images, _ = _arrays(20)
    for x, y in DataLoader((images, np.arange(20)), batch_size=6, shuffle=True):
        np.testing.assert_allclose(x * 255, images[y], atol=1e-4)


def test_shuffle_is_reproducible_under_manual_seed():
    data = (_arrays(30)[0], np.arange(30))

    def epochs():
        loader = DataLoader(data, batch_size=8, shuffle=True)
        return [np.concatenate([y for _, y in loader]).tolist() for _ in range(2)]

    convscope.manual_seed(11)
    first = epochs()
    convscope.manual_seed(11)
    assert epochs() == first
    convscope.manual_seed(12)
    assert epochs() != first


def test_permutation_is_drawn_when_iteration_starts():
    loader = DataLoader((_arrays(30)[0], np.arange(30)), batch_size=8, shuffle=True)
    convscope.manual_seed(5)
    before = convscope.get_rng_state()
    iterator = iter(loader)  # no batch taken yet
    assert convscope.get_rng_state() != before
    first_epoch = np.concatenate([y for _, y in iterator])
    # resuming from the saved state reproduces the epoch, as the training loop relies on
    convscope.set_rng_state(before)
    np.testing.assert_array_equal(np.concatenate([y for _, y in loader]), first_epoch)


def test_explicit_generator_leaves_global_rng_alone():
    data = (_arrays(30)[0], np.arange(30))
    convscope.manual_seed(0)
    state = convscope.get_rng_state()
    a = [
        y
        for _, y in DataLoader(
            data, batch_size=30, shuffle=True, generator=np.random.default_rng(7)
        )
    ]
    b = [
        y
        for _, y in DataLoader(
            data, batch_size=30, shuffle=True, generator=np.random.default_rng(7)
        )
    ]
    assert convscope.get_rng_state() == state
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], np.random.default_rng(7).permutation(30))


def test_dataset_transform_then_loader_transform():
    images = np.full((4, 1, 2, 2), 255, np.uint8)
    ds = Dataset(images, np.zeros(4, int), ["a"], transform=lambda x: x * 2)
    x, _ = next(iter(DataLoader(ds, batch_size=4, transform=Normalize(1.0, 0.5))))
    np.testing.assert_allclose(x, (2.0 - 1.0) / 0.5)  # (1 * 2 - 1) / 0.5


def test_errors():
    data = _arrays(4)
    with pytest.raises(ValueError, match="batch_size to be a positive int; received batch_size=0"):
        DataLoader(data, batch_size=0)
    with pytest.raises(TypeError, match="np.random.Generator or None; received RandomState"):
        DataLoader(data, generator=np.random.RandomState(0))
    with pytest.raises(
        ValueError, match=r"labels of shape \(4,\) to match 4 images; received shape \(3,\)"
    ):
        DataLoader((data[0], np.zeros(3, int)))
    with pytest.raises(
        ValueError, match=r"images of shape \(N, C, H, W\) or \(N, H, W\); received shape \(4, 4\)"
    ):
        DataLoader((np.zeros((4, 4)), np.zeros(4, int)))
    with pytest.raises(
        TypeError, match="a Dataset or an \\(images, labels\\) tuple of arrays; received ndarray"
    ):
        DataLoader(np.zeros((4, 1, 2, 2)))
    with pytest.raises(ValueError, match="integer labels; received dtype float64"):
        DataLoader((data[0], np.zeros(4)))


def test_repr():
    assert repr(DataLoader(_arrays(10), batch_size=4)) == (
        "DataLoader(n=10, batch_size=4, shuffle=False, drop_last=False, batches=3)"
    )
