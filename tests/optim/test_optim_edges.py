"""Edges the step-for-step parity runs do not reach: weight_decay=1, grads left intact,
zero_grad over mixed parameters, every optimizer's error naming itself, clipping norms
of orders 1, 0, -inf and of zero gradients, and float32 results. Checked against
PyTorch or by hand."""

import math

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm_, clip_grad_value_
from convscope.optim.regularization import l2_penalty
from optim.optim_parity import PAIRS

KWARGS = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adam": {"lr": 0.1},
    "AdamW": {"lr": 0.1},
    "RMSprop": {"lr": 0.1, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
}


@pytest.mark.parametrize("name", PAIRS)
def test_weight_decay_of_exactly_one_matches_torch(name):
    ours_cls, torch_cls = PAIRS[name]
    init = np.array([1.0, -2.0, 0.5])
    grads = [np.array([0.3, -0.1, 0.2]), np.array([-0.2, 0.4, 0.1]), np.array([0.1, 0.1, -0.3])]
    w, tw = Tensor(init.copy(), requires_grad=True), torch.tensor(init.copy(), requires_grad=True)
    opt = ours_cls([w], weight_decay=1.0, **KWARGS[name])
    topt = torch_cls([tw], weight_decay=1.0, **KWARGS[name])
    for g in grads:
        w.grad, tw.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", PAIRS)
def test_a_step_leaves_the_gradient_array_untouched(name):
    w = Tensor(np.ones(3), requires_grad=True)
    opt = PAIRS[name][0]([w], weight_decay=0.1, **KWARGS[name])
    grad = np.array([0.5, -1.0, 2.0])
    for _ in range(3):
        w.grad = grad
        opt.step()
        np.testing.assert_array_equal(grad, [0.5, -1.0, 2.0])  # momentum buffers are copies


def test_zero_grad_clears_every_parameter_even_after_one_without_gradient():
    a, b, c = (Tensor(np.ones(2), requires_grad=True) for _ in range(3))
    b.grad, c.grad = np.ones(2), np.ones(2)  # a has no gradient
    opt = SGD([a, b, c], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert a.grad is None
    np.testing.assert_array_equal(b.grad, 0.0)
    np.testing.assert_array_equal(c.grad, 0.0)
    opt.zero_grad()
    assert b.grad is None and c.grad is None


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("arg", ["lr", "eps", "weight_decay"])
def test_errors_name_the_optimizer_and_the_argument(name, arg):
    if name == "SGD" and arg == "eps":
        pytest.skip("SGD has no eps")
    with pytest.raises(ValueError) as info:
        PAIRS[name][0]([Tensor(np.ones(2), requires_grad=True)], **{arg: -1.0})
    assert str(info.value).startswith(f"{name} expected {arg} ")
    assert str(info.value).endswith(f"received {arg}=-1.0.")


def _grads(*arrays, dtype=np.float64):
    params = []
    for a in arrays:
        p = Tensor(np.zeros(len(a), dtype=dtype), requires_grad=True)
        p.grad = np.array(a, dtype=dtype)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, 0.0, math.inf, -math.inf])
def test_clip_grad_norm_orders_match_torch(norm_type):
    arrays = ([3.0, -4.0, 0.0], [1.0, 0.0])
    ours = _grads(*arrays)
    theirs = [torch.zeros(len(a), dtype=torch.float64, requires_grad=True) for a in arrays]
    for t, a in zip(theirs, arrays, strict=True):
        t.grad = torch.tensor(a, dtype=torch.float64)
    total = clip_grad_norm_(ours, 0.5, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)
    # By hand: the norm of the per-tensor norms (as PyTorch). Order 1: 7 + 1 = 8; order 0
    # counts the tensors with a non-zero norm (2); order -inf: the smaller of 0 and 0.
    assert {1.0: 8.0, 0.0: 2.0, -math.inf: 0.0}.get(norm_type, total.item()) == total.item()


def test_clip_grad_norm_of_zero_gradients_and_float32():
    zero = _grads([0.0, 0.0], dtype=np.float32)
    assert clip_grad_norm_(zero, 1.0).item() == 0.0
    for order in (math.inf, 0.0, 1.0):
        total = clip_grad_norm_(_grads([0.0, 0.0], dtype=np.float32), 1.0, norm_type=order)
        assert total.item() == 0.0 and total.dtype == np.float32
    none = Tensor(np.zeros(2, np.float32), requires_grad=True)  # no gradient at all
    empty = clip_grad_norm_([none], 1.0)
    assert empty.item() == 0.0 and empty.dtype == np.float32
    big = _grads([30.0, 40.0], dtype=np.float32)
    assert clip_grad_norm_(big, 1.0).dtype == np.float32 and big[0].grad.dtype == np.float32
    np.testing.assert_allclose(big[0].grad, [0.6, 0.8], rtol=1e-5)


def test_clip_grad_norm_raises_on_a_nonfinite_norm_only_when_asked():
    with pytest.raises(RuntimeError, match="Pass error_if_nonfinite=False to scale by it anyway"):
        clip_grad_norm_(_grads([math.inf, 1.0]), 1.0, error_if_nonfinite=True)
    finite = _grads([3.0, 4.0])
    assert clip_grad_norm_(finite, 1.0, error_if_nonfinite=True).item() == pytest.approx(5.0)


def test_clip_grad_value_zero_clamps_to_zero_as_torch():
    ours = _grads([0.5, -2.0])
    clip_grad_value_(ours, 0.0)
    np.testing.assert_array_equal(ours[0].grad, [0.0, 0.0])
    t = torch.zeros(2, requires_grad=True)
    t.grad = torch.tensor([0.5, -2.0])
    torch.nn.utils.clip_grad_value_([t], 0.0)
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, 0.0])


def test_penalty_of_one_tensor_and_of_nothing():
    w = Tensor(np.array([3.0, 4.0], np.float32), requires_grad=True)
    assert l2_penalty(w).item() == pytest.approx(l2_penalty([w]).item())
    empty = l2_penalty([])
    assert empty.item() == 0.0 and empty.dtype == np.float32


def test_repr_lists_each_group_without_params():
    opt = Adam([Tensor(np.ones(1), requires_grad=True)], lr=0.01)
    text = repr(opt)
    assert text.startswith("Adam (\nParameter Group 0\n") and text.endswith("\n)")
    assert "    lr: 0.01" in text and "params" not in text
    assert AdamW and Adagrad and RMSprop  # all importable from convscope.optim
