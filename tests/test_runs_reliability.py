"""Runs never lose work: the real ``convscope`` command in subprocesses, on tiny data.

Each case checks the exit code, the one-line message (never a traceback) and that no
file was lost or half-written. Faults are injected by small wrappers run with
``python -c`` (test-only; nothing in the library reads them):

- ``STEP_MARKER`` prints ``step`` to stderr after every optimizer step, so a test can
  send a real SIGINT/SIGTERM mid-epoch instead of sleeping blindly;
- ``FULL_DISK`` makes ``os.fsync`` fail with ENOSPC after N calls, as a full disk does
  when buffered data reaches it;
- read-only: a path under a regular file (ENOTDIR), a read-only tmpfs when this
  process may mount one (root), and a patched ``open`` raising EACCES (root ignores
  chmod, so permission bits cannot be used).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convscope.serialization import load

pytest.importorskip("sklearn", reason="the digits dataset comes with scikit-learn")

TINY = ["--dataset", "digits", "--model", "bn", "--limit", "400", "--test-limit", "60"]
TINY += ["--batch-size", "16", "--quiet", "--no-report"]

STEP_MARKER = """
import sys
from convscope.train.loop import Trainer
step = Trainer._train_step
def traced(self, x, y):
    out = step(self, x, y)
    print("step", file=sys.stderr, flush=True)
    return out
Trainer._train_step = traced
from convscope.cli import main
sys.exit(main(sys.argv[1:]))
"""

FULL_DISK = """
import errno, os, sys
limit, calls, real = int(os.environ["FAIL_AFTER_FSYNCS"]), [0], os.fsync
def fsync(fd):
    calls[0] += 1
    if calls[0] > limit:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(fd)
os.fsync = fsync
from convscope.cli import main
sys.exit(main(sys.argv[1:]))
"""

DENIED = """
import builtins, errno, os, sys
real = builtins.open
def deny(file, mode="r", *args, **kwargs):
    if os.path.basename(str(file)).startswith(".config.json") and "x" in mode:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
    return real(file, mode, *args, **kwargs)
builtins.open = deny
from convscope.cli import main
sys.exit(main(sys.argv[1:]))
"""


def convscope(*args: str, wrapper: str | None = None, env: dict | None = None, cwd=None):
    """Run the command; return the CompletedProcess (text)."""
    command = [sys.executable, "-c", wrapper] if wrapper else [sys.executable, "-m", "convscope"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def one_line_error(result, code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(run: Path) -> dict[str, bytes]:
    files = (p for p in sorted(run.rglob("*")) if p.is_file() and p.name != ".lock")
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


def no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*.tmp")], list(folder.rglob("*.tmp"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 2-epoch run, made by the real command."""
    run = tmp_path_factory.mktemp("runs") / "done"
    result = convscope("train", *TINY, "--epochs", "2", "--out", str(run))
    assert result.returncode == 0, result.stderr
    return run


def copy_of(run: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(run, target)
    (target / ".lock").unlink(missing_ok=True)
    return target


# ------------------------------------------------------------------ run directories


def test_existing_run_is_never_replaced(finished: Path) -> None:
    before = snapshot(finished)
    result = convscope("train", *TINY, "--epochs", "1", "--out", str(finished))
    one_line_error(result, 3, "already holds a run", "--resume", "--overwrite")
    assert snapshot(finished) == before


def test_overwrite_replaces_on_request(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    result = convscope("train", *TINY, "--epochs", "1", "--out", str(run), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert len(json.loads((run / "history.json").read_text())["history"]["loss"]) == 1


def test_a_second_process_is_locked_out(finished: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    run = copy_of(finished, tmp_path)
    before = snapshot(run)
    with FileLock(str(run / ".lock"), timeout=0):  # as a running `convscope train` holds it
        result = convscope("train", "--resume", str(run), "--epochs", "3", "--quiet")
        one_line_error(result, 3, "in use by another convscope process")
        new = convscope("train", *TINY, "--out", str(run), "--overwrite")
        one_line_error(new, 3, "in use by another convscope process")
    assert snapshot(run) == before


def test_two_trainings_into_one_directory(tmp_path: Path) -> None:
    run = tmp_path / "shared"
    command = [
        sys.executable,
        "-m",
        "convscope",
        "train",
        *TINY,
        "--epochs",
        "1",
        "--out",
        str(run),
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    both = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) for _ in "ab"]
    results = sorted((p.wait(timeout=300), p.stderr.read()) for p in both)
    assert [code for code, _ in results] == [0, 3], results
    # The second one found the run locked (still training) or finished (already a run).
    assert (
        "in use by another convscope process" in results[1][1]
        or "already holds a run" in (results[1][1])
    )
    assert convscope("evaluate", str(run)).returncode == 0  # config and checkpoints agree


def test_resume_refuses_changed_settings_and_extends_epochs(finished: Path, tmp_path: Path):
    run = copy_of(finished, tmp_path)
    result = convscope("train", "--resume", str(run), "--lr", "0.01", "--dataset", "mnist-5k")
    one_line_error(result, 3, "--lr 0.01 (the run used 0.001)", "--dataset mnist-5k")
    result = convscope("train", "--resume", str(run), "--epochs", "3", "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    history = json.loads((run / "history.json").read_text())["history"]
    assert len(history["loss"]) == 3
    assert json.loads((run / "config.json").read_text())["epochs"] == 3  # resumable as such
    shorter = convscope("train", "--resume", str(run), "--epochs", "2")
    one_line_error(shorter, 3, "already trained 3 epochs")


def test_model_file_is_copied_into_the_run(tmp_path: Path) -> None:
    source = tmp_path / "mine.py"
    source.write_text(
        "from convscope import nn\n"
        "def build_model(num_classes, in_channels):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, num_classes))\n"
    )
    run = tmp_path / "run"
    tiny = [a if a != "bn" else str(source) for a in TINY]
    assert convscope("train", *tiny, "--epochs", "1", "--out", str(run)).returncode == 0
    assert (run / "model.py").read_bytes() == source.read_bytes()
    source.rename(tmp_path / "moved.py")
    result = convscope("evaluate", str(run), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["num_examples"] == 60


def test_a_diverged_run_is_reported_as_such(tmp_path: Path) -> None:
    # The report's findings of such a run: tests/report/test_findings.py (the same
    # `findings` the report calls); here the warning at the end of `train`.
    run = tmp_path / "lr100"
    result = convscope("train", *TINY, "--epochs", "2", "--lr", "100", "--out", str(run))
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warning) == 1 and "did not learn" in warning[0]
    assert "learning rate is most likely too high" in warning[0]


# ------------------------------------------------------------------ interrupts


def train_until_signalled(args: list[str], steps: int, signum: int, cwd: Path):
    """Start a real `convscope train`, send ``signum`` after ``steps`` optimizer steps."""
    process = subprocess.Popen(
        [sys.executable, "-c", STEP_MARKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        cwd=cwd,
    )
    seen, other = 0, []
    for line in process.stderr:
        if line.strip() == "step":
            seen += 1
            if seen == steps:
                process.send_signal(signum)
        else:
            other.append(line)
    process.wait(timeout=300)
    return process.returncode, "".join(other), seen


def test_interrupted_twice_mid_epoch_then_resumed_is_bitwise_identical(tmp_path: Path) -> None:
    args = [*TINY, "--epochs", "3"]  # 360 training images / 16 = 23 steps per epoch
    straight = tmp_path / "straight"
    assert convscope("train", *args, "--out", str(straight)).returncode == 0

    run = tmp_path / "interrupted"
    code, err, seen = train_until_signalled(
        ["train", *args, "--out", str(run)], 10, signal.SIGINT, tmp_path
    )
    assert code == 130 and "Traceback" not in err, err
    assert seen < 23, "the signal must land mid-epoch 1"
    assert err.strip().count("\n") == 0
    assert "Interrupted by SIGINT at epoch 1/3, batch" in err
    assert f"Resume with: convscope train --resume {run}" in err
    position = load(run / "checkpoints" / "last.npz")["position"]
    assert 10 <= position["batch"] < 23

    code, err, _ = train_until_signalled(
        ["train", "--resume", str(run), "--quiet", "--no-report"], 25, signal.SIGTERM, tmp_path
    )
    assert code == 143 and "Interrupted by SIGTERM at epoch 2/3, batch" in err, err
    assert "Traceback" not in err

    result = convscope("train", "--resume", str(run), "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    for name in ("last.npz", "best.npz"):
        a = load(straight / "checkpoints" / name)
        b = load(run / "checkpoints" / name)
        assert a["epoch"] == b["epoch"] == (3 if name == "last.npz" else a["epoch"])
        for key, value in a["model"].items():
            np.testing.assert_array_equal(value, b["model"][key], err_msg=f"{name} {key}")
    a, b = (json.loads((r / "history.json").read_text())["history"] for r in (straight, run))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert a[key] == b[key], key


# ------------------------------------------------------------------ failing writes


def test_full_disk_is_one_line_and_leaves_no_half_file(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    before = snapshot(run)
    # Every fsync fails: the first file the resumed training writes cannot be completed.
    result = convscope(
        "train",
        "--resume",
        str(run),
        "--epochs",
        "3",
        "--quiet",
        wrapper=FULL_DISK,
        env={"FAIL_AFTER_FSYNCS": "0"},
    )
    one_line_error(result, 4, "the disk is full", str(run))
    assert snapshot(run) == before  # the previous checkpoints are intact
    no_temp_files(run)
    fresh = tmp_path / "fresh"
    result = convscope(
        "train", *TINY, "--out", str(fresh), wrapper=FULL_DISK, env={"FAIL_AFTER_FSYNCS": "0"}
    )
    one_line_error(result, 4, "the disk is full", "config.json")
    no_temp_files(fresh)
    assert not (fresh / "config.json").exists()


def test_unwritable_output_directories(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = convscope("train", *TINY, "--out", str(blocker / "run"))
    one_line_error(result, 4, "not a directory")
    result = convscope("train", *TINY, "--out", str(tmp_path / "denied"), wrapper=DENIED)
    one_line_error(result, 4, "permission denied", "config.json")


def test_read_only_file_system(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a read-only tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)])
    if made.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        result = convscope("train", *TINY, "--out", str(mount / "run"))
        one_line_error(result, 4, "read-only")
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# ------------------------------------------------------------------ bad checkpoints, pipes


def test_corrupt_and_foreign_checkpoints(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    best = run / "checkpoints" / "best.npz"
    best.write_bytes(best.read_bytes()[:1000])  # cut short
    one_line_error(convscope("evaluate", str(run)), 5, "best.npz")
    np.savez(best, weights=np.zeros(3))  # some other program's .npz
    one_line_error(convscope("evaluate", str(run)), 5, "best.npz")


def test_model_and_checkpoint_mismatch_names_the_layers(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["model"] = "lenet5"
    config["input_shape"] = [1, 28, 28]
    (run / "config.json").write_text(json.dumps(config))
    line = one_line_error(convscope("evaluate", str(run)), 5, "does not fit the run's model")
    assert "missing from the checkpoint" in line and "strict=False" not in line


def test_broken_pipe_is_silent(finished: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "convscope", "evaluate", str(finished), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # the reader is gone before anything is printed, like `| head`
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert err == ""


def test_help_documents_exit_codes() -> None:
    out = convscope("--help").stdout
    for code in ("0", "1", "2", "3", "4", "5", "130", "141", "143"):
        assert f"\n  {code} " in out, code
    assert "--debug" in out


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = convscope("--debug", "evaluate", str(tmp_path))
    assert result.returncode == 2 and "Traceback" in result.stderr
