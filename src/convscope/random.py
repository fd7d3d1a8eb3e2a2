"""One random generator for everything convscope draws: initialisation, shuffling, dropout.

Seed it with :func:`manual_seed` and a script gives bitwise-identical results
run after run. Library code always asks :func:`generator` at the moment it draws
(never keeps a reference), so re-seeding takes effect everywhere.

>>> manual_seed(0)
>>> a = generator().random()
>>> manual_seed(0)
>>> a == generator().random()
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed convscope's generator (and NumPy's legacy global one, for user code using it)."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expected a non-negative integer; received {seed!r}.")
    _generator = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 - seeds user code on the legacy API


def generator() -> np.random.Generator:
    """The generator every random draw in convscope uses."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's full state (a JSON-serialisable dict), for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`.

    Raises:
        TypeError: ``state`` is not a dict.
        ValueError: ``state`` belongs to another kind of bit generator or is malformed.
    """
    if not isinstance(state, dict):
        raise TypeError(
            f"set_rng_state expected the dict returned by get_rng_state(); received "
            f"{type(state).__name__}."
        )
    expected = type(_generator.bit_generator).__name__
    if state.get("bit_generator") != expected:
        raise ValueError(
            f"set_rng_state expected a {expected} state from get_rng_state(); received one "
            f"for bit_generator={state.get('bit_generator')!r}."
        )
    try:
        _generator.bit_generator.state = state
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"set_rng_state received a malformed {expected} state: {error!r}."
        ) from None
