"""Helpers for the asyncio engine's tests (imported as ``asyncio_helpers``; the
fixtures built on them are in ``conftest.py``)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from typing import Any

#: True where uvloop can be imported.
UVLOOP = importlib.util.find_spec("uvloop") is not None

#: ``run(main, timeout=10)``: the ``run`` fixture.
Runner = Callable[..., Any]


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new event loop: ``"asyncio"`` (the default loop) or ``"uvloop"``."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
