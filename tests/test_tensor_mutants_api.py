"""Tensor API edges against PyTorch and NumPy (mutation survivors of tensor.py): defaults
(keepdims, axis, requires_grad, correction), the module-level elementwise functions, size-0
and size-1 arguments, einsum spellings and dtype promotion, NaN gradients without warnings,
reused subgraphs, and error messages naming the offending value."""

import warnings

import numpy as np
import pytest
import torch

import convscope.tensor as cs  # the engine's module-level functions
from convscope import Tensor

X = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])


def test_defaults_match_torch():
    t, tt = Tensor(X), torch.tensor(X)
    assert t.mean().shape == tuple(tt.mean().shape) == ()
    assert t.mean(axis=1).shape == tuple(tt.mean(dim=1).shape) == (2,)
    assert cs.tensor([1.0]).requires_grad is torch.tensor([1.0]).requires_grad is False
    assert cs.ones(2).requires_grad is torch.ones(2).requires_grad is False
    np.testing.assert_array_equal(cs.concatenate([t, t]).data, torch.cat([tt, tt]).numpy())
    np.testing.assert_array_equal(cs.stack([t, t]).data, torch.stack([tt, tt]).numpy())


@pytest.mark.parametrize("kwargs", [{}, {"unbiased": False}, {"unbiased": True}, {"axis": 1}])
def test_std_and_var_defaults_match_torch(kwargs):
    t, tt = Tensor(X), torch.tensor(X)
    tk = {"dim": kwargs["axis"]} if "axis" in kwargs else dict(kwargs)
    np.testing.assert_allclose(t.std(**kwargs).data, tt.std(**tk).numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.var(**kwargs).data, tt.var(**tk).numpy(), rtol=1e-12)


def test_variance_of_one_value_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = Tensor(np.array([2.0])).var().data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "degrees of freedom is <= 0"
        expected = torch.tensor([2.0], dtype=torch.float64).var(correction=1).item()
    assert np.isnan(got) and np.isnan(expected)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs"])
def test_module_level_elementwise_functions_match_torch(name):
    x = np.abs(X) + 0.25
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    out = getattr(cs, name)(t)
    tout = getattr(torch, name)(tt)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)
    assert getattr(cs, name).__name__ == name
    np.testing.assert_allclose(getattr(cs, name)(x).data, tout.detach().numpy(), rtol=1e-12)


def test_double_casts_float32_to_float64():
    t = Tensor(np.array([1.5, 2.25], np.float32)).double()
    assert t.dtype == torch.tensor([1.5], dtype=torch.float32).double().numpy().dtype == np.float64


def test_numpy_conversion_honours_the_requested_dtype():
    assert np.asarray(Tensor(X), dtype=np.float32).dtype == np.float32


def test_expand_to_size_zero_and_split_by_one_like_torch():
    assert Tensor(np.ones((1, 3))).expand(0, 3).shape == tuple(torch.ones(1, 3).expand(0, 3).shape)
    ours = [p.data for p in Tensor(X).split(1, axis=1)]
    theirs = [p.numpy() for p in torch.tensor(X).split(1, dim=1)]
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_gather_names_an_index_equal_to_the_size():
    with pytest.raises(
        ValueError, match=r"^gather: index 3 is out of bounds for axis 0 with size 3\.$"
    ):
        Tensor(np.arange(3.0)).gather(0, np.array([0, 3]))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 0 with size 3"):
        torch.arange(3.0).gather(0, torch.tensor([0, 3]))


def test_axis_error_gives_the_valid_range():
    with pytest.raises(
        ValueError, match=r"^axis expected integers in \[-2, 1\] for a tensor with 2 "
    ):
        Tensor(X).sum(axis=2)


def test_backward_without_grad_says_why():
    with pytest.raises(
        RuntimeError, match=r"had requires_grad=True, or it ran inside no_grad\(\)\.$"
    ):
        Tensor(X).sum().backward()


# ------------------------------------------------------------------ einsum


def test_einsum_with_spaces_and_upper_case_implicit_output_like_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    for spec in ("ij, kj -> ik", "iX,kX", "Xj,kj"):
        np.testing.assert_allclose(
            cs.einsum(spec, Tensor(a), Tensor(b)).data,
            torch.einsum(spec, torch.tensor(a), torch.tensor(b)).numpy(),
            rtol=1e-12,
        )


def test_einsum_promotes_like_numpy():
    a = np.ones(3, np.float32)
    for others in ([np.ones(3, np.float32), np.ones(3)], [np.ones(3), np.ones(3, np.float32)]):
        arrays = [a, *others]
        expected = np.einsum("i,i,i->", *arrays).dtype  # float64: NumPy's promotion
        assert cs.einsum("i,i,i->", *(Tensor(x) for x in arrays)).dtype == expected == np.float64


def test_einsum_gradient_of_the_second_operand_when_the_first_is_constant():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    tb = Tensor(b, requires_grad=True)
    ttb = torch.tensor(b, requires_grad=True)
    cs.einsum("ij,j->i", Tensor(a), tb).sum().backward()
    torch.einsum("ij,j->i", torch.tensor(a), ttb).sum().backward()
    np.testing.assert_allclose(tb.grad, ttb.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ graphs and NaN gradients


def test_pow_gradient_for_a_negative_base_is_nan_without_a_warning():
    base, exponent = Tensor(np.array([-2.0, 3.0])), Tensor(np.array([2.0, 2.0]), requires_grad=True)
    tbase = torch.tensor([-2.0, 3.0], dtype=torch.float64)
    texponent = torch.tensor([2.0, 2.0], dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        (base**exponent).sum().backward()
    (tbase**texponent).sum().backward()
    np.testing.assert_allclose(exponent.grad, texponent.grad.numpy(), rtol=1e-12)  # [nan, 9 ln 3]


def test_a_deeply_reused_subgraph_is_walked_once():
    a = Tensor(np.array([1.0]), requires_grad=True)
    x = a
    for _ in range(60):  # x = x + x: 2**60 paths from the output to a, 61 nodes
        x = x + x
    x.backward()
    assert a.grad[0] == 2.0**60


def test_slices_are_views_written_through_like_torch():
    t, tt = Tensor(np.arange(4.0)), torch.arange(4.0, dtype=torch.float64)
    view, tview = t[1:3], tt[1:3]
    view[...] = 9.0
    tview[...] = 9.0
    np.testing.assert_array_equal(t.data, tt.numpy())


def test_where_of_mixed_dtypes_promotes_like_torch():
    cond = np.array([True, False, True])
    a, b = np.array([1.5, 2.5, 3.5], np.float32), np.array([10.0, 20.0, 30.0])
    out = cs.where(cond, Tensor(a), Tensor(b))
    tout = torch.where(torch.tensor(cond), torch.tensor(a), torch.tensor(b))
    assert out.dtype == tout.numpy().dtype == np.float64
    np.testing.assert_array_equal(out.data, tout.numpy())
