"""§9.8: five convolution algorithms agree with PyTorch; the multiply counts."""

import numpy as np
import pytest
import torch

from convscope.experiments import algorithms


@pytest.mark.parametrize("name", list(algorithms.ALGORITHMS))
@pytest.mark.parametrize("shape", [(2, 9, 9), (1, 6, 11)])
def test_each_algorithm_matches_torch(name, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)  # rank 3: separable uses all terms
    expected = torch.nn.functional.conv2d(torch.tensor(x)[:, None], torch.tensor(k)[None, None])
    out = algorithms.ALGORITHMS[name](x, k)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected.numpy()[:, 0], atol=1e-4)


def test_efficient_algorithms_agree_and_count():
    r = algorithms.efficient_algorithms("smoke")
    assert set(r.max_difference) == set(algorithms.ALGORITHMS)
    assert max(r.max_difference.values()) < 1e-4
    assert all(len(t) == len(r.sizes) and min(t) > 0 for t in r.seconds.values())
    assert r.multiplies["direct"][0] == 9 and r.multiplies["Winograd F(2×2,3×3)"][0] == 4
    assert r.multiplies["separable (rank 1)"][0] == 6 and r.random_kernel_rank == 3


def test_winograd_rejects_other_kernels():
    with pytest.raises(ValueError, match="expected a 3×3 kernel"):
        algorithms.winograd_2x2_3x3(np.zeros((1, 5, 5), np.float32), np.zeros((5, 5), np.float32))
