"""The README's fuzzing example finds the bug of its toy decoder, and only because
the decoder has it: the same example with the bug fixed finds nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
[EXAMPLE] = [
    block
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    if "def toy_decode" in block
]
BUG = "if flags == 0x02:"


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_readme_example_finds_the_toy_decoders_bug() -> None:
    done = run(EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("found the bug:")


def test_with_the_bug_fixed_the_example_finds_nothing() -> None:
    assert BUG in EXAMPLE
    done = run(EXAMPLE.replace(BUG, "if flags & 0x02:"))
    assert done.returncode != 0
    assert "the bug went unnoticed" in done.stderr
