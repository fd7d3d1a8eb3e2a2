"""Using a trained run: class probabilities for new images, and feature-map figures.

Inputs stream in batches (:class:`convscope.data.inputs.Inputs`), so predicting any
number of images takes the memory of one batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convscope import data, nn, viz
from convscope.data.checks import check_images
from convscope.data.inputs import Inputs
from convscope.report.build import FEATURE_LAYERS, first_conv_weights
from convscope.run_config import load_splits
from convscope.run_files import load_run, read_run_info
from convscope.train import predict


def predict_arrays(
    run_dir: str | Path, images: np.ndarray, which: str = "best"
) -> tuple[np.ndarray, list[str]]:
    """Class probabilities (N, classes) for images (N, C, H, W) or (N, H, W), and class names.

    Raises:
        ValueError: images of another shape than the run's, NaN/inf or out-of-range values.
    """
    _, model = load_run(run_dir, which)
    if images.ndim == 3:
        images = images[:, None]
    check_images(images, "images", read_run_info(run_dir)["input_shape"])
    return predict(model, data.to_float(images)), list(read_run_info(run_dir)["classes"])


def predict_inputs(
    model: nn.Module,
    classes: Sequence[str],
    inputs: Inputs,
    top_k: int = 3,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per input image, batch by batch: memory does not grow with their number.

    Yields:
        ``{"input", "class", "probability", "top": [{"class", "probability"}, ...]}``
        with the ``top_k`` most probable classes, most probable first.
    """
    for names, batch in inputs.batches():
        probabilities = predict(model, batch)
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
        for name, p, order in zip(names, probabilities, top):
            yield {
                "input": name,
                "class": classes[int(order[0])],
                "probability": float(p[order[0]]),
                "top": [{"class": classes[int(k)], "probability": float(p[k])} for k in order],
            }
        if progress is not None:
            progress(len(names))


# Each image is one figure of every layer's feature maps (1–5 s each on a busy 2-core CPU).
MAX_VISUALIZE_IMAGES = 8


def visualize_run(
    run_dir: str | Path,
    *,
    images: np.ndarray | None = None,
    count: int = 3,
    out_dir: str | Path | None = None,
    which: str = "best",
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Draw the first layer's filters and each image's feature maps through every layer.

    Args:
        images: (N, C, H, W) or (N, H, W) images; default the first ``count`` test images.
        count: at most :data:`MAX_VISUALIZE_IMAGES` (more is capped, with a warning).
        out_dir: where the PNGs go (default ``RUN_DIR/visualize``; the report's own
            figures live in ``RUN_DIR/figures``).
        progress: called with the path of each PNG as soon as it is written.

    Returns:
        Paths of the PNG files written.
    """
    config, model = load_run(run_dir, which)
    wanted = count if images is None else len(images)
    if wanted > MAX_VISUALIZE_IMAGES:
        warnings.warn(
            f"visualize draws at most {MAX_VISUALIZE_IMAGES} images (one figure of every "
            f"layer each, seconds apiece); drawing the first {MAX_VISUALIZE_IMAGES} of {wanted}.",
            stacklevel=2,
        )
    if images is None:
        images = load_splits(config).test[0][: min(count, MAX_VISUALIZE_IMAGES)]
    images = images[:MAX_VISUALIZE_IMAGES]
    if images.ndim == 3:
        images = images[:, None]
    check_images(images, "images", read_run_info(run_dir)["input_shape"])
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "visualize"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    weights = first_conv_weights(model)
    if weights is not None:
        written.append(viz.save_figure(viz.plot_filters(weights), out / "filters.png"))
        if progress is not None:
            progress(written[-1])
    # One figure per image, reported as soon as it is written (build.py draws the
    # report's three in one call).
    for i, image in enumerate(data.to_float(images)):
        outputs = nn.capture_outputs(model, image[None], include=FEATURE_LAYERS)
        figure = viz.plot_feature_maps(outputs, image=image)
        written.append(viz.save_figure(figure, out / f"feature_maps_{i}.png"))
        if progress is not None:
            progress(written[-1])
    return written


def load_inputs(
    inputs: Sequence[str | Path],
    input_shape: Sequence[int] = (1, 28, 28),
    invert: bool = False,
    *,
    resize: bool = False,
    skip_errors: bool = False,
    limit: int | None = None,
) -> tuple[list[str], np.ndarray]:
    """Read images to classify, all at once: PNG/JPEG files, folders of them, ``.npy`` or IDX.

    (For many images iterate :class:`convscope.data.inputs.Inputs` batches instead.)

    Args:
        inputs: paths; folders are searched recursively.
        input_shape: (C, H, W) the model expects: image files are converted to C channels
            (1 = grayscale); arrays must already have that shape.
        invert: use ``255 - pixel`` for image files (dark ink on light paper, like a
            photographed digit, becomes MNIST's light-on-dark).
        resize: resize image files to H×W (otherwise another size is an error).
        skip_errors: leave out unreadable files instead of raising.
        limit: stop after this many images (the rest is never read).

    Returns:
        A name per image (``file.npy[3]`` for array rows) and the images as float32
        (N, C, H, W) in [0, 1].
    """
    reader = Inputs(inputs, input_shape, invert=invert, resize=resize, skip_errors=skip_errors)
    names: list[str] = []
    batches: list[np.ndarray] = []
    for batch_names, batch in reader.batches():
        names += batch_names
        batches.append(batch)
        if limit is not None and len(names) >= limit:
            names, batches = names[:limit], [np.concatenate(batches)[:limit]]
            break
    if not batches:
        raise ValueError(f"No usable images in {[str(i) for i in inputs]}.")
    return names, np.concatenate(batches)
