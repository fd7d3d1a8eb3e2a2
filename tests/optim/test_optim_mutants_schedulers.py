"""Learning-rate scheduler edges (mutation survivors of optim/lr_scheduler.py): against
torch.optim.lr_scheduler where PyTorch defines the behaviour (defaults, thresholds exactly
at the boundary, resuming, step counts, Adam's betas under OneCycleLR), and the errors'
wording (which scheduler, which argument) where it is convscope's own."""

import math

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adam, lr_scheduler

# torch warns when a scheduler steps before its optimizer ever did; these tests step no weights
pytestmark = pytest.mark.filterwarnings(
    "ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning"
)


def _pair(lr=1.0, momentum=0.0):
    ours = SGD([Tensor(np.zeros(2), requires_grad=True)], lr=lr, momentum=momentum)
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr, momentum=momentum)
    return ours, theirs


# ------------------------------------------------------------------ defaults and resuming


def test_multisteplr_default_gamma_is_torchs():
    opt, topt = _pair()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[1, 2])
    tsched = torch.optim.lr_scheduler.MultiStepLR(topt, milestones=[1, 2])
    for _ in range(3):
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    assert sched.get_last_lr() == pytest.approx([0.01], rel=1e-12)  # 1 · 0.1²


def test_exponentiallr_resumes_at_last_epoch_like_torch():
    opt, topt = _pair(lr=0.5)
    for group in (*opt.param_groups, *topt.param_groups):
        group["initial_lr"] = 1.0  # as loaded from a checkpoint of epoch 2
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=2)
    tsched = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.5, last_epoch=2)
    assert sched.last_epoch == tsched.last_epoch == 3
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    sched.step()
    tsched.step()
    assert sched.last_epoch == tsched.last_epoch == 4
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


def test_step_count_in_the_state_dict_counts_every_step_like_torch():
    opt, topt = _pair()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2)
    for _ in range(3):
        sched.step()
        tsched.step()
    assert sched.state_dict()["_step_count"] == tsched.state_dict()["_step_count"] == 4


def test_loaded_state_is_a_deep_copy():
    opt, _ = _pair()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[3, 6])
    state = sched.state_dict()
    fresh = lr_scheduler.MultiStepLR(SGD([Tensor(np.zeros(2), requires_grad=True)], lr=1.0), [3, 6])
    fresh.load_state_dict(state)
    state["milestones"].append(1)  # the caller reuses its dict: the scheduler must not change
    state["base_lrs"][0] = 123.0
    assert fresh.milestones == [3, 6] and fresh.base_lrs == [1.0]


def test_load_state_dict_names_unknown_keys():
    opt, _ = _pair()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    state = {**sched.state_dict(), "T_max": 5}
    with pytest.raises(
        ValueError, match=r"missing \[\], unknown \['T_max'\]\. Was it saved from another"
    ):
        sched.load_state_dict(state)


# ------------------------------------------------------------------ ReduceLROnPlateau


def _plateau_pair(**kwargs):
    opt, topt = _pair()
    ours = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    return ours, theirs


def _run_both(ours, theirs, metrics):
    for m in metrics:
        ours.step(m)
        theirs.step(m)
        assert ours.num_bad_epochs == theirs.num_bad_epochs, m
        assert ours.best == theirs.best, m
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


@pytest.mark.parametrize(
    ("mode", "threshold_mode", "threshold", "metrics"),
    [
        # the 2nd and 3rd metrics lie exactly on the "significantly better" boundary: not better
        ("min", "rel", 0.5, [1.0, 0.5, 0.5, 0.75]),  # boundary best · (1 − 0.5)
        ("min", "abs", 0.25, [1.0, 0.75, 0.75, 0.9]),  # boundary best − 0.25
        ("max", "rel", 0.5, [1.0, 1.5, 1.5, 1.2]),  # boundary best · (1 + 0.5)
        ("max", "abs", 0.25, [1.0, 1.25, 1.25, 1.1]),  # boundary best + 0.25
    ],
)
def test_plateau_thresholds_exactly_at_the_boundary_match_torch(
    mode, threshold_mode, threshold, metrics
):
    ours, theirs = _plateau_pair(
        mode=mode, threshold_mode=threshold_mode, threshold=threshold, patience=5
    )
    _run_both(ours, theirs, metrics)
    assert ours.best == metrics[0] and ours.num_bad_epochs == 3


def test_plateau_rel_and_abs_differ_like_torch():
    # best 10, threshold 0.5: 9.4 is better in 'abs' (< 10 − 0.5) but not in 'rel' (< 10 · 0.5)
    for threshold_mode in ("rel", "abs"):
        ours, theirs = _plateau_pair(threshold_mode=threshold_mode, threshold=0.5, patience=5)
        _run_both(ours, theirs, [10.0, 9.4])
        assert ours.best == (9.4 if threshold_mode == "abs" else 10.0)


def test_plateau_last_epoch_and_initial_last_lr_like_torch():
    ours, theirs = _plateau_pair(patience=0, factor=0.5)
    assert ours.get_last_lr() == theirs.get_last_lr() == [1.0]
    _run_both(ours, theirs, [1.0, 2.0, 3.0])
    assert ours.last_epoch == theirs.last_epoch == 3


def test_plateau_with_per_group_min_lrs_after_a_group_is_added():
    opt = SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0], patience=0)
    opt.add_param_group({"params": [Tensor(np.zeros(1), requires_grad=True)]})
    sched.step(1.0)
    with pytest.raises(ValueError, match=r"set scheduler\.min_lrs to one value per group\.$"):
        sched.step(2.0)


# ------------------------------------------------------------------ OneCycleLR with Adam


def test_onecycle_cycles_adams_first_beta_only_like_torch():
    ours = Adam([Tensor(np.zeros(2), requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    theirs = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    sched = lr_scheduler.OneCycleLR(ours, max_lr=1.0, total_steps=6)
    tsched = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=1.0, total_steps=6)
    for _ in range(5):
        got, want = ours.param_groups[0]["betas"], theirs.param_groups[0]["betas"]
        assert len(got) == 2 and got[1] == want[1] == 0.99
        assert got[0] == pytest.approx(want[0], rel=1e-12)
        sched.step()
        tsched.step()


def test_onecycle_past_the_last_step_says_what_to_give():
    opt, topt = _pair(momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=1.0, total_steps=2)
    for _ in range(2):  # the constructor's step and two more: step 2 = total_steps is allowed
        sched.step()
        tsched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        tsched.step()
    with pytest.raises(
        ValueError, match=r"Give total_steps \(or epochs · steps_per_epoch\) for every batch"
    ):
        sched.step()


# ------------------------------------------------------------------ errors: scheduler, argument


def _opt():
    return SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0, momentum=0.9)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=1, gamma=-1.0), r"^StepLR expected gamma >= 0"),
        (
            lambda o: lr_scheduler.MultiStepLR(o, [1], gamma=-1.0),
            r"^MultiStepLR expected gamma >= 0",
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=-1.0),
            r"^CosineAnnealingLR expected eta_min >= 0",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=-1.0),
            r"^ReduceLROnPlateau expected min_lr >= 0",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, start_factor=0.0),
            r"^LinearLR expected start_factor > 0;",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, start_factor=-1.0),
            r"^LinearLR expected start_factor > 0;",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, end_factor=-1.0),
            r"^LinearLR expected end_factor >= 0",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, end_factor=1.5),
            r"^LinearLR expected end_factor in \[0, 1\]; received end_factor=1\.5\.$",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, total_iters=0),
            r"^LinearLR expected total_iters to be a positive integer; received 0\.$",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=0),
            r"^OneCycleLR expected steps_per_epoch to be a positive integer; received 0\.$",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=0),
            r"^OneCycleLR expected total_steps to be a positive integer; received 0\.$",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=5, pct_start=1.0),
            r"^OneCycleLR expected 0 <= pct_start < 1;",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=5, base_momentum=[0.8, 0.9]),
            r"^OneCycleLR expected 1 values of base_momentum \(one per param group\); "
            r"received 2\.$",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=5, max_momentum=-0.5),
            r"^OneCycleLR expected max_momentum >= 0",
        ),
    ],
)
def test_errors_name_the_scheduler_and_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build(_opt())


def test_onecycle_rejects_a_non_optimizer_by_its_type():
    with pytest.raises(TypeError, match=r"^OneCycleLR expected an Optimizer; received list\.$"):
        lr_scheduler.OneCycleLR([], max_lr=1.0, total_steps=5)


def test_linearlr_start_factor_zero_is_rejected_like_torch():
    _, topt = _pair()
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.0)
    with pytest.raises(ValueError):
        lr_scheduler.LinearLR(_opt(), start_factor=0.0)
    assert math.isclose(lr_scheduler.LinearLR(_opt(), start_factor=1e-9).get_last_lr()[0], 1e-9)
