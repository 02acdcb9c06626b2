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


# -- libzmq (through pyzmq) beside zmtp.asyncio -------------------------------------------

#: Receive and send timeouts of libzmq sockets in tests: no blocking call hangs a test.
TIMEOUT_MS = 5000


def zsocket(zctx: Any, kind: int, **options: Any) -> Any:
    """A pyzmq socket of ``zctx`` with linger 0 and timeouts on its blocking calls."""
    sock = zctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` (a blocking pyzmq call) in a worker thread, awaited."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
