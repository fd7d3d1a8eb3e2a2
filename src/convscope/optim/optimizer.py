"""The :class:`Optimizer` base class: parameter groups, ``zero_grad``, ``step``, state dicts.

An optimizer holds *parameter groups*: lists of tensors that share hyper-parameters
(``lr``, ``weight_decay``, ...), and a per-parameter ``state`` dict (momentum buffers,
moving averages). ``step()`` reads every parameter's ``.grad`` and updates its
``.data`` **in place** (the array object stays the same, so views of it stay valid),
skipping parameters whose gradient is ``None``. Subclasses write only the update rule
of one parameter, :meth:`Optimizer._update`, vectorised over the whole array.

>>> import numpy as np
>>> from convscope import Tensor
>>> from convscope.optim import SGD
>>> w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()        # dL/dw = 2w
>>> opt.step()                      # w <- w - 0.1 * 2w
>>> w.data
array([0.8, 1.6])
>>> opt.zero_grad()
>>> w.grad is None
True
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from convscope.tensor import Tensor, enable_grad

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


# --------------------------------------------------------------------------- validation


def check_number(
    owner: str,
    name: str,
    value: Any,
    low: float | None = 0.0,
    high: float | None = None,
    low_inclusive: bool = True,
) -> None:
    """Raise unless ``value`` is a real number in the allowed range.

    The range is ``low <= value`` (``<`` when ``low_inclusive=False``), and
    ``value < high`` when ``high`` is given. NaN is always rejected.

    >>> check_number("Adam", "lr", -1)
    Traceback (most recent call last):
        ...
    ValueError: Adam expected lr >= 0; received lr=-1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner} expected {name} to be a number; received {name}={value!r} "
            f"of type {type(value).__name__}."
        )
    low_op = "<=" if low_inclusive else "<"
    ok = value == value  # False for NaN
    if low is not None:
        ok = ok and (value >= low if low_inclusive else value > low)
    if high is not None:
        ok = ok and value < high
    if ok:
        return
    if low is not None and high is not None:
        expected = f"{low:g} {low_op} {name} < {high:g}"
    elif low is not None:
        expected = f"{name} {'>=' if low_inclusive else '>'} {low:g}"
    else:
        expected = f"{name} < {high:g}"
    raise ValueError(f"{owner} expected {expected}; received {name}={value!r}.")


def plain(value: Any) -> Any:
    """Turn NumPy scalars and small arrays (as a ``.npz`` round trip returns them)
    back into Python numbers and tuples, so hyper-parameters stay Python floats."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(plain(v) for v in value)
    return value


def _refuse_set(owner: str, params: Any) -> None:
    # state_dict numbers parameters by position, so their order must be reproducible
    if isinstance(params, (set, frozenset)):
        raise TypeError(
            f"{owner} expected params in an ordered collection (list or tuple); received a "
            "set, whose order changes between runs. Use a list."
        )


# --------------------------------------------------------------------------- Optimizer


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer`` semantics).

    Args:
        params: an iterable of Tensors to optimise (e.g. ``model.parameters()``), or an
            iterable of dicts, each a parameter group: ``{'params': [...], 'lr': 0.1}``.
            Keys a group leaves out take the optimizer's defaults.
        defaults: the hyper-parameters of the optimizer, by name.

    Attributes:
        param_groups (list[dict]): the groups; ``group['params']`` is a list of Tensors.
            Changing ``group['lr']`` changes the learning rate from the next step on.
        state (dict[Tensor, dict]): per-parameter state (``step``, buffers), created
            at the first step that parameter receives a gradient.
        defaults (dict): the default hyper-parameters.

    Raises:
        TypeError: ``params`` is a single Tensor, a set, or holds non-Tensors.
        ValueError: ``params`` is empty, holds a parameter twice, a non-leaf tensor,
            or a hyper-parameter is out of range.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self._validate_group(self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name} expected an iterable of Tensors or of dicts as params; received a "
                f"single Tensor. Wrap it in a list: {name}([w], ...)."
            )
        _refuse_set(name, params)
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list; pass model.parameters().")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters.

        Useful to fine-tune a pretrained network: add the new head's parameters with a
        larger learning rate. Missing keys take ``self.defaults``.

        Raises:
            TypeError / ValueError: as the constructor.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name} expected a param group dict; received {type(param_group).__name__}."
            )
        if "params" not in param_group:
            raise ValueError(
                f"{name} expected a 'params' key in the param group; received keys "
                f"{sorted(param_group)}."
            )
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        else:
            _refuse_set(name, params)
            params = list(params)
        if not params:
            raise ValueError(f"{name} got a param group with an empty parameter list.")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name} expected params to be Tensors; received {type(p).__name__} "
                    f"at position {i}."
                )
            if p.dtype.kind != "f":
                raise TypeError(
                    f"{name} can only optimize floating-point tensors; received dtype {p.dtype} "
                    f"at position {i}."
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name} can't optimize a non-leaf Tensor (position {i}, computed by "
                    f"{p.grad_fn!r}); optimize the tensors it was computed from."
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError(
                f"{name} received a parameter more than once (within a group or in two "
                "groups); each parameter may appear in one group only."
            )
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._validate_group(group)
        self.param_groups.append(group)
        self._init_group(group)

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Raise on out-of-range hyper-parameters (overridden by each optimizer)."""

    def _init_group(self, group: dict[str, Any]) -> None:
        """Create state eagerly for a new group (only Adagrad needs it)."""

    # ----------------------------------------------------------------- stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter.

        Args:
            set_to_none: set ``.grad`` to ``None`` (the default, as PyTorch: saves
                memory, and ``step`` then skips the parameter). ``False`` fills the
                existing gradient arrays with zeros instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Args:
            closure: optional function that re-evaluates the model and returns the
                loss (called with gradients enabled, before the update).

        Returns:
            The closure's loss, or None.

        Raises:
            ValueError: a gradient's shape differs from its parameter's.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step() expected a gradient of shape "
                        f"{p.data.shape}; received {grad.shape}."
                    )
                if grad.dtype != p.data.dtype:
                    grad = grad.astype(p.data.dtype)
                state = self.state.setdefault(p, {})
                self._update(p.data, grad, state, group)
                p.increment_version()  # a graph built before this step can no longer backward
        return loss

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply one step to ``param`` in place; never modify ``grad``."""
        raise NotImplementedError

    def _state_keys(self, group: dict[str, Any]) -> set[str]:
        """The keys a parameter's state holds after a step, under ``group``'s settings."""
        raise NotImplementedError

    # ----------------------------------------------------------------- state dicts

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data, in PyTorch's layout.

        Parameters are replaced by their position across all groups (0, 1, ...).
        Arrays are copies, so later steps do not change a saved state dict::

            {'state': {0: {'step': 3, 'exp_avg': ndarray, ...}, ...},
             'param_groups': [{'lr': 0.001, ..., 'params': [0, 1, ...]}, ...]}
        """
        index: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                packed["params"].append(index[id(p)])
            packed_groups.append(packed)
        packed_state = {
            index[id(p)]: {
                k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
                for k, v in state.items()
            }
            for p, state in self.state.items()
            if state
        }
        return {"state": dict(sorted(packed_state.items())), "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`, so training resumes identically.

        Hyper-parameters (e.g. a scheduled ``lr``) come from the saved groups; the
        parameters stay this optimizer's own. Arrays are copied and cast to each
        parameter's dtype.

        Raises:
            ValueError: the numbers of groups or of parameters per group differ, a
                saved array's shape differs from its parameter's, or the saved state
                belongs to a different optimizer or settings.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                f"{name} expected a dict with keys 'state' and 'param_groups' (from "
                f"Optimizer.state_dict()); received {type(state_dict).__name__}"
                + (f" with keys {sorted(state_dict)}." if isinstance(state_dict, dict) else ".")
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name} expected {len(self.param_groups)} param group(s); received "
                f"{len(saved_groups)}."
            )
        new_groups = []
        id_to_param: dict[int, Tensor] = {}
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            saved_ids = [int(plain(i)) for i in np.atleast_1d(saved["params"])]
            if len(saved_ids) != len(group["params"]):
                raise ValueError(
                    f"{name} expected param group {g} to hold {len(group['params'])} "
                    f"parameter(s); received {len(saved_ids)}."
                )
            missing = [k for k in self.defaults if k not in saved]
            if missing:
                raise ValueError(
                    f"{name}: param group {g} lacks hyper-parameter(s) {missing}; it has "
                    f"{sorted(k for k in saved if k != 'params')}. Was it saved from "
                    "another optimizer?"
                )
            restored = {k: plain(v) for k, v in saved.items() if k != "params"}
            restored = {"params": group["params"], **copy.deepcopy(restored)}
            self._validate_group(restored)
            new_groups.append(restored)
            id_to_param.update(zip(saved_ids, group["params"], strict=True))

        new_state: dict[Tensor, dict[str, Any]] = {}
        param_group = {id(p): grp for grp in new_groups for p in grp["params"]}
        for key, saved_state in state_dict["state"].items():
            i = int(plain(key))
            if i not in id_to_param:
                raise ValueError(
                    f"{name}: the saved state refers to parameter {i}, which no saved param "
                    f"group lists (they list {sorted(id_to_param)})."
                )
            p = id_to_param[i]
            if not saved_state:
                continue
            expected = self._state_keys(param_group[id(p)])
            if set(saved_state) != expected:
                raise ValueError(
                    f"{name}: the state of parameter {i} has keys {sorted(saved_state)}; "
                    f"expected {sorted(expected)} under its group's settings. Was it saved "
                    "from another optimizer?"
                )
            restored_state: dict[str, Any] = {}
            for k, v in saved_state.items():
                if k == "step":
                    restored_state[k] = int(plain(v))
                    continue
                array = np.array(v, dtype=p.data.dtype, copy=True)
                if array.shape != p.data.shape:
                    raise ValueError(
                        f"{name}: state {k!r} of parameter {i} has shape {array.shape}, but "
                        f"the parameter has shape {p.data.shape}."
                    )
                restored_state[k] = array
            new_state[p] = restored_state
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        lines.append(")")
        return "\n".join(lines)
