"""What a trained CNN looks at: attributions and per-unit arithmetic, as plain arrays.

Every function takes ``(model, x, target)`` — or a layer and a unit — and returns NumPy
arrays or dicts of them; nothing here draws (:mod:`convscope.viz.explanations` does)
or knows about the explorer's server.

**Score.** The score of class ``c`` is its *pre-softmax logit*: the model's output
``model(x)[0, c]``, or — when the model ends in a ``Softmax``/``LogSoftmax`` layer —
that layer's input. Saliency and Grad-CAM differentiate the score; occlusion measures
the drop in the class *probability* ``softmax(score)[c]``.

- :func:`saliency` — ``|∂score/∂pixel|`` (Simonyan et al., 2014), SmoothGrad optional;
- :func:`input_gradient` — the signed gradient ``∂score/∂x`` itself;
- :func:`grad_cam` — Grad-CAM (Selvaraju et al., 2017) on the last conv layer by default;
- :func:`occlusion` — the probability drop as a patch slides (Zeiler & Fergus, 2014);
- :func:`max_activating` — the dataset patches a channel responds to most;
- :func:`unit_arithmetic` — the window, kernel, products, sum, bias and activation
  behind one unit (or the pooling window, or a linear layer's largest contributions).

All of them run the model in evaluation mode and leave its training flags and
gradients as they were.

>>> import numpy as np
>>> import convscope
>>> from convscope import explain
>>> from convscope.nn import Conv2d, Flatten, Linear, ReLU, Sequential
>>> convscope.manual_seed(0)
>>> model = Sequential(Conv2d(1, 4, 3), ReLU(), Flatten(), Linear(4 * 6 * 6, 10))
>>> image = np.random.default_rng(0).random((1, 8, 8), dtype=np.float32)
>>> explain.saliency(model, image, target=3).shape, explain.grad_cam(model, image, 3).shape
((8, 8), (8, 8))
>>> unit = explain.unit_arithmetic(model, image, "0", channel=2, row=1, col=4)
>>> bool(np.isclose(unit["computed"], unit["value"], atol=1e-5))
True
"""

from convscope.explain._common import probabilities
from convscope.explain.grad_cam import default_layer, grad_cam, resize_bilinear
from convscope.explain.gradients import input_gradient, saliency
from convscope.explain.max_activating import max_activating
from convscope.explain.occlusion import occlusion, spread
from convscope.explain.unit_arithmetic import unit_arithmetic

__all__ = [
    "default_layer",
    "grad_cam",
    "input_gradient",
    "max_activating",
    "occlusion",
    "probabilities",
    "resize_bilinear",
    "saliency",
    "spread",
    "unit_arithmetic",
]
