"""conv_transpose2d, group/layer norm, GELU/SiLU, dropout2d and the new losses against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope
from convscope.nn import functional as F
from oracle import check_grad, torch_parity


def make(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# (input shape, weight shape, kwargs): stride, padding, output_padding, dilation, groups.
CONV_T_CASES = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 4), (4, 2, 3, 3), {"stride": (2, 3), "dilation": 2, "groups": 2,
                                  "padding": (1, 2), "output_padding": (1, 0)}),
    ((2, 3, 7, 7), (3, 2, 4, 4), {"stride": 2, "padding": 1}),  # the 2x decoder step
    ((1, 6, 3, 3), (6, 1, 1, 1), {"groups": 6}),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_T_CASES, ids=str)
def test_conv_transpose2d_matches_torch(x_shape, w_shape, kwargs, dtype):
    bias = make(w_shape[1] * kwargs.get("groups", 1), dtype=dtype, seed=2)
    out = torch_parity(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **kwargs),
        make(*x_shape, dtype=dtype), make(*w_shape, dtype=dtype, seed=1), bias,
    )  # fmt: skip
    assert out.dtype == dtype


def test_conv_transpose2d_gradcheck():
    kwargs = {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}
    check_grad(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs),
        make(1, 4, 3, 3), make(4, 2, 3, 3, seed=1), make(4, seed=2),
    )  # fmt: skip


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv2d(x), y> == <x, conv_transpose2d(y)>: the definition, by hand, no torch.
    x, w, y = make(2, 3, 9, 9), make(4, 3, 3, 3, seed=1), make(2, 4, 5, 5, seed=2)
    lhs = np.sum(F.conv2d(x, w, stride=2, padding=1).numpy() * y)
    rhs = np.sum(x * F.conv_transpose2d(y, w, stride=2, padding=1).numpy())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_conv_transpose2d_errors():
    with pytest.raises(ValueError, match="output_padding smaller than stride or dilation"):
        F.conv_transpose2d(make(1, 2, 3, 3), make(2, 2, 3, 3), output_padding=1)
    with pytest.raises(ValueError, match=r"expected input with 2 channels .* received input of"):
        F.conv_transpose2d(make(1, 3, 3, 3), make(2, 2, 3, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, groups", [((2, 6, 4, 5), 3), ((3, 4, 7), 1), ((2, 4, 3, 3), 4)])
def test_group_norm_matches_torch(shape, groups, dtype):
    c = shape[1]
    torch_parity(
        lambda x, w, b: F.group_norm(x, groups, w, b),
        lambda x, w, b: TF.group_norm(x, groups, w, b),
        make(*shape, dtype=dtype), make(c, dtype=dtype, seed=1), make(c, dtype=dtype, seed=2),
    )  # fmt: skip
    torch_parity(
        lambda x: F.group_norm(x, groups), lambda x: TF.group_norm(x, groups), make(*shape)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, normalized", [((3, 5), (5,)), ((2, 3, 4, 5), (3, 4, 5))])
def test_layer_norm_matches_torch(shape, normalized, dtype):
    torch_parity(
        lambda x, w, b: F.layer_norm(x, normalized, w, b),
        lambda x, w, b: TF.layer_norm(x, normalized, w, b),
        make(*shape, dtype=dtype), make(*normalized, dtype=dtype, seed=1),
        make(*normalized, dtype=dtype, seed=2),
    )  # fmt: skip


def test_norms_gradcheck():
    check_grad(lambda x, w, b: F.group_norm(x, 2, w, b), make(2, 4, 3, 2), make(4), make(4))
    check_grad(lambda x, w: F.layer_norm(x, (3, 2), w), make(2, 4, 3, 2), make(3, 2, seed=3))


def test_norm_errors():
    with pytest.raises(ValueError, match="num_groups to be a positive integer dividing the 6"):
        F.group_norm(make(1, 6, 2, 2), 4)
    with pytest.raises(ValueError, match=r"last 1 dimensions are normalized_shape=\(4,\)"):
        F.layer_norm(make(2, 5), 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (F.gelu, TF.gelu),
        (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
        (F.silu, TF.silu),
    ],
)
def test_smooth_activations_match_torch(ours, theirs, dtype):
    x = make(4, 7, dtype=dtype) * 3
    assert torch_parity(ours, theirs, x).dtype == dtype
    check_grad(ours, make(3, 4))


def test_dropout2d_zeroes_whole_channels_and_rescales():
    convscope.manual_seed(0)
    x = convscope.Tensor(np.ones((64, 8, 3, 3), dtype=np.float32), requires_grad=True)
    y = F.dropout2d(x, 0.25)
    maps = y.numpy().reshape(64 * 8, 9)
    assert set(np.unique(maps)) <= {0.0, np.float32(1 / 0.75)}
    assert np.all(maps.min(axis=1) == maps.max(axis=1))  # a channel is dropped whole
    assert 0.15 < np.mean(maps[:, 0] == 0) < 0.35
    y.backward(np.ones_like(y.numpy()))
    np.testing.assert_array_equal(x.grad, y.numpy())  # gradient through the same mask
    assert F.dropout2d(x, 0.5, training=False) is x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (F.l1_loss, TF.l1_loss),
        (F.smooth_l1_loss, TF.smooth_l1_loss),
        (lambda x, t, **k: F.smooth_l1_loss(x, t, beta=0.3, **k),
         lambda x, t, **k: TF.smooth_l1_loss(x, t, beta=0.3, **k)),
        (lambda x, t, **k: F.smooth_l1_loss(x, t, beta=0.0, **k),
         lambda x, t, **k: TF.smooth_l1_loss(x, t, beta=0.0, **k)),
        (F.huber_loss, TF.huber_loss),
        (lambda x, t, **k: F.huber_loss(x, t, delta=0.4, **k),
         lambda x, t, **k: TF.huber_loss(x, t, delta=0.4, **k)),
    ],
)  # fmt: skip
def test_regression_losses_match_torch(ours, theirs, reduction):
    x, t = make(4, 5) * 2, make(4, 5, seed=1)
    torch_parity(
        lambda a, b: ours(a, b, reduction=reduction),
        lambda a, b: theirs(a, b, reduction=reduction),
        x, t,
    )  # fmt: skip
    check_grad(lambda a: ours(a, convscope.Tensor(t), reduction=reduction), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(reduction, weighted):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, (6, 3))
    t = rng.uniform(0, 1, (6, 3))
    w = rng.uniform(0.5, 2, (3,)) if weighted else None
    torch_parity(
        lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(
            a, b, weight=None if w is None else torch.tensor(w), reduction=reduction
        ),
        p, t,
    )  # fmt: skip
    check_grad(lambda a: F.binary_cross_entropy(a, convscope.Tensor(t), reduction=reduction), p)


def test_binary_cross_entropy_clamps_logs_like_torch():
    p, t = np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])
    ours = F.binary_cross_entropy(p, t, reduction="none").numpy()
    np.testing.assert_array_equal(ours, [100.0, 100.0, 0.0])
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]; received values from"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
