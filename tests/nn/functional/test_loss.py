"""Losses against PyTorch and finite differences, plus their error messages."""

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import Tensor
from convscope.nn import functional as F
from oracle import check_grad, torch_parity

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
# (input shape, class-index target shape): 2-D, batch of one, 3-D, 4-D, unbatched.
CLASS_SHAPES = [
    ((4, 5), (4,)),
    ((1, 5), (1,)),
    ((3, 4, 5), (3, 5)),
    ((2, 4, 3, 3), (2, 3, 3)),
    ((5,), ()),
]


def logits_and_labels(shape, target_shape, dtype, seed=0, ignore_index=None):
    rng = np.random.default_rng(seed)
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    y = rng.integers(0, classes, target_shape)
    if ignore_index is not None and y.size > 1:
        y.flat[0] = ignore_index
    return x, y, classes


def torch_weight(weight):
    return None if weight is None else torch.tensor(weight)


# --------------------------------------------------------------------------- cross_entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,target_shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_class_indices_match_torch(
    dtype, shape, target_shape, reduction, weighted, smoothing, ignore_index
):
    x, y, classes = logits_and_labels(shape, target_shape, dtype, ignore_index=ignore_index)
    weight = np.random.default_rng(1).uniform(0.5, 2, classes).astype(dtype) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    out = torch_parity(
        lambda a, t: F.cross_entropy(a, t, weight=weight, **kwargs),
        lambda a, t: TF.cross_entropy(a, t, weight=torch_weight(weight), **kwargs),
        x,
        y,
    )
    assert out.dtype == dtype
    assert out.shape == (target_shape if reduction == "none" else ())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 5), (1, 5), (2, 4, 3, 3), (5,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets_match_torch(
    dtype, shape, reduction, weighted, smoothing
):
    rng = np.random.default_rng(2)
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    p = rng.random(shape)
    p = (p / p.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)).astype(dtype)
    weight = rng.uniform(0.5, 2, classes).astype(dtype) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    # Both the logits and the probabilities require grad: both gradients are compared.
    torch_parity(
        lambda a, t: F.cross_entropy(a, t, weight=weight, **kwargs),
        lambda a, t: TF.cross_entropy(a, t, weight=torch_weight(weight), **kwargs),
        x,
        p,
    )


@pytest.mark.parametrize(
    "label_dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64]
)
def test_cross_entropy_any_integer_label_dtype(label_dtype):
    x, y, _ = logits_and_labels((6, 4), (6,), np.float32)
    torch_parity(
        lambda a, t: F.cross_entropy(a, t),
        lambda a, t: TF.cross_entropy(a, t.long()),
        x,
        y.astype(label_dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extreme_logits(dtype, smoothing, reduction):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]], dtype)
    y = np.array([1, 1, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch_parity(
            lambda a, t: F.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing),
            lambda a, t: TF.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing),
            x,
            y,
        )
    assert np.all(np.isfinite(out.data))
    if reduction == "none" and smoothing == 0:
        np.testing.assert_allclose(out.data, [2e4, 0.0, np.log(3), np.log(3)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits_probability_targets(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], dtype)
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch_parity(F.cross_entropy, TF.cross_entropy, x, p)
    assert np.isfinite(out.item())


def test_cross_entropy_gradient_is_finite_for_extreme_logits():
    x = Tensor(np.array([[1e4, -1e4, 0.0]], np.float32), requires_grad=True)
    F.cross_entropy(x, Tensor(np.array([1]))).backward()
    np.testing.assert_allclose(x.grad, [[1.0, -1.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,target_shape", [((3, 4), (3,)), ((2, 3, 2, 2), (2, 2, 2))])
def test_cross_entropy_gradcheck_class_indices(smoothing, reduction, shape, target_shape):
    x, y, classes = logits_and_labels(shape, target_shape, np.float64, seed=3, ignore_index=-100)
    weight = np.random.default_rng(4).uniform(0.5, 2, classes)
    target = Tensor(y)  # closed over: gradcheck would turn an integer input into float64
    check_grad(
        lambda a: F.cross_entropy(
            a, target, weight=weight, reduction=reduction, label_smoothing=smoothing
        ),
        x,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_probability_targets(reduction):
    rng = np.random.default_rng(5)
    weight = rng.uniform(0.5, 2, 4)
    check_grad(
        lambda a, p: F.cross_entropy(a, p, weight=weight, reduction=reduction, label_smoothing=0.1),
        rng.standard_normal((3, 4)),
        rng.random((3, 4)),
    )


def test_cross_entropy_all_ignored():
    x = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    y = Tensor(np.array([-100, -100]))
    loss = F.cross_entropy(x, y)  # 0 / 0, as PyTorch
    assert np.isnan(loss.item()) and loss.dtype == np.float32
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))
    assert F.cross_entropy(x, y, reduction="sum").item() == 0.0


def test_cross_entropy_ignored_sample_with_minus_inf_logit_is_not_nan():
    x = Tensor(np.array([[-np.inf, 0.0], [0.0, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(x, Tensor(np.array([-100, 1])))
    np.testing.assert_allclose(loss.item(), np.log(2))
    loss.backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0], [0.5, -0.5]])


def test_cross_entropy_keeps_float32_with_float64_probabilities():
    x = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    p = Tensor(np.full((2, 3), 1 / 3), requires_grad=True)
    loss = F.cross_entropy(x, p)
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and p.grad.dtype == np.float64


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 5),
    c=st.integers(2, 6),
    shift=st.floats(-50, 50),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_properties(n, c, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 3
    y = rng.integers(0, c, n)
    loss = F.cross_entropy(Tensor(x), Tensor(y), reduction="none").data
    assert np.all(loss >= 0)
    # Softmax is shift-invariant, so cross-entropy is too.
    moved = F.cross_entropy(Tensor(x + shift), Tensor(y), reduction="none").data
    np.testing.assert_allclose(moved, loss, atol=1e-10)
    # The definition, by hand: -log(exp(x_y) / Σ exp(x)).
    by_hand = -np.log(np.exp(x[np.arange(n), y]) / np.exp(x).sum(axis=1))
    np.testing.assert_allclose(loss, by_hand, rtol=1e-10)
    # nll_loss(log_softmax) is the same thing.
    nll = F.nll_loss(F.log_softmax(Tensor(x), dim=1), Tensor(y), reduction="none").data
    np.testing.assert_allclose(nll, loss, rtol=1e-12)


# --------------------------------------------------------------------------- nll_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,target_shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_nll_loss_matches_torch(dtype, shape, target_shape, reduction, weighted, ignore_index):
    x, y, classes = logits_and_labels(shape, target_shape, dtype, ignore_index=ignore_index)
    weight = np.random.default_rng(1).uniform(0.5, 2, classes).astype(dtype) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction)
    out = torch_parity(
        lambda a, t: F.nll_loss(a, t, weight=weight, **kwargs),
        lambda a, t: TF.nll_loss(a, t, weight=torch_weight(weight), **kwargs),
        x,
        y,
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction):
    x, y, _ = logits_and_labels((4, 3), (4,), np.float64, seed=6, ignore_index=-100)
    target = Tensor(y)
    check_grad(
        lambda a: F.nll_loss(a, target, weight=np.array([1.0, 2.0, 0.5]), reduction=reduction), x
    )


def test_nll_loss_rejects_probability_targets():
    with pytest.raises(ValueError) as info:
        F.nll_loss(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3))))
    assert str(info.value) == (
        "nll_loss expected a target of shape (2,) (class indices) for input of shape (2, 3); "
        "received target of shape (2, 3)."
    )


# --------------------------------------------------------------------------- mse_loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (4, 3), (1, 1), (2, 3, 4, 5)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(dtype, shape, reduction):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    out = torch_parity(
        lambda x, t: F.mse_loss(x, t, reduction=reduction),
        lambda x, t: TF.mse_loss(x, t, reduction=reduction),
        a,
        b,
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_gradcheck(reduction):
    rng = np.random.default_rng(8)
    check_grad(
        lambda x, t: F.mse_loss(x, t, reduction=reduction),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    )


def test_mse_loss_refuses_to_broadcast():
    with pytest.raises(ValueError) as info:
        F.mse_loss(Tensor(np.zeros((8, 1))), Tensor(np.zeros(8)))
    assert str(info.value) == (
        "mse_loss expected a target of the same shape as the input (8, 1); received (8,)."
    )


# --------------------------------------------------------------------------- BCE with logits


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (1, 3), (4, 3), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("positive_weighted", [False, True])
def test_bce_with_logits_matches_torch(dtype, shape, reduction, weighted, positive_weighted):
    rng = np.random.default_rng(9)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.random(shape).astype(dtype)
    # weight broadcasts over the whole input; pos_weight over the last dimension.
    weight = rng.uniform(0.5, 2, shape[-1:]).astype(dtype) if weighted else None
    pos_weight = rng.uniform(0.5, 3, shape[-1:]).astype(dtype) if positive_weighted else None
    out = torch_parity(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, weight=weight, reduction=reduction, pos_weight=pos_weight
        ),
        lambda a, b: TF.binary_cross_entropy_with_logits(
            a,
            b,
            weight=torch_weight(weight),
            reduction=reduction,
            pos_weight=torch_weight(pos_weight),
        ),
        x,
        t,
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("positive_weighted", [False, True])
def test_bce_with_logits_extreme_logits(dtype, positive_weighted):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype)
    pos_weight = np.array(2.0, dtype) if positive_weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = torch_parity(
            lambda a, b: F.binary_cross_entropy_with_logits(
                a, b, reduction="none", pos_weight=pos_weight
            ),
            lambda a, b: TF.binary_cross_entropy_with_logits(
                a, b, reduction="none", pos_weight=torch_weight(pos_weight)
            ),
            x,
            t,
        )
    expected_wrong = 2e4 if positive_weighted else 1e4
    np.testing.assert_allclose(out.data[:4], [0.0, 0.0, 1e4, expected_wrong], rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(reduction):
    rng = np.random.default_rng(10)
    weight, pos_weight = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 3, 4)
    check_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, weight=weight, reduction=reduction, pos_weight=pos_weight
        ),
        rng.standard_normal((3, 4)) * 2,
        rng.random((3, 4)),
    )


def test_bce_with_logits_shape_errors():
    with pytest.raises(ValueError) as info:
        F.binary_cross_entropy_with_logits(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    assert str(info.value) == (
        "binary_cross_entropy_with_logits expected a target of the same shape as the input "
        "(4, 1); received (4,)."
    )
    with pytest.raises(ValueError) as info:
        F.binary_cross_entropy_with_logits(
            Tensor(np.zeros((4, 3))), Tensor(np.zeros((4, 3))), pos_weight=np.ones(4)
        )
    assert str(info.value) == (
        "binary_cross_entropy_with_logits expected pos_weight broadcastable to the input shape "
        "(4, 3); received (4,)."
    )


# --------------------------------------------------------------------------- shared errors

LOSSES = {
    "cross_entropy": lambda **kw: F.cross_entropy(
        Tensor(np.zeros((2, 3))), Tensor(np.array([0, 1])), **kw
    ),
    "nll_loss": lambda **kw: F.nll_loss(Tensor(np.zeros((2, 3))), Tensor(np.array([0, 1])), **kw),
    "mse_loss": lambda **kw: F.mse_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), **kw),
    "binary_cross_entropy_with_logits": lambda **kw: F.binary_cross_entropy_with_logits(
        Tensor(np.zeros(2)), Tensor(np.zeros(2)), **kw
    ),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["avg", "MEAN", None])
def test_bad_reduction(name, reduction):
    with pytest.raises(ValueError) as info:
        LOSSES[name](reduction=reduction)
    assert str(info.value) == (
        f"{name} expected reduction to be one of 'mean', 'sum', 'none'; received {reduction!r}."
    )


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [12, 10, -1])
def test_class_index_out_of_range(name, bad):
    y = np.array([0, 3, bad, 9])
    with pytest.raises(ValueError) as info:
        getattr(F, name)(Tensor(np.zeros((4, 10))), Tensor(y))
    assert str(info.value) == (
        f"{name} expected class indices in [0, 10); received {bad}. "
        "Samples to skip must be labelled ignore_index=-100."
    )


def test_cross_entropy_brief_error_text():
    with pytest.raises(
        ValueError, match=re.escape("cross_entropy expected class indices in [0, 10); received 12")
    ):
        F.cross_entropy(Tensor(np.zeros((1, 10), np.float32)), Tensor(np.array([12])))


def test_cross_entropy_float_labels_message():
    with pytest.raises(TypeError) as info:
        F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor([0.0, 2.0]))
    assert str(info.value) == (
        "cross_entropy expected integer class indices as target; received dtype float32. "
        "Convert the labels, e.g. target.astype(np.int64)."
    )


def test_cross_entropy_target_shape_messages():
    with pytest.raises(ValueError) as info:
        F.cross_entropy(Tensor(np.zeros((8, 10))), Tensor(np.zeros((8, 1), np.int64)))
    assert str(info.value) == (
        "cross_entropy expected a target of class indices of shape (8,) for input of shape "
        "(8, 10); received target of shape (8, 1)."
    )
    with pytest.raises(ValueError) as info:
        F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor(np.eye(3, dtype=np.int64)[[0, 2]]))
    assert str(info.value) == (
        "cross_entropy expected a target of class indices of shape (2,) for input of shape "
        "(2, 3); received target of shape (2, 3). For class probabilities (e.g. one-hot rows) "
        "pass a floating-point target."
    )
    with pytest.raises(ValueError) as info:
        F.cross_entropy(Tensor(np.zeros((8, 10))), Tensor(np.zeros((8, 5))))
    assert str(info.value) == (
        "cross_entropy expected a target of shape (8,) (class indices) or (8, 10) (class "
        "probabilities) for input of shape (8, 10); received target of shape (8, 5)."
    )


def test_cross_entropy_dtype_messages():
    with pytest.raises(TypeError) as info:
        F.cross_entropy(Tensor(np.zeros((2, 3), np.int64)), Tensor(np.array([0, 1])))
    assert str(info.value) == (
        "cross_entropy expected a floating-point input (logits); received dtype int64. "
        "Convert it first, e.g. x.float()."
    )
    with pytest.raises(TypeError) as info:
        F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor(np.array([True, False])))
    assert str(info.value) == (
        "cross_entropy expected a target of integer class indices or floating-point class "
        "probabilities; received dtype bool."
    )
    with pytest.raises(
        TypeError, match="mse_loss expected a floating-point target; received dtype int64"
    ):
        F.mse_loss(Tensor(np.zeros(2)), Tensor(np.array([1, 2])))


def test_cross_entropy_argument_messages():
    x, y = Tensor(np.zeros((2, 3))), Tensor(np.array([0, 1]))
    with pytest.raises(ValueError) as info:
        F.cross_entropy(x, y, label_smoothing=1.5)
    assert str(info.value) == "cross_entropy expected label_smoothing in [0, 1]; received 1.5."
    with pytest.raises(ValueError) as info:
        F.cross_entropy(x, y, weight=np.ones(4))
    assert str(info.value) == (
        "cross_entropy expected weight of shape (3,) (one value per class); received (4,)."
    )
    with pytest.raises(ValueError) as info:
        F.cross_entropy(Tensor(np.array(1.0)), y)
    assert str(info.value) == (
        "cross_entropy expected input of shape (N, C), (N, C, d1, ...) or (C,); "
        "received a 0-d tensor."
    )
