"""Optimizer.state_dict / load_state_dict: resumed runs continue bit for bit; bad input is named."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from optim.optim_parity import PAIRS, gradient_sequence

# One variant per kind of state.
RESUMABLE = [
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    (AdamW, {"lr": 0.05}),
    (RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1}),
]
IDS = [cls.__name__ for cls, _ in RESUMABLE]


def _run(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = None if g is None else g.copy()
        opt.step()


def _to_npz_like(state_dict):
    """What a trip through ``np.savez``/``np.load`` returns: every leaf an ndarray."""
    return {
        "state": {
            str(i): {k: np.asarray(v) for k, v in s.items()} for i, s in state_dict["state"].items()
        },
        "param_groups": [
            {k: np.asarray(v) for k, v in g.items()} for g in state_dict["param_groups"]
        ],
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, kwargs", RESUMABLE, ids=IDS)
@pytest.mark.parametrize("through_npz", [False, True], ids=["dict", "npz-like"])
def test_resumed_run_continues_identically(cls, kwargs, dtype, through_npz):
    init, grads = gradient_sequence(dtype, steps=20)
    # the uninterrupted reference run
    ref = [Tensor(a.copy(), requires_grad=True) for a in init]
    _run(cls(ref, **kwargs), ref, grads)
    # ten steps, save, rebuild everything fresh (with a different lr: the saved one wins)
    first = [Tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(first, **kwargs)
    _run(opt, first, grads[:10])
    saved = opt.state_dict()
    if through_npz:
        saved = _to_npz_like(saved)
    resumed = [Tensor(p.data.copy(), requires_grad=True) for p in first]
    opt2 = cls(resumed, **{**kwargs, "lr": 123.0})
    opt2.load_state_dict(saved)
    _run(opt2, resumed, grads[10:])
    for p, q in zip(resumed, ref, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.dtype == dtype


@pytest.mark.parametrize("cls, kwargs", RESUMABLE, ids=IDS)
def test_reloading_into_the_same_optimizer_changes_nothing(cls, kwargs):
    init, grads = gradient_sequence(np.float64, steps=12)
    ref = [Tensor(a.copy(), requires_grad=True) for a in init]
    _run(cls(ref, **kwargs), ref, grads)
    params = [Tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(params, **kwargs)
    _run(opt, params, grads[:6])
    opt.load_state_dict(opt.state_dict())
    _run(opt, params, grads[6:])
    for p, q in zip(params, ref, strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout():
    w, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)
    opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.1}], amsgrad=True)
    w.grad, b.grad = np.ones((2, 3)), np.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["lr"] == 1e-3
    assert list(sd["param_groups"][0])[-1] == "params"
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][1]["step"] == 1 and sd["state"][0]["exp_avg"].shape == (2, 3)


def test_state_dict_arrays_are_copies_both_ways():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    kept = saved["state"][0]["momentum_buffer"].copy()
    opt.step()  # must not change the saved dict
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], kept)
    opt.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"][:] = 99.0  # must not reach the optimizer
    saved["param_groups"][0]["lr"] = 99.0
    np.testing.assert_array_equal(opt.state[w]["momentum_buffer"], kept)
    assert opt.param_groups[0]["lr"] == 0.1


def test_loading_casts_state_to_the_parameter_dtype():
    w64 = Tensor(np.ones(3), requires_grad=True)
    opt64 = Adam([w64])
    w64.grad = np.ones(3)
    opt64.step()
    w32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt32 = Adam([w32])
    opt32.load_state_dict(opt64.state_dict())
    assert opt32.state[w32]["exp_avg"].dtype == np.float32


def _adam_with_two_groups():
    params = [Tensor(np.ones(s), requires_grad=True) for s in [(2,), (3,), (4,)]]
    opt = Adam([{"params": params[:1]}, {"params": params[1:]}])
    for p in params:
        p.grad = np.ones(p.shape)
    opt.step()
    return opt


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda sd: sd["param_groups"].pop(), r"expected 2 param group\(s\); received 1\."),
        (
            lambda sd: sd["param_groups"][1]["params"].pop(),
            r"expected param group 1 to hold 2 parameter\(s\); received 1\.",
        ),
        (
            lambda sd: sd["state"][2].update(exp_avg=np.zeros(5)),
            r"state 'exp_avg' of parameter 2 has shape \(5,\), but the parameter has shape \(4,\)",
        ),
        (
            lambda sd: sd["state"][0].pop("exp_avg_sq"),
            r"the state of parameter 0 has keys \['exp_avg', 'step'\]; expected "
            r"\['exp_avg', 'exp_avg_sq', 'step'\]",
        ),
        (lambda sd: sd["param_groups"][0].pop("betas"), r"lacks hyper-parameter\(s\) \['betas'\]"),
        (lambda sd: sd["param_groups"][0].update(lr=-1), r"Adam expected lr >= 0; received lr=-1"),
        (lambda sd: sd["state"].update({7: {}}), r"refers to parameter 7"),
        (lambda sd: sd.pop("state"), r"expected a dict with keys 'state' and 'param_groups'"),
    ],
    ids=["groups", "params", "shape", "keys", "hyper", "range", "unknown-id", "layout"],
)
def test_load_state_dict_errors(mutate, message):
    opt = _adam_with_two_groups()
    sd = opt.state_dict()
    mutate(sd)
    with pytest.raises(ValueError, match=message):
        _adam_with_two_groups().load_state_dict(sd)


def test_loading_another_optimizers_state_is_refused():
    w = Tensor(np.ones(2), requires_grad=True)
    sgd = SGD([w], momentum=0.9, lr=0.1)
    w.grad = np.ones(2)
    sgd.step()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: param group 0 lacks"):
        Adam([w]).load_state_dict(sgd.state_dict())


def test_failed_load_leaves_the_optimizer_unchanged():
    opt = _adam_with_two_groups()
    before = opt.state_dict()
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = 0.5
    bad["state"][2]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == before["param_groups"][0]["lr"]


@pytest.mark.parametrize("name", PAIRS)
def test_state_dict_of_a_fresh_optimizer_loads(name):
    cls, torch_cls = PAIRS[name]
    saved = cls([Tensor(np.ones(2), requires_grad=True)], lr=0.05).state_dict()
    # Like PyTorch's: per-parameter state only where it starts eagerly (Adagrad's sum).
    theirs = torch_cls([torch.ones(2, requires_grad=True)], lr=0.05).state_dict()
    assert {i: set(st) for i, st in saved["state"].items()} == {
        i: set(st) for i, st in theirs["state"].items()
    }
    assert saved["param_groups"][0]["lr"] == 0.05
    w, fresh = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    loaded, reference = cls([w], lr=9.0), cls([fresh], lr=0.05)
    loaded.load_state_dict(saved)
    assert loaded.param_groups[0]["lr"] == 0.05  # the saved value replaced lr=9.0
    for opt, p in ((loaded, w), (reference, fresh)):
        p.grad = np.array([1.0, -2.0])
        opt.step()
    np.testing.assert_array_equal(w.data, fresh.data)
    assert not np.array_equal(w.data, np.ones(2))
