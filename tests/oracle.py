"""The two oracles every op is tested against: PyTorch, and finite differences.

``torch_parity`` runs the same computation in convscope and in PyTorch on the same
inputs, compares the outputs, then back-propagates the same random upstream
gradient through both and compares every input's gradient (the tinygrad manner).
``check_grad`` runs :func:`convscope.finite_differences.gradcheck` in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from convscope import Tensor
from convscope.finite_differences import gradcheck

torch.set_num_threads(1)


def default_tolerance(dtype: np.dtype) -> tuple[float, float]:
    """(atol, rtol) for comparing two implementations computing in ``dtype``."""
    return (1e-4, 1e-4) if np.dtype(dtype) == np.float32 else (1e-10, 1e-9)


def torch_parity(
    ours: Callable[..., Tensor],
    theirs: Callable[..., torch.Tensor],
    *arrays: np.ndarray,
    atol: float | None = None,
    rtol: float | None = None,
    grad: bool = True,
    seed: int = 0,
) -> Tensor:
    """Assert ``ours(*tensors)`` equals ``theirs(*torch_tensors)`` in value and gradients.

    Floating-point arrays become tensors that require grad on both sides; integer
    arrays (class labels, indices) are passed without. Returns our output.
    """
    float_inputs = [np.asarray(a).dtype.kind == "f" for a in arrays]
    dtype = next((np.asarray(a).dtype for a, f in zip(arrays, float_inputs) if f), np.float32)
    d_atol, d_rtol = default_tolerance(dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol

    ours_in = [Tensor(np.array(a), requires_grad=grad and f) for a, f in zip(arrays, float_inputs)]
    theirs_in = [
        torch.tensor(np.array(a), requires_grad=grad and f) for a, f in zip(arrays, float_inputs)
    ]
    out = ours(*ours_in)
    expected = theirs(*theirs_in)
    assert out.shape == tuple(expected.shape), f"shape {out.shape} != torch {tuple(expected.shape)}"
    assert out.dtype == np.dtype(str(expected.dtype).replace("torch.", "")), (
        f"dtype {out.dtype} != torch {expected.dtype}"
    )
    np.testing.assert_allclose(
        out.data, expected.detach().numpy(), atol=atol, rtol=rtol, err_msg="forward differs"
    )
    if not grad or not any(float_inputs):
        return out

    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for k, (mine, theirs_t, f) in enumerate(zip(ours_in, theirs_in, float_inputs)):
        if not f:
            continue
        if theirs_t.grad is None:
            assert mine.grad is None or not np.any(mine.grad), f"input {k}: torch has no grad"
            continue
        assert mine.grad is not None, f"input {k}: no gradient computed"
        assert mine.grad.dtype == mine.dtype, f"input {k}: grad dtype {mine.grad.dtype}"
        np.testing.assert_allclose(
            mine.grad,
            theirs_t.grad.numpy(),
            atol=atol,
            rtol=rtol,
            err_msg=f"gradient of input {k} differs",
        )
    return out


def check_grad(fn: Callable[..., Tensor], *arrays: np.ndarray, **kwargs) -> None:
    """Finite-difference check (float64) of ``fn`` at ``arrays``; float arrays get grads."""
    inputs: Sequence[Tensor] = [
        Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
        if np.asarray(a).dtype.kind == "f"
        else Tensor(np.asarray(a))
        for a in arrays
    ]
    gradcheck(fn, *inputs, **kwargs)
