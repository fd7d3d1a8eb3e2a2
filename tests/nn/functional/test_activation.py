"""Activations against PyTorch and finite differences."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from convscope import Tensor
from convscope.nn import functional as F
from oracle import check_grad, torch_parity

SHAPES = [(1, 5), (4, 7), (2, 3, 4, 5), (1, 1, 3, 3), (6,)]
DTYPES = [np.float32, np.float64]

# (ours, theirs) for every elementwise activation, including non-default arguments.
ELEMENTWISE = {
    "relu": (F.relu, torch.relu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu_0.2": (
        lambda x: F.leaky_relu(x, negative_slope=0.2),
        lambda x: TF.leaky_relu(x, negative_slope=0.2),
    ),
    "elu": (F.elu, TF.elu),
    "elu_alpha_0.5": (lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    "tanh": (F.tanh, torch.tanh),
    "sigmoid": (F.sigmoid, torch.sigmoid),
}


def away_from_zero(shape, seed=0, dtype=np.float64):
    """Random values with |x| in [0.1, 2]: finite differences never straddle a kink."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.1, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_matches_torch(name, shape, dtype):
    ours, theirs = ELEMENTWISE[name]
    out = torch_parity(ours, theirs, away_from_zero(shape, dtype=dtype))
    assert out.dtype == dtype


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gradcheck(name):
    ours, _ = ELEMENTWISE[name]
    check_grad(ours, away_from_zero((3, 4), seed=1))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_matches_torch_on_every_dim(fn, shape, dtype):
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype) * 3
    for dim in range(-len(shape), len(shape)):
        torch_parity(
            lambda t, d=dim: getattr(F, fn)(t, dim=d),
            lambda t, d=dim: getattr(torch, fn)(t, dim=d),
            x,
        )


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_gradcheck(fn, dim):
    x = np.random.default_rng(3).standard_normal((3, 4))
    check_grad(lambda t: getattr(F, fn)(t, dim=dim), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_extreme_logits_are_finite_and_exact(fn, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch_parity(
            lambda t: getattr(F, fn)(t, dim=1), lambda t: getattr(torch, fn)(t, dim=1), x
        )
    assert np.all(np.isfinite(out.data))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_large_inputs_no_overflow_warning(dtype):
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch_parity(F.sigmoid, torch.sigmoid, x)
        elu_out = torch_parity(F.elu, TF.elu, x)
    assert out.data[0] == 0 and out.data[-1] == 1 and out.data[3] == 0.5
    assert np.all(np.isfinite(elu_out.data))


def test_relu_and_leaky_relu_gradient_at_zero():
    x = Tensor(np.zeros(3), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    x = Tensor(np.zeros(3), requires_grad=True)
    F.leaky_relu(x, 0.3).sum().backward()
    np.testing.assert_allclose(x.grad, [0.3, 0.3, 0.3])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_does_not_mutate_upstream_gradient(name):
    ours, _ = ELEMENTWISE[name]
    x = Tensor(away_from_zero((2, 3)), requires_grad=True)
    upstream = np.random.default_rng(4).standard_normal((2, 3))
    kept = upstream.copy()
    ours(x).backward(upstream)
    np.testing.assert_array_equal(upstream, kept)


def test_nan_propagates_like_torch():
    x = np.array([np.nan, -1.0, 1.0])
    for ours, theirs in ELEMENTWISE.values():
        torch_parity(ours, theirs, x, grad=False)


def test_zero_dim_softmax():
    x = Tensor(np.array(3.0), requires_grad=True)
    y = F.softmax(x, dim=0)
    assert y.shape == () and y.item() == 1.0
    y.backward()
    assert x.grad == 0.0
    assert F.log_softmax(Tensor(np.array(3.0)), dim=-1).item() == 0.0


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    x=arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=4, max_side=5),
        elements=st.floats(-30, 30),
    ),
    data=st.data(),
)
def test_softmax_properties(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    s = F.softmax(Tensor(x), dim=dim).data
    np.testing.assert_allclose(s.sum(axis=dim), 1.0, rtol=1e-12)
    assert np.all(s >= 0)
    log_s = F.log_softmax(Tensor(x), dim=dim).data
    np.testing.assert_allclose(log_s, np.log(s), rtol=1e-10, atol=1e-12)
    # Invariant to a constant shift along dim.
    shifted = F.softmax(Tensor(x + 7.5), dim=dim).data
    np.testing.assert_allclose(shifted, s, rtol=1e-10, atol=1e-15)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_dim_out_of_range_message(fn):
    with pytest.raises(ValueError) as info:
        getattr(F, fn)(Tensor(np.zeros((2, 3))), dim=2)
    assert str(info.value) == (f"{fn} expected dim in [-2, 1] for a 2-D input; received dim=2.")


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh", "sigmoid"])
def test_integer_input_message(name):
    with pytest.raises(TypeError) as info:
        getattr(F, name)(Tensor(np.array([1, 2])))
    assert str(info.value) == (
        f"{name} expected a floating-point input; received dtype int64. "
        "Convert it first, e.g. x.float()."
    )


def test_accepts_arrays_and_keeps_float32():
    out = F.relu(np.array([-1.0, 1.0], dtype=np.float32))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    assert F.softmax(np.ones((2, 2), dtype=np.float32), dim=1).dtype == np.float32
