"""Small seeded data, a small CNN (with Dropout) and weight comparisons for the training tests."""

import numpy as np

from convscope import nn


def quadrant_data(n=96, seed=0):
    """8x8 images whose label is the brightest quadrant (4 classes), uint8 like real data."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 120, size=(n, 1, 8, 8)).astype(np.uint8)
    y = rng.integers(0, 4, size=n)
    for i, label in enumerate(y):
        r, c = divmod(int(label), 2)
        x[i, 0, r * 4 : r * 4 + 4, c * 4 : c * 4 + 4] += 100
    return x, y.astype(np.int64)


def small_cnn():
    """Conv-ReLU-MaxPool-Flatten-Dropout-Linear for (N, 1, 8, 8) inputs, 4 classes."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(36, 4),
    )


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
