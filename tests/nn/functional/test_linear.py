"""linear, dropout and flatten."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope
from convscope import Tensor
from convscope.nn import functional as F
from oracle import check_grad, torch_parity

DTYPES = [np.float32, np.float64]


# --------------------------------------------------------------------------- linear


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("input_shape", [(1, 5), (4, 5), (2, 3, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(dtype, input_shape, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(input_shape), rng.standard_normal((3, 5))]
    if bias:
        arrays.append(rng.standard_normal(3))
    out = torch_parity(F.linear, TF.linear, *(a.astype(dtype) for a in arrays))
    assert out.shape == input_shape[:-1] + (3,)
    assert out.dtype == dtype


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))]
    if bias:
        arrays.append(rng.standard_normal(5))
    check_grad(F.linear, *arrays)


def test_linear_skips_gradients_not_needed():
    x = Tensor(np.ones((2, 3)))
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, np.full((4, 3), 2.0))


def test_linear_wrong_in_features_message():
    with pytest.raises(ValueError) as info:
        F.linear(Tensor(np.zeros((8, 100))), Tensor(np.zeros((10, 784))))
    assert str(info.value) == (
        "linear expected input with last dimension 784 (weight has shape (10, 784)); "
        "received input of shape (8, 100)."
    )


def test_linear_other_shape_and_dtype_errors():
    x = Tensor(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"weight of shape \(out_features, in_features\); "):
        F.linear(x, Tensor(np.zeros(3, dtype=np.float32)))
    with pytest.raises(ValueError) as info:
        F.linear(x, Tensor(np.zeros((4, 3), dtype=np.float32)), Tensor(np.zeros(3, np.float32)))
    assert str(info.value) == "linear expected bias of shape (4,); received (3,)."
    with pytest.raises(TypeError) as info:
        F.linear(x, Tensor(np.zeros((4, 3))))
    assert str(info.value) == (
        "linear expected input and weight of the same dtype; received input float32 and "
        "weight float64. Convert the input, e.g. x.float() for float32 layers."
    )
    with pytest.raises(TypeError, match="linear expected a floating-point input; received dtype"):
        F.linear(Tensor(np.zeros((2, 3), dtype=np.int64)), Tensor(np.zeros((4, 3))))


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(dtype, p):
    convscope.manual_seed(0)
    x = Tensor(np.ones((200, 1000), dtype=dtype))
    y = F.dropout(x, p=p)
    assert y.dtype == dtype
    dropped = np.mean(y.data == 0)
    assert abs(dropped - p) < 0.01  # 200k Bernoulli draws: std ≤ 0.0012
    assert abs(y.data.mean() - 1.0) < 0.03  # inverted dropout preserves the mean
    kept = y.data[y.data != 0]
    np.testing.assert_array_equal(kept, np.full(kept.shape, dtype(1 / (1 - p)), dtype=dtype))


def test_dropout_backward_reuses_the_forward_mask():
    convscope.manual_seed(1)
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (50, 40)), requires_grad=True)
    y = F.dropout(x, p=0.4)
    upstream = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(upstream)
    mask = y.data / x.data  # 0 or 1/(1-p), elementwise
    np.testing.assert_allclose(x.grad, upstream * mask, rtol=1e-12)
    assert np.any(mask == 0) and np.any(mask > 0)


def test_dropout_draws_from_convscope_generator():
    convscope.manual_seed(7)
    expected = convscope.generator().random((6, 5), dtype=np.float32) >= 0.3
    convscope.manual_seed(7)
    y = F.dropout(Tensor(np.ones((6, 5), dtype=np.float32)), p=0.3)
    np.testing.assert_array_equal(y.data != 0, expected)


def test_dropout_seeded_reproducibility():
    x = Tensor(np.ones((30, 30), dtype=np.float32))
    convscope.manual_seed(3)
    first = F.dropout(x, 0.5).data
    second = F.dropout(x, 0.5).data
    convscope.manual_seed(3)
    again = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # the generator moves on between calls


def test_dropout_eval_mode_and_p_zero_are_identity():
    x = Tensor(np.ones((4, 4), dtype=np.float32), requires_grad=True)
    state = convscope.get_rng_state()
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert convscope.get_rng_state() == state  # no random draw spent


def test_dropout_p_one_gives_zeros_and_zero_gradient():
    x = Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, p=1.0)
    np.testing.assert_array_equal(y.data, np.zeros((3, 4), np.float32))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4), np.float32))


def test_dropout_gradcheck_with_fixed_mask():
    def fn(t):
        convscope.manual_seed(5)  # the same mask on every call gradcheck makes
        return F.dropout(t, p=0.5)

    check_grad(fn, np.random.default_rng(2).standard_normal((4, 5)))


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None])
def test_dropout_probability_validated(p):
    with pytest.raises(ValueError) as info:
        F.dropout(Tensor(np.ones(3)), p=p)
    assert str(info.value) == f"dropout expected a probability p in [0, 1]; received p={p!r}."


# --------------------------------------------------------------------------- flatten


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape,start,end",
    [
        ((2, 3, 4, 5), 1, -1),
        ((1, 3, 4, 5), 0, -1),
        ((2, 3, 4, 5), 1, 2),
        ((2, 3), 1, 1),
        ((5,), 0, 0),
    ],
)
def test_flatten_matches_torch(dtype, shape, start, end):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    torch_parity(lambda t: F.flatten(t, start, end), lambda t: torch.flatten(t, start, end), x)


def test_flatten_default_keeps_batch_dim():
    assert F.flatten(Tensor(np.zeros((8, 32, 7, 7), np.float32))).shape == (8, 1568)
    assert F.flatten(Tensor(np.zeros((8, 0, 7), np.float32))).shape == (8, 0)


def test_flatten_errors():
    x = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError) as info:
        F.flatten(x, start_dim=3)
    assert str(info.value) == (
        "flatten expected start_dim in [-3, 2] for a 3-D input of shape (2, 3, 4); "
        "received start_dim=3."
    )
    with pytest.raises(ValueError) as info:
        F.flatten(x, start_dim=2, end_dim=1)
    assert str(info.value) == (
        "flatten expected start_dim <= end_dim; received start_dim=2 (dimension 2) and "
        "end_dim=1 (dimension 1)."
    )


def test_flatten_of_a_channels_last_map_is_row_major_and_returns_its_layout():
    x_nhwc = np.random.default_rng(0).standard_normal((2, 3, 4, 5))  # (N, H, W, C)
    x = convscope.Tensor(x_nhwc.transpose(0, 3, 1, 2), requires_grad=True)  # (N, C, H, W) view
    y = F.flatten(x)
    np.testing.assert_array_equal(y.numpy(), np.ascontiguousarray(x.data).reshape(2, -1))
    g = np.arange(2 * 60, dtype=np.float64).reshape(2, 60)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, g.reshape(2, 5, 3, 4))
    assert x.grad.transpose(0, 2, 3, 1).flags.c_contiguous  # the input's layout


def test_dropout_draws_from_the_thread_generator_inside_thread_generator():
    from convscope.nn.functional.linear import thread_generator

    x = np.ones(1000, dtype=np.float32)
    with thread_generator(np.random.default_rng(3)):
        a = F.dropout(x, 0.5).numpy()
    with thread_generator(np.random.default_rng(3)):
        b = F.dropout(x, 0.5).numpy()
    expected = (np.random.default_rng(3).random(1000, dtype=np.float32) >= 0.5) * 2.0
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, expected)
