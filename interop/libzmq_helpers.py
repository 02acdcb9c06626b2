"""Helpers shared by the interop tests (imported as ``libzmq_helpers``; the fixtures
built on them live in ``conftest.py``).

* :class:`Endpoints` and :func:`free_tcp_port`: fresh tcp or ipc endpoints for a test;
* :func:`join`: link a zmtp socket to libzmq sockets, whichever side binds
  (:data:`ZMTP_BINDS` / :data:`LIBZMQ_BINDS`), and wait for the handshakes;
* :func:`in_thread` and the blocking pyzmq loops it runs (:func:`recv_n`,
  :func:`send_all`, :func:`echo_n`): libzmq never runs on the event loop's thread;
* :func:`python_process` / :func:`ready_process` and :class:`Lines`: a libzmq peer in
  a subprocess, read line by line without blocking the event loop;
* :func:`recv_skipping_pings`: for the sans-IO ``RawPeer`` of ``conftest.py``.

Nothing here sleeps.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import zmq

import zmtp
from zmtp.wire import Ping

HOST = "127.0.0.1"
#: Seconds any single wait may take before a test fails (rather than hangs): a libzmq
#: call in a worker thread (the ``zsock`` fixture's timeouts), a ``RawPeer``'s read.
TIMEOUT = 5.0

Msg = list[bytes]
Process = anyio.abc.Process

ZMTP_BINDS = "zmtp-binds"
LIBZMQ_BINDS = "libzmq-binds"


# ---------------------------------------------------------------------------------------
# Endpoints, and linking zmtp to libzmq


def free_tcp_port() -> int:
    """A port nothing listens on now (for endpoints that must be known before a bind)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Endpoints:
    """Fresh endpoints of one transport (ipc sockets live in the test's ``tmp_path``)."""

    def __init__(self, transport: str, tmp_path: Path) -> None:
        self.transport = transport
        self.dir = tmp_path
        self._n = 0

    def to_bind(self) -> str:
        """An endpoint for ``bind``; over tcp the binder picks the port."""
        return f"tcp://{HOST}:*" if self.transport == "tcp" else self.unused()

    def unused(self) -> str:
        """A concrete endpoint that nobody listens on (yet)."""
        if self.transport == "tcp":
            return f"tcp://{HOST}:{free_tcp_port()}"
        self._n += 1
        return f"ipc://{self.dir}/s{self._n}"


async def join(
    sock: zmtp.Socket,
    peers: Sequence[zmq.Socket],
    binder: str,
    endpoints: Endpoints,
    *,
    in_turn: bool = False,
) -> None:
    """Link ``sock`` to every libzmq socket in ``peers`` (``binder`` binds, the other
    side connects) and wait until zmtp reports each handshake done.

    With ``in_turn``, each handshake is waited for before the next peer is linked, so
    that zmtp knows its peers in the order given; otherwise every peer is linked first
    and the handshakes are waited for together.
    """
    async with sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
        if binder == ZMTP_BINDS:
            endpoint = await sock.bind(endpoints.to_bind())
        for peer in peers:
            if binder == ZMTP_BINDS:
                peer.connect(endpoint)
            else:
                peer.bind(endpoints.to_bind())
                await sock.connect(peer.last_endpoint.decode())
            if in_turn:
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        if not in_turn:
            for _ in peers:
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)


# ---------------------------------------------------------------------------------------
# pyzmq in a worker thread


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking libzmq call in a worker thread (never on the event loop's thread)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


def recv_n(zsocket: zmq.Socket, n: int) -> list[Msg]:
    return [zsocket.recv_multipart() for _ in range(n)]


def send_all(zsocket: zmq.Socket, msgs: Sequence[Msg]) -> None:
    for msg in msgs:
        zsocket.send_multipart(msg)


def echo_n(zsocket: zmq.Socket, n: int) -> None:
    for _ in range(n):
        zsocket.send_multipart(zsocket.recv_multipart())


# ---------------------------------------------------------------------------------------
# A libzmq peer in a process of its own


class Lines:
    """The lines a subprocess prints, read without blocking the event loop."""

    def __init__(self, stream: anyio.abc.ByteReceiveStream) -> None:
        self._stream = stream
        self._buf = bytearray()

    async def next(self) -> str | None:
        """The next complete line, or None at the end of the output."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = self._buf[:end].decode()
                del self._buf[: end + 1]
                return line
            try:
                self._buf += await self._stream.receive(65536)
            except anyio.EndOfStream:
                return None


@contextlib.asynccontextmanager
async def python_process(script: str, *args: object) -> AsyncIterator[Process]:
    """Run the Python ``script`` with ``args`` (as strings), its stdin and stdout piped.
    Killed on exit (if still running), then reaped and its pipes closed."""
    proc = await anyio.open_process(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # the test's own stderr: a failing peer says why
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        with anyio.CancelScope(shield=True):
            await proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    await pipe.aclose()


@contextlib.asynccontextmanager
async def ready_process(script: str, *args: object) -> AsyncIterator[tuple[Process, Lines]]:
    """:func:`python_process` for a script whose first line is ``ready``; yields the
    process and the lines after that one, once it printed it. Killed on exit."""
    async with python_process(script, *args) as proc:
        assert proc.stdout is not None
        lines = Lines(proc.stdout)
        assert await lines.next() == "ready"
        yield proc, lines


# ---------------------------------------------------------------------------------------
# The sans-IO RawPeer of conftest.py


def recv_skipping_pings(peer: Any, timeout: float = TIMEOUT) -> Any:
    """The next event of a ``RawPeer`` that is not a Ping."""
    while True:
        event = peer.recv_event(timeout)
        if not isinstance(event, Ping):
            return event
