"""Execute a notebook with a kernel of *this* Python (the venv's ipykernel), no global state.

The kernelspec is written to a temporary folder, so nothing is installed into the user's
Jupyter directories and a fresh machine needs only the packages of the test extra.
The notebook reads its size from ``CONVSCOPE_NOTEBOOK_SIZE`` (``small`` in CI, ``full``
otherwise), which the kernel gets through its spec.

    .venv/bin/python scripts/run_notebook.py examples/chapter9_problem_set.ipynb \
        --size full --output-dir build/notebooks

Used by ``make notebook`` and by ``tests/examples/test_notebook.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "convscope-venv"


def _write_kernelspec(folder: Path, size: str) -> None:
    spec = folder / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "convscope (venv)",
                "language": "python",
                "env": {"CONVSCOPE_NOTEBOOK_SIZE": size, "MPLBACKEND": "agg"},
            }
        )
    )


def execute(
    path: str | Path, size: str = "small", output_dir: str | Path | None = None, timeout: int = 600
):
    """Run every cell of the notebook at ``path``; return the executed notebook.

    Args:
        path: the ``.ipynb`` file (it is not modified).
        size: ``"small"`` or ``"full"``, passed to the notebook as ``CONVSCOPE_NOTEBOOK_SIZE``.
        output_dir: also write the executed copy there (same file name), atomically.
        timeout: seconds allowed per cell.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised; the message shows which.
    """
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    from convscope.io import atomic_write

    if size not in ("small", "full"):
        raise ValueError(f"execute expected size='small' or size='full'; received size={size!r}.")
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as kernels:
        _write_kernelspec(Path(kernels), size)
        manager = KernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels])
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=timeout,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        client.execute()
    if output_dir is not None:
        target = Path(output_dir) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, "w") as f:
            nbformat.write(notebook, f)
        print(f"executed notebook written to {target}")
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--size", choices=("small", "full"), default="full")
    parser.add_argument("--output-dir", default="build/notebooks")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    execute(args.notebook, args.size, args.output_dir, args.timeout)


if __name__ == "__main__":
    main()
