"""Values: every operation against the installed originals (forward) and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from compat.originals import VERSIONS, load_original
from convscope.compat.rbdl import Values
from oracle import check_grad

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
P = rng.random((3, 4)) + 0.5  # positive, for log and division
M = rng.standard_normal((4, 2))

# name -> f(a, b) written once, run on Values of the adapter and of the originals.
UNARY = {
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: a.abs(),
    "softmax": lambda a: a.softmax(),
    "sum": lambda a: a.sum(),
    "sum_axis": lambda a: a.sum(axis=1),
    "sum_keepdims": lambda a: a.sum(axis=0, keepdims=True),
    "mean": lambda a: a.mean(),
    "max": lambda a: a.max(),
    "pow": lambda a: a**3,
    "neg": lambda a: -a,
    "getitem": lambda a: a[1:, ::2],
    "pad": lambda a: a.pad(((1, 0), (2, 1))),
    "T": lambda a: a.T,
    "scalar_ops": lambda a: 2.0 - a * 3.0 + 1.0 / a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "broadcast_row": lambda a, b: a * b[:1],
    "mixed": lambda a, b: ((a - b) ** 2).mean() + (a * b).sum(),
}
NEW_IN_1_0 = {
    "tanh": lambda a: a.tanh(),
    "reshape": lambda a: a.reshape((4, 3)),
    "transpose_axes": lambda a: a.reshape((2, 3, 2)).transpose((2, 0, 1)),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_equals_original(version, name):
    R = load_original(version)
    f = UNARY[name]
    np.testing.assert_allclose(f(Values(P)).vals, f(R.Values(P)).vals, rtol=1e-12)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward_equals_original(version, name):
    R = load_original(version)
    f = BINARY[name]
    np.testing.assert_allclose(f(Values(A), Values(P)).vals, f(R.Values(A), R.Values(P)).vals)


@pytest.mark.parametrize("name", sorted(NEW_IN_1_0))
def test_1_0_operations_equal_original(name):
    R = load_original("1.0.5")
    f = NEW_IN_1_0[name]
    np.testing.assert_allclose(f(Values(A)).vals, f(R.Values(A)).vals, rtol=1e-12)


def test_matmul_equals_original_forward_and_gradients():
    R = load_original("1.0.5")
    ours, theirs = (Values(A), Values(M)), (R.Values(A), R.Values(M))
    for a, b, lib in ((*ours, Values), (*theirs, R.Values)):
        ((a @ b).relu() * lib(np.arange(6.0).reshape(3, 2))).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad)


@pytest.mark.parametrize("name", sorted(UNARY | NEW_IN_1_0))
def test_unary_gradients_pass_finite_differences(name):
    f = (UNARY | NEW_IN_1_0)[name]
    x = P if name in ("log", "scalar_ops") else A + np.sign(A) * 0.1  # away from kinks
    check_grad(lambda t: f(Values(t)).tensor, x)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_pass_finite_differences(name):
    check_grad(lambda a, b: BINARY[name](Values(a), Values(b)).tensor, A, P)


def test_setitem_routes_gradients_to_value_and_rest():
    def f(t, v):
        buffer = Values(t)
        buffer[0, 1:3] = Values(v)
        return (buffer * buffer).tensor

    check_grad(f, A, rng.standard_normal(2))


def test_reflected_ops_with_arrays_return_values():
    out = np.ones((3, 4)) * Values(A) + np.zeros((3, 4))
    assert isinstance(out, Values)
    np.testing.assert_allclose(out.vals, A)


def test_grads_accumulate_until_zeroed_and_flag_stops_them():
    w, x = Values(A), Values(B, grads=False)
    (w * x).sum().backward()
    (w * x).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * B)
    assert not x.grad.any()


def test_integers_become_float64_and_float32_stays():
    assert Values([[1, 2]]).dtype == np.float64
    assert (Values(np.ones(2, np.float32)) * 2.0).dtype == np.float32


def test_bad_pad_raises_instead_of_returning_none():
    with pytest.raises(ValueError, match=r"one \(before, after\) pair per dimension \(2"):
        Values(A).pad(((1, 1),))


def test_vals_assignment_checks_the_shape():
    v = Values(A)
    with pytest.raises(ValueError, match=r"shape \(3, 4\); received shape \(2,\)"):
        v.vals = np.zeros(2)


def test_numpy_attributes_read_through_but_methods_do_not():
    v = Values(A)
    assert v.nbytes == A.nbytes and v.itemsize == 8
    with pytest.raises(AttributeError, match="no attribute 'cumsum'.*not differentiable"):
        v.cumsum  # noqa: B018
