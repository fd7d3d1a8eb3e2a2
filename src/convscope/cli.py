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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; received {text}")
    return value


def _add_train(sub: argparse._SubParsersAction) -> None:
    from convscope.runs import OPTIMIZERS, TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train a CNN, evaluate it and write its report",
        description="Train a CNN on a dataset, evaluate it on the test split and write "
        "report.html/report.md into the run directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        default=d.dataset,
        help="fashion-mnist, mnist, mnist-5k, digits, or auto (best available offline)",
    )
    p.add_argument(
        "--model",
        default=d.model,
        help="preset (simple, lenet5, bn) or a Python file defining build_model()",
    )
    p.add_argument("--epochs", type=_positive_int, default=d.epochs, help="training epochs")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size, help="mini-batch size")
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
        help="continue an interrupted run from its last checkpoint",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-report", action="store_true", help="skip writing the report")
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from convscope.runs import TrainConfig, train_run

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    run_dir = train_run(
        config,
        args.resume or args.out,
        resume=args.resume is not None,
        verbose=0 if args.quiet else 1,
        report=not args.no_report,
    )
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    print(f"Test accuracy: {evaluation['accuracy']:.4f}  (loss {evaluation['loss']:.4f})")
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

    result = evaluate_run(args.run_dir, args.checkpoint)
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
    from convscope.runs import load_inputs, predict_arrays, read_run_info

    shape = read_run_info(args.run_dir)["input_shape"]
    names, images = load_inputs(args.inputs, shape, invert=args.invert)
    probabilities, classes = predict_arrays(args.run_dir, images, args.checkpoint)
    top = np.argsort(-probabilities, axis=1)[:, : args.top_k]
    rows = [
        {
            "input": name,
            "class": classes[int(order[0])],
            "probability": float(p[order[0]]),
            "top": [{"class": classes[int(k)], "probability": float(p[k])} for k in order],
        }
        for name, p, order in zip(names, probabilities, top)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len("input"), *(len(r["input"]) for r in rows))
    print(f"{'input':<{width}}  {'class':<14} probability")
    for r in rows:
        print(f"{r['input']:<{width}}  {r['class']:<14} {r['probability']:.4f}")
    return 0


def _visualize(args: argparse.Namespace) -> int:
    from convscope.runs import load_inputs, read_run_info, visualize_run

    shape = read_run_info(args.run_dir)["input_shape"]
    images = load_inputs(args.inputs, shape)[1] if args.inputs else None
    paths = visualize_run(
        args.run_dir, images=images, count=args.images, out_dir=args.out, which=args.checkpoint
    )
    for path in paths:
        print(path)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Train, evaluate and look inside convolutional neural networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    p = sub.add_parser(
        "evaluate", help="evaluate a run's model on its test split", formatter_class=fmt
    )
    _add_run_dir(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser(
        "predict", help="classify image files, folders, .npy or IDX arrays", formatter_class=fmt
    )
    _add_run_dir(p)
    p.add_argument("inputs", nargs="+", help="PNG/JPEG files, folders of them, .npy or IDX files")
    p.add_argument("--top-k", type=_positive_int, default=3, help="classes listed per input")
    p.add_argument(
        "--invert",
        action="store_true",
        help="invert image files (dark ink on light paper, e.g. photos of digits)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_predict)

    p = sub.add_parser("visualize", help="draw filters and feature maps", formatter_class=fmt)
    _add_run_dir(p)
    p.add_argument("inputs", nargs="*", help="images to show (default: test images)")
    p.add_argument(
        "--images",
        type=_positive_int,
        default=3,
        help="how many test images when no inputs are given",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: RUN_DIR/visualize)"
    )
    p.set_defaults(handler=_visualize)

    p = sub.add_parser(
        "report", help="(re)write a run's report.html and report.md", formatter_class=fmt
    )
    p.add_argument("run_dir", type=Path, help="a directory written by `convscope train`")
    p.set_defaults(handler=_report)

    p = sub.add_parser("summary", help="layer-by-layer summary of a model", formatter_class=fmt)
    p.add_argument("model", help="preset (simple, lenet5, bn) or a Python model file")
    p.add_argument(
        "--input-shape",
        type=_positive_int,
        nargs=3,
        default=[1, 28, 28],
        metavar=("C", "H", "W"),
        help="input shape without the batch",
    )
    p.add_argument("--classes", type=_positive_int, default=10, help="number of classes")
    p.set_defaults(handler=_summary)

    p = sub.add_parser(
        "datasets",
        help="list datasets available locally and how to get the rest",
        formatter_class=fmt,
    )
    p.set_defaults(handler=_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convscope`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as error:
        # Bad input (a wrong path, an unknown name, a corrupt file): the message says
        # what was expected; a traceback would only hide it.
        print(f"convscope {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
