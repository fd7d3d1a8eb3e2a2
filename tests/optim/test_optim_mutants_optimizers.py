"""Optimizer edges (mutation survivors of optim/optimizer.py, sgd.py, adagrad.py, clip.py,
regularization.py): against torch.optim where PyTorch defines the behaviour (defaults,
step's return value, gradients zeroed in place between momentum steps, negative dampening,
empty gradients in clip_grad_norm_), a hand computation for Adagrad's lost state, and the
wording of convscope's own errors."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adagrad, Adam, clip_grad_norm_, l2_penalty

W0 = np.array([1.0, -2.0, 0.5])


def _loss_grad(w, k):
    """A gradient that changes from step to step: d/dw of Σ (k + 1) · w³ / 3."""
    return (k + 1) * w**2


def test_sgd_default_lr_is_torchs():
    assert (
        SGD([Tensor(np.zeros(1), requires_grad=True)]).defaults["lr"]
        == (torch.optim.SGD([torch.zeros(1, requires_grad=True)]).defaults["lr"])
    )


def test_step_without_closure_returns_none_like_torch():
    w = Tensor(np.zeros(1), requires_grad=True)
    tw = torch.zeros(1, requires_grad=True)
    assert SGD([w], lr=0.1).step() is None and torch.optim.SGD([tw], lr=0.1).step() is None


def test_momentum_buffer_survives_in_place_zero_grad_like_torch():
    w = Tensor(W0.copy(), requires_grad=True)
    tw = torch.tensor(W0, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for k in range(3):
        opt.zero_grad(set_to_none=False)
        topt.zero_grad(set_to_none=False)
        ((Tensor(np.full(3, (k + 1) / 3.0)) * w * w * w).sum()).backward()
        ((torch.full((3,), (k + 1) / 3.0, dtype=torch.float64) * tw**3).sum()).backward()
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)  # the step left it alone


def test_negative_dampening_is_accepted_like_torch():
    w = Tensor(W0.copy(), requires_grad=True)
    tw = torch.tensor(W0, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=-0.5)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9, dampening=-0.5)
    for k in range(2):
        w.grad = _loss_grad(w.data, k)
        tw.grad = torch.tensor(_loss_grad(tw.detach().numpy(), k))
        opt.step()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)


def test_adagrad_restarts_a_lost_state_from_the_initial_accumulator():
    w = Tensor(W0.copy(), requires_grad=True)
    opt = Adagrad([w], lr=0.5, initial_accumulator_value=0.25, eps=1e-10)
    state = opt.state_dict()
    opt.load_state_dict({"state": {}, "param_groups": state["param_groups"]})
    g = np.array([0.5, -1.0, 2.0])
    w.grad = g.copy()
    opt.step()
    expected = W0 - 0.5 * g / (np.sqrt(0.25 + g * g) + 1e-10)  # first step, by hand
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)


def test_clip_grad_norm_with_an_empty_gradient_like_torch():
    empty, full = (
        Tensor(np.zeros((0, 3)), requires_grad=True),
        Tensor(np.zeros(2), requires_grad=True),
    )
    empty.grad = np.zeros((0, 3))
    full.grad = np.array([3.0, 4.0])
    te, tf = torch.zeros((0, 3), requires_grad=True), torch.zeros(2, requires_grad=True)
    te.grad = torch.zeros((0, 3), dtype=torch.float32)
    tf.grad = torch.tensor([3.0, 4.0])
    for norm_type in (2.0, 1.0):
        total = clip_grad_norm_([empty, full], max_norm=100.0, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_([te, tf], max_norm=100.0, norm_type=norm_type)
        assert float(total.item()) == pytest.approx(float(expected), rel=1e-6)
    alone = clip_grad_norm_([empty], max_norm=1.0)
    assert float(alone.item()) == float(torch.nn.utils.clip_grad_norm_([te], max_norm=1.0)) == 0.0


# ------------------------------------------------------------------ errors


def test_dampening_must_be_a_number_and_says_so():
    with pytest.raises(
        TypeError, match=r"^SGD expected dampening to be a number; received dampening='a'"
    ):
        SGD([Tensor(np.zeros(1), requires_grad=True)], momentum=0.9, dampening="a")


def test_add_param_group_refuses_a_set():
    opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(
        TypeError, match=r"^SGD expected params in an ordered collection \(list or tuple\)"
    ):
        opt.add_param_group({"params": {Tensor(np.zeros(1), requires_grad=True)}})


def test_load_state_dict_errors_describe_what_was_received():
    w = Tensor(np.zeros(1), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(from Optimizer\.state_dict\(\)\); received list\.$"):
        SGD([w]).load_state_dict([1])
    with pytest.raises(ValueError, match=r"received dict with keys \['state'\]\.$"):
        SGD([w]).load_state_dict({"state": {}})
    with pytest.raises(
        ValueError,
        match=r"lacks hyper-parameter\(s\) \['betas', 'eps', 'amsgrad'\]; it has "
        r"\['dampening', 'lr', 'maximize', 'momentum', 'nesterov', 'weight_decay'\]\. "
        r"Was it saved from another",
    ):
        Adam([w]).load_state_dict(SGD([w]).state_dict())


def test_penalty_of_a_non_tensor_says_what_to_pass():
    with pytest.raises(
        TypeError, match=r"received float\. Pass model\.parameters\(\) or a list of Tensors\.$"
    ):
        l2_penalty([1.0])


def test_clip_grad_norm_of_empty_float32_gradients_is_a_float32_zero_like_torch():
    e = Tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    e.grad = np.zeros((0, 3), np.float32)
    te = torch.zeros((0, 3), requires_grad=True)
    te.grad = torch.zeros((0, 3))
    total = clip_grad_norm_([e], max_norm=1.0)
    expected = torch.nn.utils.clip_grad_norm_([te], max_norm=1.0)
    assert total.dtype == expected.numpy().dtype == np.float32


def test_clip_grad_norm_of_infinite_gradients_does_not_raise_by_default_like_torch():
    w = Tensor(np.zeros(2, np.float32), requires_grad=True)
    tw = torch.zeros(2, requires_grad=True)
    w.grad = np.array([np.inf, 1.0], np.float32)
    tw.grad = torch.tensor([np.inf, 1.0])
    with np.errstate(invalid="ignore"):  # inf · 0 = nan, as in torch
        total = clip_grad_norm_([w], max_norm=1.0)
    expected = torch.nn.utils.clip_grad_norm_([tw], max_norm=1.0)
    assert float(total.item()) == float(expected) == np.inf
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())  # [nan, 0]
    w.grad = np.array([np.inf, 1.0], np.float32)
    with pytest.raises(RuntimeError) as info:
        clip_grad_norm_([w], max_norm=1.0, error_if_nonfinite=True)
    assert str(info.value) == (
        "The total norm of order 2.0 of the gradients is inf, so it cannot be clipped. Pass "
        "error_if_nonfinite=False to scale by it anyway."
    )
