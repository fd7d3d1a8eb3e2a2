"""Assemble a run's findings report: draw the figures, compute the findings, render.

:func:`convscope.runs.report_run` gathers a run's model, data and evaluation and calls
:func:`build_report`; this module knows nothing of how runs are stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from convscope import nn, viz
from convscope.report.findings import confused_pairs, findings
from convscope.report.render import ReportData, write_report
from convscope.train import predict

# How many test images (of different classes) the report follows through every layer.
FEATURE_MAP_IMAGES = 3

# Layers whose outputs the feature-map figure shows.
FEATURE_LAYERS = (
    nn.Conv2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.Tanh,
    nn.Sigmoid,
    nn.BatchNorm2d,
)


def first_conv_weights(model: nn.Module) -> np.ndarray | None:
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else conv.weight.data


def _one_per_class(labels: np.ndarray, count: int) -> list[int]:
    """Indices of the first test image of each of the first ``count`` classes present."""
    classes, first = np.unique(labels, return_index=True)
    return sorted(first[:count].tolist())


def _scale(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / np.float32(255) if images.dtype == np.uint8 else images


def build_report(
    run_dir: str | Path,
    *,
    model: nn.Module,
    test: tuple[np.ndarray, np.ndarray],
    classes: list[str],
    dataset_info: dict[str, Any],
    evaluation: dict[str, Any],
    history: dict[str, list[float]],
    hyperparameters: dict[str, Any],
    model_name: str,
) -> tuple[Path, Path]:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into ``run_dir``.

    Args:
        model: the trained model (put in eval mode here).
        test: test images (N, C, H, W; uint8 or float in [0, 1]) and labels (N,).
        classes: class names.
        dataset_info: name, source and split sizes shown in the Dataset section.
        evaluation: the test evaluation (``loss``, ``accuracy``, ``per_class_accuracy``,
            ``confusion_matrix``) — the report quotes these numbers unchanged.
        history: Keras-shaped per-epoch lists.
        hyperparameters: shown as given.
        model_name: preset name or model file.

    Returns:
        Paths of the HTML and Markdown reports.
    """
    run_dir = Path(run_dir)
    model.eval()
    cm = np.asarray(evaluation["confusion_matrix"])
    x_test, y_test = test[0], test[1]
    probabilities = predict(model, _scale(x_test))
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    correct = predicted == y_test

    figures_dir = run_dir / "figures"
    figures_dir.mkdir(exist_ok=True)
    figures: dict[str, Path] = {}

    def save(key: str, figure_fn: Any, *args: Any, **kwargs: Any) -> None:
        path = figures_dir / f"{key}.png"
        fig = figure_fn(*args, **kwargs)
        viz.save_figure(fig, path)
        figures[key] = path

    if history.get("loss"):
        save("curves", viz.plot_history, history)
    save("confusion", viz.plot_confusion_matrix, cm, classes)
    measured = [i for i, acc in enumerate(evaluation["per_class_accuracy"]) if acc is not None]
    save(
        "per_class",
        viz.plot_per_class_accuracy,
        np.array([evaluation["per_class_accuracy"][i] for i in measured]),
        [classes[i] for i in measured],
        overall_accuracy=float(evaluation["accuracy"]),
    )
    weights = first_conv_weights(model)
    if weights is not None:
        save("filters", viz.plot_filters, weights)
    for i, index in enumerate(_one_per_class(y_test, FEATURE_MAP_IMAGES)):
        image = _scale(x_test[index : index + 1])
        outputs = nn.capture_outputs(model, image, include=FEATURE_LAYERS)
        title = f"Feature maps of a test image of class {classes[y_test[index]]}"
        save(f"feature_maps_{i}", viz.plot_feature_maps, outputs, image=image[0], title=title)
    wrong = np.flatnonzero(~correct)
    if len(wrong):
        worst = wrong[np.argsort(-confidence[wrong])][:16]
        save(
            "misclassified",
            viz.plot_misclassified,
            _scale(x_test[worst]),
            y_test[worst],
            predicted[worst],
            confidence[worst],
            classes,
        )

    summary = nn.summary(model, tuple(x_test.shape[1:]))
    seconds = history.get("seconds", [])
    train_size = int(dataset_info.get("train images", 0))
    timings = {}
    if seconds:
        timings = {
            "total training time": f"{sum(seconds):.1f} s over {len(seconds)} epochs",
            "median epoch": f"{np.median(seconds):.1f} s",
            "throughput": f"{train_size / np.median(seconds):,.0f} training images/s",
        }
    data = ReportData(
        title=f"convscope run: {model_name} on {dataset_info.get('name', 'data')}",
        dataset={**dataset_info, "classes": classes},
        model_name=model_name,
        summary_rows=summary.rows,
        summary_text=str(summary),
        hyperparameters=hyperparameters,
        history=history,
        test_loss=float(evaluation["loss"]),
        test_accuracy=float(evaluation["accuracy"]),
        per_class=[
            (name, acc, int(n))
            for name, acc, n in zip(classes, evaluation["per_class_accuracy"], cm.sum(axis=1))
        ],
        confused_pairs=[
            (classes[t], classes[p], c, share) for t, p, c, share in confused_pairs(cm, top=5)
        ],
        figures=figures,
        timings=timings,
        evaluated_epoch=int(np.argmin(history["val_loss"])) + 1
        if history.get("val_loss")
        else None,
        findings=findings(
            history=history,
            test_accuracy=float(evaluation["accuracy"]),
            confusion=cm,
            class_names=classes,
            first_layer_weights=weights,
            confidences=confidence,
            correct=correct,
            train_size=train_size,
        ),
    )
    return write_report(data, run_dir)
