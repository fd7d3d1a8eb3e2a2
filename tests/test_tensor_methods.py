"""var, std, where, expand, split, gather and einsum: PyTorch parity (forward and
gradients, float32 and float64) and float64 central differences."""

import numpy as np
import pytest
import torch

import convscope as cs
from convscope import Tensor
from oracle import check_grad, torch_parity

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- var / std


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "axis, correction, keepdims",
    [(None, 1, False), (0, 1, False), (1, 0, True), ((0, 2), 1, False), (-1, 2, True)],
)
@pytest.mark.parametrize("method", ["var", "std"])
def test_var_std_match_torch(dtype, axis, correction, keepdims, method):
    x = rand(4, 5, 3, dtype=dtype)
    torch_parity(
        lambda t: getattr(t, method)(axis, correction=correction, keepdims=keepdims),
        lambda t: getattr(t, method)(dim=axis, correction=correction, keepdim=keepdims),
        x,
    )


def test_var_by_hand_unbiased_spelling_and_gradcheck():
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5.0 / 3.0)  # Σ(x − 2.5)² = 5, n − 1 = 3
    assert x.var(unbiased=False).item() == pytest.approx(1.25)
    assert x.std(unbiased=True).item() == pytest.approx(np.sqrt(5.0 / 3.0))
    check_grad(lambda t: t.var(axis=1), rand(3, 4))
    check_grad(lambda t: t.std(axis=(0, 1), correction=0), rand(3, 4))


@pytest.mark.filterwarnings("ignore:var.*degrees of freedom:UserWarning")
def test_var_of_one_value_is_nan_as_torch():
    assert np.isnan(Tensor([3.0]).var().item()) and torch.tensor([3.0]).var().isnan()
    assert Tensor([3.0]).var(correction=0).item() == 0.0


def test_var_is_exact_on_large_offsets():
    # Two-pass (centre first), float64-accumulated: no catastrophic cancellation at mean 1e4.
    x = (rand(1000) + 1e4).astype(np.float32)
    ours = Tensor(x).var().item()
    assert ours == pytest.approx(np.var(x.astype(np.float64), ddof=1), rel=1e-5)


# --------------------------------------------------------------------------- where


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_where_matches_torch_with_broadcasting(dtype):
    cond = RNG.random((4, 1, 3)) > 0.5
    torch_parity(
        lambda a, b: cs.where(cond, a, b),
        lambda a, b: torch.where(torch.tensor(cond), a, b),
        rand(4, 2, 3, dtype=dtype),
        rand(2, 1, dtype=dtype),
    )
    torch_parity(
        lambda a, b: a.where(cond, b),
        lambda a, b: a.where(torch.tensor(cond), b),
        rand(4, 2, 3, dtype=dtype),
        rand(3, dtype=dtype),
    )


def test_where_scalar_other_gradcheck_and_errors():
    cond = np.array([[True, False, True]])
    out = cs.where(cond, Tensor(np.ones((2, 3), np.float32)), 0.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [[1, 0, 1], [1, 0, 1]])
    check_grad(lambda a, b: cs.where(cond, a, b), rand(2, 3), rand(2, 1))
    with pytest.raises(TypeError, match="where expected a boolean condition; received dtype int64"):
        cs.where(np.array([1, 0]), Tensor([1.0, 2.0]), 0.0)
    with pytest.raises(ValueError, match=r"received shapes \(2,\), \(3,\) and \(\)"):
        cs.where(np.array([True, False]), Tensor([1.0, 2.0, 3.0]), 0.0)


# --------------------------------------------------------------------------- expand


@pytest.mark.parametrize(
    "shape, sizes", [((3, 1), (3, 4)), ((1, 4), (2, 3, -1, 4)[1:]), ((2, 1, 1), (5, 2, -1, 6))]
)
def test_expand_matches_torch(shape, sizes):
    torch_parity(lambda t: t.expand(*sizes) * 2.0, lambda t: t.expand(*sizes) * 2.0, rand(*shape))
    check_grad(lambda t: t.expand(sizes) * 3.0, rand(*shape))


def test_expand_is_a_view_and_refuses_bad_sizes():
    x = Tensor(np.arange(3.0).reshape(3, 1))
    assert np.shares_memory(x.expand(3, 5).data, x.data)
    with pytest.raises(ValueError, match=r"expanded size \(4\) must match the existing size \(3\)"):
        x.expand(4, 5)
    with pytest.raises(RuntimeError, match="must match the existing size"):
        torch.zeros(3, 1).expand(4, 5)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        x.expand(5)


# --------------------------------------------------------------------------- split


@pytest.mark.parametrize("arg, axis", [(2, 0), (3, 1), ([1, 4], 1), ([2, 0, 3], 0), (7, 1)])
def test_split_matches_torch(arg, axis):
    x = rand(5, 5)
    ours = Tensor(x).split(arg, axis)
    theirs = torch.tensor(x).split(arg, axis)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.data, t.numpy())
    weights = [float(k + 1) for k in range(len(ours))]
    torch_parity(
        lambda t: sum((p * w).sum() for p, w in zip(t.split(arg, axis), weights)),
        lambda t: sum((p * w).sum() for p, w in zip(t.split(arg, axis), weights)),
        x,
    )


def test_split_errors():
    x = Tensor(np.zeros((4, 2)))
    with pytest.raises(
        ValueError, match=r"sizes summing to 4 \(the length of axis 0\); received \[1, 2\]"
    ):
        x.split([1, 2])
    with pytest.raises(ValueError, match="positive split size; received 0"):
        x.split(0)


# --------------------------------------------------------------------------- gather


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_matches_torch_with_repeats_and_smaller_index(dtype, axis):
    x = rand(4, 5, dtype=dtype)
    size = x.shape[axis]
    index = RNG.integers(0, size, (3, 4))  # smaller than x along the other axis, repeats
    torch_parity(
        lambda t: t.gather(axis, index),
        lambda t: t.gather(axis, torch.tensor(index)),
        x,
    )


def test_gather_by_hand_gradcheck_and_errors():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = x.gather(1, np.array([[0, 0], [1, 0]]))
    np.testing.assert_array_equal(out.data, [[1.0, 1.0], [4.0, 3.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0], [1.0, 1.0]])  # picked twice: 2
    check_grad(lambda t: t.gather(0, np.array([[2, 0, 1], [2, 2, 0]])), rand(3, 3))
    with pytest.raises(ValueError, match="index 3 is out of bounds for axis 1 with size 2"):
        x.gather(1, np.array([[3, 0]]))
    with pytest.raises(TypeError, match="integer index; received dtype float64"):
        x.gather(0, np.array([[0.0]]))
    with pytest.raises(ValueError, match=r"index with 2 dimensions.*received shape \(2,\)"):
        x.gather(0, np.array([0, 1]))


# --------------------------------------------------------------------------- einsum


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(3, 3)]),
    ("ij->j", [(3, 4)]),
    ("ij,kl->ijkl", [(2, 3), (3, 2)]),
    ("i,i,i->i", [(5,), (5,), (5,)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 3)]),
    ("bi,bj->ij", [(3, 2), (3, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("ijk->kji", [(2, 3, 4)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("equation, shapes", EINSUMS)
def test_einsum_matches_torch(dtype, equation, shapes):
    arrays = [rand(*s, dtype=dtype) for s in shapes]
    torch_parity(
        lambda *ts: cs.einsum(equation, *ts),
        lambda *ts: torch.einsum(equation, *ts),
        *arrays,
    )


@pytest.mark.parametrize("equation, shapes", EINSUMS[:6])
def test_einsum_gradcheck(equation, shapes):
    check_grad(lambda *ts: cs.einsum(equation, *ts), *[rand(*s) for s in shapes])


def test_einsum_by_hand_and_errors():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(cs.einsum("ii->i", a).data, [1.0, 4.0])
    np.testing.assert_array_equal(cs.einsum("ij->ji", a).data, [[1.0, 3.0], [2.0, 4.0]])
    assert cs.einsum("ij,ij->", a, a).item() == 30.0  # 1 + 4 + 9 + 16
    with pytest.raises(ValueError, match="einsum expected 2 operand"):
        cs.einsum("ij,jk->ik", a)
    with pytest.raises(
        ValueError, match=r"operand 0 has 2 dimension\(s\) but subscripts 'ijk' name 3"
    ):
        cs.einsum("ijk->i", a)
