"""Convo2D, in2col_Convo2D and the poolings: golden outputs, the originals, loops, gradients."""

from __future__ import annotations

import numpy as np
import pytest

from compat.originals import VERSIONS, load_original
from convscope import scratch
from convscope.compat.rbdl import (
    AvgPooling,
    Convo2D,
    MaxPooling,
    Values,
    in2col_Convo2D,
    mse_loss,
)
from oracle import check_grad

# The problem set's example (README.md).
IMAGE = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
    dtype=np.float32,
)
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float32)
GOLDEN = {
    ("valid", 1): [[4, 3, 4], [2, 4, 3], [2, 3, 4]],
    ("same", 2): [[2, 3, 1], [1, 4, 3], [0, 2, 1]],
}

rng = np.random.default_rng(0)
CONV_CASES = [(p, s) for p in ("valid", "same") for s in (1, 2)]
POOL_CASES = [((2, 2), 1), ((2, 2), 2), ((3, 2), 1), ((3, 3), 2)]


@pytest.mark.parametrize("layer", [Convo2D, in2col_Convo2D])
@pytest.mark.parametrize(("padding", "stride"), sorted(GOLDEN))
def test_convolution_golden_outputs(layer, padding, stride):
    out = layer(KERNEL, padding, stride)(IMAGE)
    assert out.shape == (1, 3, 3)
    np.testing.assert_array_equal(out.vals[0], GOLDEN[padding, stride])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("padding", "stride"), CONV_CASES)
def test_convo2d_equals_original_on_single_images(version, padding, stride):
    R = load_original(version)
    image, kernel = rng.standard_normal((7, 6)), rng.standard_normal((3, 3))
    expected = R.Convo2D(kernel, padding, stride)(image).vals
    np.testing.assert_allclose(Convo2D(kernel, padding, stride)(image).vals, expected)
    np.testing.assert_allclose(scratch.convolve2d(image, kernel, padding, stride), expected[0])


@pytest.mark.parametrize(("padding", "stride"), CONV_CASES)
def test_in2col_convo2d_equals_original(padding, stride):
    R = load_original("1.0.5")
    image, kernel = rng.standard_normal((6, 7)), rng.standard_normal((2, 3))
    theirs = R.in2col_Convo2D(kernel, padding, stride)
    ours = in2col_Convo2D(kernel, padding, stride)
    assert ours.params().shape == theirs.params().shape == (6, 1)
    np.testing.assert_allclose(ours(image).vals, theirs(image).vals)


@pytest.mark.parametrize("stride", [1, 2])
def test_im2col_equals_original_and_passes_finite_differences(stride):
    R = load_original("1.0.5")
    image, kernel = rng.standard_normal((6, 7)), np.zeros((3, 2))
    ours = in2col_Convo2D(kernel, stride=stride).im2col(image)
    np.testing.assert_array_equal(
        ours.vals, R.in2col_Convo2D(kernel, stride=stride).im2col(R.Values(image)).vals
    )
    check_grad(lambda x: in2col_Convo2D(kernel, stride=stride).im2col(Values(x)).tensor, image)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("size", "stride"), POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_equals_original_and_loops_on_single_images(version, size, stride, kind):
    R = load_original(version)
    image = rng.standard_normal((7, 6))
    ours, theirs, loop = {
        "max": (MaxPooling, R.MaxPooling, scratch.max_pooling),
        "avg": (AvgPooling, R.AvgPooling, scratch.average_pooling),
    }[kind]
    out = ours(size, stride)(image).vals
    np.testing.assert_allclose(out, theirs(size, stride)(image).vals)
    np.testing.assert_allclose(out[0], loop(image, size, stride))


def test_problem_set_pooling_of_the_example():
    feature_map = Convo2D(KERNEL)(IMAGE)
    np.testing.assert_array_equal(MaxPooling((2, 2))(feature_map).vals[0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(
        AvgPooling((2, 2))(feature_map).vals[0], [[3.25, 3.5], [2.75, 3.5]]
    )


@pytest.mark.parametrize(
    "layer",
    [Convo2D(KERNEL, "same", 2), in2col_Convo2D(KERNEL), MaxPooling((2, 2)), AvgPooling((3, 3), 2)],
    ids=["conv", "in2col", "max", "avg"],
)
def test_batched_outputs_equal_per_image_outputs(layer):
    batch = rng.standard_normal((4, 9, 8))
    out = layer(batch).vals
    for i, image in enumerate(batch):
        np.testing.assert_allclose(out[i], layer(image).vals[0])


@pytest.mark.parametrize(("padding", "stride"), CONV_CASES)
def test_convo2d_gradients_pass_finite_differences(padding, stride):
    x, k = rng.standard_normal((2, 6, 7)), rng.standard_normal((3, 3))
    check_grad(lambda x, k: Convo2D(Values(k), padding, stride)(Values(x)).tensor, x, k)


def test_in2col_kernel_gradient_passes_finite_differences():
    x, k = rng.standard_normal((2, 5, 6)), rng.standard_normal((6, 1))
    layer = in2col_Convo2D(np.zeros((2, 3)))

    def f(x, k):
        layer.set_params(Values(k))
        return layer(Values(x)).tensor

    check_grad(f, x, k)


@pytest.mark.parametrize(("size", "stride"), POOL_CASES)
@pytest.mark.parametrize("kind", [MaxPooling, AvgPooling])
def test_pooling_gradients_pass_finite_differences(kind, size, stride):
    x = rng.permutation(2 * 7 * 6).reshape(2, 7, 6) / 10.0  # distinct values: no ties
    check_grad(lambda x: kind(size, stride)(Values(x)).tensor, x)


def test_conv_pool_loss_kernel_gradient_through_the_whole_cell():
    """The problem set's model, kernel -> conv -> max pool -> mse, by finite differences."""
    target = rng.standard_normal((1, 2, 2))

    def f(k):
        return mse_loss(target, MaxPooling((2, 2))(Convo2D(Values(k))(IMAGE.astype(float)))).tensor

    check_grad(f, rng.standard_normal((3, 3)))


def test_kernel_gradient_has_the_kernel_shape():
    layer = Convo2D(np.ones((3, 3)))
    layer(rng.standard_normal((4, 5, 5))).sum().backward()
    assert layer.params().grad.shape == (3, 3)


def test_deep_and_large_inputs_do_not_hit_the_recursion_limit():
    layers = [Convo2D(np.full((3, 3), 0.1), "same") for _ in range(4)] + [AvgPooling((2, 2))]
    x = Values(rng.standard_normal((2, 64, 64)), grads=False)
    for layer in layers:
        x = layer(x)
    x.sum().backward()
    assert all(np.isfinite(layer.params().grad).all() for layer in layers[:-1])


def test_errors_say_what_was_expected():
    with pytest.raises(
        ValueError, match="padding='valid' or padding='same'; received padding='full'"
    ):
        Convo2D(KERNEL, padding="full")
    with pytest.raises(
        ValueError, match=r"2-D kernel_matrix \(KH, KW\); received shape \(1, 3, 3\)"
    ):
        Convo2D(KERNEL[None])
    with pytest.raises(ValueError, match=r"one image \(H, W\) or a batch \(N, H, W\); received"):
        Convo2D(KERNEL)(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"MaxPooling\(pool_size=\(6, 6\)\) expected images"):
        MaxPooling((6, 6))(IMAGE)
    layer = Convo2D(KERNEL)
    layer.padding = "full"  # set after construction: still refused, never None
    with pytest.raises(ValueError, match="received padding='full'"):
        layer(IMAGE)
