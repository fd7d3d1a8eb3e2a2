"""In a real Jupyter kernel a returned figure is displayed exactly once.

Runs only where ``nbclient`` and ``ipykernel`` are installed (they are not test
dependencies); it starts a kernel, so it takes a few seconds.
"""

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "import sys\nfrom convscope import viz\nprint('matplotlib' in sys.modules)",
    "viz.plot_history({'loss': [1.0, 0.5, 0.4]})",
    "fig = viz.plot_filters([[[[1.0, -1.0]]]])",
    "fig",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nviz.plot_history({'loss': [1.0, 0.5]})",
]


def test_returned_figures_display_once_inline():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [
        [(o.output_type, "image/png" in o.get("data", {})) for o in cell.outputs]
        for cell in notebook.cells
    ]
    assert notebook.cells[0].outputs[0].text == "False\n"  # viz imports no matplotlib
    assert outputs[1] == [("execute_result", True)]  # shown once, as the cell's value
    assert outputs[2] == []  # assigned: not shown
    assert outputs[3] == [("execute_result", True)]
    # the caller's pyplot figure is still shown by the inline backend, ours once
    assert outputs[4] == [("execute_result", True), ("display_data", True)]
