"""Training with Keras conveniences and PyTorch semantics: ``fit``, ``evaluate``, ``predict``.

``fit(model, train, val, epochs=...)`` runs the PyTorch loop (``model.train()``,
``zero_grad``, forward, ``backward``, ``step``; validation in ``model.eval()`` under
``no_grad``) and returns a Keras-style :class:`History`. Callbacks stop early,
write checkpoints and logs; a checkpoint resumes a run bit for bit.

>>> import numpy as np
>>> import convscope
>>> from convscope import nn
>>> from convscope.train import evaluate, fit
>>> convscope.manual_seed(0)
>>> x = np.random.default_rng(0).random((32, 1, 2, 2), dtype=np.float32)
>>> y = (x[:, 0, 0, 0] > 0.5).astype(np.int64)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> history = fit(model, (x, y), epochs=3, batch_size=8, verbose=0)
>>> len(history.history["loss"]), sorted(evaluate(model, (x, y)))
(3, ['accuracy', 'loss', 'num_samples'])
"""

from convscope.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)
from convscope.train.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from convscope.train.evaluation import evaluate, predict, predict_classes
from convscope.train.history import History
from convscope.train.interrupt import stop_on_signals
from convscope.train.loop import Trainer, TrainingInterrupted, fit
from convscope.train.metrics import (
    accuracy,
    confusion_matrix,
    most_confused_pairs,
    per_class_accuracy,
)

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "JSONLogger",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "Trainer",
    "TrainingInterrupted",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load_checkpoint",
    "most_confused_pairs",
    "per_class_accuracy",
    "predict",
    "predict_classes",
    "restore_checkpoint",
    "save_checkpoint",
    "stop_on_signals",
]
