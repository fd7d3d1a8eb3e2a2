"""Scheduler state against torch.optim.lr_scheduler (mutation survivors of
optim/lr_scheduler.py): every state_dict entry both libraries keep, after construction and
after each step; resuming at last_epoch; milestones at 0; ReduceLROnPlateau's cooldown,
eps and added param groups; copies in and out of state dicts; and the errors' wording."""

import collections
import math

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, lr_scheduler

pytestmark = pytest.mark.filterwarnings(
    "ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning"
)


def _pair(lrs=(1.0, 0.5), momentum=0.9):
    ours = SGD(
        [{"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs],
        momentum=momentum,
    )
    theirs = torch.optim.SGD(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs],
        momentum=momentum,
    )
    return ours, theirs


def _same(a, b):
    if isinstance(b, collections.Counter):  # torch keeps MultiStepLR's milestones as a Counter
        return sorted(a) == sorted(b.elements())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) or a == b
    return a == b


def _assert_common_state_equal(ours, theirs):
    a, b = ours.state_dict(), theirs.state_dict()
    common = set(a) & set(b)
    assert {"last_epoch", "_last_lr"} <= common
    for key in sorted(common):
        assert _same(a[key], b[key]), (key, a[key], b[key])


SCHEDULES = [
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [0, 2, 2, 4]}),
    ("ExponentialLR", {"gamma": 0.7}),
    ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.01}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 3}),
    ("OneCycleLR", {"max_lr": [2.0, 1.0], "total_steps": 6}),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_state_dict_entries_match_torch_at_every_step(schedule):
    name, kwargs = schedule
    opt, topt = _pair()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    _assert_common_state_equal(sched, tsched)
    for _ in range(5):
        sched.step()
        tsched.step()
        _assert_common_state_equal(sched, tsched)


def test_plateau_state_dict_entries_match_torch_through_cooldown():
    opt, topt = _pair()
    kwargs = {
        "patience": 1,
        "cooldown": 2,
        "factor": 0.5,
        "threshold": 0.1,
        "threshold_mode": "abs",
    }
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    _assert_common_state_equal(sched, tsched)
    for metric in [1.0, 1.0, 0.95, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6, 0.6]:
        sched.step(metric)
        tsched.step(metric)
        _assert_common_state_equal(sched, tsched)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("MultiStepLR", {"milestones": [3, 5]}),
        ("CosineAnnealingLR", {"T_max": 4}),
        ("LambdaLR", {"lr_lambda": lambda epoch: 0.5**epoch}),
    ],
)
def test_resuming_at_last_epoch_like_torch(name, kwargs):
    opt, topt = _pair()
    for group in (*opt.param_groups, *topt.param_groups):
        group["initial_lr"] = 2 * group["lr"]
    sched = getattr(lr_scheduler, name)(opt, last_epoch=2, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, last_epoch=2, **kwargs)
    for _ in range(4):
        assert sched.last_epoch == tsched.last_epoch
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        sched.step()
        tsched.step()


def test_resuming_without_initial_lr_says_what_to_load():
    opt, _ = _pair(lrs=(1.0,))
    with pytest.raises(KeyError) as info:
        lr_scheduler.StepLR(opt, 2, last_epoch=3)
    assert info.value.args[0] == (
        "param_groups[0] has no 'initial_lr', needed to resume StepLR at last_epoch=3. Load the "
        "optimizer's state dict first, or start from last_epoch=-1."
    )


@pytest.mark.parametrize("milestones", [["a"], [-1], [True]])
def test_milestones_must_be_non_negative_integers(milestones):
    opt, _ = _pair()
    with pytest.raises(ValueError) as info:
        lr_scheduler.MultiStepLR(opt, milestones)
    assert str(info.value) == (
        "MultiStepLR expected milestones to be non-negative integers; received "
        f"milestones={milestones}."
    )


def test_lambdalr_type_errors():
    with pytest.raises(TypeError, match=r"^LambdaLR expected an Optimizer; received list\.$"):
        lr_scheduler.LambdaLR([], lambda epoch: 1.0)
    opt, _ = _pair(lrs=(1.0,))
    with pytest.raises(
        TypeError,
        match=r"^LambdaLR expected lr_lambda to be a function of the epoch; received int\.$",
    ):
        lr_scheduler.LambdaLR(opt, 3)


# ------------------------------------------------------------------ ReduceLROnPlateau


def test_plateau_with_one_min_lr_extends_it_to_an_added_group_like_torch():
    opt, topt = _pair(lrs=(1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=0.3)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=0, factor=0.5, min_lr=0.3)
    opt.add_param_group({"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 0.5})
    topt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5})
    for metric in (1.0, 2.0, 3.0):
        sched.step(metric)
        tsched.step(metric)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    assert sched.get_last_lr() == pytest.approx([0.3, 0.3])


def test_plateau_skips_a_reduction_of_exactly_eps_like_torch():
    opt, topt = _pair(lrs=(1.0,))
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, eps=0.5)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=0, factor=0.5, eps=0.5)
    for metric in (1.0, 2.0):
        sched.step(metric)
        tsched.step(metric)
    assert sched.get_last_lr() == tsched.get_last_lr() == [1.0]  # 1.0 − 0.5 is not > eps


# ------------------------------------------------------------------ state dicts


def test_state_dict_is_a_copy_and_load_state_dict_restores_lists():
    opt, _ = _pair()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[3, 6])
    state = sched.state_dict()
    state["base_lrs"].append(9.0)
    state["milestones"].append(9)
    assert sched.base_lrs == [1.0, 0.5] and sched.milestones == [3, 6]
    saved = {**sched.state_dict(), "base_lrs": (4.0, 2.0), "milestones": (1, 2)}  # e.g. from a file
    sched.load_state_dict(saved)
    assert sched.base_lrs == [4.0, 2.0] and type(sched.base_lrs) is list
    assert sched.milestones == [1, 2] and type(sched.milestones) is list


def test_load_state_dict_names_missing_keys():
    opt, _ = _pair()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    state = sched.state_dict()
    del state["gamma"]
    with pytest.raises(
        ValueError, match=r"missing \['gamma'\], unknown \[\]\. Was it saved from another"
    ):
        sched.load_state_dict(state)
