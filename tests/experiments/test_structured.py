"""§9.6: the fully convolutional classifier equals the classifier on a 28×28 image."""

import numpy as np

import convscope
from convscope.experiments import structured
from convscope.models import build_model
from convscope.tensor import Tensor, no_grad


def test_fully_convolutional_equals_classifier_on_crops():
    convscope.manual_seed(3)
    model = build_model("lenet5").eval()
    fcn = structured.fully_convolutional(model)
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    with no_grad():
        np.testing.assert_allclose(fcn(Tensor(x)).numpy()[:, :, 0, 0], model(Tensor(x)).numpy(),
                                   atol=1e-5)  # fmt: skip
        assert fcn(Tensor(np.zeros((1, 1, 60, 44), np.float32))).shape == (1, 10, 9, 5)


def test_class_map():
    r = structured.class_map("smoke")
    assert r.map_size == (8, 8) and r.map_stride == 4
    assert r.single_image_difference < 1e-4
    assert len(r.example_map) == 8 and len(r.example_digits) == 4
    assert r.figure is not None
