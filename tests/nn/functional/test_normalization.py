"""batch_norm against PyTorch: outputs, gradients and the running-statistic update."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from convscope import Tensor, no_grad
from convscope.nn import functional as F
from oracle import check_grad, torch_parity

DTYPES = [np.float32, np.float64]
SHAPES = [(4, 3), (2, 3), (1, 3, 5), (4, 3, 5), (1, 3, 4, 4), (2, 3, 4, 5)]


def make_input(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    channel_shift = rng.uniform(-3, 3, (1, shape[1]) + (1,) * (len(shape) - 2))
    return (rng.standard_normal(shape) * 2 + channel_shift).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_training_matches_torch_including_running_stats(dtype, shape, affine, momentum):
    rng = np.random.default_rng(1)
    c = shape[1]
    ours_mean, ours_var = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    theirs_mean, theirs_var = torch.tensor(ours_mean), torch.tensor(ours_var)
    arrays = [make_input(shape, dtype)]
    if affine:
        arrays += [rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)]

    def ours(x, *wb):
        return F.batch_norm(x, ours_mean, ours_var, *wb, training=True, momentum=momentum)

    def theirs(x, *wb):
        return TF.batch_norm(x, theirs_mean, theirs_var, *wb, training=True, momentum=momentum)

    # float32: what PyTorch's own float32 kernel achieves against float64 (~5e-7), not the
    # oracle's default 1e-4, which hid a 7e-5 loss of precision.
    tol = 2e-6 if dtype == np.float32 else 1e-12
    out = torch_parity(ours, theirs, *arrays, atol=tol, rtol=tol)
    assert out.dtype == dtype
    atol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours_mean, theirs_mean.numpy(), atol=atol, rtol=atol)
    np.testing.assert_allclose(ours_var, theirs_var.numpy(), atol=atol, rtol=atol)
    assert ours_mean.dtype == dtype and ours_var.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_eval_matches_torch_and_leaves_running_stats(dtype, shape, affine):
    rng = np.random.default_rng(2)
    c = shape[1]
    mean, var = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    kept_mean, kept_var = mean.copy(), var.copy()
    arrays = [make_input(shape, dtype)]
    if affine:
        arrays += [rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)]
    tol = 2e-6 if dtype == np.float32 else 1e-12
    torch_parity(
        lambda x, *wb: F.batch_norm(x, mean, var, *wb, training=False),
        lambda x, *wb: TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), *wb, training=False),
        *arrays,
        atol=tol,
        rtol=tol,
    )
    np.testing.assert_array_equal(mean, kept_mean)
    np.testing.assert_array_equal(var, kept_var)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 2, 3, 3)])
def test_training_gradcheck(shape):
    rng = np.random.default_rng(3)
    c = shape[1]
    check_grad(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        make_input(shape, np.float64),
        rng.standard_normal(c),
        rng.standard_normal(c),
    )
    check_grad(lambda x: F.batch_norm(x, None, None, training=True), make_input(shape, np.float64))


def test_eval_gradcheck():
    rng = np.random.default_rng(4)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    check_grad(
        lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
        make_input((2, 3, 3, 3), np.float64),
        rng.standard_normal(3),
        rng.standard_normal(3),
    )


def test_statistics_are_per_channel_not_per_activation():
    x = make_input((8, 2, 3, 3), np.float64)
    y = F.batch_norm(Tensor(x), None, None, training=True, eps=0.0).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-12)
    # Per-activation normalisation would zero every position's batch mean; ours does not.
    assert np.abs(y.mean(axis=0)).max() > 0.1


def test_running_var_uses_unbiased_variance():
    x = np.array([[1.0], [3.0]])  # batch variance: biased 1, unbiased 2
    mean, var = np.zeros(1), np.ones(1)
    y = F.batch_norm(Tensor(x), mean, var, training=True, momentum=1.0, eps=0.0)
    np.testing.assert_allclose(mean, [2.0])
    np.testing.assert_allclose(var, [2.0])
    np.testing.assert_allclose(y.data, [[-1.0], [1.0]])  # normalised by the biased one


def test_running_stats_updated_in_place_and_tensor_buffers_accepted():
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    mean_id = id(mean)
    F.batch_norm(Tensor(make_input((4, 3), np.float32)), mean, var, training=True)
    assert id(mean) == mean_id and np.any(mean != 0)
    buffer = Tensor(np.zeros(3, np.float32))
    F.batch_norm(Tensor(make_input((4, 3), np.float32)), buffer, None, training=True)
    assert np.any(buffer.data != 0)


def test_backward_does_not_mutate_upstream():
    x = Tensor(make_input((4, 3, 2), np.float64), requires_grad=True)
    upstream = np.random.default_rng(0).standard_normal(x.shape)
    kept = upstream.copy()
    F.batch_norm(x, None, None, Tensor(np.ones(3)), None, training=True).backward(upstream)
    np.testing.assert_array_equal(upstream, kept)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_single_value_per_channel_in_training(shape):
    with pytest.raises(ValueError) as info:
        F.batch_norm(Tensor(np.zeros(shape)), None, None, training=True)
    assert str(info.value) == (
        f"Expected more than 1 value per channel when training; received input of shape {shape} "
        "(1 value per channel). Use a batch size above 1, or call model.eval() to use the "
        "running statistics."
    )
    # Evaluation mode is fine with a single sample.
    F.batch_norm(Tensor(np.zeros(shape)), np.zeros(3), np.ones(3), training=False)


def test_eval_without_running_stats():
    with pytest.raises(ValueError) as info:
        F.batch_norm(Tensor(np.zeros((2, 3))), None, None, training=False)
    assert str(info.value) == (
        "batch_norm in evaluation mode (training=False) needs running_mean and running_var; "
        "received None. Pass them, or use training=True."
    )


def test_parameter_shape_errors():
    x = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError) as info:
        F.batch_norm(x, None, None, Tensor(np.ones(4)), training=True)
    assert str(info.value) == (
        "batch_norm expected weight of shape (3,) (one value per channel); received (4,)."
    )
    with pytest.raises(ValueError) as info:
        F.batch_norm(x, np.zeros(2), np.ones(3), training=True)
    assert str(info.value) == (
        "batch_norm expected running_mean of shape (3,) (one value per channel); received (2,)."
    )
    with pytest.raises(ValueError) as info:
        F.batch_norm(Tensor(np.zeros(3)), None, None, training=True)
    assert str(info.value) == (
        "batch_norm expected input of shape (N, C), (N, C, L) or (N, C, H, W); received (3,)."
    )
    with pytest.raises(TypeError) as info:
        F.batch_norm(x, None, None, Tensor(np.ones(3, np.float32)), training=True)
    assert str(info.value) == (
        "batch_norm expected weight of dtype float64 (the input's); received float32."
    )
    with pytest.raises(TypeError, match="running_var to be a floating-point NumPy array"):
        F.batch_norm(x, np.zeros(3), [1.0, 1.0, 1.0], training=True)


# --------------------------------------------------------------------------- precision


def _conv_output(batch, channels, shift, seed=0):
    """A float32 batch as conv2d hands it over: an NCHW view of channels-last memory."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((channels, 3, 3, 3)) / 5).astype(np.float32)
    with no_grad():
        y = F.conv2d(Tensor(x), Tensor(w), padding=1).data
    if shift:  # keep the channels-last layout after adding the offset
        y = np.ascontiguousarray((y + np.float32(shift)).transpose(0, 2, 3, 1)).transpose(
            0, 3, 1, 2
        )
    assert not y.flags.c_contiguous and y.strides[1] == 4  # channels innermost in memory
    return y


@pytest.mark.parametrize("shift", [0.0, 50.0])
def test_float32_training_on_channels_last_conv_output_is_as_exact_as_float64_torch(shift):
    # The truth is PyTorch in float64 on the same float32 values. PyTorch's own float32
    # BatchNorm reaches 4.6e-7 (mean 0) and 7.1e-6 (mean 50) on such data; float32 sums
    # over (N, H, W) of the strided view gave 2.8e-6 and 3.9e-5 here before.
    y = _conv_output(32, 8, shift)
    rng = np.random.default_rng(1)
    gamma, beta = (
        rng.uniform(0.5, 2, 8).astype(np.float32),
        rng.standard_normal(8).astype(np.float32),
    )
    upstream = rng.standard_normal(y.shape).astype(np.float32)
    truth = [torch.tensor(v.astype(np.float64), requires_grad=True) for v in (y, gamma, beta)]
    expected = TF.batch_norm(truth[0], None, None, truth[1], truth[2], training=True)
    expected.backward(torch.tensor(upstream.astype(np.float64)))
    ours = [Tensor(v, requires_grad=True) for v in (y, gamma, beta)]
    running_mean, running_var = np.zeros(8, np.float32), np.ones(8, np.float32)
    out = F.batch_norm(ours[0], running_mean, running_var, ours[1], ours[2], training=True)
    out.backward(upstream)

    def relative_error(mine, theirs):
        theirs = theirs.detach().numpy()
        return np.abs(mine - theirs).max() / np.abs(theirs).max()

    assert out.dtype == np.float32
    assert relative_error(out.data, expected) <= 1e-6
    for mine, theirs in zip(ours, truth, strict=True):
        assert mine.grad.dtype == np.float32
        assert relative_error(mine.grad, theirs.grad) <= 1e-6
    torch_mean, torch_var = torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    TF.batch_norm(truth[0].detach(), torch_mean, torch_var, training=True)
    np.testing.assert_allclose(running_mean, torch_mean.numpy(), rtol=2e-7, atol=1e-7)
    np.testing.assert_allclose(running_var, torch_var.numpy(), rtol=2e-7, atol=1e-7)


# --------------------------------------------------------------------------- defaults and names


def test_defaults_are_torchs_evaluation_mode_and_momentum():
    rng = np.random.default_rng(5)
    x = make_input((6, 3, 2), np.float64)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    ours = F.batch_norm(Tensor(x), mean.copy(), var.copy())  # training=False by default
    theirs = TF.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    ours_mean, theirs_mean = mean.copy(), torch.tensor(mean)
    F.batch_norm(Tensor(x), ours_mean, var.copy(), training=True)  # momentum 0.1
    TF.batch_norm(torch.tensor(x), theirs_mean, torch.tensor(var), training=True)
    np.testing.assert_allclose(ours_mean, theirs_mean.numpy(), rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_bias_without_weight_matches_torch(training):
    rng = np.random.default_rng(6)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    torch_parity(
        lambda x, b: F.batch_norm(x, mean.copy(), var.copy(), None, b, training=training),
        lambda x, b: TF.batch_norm(
            x, torch.tensor(mean), torch.tensor(var), None, b, training=training
        ),
        make_input((4, 3, 2), np.float64),
        rng.standard_normal(3),
    )


def test_dtype_errors_name_the_op_and_the_argument():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError) as info:
        F.batch_norm(Tensor(np.zeros((2, 3), np.int64)), None, None, training=True)
    assert str(info.value) == (
        "batch_norm expected a floating-point input; received dtype int64. "
        "Convert it first, e.g. x.float()."
    )
    with pytest.raises(TypeError, match=r"^batch_norm expected a floating-point bias; received"):
        F.batch_norm(x, None, None, None, Tensor(np.zeros(3, np.int64)), training=True)
    with pytest.raises(TypeError) as info:
        F.batch_norm(x, np.zeros(3), [1.0, 1.0, 1.0], training=True)
    assert str(info.value).endswith("or None; received list.")
    with pytest.raises(TypeError) as info:
        F.batch_norm(x, np.zeros(3, np.int64), None, training=True)
    assert str(info.value).endswith("or None; received ndarray of dtype int64.")


@pytest.mark.parametrize("missing", ["running_mean", "running_var"])
def test_eval_needs_both_running_statistics(missing):
    stats = {"running_mean": np.zeros(3), "running_var": np.ones(3)}
    stats[missing] = None
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        F.batch_norm(Tensor(np.zeros((2, 3))), stats["running_mean"], stats["running_var"])


def test_names_itself_in_the_graph():
    out = F.batch_norm(Tensor(np.ones((2, 3)), requires_grad=True), None, None, training=True)
    assert out.grad_fn == "batch_norm"
