"""The Tensor's public surface that gradients do not exercise: op names (grad_fn),
dtype promotion of mixed operands, repr, len, NumPy conversion and the constructors,
each checked against PyTorch or by hand."""

import numpy as np
import pytest
import torch

import convscope as cs
from convscope import Tensor
from convscope import tensor as T

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda x: x + 1.0, "add"),
        (lambda x: x - 1.0, "sub"),
        (lambda x: x * 2.0, "mul"),
        (lambda x: x / 2.0, "div"),
        (lambda x: -x, "neg"),
        (lambda x: x**2.0, "pow"),
        (lambda x: x @ x.T, "matmul"),
        (lambda x: x.exp(), "exp"),
        (lambda x: x.abs().log(), "log"),
        (lambda x: x.abs().sqrt(), "sqrt"),
        (lambda x: x.abs(), "abs"),
        (lambda x: x.clip(-1.0, 1.0), "clip"),
        (lambda x: x.sum(), "sum"),
        (lambda x: x.max(), "max"),
        (lambda x: x.min(axis=0), "min"),
        (lambda x: x.reshape(3, 2), "reshape"),
        (lambda x: x.permute(1, 0), "permute"),
        (lambda x: x.reshape(1, 2, 3).squeeze(0), "squeeze"),
        (lambda x: x.unsqueeze(0), "unsqueeze"),
        (lambda x: x[0], "getitem"),
        (lambda x: x.astype(np.float64), "astype"),
        (lambda x: cs.concatenate([x, x]), "concatenate"),
        (lambda x: cs.stack([x, x]), "stack"),
        (lambda x: x.expand(2, 2, 3), "expand"),
        (lambda x: x.gather(0, np.array([[1, 0, 1]])), "gather"),
        (lambda x: cs.where(np.array([True, False, True]), x, 0.0), "where"),
        (lambda x: cs.einsum("ij->j", x), "einsum"),
    ],
)
def test_every_op_names_itself_in_grad_fn_and_repr(make, name):
    out = make(Tensor(A, requires_grad=True))
    assert out.grad_fn == name and not out.is_leaf
    assert repr(out).endswith(f"grad_fn={name})")
    assert make(Tensor(A)).grad_fn is None  # no graph: no name


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "matmul"])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.float64, np.float32)])
def test_mixed_float_operands_promote_and_differentiate_as_torch(op, dtypes):
    a = np.abs(A).astype(dtypes[0]) + 0.5
    b = (np.abs(A.T) if op == "matmul" else np.abs(A)).astype(dtypes[1]) + 0.5
    fn = {"matmul": lambda x, y: x @ y}.get(op, lambda x, y: getattr(x, f"__{op}__")(y))
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = fn(x, y)
    # torch.matmul refuses mixed dtypes; we promote as its elementwise ops do.
    expected = tx.double() @ ty.double() if op == "matmul" else fn(tx, ty)
    assert out.dtype == np.float64 and expected.dtype == torch.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
    upstream = np.ones(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for mine, theirs in ((x, tx), (y, ty)):
        assert mine.grad.dtype == mine.dtype  # each gradient in its input's own dtype
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-5)


def test_integer_division_is_float32_as_torch():
    out = Tensor(np.array([3, 4])) / Tensor(np.array([2, 8]))
    assert out.dtype == np.float32
    assert (torch.tensor([3, 4]) / torch.tensor([2, 8])).dtype == torch.float32
    np.testing.assert_array_equal(out.data, [1.5, 0.5])


def test_len_repr_and_numpy_conversion():
    assert len(Tensor(np.zeros(5))) == 5 and len(Tensor(np.zeros((3, 7)))) == 3
    with pytest.raises(TypeError, match=r"^len\(\) of a 0-d tensor$"):
        len(Tensor(2.0))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(torch.tensor(2.0))
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert repr(w * 2) == "Tensor([2., 4.], dtype=float64, grad_fn=mul)"
    assert repr(Tensor(np.array([1.0], np.float32), requires_grad=True)) == (
        "Tensor([1.], requires_grad=True)"
    )
    assert repr(Tensor(np.eye(2, dtype=np.float32))) == "Tensor([[1., 0.],\n        [0., 1.]])"
    t = Tensor(A)
    assert np.asarray(t) is A or np.shares_memory(np.asarray(t), A)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copied = np.array(t, copy=True)
    assert not np.shares_memory(copied, A) and copied.dtype == np.float32
    assert np.array(t, dtype=np.float16, copy=True).dtype == np.float16


def test_reductions_keep_torchs_shapes():
    x = np.arange(6.0).reshape(3, 1, 2)
    for method, torch_fn in (("max", torch.amax), ("min", torch.amin)):
        ours = getattr(Tensor(x), method)(axis=0)
        assert ours.shape == tuple(torch_fn(torch.tensor(x), dim=0).shape) == (1, 2)
        assert getattr(Tensor(x), method)(axis=(0, 2)).shape == (1,)


@pytest.mark.parametrize("start, end", [(0, -1), (1, -1), (1, 2), (0, 1), (2, 3), (-2, -1)])
def test_flatten_matches_torch(start, end):
    x = np.zeros((2, 3, 4, 5))
    assert Tensor(x).flatten(start, end).shape == tuple(torch.tensor(x).flatten(start, end).shape)


def test_constructors_pass_their_arguments_on():
    t = T.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    assert t.requires_grad and t.dtype == np.float64 and t.tolist() == [1.0, 2.0]
    assert cs.zeros(2, 3, requires_grad=True).requires_grad
    assert not cs.zeros(2).requires_grad and cs.zeros((2,)).dtype == np.float32
    assert cs.ones(2, dtype=np.float64).dtype == np.float64
    assert cs.ones(2, requires_grad=True).requires_grad
    with pytest.raises(
        ValueError, match=r"^concatenate\(\) needs at least one tensor; received none\.$"
    ):
        cs.concatenate([])
    with pytest.raises(ValueError, match=r"^stack\(\) needs at least one tensor; received none\.$"):
        cs.stack([])


def test_enable_grad_decorates_with_and_without_parentheses():
    w = Tensor(np.ones(2, np.float32), requires_grad=True)

    @cs.enable_grad
    def bare(t):
        return t * 2.0

    @cs.enable_grad()
    def called(t):
        return t * 2.0

    with cs.no_grad():
        assert bare(w).requires_grad and called(w).requires_grad
        assert not (w * 2.0).requires_grad
    assert bare.__name__ == "bare"
