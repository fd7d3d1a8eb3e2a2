"""OneCycleLR, LinearLR and LambdaLR: learning rates (and momenta) against torch, step by step."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adam, lr_scheduler


def _pair(kind="sgd", lrs=(0.1, 0.5)):
    """The same two param groups and optimizer, in convscope and in torch."""
    ours_groups = [{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
    theirs_groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "adam":
        return Adam(ours_groups), torch.optim.Adam(theirs_groups)
    return SGD(ours_groups, momentum=0.9), torch.optim.SGD(theirs_groups, momentum=0.9)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


SCHEDULES = [
    ("LinearLR", {}, 12),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.5, "total_iters": 4}, 10),
    ("LambdaLR", {"lr_lambda": lambda e: 0.9**e + 0.01 * e}, 10),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 20}, 20),
    ("OneCycleLR", {"max_lr": [1.0, 2.0], "epochs": 3, "steps_per_epoch": 7, "pct_start": 0.25,
                    "anneal_strategy": "linear"}, 21),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 17, "three_phase": True,
                    "base_momentum": 0.8, "max_momentum": [0.9, 0.99]}, 17),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 9, "cycle_momentum": False}, 9),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name, kwargs, steps", SCHEDULES, ids=lambda v: str(v)[:40])
def test_schedule_matches_torch(name, kwargs, steps, kind):
    opt, topt = _pair(kind)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(steps):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        assert _momenta(opt) == pytest.approx(_momenta(topt), rel=1e-12)
        topt.step()
        opt.step()
        sched.step()
        tsched.step()


def test_linear_warmup_by_hand():
    opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(3):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.5, 0.75, 1.0, 1.0])


@pytest.mark.parametrize("name, kwargs, steps", SCHEDULES, ids=lambda v: str(v)[:40])
def test_state_dict_round_trip_continues_identically(name, kwargs, steps):
    cls = getattr(lr_scheduler, name)
    opt = _pair()[0]
    sched = cls(opt, **kwargs)
    reference = []
    for _ in range(steps - 1):
        sched.step()
        reference.append(sched.get_last_lr())
    opt2 = _pair()[0]
    resumed = cls(opt2, **kwargs)
    opt3 = _pair()[0]
    first = cls(opt3, **kwargs)
    for _ in range(3):
        first.step()
    opt2.load_state_dict(opt3.state_dict())
    resumed.load_state_dict(first.state_dict())
    assert "lr_lambdas" not in first.state_dict()
    for expected in reference[3:]:
        resumed.step()
        assert resumed.get_last_lr() == pytest.approx(expected, rel=1e-12)


def test_one_cycle_refuses_stepping_past_the_end_and_bad_arguments():
    opt = _pair()[0]
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="stepped 4 times, past total_steps=3"):
        sched.step()
    with pytest.raises(ValueError, match="expected total_steps, or both epochs and steps_per_"):
        lr_scheduler.OneCycleLR(_pair()[0], max_lr=1.0)
    plain = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    plain.defaults.pop("momentum", None)
    with pytest.raises(ValueError, match="needs an optimizer with momentum or betas"):
        lr_scheduler.OneCycleLR(plain, max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match="LambdaLR expected 2 lr_lambda functions"):
        lr_scheduler.LambdaLR(_pair()[0], [lambda e: 1.0])
    with pytest.raises(ValueError, match=r"LinearLR expected start_factor in \(0, 1\]"):
        lr_scheduler.LinearLR(_pair()[0], start_factor=2.0)
