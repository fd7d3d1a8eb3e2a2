"""``Values``: rb-deeplearning-lib's array-with-gradient, as a thin wrapper of a :class:`Tensor`.

Every operation is the convscope ``Tensor`` (or ``nn.functional``) operation of the same
name; ``.vals`` is the tensor's data and ``.grad`` its accumulated gradient. So the
backward pass is convscope's: iterative (any depth works, where the original recursed and
hit Python's recursion limit) and each gradient flows exactly once (the original
re-propagated a node's whole gradient every time one of its consumers finished, so
gradients behind overlapping reads came out many times too large or, in 1.0.x, too small).

>>> x = Values([[1.0, -2.0]])
>>> y = (x * x).sum()
>>> y.vals
array(5.)
>>> y.backward()
>>> x.grad
array([[ 2., -4.]])
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from convscope.nn import functional as F
from convscope.tensor import Tensor

ACTIVATIONS = ("_", "relu", "tanh", "softmax", "exp", "log", "abs")


def _leaf_array(vals: Any) -> np.ndarray:
    """A copy of ``vals`` as a float array (integers become float64, as NumPy would promote)."""
    array = np.array(vals.vals if isinstance(vals, Values) else vals)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(
            f"Values expected numbers; received an array of dtype {array.dtype} from "
            f"{type(vals).__name__}."
        )
    return array


def _operand(other: Any) -> Tensor | numbers.Number:
    """The Tensor (or Python number) an operand of an arithmetic operation stands for."""
    if isinstance(other, Values):
        return other.tensor
    if isinstance(other, Tensor) or isinstance(other, numbers.Number):
        return other
    return Tensor(_leaf_array(other))


def _assign(target: Tensor, key: Any, value: Tensor) -> Tensor:
    """``target`` with ``target[key] = value`` written into a copy (differentiable in both).

    The gradient of the overwritten elements goes to ``value`` (unbroadcast by the engine
    when ``value`` was broadcast into the slot); ``target`` keeps the rest.
    """
    dtype = np.result_type(target.dtype, value.dtype)
    out = target.data.astype(dtype, copy=True)
    out[key] = value.data

    def backward(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rest = g.copy()
        rest[key] = 0
        return rest, g[key]

    return Tensor.from_op(out, (target, value), backward, "setitem")


class Values:
    """An array that records how it was computed, so ``backward()`` can fill ``.grad``.

    Args:
        vals: array-like (copied, as the original does). Integers become float64; a
            convscope :class:`Tensor` is wrapped as it is (sharing its graph).
        grads: whether gradients flow to this array (the original's ``grad_flag``).

    Attributes:
        vals (np.ndarray): the values. Assigning replaces them (as optimizers do).
        grad (np.ndarray): the accumulated gradient, zeros before any ``backward()``.
            Only arrays you create hold gradients; intermediate results do not keep one.
        tensor (Tensor): the convscope tensor this wraps.

    >>> k = Values(np.eye(2))
    >>> (k @ Values([[1.0], [2.0]], grads=False)).sum().backward()
    >>> k.grad
    array([[1., 2.],
           [1., 2.]])
    """

    # Make NumPy defer to Values' reflected operators: ``array * values`` -> Values.
    __array_ufunc__ = None

    def __init__(self, vals: Any, grads: bool = True):
        if isinstance(vals, Tensor):
            self.tensor = vals
        else:
            self.tensor = Tensor(_leaf_array(vals), requires_grad=bool(grads))

    # ----------------------------------------------------------------- attributes

    @property
    def vals(self) -> np.ndarray:
        return self.tensor.data

    @vals.setter
    def vals(self, value: Any) -> None:
        array = np.asarray(value, dtype=self.tensor.dtype)
        if array.shape != self.tensor.shape:
            raise ValueError(
                f"Values.vals expected an array of shape {self.tensor.shape}; received "
                f"shape {array.shape}."
            )
        self.tensor.data = array

    @property
    def grad(self) -> np.ndarray:
        g = self.tensor.grad
        return np.zeros_like(self.tensor.data) if g is None else g

    @grad.setter
    def grad(self, value: Any) -> None:
        self.tensor.grad = None if value is None else np.asarray(value, dtype=self.tensor.dtype)

    @property
    def grad_flag(self) -> bool:
        return self.tensor.requires_grad

    @grad_flag.setter
    def grad_flag(self, flag: bool) -> None:
        if self.tensor.is_leaf:
            self.tensor.requires_grad = bool(flag)
        elif not flag:
            self.tensor = self.tensor.detach()

    @property
    def shape(self) -> tuple[int, ...]:
        return self.tensor.shape

    @property
    def ndim(self) -> int:
        return self.tensor.ndim

    @property
    def size(self) -> int:
        return self.tensor.size

    @property
    def dtype(self) -> np.dtype:
        return self.tensor.dtype

    @property
    def _(self) -> Values:
        return self

    def __getattr__(self, name: str) -> Any:
        # As the original: NumPy's plain attributes (e.g. .itemsize, .nbytes) read through;
        # methods do not, since they would bypass the gradient.
        if name != "tensor" and "tensor" in self.__dict__:
            value = getattr(self.tensor.data, name, None)
            if value is not None and not callable(value):
                return value
        raise AttributeError(
            f"'Values' object has no attribute {name!r} (NumPy methods are not differentiable: "
            "use the Values methods, or .vals for a plain array)."
        )

    def __len__(self) -> int:
        return len(self.tensor)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.vals if dtype is None else self.vals.astype(dtype)

    def __repr__(self) -> str:
        return "vals: " + repr(self.vals) + "\ngrads: " + repr(self.grad)

    def __call__(self) -> Values:
        return self

    # ----------------------------------------------------------------- backward

    def backward(self) -> None:
        """Accumulate ``d sum(self) / d leaf`` into every leaf's ``.grad`` (seed: ones).

        Raises:
            RuntimeError: nothing this array was computed from has ``grads=True``.
        """
        self.tensor.backward(np.ones_like(self.tensor.data))

    # ----------------------------------------------------------------- arithmetic

    def __add__(self, other: Any) -> Values:
        return Values(self.tensor + _operand(other))

    def __radd__(self, other: Any) -> Values:
        return Values(_operand(other) + self.tensor)

    def __sub__(self, other: Any) -> Values:
        return Values(self.tensor - _operand(other))

    def __rsub__(self, other: Any) -> Values:
        return Values(_operand(other) - self.tensor)

    def __mul__(self, other: Any) -> Values:
        return Values(self.tensor * _operand(other))

    def __rmul__(self, other: Any) -> Values:
        return Values(_operand(other) * self.tensor)

    def __truediv__(self, other: Any) -> Values:
        return Values(self.tensor / _operand(other))

    def __rtruediv__(self, other: Any) -> Values:
        return Values(_operand(other) / self.tensor)

    def __matmul__(self, other: Any) -> Values:
        return Values(self.tensor @ _operand(other))

    def __rmatmul__(self, other: Any) -> Values:
        return Values(_operand(other) @ self.tensor)

    def __neg__(self) -> Values:
        return Values(-self.tensor)

    def __pow__(self, other: int | float) -> Values:
        if not isinstance(other, numbers.Real):
            raise TypeError(
                f"Values ** expected an int or float power; received {type(other).__name__}."
            )
        return Values(self.tensor**other)

    # ----------------------------------------------------------------- functions

    def exp(self) -> Values:
        return Values(self.tensor.exp())

    def log(self) -> Values:
        return Values(self.tensor.log())

    def abs(self) -> Values:
        return Values(self.tensor.abs())

    def relu(self) -> Values:
        return Values(F.relu(self.tensor))

    def tanh(self) -> Values:
        return Values(F.tanh(self.tensor))

    def softmax(self, axis: int = -1) -> Values:
        """Softmax along ``axis`` (stable: the maximum is subtracted first)."""
        return Values(F.softmax(self.tensor, dim=axis))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Values:
        return Values(self.tensor.sum(axis=axis, keepdims=keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Values:
        """The mean of all elements (the original's only form), or along ``axis``."""
        return Values(self.tensor.mean(axis=axis, keepdims=keepdims))

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Values:
        """The largest element (the original's only form), or the maxima along ``axis``."""
        return Values(self.tensor.max(axis=axis, keepdims=keepdims))

    def reshape(self, size: int | tuple[int, ...]) -> Values:
        return Values(self.tensor.reshape(size))

    def transpose(self, axis: tuple[int, ...] | None = None) -> Values:
        """Reverse the axes, or reorder them as ``axis`` (``numpy.transpose``)."""
        return Values(self.tensor.permute(axis) if axis else self.tensor.T)

    @property
    def T(self) -> Values:
        return Values(self.tensor.T)

    def pad(self, padding: tuple[tuple[int, int], ...]) -> Values:
        """Zero-pad like ``np.pad(vals, padding)``: one ``(before, after)`` pair per dimension.

        Raises:
            ValueError: not one pair per dimension (the original printed and returned None).

        >>> Values([[1.0]]).pad(((0, 1), (1, 0))).vals
        array([[0., 1.],
               [0., 0.]])
        """
        pairs = [tuple(p) for p in padding]
        if len(pairs) != self.ndim or any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"Values.pad expected one (before, after) pair per dimension ({self.ndim} "
                f"for shape {self.shape}); received {padding!r}."
            )
        flat = [n for pair in reversed(pairs) for n in pair]  # F.pad starts at the last axis
        return Values(F.pad(self.tensor, flat))

    # ----------------------------------------------------------------- indexing

    def __getitem__(self, item: Any) -> Values:
        return Values(self.tensor[item])

    def __setitem__(self, key: Any, value: Any) -> None:
        """Write ``value`` into ``self[key]``; gradients reach both ``value`` and the rest."""
        source = value.tensor if isinstance(value, Values) else Tensor(_leaf_array(value))
        self.tensor = _assign(self.tensor, key, source)
