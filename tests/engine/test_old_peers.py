"""zmtp sockets with ZMTP 2.0 and 1.0 peers, end to end over tcp (RFC 15, RFC 13).

The old peer is a sans-IO :class:`~zmtp.wire.Connection` told to speak ZMTP 2.0 or
1.0, driven over a raw byte stream (it connects to a bound zmtp socket, or listens for
a connecting one). The zmtp side is the public API of each engine: it detects the version,
downgrades, exchanges identities, routes, subscribes, and sends no heartbeats; a
socket with security refuses such a peer and says why on its monitor. JeroMQ 0.3.6,
a real ZMTP 2.0 peer, is in ``interop/test_jeromq.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import pytest
from engines import pending

import zmtp
from zmtp import Event
from zmtp.wire import NEED_DATA, Connection, ConnectionState, HandshakeComplete, Subscribe

#: Seconds any one test may take.
TIMEOUT = 5
BIND = "tcp://127.0.0.1:*"
OLD = [(2, 0), (1, 0)]
OLD_IDS = ["zmtp-2.0", "zmtp-1.0"]


class OldPeer:
    """A peer speaking an old ZMTP version: a Connection over one byte stream."""

    def __init__(self, stream: anyio.abc.SocketStream, conn: Connection) -> None:
        self.stream = stream
        self.conn = conn

    async def flush(self) -> None:
        if data := self.conn.data_to_send():
            await self.stream.send(data)

    async def next_event(self) -> Any:
        """The Connection's next event, reading as needed."""
        while True:
            event = self.conn.next_event()  # raises the Connection's error, if any
            if event is not NEED_DATA:
                return event
            if self.conn.state is ConnectionState.CLOSED:
                raise EOFError("zmtp closed the connection")
            try:
                data = await self.stream.receive(65536)
            except anyio.EndOfStream:
                data = b""
            self.conn.receive_data(data)
            await self.flush()

    async def handshake(self) -> HandshakeComplete:
        await self.flush()
        while not isinstance(event := await self.next_event(), HandshakeComplete):
            pass
        await self.flush()
        return event

    async def send(self, frames: list[bytes]) -> None:
        await self.stream.send(self.conn.send_message(frames))

    async def recv(self) -> list[bytes]:
        while type(event := await self.next_event()) is not list:
            pass
        return event


#: How an old peer's handshake ends when zmtp refuses it.
_ENDED = (EOFError, zmtp.ProtocolError, anyio.BrokenResourceError)


async def connect_old(endpoint: str, conn: Connection) -> OldPeer:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return OldPeer(await anyio.connect_tcp(host, int(port)), conn)


@asynccontextmanager
async def listening_old(conn: Connection) -> AsyncIterator[tuple[str, Callable[[], Any]]]:
    """Listen on a free port; yield the endpoint and an ``accept()`` giving the peer."""
    listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def accept() -> OldPeer:
        return OldPeer(await listener.accept(), conn)

    try:
        yield f"tcp://127.0.0.1:{port}", accept
    finally:
        await listener.aclose()


# =======================================================================================
# Each pattern against an old peer


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_a_pull_receives_multipart_messages_from_an_old_push(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 15 "Framing" / RFC 13 "The Framing Layer" through the engine: short, long
    and large frames, empty ones, in order."""
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL)
        async with pull.monitor(Event.HANDSHAKE_SUCCEEDED) as monitor:
            peer = await connect_old(await pull.bind(BIND), Connection("PUSH", version=old))
            done = await peer.handshake()
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
        assert done.version == old
        big = bytes(range(256)) * 1024
        for msg in ([b"one"], [b"", b"x" * 300, big], [b"last"]):
            await peer.send(msg)
            assert await pull.recv_multipart() == msg


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_a_router_addresses_an_old_dealer_by_its_identity_frame(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 15 "identity" / RFC 13 "The Connection Layer": the identity an old peer sends
    is its routing id at a ROUTER, which routes the reply back by it."""
    with anyio.fail_after(TIMEOUT):
        router = make(zmtp.ROUTER)
        ep = await router.bind(BIND)
        peer = await connect_old(ep, Connection("DEALER", routing_id=b"old-dealer", version=old))
        await peer.handshake()
        await peer.send([b"request"])
        assert await router.recv_multipart() == [b"old-dealer", b"request"]
        await router.send_multipart([b"old-dealer", b"reply"])
        assert await peer.recv() == [b"reply"]


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_a_connecting_dealer_sends_its_routing_id_as_its_identity_frame(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 15 "identity": our identity frame carries our routing id."""
    with anyio.fail_after(TIMEOUT):
        async with listening_old(Connection("ROUTER", version=old)) as (ep, accept):
            dealer = make(zmtp.DEALER, routing_id=b"zmtp-dealer")
            await dealer.connect(ep)
            peer = await accept()
            done = await peer.handshake()
            assert done.routing_id == b"zmtp-dealer"
            await dealer.send(b"hello")
            assert await peer.recv() == [b"hello"]
            await peer.send([b"back"])
            assert await dealer.recv() == b"back"


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_req_and_rep_alternate_with_an_old_peer(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 13 "Addressed Content": the envelope delimiter crosses the old framing; our
    REQ's request reaches an old REP-side peer with its empty delimiter frame."""
    with anyio.fail_after(TIMEOUT):
        async with listening_old(Connection("REP", version=old)) as (ep, accept):
            req = make(zmtp.REQ)
            await req.connect(ep)
            peer = await accept()
            await peer.handshake()
            await req.send(b"question")
            assert await peer.recv() == [b"", b"question"]
            await peer.send([b"", b"answer"])
            assert await req.recv() == b"answer"


async def test_a_publisher_filters_for_a_zmtp_2_0_subscriber_and_honours_unsubscribe(
    make: Callable[..., zmtp.Socket],
):
    """RFC 15 "Publish-Subscribe": the subscriber's subscription messages (%x01 / %x00
    then the topic) drive our filter. An XPUB shows each one arriving."""
    with anyio.fail_after(TIMEOUT):
        xpub = make(zmtp.XPUB)
        peer = await connect_old(await xpub.bind(BIND), Connection("SUB", version=(2, 0)))
        await peer.handshake()
        await peer.send([b"\x01A"])
        assert await xpub.recv() == b"\x01A"
        for topic in (b"A1", b"B1", b"A2"):
            await xpub.send(topic)
        assert [await peer.recv(), await peer.recv()] == [[b"A1"], [b"A2"]]
        await peer.send([b"\x00A"])
        await peer.send([b"\x01C"])
        assert await xpub.recv() == b"\x00A"
        assert await xpub.recv() == b"\x01C"
        await xpub.send(b"A3")
        await xpub.send(b"C1")
        assert await peer.recv() == [b"C1"]  # A3 was filtered out


async def test_a_zmtp_1_0_subscriber_gets_everything_without_subscribing(
    make: Callable[..., zmtp.Socket],
):
    """RFC 13 "Broadcast Content": a ZMTP 1.0 subscriber sends nothing and filters
    itself, so a publisher sends it everything (libzmq does the same)."""
    with anyio.fail_after(TIMEOUT):
        pub = make(zmtp.PUB)
        async with pub.monitor(Event.HANDSHAKE_SUCCEEDED) as monitor:
            peer = await connect_old(await pub.bind(BIND), Connection("SUB", version=(1, 0)))
            await peer.handshake()
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
        # The engine registers the implicit subscription with the handshake; the first
        # publish may still race it, so publish until one arrives.
        while True:
            await pub.send(b"anything")
            with anyio.move_on_after(0.05):  # pacing: between attempts
                assert await peer.recv() == [b"anything"]
                break
        await pub.send(b"more")
        while (got := await peer.recv()) == [b"anything"]:
            pass
        assert got == [b"more"]


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_a_subscriber_subscribes_to_an_old_publisher_with_messages(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 15 "Publish-Subscribe": our SUB sends %x01 + topic as a message (in the old
    framing), and filters what arrives."""
    with anyio.fail_after(TIMEOUT):
        async with listening_old(Connection("PUB", version=old)) as (ep, accept):
            sub = make(zmtp.SUB)
            sub.subscribe(b"A")
            await sub.connect(ep)
            peer = await accept()
            await peer.handshake()
            while not isinstance(event := await peer.next_event(), Subscribe):
                pass
            assert event == Subscribe(b"A")
            for topic in (b"B0", b"A0"):
                await peer.send([topic])
            assert await sub.recv() == b"A0"


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_pair_talks_to_an_old_pair(make: Callable[..., zmtp.Socket], old: tuple[int, int]):
    """RFC 15 "Socket Compatibility": PAIR accepts connections from PAIR."""
    with anyio.fail_after(TIMEOUT):
        pair = make(zmtp.PAIR)
        peer = await connect_old(await pair.bind(BIND), Connection("PAIR", version=old))
        await peer.handshake()
        await pair.send_multipart([b"to", b"old"])
        assert await peer.recv() == [b"to", b"old"]
        await peer.send([b"from", b"old"])
        assert await pair.recv_multipart() == [b"from", b"old"]


# =======================================================================================
# Refusals and what old versions lack


async def test_a_plain_server_refuses_a_zmtp_2_0_peer_and_says_why_on_its_monitor(
    make: Callable[..., zmtp.Socket],
):
    """RFC 23 "Authentication and Confidentiality": security is never downgraded; the
    monitor reports the refusal as a protocol failure naming the rule."""
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, plain_server=True)
        async with server.monitor() as monitor:
            peer = await connect_old(await server.bind(BIND), Connection("PUSH", version=(2, 0)))
            with pytest.raises(_ENDED):
                await peer.handshake()  # the 3.x greeting is garbage to it, or it is closed
            ev = await monitor.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "ZMTP 2.0" in ev.reason and "has no security mechanism" in ev.reason


async def test_an_incompatible_zmtp_2_0_peer_is_refused_on_the_monitor(
    make: Callable[..., zmtp.Socket],
):
    """RFC 15 "Socket Compatibility": a PULL accepts connections from PUSH only."""
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL)
        async with pull.monitor() as monitor:
            peer = await connect_old(await pull.bind(BIND), Connection("PUB", version=(2, 0)))
            with pytest.raises(_ENDED):
                await peer.handshake()
            ev = await monitor.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "cannot talk to PUB" in ev.reason


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
async def test_no_heartbeat_reaches_an_old_peer(
    make: Callable[..., zmtp.Socket], old: tuple[int, int]
):
    """RFC 15 / RFC 13 have no PING: heartbeat_ivl sends nothing to an old peer (which
    would fail on a command frame), and heartbeat_timeout never drops a silent one."""
    ivl, timeout_ms = 20, 60
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL, heartbeat_ivl=ivl, heartbeat_timeout=timeout_ms)
        async with pull.monitor(Event.DISCONNECTED) as monitor:
            peer = await connect_old(await pull.bind(BIND), Connection("PUSH", version=old))
            await peer.handshake()
            # Ten intervals and more than twice what a PING's timeout would allow.
            await anyio.sleep(10 * ivl / 1000)  # pacing: the absence of PINGs takes time
            await peer.send([b"still here"])
            assert await pull.recv() == b"still here"
            assert await pending(monitor) == [], "the connection was dropped"
        # Nothing at all was written to the peer after the handshake.
        with anyio.move_on_after(0.05):  # pacing: bytes already sent arrive well within
            extra = await peer.stream.receive(65536)
            pytest.fail(f"zmtp wrote {extra!r} to a {old} peer")


@pytest.mark.parametrize(
    ("minimum", "old", "refused"),
    [(30, (2, 0), True), (30, (1, 0), True), (20, (1, 0), True), (20, (2, 0), False)],
    ids=["3.0-refuses-2.0", "3.0-refuses-1.0", "2.0-refuses-1.0", "2.0-admits-2.0"],
)
async def test_zmtp_min_version_refuses_older_peers(
    make: Callable[..., zmtp.Socket], minimum: int, old: tuple[int, int], refused: bool
):
    """The option to refuse old peers (libzmq has none; off by default)."""
    with anyio.fail_after(TIMEOUT):
        pull = make(zmtp.PULL, zmtp_min_version=minimum)
        async with pull.monitor() as monitor:
            peer = await connect_old(await pull.bind(BIND), Connection("PUSH", version=old))
            if refused:
                # (A 1.0 peer may think its handshake done: libzmq's signature reads as
                # a valid ZMTP 1.0 identity frame. zmtp closes the connection anyway.)
                with contextlib.suppress(*_ENDED):
                    await peer.handshake()
                ev = await monitor.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL)
                assert f"ZMTP {old[0]}.{old[1]}" in ev.reason, ev.reason
            else:
                await peer.handshake()
                await peer.send([b"welcome"])
                assert await pull.recv() == b"welcome"
