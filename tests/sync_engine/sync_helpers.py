"""Helpers for the blocking engine's tests (imported as ``sync_helpers``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import zmtp.sync as zmq

#: The bound of every wait in these tests (ms): far above what any step needs, far
#: below pytest's own timeout.
TIMEOUT_MS = 10_000
TIMEOUT = TIMEOUT_MS / 1000


def connected_pair(
    ctx: zmq.Context, bind_type: int, connect_type: int, endpoint: str, **options: Any
) -> tuple[zmq.Socket, zmq.Socket]:
    """A socket bound at ``endpoint`` and one connected to it, returned once the
    connecting side's handshake is done (its monitor says so; inproc needs none)."""
    server = ctx.socket(bind_type, **options)
    real = server.bind(endpoint)
    client = ctx.socket(connect_type, **options)
    connect_and_wait(client, real)
    return server, client


def connect_and_wait(sock: zmq.Socket, endpoint: str) -> None:
    """Connect and wait for the handshake (tcp/ipc), bounded by TIMEOUT."""
    if endpoint.startswith("inproc://"):
        sock.connect(endpoint)
        return
    with sock.monitor(zmq.Event.HANDSHAKE_SUCCEEDED) as monitor:
        sock.connect(endpoint)
        monitor.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=TIMEOUT_MS)


def free_tcp_port() -> int:
    """A port nobody listens on right now (for connect-before-bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker(threading.Thread):
    """A thread running ``fn``; ``result()`` joins it (bounded) and returns what
    ``fn`` returned or raises what it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:
            self.error = exc

    def result(self, timeout: float = TIMEOUT) -> Any:
        self.join(timeout)
        assert not self.is_alive(), f"the thread still runs after {timeout} s"
        if self.error is not None:
            raise self.error
        return self.value
