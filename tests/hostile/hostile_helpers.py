"""Helpers for the hostile-peer suite (imported as ``hostile_helpers``; the fixtures that
build an :class:`Arena` are in ``conftest.py``, which explains how a test uses them).

* :class:`RawPeer`: one raw tcp connection, optionally driven by a sans-IO
  :class:`zmtp.wire.Connection` to complete a real handshake first;
* :func:`greeting`: a 64-octet greeting with any version and mechanism octets;
* :class:`Arena`: the bound zmtp socket under attack, its monitor, its libzmq peer;
* :class:`MemoryProbe`: traced memory (``tracemalloc``) against a baseline.

Nothing here sleeps.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import socket
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import zmq
from engines import pending
from zmq.utils.monitor import parse_monitor_message

import zmtp
from zmtp import Event
from zmtp.wire import NEED_DATA, Connection, ConnectionState, HandshakeComplete, SocketType

HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB
#: Seconds one libzmq call in a worker thread may block.
LIBZMQ_TIMEOUT_MS = 5000

#: Monitor events that end a connection.
CLOSING = (
    Event.HANDSHAKE_FAILED_NO_DETAIL
    | Event.HANDSHAKE_FAILED_PROTOCOL
    | Event.HANDSHAKE_FAILED_AUTH
    | Event.DISCONNECTED
)

#: The event loops whose own allocations a leak check leaves out (their directories).
EVENT_LOOPS = ("trio", "asyncio", "anyio", "uvloop")

#: The libzmq peer that each zmtp socket type serves during the attacks.
PARTNER = {SocketType.PULL: zmq.PUSH, SocketType.ROUTER: zmq.DEALER}


def greeting(major: int = 3, minor: int = 1, mechanism: bytes = b"NULL") -> bytes:
    """A 64-octet greeting in the ZMTP 3 layout (RFC 23 "The Greeting") with any version
    and mechanism octets, valid or not."""
    return b"".join(
        (b"\xff", bytes(8), b"\x7f", bytes((major, minor)), mechanism.ljust(20, b"\0"), bytes(32))
    )


class SocketIO:
    """A non-blocking socket read and written only when the test asks.

    Not an anyio stream: a stream built on an event loop's transport (asyncio's,
    uvloop's) keeps reading in the background into its own buffer, so a peer meant to
    read nothing would drain the kernel and hold all of it in the test's memory. Here
    bytes stay in the kernel until :meth:`receive` is called, on every backend."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self.sock)
                continue
            except OSError as exc:
                raise anyio.BrokenResourceError(str(exc)) from exc
            view = view[n:]

    async def receive(self, max_bytes: int = 65536) -> bytes:
        while True:
            try:
                data = self.sock.recv(max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self.sock)
                continue
            except OSError as exc:
                raise anyio.BrokenResourceError(str(exc)) from exc
            if not data:
                raise anyio.EndOfStream
            return data

    async def aclose(self) -> None:
        self.sock.close()
        await anyio.lowlevel.checkpoint()


class RawPeer:
    """One raw tcp connection to the arena: a byte stream, with an optional sans-IO
    :class:`Connection` for attacks that first complete a real handshake."""

    def __init__(self, stream: SocketIO, conn: Connection | None = None) -> None:
        self.stream = stream
        self.conn = conn

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def handshake(self) -> HandshakeComplete:
        """Send the Connection's greeting and run its handshake to completion."""
        conn = self.conn
        assert conn is not None, "a raw peer without a Connection has no handshake"
        while True:
            if out := conn.data_to_send():
                await self.stream.send(out)
            event = conn.next_event()  # raises the Connection's error, if any
            if isinstance(event, HandshakeComplete):
                return event
            if event is NEED_DATA:
                if conn.state is ConnectionState.CLOSED:
                    raise EOFError("the arena closed the connection during the handshake")
                try:
                    data = await self.stream.receive(65536)
                except anyio.EndOfStream:
                    data = b""
                conn.receive_data(data)

    async def wait_closed(self, keep: int = 4096) -> bytes:
        """Read, bypassing the Connection, until zmtp ends the stream (FIN or RST);
        return the first ``keep`` octets that arrived meanwhile (the rest is dropped
        as it comes, so that draining a full receive buffer costs no memory)."""
        got = bytearray()
        while True:
            try:
                data = await self.stream.receive(16384)
            except (anyio.BrokenResourceError, anyio.EndOfStream):  # reset or FIN
                return bytes(got)
            got += data[: keep - len(got)]

    async def aclose(self) -> None:
        await self.stream.aclose()


class MemoryProbe:
    """Traced Python memory against the baseline taken by :meth:`start`."""

    def __init__(self) -> None:
        self.baseline = 0
        self._started = False

    def start(self) -> None:
        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started = True
        tracemalloc.reset_peak()
        self.baseline = tracemalloc.get_traced_memory()[0]

    def peak(self) -> int:
        """Octets of the highest point since :meth:`start`, above the baseline."""
        return tracemalloc.get_traced_memory()[1] - self.baseline

    def held(self) -> int:
        """Octets still held above the baseline, after a collection."""
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - self.baseline

    def held_outside_the_event_loop(self) -> int:
        """Octets held now (after a collection) by allocations made outside the event
        loop's own files. An event loop prunes expired deadlines from its heap lazily
        (trio keeps up to about 1,000 of them, ~220 B each; asyncio keeps cancelled
        timers until they are half of its heap), so its share wanders by ~220 KiB with
        no leak at all."""
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, f"*/{loop}/*") for loop in EVENT_LOOPS]
        )
        return sum(stat.size for stat in snapshot.statistics("filename"))

    def check(self, bound: int, label: str = "", *, held_bound: int | None = None) -> None:
        """Assert the peak stays under ``bound`` octets above the baseline, and what is
        still held under ``held_bound`` (default: ``bound`` too). Both are printed for
        the record (``pytest -s``)."""
        held_bound = bound if held_bound is None else held_bound
        peak, held = self.peak(), self.held()
        print(
            f"\n[memory] {label}: peak {peak / KIB:.0f} KiB (bound {bound / KIB:.0f}), "
            f"held {held / KIB:.0f} KiB (bound {held_bound / KIB:.0f}) above baseline"
        )
        assert peak < bound, f"peak of {peak} octets above baseline exceeds {bound}"
        assert held < held_bound, f"{held} octets still held above baseline exceed {held_bound}"

    def stop(self) -> None:
        """Stop tracing, unless someone else (``-X tracemalloc``) had started it."""
        if self._started:
            tracemalloc.stop()
            self._started = False


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking libzmq call in a worker thread (never on the event loop's thread)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


class Arena:
    """A bound zmtp socket, its monitor, and its well-behaved libzmq peer."""

    def __init__(self, sock: zmtp.Socket, monitor: zmtp.Monitor, endpoint: str) -> None:
        self.sock = sock
        self.monitor = monitor
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1])
        self.memory = MemoryProbe()
        self.partner: zmq.Socket | None = None
        self.partner_monitor: zmq.Socket | None = None
        #: Every event the monitor delivered to :meth:`closed` and later checks.
        self.seen: list[zmtp.MonitorEvent] = []
        self._attackers: list[RawPeer] = []
        self._served = 0
        self._partner_seen: list[int] = []

    async def attacker(
        self, conn: Connection | None = None, *, rcvbuf: int | None = None
    ) -> RawPeer:
        """A raw tcp connection to the arena (``rcvbuf``: its SO_RCVBUF, set before
        connecting so the window stays small)."""
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        error = sock.connect_ex((HOST, self.port))
        if error == errno.EINPROGRESS:
            await anyio.wait_writable(sock)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            sock.close()
            raise OSError(error, os.strerror(error))
        peer = RawPeer(SocketIO(sock), conn)
        self._attackers.append(peer)
        return peer

    async def closed(self, expected: Event) -> zmtp.MonitorEvent:
        """The first event that ends a connection; it must be of type ``expected``."""
        async for ev in self.monitor:
            self.seen.append(ev)
            if ev.event & CLOSING:
                assert ev.event == expected, f"expected {expected!r}, got {ev}"
                return ev
        raise AssertionError("the monitor stopped before any connection ended")

    async def still_serves_libzmq(self) -> None:
        """A message from the libzmq peer crosses its original connection (and back, for
        a ROUTER); zmtp ended no other connection, libzmq saw none end."""
        assert self.partner is not None
        self._served += 1
        body = b"well-behaved %d" % self._served
        await in_thread(self.partner.send, body)
        if self.sock.type == zmtp.ROUTER:
            rid, got = await self.sock.recv_multipart()
            assert got == body
            await self.sock.send_multipart([rid, b"reply " + body])
            assert await in_thread(self.partner.recv) == b"reply " + body
        else:
            assert await self.sock.recv() == body
        later = await self.pending()
        self.seen += later
        assert not [ev for ev in later if ev.event & (CLOSING | Event.ACCEPTED)], (
            f"zmtp ended or accepted another connection: {later}"
        )
        libzmq = self.partner_events()
        assert zmq.EVENT_DISCONNECTED not in libzmq, "libzmq's connection was dropped"
        assert libzmq.count(zmq.EVENT_HANDSHAKE_SUCCEEDED) <= 1, "libzmq had to reconnect"

    async def pending(self) -> list[zmtp.MonitorEvent]:
        """Events the monitor holds now, taken without waiting for more."""
        return await pending(self.monitor)

    def partner_events(self) -> list[int]:
        """The libzmq peer's monitor events so far (types only)."""
        assert self.partner_monitor is not None
        while self.partner_monitor.poll(0):
            message = self.partner_monitor.recv_multipart()
            self._partner_seen.append(parse_monitor_message(message)["event"])
        return self._partner_seen

    async def aclose_attackers(self) -> None:
        for peer in self._attackers:
            await peer.aclose()


#: ``await make_arena(zmtp.PULL, **options)``: the fixture of ``conftest.py``.
MakeArena = Callable[..., Awaitable[Arena]]
