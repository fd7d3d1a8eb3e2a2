"""``convscope train --workers N``: data-parallel runs repeat, resume and refuse like any run."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest

from convscope.serialization import load
from test_runs_reliability import TINY, convscope, one_line_error, train_until_signalled

pytest.importorskip("sklearn", reason="the digits dataset comes with scikit-learn")


def weights(run: Path, name: str = "last.npz") -> dict:
    return load(run / "checkpoints" / name)["model"]


def test_two_workers_repeat_bitwise_and_resume_bitwise(tmp_path: Path) -> None:
    # TINY trains the bn preset: its BatchNorm layers share statistics across workers.
    args = [*TINY, "--workers", "2"]
    first, second, resumed = tmp_path / "first", tmp_path / "second", tmp_path / "resumed"
    for run in (first, second):
        result = convscope("train", *args, "--epochs", "2", "--out", str(run))
        assert result.returncode == 0, result.stderr
    assert json.loads((first / "config.json").read_text())["workers"] == 2
    for key, value in weights(first).items():
        np.testing.assert_array_equal(value, weights(second)[key], err_msg=key)

    assert convscope("train", *args, "--epochs", "1", "--out", str(resumed)).returncode == 0
    result = convscope("train", "--resume", str(resumed), "--epochs", "2", "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    for key, value in weights(first).items():
        np.testing.assert_array_equal(value, weights(resumed)[key], err_msg=key)


def test_one_worker_and_two_workers_learn_alike(tmp_path: Path) -> None:
    histories = []
    for workers in ("1", "2"):
        run = tmp_path / workers
        result = convscope("train", *TINY, "--epochs", "2", "--workers", workers, "--out", str(run))
        assert result.returncode == 0, result.stderr
        histories.append(json.loads((run / "history.json").read_text())["history"])
    one, two = histories
    # Same data, order and initial weights; only dropout masks and summation order differ.
    assert two["loss"][-1] < two["loss"][0]
    assert abs(one["val_accuracy"][-1] - two["val_accuracy"][-1]) < 0.15


def test_resume_with_another_worker_count_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert convscope("train", *TINY, "--workers", "2", "--out", str(run)).returncode == 0
    result = convscope("train", "--resume", str(run), "--workers", "1")
    one_line_error(result, 3, "--workers 1 (the run used 2)")


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_worker_counts_are_refused_like_any_bad_option(value: str, tmp_path: Path) -> None:
    result = convscope("train", *TINY, "--workers", value, "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("convscope train: error: argument --workers")
    assert not (tmp_path / "run").exists()


def test_interrupted_mid_epoch_with_two_workers_resumes_bitwise(tmp_path: Path) -> None:
    args = [*TINY, "--workers", "2", "--epochs", "2"]
    straight, run = tmp_path / "straight", tmp_path / "interrupted"
    assert convscope("train", *args, "--out", str(straight)).returncode == 0
    code, err, seen = train_until_signalled(
        ["train", *args, "--out", str(run)], 30, signal.SIGINT, tmp_path
    )
    assert code == 130 and "Traceback" not in err, err
    assert 23 <= seen < 46, "the signal must land mid-epoch 2"
    result = convscope("train", "--resume", str(run), "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    for key, value in weights(straight).items():
        np.testing.assert_array_equal(value, weights(run)[key], err_msg=key)
