"""Each learning-rate scheduler's sequence against torch.optim.lr_scheduler's."""

import math

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adam, lr_scheduler

SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
]


def _optimizers(lrs=(0.1, 0.5)):
    """The same two param groups, in convscope and in torch."""
    ours = SGD([{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs])
    theirs = torch.optim.SGD(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    )
    return ours, theirs


def _schedule_id(schedule):
    return schedule[0] + "(" + ",".join(f"{k}={v}" for k, v in schedule[1].items()) + ")"


@pytest.mark.parametrize("schedule", SCHEDULES, ids=_schedule_id)
def test_lr_sequence_matches_torch(schedule):
    name, kwargs = schedule
    opt, topt = _optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(30):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        topt.step()  # torch warns when the scheduler steps first
        sched.step()
        tsched.step()


@pytest.mark.parametrize("schedule", SCHEDULES, ids=_schedule_id)
def test_state_dict_round_trip_continues_identically(schedule):
    name, kwargs = schedule
    cls = getattr(lr_scheduler, name)
    opt = _optimizers()[0]
    sched = cls(opt, **kwargs)
    ref = []
    for _ in range(20):
        sched.step()
        ref.append(sched.get_last_lr())
    opt = _optimizers()[0]
    sched = cls(opt, **kwargs)
    for _ in range(8):
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = _optimizers(lrs=(7.0, 7.0))[0]
    sched2 = cls(opt2, **kwargs)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    resumed = ref[:8]
    for _ in range(12):
        sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == ref


@pytest.mark.parametrize("schedule", SCHEDULES, ids=_schedule_id)
def test_lr_changed_by_hand_mid_run_composes_like_torch(schedule):
    """The schedules are recursive: they scale the *current* lr, as torch's do."""
    name, kwargs = schedule
    opt, topt = _optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for epoch in range(16):
        if epoch == 3:
            for o in (opt, topt):
                o.param_groups[0]["lr"] *= 0.5
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)


def test_cosine_follows_the_closed_form_within_the_first_half_period():
    opt = _optimizers(lrs=(1.0,))[0]
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    for t in range(1, 11):
        sched.step()
        closed = 0.1 + 0.9 * (1 + math.cos(math.pi * t / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(closed, abs=1e-12)


def test_resuming_with_last_epoch_matches_torch():
    opt, topt = _optimizers()
    for o in (opt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"] * 2
    sched = lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, last_epoch=3)
    for _ in range(6):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        topt.step()
        sched.step()
        tsched.step()


PLATEAU_METRICS = [
    10.0, 9.0, 8.5, 8.49, 8.6, 8.7, 8.8, 7.0, 7.5, 7.4, 7.3, 7.2, 7.1, 6.9, 6.95,
    7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 6.0, 6.5, 6.5, 6.5, 6.5,
    6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 6.5,
]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2, "factor": 0.5, "cooldown": 2, "min_lr": [0.01, 0.06]},
        {"patience": 0, "factor": 0.3, "threshold": 0.05, "threshold_mode": "abs"},
        {"mode": "max", "patience": 1, "factor": 0.5, "min_lr": 0.02, "cooldown": 1},
        {"mode": "max", "patience": 3, "threshold": 0.1, "eps": 0.05},
        {},
    ],
    ids=["min-rel-cooldown-min_lr", "min-abs-patience0", "max-rel", "max-eps", "defaults"],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    opt, topt = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    seen = set()
    for metric in PLATEAU_METRICS:
        sched.step(metric)
        tsched.step(metric)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        assert (sched.num_bad_epochs, sched.cooldown_counter, sched.best) == (
            tsched.num_bad_epochs,
            tsched.cooldown_counter,
            tsched.best,
        )
        seen.add(tuple(sched.get_last_lr()))
    if kwargs:  # the sequence reduces the lr in every configuration but the defaults
        assert len(seen) > 1


def test_reduce_lr_on_plateau_reaches_min_lr_and_accepts_tensors():
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.02, 0.06])
    for _ in range(10):
        sched.step(Tensor(1.0))
    assert sched.get_last_lr() == [0.02, 0.06]


def test_reduce_lr_on_plateau_state_dict_round_trip():
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=2)
    ref = []
    for m in PLATEAU_METRICS:
        sched.step(m)
        ref.append(sched.get_last_lr())
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=2)
    for m in PLATEAU_METRICS[:9]:
        sched.step(m)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2, _ = _optimizers()
    opt2.load_state_dict(saved_opt)
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(saved)
    out = ref[:9]
    for m in PLATEAU_METRICS[9:]:
        sched2.step(m)
        out.append(sched2.get_last_lr())
    assert out == ref


def test_scheduler_records_initial_lr_and_base_lrs():
    opt, _ = _optimizers()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched.step()
    assert sched.base_lrs == [0.1, 0.5]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.state_dict()["param_groups"][1]["initial_lr"] == 0.5


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError,
         r"StepLR expected step_size to be a positive integer; received 0\."),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2.5), ValueError,
         r"CosineAnnealingLR expected T_max to be a positive integer; received 2\.5\."),
        (lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, -1]), ValueError,
         r"MultiStepLR expected milestones to be non-negative integers"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=-0.5), ValueError,
         r"ExponentialLR expected gamma >= 0; received gamma=-0\.5\."),
        (lambda o: lr_scheduler.StepLR([o], step_size=2), TypeError,
         r"StepLR expected an Optimizer; received list\."),
        (lambda o: lr_scheduler.StepLR(o, step_size=2, last_epoch=4), KeyError,
         r"param_groups\[0\] has no 'initial_lr'"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="minimum"), ValueError,
         r"ReduceLROnPlateau expected mode 'min' or 'max'; received 'minimum'\."),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="relative"), ValueError,
         r"expected threshold_mode 'rel' or 'abs'; received 'relative'\."),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError,
         r"ReduceLROnPlateau expected 0 <= factor < 1; received factor=1\.0\."),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
         r"ReduceLROnPlateau expected 2 min_lr values \(one per param group\); received 1\."),
    ],
    ids=["step_size", "T_max", "milestones", "gamma", "optimizer", "resume", "mode",
         "threshold_mode", "factor", "min_lr"],
)  # fmt: skip
def test_bad_arguments_raise(build, error, message):
    opt, _ = _optimizers()
    with pytest.raises(error, match=message):
        build(opt)


def test_loading_another_schedulers_state_is_refused():
    opt = Adam([Tensor(np.zeros(1), requires_grad=True)])
    saved = lr_scheduler.StepLR(opt, step_size=2).state_dict()
    with pytest.raises(ValueError, match=r"CosineAnnealingLR.load_state_dict expected keys"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=3).load_state_dict(saved)
