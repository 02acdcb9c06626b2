"""Fixtures for the asyncio engine's own tests.

The test functions are plain functions that run one coroutine on a fresh event loop
with :func:`run`, so they do not depend on an async test plugin:

* ``loop_kind`` (parametrized): ``"asyncio"`` (the default event loop) and
  ``"uvloop"``; where uvloop is not importable its runs skip, saying so;
* ``run(main, timeout=10)``: ``main()`` on a new loop of that kind, bounded (a hang
  fails the test instead of stalling the suite);
* ``zctx``: a pyzmq (libzmq) context for interop tests, destroyed with linger 0.

Nothing here sleeps; tests wait for messages, monitor events and futures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asyncio_helpers import UVLOOP, Runner, new_loop


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    kind = str(request.param)
    if kind == "uvloop" and not UVLOOP:
        pytest.skip("uvloop is not installed here (pip install uvloop); CI installs it")
    return kind


@pytest.fixture
def run(loop_kind: str) -> Runner:
    """``run(main, timeout=10)``: run ``main()`` on a fresh loop of ``loop_kind``."""

    def runner(main: Callable[[], Awaitable[Any]], timeout: float = 10) -> Any:
        loop = new_loop(loop_kind)
        try:
            return loop.run_until_complete(asyncio.wait_for(main(), timeout))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    return runner


@pytest.fixture
def zctx() -> Any:
    """A libzmq context (through pyzmq), destroyed with linger 0 after the test."""
    import zmq

    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)
