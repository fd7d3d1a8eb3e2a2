"""More Tensor edges against PyTorch and NumPy (mutation survivors of tensor.py): what
sqrt, permute, gather, cat, stack and casts save for backward, in-place arithmetic on graph
outputs, detach sharing the version counter, split/gather/expand at their limits, einsum
with ellipses, pow at exponent 0, repr, and NumPy conversion."""

import numpy as np
import pytest
import torch

import convscope.tensor as cs
from convscope import Tensor, no_grad

STALE = "one of the variables needed for gradient computation has been modified by an inplace"
VALUES = [1.0, 2.0, 4.0]

OPS = {
    "sqrt": (lambda a, b: a.sqrt(), lambda a, b: a.sqrt()),
    "permute": (
        lambda a, b: a.reshape(1, 3).permute(1, 0),
        lambda a, b: a.reshape(1, 3).permute(1, 0),
    ),
    "gather": (
        lambda a, b: a.gather(0, np.array([2, 0, 0])),
        lambda a, b: a.gather(0, torch.tensor([2, 0, 0])),
    ),
    "concatenate": (lambda a, b: cs.concatenate([a, b]), lambda a, b: torch.cat([a, b])),
    "stack": (lambda a, b: cs.stack([a, b]), lambda a, b: torch.stack([a, b])),
    "astype": (lambda a, b: a.astype(np.float32), lambda a, b: a.float()),
}


def _run(lib, op, change):
    if lib == "ours":
        a = Tensor(np.array(VALUES), requires_grad=True)
        b = Tensor(np.array(VALUES[::-1]), requires_grad=True)
        grad_off = no_grad
    else:
        a = torch.tensor(VALUES, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(VALUES[::-1], dtype=torch.float64, requires_grad=True)
        grad_off = torch.no_grad
    y = OPS[op][0 if lib == "ours" else 1](a, b)
    with grad_off():
        if change == "input":
            a[...] = 5.0
        else:
            y += 1.0
    y.sum().backward()
    grads = [t.grad for t in (a, b)]
    return [np.zeros(3) if g is None else np.asarray(g) for g in grads]


# Left out: gather's input (torch saves it, for its shape only; convscope keeps the shape and
# computes the same gradient whatever happens to the values later).
CASES = [
    (op, change)
    for op in OPS
    for change in ("input", "output")
    if (op, change) != ("gather", "input")
]


@pytest.mark.parametrize(("op", "change"), CASES, ids=[f"{o}-{c}" for o, c in CASES])
def test_in_place_change_after_the_op_behaves_as_in_torch(op, change):
    try:
        expected = _run("torch", op, change)
    except RuntimeError as err:
        assert STALE in str(err)
        with pytest.raises(RuntimeError, match=STALE):
            _run("ours", op, change)
        return
    for got, want in zip(_run("ours", op, change), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_detach_shares_the_version_counter_like_torch():
    w = Tensor(np.array(VALUES), requires_grad=True)
    tw = torch.tensor(VALUES, dtype=torch.float64, requires_grad=True)
    y, ty = w * w, tw * tw
    w.detach()[...] = 5.0
    tw.detach()[...] = 5.0
    with pytest.raises(RuntimeError, match=STALE):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match=STALE):
        y.sum().backward()
    w2 = Tensor(np.array(VALUES), requires_grad=True)
    y2 = w2 * w2
    w2.detach()  # no change: backward runs
    y2.sum().backward()
    np.testing.assert_array_equal(w2.grad, [2.0, 4.0, 8.0])


# ------------------------------------------------------------------ in-place arithmetic


def test_in_place_arithmetic_on_graph_outputs_like_torch():
    w = Tensor(np.array(VALUES), requires_grad=True)
    tw = torch.tensor(VALUES, dtype=torch.float64, requires_grad=True)
    y, ty = w * 2, tw * 2
    for step in (
        lambda t: t.__isub__(1.0),
        lambda t: t.__imul__(3.0),
        lambda t: t.__itruediv__(4.0),
    ):
        y, ty = step(y), step(ty)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)  # 2 · 3 / 4


@pytest.mark.parametrize("symbol", ["-", "*", "/"])
def test_in_place_arithmetic_on_a_leaf_that_requires_grad_is_refused(symbol):
    w = Tensor(np.array(VALUES), requires_grad=True)
    method = {"-": "__isub__", "*": "__imul__", "/": "__itruediv__"}[symbol]
    with pytest.raises(RuntimeError) as info:
        getattr(w, method)(2.0)
    assert str(info.value).startswith(f"{symbol}= on a leaf Tensor that requires grad")
    tw = torch.tensor(VALUES, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(tw, method)(2.0)


# ------------------------------------------------------------------ limits


def test_split_like_torch():
    x = np.arange(10.0).reshape(5, 2)
    for size in (2, 3):
        ours = [p.data for p in Tensor(x).split(size)]
        theirs = [p.numpy() for p in torch.tensor(x).split(size)]
        assert [p.shape for p in ours] == [p.shape for p in theirs]
    empty = Tensor(np.zeros((0, 3))).split(2)
    tempty = torch.zeros((0, 3)).split(2)
    assert [p.shape for p in empty] == [tuple(p.shape) for p in tempty] == [(0, 3)]


def test_gather_with_a_longer_index_along_the_axis_like_torch():
    x = np.arange(6.0).reshape(2, 3)
    idx = np.array([[0, 2, 1, 1, 0], [2, 2, 0, 1, 1]])  # 5 > 3 along axis 1
    got = Tensor(x).gather(1, idx).data
    np.testing.assert_array_equal(got, torch.tensor(x).gather(1, torch.tensor(idx)).numpy())


def test_gather_negative_indices_count_from_the_end_like_numpy():
    x = np.arange(3.0)
    got = Tensor(x).gather(0, np.array([-1, -3, 0])).data
    np.testing.assert_array_equal(got, np.take_along_axis(x, np.array([-1, -3, 0]), 0))
    with pytest.raises(
        ValueError, match=r"^gather: index -4 is out of bounds for axis 0 with size 3\.$"
    ):
        Tensor(x).gather(0, np.array([-4, 1]))


def test_expand_to_a_negative_size_is_refused():
    with pytest.raises(ValueError, match=r"^expand: the expanded size \(-2\) must match"):
        Tensor(np.ones((1, 3))).expand(-2, 3)
    with pytest.raises(RuntimeError):
        torch.ones(1, 3).expand(-2, 3)


# ------------------------------------------------------------------ einsum


@pytest.mark.parametrize("spec", ["...i,...i->...", "i...,i...", "ij->", "bij,bjk->bik"])
def test_einsum_values_and_gradients_like_torch(spec):
    rng = np.random.default_rng(2)
    shapes = {"...i,...i->...": [(2, 3, 4), (2, 3, 4)], "i...,i...": [(4, 2), (4, 2)],
              "ij->": [(2, 3)], "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)]}[spec]  # fmt: skip
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = cs.einsum(spec, *ours), torch.einsum(spec, *theirs)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-12)


def test_einsum_rejects_a_subscript_that_is_not_a_letter():
    with pytest.raises(ValueError) as info:
        cs.einsum("i1,i->", Tensor(np.ones((2, 2))), Tensor(np.ones(2)))
    assert str(info.value) == "einsum expected subscripts made of letters; received 'i1,i->'."


# ------------------------------------------------------------------ pow, repr, conversion


def test_pow_with_exponent_zero_and_mixed_dtypes_like_torch():
    x = np.array([0.0, 2.0, -3.0], np.float32)
    t, tt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (t**0).sum().backward()
    (tt**0).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    exponent = np.array([2.0, 3.0, 2.0])  # float64 exponent, float32 base
    out = Tensor(x) ** Tensor(exponent)
    tout = torch.tensor(x) ** torch.tensor(exponent)
    assert out.dtype == tout.numpy().dtype == np.float64
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-12)


def test_repr_names_dtype_and_grad():
    assert repr(Tensor(np.array([1.0, 2.0]), requires_grad=True)) == (
        "Tensor([1., 2.], dtype=float64, requires_grad=True)"
    )


def test_numpy_copy_with_dtype():
    t = Tensor(np.array([1.5, 2.5]))
    copy = np.array(t, dtype=np.float32, copy=True)
    assert copy.dtype == np.float32
    copy[0] = 9.0
    assert t.data[0] == 1.5
    assert cs.ones(2).dtype == torch.ones(2).numpy().dtype == np.float32
