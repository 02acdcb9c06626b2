"""The engine-neutral half of a tcp/ipc connection: everything but reading, writing
and waiting.

An engine's connection worker (trio's ``StreamEngine``, asyncio's protocol) extends
:class:`StreamCore`, which owns the sans-IO :class:`~zmtp.wire.Connection` and decides:

* **what arrived**: :meth:`~StreamCore.split` turns a Connection's events into the
  messages for the pipe (subscriptions from a ZMTP 3.1 peer become subscription
  messages, in order) and handles the rest (a PING's TTL re-plans the heartbeat, the
  close reason is kept, other events go to the socket core);
* **what to write**: :meth:`~StreamCore.encode` turns a batch of messages into buffers
  (plain ZMTP framing, a mechanism that transforms traffic, SUBSCRIBE/CANCEL
  commands for a subscriber talking to a ZMTP 3.1 peer);
* **what a failed write loses**: a connecter's pipe outlives its connection, so
  :meth:`~StreamCore.give_back` returns the messages the kernel did not wholly accept
  to the front of the queue, for the next connection (one cut short never reaches the
  peer, so nothing is duplicated);
* **heartbeats**: a :class:`~zmtp.core.timing.HeartbeatSchedule` per connection;
* **fairness**: how much a reader asks of the kernel next (:func:`next_read_size`),
  so that no connection holds the event loop for long.

The engine reports the phases to the socket core through :class:`ConnectionHost`
verbs, never its private members.
"""

from __future__ import annotations

from typing import Any

from zmtp.constants import SocketType
from zmtp.core.socket import Connecter, ConnectionHost
from zmtp.core.timing import HeartbeatSchedule
from zmtp.errors import ProtocolError
from zmtp.routing import Pipe, SubscriptionMsg
from zmtp.wire import Connection, ConnectionState
from zmtp.wire.events import Cancel, ConnectionClosed, Message, Ping, Subscribe
from zmtp.wire.frames import encode_batch

__all__ = [
    "BATCH_BYTES",
    "BATCH_MESSAGES",
    "FIRST_READ",
    "IOV_MAX",
    "MIN_READ",
    "READS_PER_TURN",
    "READ_SIZE",
    "TURN",
    "ConnectionLost",
    "StreamCore",
    "coalesce",
    "drop_written",
    "next_read_size",
    "plain_ends",
]

#: Octets asked of the kernel per read, at most.
READ_SIZE = 256 * 1024

# Fairness between connections. Parsing costs Python time in proportion to the frames
# a read holds: a peer streaming tiny frames makes one 256 KiB read cost tens of ms,
# during which every other connection of the loop waits. So a reader measures each
# read (the system call and the parsing) and sizes the next one by it
# (:func:`next_read_size`), and yields to the loop at once after a slow one.

#: A read that took longer than this (seconds) was slow: the next one is half as big.
TURN = 0.002
#: A connection's first reads ask for this much, so not even the first one can hold
#: the loop for long; fast reads grow back to READ_SIZE.
FIRST_READ = 64 * 1024
#: The smallest read a reader shrinks to.
MIN_READ = 4096
#: Reads in a row (the kernel filling each one) before a reader lets the others run.
READS_PER_TURN = 4

#: A writer's batch: at most this many messages or octets per system call.
BATCH_MESSAGES = 256
BATCH_BYTES = 1024 * 1024
#: Buffers per ``sendmsg`` (Linux's IOV_MAX is 1024; half leaves room).
IOV_MAX = 512


class ConnectionLost(Exception):
    """The stream ended; ``reason`` says how (internal to engines)."""

    def __init__(self, reason: str, *, clean: bool = False, written: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.clean = clean
        #: Octets of the failed write that the kernel had accepted.
        self.written = written


class StreamCore:
    """One connection's decisions; engines add the I/O (see the module doc)."""

    def __init__(
        self,
        host: ConnectionHost,
        endpoint: str,
        peer_address: str,
        *,
        connecter: Connecter | None,
        as_server: bool,
    ) -> None:
        self.host = host
        self.endpoint = endpoint
        #: The peer's IP address (tcp), or "" (ipc): the ZAP request's Address.
        self.peer_address = peer_address
        #: The connecter that made this connection (None: accepted by a listener).
        self.connecter = connecter
        # Options were checked at bind/connect; they may have changed since (raises
        # ZMTPValueError then: the engine reports it and drops the connection).
        self.conn: Connection = host.new_connection(as_server=as_server)
        self.pipe: Pipe | None = None
        #: Protocol output (ERROR, PONG, PING) waiting for the writer.
        self.pending: list[Any] = []
        self.handshake_done = False
        #: The peer answered our handshake with ERROR (not "try again later").
        self.refused = False
        #: Why the connection ended (set before the engine's run returns).
        self.reason = ""
        #: The peer's protocol violation that ended the connection, if one did.
        self.violation: ProtocolError | None = None
        self.closed_event = ConnectionClosed(False, "peer closed the connection")
        self.heartbeat: HeartbeatSchedule | None = None
        # SUB and XSUB send subscriptions, which become commands for ZMTP 3.1 peers.
        self.subscriber = host.type in (SocketType.SUB, SocketType.XSUB)

    @property
    def keeps_pipe(self) -> bool:
        """True if the pipe outlives this connection (a connecter's own pipe)."""
        return self.connecter is not None and self.connecter.pipe is not None

    def start_heartbeat(self, now: float) -> HeartbeatSchedule:
        """The heartbeat plan of this connection, from the socket's options (RFC 37;
        a ZMTP 3.0 peer does not know PING, but we honour a TTL it sends). Made once;
        later calls return it."""
        if self.heartbeat is not None:
            return self.heartbeat
        opts = self.host.options
        version = self.conn.version
        self.heartbeat = HeartbeatSchedule(
            opts.get("heartbeat_ivl"),
            opts.get("heartbeat_timeout"),
            opts.get("heartbeat_ttl"),
            pinging=version is not None and version >= (3, 1),
            now=now,
        )
        return self.heartbeat

    # -- input -------------------------------------------------------------------------

    def split(self, events: list[Any]) -> list[Any]:
        """The messages among ``events`` (subscriptions included, as messages, in
        order); the other events are handled here."""
        msgs = []
        for ev in events:
            t = type(ev)
            if t is Message:
                msgs.append(ev)
            elif t is Subscribe or t is Cancel:
                msgs.append(SubscriptionMsg.make(ev.topic, t is Subscribe))
            elif t is ConnectionClosed:
                self.closed_event = ev
            elif t is Ping:
                self.peer_pinged(ev)
            elif self.pipe is not None:
                self.host.connection_event(self.pipe, ev)
        return msgs

    def peer_pinged(self, ev: Ping) -> None:
        """A PING: its TTL (tenths of a second) bounds how long we wait for traffic.
        The connection has already queued the PONG."""
        hb = self.heartbeat
        if hb is not None and hb.peer_ttl_changed(ev.ttl):
            self.replan_heartbeat()

    def replan_heartbeat(self) -> None:
        """The heartbeat deadline moved: engines wake their heartbeat timer."""

    def take_output(self) -> None:
        """Move the Connection's own output (PONG, ERROR) to the writer's pending list."""
        out = self.conn.data_to_send()
        if out:
            self.pending.append(out)

    # -- output --------------------------------------------------------------------------

    def encode(self, batch: list[Any], bufs: list[Any]) -> None:
        """Append the wire form of ``batch`` to ``bufs``. Once the peer has closed its
        side there is nothing to write to: that ends the connection."""
        if self.conn.state is not ConnectionState.TRAFFIC:
            raise ConnectionLost(self.closed_event.reason or "peer closed the connection")
        if self.subscriber:
            conn = self.conn
            for msg in batch:
                if type(msg) is SubscriptionMsg:
                    encode = conn.send_subscribe if msg.subscribe else conn.send_cancel
                    bufs.append(encode(msg.topic))
                else:
                    conn.send_messages([msg], bufs)
        elif self.conn.custom_framing:
            self.conn.send_messages(batch, bufs)
        else:
            encode_batch(batch, bufs)

    def encode_for_give_back(self, batch: list[Any], bufs: list[Any]) -> list[int] | None:
        """Encode like :meth:`encode`; where a failed write may have to give messages
        back (a connecter's pipe) and the encoding is not plain framing (whose message
        ends :func:`plain_ends` computes later, only if needed), also return where each
        message ends in the output (octets from the start of the first buffer
        appended)."""
        if not (self.keeps_pipe and (self.subscriber or self.conn.custom_framing)):
            self.encode(batch, bufs)
            return None
        ends: list[int] = []
        start = len(bufs)
        total = 0
        for msg in batch:
            self.encode([msg], bufs)
            total += sum(len(b) for b in bufs[start:])
            start = len(bufs)
            ends.append(total)
        return ends

    def give_back(self, batch: list[Any], ends: list[int] | None, written: int) -> None:
        """A write of ``batch`` failed after the kernel took ``written`` of its octets
        (counted from the batch's first octet): the messages not wholly taken go back
        to the front of the connecter's pipe."""
        pipe = self.pipe
        if pipe is None or not self.keeps_pipe or not batch:
            return
        if ends is None:
            ends = plain_ends(batch)
        done = sum(1 for end in ends if end <= written)
        pipe.out_q.items.extendleft(reversed(batch[done:]))


def next_read_size(size: int, took: float) -> int:
    """How much to ask of the kernel next, after a read of ``size`` octets that took
    ``took`` seconds to make and parse: half as much after a slow read (more than
    :data:`TURN`, down to :data:`MIN_READ`), twice as much after a fast one (less than
    a quarter of it, up to :data:`READ_SIZE`), else the same."""
    if took > TURN:
        return max(MIN_READ, size // 2)
    if took < TURN / 4 and size < READ_SIZE:
        return min(READ_SIZE, size * 2)
    return size


def drop_written(views: list[memoryview], n: int) -> None:
    """The kernel took ``n`` octets of a ``sendmsg(views)``: remove them from the front
    of ``views``, in place."""
    while n:
        first = views[0]
        if n >= len(first):
            n -= len(first)
            views.pop(0)
        else:
            views[0] = first[n:]
            n = 0


def plain_ends(batch: list[Any]) -> list[int]:
    """Where each message of ``batch`` ends in its plain ZMTP encoding (RFC 23: a
    1-octet size up to 255 octets, else 8; plus the flags octet)."""
    ends = []
    total = 0
    for msg in batch:
        for frame in msg:
            n = len(frame)
            total += n + (2 if n < 256 else 9)
        ends.append(total)
    return ends


def coalesce(bufs: list[Any]) -> list[Any]:
    """Join buffers so that no more than :data:`IOV_MAX` remain (keeping big ones
    apart)."""
    out: list[Any] = []
    run = bytearray()
    for b in bufs:
        if len(b) >= 65536:
            if run:
                out.append(run)
                run = bytearray()
            out.append(b)
        else:
            run += b
    if run:
        out.append(run)
    if len(out) > IOV_MAX:
        return [b"".join(bytes(b) for b in out)]
    return out
