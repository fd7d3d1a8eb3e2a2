"""BatchGroup: the all-reduce that lets threads share one batch's statistics."""

import threading
import time

import numpy as np
import pytest

from convscope.nn.functional.batch_group import (
    BatchGroup,
    batch_group_member,
    current_batch_group_member,
)


def run_members(group, work):
    """Run ``work(member)`` in one thread per member; (results, errors) by rank."""
    results, errors = {}, {}

    def target(rank):
        try:
            results[rank] = work(group.member(rank))
        except Exception as error:  # noqa: BLE001 - the test inspects it
            errors[rank] = error

    threads = [threading.Thread(target=target, args=(r,)) for r in range(group.parties)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a member hung"
    return results, errors


def test_every_member_gets_the_same_sum_over_many_rounds():
    group = BatchGroup(3)
    rng = np.random.default_rng(0)
    parts = rng.standard_normal((5, 3, 4))  # round, rank, values

    def work(member):
        return [member.all_reduce(parts[k, member.rank]) for k in range(5)]

    results, errors = run_members(group, work)
    assert not errors
    for k in range(5):
        expected = parts[k, 0] + parts[k, 1] + parts[k, 2]  # rank order
        for rank in range(3):
            np.testing.assert_array_equal(results[rank][k], expected)
            assert results[rank][k].dtype == np.float64


def test_sum_is_in_rank_order_whoever_arrives_first():
    # 1e16 + 1 - 1e16 is 0 in rank order (0, 1, 2) but 1 in order (0, 2, 1).
    values = [np.array([1e16]), np.array([1.0]), np.array([-1e16])]
    for late in range(3):
        group = BatchGroup(3)

        def work(member, late=late):
            if member.rank != late:
                time.sleep(0.02)
            return member.all_reduce(values[member.rank])

        results, _ = run_members(group, work)
        assert all(float(r[0]) == 0.0 for r in results.values())


def test_a_failing_member_releases_the_waiting_ones():
    group = BatchGroup(2)

    def work(member):
        if member.rank == 1:
            time.sleep(0.05)
            group.abort()
            raise ValueError("member 1 failed")
        return member.all_reduce(np.ones(2))

    start = time.perf_counter()
    results, errors = run_members(group, work)
    assert time.perf_counter() - start < 10
    assert isinstance(errors[0], RuntimeError) and "another thread" in str(errors[0])
    assert isinstance(errors[1], ValueError)


def test_a_completed_round_stands_when_a_member_fails_later():
    group = BatchGroup(2)

    def work(member):
        total = member.all_reduce(np.array([member.rank + 1.0]))
        if member.rank == 1:
            group.abort()
        return total

    results, errors = run_members(group, work)
    assert not errors
    assert float(results[0][0]) == float(results[1][0]) == 3.0
    with pytest.raises(RuntimeError, match="another thread"):
        group.member(0).all_reduce(np.ones(1))  # the group is broken from now on


def test_waiting_for_a_member_that_never_comes_times_out():
    group = BatchGroup(2, timeout=0.1)
    with pytest.raises(RuntimeError, match="failed or timed out"):
        group.member(0).all_reduce(np.ones(1))


def test_only_rank_zero_updates_running_statistics():
    group = BatchGroup(3)
    assert [group.member(r).updates_running_statistics for r in range(3)] == [True, False, False]


@pytest.mark.parametrize("parties", [0, -1, 1.5, True, "2"])
def test_bad_party_counts(parties):
    with pytest.raises(ValueError, match="BatchGroup expected parties >= 1"):
        BatchGroup(parties)


@pytest.mark.parametrize("rank", [-1, 2])
def test_bad_ranks(rank):
    with pytest.raises(ValueError, match=r"rank in \[0, 1\]"):
        BatchGroup(2).member(rank)


def test_membership_is_per_thread_and_restored():
    member = BatchGroup(1).member(0)
    seen = []
    with batch_group_member(member):
        assert current_batch_group_member() is member
        thread = threading.Thread(target=lambda: seen.append(current_batch_group_member()))
        thread.start()
        thread.join()
    assert seen == [None] and current_batch_group_member() is None
    np.testing.assert_array_equal(member.all_reduce(np.arange(3.0)), [0.0, 1.0, 2.0])
