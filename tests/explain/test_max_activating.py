"""max_activating against a brute-force loop over every image and position."""

import numpy as np
import pytest

import convscope
from convscope import explain, nn


def setup():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten())  # fmt: skip
    images = np.random.default_rng(4).integers(0, 256, (23, 1, 10, 10), dtype=np.uint8)
    return model, images


def test_top_images_positions_and_patches_by_brute_force():
    model, images = setup()
    values, positions = [], []
    for img in images:
        out = nn.capture_outputs(model, (img / np.float32(255))[None].astype(np.float32))["4"][0, 1]
        r, c = np.unravel_index(np.argmax(out), out.shape)
        values.append(out[r, c])
        positions.append((r, c))
    order = sorted(range(len(images)), key=lambda i: -values[i])[:5]
    top = explain.max_activating(model, images, "4", channel=1, k=5, batch_size=7)
    assert top["indices"].tolist() == order
    np.testing.assert_allclose(top["values"], [values[i] for i in order], rtol=1e-6)
    assert [tuple(p) for p in top["positions"]] == [positions[i] for i in order]
    # Unit (r, c) of the second conv sees input rows 2r−1 .. 2r+6 (conv pad 1, pool 2, conv 3).
    size = nn.summary(model, (1, 10, 10)).rows[4]["receptive_field"]
    for (r, c), box, patch, i in zip(top["positions"], top["boxes"], top["patches"], order):
        assert tuple(box) == (2 * r - 1, 2 * c - 1, 2 * r + 7, 2 * c + 7)
        assert patch.shape == (1, *size)
        padded = np.pad(images[i, 0] / 255.0, 1)
        np.testing.assert_allclose(
            patch[0], padded[2 * r : 2 * r + 8, 2 * c : 2 * c + 8], atol=1e-6
        )


def test_every_channel_at_once_equals_one_at_a_time():
    model, images = setup()
    every = explain.max_activating(model, images, "3", channel=None, k=3)
    assert len(every) == 3
    for c, result in enumerate(every):
        one = explain.max_activating(model, images, "3", channel=c, k=3)
        for key in one:
            np.testing.assert_array_equal(result[key], one[key])


def test_bad_layer_channel_and_k():
    model, images = setup()
    with pytest.raises(ValueError, match=r"channel in \[0, 3\) for layer '4'; received channel=3"):
        explain.max_activating(model, images, "4", channel=3)
    with pytest.raises(ValueError, match=r"layer '5' outputs \(1, 27\)"):
        explain.max_activating(model, images, "5", channel=0)
    with pytest.raises(ValueError, match="Unknown layer"):
        explain.max_activating(model, images, "9", channel=0)
    with pytest.raises(ValueError, match="k to be an integer >= 1"):
        explain.max_activating(model, images, "4", channel=0, k=0)
