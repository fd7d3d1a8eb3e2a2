"""L1/L2 penalties, and weight decay as the L2 penalty (but not for AdamW)."""

import numpy as np
import pytest
import torch

from convscope import Tensor
from convscope.optim import SGD, Adam, AdamW, RMSprop, l1_penalty, l2_penalty

SHAPES = [(3, 4), (4,)]


def _params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("which", ["l1", "l2"])
def test_penalty_value_and_gradient_match_torch(which, dtype):
    arrays = _params(dtype)
    arrays[0][0, 0] = 0.0  # |w| at 0: gradient 0, as torch
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    penalty = (l1_penalty if which == "l1" else l2_penalty)(ours)
    expected = sum((q.abs().sum() if which == "l1" else (q * q).sum()) for q in theirs)
    assert penalty.shape == () and penalty.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=tol)
    penalty.backward()
    expected.backward()
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=tol)
    if which == "l1":
        assert ours[0].grad[0, 0] == 0.0


def test_penalties_of_nothing_are_zero():
    assert l1_penalty([]).item() == 0.0 and l2_penalty(iter([])).item() == 0.0


def test_penalty_rejects_non_tensors():
    with pytest.raises(TypeError, match=r"l2_penalty expected Tensors; received ndarray"):
        l2_penalty([np.ones(2)])


def _train(make_opt, lam_penalty, steps=15, seed=1):
    """Least squares, optionally with (λ/2)·l2_penalty added to the loss."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    w = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        err = Tensor(x) @ w - Tensor(y)
        loss = (err * err).mean()
        if lam_penalty:
            loss = loss + lam_penalty / 2 * l2_penalty([w])
        loss.backward()
        opt.step()
    return w.data


@pytest.mark.parametrize(
    "cls, kwargs",
    [(SGD, {"lr": 0.05}), (SGD, {"lr": 0.05, "momentum": 0.9}), (Adam, {"lr": 0.05}),
     (RMSprop, {"lr": 0.01})],
    ids=["SGD", "SGD-momentum", "Adam", "RMSprop"],
)  # fmt: skip
def test_weight_decay_equals_half_lambda_l2_penalty(cls, kwargs):
    lam = 0.3
    decayed = _train(lambda ps: cls(ps, weight_decay=lam, **kwargs), 0.0)
    penalised = _train(lambda ps: cls(ps, **kwargs), lam)
    np.testing.assert_allclose(decayed, penalised, atol=1e-12)
    assert not np.allclose(decayed, _train(lambda ps: cls(ps, **kwargs), 0.0))


def test_adamw_decay_is_not_an_l2_penalty():
    lam = 0.3
    adamw = _train(lambda ps: AdamW(ps, lr=0.05, weight_decay=lam), 0.0)
    adam_l2 = _train(lambda ps: Adam(ps, lr=0.05), lam)
    assert not np.allclose(adamw, adam_l2, atol=1e-4)
