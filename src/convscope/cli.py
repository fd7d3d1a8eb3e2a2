"""The ``convscope`` command: parse arguments, call library functions, print results.

    convscope train                         # best offline dataset, W1 model, report at the end
    convscope train --dataset mnist-5k --model lenet5 --epochs 5
    convscope evaluate RUN_DIR
    convscope predict RUN_DIR digit.png shirts/ batch.npy --json
    convscope visualize RUN_DIR --images 3
    convscope report RUN_DIR
    convscope summary bn
    convscope datasets

Every subcommand's ``--help`` lists its options with their defaults. No logic lives
here beyond argument parsing and output formatting: each command calls
:mod:`convscope.runs`, :mod:`convscope.data` or :mod:`convscope.nn`.

Failures end in one line on stderr, ``convscope COMMAND: error: ...``, and an exit
code (:data:`EXIT_CODES`, also shown by ``convscope --help``); ``--debug`` shows the
traceback instead. :func:`main` handles this for every subcommand.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import itertools
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_RUN_DIR = 3
EXIT_FILESYSTEM = 4
EXIT_CHECKPOINT = 5
EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # 141
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143
EXIT_CODES = {
    0: "success",
    EXIT_INTERNAL: "unexpected internal error (a bug: rerun with --debug and report it)",
    EXIT_USAGE: "bad arguments or input: unknown name, missing file, invalid images",
    EXIT_RUN_DIR: "run directory refused: it holds a run (see --resume/--overwrite), is "
    "in use by another process, or --resume was given changed settings",
    EXIT_FILESYSTEM: "cannot write: disk full, read-only or permission denied",
    EXIT_CHECKPOINT: "corrupt or foreign checkpoint, or one that does not fit the model",
    EXIT_SIGINT: "interrupted by Ctrl-C (SIGINT); training saved a resumable checkpoint",
    EXIT_BROKEN_PIPE: "the output was closed early (e.g. `| head`); nothing more printed",
    EXIT_SIGTERM: "terminated (SIGTERM); training saved a resumable checkpoint",
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; received {text}")
    return value


def _image_size(text: str) -> list[int]:
    """``28`` (square) or ``32x24`` (height x width)."""
    try:
        sizes = [int(part) for part in text.lower().split("x")]
    except ValueError:
        sizes = []
    if len(sizes) == 1:
        sizes *= 2
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a size like 28 or 32x24 (height x width); received {text!r}"
        )
    return sizes


def _add_command(
    sub: argparse._SubParsersAction,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """The subcommand ``name``, running ``handler(args)``; its ``--help`` shows each default."""
    p = sub.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.set_defaults(handler=handler)
    return p


def _add_train(sub: argparse._SubParsersAction) -> None:
    from convscope.runs import OPTIMIZERS, TrainConfig

    d = TrainConfig()
    p = _add_command(
        sub,
        "train",
        _train,
        help="train a CNN, evaluate it and write its report",
        description="Train a CNN on a dataset, evaluate it on the test split and write "
        "report.html/report.md into the run directory.",
    )
    p.add_argument(
        "--dataset",
        default=d.dataset,
        help="fashion-mnist, mnist, mnist-5k, digits, auto (best available offline), or "
        "the path of your own image folder: PATH/<class>/*.png (split per class into "
        "train/test by --test-fraction) or PATH/train/<class>/ and PATH/test/<class>/",
    )
    p.add_argument(
        "--image-size",
        type=_image_size,
        default=None,
        metavar="HxW",
        help="image folders: resize every image to this size (e.g. 28 or 32x24); default: "
        "keep their size, which must then be the same for all",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=[1, 3],
        default=None,
        help="image folders: 1 (grayscale) or 3 (RGB); default: 1 if every image is grayscale",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=d.test_fraction,
        help="image folders without train/ and test/: share of each class held out for testing",
    )
    p.add_argument(
        "--skip-errors",
        action="store_true",
        help="image folders: leave out (and list) files that cannot be read",
    )
    p.add_argument(
        "--model",
        default=d.model,
        help="preset (simple, lenet5, bn, allconv) or a Python file defining build_model()",
    )
    p.add_argument("--epochs", type=_positive_int, default=d.epochs, help="training epochs")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size, help="mini-batch size")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=d.workers,
        help="threads splitting each batch, one BLAS thread each (2 on 2 cores: about twice "
        "as fast); results repeat for the same count, dropout masks differ between counts",
    )
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=d.optimizer, help="optimizer")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2 weight decay")
    p.add_argument("--momentum", type=float, default=d.momentum, help="momentum (sgd, rmsprop)")
    p.add_argument(
        "--seed", type=int, default=d.seed, help="random seed (init, shuffling, dropout)"
    )
    p.add_argument("--augment", action="store_true", help="random shifts of up to 2 pixels")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of the training split held out for validation",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="use only this many training images (quick runs)",
    )
    p.add_argument(
        "--test-limit",
        type=_positive_int,
        default=None,
        help="evaluate on only this many test images",
    )
    p.add_argument(
        "--early-stopping",
        type=_positive_int,
        default=None,
        metavar="PATIENCE",
        help="stop after this many epochs without validation improvement",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="download the dataset if it is not available locally",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run directory (default: runs/<timestamp>-<dataset>-<model>)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from its last checkpoint (with --epochs N: "
        "train it up to N epochs); other options must match the run's",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (without it, an existing run is never replaced)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-report", action="store_true", help="skip writing the report")


def _given_train_options(argv: Sequence[str]) -> set[str]:
    """The TrainConfig fields the user typed on the command line (defaults excluded)."""
    parser = argparse.ArgumentParser(add_help=False)
    sub = parser.add_subparsers(dest="command")
    _add_train(sub)
    train = sub.choices["train"]
    for action in train._actions:
        action.default = argparse.SUPPRESS
    given, _ = parser.parse_known_args(list(argv))
    return set(vars(given)) - {"command", "handler"}


def _train(args: argparse.Namespace) -> int:
    from convscope.report.findings import training_health
    from convscope.runs import TrainConfig, history_of, train_run

    if args.resume is not None and args.out is not None:
        raise ValueError("Pass either --resume RUN_DIR (continue a run) or --out (a new run).")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    run_dir = train_run(
        config,
        args.resume or args.out,
        resume=args.resume is not None,
        overwrite=args.overwrite,
        given=_given_train_options(args.argv) & fields,
        verbose=0 if args.quiet else 1,
        report=not args.no_report,
    )
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    print(f"Test accuracy: {evaluation['accuracy']:.4f}  (loss {evaluation['loss']:.4f})")
    problem = training_health(history_of(run_dir), len(evaluation["classes"]))
    if problem:
        print(f"Warning: {problem}", file=sys.stderr)
    print(f"Run directory: {run_dir}")
    if not args.no_report:
        print(f"Report: {(run_dir / 'report.html').resolve()}")
    return 0


def _add_run_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, help="a directory written by `convscope train`")
    p.add_argument(
        "--checkpoint", choices=["best", "last"], default="best", help="which checkpoint to load"
    )


def _evaluate(args: argparse.Namespace) -> int:
    from convscope.runs import evaluate_run
    from convscope.train.progress import CountProgress

    with CountProgress(None, "evaluate") as progress:  # its total is set once data is loaded
        result = evaluate_run(args.run_dir, args.checkpoint, progress=progress)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"Test accuracy: {result['accuracy']:.4f}  loss: {result['loss']:.4f}  "
        f"({result['num_examples']} images)"
    )
    for name, acc in zip(result["classes"], result["per_class_accuracy"]):
        print(f"  {name:<14} {'–' if acc is None else format(acc, '.4f')}")  # None: no test image
    return 0


def _predict(args: argparse.Namespace) -> int:
    from convscope.data.inputs import Inputs
    from convscope.runs import load_run, predict_inputs, read_run_info
    from convscope.train.progress import CountProgress

    info = read_run_info(args.run_dir)
    _, model = load_run(args.run_dir, args.checkpoint)
    inputs = Inputs(
        args.inputs,
        info["input_shape"],
        invert=args.invert,
        resize=args.resize,
        skip_errors=args.skip_errors,
    )
    # Rows are printed as they are computed: memory stays flat for any number of images.
    width = max(len("input"), *(len(str(f)) + 8 for f in inputs.files))
    count = 0
    with CountProgress(inputs.total, "predict") as progress:
        rows = predict_inputs(model, info["classes"], inputs, args.top_k, progress=progress)
        first = next(rows, None)  # the first file's errors come before any output
        rows = itertools.chain([] if first is None else [first], rows)
        if args.json:
            print("[")
        else:
            print(f"{'input':<{width}}  {'class':<14} {'probability':<11}  top {args.top_k}")
        for row in rows:
            if args.json:
                text = json.dumps(row, indent=2).replace("\n", "\n  ")
                print(("  " if count == 0 else ", ") + text)
            else:
                top = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in row["top"])
                name, label, p = row["input"], row["class"], row["probability"]
                print(f"{name:<{width}}  {label:<14} {p:<11.4f}  {top}")
            count += 1
        if args.json:
            print("]")
    for _, reason in inputs.skipped:  # each reason names its file
        print(f"convscope predict: skipped: {reason}", file=sys.stderr)
    if count == 0:
        raise ValueError(f"None of the inputs could be used ({len(inputs.skipped)} skipped).")
    return 0


def _visualize(args: argparse.Namespace) -> int:
    from convscope.runs import MAX_VISUALIZE_IMAGES, load_inputs, read_run_info, visualize_run

    shape = read_run_info(args.run_dir)["input_shape"]
    images = None
    if args.inputs:  # one more than drawn, so visualize_run can say they were capped
        limit = MAX_VISUALIZE_IMAGES + 1
        images = load_inputs(args.inputs, shape, resize=args.resize, limit=limit)[1]
    visualize_run(
        args.run_dir,
        images=images,
        count=args.images,
        out_dir=args.out,
        which=args.checkpoint,
        progress=lambda path: print(path, flush=True),  # each figure as soon as it exists
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from convscope.runs import report_run

    html_path, md_path = report_run(args.run_dir)
    print(f"Report: {html_path.resolve()}")
    print(f"Markdown: {md_path.resolve()}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from convscope import nn
    from convscope.models import build_model

    shape = tuple(args.input_shape)
    model = build_model(args.model, num_classes=args.classes, input_shape=shape)
    print(nn.summary(model, shape))
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from convscope import data

    print(data.format_available(data.available_datasets()))
    return 0


def _add_explore(sub: argparse._SubParsersAction) -> None:
    p = _add_command(
        sub,
        "explore",
        _explore,
        help="look inside a run's CNN in the browser: draw, click units, saliency, Grad-CAM",
        description="Serve a local web page (offline) showing every layer of the run's model "
        "for an input you draw, upload or pick from the test set.",
    )
    _add_run_dir(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL")


def _explore(args: argparse.Namespace) -> int:
    from convscope.explorer import serve

    serve(args.run_dir, args.host, args.port, not args.no_browser, args.checkpoint)
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = _add_command(
        sub,
        "export",
        _export,
        help="write a run's model as ONNX (checked by onnx.checker, compared with onnxruntime)",
        description="Write the run's trained model as an ONNX file (opset 21, symbolic batch "
        "axis) that onnxruntime, PyTorch tools or a GPU runtime can run.",
    )
    _add_run_dir(p)
    p.add_argument("output", type=Path, help="the .onnx file to write")
    p.add_argument(
        "--fixed-batch", type=_positive_int, default=None, metavar="N",
        help="fix the batch size to N instead of a symbolic batch axis",
    )  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    import numpy as np

    from convscope.onnx import export
    from convscope.runs import load_run, read_run_info

    _, model = load_run(args.run_dir, args.checkpoint)
    shape = tuple(read_run_info(args.run_dir)["input_shape"])
    batch = args.fixed_batch or 1
    example = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    export(model, example, args.output, dynamic_batch=args.fixed_batch is None)
    print(f"ONNX model: {args.output.resolve()}")
    try:
        import onnxruntime
    except ImportError:
        return 0
    session = onnxruntime.InferenceSession(str(args.output), providers=["CPUExecutionProvider"])
    runtime = session.run(None, {session.get_inputs()[0].name: example})[0]
    diff = float(np.abs(runtime - model(example).numpy()).max())
    print(f"onnxruntime gives the same logits (max abs difference {diff:.2g})")
    return 0


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = _add_command(
        sub,
        "import",
        _import,
        help="make a run directory from an ONNX model trained elsewhere",
        description="Build a convscope model from an ONNX file (a chain of supported "
        "operators, e.g. from torch.onnx.export) and write a run directory, so evaluate, "
        "report, visualize and explore work on it.",
    )
    p.add_argument("model", type=Path, help="the .onnx file")
    p.add_argument("--out", type=Path, required=True, help="the run directory to create")
    p.add_argument(
        "--dataset", default="auto", help="dataset to evaluate on (name or image folder)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already at --out")


def _import(args: argparse.Namespace) -> int:
    from convscope.run_import import import_onnx_run

    run_dir = import_onnx_run(args.model, args.out, args.dataset, args.overwrite)
    print(f"Run: {run_dir.resolve()}")
    print(f"Next: convscope evaluate {run_dir}  |  convscope report {run_dir}")
    return 0


def _add_guide(sub: argparse._SubParsersAction) -> None:
    p = _add_command(
        sub,
        "guide",
        _guide,
        help="run the Chapter 9 experiments and write the guide (chapter9.md + figures)",
        description="Run every experiment of convscope.experiments (Goodfellow et al., ch. 9) "
        "and write OUT/chapter9.md and OUT/figures/*.png from their results.",
    )
    p.add_argument("--out", type=Path, default=Path("docs"), help="output folder")
    p.add_argument(
        "--scale",
        choices=("full", "smoke"),
        default="full",
        help="full: the guide's numbers (minutes); smoke: tiny data (seconds)",
    )


def _guide(args: argparse.Namespace) -> int:
    import time

    from convscope.experiments.guide import write_guide

    start = time.perf_counter()
    path = write_guide(args.out, args.scale, log=lambda line: print(line, flush=True))
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Train, evaluate and look inside convolutional neural networks.",
        epilog="Errors are reported in one line on stderr (--debug shows the traceback).\n"
        f"Exit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error (also accepted after the command)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)

    p = _add_command(sub, "evaluate", _evaluate, help="evaluate a run's model on its test split")
    _add_run_dir(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = _add_command(
        sub, "predict", _predict, help="classify image files, folders, .npy or IDX arrays"
    )
    _add_run_dir(p)
    p.add_argument("inputs", nargs="+", help="PNG/JPEG files, folders of them, .npy or IDX files")
    p.add_argument("--top-k", type=_positive_int, default=3, help="classes listed per input")
    p.add_argument(
        "--invert",
        action="store_true",
        help="invert image files (dark ink on light paper, e.g. photos of digits)",
    )
    p.add_argument(
        "--resize",
        action="store_true",
        help="resize image files to the model's input size (otherwise another size is an error)",
    )
    p.add_argument(
        "--skip-errors",
        action="store_true",
        help="leave out files that cannot be read or used, and list them on stderr",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = _add_command(sub, "visualize", _visualize, help="draw filters and feature maps")
    _add_run_dir(p)
    p.add_argument("inputs", nargs="*", help="images to show (default: test images)")
    p.add_argument(
        "--images",
        type=_positive_int,
        default=3,
        help="how many test images when no inputs are given (at most 8: one figure each)",
    )
    p.add_argument(
        "--resize",
        action="store_true",
        help="resize image files to the model's input size",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: RUN_DIR/visualize)"
    )

    p = _add_command(sub, "report", _report, help="(re)write a run's report.html and report.md")
    p.add_argument("run_dir", type=Path, help="a directory written by `convscope train`")

    p = _add_command(sub, "summary", _summary, help="layer-by-layer summary of a model")
    p.add_argument("model", help="preset (simple, lenet5, bn, allconv), a .py or a .onnx file")
    p.add_argument(
        "--input-shape",
        type=_positive_int,
        nargs=3,
        default=[1, 28, 28],
        metavar=("C", "H", "W"),
        help="input shape without the batch",
    )
    p.add_argument("--classes", type=_positive_int, default=10, help="number of classes")

    _add_command(
        sub, "datasets", _datasets, help="list datasets available locally and how to get the rest"
    )
    _add_explore(sub)
    _add_guide(sub)
    _add_export(sub)
    _add_import(sub)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside training, raised so it ends like Ctrl-C: one line, no traceback."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _classify(error: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception that ended a command."""
    from convscope.rundir import RunExistsError, RunLockedError
    from convscope.runs import ResumeConflictError, RunInterrupted
    from convscope.serialization import CheckpointError

    if isinstance(error, RunInterrupted):
        return error.exit_code, str(error)
    if isinstance(error, KeyboardInterrupt):
        code = EXIT_SIGTERM if isinstance(error, _Terminated) else EXIT_SIGINT
        return code, (
            f"interrupted ({'SIGTERM' if code == EXIT_SIGTERM else 'SIGINT'}); no file was "
            "left half-written (every file is written atomically)."
        )
    if isinstance(error, (RunExistsError, RunLockedError, ResumeConflictError)):
        return EXIT_RUN_DIR, str(error)
    if isinstance(error, CheckpointError):
        return EXIT_CHECKPOINT, str(error)
    if isinstance(error, FileNotFoundError):
        return EXIT_USAGE, str(error)
    if isinstance(error, OSError):
        return EXIT_FILESYSTEM, _os_error_message(error)
    if isinstance(error, (ValueError, ImportError)):
        # Bad input (a wrong path, an unknown name, invalid images) or a missing optional
        # package: the message says what was expected; a traceback would only hide it.
        return EXIT_USAGE, str(error)
    return EXIT_INTERNAL, (
        f"internal error: {type(error).__name__}: {error} (rerun with --debug for the traceback)"
    )


_OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, or write the run elsewhere with --out",
    errno.EDQUOT: "the disk quota is exceeded: free some space, or use another --out",
    errno.EROFS: "the file system is read-only: choose a writable --out directory",
    errno.EACCES: "permission denied: choose a directory you can write to",
    errno.EPERM: "operation not permitted: choose a directory you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
}


def _os_error_message(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    advice = _OS_ADVICE.get(error.errno, error.strerror or str(error))
    return (
        f"cannot write{where}: {advice}. Files written before are intact "
        "(every file is written atomically)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convscope`` console script; returns the exit status.

    Every subcommand's failure ends here: one line on stderr and an exit code from
    :data:`EXIT_CODES` (the traceback too with ``--debug``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("CONVSCOPE_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    args.argv = argv
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None

    def one_line(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"convscope {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            if not debug:  # warnings as one line each, in the same form as errors
                warnings.showwarning = one_line
            code = args.handler(args)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return code
    except BrokenPipeError:
        # The reader went away (`| head`): stay silent, as Unix tools do.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as error:
        code, message = _classify(error)
        if debug:
            traceback.print_exc()
        prefix = "" if code in (EXIT_SIGINT, EXIT_SIGTERM) else "error: "
        print(f"convscope {args.command}: {prefix}{message}", file=sys.stderr)
        return code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
