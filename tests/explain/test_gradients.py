"""Saliency is the input gradient of the score, checked by central differences in float64."""

import numpy as np
import pytest

import convscope
from convscope import explain, nn
from convscope.random import generator
from convscope.tensor import no_grad


def small_model(*tail: nn.Module) -> nn.Sequential:
    convscope.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(3 * 3 * 3, 4), *tail,
    ).double()  # fmt: skip


def image(shape=(2, 6, 6), dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(1).random(shape).astype(dtype)


def numeric_gradient(model: nn.Module, x: np.ndarray, target: int, h: float = 1e-6) -> np.ndarray:
    """(score(x + h·e) − score(x − h·e)) / 2h for every input element e, with plain forwards."""
    model.eval()
    grad = np.zeros_like(x)
    with no_grad():
        for idx in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[idx] += h
            down[idx] -= h
            grad[idx] = (model(up[None]).data[0, target] - model(down[None]).data[0, target]) / (
                2 * h
            )
    return grad


@pytest.mark.parametrize("target", [0, 3])
def test_input_gradient_matches_central_differences(target):
    model, x = small_model(), image()
    np.testing.assert_allclose(
        explain.input_gradient(model, x, target), numeric_gradient(model, x, target), atol=1e-8
    )


def test_saliency_is_the_largest_absolute_gradient_over_channels():
    model, x = small_model(), image()
    expected = np.abs(numeric_gradient(model, x, 2)).max(axis=0)
    np.testing.assert_allclose(explain.saliency(model, x, 2), expected, atol=1e-8)


def test_score_is_the_logit_before_a_final_softmax():
    x = image()
    plain = explain.input_gradient(small_model(), x, 1)
    for tail in (nn.Softmax(dim=1), nn.LogSoftmax(dim=1)):
        np.testing.assert_allclose(explain.input_gradient(small_model(tail), x, 1), plain)


def test_smoothgrad_averages_the_saliency_of_noisy_copies():
    model, x = small_model(), image()
    convscope.manual_seed(5)
    draws = generator().standard_normal((4, *x.shape))
    sigma = 0.2 * (x.max() - x.min())
    expected = np.mean(
        [np.abs(numeric_gradient(model, x + sigma * d, 0)).max(axis=0) for d in draws], axis=0
    )
    convscope.manual_seed(5)
    got = explain.saliency(model, x, 0, smooth_samples=4, noise=0.2)
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_explaining_leaves_the_model_as_it_was():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Dropout(0.5),
                          nn.Flatten(), nn.Linear(2 * 4 * 4, 3))  # fmt: skip
    model.train()
    stats = model[1].running_mean.copy()
    x = image((1, 6, 6), np.float32)
    first = explain.saliency(model, x, 1)
    np.testing.assert_array_equal(explain.saliency(model, x, 1), first)  # dropout was off
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    np.testing.assert_array_equal(model[1].running_mean, stats)


def test_float32_in_float32_out():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    assert explain.saliency(model, image((1, 6, 6), np.float32), 0).dtype == np.float32
    assert explain.saliency(model, (image((1, 6, 6)) * 255).astype(np.uint8), 0).dtype == np.float32


def test_bad_input_and_target_are_named():
    model = small_model()
    with pytest.raises(
        ValueError, match=r"target to be a class index in \[0, 4\); received target=4"
    ):
        explain.saliency(model, image(), 4)
    with pytest.raises(ValueError, match=r"one image of shape \(C, H, W\).*\(2, 2, 6, 6\)"):
        explain.saliency(model, image((2, 2, 6, 6)), 0)
    with pytest.raises(ValueError, match="smooth_samples"):
        explain.saliency(model, image(), 0, smooth_samples=-1)
