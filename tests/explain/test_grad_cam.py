"""Grad-CAM against a direct NumPy computation, and its bilinear resize against PyTorch."""

import numpy as np
import pytest
import torch

import convscope
from convscope import explain, nn


def image(shape=(1, 6, 6)) -> np.ndarray:
    return np.random.default_rng(2).random(shape).astype(np.float32)


def test_grad_cam_of_conv_relu_linear_by_hand():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    x = image()
    activations = nn.capture_outputs(model, x[None])["1"][0]  # (3, 4, 4), after the ReLU
    target = 2
    # score = W[t] · A.flatten() + b, so ∂score/∂A = W[t] reshaped to A's shape.
    grads = model[3].weight.data[target].reshape(3, 4, 4)
    alpha = grads.mean(axis=(1, 2))
    expected = np.maximum((alpha[:, None, None] * activations).sum(axis=0), 0)
    assert explain.default_layer(model, x) == "1"
    np.testing.assert_allclose(
        explain.grad_cam(model, x, target, upsample=False), expected, atol=1e-6
    )
    # Unit (i, j) of a valid 3×3 convolution is centred on input pixel (i + 1, j + 1).
    edge = np.clip(np.arange(6) - 1, 0, 3)
    np.testing.assert_allclose(
        explain.grad_cam(model, x, target), expected[edge][:, edge], atol=1e-6
    )


def test_grad_cam_through_pooling_matches_torch_gradients():
    convscope.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))  # fmt: skip
    model[1].running_mean[...] = [0.1, -0.2, 0.3, 0.0]
    model[1].running_var[...] = [0.5, 1.5, 2.0, 1.0]
    x = image((2, 8, 8))
    t = torch.tensor(x[None], dtype=torch.float64)
    conv = torch.nn.functional.conv2d(
        t, torch.tensor(model[0].weight.data, dtype=torch.float64),
        torch.tensor(model[0].bias.data, dtype=torch.float64), padding=1,
    )  # fmt: skip
    mean = torch.tensor(model[1].running_mean, dtype=torch.float64)[:, None, None]
    var = torch.tensor(model[1].running_var, dtype=torch.float64)[:, None, None]
    activations = torch.relu((conv - mean) / torch.sqrt(var + model[1].eps)).detach()
    activations.requires_grad_(True)
    pooled = torch.nn.functional.max_pool2d(activations, 2).flatten(1)
    score = pooled @ torch.tensor(model[5].weight.data.T, dtype=torch.float64)
    score[0, 1].backward()
    a, g = activations.detach().numpy()[0], activations.grad.numpy()[0]
    expected = np.maximum(np.tensordot(g.mean(axis=(1, 2)), a, axes=1), 0)
    assert explain.default_layer(model, x) == "2"  # conv, then its batch norm and ReLU
    np.testing.assert_allclose(explain.grad_cam(model, x, 1, upsample=False), expected, atol=1e-5)


def test_grad_cam_on_a_chosen_layer_and_bad_layers():
    convscope.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    x = image()
    pre = nn.capture_outputs(model, x[None])["0"][0]
    grads = model[3].weight.data[0].reshape(3, 4, 4) * (pre > 0)  # through the ReLU
    expected = np.maximum(np.tensordot(grads.mean(axis=(1, 2)), pre, axes=1), 0)
    np.testing.assert_allclose(
        explain.grad_cam(model, x, 0, "0", upsample=False), expected, atol=1e-6
    )
    with pytest.raises(
        ValueError, match=r"feature maps \(N, C, H, W\); layer '3' outputs \(1, 5\)"
    ):
        explain.grad_cam(model, x, 0, "3")
    with pytest.raises(ValueError, match="Unknown layer 'nope'"):
        explain.grad_cam(model, x, 0, "nope")
    with pytest.raises(ValueError, match="has none"):
        explain.grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(36, 2)), x, 0)


def interpolate(grid: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """Linear interpolation between unit centres along both axes (np.interp holds the ends)."""
    rows = np.stack(
        [np.interp(np.arange(size), centres, grid[:, j]) for j in range(grid.shape[1])], 1
    )
    return np.stack([np.interp(np.arange(size), centres, rows[i]) for i in range(size)])


def test_upsampled_map_puts_each_unit_at_its_receptive_field_centre():
    convscope.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 2 * 2, 2),
    )  # fmt: skip
    x = image((1, 8, 8))
    small = explain.grad_cam(model, x, 1, upsample=False)  # (2, 2)
    # Layer 4's unit i sees input rows 2i − 1 .. 2i + 6: its centre is row 2i + 2.5.
    expected = interpolate(small, np.array([2.5, 4.5]), 8)
    np.testing.assert_allclose(explain.grad_cam(model, x, 1), expected, atol=1e-6)


@pytest.mark.parametrize("shape,size", [((4, 4), (28, 28)), ((3, 5), (7, 4)), ((6, 6), (3, 3))])
def test_resize_bilinear_matches_torch(shape, size):
    a = np.random.default_rng(0).random(shape)
    expected = torch.nn.functional.interpolate(
        torch.tensor(a)[None, None], size=size, mode="bilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(explain.resize_bilinear(a, size), expected, atol=1e-12)


def test_a_layer_called_twice_is_taken_at_the_named_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)
            self.relu = nn.ReLU()
            self.head = nn.Linear(36, 2)

        def forward(self, x):
            return self.head(self.relu(self.conv(self.relu(self.conv(x)))).flatten(1))

    convscope.manual_seed(3)
    model = Twice()
    x = image()
    second = nn.capture_outputs(model, x[None])["relu#2"][0, 0]  # (6, 6)
    grads = model.head.weight.data[1].reshape(6, 6)  # ∂score/∂(second ReLU output)
    expected = np.maximum(grads.mean() * second, 0)
    got = explain.grad_cam(model, x, 1, "relu#2", upsample=False)
    np.testing.assert_allclose(got, expected, atol=1e-6)
