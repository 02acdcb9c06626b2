"""zmtp.asyncio sockets with ZMTP 2.0 and 1.0 peers over tcp (RFC 15, RFC 13), on the
default loop and uvloop.

The old peer is a sans-IO :class:`~zmtp.wire.Connection` told to speak ZMTP 2.0 or 1.0,
driven over an asyncio stream (it connects to a bound zmtp socket, or listens for a
connecting one). The zmtp side detects the version, downgrades, exchanges identities
and routes; ``zmtp_min_version`` refuses such a peer, and so does a socket with
security, each saying why on its monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio
from zmtp import Event
from zmtp.wire import NEED_DATA, Connection, ConnectionState, HandshakeComplete, Subscribe

BIND = "tcp://127.0.0.1:*"
OLD = [(2, 0), (1, 0)]
OLD_IDS = ["zmtp-2.0", "zmtp-1.0"]
#: How an old peer's handshake ends when zmtp refuses it.
ENDED = (EOFError, zmtp.ProtocolError, ConnectionError)


class OldPeer:
    """A peer speaking an old ZMTP version: a Connection over one asyncio stream."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn

    async def flush(self) -> None:
        if data := self.conn.data_to_send():
            self.writer.write(data)
            await self.writer.drain()

    async def next_event(self) -> Any:
        """The Connection's next event, reading as needed."""
        while True:
            event = self.conn.next_event()  # raises the Connection's error, if any
            if event is not NEED_DATA:
                return event
            if self.conn.state is ConnectionState.CLOSED:
                raise EOFError("zmtp closed the connection")
            self.conn.receive_data(await self.reader.read(65536))
            await self.flush()

    async def handshake(self) -> HandshakeComplete:
        await self.flush()
        while not isinstance(event := await self.next_event(), HandshakeComplete):
            pass
        await self.flush()
        return event

    async def send(self, frames: list[bytes]) -> None:
        self.writer.write(self.conn.send_message(frames))
        await self.writer.drain()

    async def recv(self) -> list[bytes]:
        while type(event := await self.next_event()) is not list:
            pass
        return event

    def close(self) -> None:
        self.writer.close()


async def connect_old(endpoint: str, conn: Connection) -> OldPeer:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    return OldPeer(reader, writer, conn)


@asynccontextmanager
async def listening_old(conn: Connection) -> AsyncIterator[tuple[str, asyncio.Queue[OldPeer]]]:
    """Listen on a free port; yield the endpoint and a queue of the peers accepted."""
    accepted: asyncio.Queue[OldPeer] = asyncio.Queue()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(OldPeer(reader, writer, conn))

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    try:
        yield f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}", accepted
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_a_pull_receives_multipart_messages_from_an_old_push(
    run: Runner, old: tuple[int, int]
) -> None:
    """RFC 15 "Framing" / RFC 13 "The Framing Layer" through the engine: short, long
    and large frames, empty ones, in order."""

    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            pull = ctx.socket(zmtp.PULL)
            async with pull.monitor(Event.HANDSHAKE_SUCCEEDED) as monitor:
                peer = await connect_old(await pull.bind(BIND), Connection("PUSH", version=old))
                done = await peer.handshake()
                await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            assert done.version == old
            big = bytes(range(256)) * 1024
            for msg in ([b"one"], [b"", b"x" * 300, big], [b"last"]):
                await peer.send(msg)
                assert await pull.recv_multipart() == msg
            peer.close()

    run(main)


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_a_router_addresses_an_old_dealer_by_its_identity_frame(
    run: Runner, old: tuple[int, int]
) -> None:
    """RFC 15 "identity" / RFC 13 "The Connection Layer": the identity an old peer sends
    is its routing id at a ROUTER, which routes the reply back by it."""

    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            router = ctx.socket(zmtp.ROUTER)
            old_dealer = Connection("DEALER", routing_id=b"old-dealer", version=old)
            peer = await connect_old(await router.bind(BIND), old_dealer)
            await peer.handshake()
            await peer.send([b"request"])
            assert await router.recv_multipart() == [b"old-dealer", b"request"]
            await router.send_multipart([b"old-dealer", b"reply"])
            assert await peer.recv() == [b"reply"]
            peer.close()

    run(main)


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_a_connecting_dealer_sends_its_routing_id_as_its_identity_frame(
    run: Runner, old: tuple[int, int]
) -> None:
    """RFC 15 "identity": our identity frame carries our routing id, and traffic flows
    both ways once the old ROUTER-side peer accepted us."""

    async def main() -> None:
        async with (
            zmtp.asyncio.Context(linger=0) as ctx,
            listening_old(Connection("ROUTER", version=old)) as (endpoint, accepted),
        ):
            dealer = ctx.socket(zmtp.DEALER, routing_id=b"zmtp-dealer")
            await dealer.connect(endpoint)
            peer = await accepted.get()
            done = await peer.handshake()
            assert done.routing_id == b"zmtp-dealer"
            await dealer.send(b"hello")
            assert await peer.recv() == [b"hello"]
            await peer.send([b"back"])
            assert await dealer.recv() == b"back"
            peer.close()

    run(main)


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_a_subscriber_subscribes_to_an_old_publisher_with_messages(
    run: Runner, old: tuple[int, int]
) -> None:
    """RFC 15 "Publish-Subscribe": our SUB sends %x01 + topic as a message (in the old
    framing), and filters what arrives."""

    async def main() -> None:
        async with (
            zmtp.asyncio.Context(linger=0) as ctx,
            listening_old(Connection("PUB", version=old)) as (endpoint, accepted),
        ):
            sub = ctx.socket(zmtp.SUB)
            sub.subscribe(b"A")
            await sub.connect(endpoint)
            peer = await accepted.get()
            await peer.handshake()
            while not isinstance(event := await peer.next_event(), Subscribe):
                pass
            assert event == Subscribe(b"A")
            for topic in (b"B0", b"A0"):
                await peer.send([topic])
            assert await sub.recv() == b"A0"
            peer.close()

    run(main)


@pytest.mark.parametrize(
    ("minimum", "old", "refused"),
    [(30, (2, 0), True), (30, (1, 0), True), (20, (1, 0), True), (20, (2, 0), False)],
    ids=["3.0-refuses-2.0", "3.0-refuses-1.0", "2.0-refuses-1.0", "2.0-admits-2.0"],
)
def test_zmtp_min_version_refuses_older_peers(
    run: Runner, minimum: int, old: tuple[int, int], refused: bool
) -> None:
    """The option to refuse old peers (libzmq has none; off by default): the monitor
    names the version refused."""

    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            pull = ctx.socket(zmtp.PULL, zmtp_min_version=minimum)
            async with pull.monitor() as monitor:
                peer = await connect_old(await pull.bind(BIND), Connection("PUSH", version=old))
                if refused:
                    # (A 1.0 peer may think its handshake done: our signature reads as a
                    # valid ZMTP 1.0 identity frame. zmtp closes the connection anyway.)
                    with contextlib.suppress(*ENDED):
                        await peer.handshake()
                    ev = await monitor.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL)
                    assert f"ZMTP {old[0]}.{old[1]}" in ev.reason, ev.reason
                else:
                    await peer.handshake()
                    await peer.send([b"welcome"])
                    assert await pull.recv() == b"welcome"
            peer.close()

    run(main)


def test_a_plain_server_refuses_a_zmtp_2_0_peer_and_says_why_on_its_monitor(
    run: Runner,
) -> None:
    """RFC 23 "Authentication and Confidentiality": security is never downgraded."""

    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            server = ctx.socket(zmtp.PULL, plain_server=True)
            async with server.monitor() as monitor:
                old_push = Connection("PUSH", version=(2, 0))
                peer = await connect_old(await server.bind(BIND), old_push)
                with pytest.raises(ENDED):
                    await peer.handshake()  # the 3.x greeting is garbage to it, or closed
                ev = await monitor.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL)
            assert "ZMTP 2.0" in ev.reason and "has no security mechanism" in ev.reason
            peer.close()

    run(main)
