"""Helpers for the publish-subscribe interop and spec tests (imported as
``pubsub_helpers``; fixtures stay in the test modules and ``conftest.py``).

* :class:`RawPeer`: a peer made of a byte stream and a sans-IO
  :class:`zmtp.wire.Connection`, with no routing of its own. As a SUB it records every
  message the publisher put on the wire for it, so a test can see what the publisher
  filtered out *before sending*; as a PUB it records the subscriptions it got. ZMTP
  3.1 (SUBSCRIBE/CANCEL commands) or 3.0 (subscriptions as messages starting with
  octet 1 or 0).
* :func:`probe_until_delivered`: a publisher that reports no subscriptions (PUB, or
  libzmq's PUB) gives no sign of having applied one. The helper publishes numbered
  probes under the topic until the subscriber receives one, then takes every probe
  still in flight; from then on the publisher's filter holds the topic for that
  subscriber. The per-probe wait only paces the retries: the proof is the message.
  :func:`zmtp_within` makes its ``recv_within`` from a zmtp socket.

Endpoints come from ``libzmq_helpers``.

Nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from libzmq_helpers import HOST, free_tcp_port

import zmtp
from zmtp.constants import SocketType
from zmtp.wire import NEED_DATA, Connection, HandshakeComplete, Message

PROBE = b"\x00probe "
#: How long one probe waits before the next one is published.
PROBE_PATIENCE = 0.02


async def probe_until_delivered(
    send: Callable[[bytes], object],
    recv_within: Callable[[float], Awaitable[list[bytes] | None]],
    topic: bytes,
) -> int:
    """Publish ``topic + PROBE + n`` with ``send`` until ``recv_within(seconds)`` returns
    one, then receive until the last one sent; returns how many probes it took. The
    subscriber must receive nothing else meanwhile."""
    sent = 0
    while True:
        sent += 1
        send(topic + PROBE + b"%d" % sent)
        got = await recv_within(PROBE_PATIENCE)
        if got is not None:
            break
    # A probe that was slow to arrive may be followed by the ones sent after it.
    last = [topic + PROBE + b"%d" % sent]
    while got != last:
        assert got is None or PROBE in got[0], f"not a probe: {got!r}"
        got = await recv_within(5.0)
    return sent


def zmtp_within(sock: zmtp.Socket) -> Callable[[float], Any]:
    """``recv_within(seconds)`` for :func:`probe_until_delivered`, from a zmtp socket."""

    async def recv_within(seconds: float) -> list[bytes] | None:
        # poll, then receive: a wait that times out takes nothing, on every engine
        if await sock.poll(seconds * 1000):
            return await sock.recv_multipart()
        return None

    return recv_within


class RawPeer:
    """A ZMTP peer of type ``socket_type`` that filters nothing and records what it got.

    As a SUB, ``messages`` holds every message the publisher sent (probes included)
    and ``wire`` every octet; as a PUB, ``events`` holds the subscriptions received.
    """

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        socket_type: SocketType = SocketType.SUB,
        version: tuple[int, int] = (3, 1),
    ) -> None:
        self.stream = stream
        self.conn = Connection(socket_type, version=version)
        self.messages: list[list[bytes]] = []
        self.events: list[object] = []
        self.wire = bytearray()

    @classmethod
    async def connect(
        cls,
        endpoint: str,
        socket_type: SocketType = SocketType.SUB,
        version: tuple[int, int] = (3, 1),
    ) -> RawPeer:
        """Connect to a bound zmtp socket (``tcp://host:port`` or ``ipc://path``)."""
        if endpoint.startswith("tcp://"):
            host, port = endpoint[len("tcp://") :].rsplit(":", 1)
            stream: anyio.abc.ByteStream = await anyio.connect_tcp(host, int(port))
        else:
            stream = await anyio.connect_unix(endpoint[len("ipc://") :])
        return cls(stream, socket_type, version)

    async def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            await self.stream.send(out)

    async def next_event(self) -> object:
        """The connection's next event, reading as needed (``EOFError`` at the end)."""
        while True:
            ev = self.conn.next_event()
            if ev is not NEED_DATA:
                await self._flush()
                return ev
            await self._flush()
            try:
                data = await self.stream.receive(65536)
            except anyio.EndOfStream:
                raise EOFError("the peer closed the connection") from None
            self.wire += data
            self.conn.receive_data(data)

    async def handshake(self) -> HandshakeComplete:
        while True:
            ev = await self.next_event()
            if isinstance(ev, HandshakeComplete):
                return ev

    async def subscribe(self, topic: bytes) -> None:
        await self.stream.send(self.conn.send_subscribe(topic))

    async def cancel(self, topic: bytes) -> None:
        await self.stream.send(self.conn.send_cancel(topic))

    async def recv(self) -> list[bytes]:
        """The next message the peer sent; other events go to ``events``."""
        while True:
            ev = await self.next_event()
            if isinstance(ev, Message):
                self.messages.append(list(ev))
                return list(ev)
            self.events.append(ev)

    async def recv_within(self, seconds: float) -> list[bytes] | None:
        with anyio.move_on_after(seconds):
            return await self.recv()
        return None

    async def aclose(self) -> None:
        await self.stream.aclose()


async def raw_peer_accepting(
    transport: str,
    tmp_path: Path,
    connect: Callable[[str], Awaitable[object]],
    socket_type: SocketType = SocketType.SUB,
    version: tuple[int, int] = (3, 1),
) -> RawPeer:
    """Listen on a fresh endpoint, let ``connect(endpoint)`` make the zmtp socket connect
    to it, and return the accepted :class:`RawPeer` (not yet handshaken)."""
    listener: anyio.abc.SocketListener
    if transport == "tcp":
        listener = (await anyio.create_tcp_listener(local_host=HOST)).listeners[0]
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        endpoint = f"tcp://{HOST}:{port}"
    else:
        path = f"{tmp_path}/raw-{free_tcp_port()}.sock"
        listener = await anyio.create_unix_listener(path)
        endpoint = f"ipc://{path}"
    try:
        await connect(endpoint)
        stream = await listener.accept()
    finally:
        await listener.aclose()
    return RawPeer(stream, socket_type, version)
