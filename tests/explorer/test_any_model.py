"""The explorer answers for any model a run can hold: every preset, model files, RGB, other sizes.

Nothing is hard-coded to one architecture: each layer of each model gets its feature
maps and its unit arithmetic (equal to the model's own value), and every explanation
and the filters work.
"""

import numpy as np
import pytest

import convscope
from convscope import nn
from convscope.explain._trace import trace
from convscope.explorer import Explorer
from convscope.models import build_model

MODEL_FILE = """
from convscope import nn

def build_model(num_classes, in_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding="same"), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2), nn.BatchNorm2d(8), nn.Tanh(),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * 3 * 3, num_classes), nn.Softmax(dim=1),
    )
"""


def models(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(MODEL_FILE)
    yield "simple", build_model("simple"), (1, 28, 28)
    yield "lenet5", build_model("lenet5"), (1, 28, 28)
    yield "allconv", build_model("allconv", input_shape=(3, 20, 20)), (3, 20, 20)
    yield "bn", build_model("bn", input_shape=(3, 32, 32)), (3, 32, 32)
    yield "bn digits", build_model("bn", input_shape=(1, 8, 8)), (1, 8, 8)
    yield "model file", build_model(str(path), num_classes=4, input_shape=(1, 16, 16)), (1, 16, 16)


def test_every_layer_of_every_model(tmp_path):
    convscope.manual_seed(0)
    for name, model, shape in models(tmp_path):
        classes = [f"c{i}" for i in range(model.eval()(np.zeros((1, *shape), np.float32)).shape[1])]
        rng = np.random.default_rng(0)
        test = (rng.integers(0, 256, (20, *shape), dtype=np.uint8), np.arange(20) % len(classes))
        explorer = Explorer(model, classes, shape, test, name)
        image = explorer.parse_input({"test": 3})
        forward = explorer.forward(image)
        calls = trace(model, image[None])
        assert [layer["shape"] for layer in forward["layers"]] == [
            list(c.output.shape[1:]) for c in calls
        ], name
        for call in calls:
            out = call.output.shape
            unit = (out[1] - 1, out[2] // 2, out[3] - 1) if len(out) == 4 else (out[1] - 1, 0, 0)
            answer = explorer.unit(image, call.name, *unit)
            assert np.isclose(answer["computed"], answer["value"], atol=1e-4), (name, call.name)
        for method in ("saliency", "smoothgrad", "grad_cam", "occlusion"):
            heat = explorer.explanation(image, method, len(classes) - 1)["map"]
            assert heat["shape"] == list(shape[1:]), (name, method)
        convs = [c for c in calls if isinstance(c.module, nn.Conv2d)]
        assert [f["layer"] for f in explorer.filters()] == [c.name for c in convs]
        top = explorer.max_activating(convs[-1].name, 0, k=3)
        assert len(top["patches"]) == 3 and top["patches"][0]["shape"][0] == shape[0]
        assert explorer.test_images(None, 5)["count"] == 20


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_drawings_for_any_input_shape(shape):
    convscope.manual_seed(0)
    model = build_model("bn", input_shape=shape)
    explorer = Explorer(model, [str(i) for i in range(10)], shape)
    canvas = np.zeros((100, 100), np.uint8)
    canvas[20:80, 45:55] = 255
    import base64

    result = explorer.drawing(100, 100, base64.b64encode(canvas.tobytes()).decode())
    assert result["input"]["shape"] == list(shape)
    assert result["image"]["shape"] == list(shape)
    assert len(result["probabilities"]) == 10


def test_a_run_trained_on_an_rgb_image_folder(tmp_path):
    from PIL import Image

    from convscope import runs

    rng = np.random.default_rng(0)
    for name, channel in (("red", 0), ("blue", 2)):
        (tmp_path / "shapes" / name).mkdir(parents=True)
        for i in range(10):
            pixels = rng.integers(0, 60, (20, 24, 3), dtype=np.uint8)
            pixels[4:16, 6:18, channel] = 250
            Image.fromarray(pixels).save(tmp_path / "shapes" / name / f"{i}.png")
    config = runs.TrainConfig(dataset=str(tmp_path / "shapes"), model="simple", epochs=1,
                              batch_size=8, val_fraction=0.0)  # fmt: skip
    run_dir = runs.train_run(config, tmp_path / "run", verbose=0, report=False)
    explorer = Explorer.from_run(run_dir)
    assert explorer.input_shape == (3, 20, 24) and explorer.classes == ["blue", "red"]
    image = explorer.parse_input({"test": 0})
    assert explorer.forward(image)["image"]["shape"] == [3, 20, 24]
    unit = explorer.unit(image, "0", 5, 3, 4)
    assert unit["previous"]["channels"] == [0, 1, 2] and np.shape(unit["window"]) == (3, 3, 3)
    assert np.isclose(unit["computed"], unit["value"], atol=1e-5)
