"""evaluate / predict edges against hand computations (mutation survivors of
train/evaluation.py): default batch sizes, transforms on every input kind, Tensor inputs,
batch_size=1, confusion matrices growing past the model's outputs, outputs kept or not,
error messages. The model is one Linear layer with known weights, so the logits are
``x.reshape(N, 4) @ W.T + b`` by hand and the probabilities a NumPy softmax."""

import numpy as np
import pytest

from convscope import Tensor, nn
from convscope.data import DataLoader, Dataset
from convscope.train.evaluation import evaluate, predict, predict_classes, run_validation
from convscope.train.inputs import as_loader, resolve_metrics

W = np.array([[1.0, -2.0, 0.5, 0.0], [0.0, 1.0, -1.0, 2.0], [-1.0, 0.0, 1.0, 1.0]], np.float32)
B = np.array([0.1, -0.2, 0.3], np.float32)


def _model():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    model[1].weight.data[...] = W
    model[1].bias.data[...] = B
    return model


def _images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 2, 2)).astype(np.float32)


def _logits(images):
    x = images.reshape(len(images), 4).astype(np.float64)
    return x @ W.T.astype(np.float64) + B  # (N, 3)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class _BatchSizes(nn.Module):
    """Wraps a model and records the batch size of every forward call."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.sizes = []

    def forward(self, x):
        self.sizes.append(x.shape[0])
        return self.inner(x)


def _negate_last_pixel(batch):
    out = np.array(batch, copy=True)
    out[:, :, 1, 1] = -3 * out[:, :, 1, 1] + 1  # changes the logits, hence the argmax
    return out


# ------------------------------------------------------------------ default batch sizes


def test_evaluate_default_batch_size_is_256():
    images, labels = _images(300), np.zeros(300, np.int64)
    done = []
    evaluate(_model(), (images, labels), progress=done.append)
    assert done == [256, 44]


@pytest.mark.parametrize("fn", [predict, predict_classes])
def test_predict_default_batch_size_is_256(fn):
    model = _BatchSizes(_model())
    fn(model, _images(300))
    assert model.sizes == [256, 44]


def test_predict_batch_size_one_is_allowed():
    images = _images(3)
    model = _BatchSizes(_model())
    np.testing.assert_allclose(
        predict(model, images, batch_size=1), _softmax(_logits(images)), rtol=1e-5
    )
    assert model.sizes == [1, 1, 1]


# ------------------------------------------------------------------ inputs and transforms


def test_predict_accepts_a_tensor():
    images = _images(5)
    np.testing.assert_allclose(
        predict(_model(), Tensor(images)), _softmax(_logits(images)), rtol=1e-5
    )


@pytest.mark.parametrize("kind", ["array", "dataset"])
def test_predict_applies_the_transform(kind):
    images = _images(8, seed=1)
    x = images if kind == "array" else Dataset(images, np.zeros(8, np.int64), list("abc"))
    expected = _softmax(_logits(_negate_last_pixel(images)))
    assert not np.allclose(expected, _softmax(_logits(images)), atol=1e-3)
    np.testing.assert_allclose(
        predict(_model(), x, transform=_negate_last_pixel), expected, rtol=1e-5
    )


def test_predict_classes_applies_the_transform():
    images = _images(40, seed=2)
    expected = _logits(_negate_last_pixel(images)).argmax(axis=1)
    assert (expected != _logits(images).argmax(axis=1)).any()
    got = predict_classes(_model(), images, transform=_negate_last_pixel)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_shuffling_loader_message_names_the_fix():
    with pytest.raises(ValueError, match=r"Pass the Dataset, or a DataLoader with shuffle=False\."):
        predict(_model(), DataLoader((_images(4), np.zeros(4, np.int64)), shuffle=True))


# ------------------------------------------------------------------ confusion matrices


def test_confusion_matrix_grows_when_labels_exceed_the_outputs():
    images = _images(12, seed=3)
    predicted = _logits(images).argmax(axis=1)
    labels = np.array([0, 1, 2, 3, 4, 4, 0, 1, 2, 3, 4, 0])  # classes 3 and 4: no output
    expected = np.zeros((5, 5), np.int64)
    for t, p in zip(labels, predicted):
        expected[t, p] += 1
    for batch_size in (12, 5):  # labels 4 first seen in the first batch / a later one
        cm = evaluate(
            _model(),
            (images, labels),
            batch_size=batch_size,
            loss=None,
            return_confusion_matrix=True,
        )["confusion_matrix"]
        np.testing.assert_array_equal(cm, expected)


def test_confusion_matrix_grows_from_a_later_batch():
    images = _images(6, seed=4)
    predicted = _logits(images).argmax(axis=1)
    labels = np.array([0, 1, 2, 0, 1, 3])  # class 3 appears only in the last batch
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(labels, predicted):
        expected[t, p] += 1
    cm = evaluate(_model(), (images, labels), batch_size=2, loss=None, return_confusion_matrix=True)
    np.testing.assert_array_equal(cm["confusion_matrix"], expected)


# ------------------------------------------------------------------ run_validation


def test_run_validation_keeps_no_outputs_by_default():
    images, labels = _images(4), np.array([0, 1, 2, 0])
    loader = as_loader((images, labels), 3)
    logs, total, outputs, kept = run_validation(_model(), loader, None, resolve_metrics(()))
    assert logs == {} and total == 4
    assert outputs is None and kept is None


def test_run_validation_on_an_empty_loader_says_so():
    with pytest.raises(
        ValueError, match=r"^Cannot evaluate on empty data: the loader yielded no samples\.$"
    ):
        run_validation(_model(), [], None, resolve_metrics(("accuracy",)))


def test_error_messages_in_full():
    loader = DataLoader((_images(4), np.zeros(4, np.int64)), shuffle=True)
    with pytest.raises(ValueError) as info:
        predict(_model(), loader)
    assert str(info.value) == (
        "predict received a DataLoader with shuffle=True: its outputs would not line up with the "
        "data. Pass the Dataset, or a DataLoader with shuffle=False."
    )
    with pytest.raises(ValueError, match=r"^predict received no inputs \(N = 0\)\.$"):
        predict(_model(), np.zeros((0, 1, 2, 2), np.float32))
    with pytest.raises(
        TypeError,
        match=r"^`x` expected a DataLoader, a Dataset, or an \(images, labels\) tuple of arrays; "
        r"received int\.$",
    ):
        predict(_model(), 42)


def test_predict_on_an_iterable_of_plain_batches():
    images = _images(7, seed=5)
    batches = iter([images[:3], images[3:]])  # a loader yielding arrays, not (x, y) pairs
    np.testing.assert_allclose(predict(_model(), batches), _softmax(_logits(images)), rtol=1e-5)
