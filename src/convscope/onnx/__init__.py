"""Models in and out of convscope as ONNX graphs: :func:`export` and :func:`load`.

``export(model, example_input, path)`` writes a convscope model (opset 21) that
onnxruntime runs with the same logits; ``load(path)`` builds a convscope
``Sequential`` from an ONNX graph — one convscope exported, or one PyTorch's
exporter wrote — so convscope's summary, report and explorer can inspect it.
Each direction is driven by one table (:data:`~convscope.onnx.export.EXPORTERS`,
:data:`~convscope.onnx.importer.IMPORTERS`). The ``onnx`` package is imported
only when these functions run: ``pip install 'convscope[onnx]'``.
"""

from convscope.onnx.export import EXPORTERS, OPSET, ONNXExportError, export
from convscope.onnx.importer import IMPORTERS, ONNXImportError, load

__all__ = [
    "EXPORTERS",
    "IMPORTERS",
    "ONNXExportError",
    "ONNXImportError",
    "OPSET",
    "export",
    "load",
]
