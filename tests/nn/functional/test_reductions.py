"""sum_rows: column sums accurate to the dtype's rounding, against float64 references."""

import numpy as np
import pytest
import torch

from convscope.nn.functional.reductions import sum_rows


@pytest.mark.parametrize("rows", [1, 127, 128, 129, 86528])
@pytest.mark.parametrize("mean", [0.0, 50.0])
def test_sum_rows_is_as_accurate_as_torch_or_better(rows, mean):
    g = (np.random.default_rng(rows).standard_normal((rows, 32)) + mean).astype(np.float32)
    exact = g.astype(np.float64).sum(axis=0)
    scale = np.abs(exact).max()
    ours = sum_rows(g)
    assert ours.dtype == np.float32 and ours.shape == (32,)
    ours_error = np.abs(ours - exact).max() / scale
    torch_error = np.abs(torch.from_numpy(g).sum(0).double().numpy() - exact).max() / scale
    assert ours_error <= max(2 * torch_error, 2e-7)


def test_sum_rows_of_a_strided_array_and_float64():
    a = np.random.default_rng(0).standard_normal((300, 8))
    np.testing.assert_allclose(sum_rows(a[:, ::2]), a[:, ::2].sum(axis=0), rtol=1e-13)
    assert sum_rows(a).dtype == np.float64


def test_naive_float32_sum_is_what_sum_rows_fixes():
    # the failure this guards against: sequential float32 accumulation over many rows
    a = np.full((1_000_000, 2), 0.1, dtype=np.float32)
    assert abs(float(a.sum(axis=0)[0]) - 1e5) > 100
    assert abs(float(sum_rows(a)[0]) - 1e5) < 0.1
