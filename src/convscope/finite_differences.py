"""Check analytic gradients against central finite differences.

``gradcheck`` is how every op in convscope is verified, and users can point it
at their own functions and layers. It projects the output onto a fixed random
direction ``r`` (so ``L = sum(fn(x) * r)`` is a scalar), takes ``dL/dx`` from
:meth:`Tensor.backward`, and compares it with

    dL/dx_i ≈ (L(x + eps·e_i) − L(x − eps·e_i)) / (2·eps)

element by element — or, for large inputs, along random unit directions ``v``
(comparing ``∇L·v`` with the directional difference), which costs two forward
passes per direction instead of two per element. Everything runs in float64:
in float32 the rounding error of the difference quotient swamps the answer.

>>> import numpy as np
>>> from convscope import Tensor
>>> x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
>>> gradcheck(lambda t: (t * t * t).sum(), x).ok
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convscope.tensor import Tensor, as_tensor, no_grad


class GradcheckError(AssertionError):
    """Raised when analytic and numerical gradients disagree."""


@dataclass
class GradcheckResult:
    """Outcome of :func:`gradcheck`.

    Attributes:
        ok: every compared derivative agreed within ``atol + rtol·|numerical|``.
        max_rel_error: the worst ``|analytic − numerical| / max(|analytic|, |numerical|)``.
        max_abs_error: the worst ``|analytic − numerical|``.
        worst_input: index (among the inputs requiring grad) of the worst derivative.
        worst_location: element index into that input (full mode) or direction number
            (directional mode) of the worst derivative.
        analytic, numerical: the two values compared at the worst location.
        mode: ``"elementwise"`` or ``"directional"``.
    """

    ok: bool
    max_rel_error: float
    max_abs_error: float
    worst_input: int
    worst_location: tuple[int, ...] | int
    analytic: float
    numerical: float
    mode: str

    def __str__(self) -> str:
        status = "passed" if self.ok else "FAILED"
        return (
            f"gradcheck {status} ({self.mode}): worst relative error {self.max_rel_error:.3g} "
            f"(absolute {self.max_abs_error:.3g}) at input {self.worst_input}, "
            f"location {self.worst_location}: analytic {self.analytic:.6g} "
            f"vs numerical {self.numerical:.6g}"
        )


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_elementwise: int = 4096,
    n_directions: int = 16,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Compare the gradients ``fn`` computes by backward with finite differences.

    Args:
        fn: maps the inputs to a Tensor of any shape.
        *inputs: Tensors (or arrays). Those with ``requires_grad=True`` are checked;
            all are converted to float64 copies first.
        eps: step of the central difference.
        atol, rtol: a derivative passes when ``|analytic − numerical| <= atol + rtol·|numerical|``.
        max_elementwise: inputs with more elements in total than this are checked
            along ``n_directions`` random directions instead of element by element.
        n_directions: how many random directions in directional mode.
        seed: seeds the projection and the directions (the check is deterministic).
        raise_exception: raise :class:`GradcheckError` on failure (else just report).

    Returns:
        A :class:`GradcheckResult` describing the worst disagreement.

    Raises:
        GradcheckError: gradients disagree and ``raise_exception`` is true.
        ValueError: no input requires grad.
    """
    rng = np.random.default_rng(seed)
    # Floating inputs become float64 copies; others (class labels, indices) pass unchanged.
    tensors = [
        Tensor(np.array(t.data, dtype=np.float64), requires_grad=t.requires_grad)
        if t.dtype.kind == "f"
        else t
        for t in map(as_tensor, inputs)
    ]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError(
            "gradcheck needs at least one input with requires_grad=True; received none."
        )

    output = fn(*tensors)
    projection = rng.standard_normal(output.shape)

    def objective() -> float:
        with no_grad():
            return float(np.sum(fn(*tensors).data * projection))

    loss = (output * Tensor(projection)).sum()
    loss.backward()
    analytic = [
        tensors[i].grad if tensors[i].grad is not None else np.zeros_like(tensors[i].data)
        for i in checked
    ]

    def central_difference(i: int, step: np.ndarray) -> float:
        original = tensors[i].data.copy()
        tensors[i].data = original + step
        plus = objective()
        tensors[i].data = original - step
        minus = objective()
        tensors[i].data = original
        return (plus - minus) / (2 * eps)

    compared: list[tuple[float, float, int, tuple[int, ...] | int]] = []
    total = sum(tensors[i].size for i in checked)
    if total <= max_elementwise:
        mode = "elementwise"
        for k, i in enumerate(checked):
            for index in np.ndindex(*tensors[i].shape):
                step = np.zeros_like(tensors[i].data)
                step[index] = eps
                compared.append((float(analytic[k][index]), central_difference(i, step), k, index))
    else:
        mode = "directional"
        for k, i in enumerate(checked):
            for d in range(n_directions):
                v = rng.standard_normal(tensors[i].shape)
                v /= np.linalg.norm(v)
                numerical = central_difference(i, eps * v)
                compared.append((float(np.sum(analytic[k] * v)), numerical, k, d))

    def violation(c: tuple) -> float:
        error, allowed = abs(c[0] - c[1]), atol + rtol * abs(c[1])
        if allowed == 0:  # atol=0 and a zero derivative: only an exact match passes
            return 0.0 if error == 0 else np.inf
        return error / allowed

    def relative(c: tuple) -> float:
        return abs(c[0] - c[1]) / max(abs(c[0]), abs(c[1]), atol, 1e-300)

    a, n, k, where = max(compared, key=violation)
    result = GradcheckResult(
        ok=all(violation(c) <= 1.0 for c in compared),
        max_rel_error=max(relative(c) for c in compared),
        max_abs_error=max(abs(c[0] - c[1]) for c in compared),
        worst_input=checked[k],
        worst_location=where,
        analytic=a,
        numerical=n,
        mode=mode,
    )
    if not result.ok and raise_exception:
        raise GradcheckError(str(result))
    return result
