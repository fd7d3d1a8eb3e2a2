"""``Parameter``: a tensor that a :class:`~convscope.nn.Module` learns.

A Parameter is an ordinary :class:`~convscope.Tensor` with ``requires_grad=True``
by default. Its only special power is its *type*: assigning one to a module
attribute (``self.weight = Parameter(...)``) registers it, so it appears in
``module.parameters()`` and ``module.state_dict()``.

>>> import numpy as np
>>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
>>> w.requires_grad, w.shape
(True, (2, 3))
"""

from __future__ import annotations

from typing import Any

from convscope.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A learnable tensor, registered automatically when assigned to a Module attribute.

    Args:
        data: a NumPy array (its memory is shared, as ``torch.from_numpy``), a Tensor
            (its array is shared) or a nested list (becomes float32).
        requires_grad: whether optimizers should train it. Set ``False`` to freeze it.

    Raises:
        TypeError: ``requires_grad=True`` with non-floating-point data.

    >>> import numpy as np
    >>> b = Parameter(np.ones(2, dtype=np.float32), requires_grad=False)
    >>> b
    Parameter containing:
    Tensor([1., 1.])
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(_to_array(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
