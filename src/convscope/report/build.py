"""Assemble a run's findings report: draw the figures, compute the findings, render.

:func:`convscope.runs.report_run` gathers a run's model, data and evaluation and calls
:func:`build_report`; this module knows nothing of how runs are stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from convscope import explain, nn, viz
from convscope.data import to_float
from convscope.report.findings import confused_pairs, epoch_timing, findings
from convscope.report.render import ReportData, write_report
from convscope.train import predict
from convscope.viz.explanations import plot_explanations, plot_top_patches

# How many test images (of different classes) the report follows through every layer.
FEATURE_MAP_IMAGES = 3

# "What the network looks at": how many correct and misclassified test images get
# saliency and Grad-CAM maps, how many test images are searched for each channel's top
# patches, and how many channels of the first two conv layers are shown.
EXPLAINED_IMAGES = 3
PATCH_IMAGES = 2000
PATCH_CHANNELS = 4
PATCHES_PER_CHANNEL = 6

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


def draw_filters_and_feature_maps(
    model: nn.Module, images: np.ndarray, out_dir: Path, titles: list[str] | None = None
) -> list[Path]:
    """Save the first conv layer's filters and each image's feature maps as PNGs.

    Args:
        images: (N, C, H, W), uint8 or float in [0, 1].
        out_dir: receives ``filters.png`` and ``feature_maps_<i>.png``.
        titles: one title per image.

    Returns:
        The paths written, filters first.
    """
    written = []
    weights = first_conv_weights(model)
    if weights is not None:
        written.append(viz.save_figure(viz.plot_filters(weights), out_dir / "filters.png"))
    for i, image in enumerate(to_float(images)):
        outputs = nn.capture_outputs(model, image[None], include=FEATURE_LAYERS)
        title = titles[i] if titles else None
        figure = viz.plot_feature_maps(outputs, image=image, title=title)
        written.append(viz.save_figure(figure, out_dir / f"feature_maps_{i}.png"))
    return written


def _conv_layers(model: nn.Module, image: np.ndarray) -> list[str]:
    """Names of the Conv2d layers, in the order the model runs them."""
    outputs = nn.capture_outputs(model, image[None], include=nn.Conv2d)
    return list(outputs)


def draw_explanations(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    classes: list[str],
    out_dir: Path,
) -> dict[str, Path]:
    """The figures of "What the network looks at"; returns ``{figure key: path}``.

    ``looks_at_maps``: saliency and Grad-CAM of the predicted class for the first
    correct test images of different classes and the most confident mistakes.
    ``looks_at_patches``: for the first two conv layers, the channels with the largest
    responses and the test patches (receptive fields) that excite them most.
    """
    written: dict[str, Path] = {}
    correct = np.flatnonzero(predicted == labels)
    wrong = np.flatnonzero(predicted != labels)
    chosen = [int(correct[i]) for i in _one_per_class(labels[correct], EXPLAINED_IMAGES)]
    chosen += wrong[np.argsort(-confidence[wrong], kind="stable")][:EXPLAINED_IMAGES].tolist()
    if not chosen:
        return written
    floats = to_float(images[chosen])
    convs = _conv_layers(model, floats[0])
    maps: dict[str, list[np.ndarray]] = {"saliency": []}
    if convs:
        maps["Grad-CAM"] = []
    for image, target in zip(floats, predicted[chosen]):
        maps["saliency"].append(explain.saliency(model, image, int(target)))
        if convs:
            maps["Grad-CAM"].append(explain.grad_cam(model, image, int(target)))
    titles = [
        f"{'✓' if labels[i] == predicted[i] else '✗'} true {classes[labels[i]]}, "
        f"predicted {classes[predicted[i]]}"
        for i in chosen
    ]
    path = out_dir / "looks_at_maps.png"
    viz.save_figure(
        plot_explanations(floats, {k: np.stack(v) for k, v in maps.items()}, titles), path
    )
    written["looks_at_maps"] = path
    rows = []
    for layer in convs[:2]:
        top = explain.max_activating(
            model, images[:PATCH_IMAGES], layer, None, k=PATCHES_PER_CHANNEL
        )
        strongest = np.argsort([-t["values"][0] for t in top], kind="stable")[:PATCH_CHANNELS]
        rows += [
            (f"layer {layer}, ch. {c}", top[c]["patches"], top[c]["values"]) for c in strongest
        ]
    if rows:
        path = out_dir / "looks_at_patches.png"
        viz.save_figure(plot_top_patches(rows), path)
        written["looks_at_patches"] = path
    return written


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
    evaluated_epoch: int | None = None,
    monitor: str = "val_loss",
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
        evaluated_epoch: the epoch (1-based) whose weights ``model`` holds.
        monitor: the quantity that chose that epoch (e.g. ``val_loss``).

    Returns:
        Paths of the HTML and Markdown reports.
    """
    run_dir = Path(run_dir)
    model.eval()
    cm = np.asarray(evaluation["confusion_matrix"])
    x_test, y_test = test[0], test[1]
    probabilities = predict(model, x_test)
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
    chosen = _one_per_class(y_test, FEATURE_MAP_IMAGES)
    titles = [f"Feature maps of a test image of class {classes[y_test[i]]}" for i in chosen]
    for path in draw_filters_and_feature_maps(model, x_test[chosen], figures_dir, titles):
        figures[path.stem] = path
    wrong = np.flatnonzero(~correct)
    if len(wrong):
        worst = wrong[np.argsort(-confidence[wrong])][:16]
        save(
            "misclassified",
            viz.plot_misclassified,
            to_float(x_test[worst]),
            y_test[worst],
            predicted[worst],
            confidence[worst],
            classes,
        )

    figures.update(
        draw_explanations(model, x_test, y_test, predicted, confidence, classes, figures_dir)
    )

    summary = nn.summary(model, tuple(x_test.shape[1:]))
    train_size = int(dataset_info.get("train images", 0))
    timing = epoch_timing(history.get("seconds", []), train_size)
    timings = {}
    if timing:
        timings = {
            "total training time": f"{timing['total']:.1f} s over {timing['epochs']} epochs",
            "median epoch (training + validation)": f"{timing['median']:.1f} s",
            "throughput": f"{timing['images_per_second']:,.0f} training images/s",
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
        evaluated_epoch=evaluated_epoch,
        monitor=monitor,
        findings=findings(
            history=history,
            evaluated_epoch=evaluated_epoch,
            has_dropout=any(isinstance(m, nn.Dropout) for m in model.modules()),
            test_accuracy=float(evaluation["accuracy"]),
            confusion=cm,
            class_names=classes,
            first_layer_weights=first_conv_weights(model),
            confidences=confidence,
            correct=correct,
            train_size=train_size,
        ),
    )
    return write_report(data, run_dir)
