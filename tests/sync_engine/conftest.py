"""Fixtures for the blocking engine's tests (``zmtp.sync``).

* ``ctx``: a ``zmtp.sync.Context`` whose sockets default to ``linger=0`` and to
  ``rcvtimeo``/``sndtimeo`` of :data:`TIMEOUT_MS`, so that a test that waits for a
  message that never comes fails with ``zmtp.Again`` instead of hanging; destroyed at
  the end of the test.
* ``transport`` (parametrized: tcp, ipc, inproc) and ``endpoint()``: a fresh address
  to bind for that transport each call.
* ``pyctx``: a pyzmq (libzmq) context for the peers of interop tests, destroyed at
  the end.

Helpers that tests import live in ``sync_helpers.py``. Nothing here sleeps: tests
wait for monitor events and messages, each wait bounded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import TIMEOUT_MS

import zmtp.sync as zmq

_names = itertools.count()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context(linger=0, rcvtimeo=TIMEOUT_MS, sndtimeo=TIMEOUT_MS)
    yield context
    context.destroy(linger=0)


@pytest.fixture(params=["tcp", "ipc", "inproc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_endpoint(transport: str, tmp_path: Path) -> str:
    n = next(_names)
    if transport == "inproc":
        return f"inproc://sync-test-{n}"
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    path = f"{tmp_path}/s{n}.sock"
    assert len(path) < 100, f"ipc path too long for AF_UNIX: {path}"
    return f"ipc://{path}"


@pytest.fixture
def endpoint(transport: str, tmp_path: Path) -> Callable[[], str]:
    """``endpoint()`` -> a fresh endpoint to bind (tcp: port ``*``)."""
    return lambda: make_endpoint(transport, tmp_path)


@pytest.fixture
def pyctx() -> Iterator[Any]:
    zmq_lib = pytest.importorskip("zmq", reason="pyzmq is not installed (pip install pyzmq)")
    context = zmq_lib.Context()
    yield context
    context.destroy(linger=0)
