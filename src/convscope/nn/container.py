"""Containers: ``Sequential`` (a chain of layers) and ``ModuleList`` (a registered list).

>>> from convscope.nn import Linear, ReLU
>>> model = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
>>> len(model), type(model[-1]).__name__
(3, 'Linear')
>>> [name for name, _ in model.named_children()]
['0', '1', '2']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from convscope.nn.module import Module


def _check_module(value: Any, container: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(
            f"{container} expected Module instances; received {type(value).__name__} "
            f"{value!r}. Did you pass a class instead of an instance (ReLU rather than ReLU())?"
        )
    return value


def _index(idx: Any, length: int, container: str) -> int:
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise TypeError(f"{container} indices must be integers or slices; received {idx!r}.")
    if not -length <= idx < length:
        raise IndexError(f"{container} index {idx} is out of range for length {length}.")
    return idx % length


class Sequential(Module):
    """Layers applied one after another; the output of each is the input of the next.

    Args:
        *modules: the layers, named ``"0"``, ``"1"``, ... (as in PyTorch's state_dict
            keys ``0.weight``), or a single ``OrderedDict`` mapping names to layers.

    Shape:
        Input: whatever the first layer takes. Output: whatever the last layer gives.

    >>> from collections import OrderedDict
    >>> from convscope.nn import Flatten, Linear
    >>> net = Sequential(OrderedDict([("flatten", Flatten()), ("fc", Linear(4, 2))]))
    >>> net
    Sequential(
      (flatten): Flatten(start_dim=1, end_dim=-1)
      (fc): Linear(in_features=4, out_features=2, bias=True)
    )
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential"))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module(module, "Sequential"))

    @overload
    def __getitem__(self, idx: int) -> Module: ...
    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...

    def __getitem__(self, idx: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self._modules[key] = _check_module(module, "Sequential")

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), _check_module(module, "Sequential"))
        return self

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters the parent model can see.

    A plain Python list of layers hides them from ``parameters()`` and
    ``state_dict()``; a ModuleList registers each one (named ``"0"``, ``"1"``, ...).
    It has no ``forward``: the parent decides how to use the layers.

    >>> from convscope.nn import Linear
    >>> blocks = ModuleList([Linear(2, 2) for _ in range(3)])
    >>> _ = blocks.append(Linear(2, 1))
    >>> len(blocks), len(list(blocks.parameters()))
    (4, 8)
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Module | ModuleList:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(items[idx])
        return items[_index(idx, len(items), "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(
            str(_index(idx, len(self), "ModuleList")), _check_module(module, "ModuleList")
        )

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _check_module(module, "ModuleList"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """A dict of modules whose parameters the parent model can see (state_dict keys
    ``name.weight``), in insertion order. Like ModuleList it has no ``forward``.

    >>> from convscope.nn import Conv2d, ReLU
    >>> heads = ModuleDict({"conv": Conv2d(1, 2, 3), "act": ReLU()})
    >>> list(heads), [k for k in heads.state_dict()]
    (['conv', 'act'], ['conv.weight', 'conv.bias'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _key(self, key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings; received {key!r}.")
        return key

    def __getitem__(self, key: str) -> Module:
        if self._key(key) not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; it has {list(self._modules)}.")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(self._key(key), _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def pop(self, key: str) -> Module:
        module = self[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) modules from a mapping or ``(name, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module


class Identity(Module):
    """Return the input unchanged: a placeholder where a layer is switched off.

    Any constructor arguments are accepted and ignored, as in PyTorch.

    >>> from convscope import Tensor
    >>> Identity(54, unused="x")(Tensor([1.0, 2.0]))
    Tensor([1., 2.])
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x
