"""What each optimisation bought: one training step at each milestone commit, one at a time.

Run: ``python benchmarks/bench_history.py [--model simple|bn] [--rounds 3] [--steps 30]``

Each milestone is a commit of this repository that added one optimisation (the list
below, oldest first). Its source is checked out into a temporary git worktree, and
``bench_step.py`` — always this tree's copy — times the training step of that
commit's convscope beside PyTorch in the same process (``PYTHONPATH`` points at the
worktree; the engine's path is checked). Rounds go over all milestones in turn, so
background load spreads over all of them; the table gives the median over rounds of
ms/step, the ratio to PyTorch's step in the same run, and faults per step.

Milestones before data parallelism existed run with one worker only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# (commit, what it added, whether it has data_parallel and BatchGroup)
MILESTONES = [
    ("8907a34", "before: im2col conv, NumPy temporaries", False, False),
    (
        "3377fe2",
        "conv backward per kernel tap into channels-last; BLAS bias gradient",
        False,
        False,
    ),
    ("5ebaf6b", "workspace pool (no page faults); max-pool masks; ReLU->pool", False, False),
    ("3b5176b", "flatten keeps the layout; pooled dropout/linear; data_parallel", True, False),
    ("70a69bd", "workspace hand-out fast path", True, False),
    ("052f7c9", "batch-1 overheads (window views, pooled outputs)", True, False),
    ("dd34dc4", "batch_norm in the input's layout (ChannelMatrix)", True, False),
    ("5f919b6", "BatchNorm across data-parallel workers (BatchGroup)", True, True),
    ("7541721", "small products on one BLAS thread", True, True),
    ("HEAD", "conv2d split over the batch, one BLAS thread per part", True, True),
]


def worktree(commit: str, root: Path) -> Path:
    """A detached worktree of ``commit`` under ``root`` (created once)."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", commit],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    path = root / sha
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), sha],
            check=True, capture_output=True,
        )  # fmt: skip
    return path


def step_once(tree: Path, model: str, steps: int, threads: int, workers: int) -> dict:
    """One bench_step.py run of ``tree``'s convscope: its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = [sys.executable, str(HERE / "bench_step.py"), "--model", model]
        argv += ["--steps", str(steps), "--threads", str(threads), "--json", out.name]
        if workers > 1:
            argv += ["--workers", str(workers)]
        env = dict(os.environ, PYTHONPATH=str(tree / "src"))
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"bench_step.py on {tree} failed:\n{done.stderr[-2000:]}")
        result = json.loads(Path(out.name).read_text())
    engine = Path(result.pop("engine")).resolve()
    if tree.resolve() not in engine.parents:
        raise RuntimeError(f"bench_step imported {engine}, not the worktree {tree}")
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="simple", choices=["simple", "bn"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="BLAS/torch threads, or workers")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    info = machine()
    print(f"CPU: {info['cpu']}; BLAS: {info['blas']}; {args.threads} thread(s)")

    runs = []  # (label, tree, workers)
    with tempfile.TemporaryDirectory(prefix="convscope-history-") as root:
        for commit, what, parallel, synced in MILESTONES:
            tree = REPO if commit == "HEAD" else worktree(commit, Path(root))
            runs.append((f"{commit} {what}", tree, 1))
            if parallel and (args.model == "simple" or synced) and args.threads > 1:
                runs.append(
                    (f"{commit} + {args.threads} data-parallel workers", tree, args.threads)
                )
        results: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
        try:
            for _ in range(args.rounds):
                for label, tree, workers in runs:
                    threads = 1 if workers > 1 else args.threads
                    results[label].append(step_once(tree, args.model, args.steps, threads, workers))
        finally:
            for _, tree, _ in runs:
                if tree != REPO:
                    subprocess.run(
                        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                        capture_output=True,
                    )  # fmt: skip

    rows = []
    print(f"\n{args.model}: one training step, batch 128, medians of {args.rounds} rounds")
    print(f"{'milestone':<86} {'ms/step':>8} {'torch':>7} {'ratio':>6} {'faults':>7}")
    for label, _, _ in runs:
        ours = statistics.median(r["convscope"]["ms_per_step"] for r in results[label])
        theirs = statistics.median(r["torch"]["ms_per_step"] for r in results[label])
        ratio = statistics.median(
            r["convscope"]["ms_per_step"] / r["torch"]["ms_per_step"] for r in results[label]
        )
        faults = statistics.median(r["convscope"]["faults_per_step"] for r in results[label])
        rows.append(dict(milestone=label, ms_per_step=ours, torch_ms_per_step=theirs,
                         ratio=ratio, faults_per_step=faults))  # fmt: skip
        print(f"{label:<86} {ours:8.1f} {theirs:7.1f} {ratio:5.2f}x {faults:7.0f}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "model": args.model, "rows": rows}))
    return rows


if __name__ == "__main__":
    main()
