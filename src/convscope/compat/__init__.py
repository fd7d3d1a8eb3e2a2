"""Adapters that run code written for other libraries on convscope.

Each adapter maps an old API onto convscope's own ``Tensor``, ``nn.functional`` and
``optim``; none has an engine of its own.

- :mod:`convscope.compat.rbdl`: the CNN part of rb-deeplearning-lib (0.2.x and 1.0.x),
  the package the Chapter 9 problem set was written with.
"""
