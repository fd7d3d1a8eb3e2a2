"""Shared helpers for the optimizer tests: run convscope and torch.optim side by side.

Both optimizers get the same starting parameters and the same sequence of gradients
(some of them None, so "skip parameters without a gradient" is exercised too).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from convscope import Tensor
from convscope import optim as cs_optim

SHAPES = [(3, 4), (5,), (2, 3, 2, 2)]

# (convscope class, torch class) by name
PAIRS = {
    "SGD": (cs_optim.SGD, torch.optim.SGD),
    "Adam": (cs_optim.Adam, torch.optim.Adam),
    "AdamW": (cs_optim.AdamW, torch.optim.AdamW),
    "RMSprop": (cs_optim.RMSprop, torch.optim.RMSprop),
    "Adagrad": (cs_optim.Adagrad, torch.optim.Adagrad),
}

# Every variant of every update rule: (optimizer name, keyword arguments).
VARIANTS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    (
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "maximize": True},
    ),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-3}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True, "weight_decay": 0.0}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"maximize": True}),
    ("RMSprop", {"alpha": 0.9, "eps": 1e-4, "lr": 0.001}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-3}),
]


def variant_id(variant: tuple[str, dict]) -> str:
    name, kwargs = variant
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def gradient_sequence(
    dtype: np.dtype, steps: int = 20, seed: int = 0
) -> tuple[list[np.ndarray], list[list[np.ndarray | None]]]:
    """Starting parameters and ``steps`` lists of gradients (None where a parameter gets none)."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads: list[list[np.ndarray | None]] = [
        [rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)
    ]
    grads[0][2] = None  # parameter 2 starts late: its state begins at step 2
    for t in (3, 7):
        if t < steps:
            grads[t][1] = None
    return init, grads


def set_grads(
    ours: list[Tensor], theirs: list[torch.Tensor], grads: list[np.ndarray | None]
) -> None:
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = None if g is None else g.copy()
        q.grad = None if g is None else torch.from_numpy(g.copy())


def run_parity(
    name: str,
    kwargs: dict,
    dtype: np.dtype,
    atol: float,
    rtol: float,
    steps: int = 20,
    make_groups: Callable[[list], object] | None = None,
) -> tuple[object, object, list[Tensor], list[torch.Tensor]]:
    """Step both optimizers ``steps`` times; assert the parameters agree after every step."""
    ours_cls, torch_cls = PAIRS[name]
    init, grads = gradient_sequence(dtype, steps)
    ours = [Tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    groups = make_groups or (lambda ps: ps)
    opt = ours_cls(groups(ours), **kwargs)
    topt = torch_cls(groups(theirs), **kwargs)
    for t, step_grads in enumerate(grads):
        set_grads(ours, theirs, step_grads)
        opt.step()
        topt.step()
        for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            assert p.dtype == dtype
            np.testing.assert_allclose(
                p.data,
                q.detach().numpy(),
                atol=atol,
                rtol=rtol,
                err_msg=f"{name}{kwargs}: parameter {i} differs after step {t + 1}",
            )
    return opt, topt, ours, theirs
