"""A small ZeroMQ peer built from :class:`zmtp.testing.RawPeer`, with flaw switches.

:class:`ReferencePeer` listens on tcp, completes handshakes as one socket type, and
runs that type's semantics and the application ``zmtp conform`` expects (echo for
REP/ROUTER/DEALER/PAIR, a request loop for REQ, a publisher, a pusher, ...), with a
thread per connection. Without flaws it passes every conformance check; each flaw
breaks one rule on purpose:

========================  ================================================================
flaw                      what the peer does wrong
========================  ================================================================
``socket-type-spelling``  announces its type as ``Rep`` (wire: Misbehaviour)
``pong-without-context``  answers PING with an empty PONG (wire: Misbehaviour)
``no-pong``               never answers PING
``short-size``            writes every size in one octet, a lie above 255 octets
``reserved-flags``        sets reserved flag bit 7 on its frames after the handshake
``keeps-zmtp20``          carries on with ZMTP 3 after a ZMTP 2.0 greeting
``loses-envelope``        REP: replies without the request's envelope
``no-delimiter``          REQ: requests without the empty delimiter frame
``misroutes``             ROUTER: sends each echo to another connection
``no-filter``             PUB: sends every message to every subscriber
``first-only``            PUSH: sends everything to its first connection
``two-peers``             PAIR: serves every connection, not one at a time
``command-on-30``         SUB: sends SUBSCRIBE commands to ZMTP 3.0 publishers
========================  ================================================================

This is test scaffolding: threads, blocking sockets and short polls, kept simple.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import queue
import socket
import threading
import time
from collections.abc import Iterable

from zmtp.constants import COMPATIBLE_PEERS, SocketType
from zmtp.errors import ProtocolError
from zmtp.testing import Command, Misbehaviour, PeerClosed, RawListener, RawPeer, Silence
from zmtp.testing.peer import RawGreeting

T = SocketType
POLL = 0.05
#: Seconds a REQ waits for a reply before it sends a new request (the contract's one
#: second, shorter to keep tests quick).
REQ_RETRY = 0.8


@dataclasses.dataclass(eq=False)
class _Conn:
    peer: RawPeer
    number: int
    version: tuple[int, int] = (3, 1)
    out: queue.Queue[list[bytes]] = dataclasses.field(
        default_factory=lambda: queue.Queue(maxsize=1000)
    )
    subscriptions: list[bytes] = dataclasses.field(default_factory=list)
    alive: bool = True
    served: bool = True


class ReferencePeer:
    """A bound peer of ``socket_type`` with the given ``flaws`` (see the module doc)."""

    def __init__(
        self,
        socket_type: SocketType,
        flaws: Iterable[str] = (),
        *,
        feedback: str | None = None,
        endpoint: str = "tcp://127.0.0.1:*",
    ) -> None:
        self.type = socket_type
        self.flaws = frozenset(flaws)
        self.feedback = feedback
        self.misbehaviour = Misbehaviour(
            socket_type=b"Rep" if "socket-type-spelling" in self.flaws else None,
            pong_context="pong-without-context" not in self.flaws,
            answer_ping="no-pong" not in self.flaws,
            size_octets="short" if "short-size" in self.flaws else "auto",
        )
        self.listener = RawListener(endpoint, timeout=1.0)
        self.endpoint = self.listener.endpoint
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.conns: list[_Conn] = []
        self.replies: queue.Queue[tuple[_Conn, list[bytes]]] = queue.Queue()
        self._numbers = itertools.count()
        self._rr = itertools.count()
        self._threads: list[threading.Thread] = []
        self._peers: list[RawPeer] = []
        self._spawn(self._accept_loop)
        if socket_type in (T.PUSH, T.PUB, T.XPUB):
            self._spawn(self._publish_loop)
        if socket_type == T.REQ:
            self._spawn(self._request_loop)
        self._feed: RawPeer | None = None

    # -- lifetime -----------------------------------------------------------------------

    def _spawn(self, fn: object, *args: object) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        with self.lock:
            for peer in self._peers:
                # shutdown() wakes a thread blocked on the socket; close() alone would not.
                with contextlib.suppress(OSError):
                    peer.sock.shutdown(socket.SHUT_RDWR)
                peer.close()
        for t in self._threads:
            t.join(2)
        if self._feed is not None:
            self._feed.close()

    def __enter__(self) -> ReferencePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                peer = self.listener.accept(POLL)
            except Silence:
                continue
            except OSError:
                return
            peer.misbehaviour = dataclasses.replace(self.misbehaviour)
            with self.lock:
                self._peers.append(peer)
            self._spawn(self._serve, peer)

    def _greet(self, peer: RawPeer) -> bool:
        """Our greeting, then theirs judged as it arrives; False to hang up."""
        peer.send_greeting((3, 1), b"NULL")
        head = peer.recv_exactly(11)
        if head[0] != 0xFF or head[9] != 0x7F:
            return False
        if head[10] < 3 and "keeps-zmtp20" not in self.flaws:
            return False  # a ZMTP 3 peer that cannot downgrade closes (RFC 37)
        if head[10] < 3:
            # Carries on with ZMTP 3 regardless: READY, then waits for more.
            peer.send_command(
                b"READY",
                b"\x0bSocket-Type\x00\x00\x00"
                + bytes((len(self.type.name),))
                + self.type.wire_name,
            )
            peer.recv_available(3.0)
            return False
        rest = peer.recv_exactly(53)
        greeting = RawGreeting(head + rest)
        peer.peer_greeting = greeting
        return greeting.mechanism == b"NULL" and greeting.as_server in (0, 1)

    def _serve(self, peer: RawPeer) -> None:
        conn: _Conn | None = None
        try:
            if not self._greet(peer):
                return
            try:
                meta = peer.handshake(self.type, send_greeting=False, timeout=2.0)
            except ProtocolError as exc:
                peer.send_command(
                    b"ERROR", bytes((len(exc.reason[:255]),)) + exc.reason[:255].encode()
                )
                return
            theirs = SocketType.from_wire(meta.get("Socket-Type", b""))
            if theirs is None or theirs not in COMPATIBLE_PEERS[self.type]:
                reason = b"incompatible socket type"
                peer.send_command(b"ERROR", bytes((len(reason),)) + reason)
                return
            if "reserved-flags" in self.flaws:
                peer.misbehaviour.reserved_flags = 0x80
            conn = _Conn(peer, next(self._numbers), peer.version)
            with self.lock:
                if self.type == T.PAIR and "two-peers" not in self.flaws:
                    conn.served = not any(c.alive and c.served for c in self.conns)
                self.conns.append(conn)
            self._spawn(self._writer, conn)
            if self.type in (T.SUB, T.XSUB):
                self._subscribe(conn, b"alpha")
            self._read_loop(conn)
        except (PeerClosed, Silence, ProtocolError, OSError):
            pass
        finally:
            if conn is not None:
                conn.alive = False
            peer.close()

    def _subscribe(self, conn: _Conn, topic: bytes) -> None:
        if conn.version >= (3, 1) or "command-on-30" in self.flaws:
            conn.peer.send_command(b"SUBSCRIBE", topic)
        else:
            conn.peer.send_message([b"\x01" + topic])

    def _writer(self, conn: _Conn) -> None:
        while conn.alive and not self.stop.is_set():
            try:
                msg = conn.out.get(timeout=POLL)
            except queue.Empty:
                continue
            try:
                conn.peer.send_message(msg)
            except (PeerClosed, Silence, OSError):
                conn.alive = False

    def _read_loop(self, conn: _Conn) -> None:
        peer = conn.peer
        ttl_deadline: float | None = None
        while not self.stop.is_set():
            wait = (
                POLL
                if ttl_deadline is None
                else max(0.0, min(POLL, ttl_deadline - time.monotonic()))
            )
            try:
                ev = peer.recv_event(wait)
            except Silence:
                if ttl_deadline is not None and time.monotonic() >= ttl_deadline:
                    return  # RFC 37: nothing within the PING's TTL
                continue
            ttl_deadline = None
            if isinstance(ev, Command):
                if ev.frame.flags & 0xF8 or ev.frame.more:
                    return  # reserved bits, or MORE on a command: hang up
                if ev.name == b"PING" and ev.data[:2] != b"\x00\x00":
                    ttl_deadline = time.monotonic() + int.from_bytes(ev.data[:2], "big") / 10
                elif ev.name == b"SUBSCRIBE":
                    conn.subscriptions.append(ev.data)
                elif ev.name == b"CANCEL" and ev.data in conn.subscriptions:
                    conn.subscriptions.remove(ev.data)
                continue
            if any(f & 0xF8 for f in peer.last_flags):
                return
            self._on_message(conn, ev)

    # -- semantics ----------------------------------------------------------------------------

    def _others(self, conn: _Conn) -> list[_Conn]:
        with self.lock:
            return [c for c in self.conns if c.alive and c is not conn]

    def _live(self) -> list[_Conn]:
        with self.lock:
            return [c for c in self.conns if c.alive and c.served]

    def _on_message(self, conn: _Conn, msg: list[bytes]) -> None:
        t = self.type
        if t in (T.PUB, T.XPUB):
            if len(msg) == 1 and msg[0][:1] in (b"\x00", b"\x01"):
                topic = msg[0][1:]
                if msg[0][0] == 1:
                    conn.subscriptions.append(topic)
                elif topic in conn.subscriptions:
                    conn.subscriptions.remove(topic)
            return
        if t == T.REQ:
            self.replies.put((conn, msg))
            return
        if t == T.PULL:
            self._forward(msg)
            return
        if not conn.served:
            return
        if t == T.REP:
            if b"" not in msg:
                return  # no delimiter: not a request (RFC 28)
            cut = msg.index(b"") + 1
            envelope, body = msg[:cut], msg[cut:]
            reply = body if "loses-envelope" in self.flaws else envelope + body
            self._put(conn, reply)
        elif t == T.ROUTER:
            target = conn
            if "misroutes" in self.flaws and self._others(conn):
                target = self._others(conn)[0]
            self._put(target, msg)
        elif t == T.DEALER:
            live = self._live()
            if live:
                self._put(live[next(self._rr) % len(live)], msg)
        elif t == T.PAIR:
            self._put(conn, msg)

    def _put(self, conn: _Conn, msg: list[bytes]) -> None:
        """Queue ``msg`` for ``conn``, waiting for room while it lives (backpressure)."""
        while conn.alive and not self.stop.is_set():
            try:
                conn.out.put(msg, timeout=POLL)
                return
            except queue.Full:
                continue

    def _forward(self, msg: list[bytes]) -> None:
        if self.feedback is None:
            return
        with self.lock:
            try:
                if self._feed is None:
                    feed = RawPeer.connect(self.feedback, timeout=2.0)
                    feed.handshake(T.PUSH)
                    self._feed = feed
                self._feed.send_message(msg)
            except (OSError, PeerClosed, Silence, ProtocolError):
                self._feed = None  # nobody listens yet: the message is dropped

    def _publish_loop(self) -> None:
        topics = (b"alpha", b"beta", b"gamma")
        n = 0
        while not self.stop.is_set():
            live = self._live()
            if not live:
                time.sleep(POLL)  # pacing: nobody to send to yet
                continue
            n += 1
            msg = [topics[n % 3] + b" %d" % n]
            if self.type == T.PUSH:
                targets = [live[0]] if "first-only" in self.flaws else [live[n % len(live)]]
            else:
                targets = [
                    c
                    for c in live
                    if "no-filter" in self.flaws
                    or any(msg[0].startswith(s) for s in c.subscriptions)
                ]
            for c in targets:
                try:
                    c.out.put_nowait(msg)
                except queue.Full:
                    pass
            if n % 20 == 0:
                time.sleep(0.001)  # pacing: a steady stream, not a busy loop

    def _request_loop(self) -> None:
        body = [b"conform-start"]
        while not self.stop.is_set():
            live = self._live()
            if not live:
                time.sleep(POLL)  # pacing: nobody to ask yet
                continue
            target = live[next(self._rr) % len(live)]
            request = body if "no-delimiter" in self.flaws else [b"", *body]
            self._put(target, request)
            deadline = time.monotonic() + REQ_RETRY
            while time.monotonic() < deadline and not self.stop.is_set():
                try:
                    conn, reply = self.replies.get(timeout=POLL)
                except queue.Empty:
                    continue
                if conn is not target or reply[:1] != [b""]:
                    continue  # RFC 28: only the peer asked may answer
                body = reply[1:]
                break
