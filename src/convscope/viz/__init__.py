"""Pictures that let you see inside a CNN (``convscope.viz``; needs matplotlib).

Every function takes plain NumPy arrays (convscope Tensors work too), returns a
``matplotlib.figure.Figure`` and, given ``save=path``, also writes it as a PNG
atomically. The figure is shown when a Jupyter cell ends with the call; in a script
save it (``save=`` or :func:`save_figure`). Figures are not registered with pyplot, so
there is nothing to close and no backend is chosen for you (see ``viz/_mpl.py``).

- :func:`plot_images`: a dataset preview, titled with class names;
- :func:`plot_filters`: a conv layer's kernels, on a diverging scale centred at 0;
- :func:`plot_feature_maps`: each layer's activations for one input, a row per layer;
- :func:`plot_history`: loss / accuracy / learning-rate curves per epoch;
- :func:`plot_confusion_matrix`: true vs predicted classes, annotated;
- :func:`plot_per_class_accuracy`: a bar per class, overall accuracy as a line;
- :func:`plot_misclassified`: the model's most confident mistakes;
- :func:`save_figure`: write any figure atomically (PNG, SVG, PDF).

matplotlib is imported only when one of these is called, never by ``import convscope``.

>>> from convscope import viz
>>> fig = viz.plot_history({"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.9]})
>>> type(fig).__name__, fig.axes[0].get_xlabel()
('Figure', 'epoch')
"""

from convscope.viz._mpl import save_figure
from convscope.viz.classification import plot_confusion_matrix, plot_per_class_accuracy
from convscope.viz.curves import plot_history
from convscope.viz.feature_maps import plot_feature_maps
from convscope.viz.filters import plot_filters
from convscope.viz.images import plot_images, plot_misclassified

__all__ = [
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_history",
    "plot_images",
    "plot_misclassified",
    "plot_per_class_accuracy",
    "save_figure",
]
