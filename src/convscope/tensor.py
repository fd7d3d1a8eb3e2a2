"""The Tensor and its reverse-mode automatic differentiation.

A :class:`Tensor` wraps a NumPy array (``.data``). Every operation on tensors
computes its output array *and* a small ``backward`` closure beside it, which
maps the gradient of the output to the gradients of the inputs. Calling
``loss.backward()`` walks this graph from the loss to the leaves in reverse
topological order (iteratively, so graphs of any depth work) and accumulates
``.grad`` on every leaf tensor created with ``requires_grad=True``.

>>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()          # y = x1² + x2² + x3²
>>> y.backward()
>>> x.grad                     # dy/dx = 2x
array([2., 4., 6.], dtype=float32)

The engine knows nothing of layers or losses: those live in
:mod:`convscope.nn.functional`, written with :meth:`Tensor.from_op`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import numpy as np

# A backward closure maps the output gradient to one gradient per parent
# (None where that parent needs none).
BackwardFn = Callable[[np.ndarray], Sequence[np.ndarray | None]]
ArrayLike = Union["Tensor", np.ndarray, float, int, Sequence]

DEFAULT_DTYPE = np.float32

# --------------------------------------------------------------------------- grad mode


class _GradState(threading.local):
    """Grad mode, one per thread (as PyTorch): every new thread starts with it enabled."""

    enabled = True  # the class attribute is each thread's starting value


_grad_state = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations in the calling thread record a graph for :meth:`Tensor.backward`.

    Grad mode is per thread, as in PyTorch: ``no_grad()`` in one thread leaves the
    others recording, and a new thread starts with grad enabled.
    """
    return _grad_state.enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode on entry and restores the previous mode on exit (even on error).

    Previous modes are kept on a stack, so one instance may be entered re-entrantly,
    and every call of a decorated function gets a fresh instance.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._previous: list[bool] = []

    def _recreate_cm(self) -> _GradMode:
        return _GradMode(self.enabled)

    def __enter__(self) -> None:
        self._previous.append(_grad_state.enabled)
        _grad_state.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _grad_state.enabled = self._previous.pop()


def no_grad(func: Callable | None = None) -> Any:
    """Context manager (or decorator) in which operations build no graph.

    Use it for evaluation and for in-place parameter updates: it saves the memory
    and time of recording backward closures. The previous mode is restored on
    exit, also when an exception escapes. Works as ``@no_grad()`` and ``@no_grad``.

    >>> w = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    return _GradMode(False)(func) if callable(func) else _GradMode(False)


def enable_grad(func: Callable | None = None) -> Any:
    """Context manager (or decorator) that turns graph recording back on."""
    return _GradMode(True)(func) if callable(func) else _GradMode(True)


# --------------------------------------------------------------------------- versions


class _Versions:
    """How many in-place changes the process has seen (any tensor, any thread).

    Each node records this epoch; backward compares the saved tensors' versions only
    for nodes recorded before the latest in-place change, so the check costs one
    comparison per node when nothing changed.
    """

    epoch = 0


_versions = _Versions()

# --------------------------------------------------------------------------- helpers


def _to_array(value: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``value`` to an ndarray with convscope's dtype rules.

    NumPy arrays keep their dtype (float64 stays float64, as ``torch.from_numpy``);
    Python scalars and (nested) lists of numbers become float32; ``dtype`` overrides.
    """
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    else:
        array = np.asarray(value)
        if array.dtype.kind in "iufb" and array.dtype != np.bool_:
            array = array.astype(DEFAULT_DTYPE)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"Tensor expected numbers (bool, int or float); received an array of dtype "
            f"{array.dtype} from {type(value).__name__}."
        )
    return array


# Type promotion as PyTorch: float beats int beats bool whatever the dtypes' sizes, so
# int64 * float32 -> float32 (NumPy would say float64); within one category a 0-d operand
# does not widen a dimensioned one (float32 * 0-d float64 -> float32).
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _result_dtype(a: np.ndarray, b: np.ndarray) -> np.dtype:
    ca, cb = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
    if ca != cb:
        return a.dtype if ca > cb else b.dtype
    if (a.ndim == 0) != (b.ndim == 0):
        return b.dtype if a.ndim == 0 else a.dtype
    return np.result_type(a.dtype, b.dtype)


def _promote(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cast two operands of different dtypes to their common (PyTorch) dtype."""
    if a.dtype == b.dtype:
        return a, b
    dtype = _result_dtype(a, b)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _scalar_dtype(scalar: bool | int | float, like: np.dtype) -> np.dtype:
    """The dtype a Python scalar takes next to a tensor of dtype ``like``.

    It adopts ``like`` unless it is of a higher category (a float next to an int
    tensor): Python scalars never widen a tensor, so ``float32_tensor * 2.0`` stays float32.
    """
    category = 2 if isinstance(scalar, float) else 0 if isinstance(scalar, bool) else 1
    if category <= _CATEGORY[like.kind]:
        return like
    return np.dtype(DEFAULT_DTYPE) if category == 2 else np.dtype(np.int64)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes NumPy broadcasting added or stretched to reach ``shape``.

    If ``y = x + b`` broadcast ``b`` of shape (C,) to (N, C), every row of ``y``
    used the same ``b``, so ``dL/db`` is the sum of ``dL/dy`` over the rows.

    >>> unbroadcast(np.ones((4, 3)), (3,))
    array([4., 4., 4.])
    >>> unbroadcast(np.ones((4, 3)), (4, 1))
    array([[3.],
           [3.],
           [3.],
           [3.]])
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = accurate_sum(grad, axis=tuple(range(extra)))
    elif extra < 0:  # a smaller gradient (e.g. a scalar) that broadcasts up to ``shape``
        grad = grad.reshape((1,) * -extra + grad.shape)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = accurate_sum(grad, axis=stretched, keepdims=True)
    if grad.shape != shape:
        grad = np.broadcast_to(grad, shape)
    return grad


def accurate_sum(
    array: np.ndarray, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> np.ndarray:
    """``array.sum(axis)`` accumulated in float64 for float16/float32 input, in its dtype.

    NumPy sums pairwise (error ~ log n) only along a contiguous innermost axis. Over any
    other axis — a per-channel statistic over (N, H, W), or any reduction of a
    channels-last view such as conv2d's output — it adds one value at a time, and the
    float32 error grows with n: 1.5e-5 relative for 128·32·32 values of mean 50, where
    float64 accumulation gives the correctly rounded float32 sum. A full reduction of a
    contiguous array keeps NumPy's (pairwise) float32 path. Every reduction of the
    engine and of the ops over several axes goes through here.

    >>> a = np.full((4, 3), 0.1, np.float32)
    >>> accurate_sum(a, axis=0)
    array([0.4, 0.4, 0.4], dtype=float32)
    """
    dtype = array.dtype
    full = axis is None or (isinstance(axis, tuple) and len(axis) == array.ndim)
    if dtype.kind != "f" or dtype.itemsize >= 8 or (full and array.flags.c_contiguous):
        return np.asarray(array.sum(axis=axis, keepdims=keepdims))
    return np.asarray(array.sum(axis=axis, dtype=np.float64, keepdims=keepdims), dtype=dtype)


def _normalize_axis(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Non-negative, validated axes (all axes for None). A 0-d tensor accepts 0 and -1."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    bound = max(ndim, 1)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -bound <= a < bound:
            raise ValueError(
                f"axis expected integers in [{-bound}, {bound - 1}] for a tensor with {ndim} "
                f"dimension(s); received axis={axis!r}."
            )
    normalized = tuple(int(a) % bound for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis expected distinct axes; received axis={axis!r}.")
    return normalized if ndim else ()


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(shape[0])
    return shape


def _expand_reduced(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the axes a reduction removed, so ``grad`` broadcasts against its input."""
    if keepdims or not axes:
        return grad
    return np.expand_dims(grad, tuple(sorted(axes)))


def _is_basic_index(index: Any) -> bool:
    """True when ``array[index]`` is a view (no element can be selected twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


def _raw(value: Any) -> Any:
    """The array inside a Tensor; anything else unchanged."""
    return value.data if isinstance(value, Tensor) else value


def _unwrap_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index


# --------------------------------------------------------------------------- Tensor


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Dtypes follow PyTorch: NumPy arrays keep their dtype (float64 stays float64) and
    share memory with the tensor; Python scalars and lists become float32. In binary
    ops a Python scalar never widens a tensor (``float32 * 2.0`` is float32), float
    beats int beats bool (``int_tensor * 2.5`` and ``mask * 1.0`` are float32;
    ``int64 * float32`` is float32), and two floats promote (``float32 * float64`` is
    float64, unless the float64 operand is 0-d). ``int / int`` is float32.
    Gradients always come back in each input's own dtype.

    Args:
        data: array-like. NumPy arrays keep their dtype; Python scalars and lists
            become float32.
        requires_grad: record operations on this tensor so ``backward`` fills ``.grad``.
            Only floating-point tensors can require gradients.
        dtype: convert ``data`` to this NumPy dtype.

    Raises:
        TypeError: ``requires_grad=True`` for a non-float dtype, or non-numeric data.

    Attributes:
        data (np.ndarray): the values.
        grad (np.ndarray | None): the accumulated gradient after ``backward``.
        requires_grad (bool): whether gradients flow to this tensor.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_parents",
        "_backward",
        "_op",
        "_vc",
        "_saved_versions",
        "__weakref__",
    )
    # Make NumPy defer to Tensor's reflected operators: ``array * tensor`` -> Tensor.
    __array_ufunc__ = None

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None):
        array = _to_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"Only floating-point tensors can require gradients; received dtype {array.dtype}. "
                "Convert first, e.g. Tensor(data, dtype=np.float32)."
            )
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None
        self._op: str | None = None  # name of the op that produced this tensor; None for leaves
        # Version counter: a one-element list, created on the first in-place change and
        # shared by views of the same memory (None means version 0).
        self._vc: list[int] | None = None
        self._saved_versions: tuple[int, ...] | None = None

    # ----------------------------------------------------------------- graph building

    @classmethod
    def from_op(
        cls,
        data: np.ndarray,
        parents: Sequence[Tensor],
        backward: BackwardFn,
        op: str,
        saves: bool | Sequence[bool] = True,
    ) -> Tensor:
        """Wrap an op's output array and record how to differentiate it.

        ``backward(grad_out)`` must return one gradient per parent, each with the
        parent's shape or a shape that broadcasts to it (the engine unbroadcasts),
        or ``None`` for a parent that needs no gradient. When gradients are off or
        no parent requires one, no graph is recorded and the closure is dropped.

        ``saves`` says which values the closure reads: True (the output and every
        parent, the safe default), False (none: add, reshape, indexing) or one flag
        per tensor of ``(output, *parents)``. Their versions are recorded, and
        ``backward()`` refuses to run the closure if one changed in place since (see
        :meth:`increment_version`); PyTorch likewise checks only what an op saved. An
        output that is a view of a parent's memory shares that parent's version counter.
        """
        out = cls.__new__(Tensor)
        # NumPy returns scalars, not 0-d arrays, for e.g. 1-D @ 1-D: keep .data an ndarray.
        data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out.data = data
        out.grad = None
        out._op = None
        out._parents = ()
        out._backward = None
        out._vc = None
        out._saved_versions = None
        if data.base is not None:  # a view: share the counter of the parent it views
            for p in parents:
                if p.data is data.base or (p.data.base is not None and p.data.base is data.base):
                    if p._vc is None:
                        p._vc = [0]
                    out._vc = p._vc
                    break
        out.requires_grad = _grad_state.enabled and any(p.requires_grad for p in parents)
        if out.requires_grad:
            out._parents = tuple(parents)
            out._backward = backward
            out._op = op
            if saves is not False:
                # (epoch, which values are read, their versions). Usually no tensor
                # involved has a counter yet (all at version 0): the versions are then
                # left implicit, and backward checks only if the epoch moved on.
                counted = out._vc is not None
                for p in parents:  # a plain loop: cheaper than any() on one or two parents
                    if p._vc is not None:
                        counted = True
                        break
                versions = None
                if counted:
                    versions = tuple(0 if t._vc is None else t._vc[0] for t in (out, *parents))
                out._saved_versions = (_versions.epoch, saves, versions)
        return out

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an operation."""
        return self._op is None

    @property
    def grad_fn(self) -> str | None:
        """Name of the operation that produced this tensor (None for leaves)."""
        return self._op

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False) -> None:
        """Accumulate ``d self / d leaf`` into the ``.grad`` of every leaf that requires grad.

        Args:
            grad: gradient of some scalar with respect to this tensor, shaped like it.
                May be omitted only when this tensor has a single element.
            retain_graph: keep the graph's saved arrays so ``backward`` can run again.
                By default they are freed as the pass goes, to save memory.

        Raises:
            RuntimeError: this tensor does not require grad, or its graph was freed.
            ValueError: ``grad`` omitted for a non-scalar, or of the wrong shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True, or it ran inside no_grad()."
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a single-element tensor; received "
                    f"shape {self.shape}. Reduce it first (e.g. loss.mean()) or pass grad=."
                )
            seed = np.ones_like(self.data)
        else:
            seed = _to_array(grad, self.data.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward() expected a gradient of shape {self.shape}; received {seed.shape}."
                )

        # Nodes are popped as they are processed, so a processed node (and its .data)
        # is released at once unless the caller holds it: the pass keeps alive only
        # the nodes still to come.
        order = self._topological_order()
        grads: dict[int, np.ndarray] = {id(self): seed}
        while order:
            node = order.pop()
            g = grads.pop(id(node), None)
            if g is None:  # no gradient reached this node: nothing to do but free it
                if not retain_graph and node._op is not None:
                    node._backward, node._parents = None, ()
                continue
            if node._op is None:  # a leaf
                if node.grad is None:
                    node.grad = np.array(g, dtype=node.data.dtype, copy=True)
                else:
                    node.grad += g
                continue
            if node._backward is None:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time (at op {node._op!r}); "
                    "its saved arrays were freed. Pass retain_graph=True to the first backward()."
                )
            saved = node._saved_versions
            if saved is not None and saved[0] != _versions.epoch:  # an in-place change since
                node._check_versions()
            parent_grads = node._backward(g)
            if not retain_graph:
                node._backward = None
            if len(parent_grads) != len(node._parents):
                raise RuntimeError(
                    f"The backward of op {node._op!r} returned {len(parent_grads)} gradients "
                    f"for {len(node._parents)} inputs; expected one (or None) per input."
                )
            for parent, pg in zip(node._parents, parent_grads, strict=True):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.shape != parent.data.shape:
                    pg = unbroadcast(pg, parent.data.shape)
                if pg.dtype != parent.data.dtype:
                    pg = pg.astype(parent.data.dtype)
                key = id(parent)
                grads[key] = grads[key] + pg if key in grads else pg
            if not retain_graph:
                node._parents = ()
            g = parent_grads = pg = None  # drop this step's arrays before the next step

    def _check_versions(self) -> None:
        """Raise if a tensor this node's backward reads was changed in place since."""
        _, reads, versions = self._saved_versions
        tensors = (self, *self._parents)
        reads = (True,) * len(tensors) if reads is True else reads
        versions = versions or (0,) * len(tensors)
        for k, (t, read, expected) in enumerate(zip(tensors, reads, versions, strict=True)):
            now = 0 if t._vc is None else t._vc[0]
            if now == expected or not read:
                continue
            which = (
                f"the output of op {self._op!r}" if k == 0 else f"input {k - 1} of op {self._op!r}"
            )
            origin = "a leaf" if t._op is None else f"the output of op {t._op!r}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {which}, a {type(t).__name__} of shape {t.shape} and dtype "
                f"{t.dtype} ({origin}), is at version {now}; expected version {expected} "
                "instead. Hint: an in-place change (an optimizer step, +=, t[...] = v, zero_()) "
                "ran between the forward pass and backward(); call backward() first, or run "
                "the forward pass again after the change."
            )

    def _topological_order(self) -> list[Tensor]:
        """Nodes that need gradients, each listed *after* the nodes it was computed from
        (so ``pop()`` yields them in backward order).

        Iterative depth-first search, so a graph 20,000 ops deep needs no recursion.
        """
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
        return order

    # ----------------------------------------------------------------- plain accessors

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a single-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a single-element tensor; received shape {self.shape}.")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this one's data (and version counter), cut from the graph."""
        out = Tensor(self.data)
        if self._vc is None:
            self._vc = [0]
        out._vc = self._vc
        return out

    # ----------------------------------------------------------------- in-place changes

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (as ``torch``'s)."""
        return 0 if self._vc is None else self._vc[0]

    def increment_version(self) -> None:
        """Record an in-place change of ``.data`` (as ``torch.autograd.graph.increment_version``).

        The in-place methods (``t[...] = v``, ``+=``, ``zero_()``, ``fill_()``) and the
        optimizers' steps call it; code that writes into ``t.data`` itself should too, or
        backward cannot tell that a value it saved has changed (writes through ``.data``
        are untracked, as in PyTorch).
        """
        _versions.epoch += 1
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and _grad_state.enabled:
            kind = (
                "a leaf Tensor that requires grad"
                if self._op is None
                else (f"a Tensor that requires grad (the output of op {self._op!r})")
            )
            raise RuntimeError(
                f"{op} on {kind} would change a value the graph depends on; convscope "
                "records no in-place operations. Do it under no_grad() (e.g. a manual weight "
                "update), or write the out-of-place form (t = t + v)."
            )

    def __setitem__(self, index: Any, value: ArrayLike) -> None:
        """``t[index] = value`` in place (bumps the version); not differentiable.

        Raises:
            RuntimeError: ``t`` requires grad and grad mode is on.
        """
        self._check_inplace("t[...] = value")
        self.data[_unwrap_index(index)] = _raw(value)
        self.increment_version()

    def zero_(self) -> Tensor:
        """Set every element to 0 in place and return ``self``."""
        return self.fill_(0)

    def fill_(self, value: float) -> Tensor:
        """Set every element to ``value`` in place and return ``self``."""
        self._check_inplace("fill_()")
        self.data.fill(value)
        self.increment_version()
        return self

    def _inplace(self, ufunc: np.ufunc, other: ArrayLike, symbol: str) -> Tensor:
        """``self <symbol>= other``: in place when no graph is being recorded.

        Under ``no_grad()`` or for tensors outside any graph the memory is updated in
        place (views see it, the version is bumped); when the result would need a
        gradient the out-of-place op runs instead and the name is rebound (as
        ``x = x + y``). A leaf that requires grad is refused, as in PyTorch.
        """
        other_t = self._operand(other)
        if _grad_state.enabled and (self.requires_grad or other_t.requires_grad):
            if self._op is None and self.requires_grad:
                self._check_inplace(f"{symbol}=")
            return {"+": Tensor.__add__, "-": Tensor.__sub__, "*": Tensor.__mul__,
                    "/": Tensor.__truediv__}[symbol](self, other_t)  # fmt: skip
        try:
            ufunc(self.data, other_t.data, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as err:
            raise (TypeError if isinstance(err, TypeError) else ValueError)(
                f"in-place {symbol}= expected a value broadcastable to shape {self.shape} and "
                f"castable to dtype {self.dtype}; received shape {other_t.shape}, dtype "
                f"{other_t.dtype}."
            ) from None
        self.increment_version()
        return self

    def __iadd__(self, other: ArrayLike) -> Tensor:
        return self._inplace(np.add, other, "+")

    def __isub__(self, other: ArrayLike) -> Tensor:
        return self._inplace(np.subtract, other, "-")

    def __imul__(self, other: ArrayLike) -> Tensor:
        return self._inplace(np.multiply, other, "*")

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        return self._inplace(np.true_divide, other, "/")

    def astype(self, dtype: Any) -> Tensor:
        """Cast to ``dtype`` (a copy); gradients are cast back on the way down.

        A cast to a non-floating dtype ends the graph: the result requires no grad.
        """
        out = self.data.astype(dtype)
        if out.dtype.kind != "f":
            return Tensor(out)
        source_dtype = self.data.dtype
        return Tensor.from_op(
            out, (self,), lambda g: (g.astype(source_dtype),), "astype", saves=False
        )

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = ""
        if self.data.dtype != DEFAULT_DTYPE:
            extras += f", dtype={self.data.dtype}"
        if self._op is not None:
            extras += f", grad_fn={self._op}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"Tensor({body}{extras})"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    # ----------------------------------------------------------------- arithmetic

    def _operand(self, other: ArrayLike) -> Tensor:
        """Wrap a non-tensor operand. Python scalars take this tensor's dtype when they
        can (``float32_tensor * 2.0`` stays float32; ``int_tensor * 2.5`` is float32)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)):
            dtype = self.data.dtype
            if dtype.kind != "f":
                dtype = _scalar_dtype(other, dtype)
            return _constant(np.asarray(other, dtype=dtype))
        return Tensor(other)

    def __add__(self, other: ArrayLike) -> Tensor:
        other = self._operand(other)
        a, b = self.data, other.data
        if a.dtype is not b.dtype:  # fast check; _promote compares properly
            a, b = _promote(a, b)
        return Tensor.from_op(a + b, (self, other), lambda g: (g, g), "add", saves=False)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return self._operand(other) + self

    def __sub__(self, other: ArrayLike) -> Tensor:
        other = self._operand(other)
        a, b = self.data, other.data
        if a.dtype is not b.dtype:  # fast check; _promote compares properly
            a, b = _promote(a, b)
        return Tensor.from_op(a - b, (self, other), lambda g: (g, -g), "sub", saves=False)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return self._operand(other) - self

    def __mul__(self, other: ArrayLike) -> Tensor:
        other = self._operand(other)
        a, b = self.data, other.data
        if a.dtype is not b.dtype:  # fast check; _promote compares properly
            a, b = _promote(a, b)

        def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
            return (
                g * b if self.requires_grad else None,
                g * a if other.requires_grad else None,
            )

        saves = (False, other.requires_grad, self.requires_grad)  # dA reads b, dB reads a
        return Tensor.from_op(a * b, (self, other), backward, "mul", saves=saves)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return self._operand(other) * self

    def __truediv__(self, other: ArrayLike) -> Tensor:
        other = self._operand(other)
        a, b = self.data, other.data
        if a.dtype is not b.dtype:  # fast check; _promote compares properly
            a, b = _promote(a, b)
        if a.dtype.kind not in "fc":  # int / int is a float tensor, as in PyTorch
            a, b = a.astype(DEFAULT_DTYPE), b.astype(DEFAULT_DTYPE)

        def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
            # d(a/b)/da = 1/b ;  d(a/b)/db = -a/b²
            return (
                g / b if self.requires_grad else None,
                -g * a / (b * b) if other.requires_grad else None,
            )

        saves = (False, other.requires_grad, True)  # both read b; only d/db reads a
        return Tensor.from_op(a / b, (self, other), backward, "div", saves=saves)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return self._operand(other) / self

    def __neg__(self) -> Tensor:
        return Tensor.from_op(-self.data, (self,), lambda g: (-g,), "neg", saves=False)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        """``self ** exponent``; the exponent may be a number, an array or a Tensor."""
        other = self._operand(exponent)
        a, p = self.data, other.data
        if a.dtype is not p.dtype:
            a, p = _promote(a, p)
        out = a**p

        def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
            ga = gp = None
            if self.requires_grad:
                # d a^p / da = p · a^(p-1), taken as 0 where p = 0 (as PyTorch)
                if p.ndim == 0:
                    ga = g * p * a ** (p - 1) if p != 0 else np.zeros_like(g)
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ga = np.where(p == 0, 0, g * p * a ** (p - 1)).astype(g.dtype)
            if other.requires_grad:
                # d a^p / dp = a^p · ln a, taken as 0 where a = 0 and p >= 0 (as PyTorch)
                with np.errstate(divide="ignore", invalid="ignore"):
                    gp = np.where((a == 0) & (p >= 0), 0, g * out * np.log(a)).astype(g.dtype)
            return ga, gp

        return Tensor.from_op(out, (self, other), backward, "pow")

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return self._operand(base) ** self

    def __matmul__(self, other: ArrayLike) -> Tensor:
        other = self._operand(other)
        a, b = self.data, other.data
        if a.ndim < 1 or b.ndim < 1:
            raise ValueError(
                f"matmul expected tensors with at least one dimension; received shapes "
                f"{a.shape} and {b.shape}. Use * to multiply by a scalar."
            )
        if a.dtype is not b.dtype:  # fast check; _promote compares properly
            a, b = _promote(a, b)
        try:
            out = a @ b
        except ValueError:
            raise ValueError(
                f"matmul expected shapes (..., n, k) @ (..., k, m) with matching k; received "
                f"{a.shape} @ {b.shape}."
            ) from None

        def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
            # Promote vectors to matrices so one formula serves every case:
            # C = A B  =>  dA = dC Bᵀ,  dB = Aᵀ dC  (the engine sums broadcast batch axes).
            a2 = a[None, :] if a.ndim == 1 else a  # (1, k)
            b2 = b[:, None] if b.ndim == 1 else b  # (k, 1)
            g2 = g[..., None] if b.ndim == 1 else g  # (..., n, 1)
            g2 = g2[..., None, :] if a.ndim == 1 else g2  # (..., 1, m)
            ga = gb = None
            if self.requires_grad:
                ga = g2 @ np.swapaxes(b2, -1, -2)  # (..., n, k)
                ga = ga[..., 0, :] if a.ndim == 1 else ga  # (..., k)
            if other.requires_grad:
                gb = np.swapaxes(a2, -1, -2) @ g2  # (..., k, m)
                gb = gb[..., 0] if b.ndim == 1 else gb  # (..., k)
            return ga, gb

        saves = (False, other.requires_grad, self.requires_grad)  # dA reads B, dB reads A
        return Tensor.from_op(out, (self, other), backward, "matmul", saves=saves)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return self._operand(other) @ self

    # Comparisons produce boolean tensors and carry no gradient. The other operand is
    # used as given (a Python 0.1 is compared as 0.1, not rounded to float32 first).
    def __lt__(self, other: ArrayLike) -> Tensor:
        return Tensor(self.data < _raw(other))

    def __le__(self, other: ArrayLike) -> Tensor:
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other: ArrayLike) -> Tensor:
        return Tensor(self.data > _raw(other))

    def __ge__(self, other: ArrayLike) -> Tensor:
        return Tensor(self.data >= _raw(other))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _raw(other))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _raw(other))

    # ----------------------------------------------------------------- elementwise math

    def exp(self) -> Tensor:
        out = np.exp(self.data)
        return Tensor.from_op(out, (self,), lambda g: (g * out,), "exp", saves=(True, False))

    def log(self) -> Tensor:
        a = self.data
        return Tensor.from_op(np.log(a), (self,), lambda g: (g / a,), "log", saves=(False, True))

    def sqrt(self) -> Tensor:
        out = np.sqrt(self.data)
        return Tensor.from_op(out, (self,), lambda g: (g / (2 * out),), "sqrt", saves=(True, False))

    def abs(self) -> Tensor:
        a = self.data
        # d|a|/da = sign(a), taken as 0 at a = 0 (as PyTorch).
        return Tensor.from_op(
            np.abs(a), (self,), lambda g: (g * np.sign(a),), "abs", saves=(False, True)
        )

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Clamp values to ``[min, max]``; the gradient passes only where no clamp applied."""
        a = self.data
        out = np.clip(a, min, max)
        inside = np.ones(a.shape, dtype=bool)
        if min is not None:
            inside &= a >= min
        if max is not None:
            inside &= a <= max
        return Tensor.from_op(out, (self,), lambda g: (g * inside,), "clip", saves=False)

    clamp = clip

    # ----------------------------------------------------------------- reductions

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes when None; an int or a tuple, negatives allowed).

        float32 sums accumulate in float64 whatever the memory layout
        (:func:`accurate_sum`), so a channels-last view sums as exactly as a copy.

        Args:
            axis: the axes to reduce.
            keepdims: keep the reduced axes with length 1.

        Raises:
            ValueError: an axis out of range or repeated.

        >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=-1)
        Tensor([3., 7.])
        """
        axes = _normalize_axis(axis, self.ndim)
        shape = self.shape
        out = accurate_sum(self.data, axis=axes, keepdims=keepdims)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            return (np.broadcast_to(_expand_reduced(g, axes, keepdims), shape),)

        return Tensor.from_op(out, (self,), backward, "sum", saves=False)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``; arguments as :meth:`sum`."""
        axes = _normalize_axis(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def var(
        self,
        axis: int | Sequence[int] | None = None,
        correction: int = 1,
        keepdims: bool = False,
        *,
        unbiased: bool | None = None,
    ) -> Tensor:
        """Variance over ``axis``: ``Σ (x − mean)² / (n − correction)``, as ``torch.var``.

        Args:
            axis: the axes to reduce (all when None).
            correction: subtracted from the count n. 1 (the default, as PyTorch) gives
                the unbiased estimate, 0 the population variance. ``n <= correction``
                gives inf or nan, as in PyTorch.
            keepdims: keep the reduced axes with length 1.
            unbiased: PyTorch's older spelling: True is ``correction=1``, False ``0``.

        >>> Tensor([1.0, 2.0, 3.0, 4.0]).var()
        Tensor(1.6666666)
        >>> Tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0)
        Tensor(1.25)
        """
        if unbiased is not None:
            correction = int(bool(unbiased))
        axes = _normalize_axis(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        centred = self - self.mean(axis=axes, keepdims=True)
        squares = (centred * centred).sum(axis=axes, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):  # n <= correction: inf or nan
            return squares / float(max(count - correction, 0))

    def std(
        self,
        axis: int | Sequence[int] | None = None,
        correction: int = 1,
        keepdims: bool = False,
        *,
        unbiased: bool | None = None,
    ) -> Tensor:
        """Standard deviation, ``sqrt(var(...))``; arguments as :meth:`var` (``torch.std``).

        >>> Tensor([[1.0, 3.0], [2.0, 6.0]]).std(axis=1, correction=0)
        Tensor([1., 2.])
        """
        return self.var(axis, correction, keepdims, unbiased=unbiased).sqrt()

    def _extremum(self, reduce: Callable, axis: Any, keepdims: bool, op: str) -> Tensor:
        axes = _normalize_axis(axis, self.ndim)
        a = self.data
        out = reduce(a, axis=axes, keepdims=True)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            # Ties share the gradient equally (as torch.amax/amin).
            winners = (a == out).astype(g.dtype)
            share = winners / winners.sum(axis=axes, keepdims=True)
            return (_expand_reduced(g, axes, keepdims) * share,)

        result = out if keepdims else np.squeeze(out, axis=axes)
        return Tensor.from_op(np.asarray(result), (self,), backward, op)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Largest value over ``axis``. Tied maxima share the gradient equally."""
        return self._extremum(np.max, axis, keepdims, "max")

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Smallest value over ``axis``. Tied minima share the gradient equally."""
        return self._extremum(np.min, axis, keepdims, "min")

    def argmax(self, axis: int | None = None) -> Tensor:
        return Tensor(np.argmax(self.data, axis=axis))

    def argmin(self, axis: int | None = None) -> Tensor:
        return Tensor(np.argmin(self.data, axis=axis))

    # ----------------------------------------------------------------- shape

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """A tensor with the same elements in shape ``shape`` (one entry may be -1)."""
        new_shape = _shape_arg(shape)
        source = self.shape
        try:
            out = self.data.reshape(new_shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape tensor of shape {source} ({self.size} elements) "
                f"into shape {tuple(new_shape)}."
            ) from None
        return Tensor.from_op(out, (self,), lambda g: (g.reshape(source),), "reshape", saves=False)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim..end_dim`` into one (as ``torch.flatten``)."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1 :]
        return self.reshape(shape)

    def transpose(self, *axes: int) -> Tensor:
        """Reverse the axes, or with two arguments swap those two (as ``torch.transpose``)."""
        if len(axes) == 2:
            perm = list(range(self.ndim))
            perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
            return self.permute(*perm)
        return self.permute(*(axes or range(self.ndim)[::-1]))

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """Reorder the axes: output axis ``i`` is input axis ``dims[i]`` (negatives allowed)."""
        try:
            perm = _normalize_axis(_shape_arg(dims), self.ndim)
        except ValueError:
            perm = ()
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(
                f"permute expected a permutation of the {self.ndim} axes of a tensor of shape "
                f"{self.shape}; received {_shape_arg(dims)!r}."
            )
        inverse = tuple(np.argsort(perm))
        out = self.data.transpose(perm)
        return Tensor.from_op(
            out, (self,), lambda g: (g.transpose(inverse),), "permute", saves=False
        )

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def squeeze(self, axis: int | None = None) -> Tensor:
        source = self.shape
        out = np.squeeze(self.data, axis=axis)
        return Tensor.from_op(out, (self,), lambda g: (g.reshape(source),), "squeeze", saves=False)

    def unsqueeze(self, axis: int) -> Tensor:
        source = self.shape
        out = np.expand_dims(self.data, axis)
        return Tensor.from_op(
            out, (self,), lambda g: (g.reshape(source),), "unsqueeze", saves=False
        )

    def expand(self, *sizes: int | Sequence[int]) -> Tensor:
        """A broadcast view with ``sizes`` (as ``torch.Tensor.expand``); no copy.

        ``-1`` keeps a dimension; only dimensions of size 1 can grow, and new ones can
        be added in front. The gradient sums over the expanded dimensions.

        Raises:
            ValueError: a size that does not match a non-singleton dimension.

        >>> Tensor([[1.0], [2.0]]).expand(2, 3)
        Tensor([[1., 1., 1.],
                [2., 2., 2.]])
        """
        sizes = tuple(_shape_arg(sizes))
        extra = len(sizes) - self.ndim
        if extra < 0:
            raise ValueError(
                f"expand expected at least {self.ndim} sizes for a tensor of shape {self.shape}; "
                f"received {sizes}."
            )
        shape = []
        for k, size in enumerate(sizes):
            current = self.shape[k - extra] if k >= extra else None
            if size == -1 and current is not None:
                size = current
            if (
                not isinstance(size, (int, np.integer))
                or size < 0
                or (current not in (None, 1, size))
            ):
                raise ValueError(
                    f"expand: the expanded size ({size}) must match the existing size ({current}) "
                    f"at non-singleton dimension {k}; received sizes {sizes} for a tensor of "
                    f"shape {self.shape}."
                )
            shape.append(int(size))
        out = np.broadcast_to(self.data, tuple(shape))  # read-only view
        # The engine sums the gradient back to self's shape (unbroadcast).
        return Tensor.from_op(out, (self,), lambda g: (g,), "expand", saves=False)

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple:
        """Views of consecutive pieces along ``axis`` (as ``torch.split``).

        Args:
            split_size_or_sections: an int (pieces of that size, the last one possibly
                smaller) or a list of sizes summing to the axis length.
            axis: the axis to cut.

        Raises:
            ValueError: a non-positive size, or sizes that do not sum to the length.

        >>> [t.shape for t in Tensor(np.zeros((5, 2))).split(2)]
        [(2, 2), (2, 2), (1, 2)]
        """
        (axis,) = _normalize_axis(axis, self.ndim)
        length = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size < 1:
                raise ValueError(f"split expected a positive split size; received {size}.")
            sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
        else:
            sizes = [int(n) for n in split_size_or_sections]
            if sum(sizes) != length or any(n < 0 for n in sizes):
                raise ValueError(
                    f"split expected non-negative sizes summing to {length} (the length of axis "
                    f"{axis}); received {list(split_size_or_sections)}."
                )
        pieces, start = [], 0
        for n in sizes:
            index = (slice(None),) * axis + (slice(start, start + n),)
            pieces.append(self[index])
            start += n
        return tuple(pieces)

    def gather(self, axis: int, index: ArrayLike) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``axis=0`` and so on (``torch.gather``).

        ``index`` has as many dimensions as ``self``; along the other axes it may be
        shorter than ``self``. The gradient adds into the gathered positions (an
        index picked twice gets both contributions).

        Raises:
            ValueError: index of another rank, too large along an axis, or out of range.
            TypeError: a non-integer index.

        >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, np.array([[0, 0], [1, 0]]))
        Tensor([[1., 1.],
                [4., 3.]])
        """
        (axis,) = _normalize_axis(axis, self.ndim)
        idx = np.asarray(_raw(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather expected an integer index; received dtype {idx.dtype}.")
        if idx.ndim != self.ndim or any(
            n > m for k, (n, m) in enumerate(zip(idx.shape, self.shape, strict=True)) if k != axis
        ):
            raise ValueError(
                f"gather expected an index with {self.ndim} dimensions, no longer than the input "
                f"{self.shape} except along axis {axis}; received shape {idx.shape}."
            )
        size = self.shape[axis]
        if idx.size and (idx.min() < -size or idx.max() >= size):
            bad = idx.max() if idx.max() >= size else idx.min()
            raise ValueError(
                f"gather: index {bad} is out of bounds for axis {axis} with size {size}."
            )
        region = tuple(slice(0, n) if k != axis else slice(None) for k, n in enumerate(idx.shape))
        out = np.take_along_axis(self.data[region], idx, axis=axis)
        shape, dtype = self.shape, self.dtype
        # Where each output value came from: open grids for the other axes.
        where = list(np.ix_(*[np.arange(n) for n in idx.shape]))
        where[axis] = idx

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            full = np.zeros(shape, dtype=dtype)
            np.add.at(full, tuple(where), g)
            return (full,)

        return Tensor.from_op(out, (self,), backward, "gather", saves=False)

    def where(self, condition: ArrayLike, other: ArrayLike) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (``torch.Tensor.where``)."""
        return where(condition, self, other)

    def __getitem__(self, index: Any) -> Tensor:
        index = _unwrap_index(index)
        out = self.data[index]
        basic = _is_basic_index(index)
        shape, dtype = self.shape, self.dtype  # keep no reference to the input array

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            full = np.zeros(shape, dtype=dtype)
            if basic:
                full[index] = g
            else:  # advanced indexing may pick an element twice: accumulate
                np.add.at(full, index, g)
            return (full,)

        return Tensor.from_op(np.asarray(out), (self,), backward, "getitem", saves=False)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]


# --------------------------------------------------------------------------- free functions


def _constant(array: np.ndarray) -> Tensor:
    """A leaf wrapping ``array`` as is (no conversion): the fast path for operands."""
    out = Tensor.__new__(Tensor)
    out.data, out.grad, out.requires_grad = array, None, False
    out._parents, out._backward, out._op = (), None, None
    out._vc = out._saved_versions = None
    return out


def tensor(data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Build a :class:`Tensor` (same as the constructor, named like ``torch.tensor``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(value: ArrayLike) -> Tensor:
    """Return ``value`` if it is a Tensor, else wrap it (without requiring grad)."""
    return value if isinstance(value, Tensor) else Tensor(value)


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``)."""
    parts = [as_tensor(t) for t in tensors]
    if not parts:
        raise ValueError("concatenate() needs at least one tensor; received none.")
    out = np.concatenate([p.data for p in parts], axis=axis)
    boundaries = np.cumsum([p.shape[axis] for p in parts])[:-1]

    def backward(g: np.ndarray) -> list[np.ndarray]:
        return np.split(g, boundaries, axis=axis)

    return Tensor.from_op(out, parts, backward, "concatenate", saves=False)


cat = concatenate


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    parts = [as_tensor(t) for t in tensors]
    if not parts:
        raise ValueError("stack() needs at least one tensor; received none.")
    out = np.stack([p.data for p in parts], axis=axis)

    def backward(g: np.ndarray) -> list[np.ndarray]:
        return list(np.moveaxis(g, axis, 0))  # views, one per input

    return Tensor.from_op(out, parts, backward, "stack", saves=False)


def where(condition: ArrayLike, input: ArrayLike, other: ArrayLike) -> Tensor:
    """Elementwise choice (``torch.where``): ``input`` where ``condition`` holds, else ``other``.

    The three broadcast together; the gradient goes to ``input`` where the condition
    holds and to ``other`` elsewhere (summed over broadcast axes).

    >>> where(np.array([True, False]), Tensor([1.0, 2.0]), 0.0)
    Tensor([1., 0.])
    """
    cond = np.asarray(_raw(condition))
    if cond.dtype != np.bool_:
        raise TypeError(f"where expected a boolean condition; received dtype {cond.dtype}.")
    a = as_tensor(input)
    b = a._operand(other) if not isinstance(other, Tensor) else other
    x, y = a.data, b.data
    if x.dtype is not y.dtype:
        x, y = _promote(x, y)
    try:
        out = np.where(cond, x, y)
    except ValueError:
        raise ValueError(
            f"where expected condition, input and other to broadcast together; received shapes "
            f"{cond.shape}, {x.shape} and {y.shape}."
        ) from None

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        zero = np.zeros((), dtype=g.dtype)
        return (
            np.where(cond, g, zero) if a.requires_grad else None,
            np.where(cond, zero, g) if b.requires_grad else None,
        )

    return Tensor.from_op(out, (a, b), backward, "where", saves=False)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """Subscripts per operand and for the output, with ``...`` spelled out as letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(
            f"einsum expected {len(inputs)} operand(s) for {equation!r}; received {len(ndims)}."
        )
    used = set(equation) - set(".,->")
    if not used <= set(_LETTERS):
        raise ValueError(f"einsum expected subscripts made of letters; received {equation!r}.")
    spare = "".join(c for c in _LETTERS if c not in used)
    # ``...`` covers the dimensions the letters leave over, aligned to the right.
    counts = [ndim - (len(sub) - 3) if "..." in sub else 0 for sub, ndim in zip(inputs, ndims)]
    ellipsis = spare[: max(counts, default=0)]
    for k, (sub, ndim, n) in enumerate(zip(inputs, ndims, counts, strict=True)):
        if "..." in sub and n >= 0:
            inputs[k] = sub.replace("...", ellipsis[len(ellipsis) - n :])
        if len(inputs[k]) != ndim:
            raise ValueError(
                f"einsum: operand {k} has {ndim} dimension(s) but subscripts {sub!r} name "
                f"{len(sub.replace('...', ''))}."
            )
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:  # implicit: the letters used once, in alphabetical order, after the ellipsis
        letters = "".join(inputs)
        output = ellipsis + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        )
    return inputs, output


def einsum(equation: str, *operands: ArrayLike) -> Tensor:
    """Einstein summation (``torch.einsum``), differentiable in every operand.

    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``"ii->i"`` the diagonal; ``"bij->bji"``
    a transpose; without ``->`` the output keeps the letters used once, sorted.
    ``...`` stands for the leading dimensions, which must have equal sizes.

    The gradient of operand k is again an einsum: of the output gradient with the
    other operands, onto k's letters; letters summed in k alone are broadcast back,
    and a letter repeated in k (a diagonal) receives it on that diagonal.

    Raises:
        ValueError: subscripts that do not fit the operands.

    >>> einsum("ij,j->i", Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([1.0, 1.0]))
    Tensor([3., 7.])
    """
    tensors = [as_tensor(t) for t in operands]
    inputs, output = _parse_einsum(equation, [t.ndim for t in tensors])
    arrays = [t.data for t in tensors]
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        dtype = _result_dtype(np.empty((1,), dtype), a)
    arrays = [a.astype(dtype, copy=False) for a in arrays]
    spec = ",".join(inputs) + "->" + output
    try:
        out = np.einsum(spec, *arrays, optimize=len(arrays) > 2)
    except ValueError as err:
        raise ValueError(
            f"einsum {equation!r} does not fit operands of shapes "
            f"{[a.shape for a in arrays]}: {err}"
        ) from None

    def backward(g: np.ndarray) -> list[np.ndarray | None]:
        grads: list[np.ndarray | None] = []
        for k, t in enumerate(tensors):
            if not t.requires_grad:
                grads.append(None)
                continue
            sub, others = inputs[k], inputs[:k] + inputs[k + 1 :]
            rest = arrays[:k] + arrays[k + 1 :]
            reachable = set(output).union(*others)
            unique = "".join(dict.fromkeys(sub))  # k's letters, once each, in order
            target = "".join(c for c in unique if c in reachable)
            grad = np.einsum(",".join([output, *others]) + "->" + target, g, *rest, optimize=True)
            size = dict(zip(sub, arrays[k].shape, strict=True))
            if target != unique:  # letters summed in k alone: d/dx of a sum is 1 for each term
                grad = grad.reshape([size[c] if c in target else 1 for c in unique])
                grad = np.broadcast_to(grad, [size[c] for c in unique])
            if unique != sub:  # a repeated letter: the gradient lives on the diagonal
                full = np.zeros(arrays[k].shape, dtype=g.dtype)
                np.einsum(f"{sub}->{unique}", full)[...] = grad  # a writable diagonal view
                grad = full
            grads.append(grad)
        return grads

    return Tensor.from_op(np.asarray(out), tensors, backward, "einsum")


def _elementwise(name: str) -> Callable[[ArrayLike], Tensor]:
    method = getattr(Tensor, name)

    @functools.wraps(method)
    def apply(x: ArrayLike) -> Tensor:
        return method(as_tensor(x))

    return apply


exp = _elementwise("exp")
log = _elementwise("log")
sqrt = _elementwise("sqrt")
abs = _elementwise("abs")  # noqa: A001 - mirrors numpy/torch naming


def clip(x: ArrayLike, min: float | None = None, max: float | None = None) -> Tensor:
    return as_tensor(x).clip(min, max)


def zeros(*shape: int, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 by default."""
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: int, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``; float32 by default."""
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)
