"""Compare a convscope Module with the equivalent torch.nn module on the same weights.

``module_parity(ours, theirs, x)`` copies our state_dict into the torch module,
runs both on ``x``, compares the outputs, back-propagates the same random upstream
gradient through both and compares the input's gradient and every parameter's.
"""

from __future__ import annotations

import numpy as np
import torch

from convscope import Tensor
from oracle import default_tolerance


def to_torch_state(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.array(value)) for key, value in state.items()}


def from_torch_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}


def module_parity(
    ours,
    theirs: torch.nn.Module,
    x: np.ndarray,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    copy_weights: bool = True,
) -> Tensor:
    """Assert ``ours(x) == theirs(x)`` in value, input gradient and parameter gradients."""
    d_atol, d_rtol = default_tolerance(x.dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    if copy_weights:
        theirs.load_state_dict(to_torch_state(ours.state_dict()))
    ours.zero_grad()
    theirs.zero_grad(set_to_none=True)
    ours_x = Tensor(x.copy(), requires_grad=True)
    theirs_x = torch.tensor(x.copy(), requires_grad=True)
    out = ours(ours_x)
    expected = theirs(theirs_x)
    assert out.shape == tuple(expected.shape), f"shape {out.shape} != torch {tuple(expected.shape)}"
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(
        out.data, expected.detach().numpy(), atol=atol, rtol=rtol, err_msg="forward differs"
    )
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(
        ours_x.grad, theirs_x.grad.numpy(), atol=atol, rtol=rtol, err_msg="input grad differs"
    )
    torch_params = dict(theirs.named_parameters())
    our_params = dict(ours.named_parameters())
    assert list(our_params) == list(torch_params)
    for name, param in our_params.items():
        assert param.grad is not None, f"{name}: no gradient"
        assert param.grad.dtype == param.dtype
        np.testing.assert_allclose(
            param.grad, torch_params[name].grad.numpy(), atol=atol, rtol=rtol,
            err_msg=f"gradient of {name} differs",
        )  # fmt: skip
    return out
