"""``convscope.optim``: optimizers, learning-rate schedules, gradient clipping, weight penalties.

Same names, arguments and arithmetic as ``torch.optim``: a training step is

>>> import numpy as np
>>> from convscope import Tensor
>>> from convscope import optim
>>> w = Tensor(np.array([3.0]), requires_grad=True)
>>> opt = optim.Adam([w], lr=0.5)
>>> for _ in range(50):
...     opt.zero_grad()
...     loss = (w * w).sum()      # minimum at w = 0
...     loss.backward()
...     opt.step()
>>> bool(abs(w.data[0]) < 0.1)
True
"""

from convscope.optim import lr_scheduler
from convscope.optim.adagrad import Adagrad
from convscope.optim.adam import Adam, AdamW
from convscope.optim.clip import clip_grad_norm_, clip_grad_value_
from convscope.optim.optimizer import Optimizer
from convscope.optim.regularization import l1_penalty, l2_penalty
from convscope.optim.rmsprop import RMSprop
from convscope.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "clip_grad_norm_",
    "clip_grad_value_",
    "l1_penalty",
    "l2_penalty",
    "lr_scheduler",
]
