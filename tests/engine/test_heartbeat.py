"""Connection heartbeating (RFC 37 "Connection Heartbeating", libzmq's options).

* ``heartbeat_ivl`` ms: send a PING to each ZMTP 3.1 peer every interval; the PING's TTL
  is ``heartbeat_ttl`` in tenths of a second (libzmq divides by 100 and rounds down);
* ``heartbeat_timeout`` ms (default: the interval): after a PING, any traffic from the
  peer proves it alive; none within the timeout drops the connection, and a connecting
  socket then reconnects;
* a peer's PING with a TTL asks us to drop the connection when no traffic of its own
  follows within the TTL; every PING is answered with a PONG echoing its context;
* a ZMTP 3.0 peer knows no PING, so none is sent to it.

Sockets come from the ``make`` fixture (``conftest.py``). The far end of each
connection is a :class:`RawPeer`: a TCP stream driven by the sans-IO
:class:`zmtp.wire.Connection`, which shows the PINGs and PONGs themselves and can stop
answering (or stop talking altogether) on demand.

Nothing sleeps to synchronise: tests wait for PINGs, PONGs, messages and monitor
events. The senders that prove "any traffic counts" are paced on purpose (marked
``# pacing``), and the times measured with ``anyio.current_time()`` only bound when a
drop may happen (never before the rule allows it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import pytest
from engines import CLOCK_GRAIN, pending

import zmtp
from zmtp import Event
from zmtp.wire import (
    NEED_DATA,
    Connection,
    ConnectionClosed,
    ConnectionState,
    HandshakeComplete,
    Message,
    Ping,
    Pong,
    SocketType,
)
from zmtp.wire.commands import encode_ping

#: Seconds any one test may take.
TIMEOUT = 5
#: A heartbeat interval short enough for quick tests, long enough for a busy CI box.
IVL = 50
#: Extra seconds a drop may take beyond what the rule allows (scheduling on 2 cores).
SLACK = 0.5

BIND = "tcp://127.0.0.1:*"


class RawPeer:
    """The far end of one tcp connection as bytes: a stream and a Connection.

    ``answer = False`` drops what the Connection wants sent (PONGs), as a peer that
    stopped answering; a peer that stops calling :meth:`next_event` stops reading too.
    """

    def __init__(self, stream: anyio.abc.SocketStream, conn: Connection) -> None:
        self.stream = stream
        self.conn = conn
        self.answer = True

    @classmethod
    async def connect(cls, endpoint: str, conn: Connection) -> RawPeer:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        peer = cls(await anyio.connect_tcp(host, int(port)), conn)
        await peer.flush()
        return peer

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.answer:
            await self.stream.send(data)

    async def next_event(self) -> Any:
        """The Connection's next event, reading as needed (ConnectionClosed at EOF)."""
        while True:
            event = self.conn.next_event()
            if event is not NEED_DATA:
                return event
            if self.conn.state is ConnectionState.CLOSED:
                raise EOFError("the peer's stream ended")
            try:
                data = await self.stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            self.conn.receive_data(data)
            await self.flush()

    async def handshake(self) -> HandshakeComplete:
        while True:
            event = await self.next_event()
            if isinstance(event, HandshakeComplete):
                return event

    async def next_of(self, kind: type) -> Any:
        """Skip events until one of type ``kind``."""
        while True:
            event = await self.next_event()
            if isinstance(event, kind):
                return event

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def send_message(self, frames: list[bytes]) -> None:
        await self.send(self.conn.send_message(frames))


async def wait_for(monitor: zmtp.Monitor, event: Event) -> tuple[zmtp.MonitorEvent, float]:
    """The next ``event`` on ``monitor`` and when it was seen."""
    ev = await monitor.wait_for(event)
    return ev, anyio.current_time()


# ---------------------------------------------------------------------------------------
# Our PINGs (heartbeat_ivl, heartbeat_ttl)


async def test_heartbeat_ivl_sends_a_ping_every_interval_with_the_ttl_in_tenths_of_a_second(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL, heartbeat_ivl=IVL, heartbeat_ttl=1550)
        async with pull.monitor() as monitor:
            ep = await pull.bind(BIND)
            peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
            await peer.handshake()
            start = anyio.current_time()
            for _ in range(5):
                ping = await peer.next_of(Ping)
                # 1550 ms travels as 15 tenths of a second (rounded down, as libzmq).
                assert (ping.ttl, ping.context) == (15, b"")
            # PINGs are planned one interval after the previous one was sent: five
            # take at least five intervals (arrival jitter aside).
            assert anyio.current_time() - start >= 5 * IVL / 1000 * 0.9
            # The PONGs the peer sent (its Connection answers each PING) kept it up.
            await peer.send_message([b"still here"])
            assert await pull.recv() == b"still here"
            assert Event.DISCONNECTED not in [ev.event for ev in await pending(monitor)]


async def test_any_traffic_after_a_ping_proves_the_peer_alive_not_only_a_pong(
    make: Callable[..., zmtp.Socket],
):
    # The peer never answers a PING but sends a message every 20 ms, for several
    # heartbeat timeouts: zmtp must keep the connection (RFC 37: "any traffic").
    timeout_ms, count, pace = 100, 15, 0.02
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL, heartbeat_ivl=IVL, heartbeat_timeout=timeout_ms)
        async with pull.monitor(Event.DISCONNECTED) as monitor:
            ep = await pull.bind(BIND)
            peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
            await peer.handshake()
            peer.answer = False
            pings = 0

            async def count_pings() -> None:
                nonlocal pings
                while not isinstance(event := await peer.next_event(), ConnectionClosed):
                    pings += isinstance(event, Ping)

            async with anyio.create_task_group() as tg:
                tg.start_soon(count_pings)
                for i in range(count):
                    last_traffic = anyio.current_time()  # zmtp reads it after this
                    await peer.send_message([b"%d" % i])
                    assert await pull.recv() == b"%d" % i
                    await anyio.sleep(pace)  # pacing: traffic, not PONGs, keeps it alive
                assert pings >= 3, "zmtp was not heartbeating at all"
                assert await pending(monitor) == [], "dropped while the peer talked"
                # Now silence: the next PING goes unanswered and the peer is dropped.
                ev, when = await wait_for(monitor, Event.DISCONNECTED)
                tg.cancel_scope.cancel()
    assert "heartbeat timeout" in ev.reason
    assert when - last_traffic >= timeout_ms / 1000 - CLOCK_GRAIN
    assert when - last_traffic <= (IVL + timeout_ms) / 1000 + SLACK


async def test_a_peer_silent_after_the_handshake_is_dropped_after_heartbeat_timeout(
    make: Callable[..., zmtp.Socket],
):
    timeout_ms = 150
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL, heartbeat_ivl=IVL, heartbeat_timeout=timeout_ms)
        async with pull.monitor(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED) as monitor:
            ep = await pull.bind(BIND)
            before = anyio.current_time()  # zmtp's handshake completes after this
            peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
            await peer.handshake()  # then it neither reads nor writes
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            ev, down = await wait_for(monitor, Event.DISCONNECTED)
    assert ev.reason.startswith("heartbeat timeout"), ev.reason
    # The first PING goes out one interval after the handshake; the timeout runs from it.
    assert down - before >= (IVL + timeout_ms) / 1000 - CLOCK_GRAIN
    assert down - before <= (IVL + timeout_ms) / 1000 + SLACK
    # The peer sees its connection end.
    with anyio.fail_after(TIMEOUT):
        assert isinstance(await peer.next_of(ConnectionClosed), ConnectionClosed)


async def test_a_connecting_socket_reconnects_after_dropping_a_silent_peer(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(TIMEOUT):
        listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        push = make(zmtp.PUSH, heartbeat_ivl=IVL, heartbeat_timeout=100, reconnect_ivl=10)
        quiet = Event.ALL & ~Event.CONNECT_DELAYED
        async with push.monitor(quiet) as monitor, listener:
            await push.connect(f"tcp://127.0.0.1:{port}")
            first = RawPeer(await listener.accept(), Connection(SocketType.PULL))
            await first.flush()
            await first.handshake()  # then silent: no PONG, nothing
            seen = []
            async for ev in monitor:
                seen.append(ev)
                if ev.event == Event.DISCONNECTED:
                    break
            assert "heartbeat timeout" in seen[-1].reason
            # The connecter tries again; the listener's second accept is the new link.
            second = RawPeer(await listener.accept(), Connection(SocketType.PULL))
            await second.flush()
            await second.handshake()
            after = [await monitor.receive() for _ in range(3)]
            assert [ev.event for ev in after] == [
                Event.CONNECT_RETRIED,
                Event.CONNECTED,
                Event.HANDSHAKE_SUCCEEDED,
            ]
            await push.send(b"over the new connection")
            assert await second.next_of(Message) == [b"over the new connection"]
            await first.stream.aclose()
            await second.stream.aclose()


# ---------------------------------------------------------------------------------------
# The peer's PINGs: the TTL it asks for, and the PONG we owe it


async def test_a_peer_ping_ttl_drops_the_connection_when_no_traffic_follows_within_it(
    make: Callable[..., zmtp.Socket],
):
    ttl = 3  # tenths of a second
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL)  # no heartbeat options of its own
        async with pull.monitor(Event.DISCONNECTED) as monitor:
            ep = await pull.bind(BIND)
            peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
            await peer.handshake()
            sent = anyio.current_time()  # zmtp reads the PING after this
            await peer.send(encode_ping(ttl, b"ttl"))
            assert await peer.next_of(Pong) == Pong(b"ttl")
            ev, down = await wait_for(monitor, Event.DISCONNECTED)
    assert "TTL" in ev.reason and "PING" in ev.reason, ev.reason
    assert down - sent >= ttl / 10 - CLOCK_GRAIN
    assert down - sent <= ttl / 10 + SLACK


async def test_traffic_within_the_peer_ttl_keeps_the_connection(
    make: Callable[..., zmtp.Socket],
):
    ttl, count, pace = 1, 12, 0.03  # a 100 ms TTL; a message every 30 ms for 360 ms
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL)
        async with pull.monitor(Event.DISCONNECTED) as monitor:
            ep = await pull.bind(BIND)
            peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
            await peer.handshake()
            await peer.send(encode_ping(ttl))
            for i in range(count):
                await peer.send_message([b"%d" % i])
                assert await pull.recv() == b"%d" % i
                await anyio.sleep(pace)  # pacing: each message comes within the TTL
            assert await pending(monitor) == [], "dropped although traffic kept coming"
            last_traffic = anyio.current_time()
            ev, down = await wait_for(monitor, Event.DISCONNECTED)
    assert "TTL" in ev.reason
    assert down - last_traffic <= ttl / 10 + SLACK


@pytest.mark.parametrize("context", [b"", b"x", b"0123456789abcdef"], ids=["empty", "1", "16"])
async def test_a_peer_ping_is_answered_with_a_pong_echoing_its_context(
    make: Callable[..., zmtp.Socket], context: bytes
):
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL)
        ep = await pull.bind(BIND)
        peer = await RawPeer.connect(ep, Connection(SocketType.PUSH))
        await peer.handshake()
        await peer.send(encode_ping(0, context))
        assert await peer.next_of(Pong) == Pong(context)
        # A TTL of 0 asks for nothing: the connection carries on.
        await peer.send_message([b"after the pong"])
        assert await pull.recv() == b"after the pong"


async def test_no_ping_is_sent_to_a_zmtp_3_0_peer(make: Callable[..., zmtp.Socket]):
    # A 3.1 peer on the same socket counts the intervals: once it has seen five
    # PINGs, the 3.0 peer (connected earlier) has been up for five intervals too.
    with anyio.fail_after(TIMEOUT):
        push = make(zmtp.PUSH, heartbeat_ivl=20, heartbeat_timeout=40)
        async with push.monitor(Event.HANDSHAKE_SUCCEEDED) as monitor:
            ep = await push.bind(BIND)
            old = await RawPeer.connect(ep, Connection(SocketType.PULL, version=(3, 0)))
            assert (await old.handshake()).version == (3, 0)
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            new = await RawPeer.connect(ep, Connection(SocketType.PULL))
            await new.handshake()
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
        for _ in range(5):
            await new.next_of(Ping)
        # One message to each peer (round robin); everything zmtp wrote to the 3.0
        # peer before its message arrives before it, in order.
        await push.send(b"one")
        await push.send(b"two")
        events = [await old.next_event()]
        while not isinstance(events[-1], Message):
            events.append(await old.next_event())
        assert not [e for e in events if isinstance(e, Ping)], events
        # Never answering a PING it never got, the 3.0 peer was not timed out either.
        assert events[-1] in ([b"one"], [b"two"])
