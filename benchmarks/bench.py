"""``make bench``: convscope against PyTorch on this machine, one table, one JSON file.

Run: ``python benchmarks/bench.py [--threads 1] [--epochs 1] [--subset N] [--json PATH]``

Sections, each convscope figure beside PyTorch's from the same run, with the ratio:

1. per-op forward+backward at the W1 and ``bn`` shapes (``bench_ops.py``), with the
   conv layers' achieved GFLOP/s against this machine's float32 GEMM peak, measured
   here by NumPy's BLAS on a 2048³ product with the same thread count;
2. end-to-end training epochs of W1 and ``bn`` on Fashion-MNIST (``bench_w1.py``:
   each framework in its own process, epochs taking turns), s/epoch and images/s,
   peak RSS and minor page faults per step;
3. inference throughput (images/s) at batch 1 and batch 1000 (eval mode, no grad);
4. robustness: the slowdown of a W1 epoch when a busy-loop process competes for a core.

Thread budget: PyTorch gets ``--threads`` intra-op threads; convscope gets as many
data-parallel workers (one BLAS thread each) for W1 and ``bn`` (whose BatchNorm layers
share the whole batch's statistics across the workers); the per-op table and
inference use ``--threads`` BLAS threads.

PyTorch is optional: without it convscope is timed alone. The CPU model, the BLAS
kernel and the load average are printed and stored. The JSON goes to
``bench-results.json`` unless ``--json`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ops  # noqa: E402
import bench_w1  # noqa: E402
from common import import_torch, machine, ratio, set_threads, time_pair  # noqa: E402


def gemm_peak_gflops(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """Best float32 GEMM rate of NumPy's BLAS here: 2·n³ flops per ``n×n`` product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # warm-up
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def inference(batch: int, repeats: int) -> dict:
    """Images/s of W1 in eval mode without gradients, convscope and PyTorch alternately."""
    import convscope
    from convscope import Tensor, nn, no_grad

    torch = import_torch()
    convscope.manual_seed(0)
    model = nn.Sequential(*bench_w1.w1_layers(nn))
    model.eval()
    x = np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)
    inner = max(1, 64 // batch)  # short calls are timed in groups

    def ours():
        with no_grad():
            for _ in range(inner):
                model(Tensor(x))

    theirs = None
    if torch is not None:
        t_model = torch.nn.Sequential(*bench_w1.w1_layers(torch.nn))
        t_model.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
        )
        t_model.eval()

        def theirs():
            with torch.no_grad():
                for _ in range(inner):
                    t_model(torch.from_numpy(x))

    ours_s, theirs_s = time_pair(ours, theirs, repeats, warmup=2)
    images = batch * inner
    return {
        "batch": batch,
        "convscope_images_per_s": images / ours_s,
        "torch_images_per_s": None if theirs_s is None else images / theirs_s,
        "ratio": ratio(theirs_s, ours_s),  # throughput: ours / theirs
    }


def training(
    model: str, epochs: int, threads: int, subset: int | None, workers: int | None = None
) -> dict | None:
    """Epoch time, images/s, peak RSS and faults per step of both frameworks (subprocesses).

    PyTorch runs ``threads`` intra-op threads; convscope runs ``threads`` data-parallel
    workers with one BLAS thread each.
    """
    if not bench_w1.FASHION.is_dir():
        print(f"(no Fashion-MNIST at {bench_w1.FASHION}: training skipped)", file=sys.stderr)
        return None
    workers = threads if workers is None else workers
    argv = ["--model", model, "--epochs", str(epochs), "--threads", str(threads)]
    argv += ["--workers", str(workers)]
    if subset:
        argv += ["--subset", str(subset)]
    results = bench_w1.main(argv)
    images = subset or 60000
    row = {"model": model, "images": images, "workers": workers}
    for name, r in results.items():
        if r is None:
            continue
        seconds = statistics.median(e["train_seconds"] for e in r["epochs"])
        row[name] = {
            "s_per_epoch": seconds,
            "images_per_s": images / seconds,
            "peak_rss_mib": r["peak_rss_mib"],
            "faults_per_step": statistics.median(e["faults_per_step"] for e in r["epochs"]),
            "test_accuracy": r["epochs"][-1]["test_accuracy"],
        }
    row["ratio"] = ratio(row["convscope"]["s_per_epoch"], row.get("torch", {}).get("s_per_epoch"))
    return row


def under_load(threads: int, subset: int, workers: int | None = None) -> dict | None:
    """Slowdown of a W1 epoch when a busy-loop process competes for one core, per framework.

    Each framework trains ``subset`` images for 2 epochs (the second is timed) twice:
    alone, then beside a ``while True: pass`` process. Slowdown = busy / alone.
    """
    if not bench_w1.FASHION.is_dir():
        return None
    argv = ["--model", "simple", "--epochs", "2", "--threads", str(threads)]
    workers = threads if workers is None else workers
    argv += ["--subset", str(subset), "--workers", str(workers)]

    def seconds(results):
        return {k: r["epochs"][-1]["train_seconds"] for k, r in results.items() if r}

    alone = seconds(bench_w1.main(argv))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = seconds(bench_w1.main(argv))
    finally:
        busy.kill()
        busy.wait()
    return {
        name: {
            "alone_s": alone[name],
            "busy_s": loaded[name],
            "slowdown": loaded[name] / alone[name],
        }
        for name in alone
    }


def report(
    info: dict, peak: float, ops: list, train: list, infer: list, threads: int, load: dict | None
) -> str:
    blas = info["blas"]
    lines = [
        f"convscope vs PyTorch {info['torch'] or '(not installed)'}, numpy {info['numpy']}, "
        f"{threads} thread(s) each",
        f"CPU: {info['cpu']} ({info['cores']} cores); BLAS: {blas.get('library')} "
        f"{blas.get('version')}, kernel {blas.get('kernel')}; float32 GEMM peak "
        f"{peak:.1f} GFLOP/s; load average {info['load_average']:.2f}",
        "",
        "Per op, forward+backward (batch 128):",
        *bench_ops.table(ops),
        "",
        "Training, Fashion-MNIST, batch 128, Adam:",
    ]
    header = (
        f"{'model':<8}{'convscope s/epoch':>18}{'torch s/epoch':>14}{'ratio':>7}"
        f"{'images/s ours/torch':>22}{'peak RSS MiB':>14}{'faults/step':>13}"
    )
    lines += [header, "-" * len(header)]
    for row in train:
        ours, theirs = row["convscope"], row.get("torch")

        def pair(key, spec, ours=ours, theirs=theirs):
            return format(ours[key], spec) + "/" + (format(theirs[key], spec) if theirs else "-")

        lines.append(
            f"{row['model']:<8}{ours['s_per_epoch']:>18.1f}"
            f"{(theirs['s_per_epoch'] if theirs else float('nan')):>14.1f}"
            f"{(row['ratio'] or float('nan')):>7.2f}{pair('images_per_s', '.0f'):>22}"
            f"{pair('peak_rss_mib', '.0f'):>14}{pair('faults_per_step', '.0f'):>13}"
        )
    if load:
        lines += ["", "W1 epoch with a competing busy-loop process (slowdown = busy / alone):"]
        for name, r in load.items():
            lines.append(
                f"  {name:<10} alone {r['alone_s']:.2f} s, busy {r['busy_s']:.2f} s, "
                f"slowdown {r['slowdown']:.2f}x"
            )
    lines += ["", "Inference, W1, eval mode, no grad:"]
    header = f"{'batch':>6}{'convscope images/s':>20}{'torch images/s':>16}{'ours/torch':>12}"
    lines += [header, "-" * len(header)]
    for row in infer:
        theirs = row["torch_images_per_s"]
        lines.append(
            f"{row['batch']:>6}{row['convscope_images_per_s']:>20.0f}"
            f"{(theirs or float('nan')):>16.0f}{(row['ratio'] or float('nan')):>11.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads per framework")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="convscope's data-parallel workers in training (default: --threads; 1 for a tree "
        "from before data parallelism)",
    )
    parser.add_argument("--epochs", type=int, default=1, help="training epochs per model")
    parser.add_argument("--subset", type=int, default=None, help="train on N images only")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per op")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument(
        "--load-subset", type=int, default=6400, help="images per epoch of the busy-core test"
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args(argv)

    limiter = set_threads(args.threads)
    info = machine()
    peak = gemm_peak_gflops(args.threads)
    ops = bench_ops.run(args.repeats, warmup=3)
    infer = [inference(1000, repeats=10), inference(1, repeats=30)]
    if limiter is not None:
        limiter.restore_original_limits()
    try:
        from convscope import workspace
    except ImportError:  # a tree from before the workspace pool
        workspace = None
    if workspace is not None:
        workspace.clear()  # the training workers are separate processes; give memory back
    train = []
    if not args.skip_training:
        for model in ("simple", "bn"):
            row = training(model, args.epochs, args.threads, args.subset, args.workers)
            if row:
                train.append(row)
    load = None if args.skip_training else under_load(args.threads, args.load_subset, args.workers)
    text = report(info, peak, ops, train, infer, args.threads, load)
    print(text)
    result = {
        "machine": info,
        "threads": args.threads,
        "gemm_peak_gflops": peak,
        "ops": [
            {
                "preset": c.preset,
                "op": c.op,
                "shape": c.shape,
                **c.result,
                "conv_fraction_of_peak": c.result.get("convscope_gflops", 0) / peak or None,
            }
            for c in ops
        ],  # fmt: skip
        "training": train,
        "under_load": load,
        "inference": infer,
    }
    tmp = args.json.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.json)  # atomic
    print(f"\nwritten: {args.json}")
    return result


if __name__ == "__main__":
    main()
