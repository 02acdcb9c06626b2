"""Fixtures for driving a sans-IO :class:`zmtp.wire.Connection` against real libzmq peers.

There is no async engine here on purpose: a :class:`RawPeer` is a plain *blocking*
Python socket glued to a Connection, so a test reads top to bottom like the wire
exchange it checks. libzmq runs in its own I/O threads behind pyzmq.

Nothing in these fixtures can hang:

* every raw socket has a timeout, and :meth:`RawPeer.recv_event` waits at most
  ``timeout`` seconds in total, in short slices;
* every pyzmq socket has ``linger=0`` and ``RCVTIMEO``/``SNDTIMEO``;
* the pyzmq Context is destroyed at teardown (which closes any socket still open, so
  a test that forgets one cannot block ``zmq_ctx_term``);
* nothing sleeps: tests wait on data, on libzmq's socket monitor, or on EOF.

One libzmq quirk shapes :class:`RawPeer`: a *bound* libzmq socket attaches a new
peer's pipe only when the application thread touches the socket (``recv``, ``poll``,
``getsockopt(EVENTS)``). A bound SUB, for instance, sends its subscriptions only
then. So while a RawPeer waits for bytes it "pokes" its libzmq socket between slices.

The tests of zmtp's engines against libzmq share the fixtures at the end:
``zctx``/``zmtp_socket`` (sockets of the engine under test: each such test runs once per
enabled engine, see ``tests/engines.py``), ``transport``/``endpoints`` (tcp and ipc),
``binder`` (who binds) and ``task_group``; their plain helpers (``join``,
``in_thread``, ...) are in ``libzmq_helpers.py``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest
import zmq
from engines import Engine
from libzmq_helpers import HOST, LIBZMQ_BINDS, TIMEOUT, ZMTP_BINDS, Endpoints
from zmq.utils.monitor import recv_monitor_message

import zmtp
from zmtp.wire import NEED_DATA, Connection, ConnectionState, Event, HandshakeComplete, Message

#: Length of one blocking recv between pokes of the libzmq socket.
SLICE = 0.05


class RawPeer:
    """A blocking TCP socket driven by a :class:`Connection`.

    ``received`` keeps every octet read through the ordinary ``recv`` path (large
    frame bodies read in place with ``recv_into`` are not copied there), and
    ``protocol_sent`` every chunk the Connection itself asked to send (greeting,
    handshake commands, PONG, ERROR), so tests can check what went on the wire.
    """

    def __init__(
        self,
        sock: socket.socket,
        conn: Connection,
        *,
        poke: Callable[[], object] = lambda: None,
        recv_into: bool = True,
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.poke = poke
        self.recv_into = recv_into
        #: When False, what the Connection wants sent (PONGs, ...) is dropped, to
        #: simulate a peer that stopped answering.
        self.answer = True
        self.received = bytearray()
        self.protocol_sent: list[bytes] = []
        sock.settimeout(TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- output ------------------------------------------------------------------------

    def flush(self) -> None:
        """Write whatever the Connection queued (greeting, handshake, PONG, ERROR)."""
        data = self.conn.data_to_send()
        if not data:
            return
        if not self.answer:
            return
        self.protocol_sent.append(data)
        self.sock.settimeout(TIMEOUT)
        try:
            self.sock.sendall(data)
        except OSError:
            # A peer that refused us may already have reset the connection; the
            # ERROR we owed it is then moot, and the test judges the refusal.
            if self.conn.error is None:
                raise

    def send(self, data: bytes) -> None:
        self.sock.settimeout(TIMEOUT)
        self.sock.sendall(data)

    def send_message(self, frames: Sequence[bytes]) -> None:
        self.send(self.conn.send_message(frames))

    # -- input -------------------------------------------------------------------------

    def _pump(self, deadline: float) -> None:
        """Read once (at most one slice), feed the Connection, flush its replies."""
        self.flush()
        self.sock.settimeout(max(0.001, min(SLICE, deadline - time.monotonic())))
        view = self.conn.body_buffer() if self.recv_into else None
        try:
            if view is not None:
                n = self.sock.recv_into(view)
                if n:
                    self.conn.body_received(n)
                else:
                    self.conn.receive_data(b"")
            else:
                data = self.sock.recv(65536)
                self.received += data
                self.conn.receive_data(data)
        except TimeoutError:
            self.poke()
            return
        self.flush()

    def recv_event(self, timeout: float = TIMEOUT) -> Event:
        """The Connection's next event, reading from the socket as needed.

        Raises the Connection's :class:`ProtocolError` once every event before it was
        returned (its ERROR reply, if any, has been flushed by then), ``EOFError``
        after the ConnectionClosed event, and ``TimeoutError`` when nothing happens
        for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self.conn.next_event()
            if event is not NEED_DATA:
                assert isinstance(event, Event)
                return event
            if self.conn.state is ConnectionState.CLOSED:
                raise EOFError("the peer closed the connection; no further events")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no event within {timeout} s (connection state {self.conn.state.value})"
                )
            self._pump(deadline)

    def recv_message(self, timeout: float = TIMEOUT) -> list[bytes]:
        """The next event, which must be a message; returns its frames."""
        event = self.recv_event(timeout)
        assert isinstance(event, Message), f"expected a message, got {event!r}"
        return list(event)

    def handshake(self, timeout: float = TIMEOUT) -> HandshakeComplete:
        """Send our greeting and run the handshake to completion.

        Events before :class:`HandshakeComplete` (the peer's greeting) are dropped;
        a refused handshake raises the Connection's error.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self.recv_event(max(0.0, deadline - time.monotonic()))
            if isinstance(event, HandshakeComplete):
                return event

    def wait_closed(self, timeout: float = TIMEOUT) -> bytes:
        """Read the raw socket, bypassing the Connection, until the peer closes it.

        Returns what arrived meanwhile; a reset counts as closed. ``TimeoutError``
        if the peer keeps the connection open for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        got = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"peer kept the connection open for {timeout} s")
            self.sock.settimeout(min(SLICE, remaining))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                self.poke()
                continue
            except ConnectionResetError:
                return bytes(got)
            if not data:
                return bytes(got)
            got += data

    def close(self) -> None:
        self.sock.close()


class Monitor:
    """libzmq's own account of its connections, from its socket monitor."""

    def __init__(self, zsocket: zmq.Socket, events: int = zmq.EVENT_ALL) -> None:
        self.sock = zsocket.get_monitor_socket(events)
        self.seen: list[dict] = []

    def wait_for(self, *wanted: int, timeout: float = TIMEOUT) -> dict:
        """The first event (new or already seen) whose type is in ``wanted``."""
        for event in self.seen:
            if event["event"] in wanted:
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not self.sock.poll(remaining_ms):
                names = [zmq.Event(w).name for w in wanted]
                raise TimeoutError(f"no monitor event in {names}; libzmq reported {self.names}")
            event = recv_monitor_message(self.sock)
            self.seen.append(event)
            if event["event"] in wanted:
                return event

    @property
    def names(self) -> list[str]:
        return [zmq.Event(e["event"]).name for e in self.seen]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    """A private pyzmq Context, destroyed (every socket closed, then terminated) after
    the test."""
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


ZsockFactory = Callable[..., zmq.Socket]


@pytest.fixture
def zsock(ctx: zmq.Context) -> ZsockFactory:
    """Make a libzmq socket: ``zsock(zmq.PUSH, routing_id=b"x", heartbeat_ivl=100)``.

    Options are pyzmq attribute names; every socket gets linger 0 and 5 s send and
    receive timeouts so no call can block a test for good.
    """

    def make(socket_type: int, **options: object) -> zmq.Socket:
        s = ctx.socket(socket_type)
        s.linger = 0
        s.rcvtimeo = int(TIMEOUT * 1000)
        s.sndtimeo = int(TIMEOUT * 1000)
        for name, value in options.items():
            setattr(s, name, value)
        return s

    return make


@pytest.fixture
def monitor() -> Callable[[zmq.Socket], Monitor]:
    """``monitor(zsocket)``: start libzmq's socket monitor (before bind/connect)."""
    return Monitor


@pytest.fixture
def zap(ctx: zmq.Context) -> Iterator[None]:
    """A ZAP handler on ``ctx`` accepting PLAIN user ``admin`` with password ``secret``.

    libzmq 4.3.5's PLAIN server refuses every client when no ZAP handler runs.
    """
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        yield
    finally:
        auth.stop()


LinkFactory = Callable[..., RawPeer]


@pytest.fixture(params=["libzmq-binds", "libzmq-connects"])
def link(request: pytest.FixtureRequest) -> Iterator[LinkFactory]:
    """``link(zsocket, conn)``: a RawPeer for ``conn`` over TCP to ``zsocket``.

    Parametrized over both directions: libzmq binds and our raw socket connects, or
    our raw socket listens and libzmq connects (accepted here with a timeout).
    """
    opened: list[socket.socket | RawPeer] = []

    def make(zsocket: zmq.Socket, conn: Connection, *, recv_into: bool = True) -> RawPeer:
        if request.param == "libzmq-binds":
            port = zsocket.bind_to_random_port(f"tcp://{HOST}")
            sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        else:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            opened.append(listener)
            listener.settimeout(TIMEOUT)
            listener.bind((HOST, 0))
            listener.listen(1)
            zsocket.connect(f"tcp://{HOST}:{listener.getsockname()[1]}")
            sock, _ = listener.accept()
        peer = RawPeer(
            sock,
            conn,
            poke=lambda: zsocket.getsockopt(zmq.EVENTS),
            recv_into=recv_into,
        )
        opened.append(peer)
        return peer

    yield make
    for item in opened:
        item.close()


# ---------------------------------------------------------------------------------------
# zmtp's engines against libzmq


@pytest.fixture(params=["tcp", "ipc"])
def transport(request: pytest.FixtureRequest) -> str:
    """tcp or ipc (a module whose tests run over other transports overrides this)."""
    return str(request.param)


@pytest.fixture
def endpoints(transport: str, tmp_path: Path) -> Endpoints:
    """Fresh endpoints of the test's ``transport``."""
    return Endpoints(transport, tmp_path)


@pytest.fixture(params=[ZMTP_BINDS, LIBZMQ_BINDS])
def binder(request: pytest.FixtureRequest) -> str:
    """Which side binds: zmtp or libzmq (see :func:`libzmq_helpers.join`)."""
    return str(request.param)


@pytest.fixture
async def zctx(engine: Engine) -> AsyncIterator[zmtp.Context]:
    """An entered context of the engine under test; closed after the test."""
    async with engine.Context() as context:
        yield context


@pytest.fixture
def zmtp_socket(zctx: zmtp.Context) -> Callable[..., zmtp.Socket]:
    """``zmtp_socket(zmtp.PUSH, sndhwm=10)``: a zmtp socket with ``linger=0``, so that
    closing it never waits on a peer that stopped reading."""

    def make(socket_type: zmtp.SocketType, **options: Any) -> zmtp.Socket:
        options.setdefault("linger", 0)
        return zctx.socket(socket_type, **options)

    return make


@pytest.fixture
async def task_group(engine: Engine) -> AsyncIterator[anyio.abc.TaskGroup]:
    """A task group for the test's background tasks, cancelled after the test."""
    async with anyio.create_task_group() as tg:
        yield tg
        tg.cancel_scope.cancel()
