"""F.* edges (mutation survivors of nn/functional/): PyTorch's defaults (dropout's p, the
regression losses' reduction), flatten at start_dim=-rank, max pooling of -inf windows
next to bottom/right padding, the op names that grad_fn and the in-place error report,
and error messages naming the function and the argument."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.nn import functional as F
from convscope.random import manual_seed

RNG = np.random.default_rng(0)
XF = RNG.standard_normal((2, 3)).astype(np.float32)
YF = RNG.standard_normal((2, 3)).astype(np.float32)
INTS = Tensor(np.arange(6).reshape(2, 3))
HALF = Tensor(np.full((2, 3), 0.5, np.float32))


def test_dropout_default_p_is_torchs_half():
    manual_seed(0)
    out = F.dropout(Tensor(np.ones((200, 50), np.float32))).data
    assert set(np.unique(out)) <= {0.0, 2.0}  # kept values scaled by 1 / (1 - 0.5)
    assert abs((out == 0).mean() - 0.5) < 0.02  # 10 000 draws: 4 standard deviations


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss"])
def test_regression_losses_default_to_the_mean_like_torch(name):
    got = getattr(F, name)(Tensor(XF), Tensor(YF)).data
    expected = getattr(torch.nn.functional, name)(torch.tensor(XF), torch.tensor(YF)).numpy()
    assert got.shape == expected.shape == ()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_flatten_from_minus_rank_like_torch():
    x = RNG.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(
        F.flatten(Tensor(x), -3).data, torch.flatten(torch.tensor(x), -3).numpy()
    )


@pytest.mark.parametrize("padding", [1, (1, 0), (0, 1)])
def test_max_pool_of_minus_inf_windows_beside_padding_like_torch(padding):
    x = np.full((1, 1, 3, 3), -np.inf)
    x[0, 0, 0, 0] = 1.0  # one finite pixel; the windows at the bottom/right are all -inf
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(t, 2, stride=2, padding=padding)
    tout = torch.nn.functional.max_pool2d(tt, 2, stride=2, padding=padding)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_op_names():
    x = Tensor(XF, requires_grad=True)
    w = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    image = Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)
    labels = np.array([0, 2])
    assert F.gelu(x).grad_fn == "gelu"
    assert F.linear(x, w).grad_fn == "linear"
    channels_last = Tensor(np.ones((1, 4, 4, 2), np.float32), requires_grad=True)
    assert F.flatten(channels_last.transpose(0, 3, 1, 2)).grad_fn == "flatten"  # not a view
    assert F.cross_entropy(x, labels).grad_fn == "cross_entropy"
    assert F.nll_loss(F.log_softmax(x, dim=1), labels).grad_fn == "nll_loss"
    assert F.avg_pool2d(image, 2).grad_fn == "avg_pool2d"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.softmax(INTS, dim=1), "softmax expected a floating-point input;"),
        (lambda: F.log_softmax(INTS, dim=1), "log_softmax expected a floating-point input;"),
        (lambda: F.gelu(INTS), "gelu expected a floating-point input;"),
        (lambda: F.silu(INTS), "silu expected a floating-point input;"),
        (lambda: F.linear(Tensor(XF), INTS), "linear expected a floating-point weight;"),
        (
            lambda: F.linear(Tensor(XF), Tensor(np.ones((2, 3), np.float32)), np.arange(2)),
            "linear expected a floating-point bias;",
        ),
        (
            lambda: F.nll_loss(INTS, np.array([0, 1])),
            "nll_loss expected a floating-point input (log-probabilities);",
        ),
    ],
)
def test_type_errors_name_the_function_and_argument(call, message):
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: F.binary_cross_entropy_with_logits(Tensor(XF), Tensor(YF), weight=np.ones(5)),
            "binary_cross_entropy_with_logits expected weight broadcastable",
        ),
        (
            lambda: F.binary_cross_entropy(
                Tensor(np.full((2, 3), 0.5, np.float32)), Tensor(YF), weight=np.ones(5)
            ),
            "binary_cross_entropy expected weight broadcastable",
        ),
        (
            lambda: F.smooth_l1_loss(Tensor(XF), Tensor(YF), beta=-1.0),
            "smooth_l1_loss expected beta to be a non-negative number; received beta=-1.0.",
        ),
        (
            lambda: F.huber_loss(Tensor(XF), Tensor(YF), delta=0.0),
            "huber_loss expected delta to be a positive number; received delta=0.0.",
        ),
    ],
)
def test_value_errors_name_the_function_and_argument(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_zero_d_input_to_a_classification_loss_names_the_loss(name):
    with pytest.raises(ValueError) as info:
        getattr(F, name)(Tensor(np.float32(1.0)), np.array(0))
    assert str(info.value) == (
        f"{name} expected input of shape (N, C), (N, C, d1, ...) or (C,); received a 0-d tensor."
    )


def test_pad_fills_with_zero_by_default_like_torch():
    x = RNG.standard_normal((1, 1, 2, 2))
    np.testing.assert_array_equal(
        F.pad(Tensor(x), (1, 1, 1, 1)).data,
        torch.nn.functional.pad(torch.tensor(x), (1, 1, 1, 1)).numpy(),
    )
    assert F.pad(Tensor(x, requires_grad=True), (1, 1, 1, 1)).grad_fn == "pad"


def test_conv2d_op_name():
    x = Tensor(np.ones((1, 1, 3, 3), np.float32), requires_grad=True)
    assert F.conv2d(x, Tensor(np.ones((1, 1, 2, 2), np.float32))).grad_fn == "conv2d"


def test_group_norm_of_n_by_c_input_like_torch():
    x = RNG.standard_normal((3, 4))
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = F.group_norm(t, 2), torch.nn.functional.group_norm(tt, 2)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-7, atol=1e-10)
    g = RNG.standard_normal((3, 4))
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("num_groups", [0, -1, -4, True])
def test_group_norm_rejects_non_positive_group_counts(num_groups):
    with pytest.raises(ValueError) as info:
        F.group_norm(Tensor(np.ones((2, 4, 3), np.float32)), num_groups)
    assert str(info.value) == (
        "group_norm expected num_groups to be a positive integer dividing the 4 channels; "
        f"received num_groups={num_groups}."
    )


def test_group_norm_parameter_errors_name_the_parameter():
    x = Tensor(np.ones((2, 4, 3), np.float32))
    with pytest.raises(ValueError) as info:
        F.group_norm(x, 2, weight=np.ones(3, np.float32))
    assert str(info.value) == "group_norm expected weight of shape (4,); received (3,)."
    with pytest.raises(TypeError) as info:
        F.group_norm(x, 2, bias=np.ones(4, np.int64))
    assert str(info.value).startswith("group_norm expected a floating-point bias; received dtype")


def test_more_op_names():
    x = Tensor(XF, requires_grad=True)
    names = {
        "leaky_relu": F.leaky_relu(x),
        "elu": F.elu(x),
        "tanh": F.tanh(x),
        "sigmoid": F.sigmoid(x),
        "softmax": F.softmax(x, dim=1),
        "log_softmax": F.log_softmax(x, dim=1),
        "silu": F.silu(x),
        "mse_loss": F.mse_loss(x, Tensor(YF)),
        "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits(
            x, Tensor(np.abs(YF) / 3)
        ),
    }
    assert {name: t.grad_fn for name, t in names.items()} == {name: name for name in names}


def test_elu_gradient_at_zero_is_alpha_like_torch():
    x = np.array([0.0, -1.0, 2.0])
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.elu(t, 0.5).sum().backward()
    torch.nn.functional.elu(tt, 0.5).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_zero_d_tensor_like_torch(name):
    t, tt = (
        Tensor(np.array(1.5), requires_grad=True),
        torch.tensor(1.5, dtype=torch.float64, requires_grad=True),
    )
    out, tout = getattr(F, name)(t, 0), getattr(torch, name)(tt, 0)
    assert out.shape == tuple(tout.shape) == ()
    np.testing.assert_allclose(out.data, tout.detach().numpy())
    (out * 3).backward()
    (tout * 3).backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), atol=1e-12)


def test_nll_loss_with_one_class_and_ignored_samples_like_torch():
    x = np.array([[-0.5], [-2.0], [-1.0]])
    y = np.array([0, -100, 0])
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for reduction in ("mean", "none"):
        out = F.nll_loss(t, y, reduction=reduction)
        tout = torch.nn.functional.nll_loss(tt, torch.tensor(y), reduction=reduction)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (lambda: F.softmax(Tensor(np.ones(3)), True), ValueError,
         "softmax expected dim in [-1, 0] for a 1-D input; received dim=True."),
        (lambda: F.mse_loss(Tensor(XF), np.array([[1, 2, 3], [4, 5, 6]])), TypeError,
         "mse_loss expected a floating-point target; received dtype int64. Convert it first, "
         "e.g. target.astype(np.float32)."),
        (lambda: F.mse_loss(INTS, Tensor(YF)), TypeError,
         "mse_loss expected a floating-point input;"),
        (lambda: F.l1_loss(INTS, Tensor(YF)), TypeError,
         "l1_loss expected a floating-point input;"),
        (lambda: F.binary_cross_entropy(INTS, Tensor(YF)), TypeError,
         "binary_cross_entropy expected a floating-point input;"),
        (lambda: F.binary_cross_entropy_with_logits(INTS, Tensor(YF)), TypeError,
         "binary_cross_entropy_with_logits expected a floating-point input;"),
        (lambda: F.smooth_l1_loss(Tensor(XF), Tensor(YF), beta="a"), ValueError,
         "smooth_l1_loss expected beta to be a non-negative number; received beta='a'."),
        (lambda: F.smooth_l1_loss(Tensor(XF), Tensor(YF), beta=True), ValueError,
         "smooth_l1_loss expected beta to be a non-negative number; received beta=True."),
        (lambda: F.huber_loss(Tensor(XF), Tensor(YF), delta=-1.0), ValueError,
         "huber_loss expected delta to be a positive number; received delta=-1.0."),
        (lambda: F.gelu(Tensor(XF), approximate="x"), ValueError,
         "gelu expected approximate to be 'none' or 'tanh'; received approximate='x'."),
        (lambda: F.l1_loss(Tensor(XF), Tensor(YF), reduction="x"), ValueError,
         "l1_loss expected reduction to be one of 'mean', 'sum', 'none'; received 'x'."),
        (lambda: F.binary_cross_entropy(HALF, Tensor(YF), reduction="x"), ValueError,
         "binary_cross_entropy expected reduction to be one of"),
        (lambda: F.binary_cross_entropy(HALF, np.ones((2, 3), np.int64)), TypeError,
         "binary_cross_entropy expected a floating-point target;"),
        (lambda: F.huber_loss(Tensor(XF), np.ones((2, 3), np.int64)), TypeError,
         "huber_loss expected a floating-point target;"),
    ],
)  # fmt: skip
def test_more_errors_name_the_function_and_argument(call, kind, message):
    with pytest.raises(kind) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)
