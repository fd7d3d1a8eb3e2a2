"""Each optimizer against torch.optim, step for step, and the invariants of ``step``."""

import numpy as np
import pytest
import torch

import convscope as cs
from convscope import Tensor
from convscope.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from optim.optim_parity import PAIRS, VARIANTS, gradient_sequence, run_parity, set_grads, variant_id


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_matches_torch_float64(variant):
    name, kwargs = variant
    run_parity(name, kwargs, np.float64, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_matches_torch_float32(variant):
    name, kwargs = variant
    opt, _, ours, _ = run_parity(name, kwargs, np.float32, atol=2e-5, rtol=1e-5)
    for p in ours:
        for key, value in opt.state.get(p, {}).items():
            if key != "step":
                assert value.dtype == np.float32, f"state {key!r} is {value.dtype}"


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_state_matches_torch_state_dict(variant):
    """Same state keys, values and group layout as torch's state_dict (tensors via .numpy())."""
    name, kwargs = variant
    opt, topt, _, _ = run_parity(name, kwargs, np.float64, atol=1e-12, rtol=1e-10, steps=6)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for i, state in ours["state"].items():
        assert state.keys() == theirs["state"][i].keys()
        for key, value in state.items():
            expected = theirs["state"][i][key]
            if key == "step":
                assert value == int(expected.item())
            else:
                np.testing.assert_allclose(value, expected.numpy(), atol=1e-12, rtol=1e-10)
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert group["params"] == tgroup["params"]
        for key, value in group.items():
            assert value == tgroup[key], key


@pytest.mark.parametrize("name", PAIRS)
def test_param_groups_with_their_own_lr(name):
    def groups(params):
        return [{"params": [params[0]], "lr": 0.2}, {"params": params[1:]}]

    run_parity(name, {"lr": 0.01}, np.float64, atol=1e-12, rtol=1e-10, make_groups=groups)


def test_param_group_overrides_other_hyper_parameters():
    def groups(params):
        return [
            {"params": [params[0]], "momentum": 0.0},
            {"params": params[1:], "lr": 0.3, "nesterov": True},
        ]

    opt, *_ = run_parity(
        "SGD", {"lr": 0.1, "momentum": 0.9}, np.float64, 1e-12, 1e-10, make_groups=groups
    )
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.3]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]


def test_add_param_group_matches_torch():
    init, grads = gradient_sequence(np.float64, steps=6)
    ours = [Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, topt = Adam(ours[:2], lr=0.1), torch.optim.Adam(theirs[:2], lr=0.1)
    for t, step_grads in enumerate(grads):
        if t == 3:
            opt.add_param_group({"params": ours[2], "lr": 0.01, "amsgrad": True})
            topt.add_param_group({"params": theirs[2], "lr": 0.01, "amsgrad": True})
        set_grads(ours, theirs, step_grads)
        opt.step()
        topt.step()
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, q.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("name", PAIRS)
def test_parameter_without_grad_is_untouched(name):
    cls = PAIRS[name][0]
    w = Tensor(np.ones(3), requires_grad=True)
    frozen = Tensor(np.ones(3), requires_grad=True)
    opt = cls([w, frozen], lr=0.1, weight_decay=0.1)  # weight decay would move it if stepped
    w.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(frozen.data, np.ones(3))
    assert not opt.state.get(frozen) or opt.state[frozen].get("step", 0) == 0
    assert not np.array_equal(w.data, np.ones(3))


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_step_updates_data_in_place_and_leaves_grad_alone(variant):
    name, kwargs = variant
    w = Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    data = w.data
    view = data[0]  # a view must see the update
    before = data.copy()
    opt = PAIRS[name][0]([w], **kwargs)
    for _ in range(3):
        grad = np.random.default_rng(2).standard_normal((4, 3))
        w.grad = grad
        saved = grad.copy()
        opt.step()
        assert w.grad is grad
        np.testing.assert_array_equal(grad, saved)
    assert w.data is data
    assert not np.array_equal(view, before[0])


@pytest.mark.parametrize("name", PAIRS)
def test_trains_through_autograd_like_torch(name):
    """A least-squares problem: gradients depend on the parameters, computed by each engine."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    w0, b0 = rng.standard_normal((4, 2)), np.zeros(2)
    ours_cls, torch_cls = PAIRS[name]
    w, b = Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    opt, topt = ours_cls([w, b], lr=0.05), torch_cls([tw, tb], lr=0.05)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(20):
        opt.zero_grad()
        err = Tensor(x) @ w + b - Tensor(y)
        (err * err).mean().backward()
        opt.step()
        topt.zero_grad()
        ((tx @ tw + tb - ty) ** 2).mean().backward()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), atol=1e-10)


def test_zero_grad():
    w = Tensor(np.ones(2), requires_grad=True)
    opt = SGD([w])
    w.grad = np.ones(2)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad.any()
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_its_loss():
    w = Tensor(np.array([2.0]), requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cs.no_grad():  # the closure still records its graph
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_array_equal(w.data, [1.0])  # 2 - 0.25 · 4


def test_float32_hyper_parameters_keep_float32():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = Adam([w], lr=np.float64(0.1), betas=(np.float64(0.9), 0.999))
    w.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert w.dtype == np.float32
    assert opt.state[w]["exp_avg"].dtype == np.float32


def test_float64_gradient_on_float32_parameter_is_cast():
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = RMSprop([w], centered=True, momentum=0.9)
    w.grad = np.ones(3, dtype=np.float64)
    opt.step()
    assert w.dtype == np.float32
    assert all(v.dtype == np.float32 for k, v in opt.state[w].items() if k != "step")


def test_grad_of_wrong_shape_raises():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = SGD([w])
    w.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"SGD.step\(\) expected a gradient of shape \(3,\); "):
        opt.step()


def test_adagrad_state_exists_before_the_first_step_like_torch():
    w = Tensor(np.ones(2), requires_grad=True)
    state = Adagrad([w], initial_accumulator_value=0.25).state_dict()["state"]
    assert state[0]["step"] == 0
    np.testing.assert_array_equal(state[0]["sum"], [0.25, 0.25])


def test_rmsprop_centered_clamps_negative_variance_where_torch_gives_nan():
    """A constant gradient makes s - ḡ² vanish; float32 rounding then makes it negative
    for some entries. PyTorch takes the square root anyway (NaN); convscope clamps at 0."""
    grad = np.random.default_rng(0).uniform(0.1, 10, 1000).astype(np.float32)
    w = Tensor(np.zeros(1000, dtype=np.float32), requires_grad=True)
    tw = torch.zeros(1000, requires_grad=True)
    opt = RMSprop([w], lr=1e-3, alpha=0.5, centered=True)
    topt = torch.optim.RMSprop([tw], lr=1e-3, alpha=0.5, centered=True)
    for _ in range(40):
        w.grad, tw.grad = grad.copy(), torch.from_numpy(grad.copy())
        opt.step()
        topt.step()
    assert torch.isnan(tw).any()
    assert np.isfinite(w.data).all()


def test_repr_lists_groups():
    opt = AdamW([Tensor(np.ones(1), requires_grad=True)], lr=0.1)
    text = repr(opt)
    assert text.startswith("AdamW (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and "    weight_decay: 0.01\n" in text
