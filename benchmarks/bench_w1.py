"""W1 (or ``bn``) on full Fashion-MNIST: convscope's ``fit`` next to the same PyTorch loop.

Run: ``python benchmarks/bench_w1.py [--model simple|bn] [--epochs 5] [--threads N] [--subset N]``

W1 = Conv2d(1,32,3)-ReLU-MaxPool2d(2)-Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-
Dropout(0.5)-Linear(1600,10); ``bn`` is the preset of that name (convscope.models.bn).
Adam(lr=1e-3), batch 128, float32, images scaled to [0, 1] batch by batch, reshuffled
every epoch; test accuracy after every epoch. Each epoch also reports the minor page
faults per training step (``ru_minflt``) of its process.

Each framework trains in its own subprocess (so each peak RSS, read from
``getrusage(RUSAGE_SELF).ru_maxrss`` at the end, is its own); their epochs take
turns (convscope's epoch 1, PyTorch's epoch 1, convscope's epoch 2, ...), so a
change in background load hits both alike. Both use the same number of threads:
PyTorch's intra-op threads = NumPy's BLAS threads (threadpoolctl's count, else
``os.cpu_count()``); NumPy's default is left alone unless ``--threads`` is given.
By default PyTorch starts from convscope's initial weights (same layouts), so the
accuracy comparison is not blurred by two different random initialisations;
``--independent-init`` lets each framework draw its own.
"s/epoch" is the training pass only; the test evaluation is timed apart.

Targets: accuracy within 1 percentage point of PyTorch's after epoch 1 and after
the last epoch, epoch time <= 1.5x PyTorch's, peak RSS <= 1 GiB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")
BATCH_SIZE = 128
TARGET_ACC_PP = 1.0
TARGET_RATIO = 1.5
TARGET_RSS_MIB = 1024


def blas_threads() -> int:
    """NumPy's BLAS thread count (threadpoolctl), else the CPU count."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else (os.cpu_count() or 1)


def peak_rss_mib() -> float:
    """This process's peak resident memory: ``VmHWM`` (``ru_maxrss`` survives ``exec``, so
    a worker would report its parent's peak if the parent had been bigger)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def read_idx_gz(path: Path) -> np.ndarray:
    """An IDX file (gzipped) as a uint8 array: magic, dims (big-endian int32), data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_arrays(subset: int | None):
    """(train images (N,1,28,28) uint8, train labels int64, test images, test labels)."""

    def part(prefix: str):
        x = read_idx_gz(FASHION / f"{prefix}-images-idx3-ubyte.gz")[:, None]
        y = read_idx_gz(FASHION / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return x, y

    xtr, ytr = part("train")
    xte, yte = part("t10k")
    if subset:
        xtr, ytr = xtr[:subset], ytr[:subset]
    return xtr, ytr, xte, yte


# --------------------------------------------------------------------------- workers
# A worker prints one JSON line per event on stdout ("ready", one per epoch, "done") and,
# before each epoch, waits for a line on stdin: the parent runs the two frameworks'
# epochs in turn, so background load on the machine hits both alike.


def emit(kind: str, **payload) -> None:
    print(json.dumps({"kind": kind, **payload}), flush=True)


def wait_for_turn() -> None:
    if not sys.stdin.readline():
        sys.exit("bench_w1 worker: the parent closed the pipe")


def w1_layers(nn):
    """W1's layers from ``nn`` (convscope.nn or torch.nn: the same names)."""
    return [
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    ]  # fmt: skip


def bn_layers(nn):
    """The ``bn`` preset's layers (convscope.models.bn for 1x28x28 inputs) from ``nn``."""
    return [
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128),
        nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
    ]  # fmt: skip


LAYERS = {"simple": w1_layers, "bn": bn_layers}


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def run_convscope(args: argparse.Namespace) -> str:
    import convscope
    from convscope import nn, optim
    from convscope.data import load_dataset
    from convscope.train import Callback, evaluate, fit

    train = load_dataset("fashion-mnist", "train")
    test = load_dataset("fashion-mnist", "test")
    subset = args.subset
    train_data = (train.images[:subset], train.labels[:subset]) if subset else train

    convscope.manual_seed(args.seed)
    model = nn.Sequential(*LAYERS[args.model](nn))
    steps = -(-len(train_data[1] if isinstance(train_data, tuple) else train.labels) // BATCH_SIZE)
    if args.init:
        np.savez(args.init, **model.state_dict())  # PyTorch's keys and layouts

    class Turns(Callback):
        """Waits for its turn before each epoch (outside the epoch's timing), tests after it."""

        def on_train_begin(self, logs=None):
            emit("ready")
            wait_for_turn()
            self.cpu = time.process_time()
            self.faults = minor_faults()

        def on_epoch_end(self, epoch, logs=None):
            cpu_seconds = time.process_time() - self.cpu
            faults = (minor_faults() - self.faults) / steps
            start = time.perf_counter()
            result = evaluate(model, test, batch_size=BATCH_SIZE)
            emit(
                "epoch",
                epoch=epoch + 1,
                train_seconds=logs["seconds"],  # no val_data: the training pass only
                train_cpu_seconds=cpu_seconds,
                faults_per_step=faults,
                eval_seconds=time.perf_counter() - start,
                train_loss=logs["loss"],
                test_accuracy=result["accuracy"],
            )
            if epoch + 1 < args.epochs:
                wait_for_turn()
            self.cpu = time.process_time()
            self.faults = minor_faults()

    try:
        from convscope.train.parallel import data_parallel
    except ImportError:  # a convscope from before data parallelism (before/after runs)
        if args.workers != 1:
            raise
        import contextlib

        def data_parallel(workers):
            return contextlib.nullcontext()

    with data_parallel(args.workers):  # 1: the plain single-threaded step
        fit(
            model, train_data, epochs=args.epochs, batch_size=BATCH_SIZE,
            optimizer=optim.Adam(model.parameters(), lr=1e-3), callbacks=[Turns()], verbose=0,
        )  # fmt: skip
    return convscope.__version__


def run_torch(args: argparse.Namespace) -> str:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.set_num_threads(args.threads)
    xtr, ytr, xte, yte = fashion_arrays(args.subset)
    xtr, ytr = torch.from_numpy(xtr.copy()), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(xte.copy()), torch.from_numpy(yte)

    torch.manual_seed(args.seed)
    model = nn.Sequential(*LAYERS[args.model](nn))
    if args.init:
        with np.load(args.init) as init:
            state = {key: torch.from_numpy(init[key]) for key in init.files}
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    emit("ready")
    for epoch in range(args.epochs):
        wait_for_turn()
        start = time.perf_counter()
        cpu = time.process_time()
        faults = minor_faults()
        model.train()
        order = torch.randperm(len(ytr))
        loss_sum = 0.0
        for b in range(0, len(ytr), BATCH_SIZE):
            index = order[b : b + BATCH_SIZE]
            x = xtr[index].float().div_(255.0)  # per batch, as convscope's DataLoader does
            y = ytr[index]
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
        train_seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu
        faults = (minor_faults() - faults) / -(-len(ytr) // BATCH_SIZE)
        start = time.perf_counter()
        model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(yte), BATCH_SIZE):
                x = xte[b : b + BATCH_SIZE].float().div_(255.0)
                correct += int((model(x).argmax(1) == yte[b : b + BATCH_SIZE]).sum())
        emit(
            "epoch",
            epoch=epoch + 1,
            train_seconds=train_seconds,
            train_cpu_seconds=cpu_seconds,
            faults_per_step=faults,
            eval_seconds=time.perf_counter() - start,
            train_loss=loss_sum / len(ytr),
            test_accuracy=correct / len(yte),
        )
    return torch.__version__


WORKERS = {"convscope": run_convscope, "torch": run_torch}


def worker(args: argparse.Namespace) -> None:
    version = WORKERS[args.worker](args)
    emit("done", version=version, threads=args.threads, peak_rss_mib=peak_rss_mib())


# --------------------------------------------------------------------------- parent


class Worker:
    """One framework's subprocess, driven an epoch at a time."""

    def __init__(self, name: str, args: argparse.Namespace):
        command = [sys.executable, __file__, "--worker", name, "--epochs", str(args.epochs)]
        command += ["--model", args.model, "--workers", str(args.workers)]
        command += ["--threads", str(args.threads), "--seed", str(args.seed)]
        if args.subset:
            command += ["--subset", str(args.subset)]
        if args.init:
            command += ["--init", str(args.init)]
        env = dict(os.environ)
        if args.threads_given:  # else NumPy keeps its default, which args.threads already is
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(args.threads)  # the same budget for NumPy's BLAS and PyTorch
        self.name = name
        self.result: dict = {"framework": name, "epochs": []}
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.expect("ready")

    def expect(self, kind: str) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            sys.exit(f"bench_w1: the {self.name} worker exited (code {code}) before '{kind}'.")
        message = json.loads(line)
        assert message.pop("kind") == kind, (self.name, kind, message)
        return message

    def run_epoch(self) -> dict:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        row = self.expect("epoch")
        self.result["epochs"].append(row)
        print(f"{self.name:>9} epoch {row['epoch']}: {row['train_seconds']:.1f}s, "
              f"test accuracy {row['test_accuracy']:.4f}", file=sys.stderr, flush=True)  # fmt: skip
        return row

    def finish(self) -> dict:
        self.result.update(self.expect("done"))
        self.process.stdin.close()
        if self.process.wait() != 0:
            sys.exit(f"bench_w1: the {self.name} worker failed.")
        return self.result


def report(ours: dict, theirs: dict) -> str:
    lines = [
        f"{ours.get('model', 'simple')} on Fashion-MNIST, batch {BATCH_SIZE}, Adam 1e-3, "
        f"{ours['threads']} thread(s), "
        f"{ours['init']} initial weights; convscope {ours['version']} vs torch {theirs['version']}",
        "",
        "epoch | convscope s/epoch | torch s/epoch | ratio | convscope acc | torch acc | diff (pp)",
        "----- | ----------------- | ------------- | ----- | ------------- | --------- | ---------",
    ]
    for a, b in zip(ours["epochs"], theirs["epochs"], strict=True):
        ratio = a["train_seconds"] / b["train_seconds"]
        diff = 100 * (a["test_accuracy"] - b["test_accuracy"])
        lines.append(
            f"{a['epoch']:>5} | {a['train_seconds']:>17.1f} | {b['train_seconds']:>13.1f} | "
            f"{ratio:>5.2f} | {a['test_accuracy']:>13.4f} | {b['test_accuracy']:>9.4f} | "
            f"{diff:>+9.2f}"
        )
    cpu_ours = np.mean([r["train_cpu_seconds"] for r in ours["epochs"]])
    cpu_theirs = np.mean([r["train_cpu_seconds"] for r in theirs["epochs"]])
    mean_ours = np.mean([r["train_seconds"] for r in ours["epochs"]])
    mean_theirs = np.mean([r["train_seconds"] for r in theirs["epochs"]])
    eval_ours = np.mean([r["eval_seconds"] for r in ours["epochs"]])
    eval_theirs = np.mean([r["eval_seconds"] for r in theirs["epochs"]])
    ratio = mean_ours / mean_theirs
    first = abs(ours["epochs"][0]["test_accuracy"] - theirs["epochs"][0]["test_accuracy"]) * 100
    last = abs(ours["epochs"][-1]["test_accuracy"] - theirs["epochs"][-1]["test_accuracy"]) * 100
    n = len(ours["epochs"])

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines += [
        "",
        f"mean s/epoch: convscope {mean_ours:.1f}, torch {mean_theirs:.1f}, ratio {ratio:.2f} "
        f"(target <= {TARGET_RATIO}) {verdict(ratio <= TARGET_RATIO)}",
        f"CPU s/epoch (all threads): convscope {cpu_ours:.1f}, torch {cpu_theirs:.1f}, "
        f"ratio {cpu_ours / cpu_theirs:.2f}; load average at the end {os.getloadavg()[0]:.1f}",
        f"test evaluation (10k images): convscope {eval_ours:.1f}s, torch {eval_theirs:.1f}s",
        "minor page faults per training step: convscope "
        f"{np.mean([r['faults_per_step'] for r in ours['epochs']]):.0f}, torch "
        f"{np.mean([r['faults_per_step'] for r in theirs['epochs']]):.0f}",
        f"accuracy gap after epoch 1: {first:.2f} pp, after epoch {n}: {last:.2f} pp "
        f"(target <= {TARGET_ACC_PP}) {verdict(max(first, last) <= TARGET_ACC_PP)}",
        f"peak RSS: convscope {ours['peak_rss_mib']:.0f} MiB, torch {theirs['peak_rss_mib']:.0f} "
        f"MiB (target <= {TARGET_RSS_MIB}) {verdict(ours['peak_rss_mib'] <= TARGET_RSS_MIB)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    """Run the comparison; returns ``{"convscope": ..., "torch": ... or None}``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--model", default="simple", choices=sorted(LAYERS), help="W1 or bn")
    parser.add_argument("--threads", type=int, default=None, help="default: NumPy's BLAS threads")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write both results here")
    parser.add_argument(
        "--independent-init", action="store_true", help="each framework draws its own weights"
    )
    parser.add_argument("--no-torch", action="store_true", help="time convscope alone")
    parser.add_argument(
        "--workers", type=int, default=1, help="convscope data-parallel threads (BLAS: 1 each)"
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--init", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.threads_given = args.threads is not None
    if args.threads is None:
        args.threads = blas_threads()
    if args.worker:
        worker(args)
        return None
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            args.no_torch = True
    if not FASHION.is_dir():
        sys.exit(
            f"Fashion-MNIST not found at {FASHION} (Debian: apt install dataset-fashion-mnist)."
        )
    print(
        f"{args.model}, {args.epochs} epochs, {args.threads} threads; epochs alternate...",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as scratch:
        if not args.independent_init:
            args.init = Path(scratch) / "w1_init.npz"  # written by the convscope worker
        workers = [Worker("convscope", args)]  # first: it writes the initial weights
        if not args.no_torch:
            workers.append(Worker("torch", args))
        for _ in range(args.epochs):
            for w in workers:
                w.run_epoch()
        results = [w.finish() for w in workers]
    for r in results:
        r["init"] = "independent" if args.independent_init else "shared"
        r["model"] = args.model
    ours, theirs = results[0], (results[1] if len(results) > 1 else None)
    if theirs is not None:
        print(report(ours, theirs))
    if args.json:
        args.json.write_text(json.dumps({"convscope": ours, "torch": theirs}, indent=2))
    return {"convscope": ours, "torch": theirs}


if __name__ == "__main__":
    main()
