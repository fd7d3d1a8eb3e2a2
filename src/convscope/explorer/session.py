"""The explorer's answers: one method per route, each a call into :mod:`convscope.explain`
or :mod:`convscope.nn`, returning JSON-ready dicts.

Arrays travel as base64: the model input as float32 (the page sends it back untouched
with every request, so the server keeps no per-page state), pictures as uint8 already
scaled to 0–255 here, with their range, so the page only looks colours up. Nothing is
computed in JavaScript.

The model is shared by all requests and forward hooks are attached to it during a
pass, so every use of it holds :attr:`Explorer.lock`; requests still run concurrently
(static files, decoding, JSON) in the server's threads.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import numpy as np

from convscope import explain, nn
from convscope.data.transforms import to_float
from convscope.explain._trace import trace
from convscope.explorer.preprocess import drawing_to_input, upload_to_input
from convscope.tensor import no_grad

# Test images searched for each channel's maximally activating patches.
MAX_ACTIVATING_IMAGES = 1000
# Methods of POST /api/explain.
METHODS = ("saliency", "smoothgrad", "grad_cam", "occlusion")


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def picture(
    array: np.ndarray, symmetric: bool = False, value_range: tuple[float, float] | None = None
) -> dict[str, Any]:
    """An array as uint8 0–255 over its own range (``symmetric``: over ±max|a|, 0 → 128;
    ``value_range``: over that fixed range, e.g. (0, 1) for images)."""
    a = np.asarray(array, dtype=np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if value_range is not None:
        lo, hi = value_range
    elif symmetric:
        hi = max(abs(lo), abs(hi))
        lo = -hi
    clean = np.nan_to_num(a, nan=lo, neginf=lo, posinf=hi)  # max pooling's −∞ padding
    scaled = np.zeros(a.shape) if hi == lo else (clean - lo) / (hi - lo)
    return {
        "shape": list(a.shape),
        "min": lo,
        "max": hi,
        "data": b64(np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)),
    }


def jsonable(value: Any) -> Any:
    """Arrays → nested lists (±inf → None), NumPy scalars → Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _image_range(image: np.ndarray) -> tuple[float, float] | None:
    """(0, 1) for images in that range (shown as they are), else None (their own range)."""
    return (0.0, 1.0) if image.min() >= 0 and image.max() <= 1 else None


def _palette(name: str) -> str:
    """A matplotlib colormap as 256 RGB triples (base64), for the page to look colours up."""
    from matplotlib import colormaps

    rgb = colormaps[name](np.linspace(0, 1, 256))[:, :3]
    return b64(np.round(rgb * 255).astype(np.uint8))


class Explorer:
    """A trained model, its class names and test images, and the explorer's answers.

    Args:
        model: the trained model.
        classes: class names.
        input_shape: (C, H, W) the model takes.
        test: test images (N, C, H, W) and labels (N,), or None.
        title: shown on the page (e.g. the run directory).
    """

    def __init__(
        self,
        model: nn.Module,
        classes: list[str],
        input_shape: tuple[int, int, int],
        test: tuple[np.ndarray, np.ndarray] | None = None,
        title: str = "",
    ):
        self.model = model.eval()
        self.classes = list(classes)
        self.input_shape = tuple(int(n) for n in input_shape)
        self.test = test
        self.title = title
        self.lock = threading.RLock()
        self._predictions: np.ndarray | None = None
        self._patches: dict[str, list[dict[str, np.ndarray]]] = {}
        with self.lock:
            self._calls = trace(self.model, np.zeros((1, *self.input_shape), np.float32))

    @classmethod
    def from_run(cls, run_dir: str | Path, which: str = "best") -> Explorer:
        """Load a run's model, classes, input shape and test split."""
        from convscope import runs

        config, model = runs.load_run(run_dir, which)
        info = runs.read_run_info(run_dir)
        try:
            test = runs.load_splits(config).test
        except (ValueError, FileNotFoundError):
            test = None  # the dataset is gone: drawing and uploads still work
        return cls(model, info["classes"], tuple(info["input_shape"]), test, str(run_dir))

    # ----------------------------------------------------------------- inputs

    def parse_input(self, spec: Any) -> np.ndarray:
        """The model input (C, H, W) a request names: ``{"test": index}`` or
        ``{"shape": [C, H, W], "data": base64 float32}`` (as returned by :meth:`forward`)."""
        if isinstance(spec, dict) and "test" in spec:
            index = spec["test"]
            n = 0 if self.test is None else len(self.test[1])
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
                raise ValueError(f"Expected a test image index in [0, {n}); received {index!r}.")
            return to_float(self.test[0][index])
        if not isinstance(spec, dict) or "data" not in spec:
            raise ValueError(
                'Expected "input" to be {"test": index} or {"shape": [C, H, W], "data": '
                f"base64 float32}}; received {str(spec)[:80]!r}."
            )
        if list(spec.get("shape", [])) != list(self.input_shape):
            raise ValueError(
                f"Expected an input of shape {list(self.input_shape)} (the model's); "
                f"received shape {spec.get('shape')!r}."
            )
        try:
            raw = base64.b64decode(spec["data"], validate=True)
        except (ValueError, TypeError):
            raise ValueError("Expected input data as base64; it does not decode.") from None
        if len(raw) != 4 * int(np.prod(self.input_shape)):
            raise ValueError(
                f"Expected {int(np.prod(self.input_shape))} float32 values for shape "
                f"{list(self.input_shape)}; received {len(raw)} bytes."
            )
        image = np.frombuffer(raw, dtype="<f4").reshape(self.input_shape).astype(np.float32)
        if not np.isfinite(image).all():
            raise ValueError("Expected finite input values; received NaN or infinity.")
        return image

    def drawing(self, width: Any, height: Any, data: Any) -> dict[str, Any]:
        """A canvas drawing (its gray pixels, base64 uint8, row-major) → :meth:`forward`."""
        if not all(isinstance(v, int) and 0 < v <= 2048 for v in (width, height)):
            raise ValueError(
                f"Expected the canvas width and height as integers in 1..2048; received "
                f"{width!r} × {height!r}."
            )
        try:
            raw = base64.b64decode(data, validate=True)
        except (ValueError, TypeError):
            raise ValueError("Expected the drawn pixels as base64; they do not decode.") from None
        if len(raw) != width * height:
            raise ValueError(
                f"Expected {width}×{height} = {width * height} gray pixels; received {len(raw)}."
            )
        pixels = np.frombuffer(raw, dtype=np.uint8).reshape(height, width)
        return self.forward(drawing_to_input(pixels, self.input_shape))

    def upload(self, content: bytes, invert: bool = False) -> dict[str, Any]:
        """An uploaded image file → :meth:`forward`."""
        return self.forward(upload_to_input(content, self.input_shape, invert))

    # ----------------------------------------------------------------- answers

    def info(self) -> dict[str, Any]:
        """The model's layers and shapes, class names, test-set size and the palettes."""
        n_test = 0 if self.test is None else len(self.test[1])
        return {
            "title": self.title,
            "classes": self.classes,
            "input_shape": list(self.input_shape),
            "test_images": n_test,
            "layers": [
                {
                    "name": c.name,
                    "type": type(c.module).__name__,
                    "shape": list(c.output.shape[1:]),
                    "parent": None if c.parent is None else self._calls[c.parent].name,
                    "conv": isinstance(c.module, nn.Conv2d),
                }
                for c in self._calls
            ],
            "palettes": {
                "maps": _palette("viridis"),
                "diverging": _palette("RdBu_r"),
                "heat": _palette("inferno"),
            },  # fmt: skip
        }

    def forward(self, image: np.ndarray) -> dict[str, Any]:
        """Every layer's output for one image, and the class probabilities."""
        with self.lock:
            calls = trace(self.model, image[None])
            p = explain.probabilities(self.model, image[None])[0]
        return {
            "input": {"shape": list(image.shape), "data": b64(image.astype("<f4"))},
            "image": picture(image, value_range=_image_range(image)),
            "layers": [
                {"name": c.name, "type": type(c.module).__name__, **picture(c.output[0])}
                for c in calls
            ],
            "probabilities": [float(v) for v in p],
            "predicted": int(np.argmax(p)),
        }

    def unit(self, image: np.ndarray, layer: Any, channel: Any, row: Any, col: Any) -> dict:
        """:func:`convscope.explain.unit_arithmetic` for one unit, as JSON."""
        with self.lock:
            unit = explain.unit_arithmetic(self.model, image, str(layer), channel, row, col)
        return jsonable(unit)

    def explanation(self, image: np.ndarray, method: Any, target: Any, layer: Any = None) -> dict:
        """A saliency / SmoothGrad / Grad-CAM / occlusion map (H, W) for class ``target``.

        SmoothGrad averages 16 noisy copies (σ = 15% of the value range); Grad-CAM uses
        ``layer`` or :func:`~convscope.explain.default_layer`; occlusion slides a zero
        patch of side ``H // 7`` (4 for 28×28) with half that stride, spread to pixels.
        """
        if method not in METHODS:
            raise ValueError(f"Expected method to be one of {list(METHODS)}; received {method!r}.")
        with self.lock:
            if method == "saliency":
                heat, symmetric = explain.saliency(self.model, image, target), False
            elif method == "smoothgrad":
                heat = explain.saliency(self.model, image, target, smooth_samples=16)
                symmetric = False
            elif method == "grad_cam":
                layer = layer or explain.default_layer(self.model, image)
                heat, symmetric = explain.grad_cam(self.model, image, target, layer), False
            else:
                window = max(2, self.input_shape[1] // 7)
                stride = max(1, window // 2)
                grid = explain.occlusion(self.model, image, target, window, stride)
                heat = explain.spread(grid, self.input_shape[1:], window, stride)
                symmetric = True
        return {"method": method, "target": target, "layer": layer,
                "map": picture(heat, symmetric=symmetric)}  # fmt: skip

    def filters(self) -> list[dict[str, Any]]:
        """Each Conv2d layer's kernels (C_out, C_in/groups, kh, kw), on a scale centred at 0."""
        return [
            {"layer": c.name, **picture(c.module.weight.data, symmetric=True)}
            for c in self._calls
            if isinstance(c.module, nn.Conv2d)
        ]

    def max_activating(self, layer: Any, channel: Any, k: Any = 9) -> dict[str, Any]:
        """The test patches channel ``channel`` of ``layer`` responds to most (of the first
        :data:`MAX_ACTIVATING_IMAGES` test images; all channels of a layer are found in one
        pass and kept)."""
        if self.test is None:
            raise ValueError("This run's test images are not available on this machine.")
        if not isinstance(k, int) or not 1 <= k <= 64:
            raise ValueError(f"Expected k in 1..64; received {k!r}.")
        layer = str(layer)
        with self.lock:
            if layer not in self._patches:
                images = self.test[0][:MAX_ACTIVATING_IMAGES]
                self._patches[layer] = explain.max_activating(self.model, images, layer, None, 64)
        found = self._patches[layer]
        if not isinstance(channel, int) or not 0 <= channel < len(found):
            raise ValueError(
                f"Expected channel in [0, {len(found)}) for layer {layer!r}; received {channel!r}."
            )
        top = found[channel]
        labels = self.test[1]
        return {
            "layer": layer,
            "channel": channel,
            "patches": [
                {
                    "index": int(i),
                    "label": self.classes[int(labels[i])],
                    "value": float(v),
                    "box": [int(b) for b in box],
                    **picture(patch, value_range=(0, 1)),
                }  # fmt: skip
                for i, v, box, patch in list(
                    zip(top["indices"], top["values"], top["boxes"], top["patches"])
                )[:k]
            ],
        }

    def test_images(self, label: Any = None, limit: Any = 24) -> dict[str, Any]:
        """Test images of one class (or all), misclassified ones first, with predictions."""
        if self.test is None:
            return {"count": 0, "images": []}
        if not isinstance(limit, int) or not 1 <= limit <= 200:
            raise ValueError(f"Expected limit in 1..200; received {limit!r}.")
        labels = self.test[1]
        if label is not None and (not isinstance(label, int) or not 0 <= label < len(self.classes)):
            raise ValueError(f"Expected class in [0, {len(self.classes)}); received {label!r}.")
        with self.lock:
            if self._predictions is None:
                with no_grad():
                    self._predictions = np.concatenate([
                        explain.probabilities(self.model, to_float(self.test[0][i : i + 512]))
                        for i in range(0, len(labels), 512)
                    ])  # fmt: skip
        predicted = self._predictions.argmax(axis=1)
        chosen = np.arange(len(labels)) if label is None else np.flatnonzero(labels == label)
        wrong = predicted[chosen] != labels[chosen]
        order = chosen[np.lexsort((chosen, ~wrong))][:limit]  # misclassified first, then by index
        return {
            "count": int(len(chosen)),
            "misclassified": int(wrong.sum()),
            "images": [
                {
                    "index": int(i),
                    "label": int(labels[i]),
                    "predicted": int(predicted[i]),
                    "correct": bool(predicted[i] == labels[i]),
                    "confidence": float(self._predictions[i].max()),
                    **picture(to_float(self.test[0][i]), value_range=(0, 1)),
                }  # fmt: skip
                for i in order
            ],
        }
