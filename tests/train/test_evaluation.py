"""evaluate / predict: batching gives the single-big-batch result; eval mode; conversions."""

import numpy as np
import pytest

from convscope import nn
from convscope.data import DataLoader, Dataset
from convscope.train import confusion_matrix, evaluate, predict, predict_classes
from convscope.train.evaluation import eval_mode
from train.train_helpers import small_cnn


@pytest.fixture
def model(seeded):
    return small_cnn()


def test_evaluate_batching_equals_one_big_batch(model, data):
    big = evaluate(model, data, batch_size=len(data[1]))
    small = evaluate(model, data, batch_size=7)
    assert small["num_samples"] == big["num_samples"] == 96
    assert small["loss"] == pytest.approx(big["loss"], rel=1e-6)
    assert small["accuracy"] == big["accuracy"]


def test_evaluate_predictions_and_confusion_matrix(model, data):
    result = evaluate(model, data, return_predictions=True, return_confusion_matrix=True)
    x, y = data
    np.testing.assert_array_equal(result["labels"], y)
    np.testing.assert_array_equal(result["predictions"], predict_classes(model, x))
    np.testing.assert_array_equal(
        result["confusion_matrix"], confusion_matrix(y, result["predictions"], num_classes=4)
    )
    assert result["accuracy"] == pytest.approx(np.mean(result["predictions"] == y))


def test_predict_batching_equals_one_big_batch(model, data):
    x, _ = data
    big = predict(model, x, batch_size=len(x))
    small = predict(model, x, batch_size=5)
    assert big.shape == (96, 4) and big.dtype == np.float32
    np.testing.assert_allclose(small, big, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(big.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(predict_classes(model, x, batch_size=5), big.argmax(axis=1))


def test_predict_uses_eval_mode_and_restores_it(model, data):
    x, _ = data
    assert model.training
    a = predict(model, x)
    b = predict(model, x)  # Dropout off: deterministic
    np.testing.assert_array_equal(a, b)
    assert model.training
    with eval_mode(model):
        logits = model(x.astype(np.float32) / 255).data
    np.testing.assert_allclose(predict(model, x, logits=True), logits, rtol=1e-6)


def test_predict_accepts_uint8_float_dataset_and_loader(model, data):
    x, y = data
    expected = predict(model, x)
    np.testing.assert_allclose(predict(model, x.astype(np.float32) / 255), expected, rtol=1e-6)
    np.testing.assert_allclose(predict(model, Dataset(x, y, list("abcd"))), expected, rtol=1e-6)
    np.testing.assert_allclose(
        predict(model, DataLoader((x, y), batch_size=9)), expected, rtol=1e-6
    )
    np.testing.assert_allclose(predict(model, x[:, 0]), expected, rtol=1e-6)  # (N, H, W)


def test_evaluate_with_a_loss_module_or_none(model, data):
    a = evaluate(model, data, loss=nn.CrossEntropyLoss())
    b = evaluate(model, data)
    assert a["loss"] == pytest.approx(b["loss"])
    assert "loss" not in evaluate(model, data, loss=None)


def test_errors(model, data):
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\) or \(N, H, W\); received shape"):
        predict(model, np.zeros((2, 1, 1, 8, 8)))
    with pytest.raises(ValueError, match="`batch_size` must be a positive int; received 0"):
        predict(model, data[0], batch_size=0)
    with pytest.raises(ValueError, match="DataLoader with shuffle=True"):
        predict(model, DataLoader(data, shuffle=True))
    with pytest.raises(ValueError, match="a transform given here would be ignored"):
        evaluate(model, DataLoader(data), transform=lambda x: x)
    with pytest.raises(ValueError, match="no inputs"):
        predict(model, np.zeros((0, 1, 8, 8)))


def _evaluate_peak(n):
    import tracemalloc

    from convscope.random import manual_seed

    manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    y = rng.integers(0, 3, n)
    tracemalloc.start()
    result = evaluate(model, (x, y), return_confusion_matrix=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result["confusion_matrix"].sum() == n
    return peak


def test_evaluating_100000_images_does_not_grow_memory():
    small, large = _evaluate_peak(10_000), _evaluate_peak(100_000)
    # Keeping the outputs would add 1.2 MB of scores and 0.8 MB of labels.
    assert large < small + 500_000, (small, large)
