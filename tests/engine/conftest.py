"""Fixtures for the engine tests: sockets of an entered Context, endpoints per transport,
and helpers that wait for connections with the monitor instead of sleeping.

Every test here runs once per enabled engine (the ``engine`` fixture of
``tests/engines.py``), its body on that engine's event loop through anyio.

* ``ctx``: an entered context of the engine under test (its sockets run without their
  own ``async with``); ``make(type, **options)`` makes a socket of it with ``linger=0``
  unless told otherwise, so a test that leaves messages queued to a peer that never
  reads cannot hang its teardown.
* ``transport`` (parametrized: inproc, tcp, ipc) and ``endpoint()``: a fresh address to
  bind for that transport each call (``tcp://127.0.0.1:*``, a socket file under
  ``tmp_path``, a unique inproc name); ``fixed_endpoint()`` also gives tcp a concrete
  port, for connect-before-bind.

The helpers that tests call directly live in ``engine_helpers.py``.
Nothing here sleeps; every wait is for a monitor event or a message.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from engines import Engine

import zmtp

TRANSPORTS = ["inproc", "tcp", "ipc"]

_names = itertools.count()


def free_tcp_port() -> int:
    """A port nobody listens on right now (for connect-before-bind over tcp)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_endpoint(transport: str, tmp_path: Path, *, concrete: bool = False) -> str:
    n = next(_names)
    if transport == "inproc":
        return f"inproc://engine-test-{n}"
    if transport == "tcp":
        return f"tcp://127.0.0.1:{free_tcp_port()}" if concrete else "tcp://127.0.0.1:*"
    path = f"{tmp_path}/s{n}.sock"
    assert len(path) < 100, f"ipc path too long for AF_UNIX: {path}"
    return f"ipc://{path}"


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def endpoint(transport: str, tmp_path: Path) -> Callable[[], str]:
    """``endpoint()`` -> a fresh endpoint to bind (tcp: port ``*``)."""
    return lambda: make_endpoint(transport, tmp_path)


@pytest.fixture
def fixed_endpoint(transport: str, tmp_path: Path) -> Callable[[], str]:
    """``fixed_endpoint()`` -> a fresh endpoint that a connect can name before the bind."""
    return lambda: make_endpoint(transport, tmp_path, concrete=True)


@pytest.fixture
async def ctx(engine: Engine) -> AsyncIterator[zmtp.Context]:
    async with engine.Context() as context:
        yield context


@pytest.fixture
async def make(ctx: zmtp.Context) -> AsyncIterator[Callable[..., zmtp.Socket]]:
    """``make(zmtp.PUSH, sndhwm=5)`` -> a running socket of ``ctx`` (linger 0 by default)."""
    made: list[zmtp.Socket] = []

    def socket_of(socket_type: Any, **options: Any) -> zmtp.Socket:
        options.setdefault("linger", 0)
        sock = ctx.socket(socket_type, **options)
        made.append(sock)
        return sock

    yield socket_of
    with anyio.fail_after(5):
        for sock in made:
            await sock.close(linger=0)  # a peer that never reads cannot hang the teardown
