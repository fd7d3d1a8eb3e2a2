"""Forward hooks: a function called after a module's forward, and the handle that removes it.

>>> hooks = {}
>>> handle = RemovableHandle(hooks)
>>> hooks[handle.id] = print
>>> handle.remove()
>>> hooks
{}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# hook(module, inputs, output) -> None, or a value that replaces the output.
ForwardHook = Callable[[Any, tuple, Any], Any]


class RemovableHandle:
    """Returned by :meth:`Module.register_forward_hook`; ``handle.remove()`` unregisters.

    Also a context manager: the hook is removed when the ``with`` block exits.
    """

    _next_id = 0

    def __init__(self, hooks: dict[int, ForwardHook]):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
