"""Loading a state dict: match keys, check shapes, then copy in place (all or nothing).

The messages follow PyTorch's, so a learner comparing the two sees the same text::

    Error(s) in loading state_dict for Sequential:
        Missing key(s) in state_dict: "0.bias".
        size mismatch for 3.weight: copying a param with shape (64, 32, 5, 5) from
        checkpoint, the shape in current model is (64, 32, 3, 3).

>>> import numpy as np
>>> target = {"w": np.zeros(2, dtype=np.float32)}
>>> load_into(target, {"w": np.ones(2), "extra": np.ones(1)}, strict=False, model_name="M")
IncompatibleKeys(missing_keys=[], unexpected_keys=['extra'])
>>> target["w"]
array([1., 1.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` could not match (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class StateDictError(ValueError, RuntimeError):
    """A state dict does not fit the model. A ``ValueError`` (bad user input) that is
    also a ``RuntimeError``, the type PyTorch raises, so ported ``except`` clauses work."""


def load_into(
    targets: Mapping[str, np.ndarray], state_dict: Mapping[str, Any], strict: bool, model_name: str
) -> IncompatibleKeys:
    """Copy ``state_dict[key]`` into ``targets[key]`` (the live arrays) for every shared key.

    Each value is cast to its target's dtype. Everything is checked before anything
    is copied, so a failed load leaves the model unchanged.

    Raises:
        TypeError: ``state_dict`` is not a mapping.
        StateDictError: missing/unexpected keys (when ``strict``), or a shape mismatch.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_state_dict expected a mapping of names to arrays; received "
            f"{type(state_dict).__name__}."
        )
    missing = [key for key in targets if key not in state_dict]
    unexpected = [key for key in state_dict if key not in targets]
    incoming = {key: np.asarray(state_dict[key]) for key in targets if key in state_dict}

    problems = []
    if strict and missing:
        problems.append(
            "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + "."
        )
    if strict and unexpected:
        problems.append(
            "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + "."
        )
    for key, value in incoming.items():
        if value.shape != targets[key].shape:
            problems.append(
                f"size mismatch for {key}: copying a param with shape {value.shape} from "
                f"checkpoint, the shape in current model is {targets[key].shape}."
            )
    if problems:
        hint = ""
        if strict and (missing or unexpected):
            hint = "\n\tPass strict=False to load only the keys that match."
        raise StateDictError(
            f"Error(s) in loading state_dict for {model_name}:\n\t" + "\n\t".join(problems) + hint
        )
    for key, value in incoming.items():
        targets[key][...] = value
    return IncompatibleKeys(missing, unexpected)
