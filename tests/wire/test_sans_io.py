"""The sans-IO promise of zmtp.wire (README, "The sans-IO core"; STYLE.md "So, in zmtp").

zmtp.wire is bytes in, events out: importing it must not load trio, and no module
under it may import an I/O or concurrency library, so that tests, fuzzers and
conformance tools can drive the protocol with bytes alone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import zmtp.wire

WIRE_DIR = Path(zmtp.wire.__file__).resolve().parent
FORBIDDEN = {"trio", "socket", "asyncio", "select", "selectors"}


def _wire_modules() -> list[Path]:
    return sorted(WIRE_DIR.rglob("*.py"))


def _imported_top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_importing_zmtp_wire_does_not_load_trio():
    """README "The sans-IO core": ``import zmtp.wire`` never imports trio."""
    result = subprocess.run(
        [sys.executable, "-c", "import zmtp.wire, sys; assert 'trio' not in sys.modules"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_wire_package_has_modules_to_check():
    """README "Project layout": guard for the scan below, which must find the sans-IO
    core's modules (an empty scan would pass vacuously)."""
    names = {p.name for p in _wire_modules()}
    assert {"connection.py", "frames.py", "greeting.py", "plain.py"} <= names


@pytest.mark.parametrize("path", _wire_modules(), ids=lambda p: str(p.relative_to(WIRE_DIR.parent)))
def test_no_wire_module_imports_io_or_concurrency_libraries(path):
    """README "The sans-IO core" / STYLE.md: no module under zmtp/wire imports trio,
    socket, asyncio, select or selectors, even lazily inside a function."""
    assert not _imported_top_level_names(path) & FORBIDDEN
