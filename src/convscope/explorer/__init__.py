"""``convscope explore RUN``: a local web page to look inside a trained CNN.

Draw a digit, upload an image or pick a test image; see every layer's feature maps and
the class probabilities; click any unit for its receptive field and its arithmetic
with the real numbers; overlay saliency, Grad-CAM or occlusion for any class; browse
each conv layer's kernels and the test patches that excite each channel most.

The page is static files shipped in this package (no CDN: it works offline), drawn by
one small ES module per view; every number comes from convscope's own forward and
backward passes in Python (:mod:`convscope.explain`, :mod:`convscope.nn`) through
:mod:`convscope.explorer.server`'s JSON routes.
"""

from convscope.explorer.server import make_server, serve
from convscope.explorer.session import Explorer

__all__ = ["Explorer", "make_server", "serve"]
