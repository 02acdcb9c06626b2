"""``examples/twisted_asyncio.py`` runs: Twisted (on its asyncio reactor) and
zmtp.asyncio sockets share one event loop and call each other."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "twisted_asyncio.py"


@pytest.mark.skipif(
    importlib.util.find_spec("twisted") is None,
    reason="Twisted is not installed here (pip install twisted); CI installs it",
)
def test_the_twisted_example_answers_zeromq_requests_through_twisted() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["HELLO", "TWISTED", "ZEROMQ"]
