"""Tests of convscope.random: one seeded generator for every random draw."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convscope as cs
from convscope import random as cs_random


def draws(n: int = 5) -> np.ndarray:
    return cs.generator().standard_normal(n)


def test_manual_seed_makes_draws_reproducible():
    cs.manual_seed(123)
    first = draws()
    integers = cs.generator().integers(0, 100, size=10)
    cs.manual_seed(123)
    np.testing.assert_array_equal(draws(), first)
    np.testing.assert_array_equal(cs.generator().integers(0, 100, size=10), integers)
    cs.manual_seed(124)
    assert not np.array_equal(draws(), first)


def test_manual_seed_replaces_the_generator_so_callers_must_not_keep_it():
    cs.manual_seed(0)
    old = cs.generator()
    cs.manual_seed(0)
    assert cs.generator() is not old
    assert cs.generator() is cs_random.generator()


def test_manual_seed_also_seeds_numpy_legacy_global_generator():
    cs.manual_seed(7)
    a = np.random.rand(3)  # noqa: NPY002
    cs.manual_seed(7)
    np.testing.assert_array_equal(np.random.rand(3), a)  # noqa: NPY002
    cs.manual_seed(2**40 + 7)  # seeds beyond 32 bits are folded for the legacy generator
    assert np.isfinite(np.random.rand())  # noqa: NPY002


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None])
def test_manual_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"manual_seed expected a non-negative integer; received"):
        cs.manual_seed(seed)


def test_numpy_integer_seeds_are_accepted():
    cs.manual_seed(np.int64(5))
    a = draws()
    cs.manual_seed(5)
    np.testing.assert_array_equal(draws(), a)


def test_rng_state_round_trip_restores_the_stream():
    cs.manual_seed(3)
    draws()
    state = cs.get_rng_state()
    expected = draws(10)
    draws(4)
    cs.set_rng_state(state)
    np.testing.assert_array_equal(draws(10), expected)


def test_rng_state_is_a_json_serialisable_snapshot():
    cs.manual_seed(11)
    state = cs.get_rng_state()
    restored = json.loads(json.dumps(state))
    assert restored == state
    expected = draws(3)
    state["state"]["state"] = 0  # mutating the snapshot does not touch the generator
    cs.set_rng_state(restored)
    np.testing.assert_array_equal(draws(3), expected)
    assert state["state"]["state"] != cs.get_rng_state()["state"]["state"]


def test_rng_state_survives_a_reseed_in_between():
    cs.manual_seed(1)
    state = cs.get_rng_state()
    expected = draws()
    cs.manual_seed(99)
    cs.set_rng_state(state)
    np.testing.assert_array_equal(draws(), expected)


def test_set_rng_state_rejects_foreign_states():
    mt_state = np.random.Generator(np.random.MT19937(0)).bit_generator.state
    with pytest.raises(ValueError, match="expected a PCG64 state .* bit_generator='MT19937'"):
        cs.set_rng_state(mt_state)
    with pytest.raises(TypeError, match="expected the dict returned by get_rng_state"):
        cs.set_rng_state("not a state")
    with pytest.raises(ValueError, match="malformed PCG64 state"):
        cs.set_rng_state({"bit_generator": "PCG64", "state": {}})
