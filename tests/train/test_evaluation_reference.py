"""evaluate / run_validation against references computed outside convscope: PyTorch's
cross-entropy on the same logits and a hand count of correct predictions."""

import numpy as np
import pytest
import torch

from convscope import Tensor, nn
from convscope.nn import functional as F
from convscope.train.evaluation import evaluate, run_validation
from convscope.train.inputs import as_loader, resolve_metrics


def _model_and_data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    weight = rng.standard_normal((3, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    model[1].weight.data[...] = weight
    model[1].bias.data[...] = bias
    images = rng.standard_normal((n, 1, 2, 2)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    logits = images.reshape(n, 4) @ weight.T + bias  # (N, 3), by hand
    return model, images, labels, logits


@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 64])
def test_evaluate_loss_and_accuracy_equal_torch_and_a_hand_count(batch_size):
    model, images, labels, logits = _model_and_data()
    expected_loss = torch.nn.functional.cross_entropy(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(labels)
    ).item()
    expected_accuracy = sum(int(np.argmax(row) == y) for row, y in zip(logits, labels)) / 10
    result = evaluate(model, (images, labels), batch_size=batch_size)
    assert result["num_samples"] == 10
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-6)  # uneven batches weighted
    assert result["accuracy"] == pytest.approx(expected_accuracy, abs=1e-12)


def test_run_validation_returns_the_sample_weighted_mean_loss():
    model, images, labels, logits = _model_and_data(n=7, seed=3)
    per_sample = torch.nn.functional.cross_entropy(
        torch.tensor(logits, dtype=torch.float64), torch.tensor(labels), reduction="none"
    ).numpy()
    loader = as_loader((images, labels), 3, shuffle=False)  # batches of 3, 3 and 1
    logs, total, _, _ = run_validation(
        model, loader, lambda out, y: F.cross_entropy(out, Tensor(y)), resolve_metrics(())
    )
    assert total == 7
    assert logs["loss"] == pytest.approx(per_sample.mean(), rel=1e-6)
