"""Occlusion against an explicit evaluation of every occluded image."""

import numpy as np
import pytest

import convscope
from convscope import explain, nn
from convscope.nn import functional as F
from convscope.tensor import no_grad


def model_and_image():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 4))  # fmt: skip
    return model, np.random.default_rng(3).random((1, 10, 10)).astype(np.float32)


def probability(model, x, target):
    model.eval()
    with no_grad():
        return F.softmax(model(x[None]), dim=1).data[0, target]


@pytest.mark.parametrize(
    "window,stride,value", [(3, 2, 0.0), ((4, 2), (3, 1), "mean"), (10, 1, 0.5)]
)
def test_each_entry_is_the_probability_drop_of_that_occluded_image(window, stride, value):
    model, x = model_and_image()
    wh, ww = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    fill = x.mean() if value == "mean" else value
    base = probability(model, x, 1)
    expected = []
    for top in range(0, 10 - wh + 1, sh):
        row = []
        for left in range(0, 10 - ww + 1, sw):
            occluded = x.copy()
            occluded[:, top : top + wh, left : left + ww] = fill
            row.append(base - probability(model, occluded, 1))
        expected.append(row)
    got = explain.occlusion(model, x, 1, window, stride, value, batch_size=5)
    np.testing.assert_allclose(got, np.array(expected), atol=1e-6)


def test_spread_averages_the_windows_covering_each_pixel():
    grid = np.random.default_rng(0).random((4, 4))
    expected = np.zeros((10, 10))
    for r in range(10):
        for c in range(10):
            covering = [grid[i, j] for i in range(4) for j in range(4)
                        if 2 * i <= r < 2 * i + 4 and 2 * j <= c < 2 * j + 4]  # fmt: skip
            expected[r, c] = np.mean(covering) if covering else 0.0
    np.testing.assert_allclose(explain.spread(grid, (10, 10), window=4, stride=2), expected)


def test_a_window_larger_than_the_image_is_rejected():
    model, x = model_and_image()
    with pytest.raises(
        ValueError, match=r"window that fits in the 10×10 image; received window=\(11, 11\)"
    ):
        explain.occlusion(model, x, 0, window=11)
