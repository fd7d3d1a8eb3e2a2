"""Tests of the Tensor and its backward engine (convscope.tensor).

Every differentiable op is compared with PyTorch in float32 and float64 (forward and
input gradients, ``torch_parity``) and with central differences (``check_grad``).
The engine tests check the contract of :meth:`Tensor.backward`: accumulation, graph
freeing, deep graphs, ``no_grad``, dtype rules and error messages.
"""

from __future__ import annotations

import gc
import importlib
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convscope as cs
from convscope import Tensor
from oracle import check_grad, torch_parity

T = importlib.import_module("convscope.tensor")

FLOATS = [np.float32, np.float64]


def rand(*shape, dtype=np.float64, seed=0, low=None):
    """Seeded standard-normal array (or uniform in [low, low + 1] when ``low`` is given)."""
    rng = np.random.default_rng(seed)
    if low is not None:
        return (low + rng.random(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def torch_dtype(np_dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(1, dtype=np_dtype)).dtype


def as_np_dtype(t_dtype: torch.dtype) -> np.dtype:
    return torch.zeros(1, dtype=t_dtype).numpy().dtype


# --------------------------------------------------------------------------- creation and dtypes


def test_numpy_arrays_keep_their_dtype_and_memory():
    a = np.arange(3.0)  # float64
    t = Tensor(a)
    assert t.dtype == np.float64
    assert np.shares_memory(t.data, a)
    assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert Tensor(np.float64(2.0)).dtype == np.float64


@pytest.mark.parametrize(
    "value, dtype",
    [
        (1.5, np.float32),
        (2, np.float32),
        ([1, 2, 3], np.float32),
        ([[1.0, 2.0]], np.float32),
        (True, np.bool_),
        ([True, False], np.bool_),
    ],
)
def test_python_scalars_and_lists_become_float32(value, dtype):
    t = Tensor(value)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(value))


def test_dtype_argument_overrides():
    assert Tensor([1, 2], dtype=np.int64).dtype == np.int64
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    assert Tensor(1.0, dtype=np.float64).dtype == np.float64
    assert T.tensor([1.0], dtype=np.float16).dtype == np.float16


@pytest.mark.parametrize("data", [np.arange(3), np.array([True, False]), [1, 2]])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    dtype = None if isinstance(data, np.ndarray) else np.int64
    with pytest.raises(TypeError, match="Only floating-point tensors can require gradients"):
        Tensor(data, requires_grad=True, dtype=dtype)


@pytest.mark.parametrize("data", [["a", "b"], np.array([object()]), {"x": 1}])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="Tensor expected numbers"):
        Tensor(data)


def test_zeros_and_ones_accept_int_args_or_a_tuple():
    assert cs.zeros(2, 3).shape == (2, 3)
    assert cs.zeros((2, 3)).shape == (2, 3)
    assert cs.ones([4]).shape == (4,)
    assert cs.zeros(2).dtype == np.float32
    assert cs.ones(2, dtype=np.float64, requires_grad=True).requires_grad
    np.testing.assert_array_equal(cs.ones(2, 2).data, np.ones((2, 2)))


def test_as_tensor_returns_tensors_unchanged():
    t = Tensor([1.0])
    assert cs.as_tensor(t) is t
    assert isinstance(cs.as_tensor(np.ones(2)), Tensor)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "op",
    [
        lambda x, s: x + s,
        lambda x, s: s + x,
        lambda x, s: x - s,
        lambda x, s: s - x,
        lambda x, s: x * s,
        lambda x, s: s * x,
        lambda x, s: x / s,
        lambda x, s: s / x,
        lambda x, s: x**s,
    ],
)
@pytest.mark.parametrize("scalar", [2, 2.5, np.float64(2.5), True])
def test_python_scalars_never_upcast_a_float_tensor(op, scalar, dtype):
    x = Tensor(np.array([1.0, 2.0], dtype=dtype))
    assert op(x, scalar).dtype == dtype


DTYPE_CASES = [np.bool_, np.int32, np.int64, np.float32, np.float64]


@pytest.mark.parametrize("da", DTYPE_CASES)
@pytest.mark.parametrize("db", DTYPE_CASES)
@pytest.mark.parametrize("b_ndim", [0, 1])
def test_type_promotion_matches_torch(da, db, b_ndim):
    a = np.ones(3, dtype=da)
    b = np.ones((3,) * b_ndim, dtype=db)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    for ours, theirs in [
        (Tensor(a) + Tensor(b), ta + tb),
        (Tensor(a) * Tensor(b), ta * tb),
        (Tensor(b) * Tensor(a), tb * ta),
        (Tensor(a) / Tensor(b), ta / tb),
    ]:
        assert ours.dtype == as_np_dtype(theirs.dtype), (ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.data, theirs.numpy())


@pytest.mark.parametrize("da", DTYPE_CASES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_scalar_promotion_matches_torch(da, scalar):
    a = np.array([1, 0, 1], dtype=da)
    ta = torch.from_numpy(a)
    for ours, theirs in [(Tensor(a) * scalar, ta * scalar), (scalar * Tensor(a), scalar * ta)]:
        assert ours.dtype == as_np_dtype(theirs.dtype), (ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.data, theirs.numpy())


def test_mask_times_float_is_a_float_tensor():
    mask = Tensor(np.array([1.0, -1.0, 2.0])) > 0
    assert mask.dtype == np.bool_
    out = mask * 1.0
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 1.0])
    assert (Tensor(np.array([1, 2])) * 2.5).dtype == np.float32
    np.testing.assert_array_equal((Tensor(np.array([4, 9])) ** 0.5).data, [2.0, 3.0])


def test_mixed_float_precision_promotes_and_grads_keep_their_dtype():
    a = Tensor(rand(3, dtype=np.float32), requires_grad=True)
    b = Tensor(rand(3, dtype=np.float64, seed=1), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, b.data.astype(np.float32))


# --------------------------------------------------------------------------- binary ops

SHAPE_PAIRS = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((4, 1, 3), (2, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 3, 4), (2, 1, 4)),
]

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_broadcast_match_torch(name, shapes, dtype):
    ours, theirs = BINARY[name]
    positive = name in ("div", "pow")
    a = rand(*shapes[0], dtype=dtype, seed=1, low=0.5 if positive else None)
    b = rand(*shapes[1], dtype=dtype, seed=2, low=0.5 if positive else None)
    out = torch_parity(ours, theirs, a, b)
    assert out.shape == np.broadcast_shapes(shapes[0], shapes[1])


@pytest.mark.parametrize("shapes", SHAPE_PAIRS[:5])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_gradcheck(name, shapes):
    ours, _ = BINARY[name]
    positive = name in ("div", "pow")
    a = rand(*shapes[0], seed=3, low=0.5 if positive else None)
    b = rand(*shapes[1], seed=4, low=0.5 if positive else None)
    check_grad(ours, a, b)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: 2.0 + x,
        lambda x: 2.0 - x,
        lambda x: 3 * x,
        lambda x: 2.0 / x,
        lambda x: 2.0**x,
        lambda x: -x,
        lambda x: x**2,
        lambda x: x**3,
        lambda x: x**-1,
        lambda x: x**0.5,
        lambda x: x**1,
    ],
)
def test_scalar_ops_and_reflected_scalars_match_torch(fn, dtype):
    x = rand(2, 3, dtype=dtype, low=0.5)
    out = torch_parity(fn, fn, x)
    assert out.dtype == dtype
    check_grad(fn, x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x, c: c + x, lambda x, c: torch.from_numpy(c) + x),
        (lambda x, c: c - x, lambda x, c: torch.from_numpy(c) - x),
        (lambda x, c: c * x, lambda x, c: torch.from_numpy(c) * x),
        (lambda x, c: c / x, lambda x, c: torch.from_numpy(c) / x),
        (lambda x, c: c**x, lambda x, c: torch.from_numpy(c) ** x),
        (lambda x, c: c @ x, lambda x, c: torch.from_numpy(c) @ x),
    ],
)
def test_numpy_array_on_the_left_defers_to_tensor(ours, theirs, dtype):
    c = rand(3, 3, dtype=dtype, seed=7, low=0.5)
    x = rand(3, 3, dtype=dtype, low=0.5)
    out = torch_parity(lambda t: ours(t, c), lambda t: theirs(t, c), x)
    assert isinstance(out, Tensor)


def test_numpy_scalar_on_the_left_gives_a_tensor():
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    for out in (np.float64(2.0) * x, np.float32(2.0) * x, np.int64(2) * x):
        assert isinstance(out, Tensor) and out.dtype == np.float32
        np.testing.assert_array_equal(out.data, [2.0, 2.0])


def test_pow_at_zero_matches_torch():
    # d x^0 / dx is 0 everywhere (also at 0); d 0^p / dp is 0 for p >= 0.
    x = np.array([0.0, 1.0, 2.0])
    torch_parity(lambda t: t**0, lambda t: t**0, x)
    p = np.array([0.0, 0.5, 2.0])
    torch_parity(lambda a, b: a**b, lambda a, b: a**b, x, p)


def test_pow_exponent_broadcasts_wider_than_base():
    torch_parity(lambda a, b: a**b, lambda a, b: a**b, rand(3, low=0.5), rand(2, 3, low=0.5))


# --------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((5, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_matches_torch(shapes, dtype):
    a = rand(*shapes[0], dtype=dtype, seed=1)
    b = rand(*shapes[1], dtype=dtype, seed=2)
    out = torch_parity(lambda x, y: x @ y, lambda x, y: x @ y, a, b)
    assert isinstance(out.data, np.ndarray)  # also for 1-D @ 1-D (NumPy gives a scalar)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_gradcheck(shapes):
    check_grad(lambda x, y: x @ y, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2))


def test_matmul_gradient_only_for_inputs_that_need_it():
    w = Tensor(rand(3, 2), requires_grad=True)
    x = Tensor(rand(4, 3))
    (x @ w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad, x.data.T @ np.ones((4, 2)))


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"at least one dimension; received shapes \(\) and"):
        Tensor(2.0) @ Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"matching k; received \(2, 3\) @ \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


# --------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
        lambda a, b: a == b,
        lambda a, b: a != b,
    ],
)
@pytest.mark.parametrize("other", [0.0, np.array([0.0, 1.0, -1.0]), "tensor"])
def test_comparisons_are_boolean_and_carry_no_grad(op, other):
    a = np.array([0.0, 2.0, -1.0])
    x = Tensor(a, requires_grad=True)
    is_tensor = isinstance(other, str)
    b = Tensor(np.array([0.0, 1.0, -1.0]), requires_grad=True) if is_tensor else other
    plain_b = b.data if is_tensor else b
    out = op(x, b)
    assert out.dtype == np.bool_
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.data, op(a, plain_b))
    reflected = op(b, x)  # a scalar or an array on the left defers to the Tensor
    assert isinstance(reflected, Tensor) and not reflected.requires_grad
    np.testing.assert_array_equal(reflected.data, op(plain_b, a))


def test_comparison_with_python_float_is_exact_in_float64():
    x = Tensor(np.array([0.1]))  # float64
    assert not (x < 0.1).item()
    assert (x == 0.1).item()
    assert (x <= 0.1).item()


# --------------------------------------------------------------------------- elementwise math

UNARY = {
    "exp": (lambda t: t.exp(), torch.exp, None),
    "log": (lambda t: t.log(), torch.log, 0.5),
    "sqrt": (lambda t: t.sqrt(), torch.sqrt, 0.5),
    "abs": (lambda t: t.abs(), torch.abs, None),
    "clip": (lambda t: t.clip(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7), None),
    "clip_min": (lambda t: t.clip(min=0.1), lambda t: t.clamp(min=0.1), None),
    "clip_max": (lambda t: t.clamp(max=0.1), lambda t: t.clamp(max=0.1), None),
    "neg": (lambda t: -t, lambda t: -t, None),
    "cs.exp": (lambda t: T.exp(t), torch.exp, None),
    "cs.log": (lambda t: T.log(t), torch.log, 0.5),
    "cs.sqrt": (lambda t: T.sqrt(t), torch.sqrt, 0.5),
    "cs.abs": (lambda t: T.abs(t), torch.abs, None),
    "cs.clip": (lambda t: T.clip(t, -0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), None),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_torch(name, dtype):
    ours, theirs, low = UNARY[name]
    x = rand(3, 4, dtype=dtype, low=low)
    torch_parity(ours, theirs, x)
    check_grad(ours, x)


def test_abs_and_clip_at_their_kinks_match_torch():
    x = np.array([-1.0, 0.0, 1.0, 2.0, 0.5], dtype=np.float32)
    torch_parity(lambda t: t.abs(), torch.abs, x)
    torch_parity(lambda t: t.clip(0.0, 1.0), lambda t: t.clamp(0.0, 1.0), x)


# --------------------------------------------------------------------------- reductions

AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


def torch_dim(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions_match_torch(name, axis, keepdims, dtype):
    theirs_fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[name]
    x = rand(2, 3, 4, dtype=dtype)
    out = torch_parity(
        lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
        lambda t: theirs_fn(t, dim=torch_dim(axis, 3), keepdim=keepdims),
        x,
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions_gradcheck(name, axis, keepdims):
    check_grad(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), rand(2, 3, 4))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("name", ["max", "min"])
def test_tied_extrema_share_the_gradient_as_torch_amax(name, axis, dtype):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [3.0, 0.0, 3.0]], dtype=dtype)
    theirs_fn = torch.amax if name == "max" else torch.amin
    torch_parity(
        lambda t: getattr(t, name)(axis=axis),
        lambda t: theirs_fn(t, dim=torch_dim(axis, 2)),
        x,
    )


def test_max_without_axis_shares_ties_as_torch_max():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]], dtype=np.float32)
    torch_parity(lambda t: t.max(), lambda t: t.max(), x)
    t = Tensor(x, requires_grad=True)
    t.max().backward()
    np.testing.assert_allclose(t.grad, (x == 3) / 3)
    assert t.grad.dtype == np.float32


def test_reductions_of_0d_tensors():
    x = Tensor(np.float64(3.0), requires_grad=True)
    for axis in (None, 0, -1):
        out = x.sum(axis=axis)
        assert out.shape == () and out.item() == 3.0
    x.mean(axis=0).backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("axis", [2, -3, (0, 0), (0, -2), 1.5])
def test_reductions_reject_bad_axes(axis):
    x = Tensor(np.ones((2, 3)))
    for name in ("sum", "mean", "max", "min"):
        with pytest.raises(ValueError, match=r"axis expected"):
            getattr(x, name)(axis=axis)


def test_sum_of_bools_counts():
    x = Tensor(np.array([1.0, -1.0, 2.0]))
    assert (x > 0).sum().item() == 2


def test_argmax_argmin():
    x = Tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(axis=0).data, [0, 1, 0])
    assert x.argmax().item() == 3


# --------------------------------------------------------------------------- shape ops

SHAPE_OPS = {
    "reshape_args": (lambda t: t.reshape(4, 6), lambda t: t.reshape(4, 6)),
    "reshape_tuple": (lambda t: t.reshape((6, -1)), lambda t: t.reshape((6, -1))),
    "reshape_npint": (lambda t: t.reshape(np.int64(24)), lambda t: t.reshape(24)),
    "view": (lambda t: t.view(2, 12), lambda t: t.view(2, 12)),
    "flatten": (lambda t: t.flatten(), lambda t: t.flatten()),
    "flatten_1": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "flatten_0_1": (lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1)),
    "transpose": (lambda t: t.transpose(), lambda t: t.permute(2, 1, 0)),
    "transpose_0_2": (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "transpose_neg": (lambda t: t.transpose(-1, 0), lambda t: t.transpose(-1, 0)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "permute_tuple": (lambda t: t.permute((1, 2, 0)), lambda t: t.permute((1, 2, 0))),
    "permute_neg": (lambda t: t.permute(0, -1, 1), lambda t: t.permute(0, -1, 1)),
    "T": (lambda t: t.T, lambda t: t.permute(2, 1, 0)),
    "unsqueeze_0": (lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(0)),
    "unsqueeze_-1": (lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    "unsqueeze_squeeze": (
        lambda t: t.unsqueeze(1).squeeze(1),
        lambda t: t.unsqueeze(1).squeeze(1),
    ),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops_match_torch(name, dtype):
    ours, theirs = SHAPE_OPS[name]
    torch_parity(ours, theirs, rand(2, 3, 4, dtype=dtype))
    check_grad(ours, rand(2, 3, 4))


@pytest.mark.parametrize("dtype", FLOATS)
def test_squeeze_matches_torch(dtype):
    x = rand(2, 1, 3, 1, dtype=dtype)
    torch_parity(lambda t: t.squeeze(), lambda t: t.squeeze(), x)
    torch_parity(lambda t: t.squeeze(1), lambda t: t.squeeze(1), x)
    torch_parity(lambda t: t.squeeze(-1), lambda t: t.squeeze(-1), x)
    torch_parity(lambda t: t.T, lambda t: t.T, rand(2, 3, dtype=dtype))


def test_flatten_of_a_0d_tensor_is_1d():
    assert Tensor(3.0).flatten().shape == (1,)


def test_shape_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"cannot reshape tensor of shape \(2, 3\) \(6 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"permute expected a permutation of the 2 axes"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match=r"of shape \(2, 3\); received \(0, 2\)"):
        x.permute(0, 2)
    with pytest.raises(ValueError, match=r"permutation"):
        x.permute(0)


# --------------------------------------------------------------------------- indexing


def torch_index(index):
    if isinstance(index, tuple):
        return tuple(torch_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


INDICES = {
    "int": 1,
    "negative_int": -1,
    "slice": slice(1, None),
    "step_slice": (slice(None), slice(None, None, 2)),
    "none": None,
    "ellipsis": (Ellipsis, 1),
    "mixed": (0, None, slice(1, 3), Ellipsis),
    "bool_mask": np.array([True, False, True]),
    "bool_mask_2d": np.array([[True, False, True, False]] * 3),
    "int_array": np.array([2, 0]),
    "repeated": np.array([0, 2, 0, 0]),
    "repeated_2d": (np.array([0, 0, 2, 0]), np.array([1, 1, 3, 1])),
    "int_array_and_slice": (slice(None), np.array([3, 3, 1])),
    "list": [1, 1],
    "bool_list": [True, False, True],
    "int_scalar_array": np.array(2),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(INDICES))
def test_indexing_matches_torch(name, dtype):
    index = INDICES[name]
    x = rand(3, 4, dtype=dtype)
    torch_parity(lambda t: t[index], lambda t: t[torch_index(index)], x)
    check_grad(lambda t: t[index], rand(3, 4))


def test_repeated_indices_accumulate():
    x = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    assert x.grad.dtype == np.float32


def test_tensor_index():
    x = Tensor(rand(4), requires_grad=True)
    idx = Tensor(np.array([3, 1]))
    out = x[idx]
    np.testing.assert_array_equal(out.data, x.data[[3, 1]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 0, 1])
    mask = x > 0
    np.testing.assert_array_equal(x[mask].data, x.data[x.data > 0])


def test_iteration_yields_rows_with_gradients():
    x = Tensor(rand(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and rows[1].shape == (2,)
    (rows[0] * 2 + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2], [0, 0], [1, 1]])


# --------------------------------------------------------------------------- joining


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_matches_torch(axis, dtype):
    shapes = [(2, 3), (2, 3), (2, 3)]
    shapes = [
        tuple(s + (1 if i == axis % 2 and k == 1 else 0) for i, s in enumerate(shape))
        for k, shape in enumerate(shapes)
    ]
    arrays = [rand(*s, dtype=dtype, seed=k) for k, s in enumerate(shapes)]
    torch_parity(
        lambda *ts: cs.concatenate(ts, axis=axis),
        lambda *ts: torch.cat(ts, dim=axis),
        *arrays,
    )
    torch_parity(lambda *ts: cs.cat(list(ts), axis), lambda *ts: torch.cat(ts, axis), *arrays)
    check_grad(lambda *ts: cs.concatenate(ts, axis=axis), *arrays)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_matches_torch(axis, dtype):
    arrays = [rand(2, 3, dtype=dtype, seed=k) for k in range(3)]
    torch_parity(
        lambda *ts: cs.stack(ts, axis=axis), lambda *ts: torch.stack(ts, dim=axis), *arrays
    )
    check_grad(lambda *ts: cs.stack(ts, axis=axis), *arrays)


def test_joining_mixes_constants_and_tensors():
    x = Tensor(rand(2), requires_grad=True)
    out = cs.concatenate([x, np.zeros(2), x], axis=0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    with pytest.raises(ValueError, match="at least one tensor"):
        cs.concatenate([])
    with pytest.raises(ValueError, match="at least one tensor"):
        cs.stack([])


# --------------------------------------------------------------------------- astype


@pytest.mark.parametrize("source, target", [(np.float32, np.float64), (np.float64, np.float32)])
def test_astype_matches_torch_and_casts_gradients_back(source, target):
    x = rand(3, dtype=source)
    out = torch_parity(lambda t: t.astype(target) * 2, lambda t: t.to(torch_dtype(target)) * 2, x)
    assert out.dtype == target


def test_astype_to_integers_ends_the_graph():
    x = Tensor(np.array([1.7, -2.2]), requires_grad=True)
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(i.data, [1, -2])
    assert x.float().dtype == np.float32 and x.float().requires_grad
    assert x.double().dtype == np.float64


# --------------------------------------------------------------------------- the backward engine


def test_a_tensor_used_twice_accumulates_both_contributions():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    x.zero_grad()
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_diamond_graph_matches_torch():
    def diamond(x, lib_exp):
        a = x * 2
        b = lib_exp(a)
        c = a * 3
        return b * c + a

    torch_parity(lambda x: diamond(x, Tensor.exp), lambda x: diamond(x, torch.exp), rand(4))
    check_grad(lambda x: diamond(x, Tensor.exp), rand(4))


def test_backward_twice_accumulates_into_leaf_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_backward_through_freed_graph_raises_unless_retained():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 4 * np.exp(x.data))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_reusing_a_freed_intermediate_in_a_new_graph_raises():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2
    h.sum().backward()
    with pytest.raises(RuntimeError, match="at op 'mul'"):
        (h * 3).sum().backward()


def test_backward_on_a_leaf_and_with_explicit_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    y = Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    (y * 2).backward(Tensor(np.array([[1.0, 1.0]])))
    np.testing.assert_array_equal(y.grad, [[2.0, 2.0]])


def test_only_leaves_keep_grad_and_inputs_without_grad_get_none():
    x = Tensor(rand(3), requires_grad=True)
    c = Tensor(rand(3))
    h = x * c
    h.sum().backward()
    assert h.grad is None and c.grad is None
    np.testing.assert_array_equal(x.grad, c.data)
    assert x.is_leaf and not h.is_leaf and h.grad_fn == "mul"


def test_leaf_grad_is_a_private_copy():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    upstream = np.array([1.0, 1.0])
    x.backward(upstream)
    x.backward(upstream)  # accumulates into x.grad in place; must not touch upstream
    np.testing.assert_array_equal(upstream, [1.0, 1.0])
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    (a + b).sum().backward()  # add passes one array to both parents
    a.grad += 1
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_a_graph_20000_ops_deep():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(10_000):  # 20,000 ops, each depending on the previous one
        y = y * 1.0 + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0])
    # A deep graph that is never differentiated is also freed without trouble.
    y = x
    for _ in range(20_000):
        y = y + 1.0
    del y
    gc.collect()


def test_saved_arrays_are_freed_after_backward():
    x = Tensor(rand(256, 256), requires_grad=True)
    h = x * 2  # a large intermediate
    ref = weakref.ref(h.data)
    y = (h.exp() * h).sum()
    del h
    gc.collect()
    assert ref() is not None  # kept alive by the graph for backward
    y.backward()
    assert ref() is None
    assert y._backward is None and y._parents == ()


def test_retain_graph_keeps_saved_arrays():
    x = Tensor(rand(8), requires_grad=True)
    h = x * 2
    ref = weakref.ref(h.data)
    y = h.exp().sum()
    del h
    y.backward(retain_graph=True)
    assert ref() is not None
    y.backward()
    assert ref() is None


def test_nodes_that_receive_no_gradient_are_freed_too():
    def no_grad_op(x):
        return Tensor.from_op(x.data * 2, (x,), lambda g: (None,), "stop")

    x = Tensor(rand(3), requires_grad=True)
    h = x * 2
    s = no_grad_op(h)
    y = (s + x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))
    assert h._backward is None and h._parents == ()


def test_from_op_custom_op_contract():
    x = Tensor(rand(3), requires_grad=True)
    # A gradient that broadcasts to the input (here a scalar) is expanded by the engine.
    y = Tensor.from_op(x.data.sum(), (x,), lambda g: (g,), "my_sum")
    y.backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))
    assert x.grad.shape == (3,)
    # The wrong number of gradients is reported, naming the op.
    z = Tensor.from_op(x.data * 2, (x,), lambda g: (g, g), "broken")
    with pytest.raises(RuntimeError, match=r"op 'broken' returned 2 gradients for 1 inputs"):
        z.sum().backward()


def test_unbroadcast():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(T.unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(T.unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(T.unbroadcast(g, ()), g.sum())
    assert T.unbroadcast(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(T.unbroadcast(np.array(2.0), (2, 2)), np.full((2, 2), 2.0))


# --------------------------------------------------------------------------- no_grad


def test_no_grad_builds_no_graph():
    w = Tensor(rand(3), requires_grad=True)
    with cs.no_grad():
        assert not cs.is_grad_enabled()
        y = (w * 2).exp().sum()
    assert cs.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y._backward is None and y._parents == ()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_as_decorator_with_and_without_parentheses():
    w = Tensor(rand(3), requires_grad=True)

    @cs.no_grad()
    def f(t):
        return t * 2

    @cs.no_grad
    def g(t):
        return t * 2

    assert not f(w).requires_grad and not g(w).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    assert cs.is_grad_enabled()


def test_grad_mode_nests_and_restores():
    w = Tensor(rand(3), requires_grad=True)
    with cs.no_grad():
        with cs.enable_grad():
            assert (w * 2).requires_grad
            with cs.no_grad():
                assert not (w * 2).requires_grad
            assert cs.is_grad_enabled()
        assert not cs.is_grad_enabled()
    assert cs.is_grad_enabled()


def test_grad_mode_is_restored_on_exception():
    with pytest.raises(KeyError):
        with cs.no_grad():
            raise KeyError("boom")
    assert cs.is_grad_enabled()

    @cs.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert cs.is_grad_enabled()


def test_recursive_decorated_function_and_reentered_instance_restore_the_mode():
    @cs.no_grad()
    def recurse(n):
        assert not cs.is_grad_enabled()
        if n:
            recurse(n - 1)

    recurse(3)
    assert cs.is_grad_enabled()
    mode = cs.no_grad()
    with mode:
        with mode:
            pass
        assert not cs.is_grad_enabled()
    assert cs.is_grad_enabled()

    @cs.enable_grad()
    def inside():
        return cs.is_grad_enabled()

    with cs.no_grad():
        assert inside()
        assert not cs.is_grad_enabled()


def test_grad_mode_is_per_thread_and_new_threads_start_enabled():
    import threading

    w = Tensor(rand(3), requires_grad=True)
    inside_no_grad, other_done = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def worker_without_grad():
        with cs.no_grad():
            inside_no_grad.set()
            other_done.wait(timeout=10)  # the other thread runs while this one is in no_grad
            seen["no_grad thread, after the other ran"] = cs.is_grad_enabled()
            seen["no_grad thread records"] = (w * 2).requires_grad

    def worker_with_grad():
        inside_no_grad.wait(timeout=10)
        seen["new thread starts enabled"] = cs.is_grad_enabled()
        seen["new thread records"] = (w * 2).requires_grad
        with cs.enable_grad():
            pass
        other_done.set()

    with cs.no_grad():  # the main thread's mode is not inherited either
        threads = [
            threading.Thread(target=worker_without_grad),
            threading.Thread(target=worker_with_grad),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert not cs.is_grad_enabled()
    assert seen == {
        "new thread starts enabled": True,
        "new thread records": True,
        "no_grad thread, after the other ran": False,
        "no_grad thread records": False,
    }
    assert cs.is_grad_enabled()


# --------------------------------------------------------------------------- accessors


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor(rand(3), requires_grad=True)
    h = x * 2
    d = h.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, h.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, d.data)


def test_item_numpy_len_and_properties():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
    assert len(x) == 2
    assert x.numpy() is x.data
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    assert Tensor(np.array([3])).item() == 3 and isinstance(Tensor(np.array([3])).item(), int)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    np.testing.assert_array_equal(np.asarray(x), x.data)
    assert np.array(x, copy=True) is not x.data
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"item\(\) needs a single-element tensor; received shape"):
        x.item()
    with pytest.raises(TypeError, match="len"):
        len(Tensor(1.0))


def test_repr():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor(np.array([1.0]))) == "Tensor([1.], dtype=float64)"
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "Tensor([2., 4.], grad_fn=mul)"
    assert repr(Tensor(np.array([True]))) == "Tensor([ True], dtype=bool)"


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


# --------------------------------------------------------------------------- backward errors


def test_backward_error_messages():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"single-element tensor; received shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(2, 3\); received \(3,\)"):
        y.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).sum().backward()


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    name=st.sampled_from(sorted(BINARY)),
    dtype=st.sampled_from(FLOATS),
)
def test_broadcasting_binary_ops_property(shapes, name, dtype):
    a_shape, b_shape = shapes.input_shapes
    positive = name in ("div", "pow")
    a = rand(*a_shape, dtype=dtype, seed=1, low=0.5 if positive else None)
    b = rand(*b_shape, dtype=dtype, seed=2, low=0.5 if positive else None)
    ours, theirs = BINARY[name]
    out = torch_parity(ours, theirs, a, b)
    assert out.shape == shapes.result_shape


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_grad_of_sum_of_product_is_the_other_factor_summed_over_broadcast_axes(shapes):
    a_shape, b_shape = shapes.input_shapes
    a, b = rand(*a_shape, seed=1), rand(*b_shape, seed=2)
    x = Tensor(a, requires_grad=True)
    (x * Tensor(b)).sum().backward()
    # Independent of unbroadcast: d/da_i of sum(a*b) = sum of b over every output position
    # that a_i feeds, i.e. broadcast b to the output and fold it onto a with np.add.at.
    full_b = np.broadcast_to(b, shapes.result_shape)
    owner = np.broadcast_to(np.arange(a.size).reshape(a.shape), shapes.result_shape)
    expected = np.zeros(a.size)
    np.add.at(expected, owner.ravel(), full_b.ravel())
    np.testing.assert_allclose(x.grad, expected.reshape(a.shape), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
        elements=st.floats(-10, 10),
    ),
    data=st.data(),
)
def test_reshape_and_permute_round_trips(array, data):
    x = Tensor(array, requires_grad=True)
    new_shape = (array.size,) if array.ndim > 1 else (1, array.size)
    perm = data.draw(st.permutations(range(array.ndim)))
    out = x.reshape(new_shape).reshape(array.shape).permute(perm).permute(np.argsort(perm))
    np.testing.assert_array_equal(out.data, array)
    upstream = np.arange(array.size, dtype=np.float64).reshape(array.shape)
    out.backward(upstream)
    np.testing.assert_array_equal(x.grad, upstream)


@settings(max_examples=30, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
    data=st.data(),
    keepdims=st.booleans(),
)
def test_sum_over_random_axes_property(shape, data, keepdims):
    axes = data.draw(
        st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1, max_size=len(shape))
    )
    axes = tuple(a - len(shape) if data.draw(st.booleans()) else a for a in axes)
    array = rand(*shape)
    out = torch_parity(
        lambda t: t.sum(axis=axes, keepdims=keepdims),
        lambda t: t.sum(dim=axes, keepdim=keepdims),
        array,
    )
    np.testing.assert_allclose(out.data, array.sum(axis=axes, keepdims=keepdims))


# --------------------------------------------------------------------------- accurate sums


def _channels_last(shape, shift, seed=0):
    n, c, h, w = shape
    rng = np.random.default_rng(seed)
    nhwc = (rng.standard_normal((n, h, w, c)) + shift).astype(np.float32)
    return nhwc.transpose(0, 3, 1, 2)  # (N, C, H, W) view, channels innermost in memory


@pytest.mark.parametrize("axis", [(0, 2, 3), (0,), (2, 3), None])
def test_float32_sums_of_channels_last_views_are_correctly_rounded(axis):
    a = _channels_last((64, 8, 32, 32), shift=50.0)
    truth = a.astype(np.float64).sum(axis=axis)
    got = Tensor(a).sum(axis=axis).data
    assert got.dtype == np.float32
    # float32 rounding of the exact sum: at most half an ulp (2**-24 relative); a plain
    # float32 sum over (0, 2, 3) of this view is 1.5e-5 off.
    np.testing.assert_allclose(got, truth, rtol=2**-24, atol=0)
    np.testing.assert_array_equal(T.accurate_sum(a, axis), got)


def test_unbroadcast_sums_accurately_and_keeps_the_dtype():
    g = _channels_last((64, 8, 32, 32), shift=50.0)
    got = T.unbroadcast(g, (1, 8, 1, 1))
    assert got.dtype == np.float32 and got.shape == (1, 8, 1, 1)
    np.testing.assert_allclose(got, g.astype(np.float64).sum((0, 2, 3), keepdims=True), rtol=2**-24)
    x = Tensor(np.zeros(8, np.float32), requires_grad=True)
    (Tensor(g) * x.reshape(1, 8, 1, 1)).sum().backward()
    np.testing.assert_allclose(x.grad, g.astype(np.float64).sum((0, 2, 3)), rtol=2**-24)


def test_accurate_sum_keeps_float64_and_integers_on_numpys_path():
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    assert T.accurate_sum(a, 0).dtype == np.int64
    np.testing.assert_array_equal(T.accurate_sum(a, 0), a.sum(0))
    b = np.random.default_rng(0).standard_normal((5, 6))
    np.testing.assert_array_equal(T.accurate_sum(b, (0, 1)), b.sum())
    assert T.accurate_sum(np.ones((2, 2), np.float32)).shape == ()
