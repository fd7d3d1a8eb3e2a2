"""§9.1: the textbook example by hand, the flip as a re-labelling, Toeplitz vs PyTorch."""

import numpy as np
import torch

from convscope.experiments import convolution


def test_textbook_example_matches_hand_computation():
    r = convolution.textbook_example("smoke")
    # Worked by hand in the problem set (and the README).
    assert r.output.tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    assert r.library_matches
    assert sum(int(a) * int(b) for a, b in (t.split("·") for t in r.first_entry_terms)) == 4
    # The Sobel kernel is antisymmetric under a 180° turn: convolution = −cross-correlation.
    np.testing.assert_array_equal(r.sobel_cross_correlation, -r.sobel_convolution)
    assert np.abs(r.sobel_cross_correlation).max() > 0


def test_true_convolution_trains_to_the_same_network():
    r = convolution.flipped_kernel_training("smoke")
    assert r.max_kernel_difference < 1e-6 and r.max_output_difference < 1e-5
    assert r.accuracy_convolution == r.accuracy_cross_correlation


def test_toeplitz_matrix_is_convolution():
    r = convolution.toeplitz_matrix("smoke")
    assert r.max_difference < 1e-5
    assert r.block_toeplitz and r.blocks_toeplitz
    assert r.matrix_shape == (26 * 26, 28 * 28) and r.nonzeros == 26 * 26 * 9
    assert r.figure is not None
    # Against PyTorch on a random rectangular input and kernel.
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((7, 9)), rng.standard_normal((3, 2))
    expected = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None])
    by_matrix = convolution.doubly_block_toeplitz(k, x.shape) @ x.ravel()
    np.testing.assert_allclose(by_matrix, expected.numpy().ravel(), atol=1e-12)
