"""``Module``: the base class of every layer and model, in the PyTorch manner.

Assigning a :class:`Parameter` or another ``Module`` to an attribute registers it,
so a model written as plain attribute assignments knows its parameters, its
sub-modules and how to save itself:

>>> import numpy as np
>>> from convscope.nn import Linear, Module, ReLU
>>> class MLP(Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = Linear(4, 8)
...         self.act = ReLU()
...         self.out = Linear(8, 2)
...     def forward(self, x):
...         return self.out(self.act(self.hidden(x)))
>>> net = MLP()
>>> [name for name, _ in net.named_parameters()]
['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
>>> net.num_parameters()
58
>>> net(np.zeros((3, 4), dtype=np.float32)).shape
(3, 2)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.nn.hooks import ForwardHook, RemovableHandle
from convscope.nn.parameter import Parameter
from convscope.nn.state import IncompatibleKeys, load_into
from convscope.tensor import Tensor

if TYPE_CHECKING:
    from convscope.nn.functional.geometry import WindowGeometry
    from convscope.nn.summary import Summary


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (PyTorch's nested-repr helper)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class Module:
    """Base class for layers and models: subclass it, assign layers in ``__init__``,
    compute in ``forward``, call the instance.

    Attributes:
        training (bool): True in training mode (Dropout drops, BatchNorm uses batch
            statistics); set by :meth:`train` and :meth:`eval`.
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__ because our own __setattr__ needs these registries.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})

    # ----------------------------------------------------------------- calling

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation. Subclasses define it; call the module, not ``forward``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(). Define forward(self, x) in your "
            "subclass, then call the module itself: model(x)."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward pass of this module.

        A hook returning something other than None replaces the output.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        >>> from convscope.nn import ReLU
        >>> seen = []
        >>> relu = ReLU()
        >>> handle = relu.register_forward_hook(lambda m, inp, out: seen.append(out.shape))
        >>> _ = relu(np.zeros((2, 3), dtype=np.float32))
        >>> handle.remove()
        >>> _ = relu(np.zeros((5,), dtype=np.float32))
        >>> seen
        [(2, 3)]
        """
        if not callable(hook):
            raise TypeError(f"register_forward_hook expected a callable; received {hook!r}.")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----------------------------------------------------------------- registration

    def _init_first_error(self, kind: str, name: str) -> AttributeError:
        cls = type(self).__name__
        return AttributeError(
            f"cannot assign {kind} '{name}' before Module.__init__() call: add "
            f"super().__init__() as the first line of {cls}.__init__."
        )

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry and the instance dict (before re-registering)."""
        for registry in (self._parameters, self._buffers, self._modules, self.__dict__):
            registry.pop(name, None)
        self._non_persistent.discard(name)

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if isinstance(value, Parameter):
            if params is None:
                raise self._init_first_error("parameter", name)
            self._forget(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    f"(Parameter or None expected); wrap it: Parameter(value)."
                )
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise self._init_first_error("module", name)
            self._forget(name)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(Module or None expected)."
                )
            modules[name] = None
        elif buffers is not None and name in buffers:
            buffers[name] = self._buffer_array(name, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}': "
                f"Module.__init__() was never called. Add super().__init__() as the first "
                f"line of {type(self).__name__}.__init__."
            )
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        extra = [*self._parameters, *self._buffers, *self._modules]
        return sorted(set(super().__dir__()) | set(extra))

    def _check_new_name(self, name: Any, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise self._init_first_error(what, str(name))
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"{what} name must be a non-empty string without '.'; received {name!r}."
            )
        taken = name in self.__dict__ or (
            hasattr(type(self), name)
            and name not in self._parameters
            and name not in self._buffers
            and name not in self._modules
        )
        if taken:
            raise KeyError(f"attribute '{name}' already exists; choose another {what} name.")

    @staticmethod
    def _buffer_array(name: str, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, Tensor):
            return value.data
        if isinstance(value, np.ndarray):
            return value
        raise TypeError(
            f"buffer '{name}' expected a NumPy array (or None); received {type(value).__name__}."
        )

    def register_buffer(self, name: str, array: np.ndarray | None, persistent: bool = True) -> None:
        """Register ``array`` as state that is saved but not trained (e.g. running means).

        Buffers are NumPy arrays reachable as attributes; they appear in
        :meth:`buffers` and, when ``persistent``, in :meth:`state_dict`; never in
        :meth:`parameters`.

        >>> m = Module()
        >>> m.register_buffer("count", np.zeros((), dtype=np.int64))
        >>> list(m.state_dict())
        ['count']
        """
        self._check_new_name(name, "buffer")
        array = self._buffer_array(name, array)
        self._forget(name)
        self._buffers[name] = array
        if not persistent:
            self._non_persistent.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, e.g. a disabled bias) under ``name``."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter expected a Parameter or None; received "
                f"{type(param).__name__}. Wrap it: Parameter(value)."
            )
        self._forget(name)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name`` (for names that are not identifiers)."""
        if "_modules" not in self.__dict__:
            raise self._init_first_error("module", str(name))
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module expected a Module; received {type(module).__name__}.")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"module name must be a non-empty string without '.'; received {name!r}."
            )
        self._modules[name] = module

    register_module = add_module

    # ----------------------------------------------------------------- traversal

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix``) and every descendant,
        each module once, parents before children."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{key}" if name else key, child)
                for key, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct sub-modules."""
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each shared parameter once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, np.ndarray]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters (only those with ``requires_grad`` if ``trainable_only``)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- modes and grads

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train() expected mode to be True or False; received mode={mode!r}.")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout off, BatchNorm uses running stats."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None, or to zeros if ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad = np.zeros_like(param.data)

    # ----------------------------------------------------------------- dtype

    def to(self, dtype: Any) -> Module:
        """Cast parameters (and their grads) and floating-point buffers to ``dtype``, in place.

        The Parameter objects stay the same (optimizers keep their references); only
        their arrays change. ``"cpu"`` is accepted and does nothing, for code written
        for PyTorch. Returns self.

        >>> from convscope.nn import Linear
        >>> Linear(2, 3).to(np.float64).weight.dtype
        dtype('float64')
        """
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        try:
            target = np.dtype(dtype)
        except TypeError:
            target = None
        if target is None or target.kind != "f":
            raise TypeError(
                f"to() expected a floating-point dtype such as np.float32; received {dtype!r}."
            )
        for param in self.parameters():
            if param.data.dtype != target:
                param.data = param.data.astype(target)
                if param.grad is not None:
                    param.grad = param.grad.astype(target)
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and buffer.dtype.kind == "f" and buffer.dtype != target:
                    module._buffers[name] = buffer.astype(target)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # ----------------------------------------------------------------- state dict

    def _state_targets(self, prefix: str = "") -> OrderedDict[str, np.ndarray]:
        """Dotted key -> the live array behind it, in PyTorch's order (a module's own
        parameters, then its persistent buffers, then each child's entries)."""
        targets: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                targets[prefix + name] = param.data
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                targets[prefix + name] = buffer
        for name, child in self._modules.items():
            if child is not None:
                targets.update(child._state_targets(f"{prefix}{name}."))
        return targets

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and persistent buffer, keyed as in PyTorch.

        Keys are dotted paths (``features.0.weight``, ``1.running_mean``) and the
        arrays have PyTorch's shapes and layouts, so weights move both ways:
        ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.

        >>> from convscope.nn import BatchNorm2d, Conv2d, Sequential
        >>> for key, value in Sequential(Conv2d(1, 2, 3), BatchNorm2d(2)).state_dict().items():
        ...     print(key, value.shape)
        0.weight (2, 1, 3, 3)
        0.bias (2,)
        1.weight (2,)
        1.bias (2,)
        1.running_mean (2,)
        1.running_var (2,)
        1.num_batches_tracked ()
        """
        return OrderedDict(
            (key, np.array(value, copy=True)) for key, value in self._state_targets().items()
        )

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy ``state_dict``'s arrays into this model's parameters and buffers, in place.

        Values may be NumPy arrays, convscope Tensors or PyTorch tensors; each is cast
        to the dtype of the array it replaces and copied into it, so optimizers that
        hold the parameters keep working. Nothing is copied unless everything fits.

        Args:
            state_dict: mapping from dotted keys to arrays (from :meth:`state_dict`).
            strict: require the keys to match exactly. With ``strict=False`` missing
                and unexpected keys are skipped and returned instead.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            StateDictError: (a ``ValueError`` and ``RuntimeError``) listing missing and
                unexpected keys (when ``strict``) and any shape mismatch (always).
            TypeError: ``state_dict`` is not a mapping.
        """
        return load_into(self._state_targets(), state_dict, strict, type(self).__name__)

    # ----------------------------------------------------------------- summary and repr

    def summary(self, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Summary:
        """Per-layer table of output shapes, parameters, multiply-adds and receptive fields.

        Same as :func:`convscope.nn.summary` (``input_shape`` excludes the batch axis);
        ``print(model.summary((1, 28, 28)))`` shows it.
        """
        from convscope.nn.summary import summary

        return summary(self, input_shape, dtype=dtype)

    # ----------------------------------------------------------------- size arithmetic
    # ``summary`` asks each layer these questions instead of checking its class, so a
    # user's own layer gets a full row by overriding them.

    def window_geometry(self) -> WindowGeometry | None:
        """Kernel, stride, dilation, padding and ceil mode if this layer slides a window.

        Returns None (the default) for layers that keep each position where it is
        (activations, normalization). Convolution and pooling layers override it.
        """
        return None

    def mult_adds(self, output: Tensor) -> int:
        """Multiply-adds of the forward pass that produced ``output`` (0 by default).

        Layers with weights override it: one multiply-add per weight per output position.
        """
        return 0

    def receptive_field_is_global(self) -> bool:
        """True if each output value depends on every input position (Flatten, Linear)."""
        return False

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (layers override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _addindent(repr(child), 2) for name, child in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"
