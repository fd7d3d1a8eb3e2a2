"""adaptive_avg_pool2d / adaptive_max_pool2d against PyTorch, finite differences and loops."""

import numpy as np
import pytest
import torch.nn.functional as TF

from convscope.nn import functional as F
from oracle import check_grad, torch_parity

# (input shape, output_size): divisible, overlapping windows, global, upsampling, None.
CASES = [
    ((2, 3, 8, 8), 2),
    ((2, 3, 7, 9), (3, 4)),  # windows of unequal size that share rows/columns
    ((2, 3, 5, 5), 1),  # global pooling
    ((1, 2, 3, 4), (5, 7)),  # output larger than input: windows repeat pixels
    ((2, 2, 6, 5), (None, 2)),
    ((1, 1, 1, 1), 1),
]


def make(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, size", CASES, ids=str)
def test_adaptive_avg_pool2d_matches_torch(shape, size, dtype):
    out = torch_parity(
        lambda x: F.adaptive_avg_pool2d(x, size),
        lambda x: TF.adaptive_avg_pool2d(x, size),
        make(shape, dtype),
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, size", CASES, ids=str)
def test_adaptive_max_pool2d_matches_torch(shape, size, dtype):
    out = torch_parity(
        lambda x: F.adaptive_max_pool2d(x, size),
        lambda x: TF.adaptive_max_pool2d(x, size),
        make(shape, dtype),
    )
    assert out.dtype == dtype


def test_adaptive_max_pool2d_ties_go_to_first_maximum_like_torch():
    # After a ReLU many pixels tie at 0: the gradient must go where PyTorch sends it.
    x = np.maximum(make((2, 3, 7, 6), np.float32), 0)
    x[:, :, :3] = 0
    torch_parity(
        lambda t: F.adaptive_max_pool2d(t, (3, 2)),
        lambda t: TF.adaptive_max_pool2d(t, (3, 2)),
        x,
    )


@pytest.mark.parametrize("shape, size", CASES[:4], ids=str)
def test_adaptive_pooling_gradcheck(shape, size):
    check_grad(lambda x: F.adaptive_avg_pool2d(x, size), make(shape))
    check_grad(lambda x: F.adaptive_max_pool2d(x, size), make(shape, seed=1))


def test_adaptive_avg_pool2d_equals_window_loop():
    x = make((1, 2, 7, 5))
    out = F.adaptive_avg_pool2d(x, (3, 2)).numpy()
    rows, cols = [(0, 3), (2, 5), (4, 7)], [(0, 3), (2, 5)]  # worked by hand: floor/ceil
    for i, (top, bottom) in enumerate(rows):
        for j, (left, right) in enumerate(cols):
            np.testing.assert_allclose(
                out[:, :, i, j], x[:, :, top:bottom, left:right].mean((2, 3))
            )


def test_adaptive_max_pool2d_nan_propagates():
    x = make((1, 1, 4, 4))
    x[0, 0, 1, 1] = np.nan
    out = F.adaptive_max_pool2d(x, 2).numpy()[0, 0]
    assert np.isnan(out[0, 0]) and not np.isnan(out).sum() > 1


@pytest.mark.parametrize("size", [0, (2, 0), (1, 2, 3), "1", 1.5])
def test_bad_output_size_is_refused(size):
    with pytest.raises(ValueError, match="adaptive_avg_pool2d expected output_size to be a"):
        F.adaptive_avg_pool2d(make((1, 1, 4, 4)), size)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"received input of shape \(3, 4, 4\)"):
        F.adaptive_max_pool2d(make((3, 4, 4)), 1)
    with pytest.raises(TypeError, match="floating-point input; received dtype int64"):
        F.adaptive_avg_pool2d(np.ones((1, 1, 2, 2), dtype=np.int64), 1)
