"""The README's Python examples run, and print exactly what their comments show."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def expected_output(block: str) -> str:
    """The comment lines that directly follow each print(...) call, without their '# '."""
    lines, out, in_output = block.splitlines(), [], False
    for line in lines:
        if line.startswith("print("):
            in_output = True
        elif in_output and line.startswith("# "):
            out.append(line[2:])
        else:
            in_output = False
    return "\n".join(out)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example(block: str) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(block, str(README), "exec"), {})
    printed = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
    assert printed == expected_output(block)
