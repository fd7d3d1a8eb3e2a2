"""examples/chapter9_problem_set.ipynb: stored without outputs, and it runs (small size)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "chapter9_problem_set.ipynb"


def _runner():
    """scripts/run_notebook.py, the runner `make notebook` uses."""
    spec = importlib.util.spec_from_file_location(
        "run_notebook", ROOT / "scripts" / "run_notebook.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None]
    assert not dirty, f"code cells {dirty} were committed with outputs: clear them first"
    assert "parameters" in code[0].metadata.get("tags", [])


def test_notebook_executes_on_a_small_subset(tmp_path):
    executed = _runner().execute(NOTEBOOK, size="small", output_dir=tmp_path)
    assert (tmp_path / NOTEBOOK.name).is_file()
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "size=small" in text
    assert "matches the golden output" in text
    assert "adapter agreed on all 16 comparisons" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # curves, filters, maps
