"""The probe: what every check uses to reach the peer under test.

A :class:`Probe` knows the peer's socket type and the way to reach it (connect to
its endpoint, or accept its connections with ``listen``), opens
:class:`~zmtp.testing.RawPeer` connections on demand, completes handshakes as a
socket type the peer accepts, and knows what the peer's *application* is expected to
do (the contract below), so that pattern checks can provoke traffic and read it.

The peer's application, per socket type (what ``zmtp conform --help`` tells users):

==========================  ==============================================================
peer type                   its application
==========================  ==============================================================
REP, ROUTER, DEALER, PAIR   sends every message it receives back (REP: as the reply;
                            ROUTER: to its sender, routing id first)
REQ                         sends a request, then each reply it gets as its next request;
                            with no reply within a second, a new request (REQ_RELAXED or
                            a new socket)
PUSH                        sends messages without pause
PUB, XPUB                   publishes messages without pause whose first frames do not
                            all start with the same octet
SUB, XSUB                   subscribes to at least one topic
PULL                        with ``feedback``: forwards every message it receives, on a
                            PUSH socket connected to the feedback endpoint
==========================  ==============================================================

Checks that need the application and do not get what they need from it are skipped
(:class:`~zmtp.conform.model.Prerequisite`), never failed.

This module does blocking I/O on sockets with deadlines; it never starts a trio loop.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import NoReturn

from zmtp.conform.model import HandshakeFailed, Prerequisite
from zmtp.constants import COMPATIBLE_PEERS, SocketType
from zmtp.errors import ProtocolError, ZMTPError, ZMTPValueError
from zmtp.testing.peer import (
    Command,
    Misbehaviour,
    PeerClosed,
    RawListener,
    RawPeer,
    Silence,
)
from zmtp.wire.commands import Metadata
from zmtp.wire.mechanisms import CurveClient, Mechanism, NullMechanism, PlainClient

__all__ = ["Options", "Probe", "Unreachable"]

T = SocketType

#: The type the probe plays against each peer type (any compatible type would do;
#: these let the probe send what the checks need).
PLAYS: dict[SocketType, SocketType] = {
    T.REQ: T.REP,
    T.REP: T.DEALER,
    T.DEALER: T.DEALER,
    T.ROUTER: T.DEALER,
    T.PUB: T.SUB,
    T.XPUB: T.SUB,
    T.SUB: T.PUB,
    T.XSUB: T.PUB,
    T.PUSH: T.PULL,
    T.PULL: T.PUSH,
    T.PAIR: T.PAIR,
}
#: Peer types whose application sends back what it receives.
ECHOES = frozenset({T.REP, T.ROUTER, T.DEALER, T.PAIR, T.REQ})
#: ... and whose echo comes back on the connection it came from.
ECHOES_BACK = frozenset({T.REP, T.ROUTER, T.PAIR})
#: Peer types with one served connection at a time (PAIR), or whose application
#: traffic any extra connection would disturb: every check runs alone for them.
ONE_AT_A_TIME = frozenset({T.PAIR, T.REQ})


class Unreachable(ZMTPError):
    """The peer could not be reached (nobody listening, no connection in time)."""


@dataclasses.dataclass
class Options:
    """What to probe and how (the ``zmtp conform`` arguments)."""

    endpoint: str
    socket_type: SocketType
    mechanism: str = "null"
    username: bytes = b""
    password: bytes = b""
    #: CURVE: the peer's (server's) public key; and optionally our client key pair
    #: (a fresh pair otherwise). Z85 text or 32 raw octets.
    server_key: bytes = b""
    public_key: bytes = b""
    secret_key: bytes = b""
    listen: bool = False
    hostile: bool = False
    only: tuple[str, ...] = ()
    #: Seconds to wait for an answer the peer owes us.
    timeout: float = 2.0
    #: Seconds of silence that show the peer is not going to do something.
    quiet: float = 0.3
    #: The peer's configured maximum message size, if it has one.
    maxmsgsize: int | None = None
    #: Endpoint the probe binds for the PULL application's forwarded messages.
    feedback: str | None = None
    #: Checks run side by side (when the peer type allows it).
    concurrency: int = 8


class Probe:
    """Connections to the peer under test, and what checks need to drive it."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.peer_type = options.socket_type
        self.mechanism_name = options.mechanism
        plays = PLAYS.get(self.peer_type)
        if plays is None:
            compatible = sorted(COMPATIBLE_PEERS[self.peer_type])
            plays = compatible[0]
        self.plays: SocketType = plays
        self.echoes = self.peer_type in ECHOES
        self._listener: RawListener | None = None
        self._accept_lock = threading.Lock()
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._feedback: _Feedback | None = None
        # A REQ peer's application always has one request out: the connection that
        # holds it is kept for the next check rather than closed (closing it would
        # leave the application waiting for its retry).
        self._parked: RawPeer | None = None
        self._park_lock = threading.Lock()
        self._baseline: str | None = None
        self._baseline_lock = threading.Lock()
        #: Findings checks share (e.g. whether a publisher filters at all), so that
        #: one flaw fails one check and the checks that build on it are skipped.
        self.facts: dict[str, object] = {}
        self.facts_lock = threading.Lock()
        self._client_keys: tuple[bytes, bytes] | None = None
        if options.mechanism == "curve" and not options.server_key:
            raise ZMTPValueError("CURVE needs the peer's public key (--server-key)")
        if options.mechanism == "curve" and bool(options.public_key) != bool(options.secret_key):
            raise ZMTPValueError("give both --public-key and --secret-key, or neither")

    # -- lifetime ---------------------------------------------------------------------

    def start(self) -> None:
        """Bind the listener in ``listen`` mode; check that the peer is reachable.

        Raises :class:`Unreachable`."""
        opts = self.options
        if opts.listen:
            try:
                self._listener = RawListener(opts.endpoint, timeout=opts.timeout)
            except OSError as exc:
                raise Unreachable(
                    f"cannot listen on {opts.endpoint}: {exc.strerror or exc}"
                ) from None
        if opts.feedback is not None:
            try:
                self.feedback()
            except OSError as exc:
                raise Unreachable(
                    f"cannot listen on the feedback endpoint {opts.feedback}: {exc.strerror or exc}"
                ) from None
        try:
            peer = self.open(timeout=max(opts.timeout, 5.0) if opts.listen else opts.timeout)
        except (OSError, Silence) as exc:
            what = (
                f"no connection from the peer to {self.endpoint}"
                if opts.listen
                else (f"cannot connect to {opts.endpoint}")
            )
            raise Unreachable(f"{what}: {exc}") from None
        try:
            peer.recv_exactly(1, what="first greeting octet")
        except (Silence, PeerClosed) as exc:
            # A peer that waits for our greeting is still reachable; one that closes
            # at once is not a ZMTP peer we can test.
            if isinstance(exc, PeerClosed):
                raise Unreachable(f"{opts.endpoint} closed the connection at once") from None
        finally:
            peer.close()

    def close(self) -> None:
        if self._parked is not None:
            self._parked.close()
        if self._feedback is not None:
            self._feedback.close()
        if self._listener is not None:
            self._listener.close()

    @property
    def endpoint(self) -> str:
        return self._listener.endpoint if self._listener is not None else self.options.endpoint

    @property
    def one_at_a_time(self) -> bool:
        return self.options.listen or self.peer_type in ONE_AT_A_TIME

    # -- connections ------------------------------------------------------------------

    def open(
        self, *, misbehaviour: Misbehaviour | None = None, timeout: float | None = None
    ) -> RawPeer:
        """A new raw connection to the peer, nothing sent yet."""
        opts = self.options
        if self._listener is not None:
            with self._accept_lock:
                peer = self._listener.accept(timeout if timeout is not None else opts.timeout)
            if misbehaviour is not None:
                peer.misbehaviour = misbehaviour
            return peer
        return RawPeer.connect(opts.endpoint, timeout=opts.timeout, misbehaviour=misbehaviour)

    def client_mechanism(self) -> Mechanism:
        """A fresh client-side mechanism with the configured credentials."""
        opts = self.options
        if opts.mechanism == "plain":
            return PlainClient(opts.username, opts.password)
        if opts.mechanism == "curve":
            public, secret = self.client_keys()
            return CurveClient(opts.server_key, public, secret)
        return NullMechanism()

    def client_keys(self) -> tuple[bytes, bytes]:
        """Our CURVE key pair: the configured one, or one made for this run."""
        if self._client_keys is None:
            opts = self.options
            if opts.public_key:
                self._client_keys = (opts.public_key, opts.secret_key)
            else:
                from zmtp.wire.z85 import curve_keypair

                self._client_keys = curve_keypair()
        return self._client_keys

    def session(
        self,
        *,
        version: tuple[int, int] = (3, 1),
        socket_type: SocketType | None = None,
        properties: Mapping[str, bytes] | None = None,
        routing_id: bytes = b"",
        misbehaviour: Misbehaviour | None = None,
        octet_by_octet: bool = False,
        mechanism: Mechanism | None = None,
        served: bool | None = None,
    ) -> RawPeer:
        """A connection with its handshake done, as the type the probe plays.

        Against a PAIR peer, which serves one connection at a time, it retries until
        the peer serves the new connection (its application echoes), unless ``served``
        is False. Raises :class:`Prerequisite` when no handshake completes.
        """
        opts = self.options
        plain = (
            version == (3, 1)
            and socket_type is None
            and not properties
            and misbehaviour is None
            and not octet_by_octet
            and mechanism is None
        )
        if plain and self.peer_type == T.REQ:
            with self._park_lock:
                parked, self._parked = self._parked, None
            if parked is not None and not parked.closed_by_peer:
                parked.reusable = True
                return parked
        must_serve = self.peer_type == T.PAIR if served is None else served
        deadline = time.monotonic() + max(opts.timeout * 2, 2.0)
        last = ""
        while True:
            try:
                peer = self.open(misbehaviour=misbehaviour)
            except (OSError, Silence) as exc:
                raise Prerequisite(f"no connection: {exc}") from None
            try:
                peer.handshake(
                    socket_type or self.plays,
                    mechanism=mechanism or self.client_mechanism(),
                    version=version,
                    properties=properties,
                    routing_id=routing_id,
                    octet_by_octet=octet_by_octet,
                )
                if not must_serve or self._serves(peer):
                    peer.reusable = plain
                    return peer
                last = "the peer does not serve a new connection (its previous one may linger)"
            except (ProtocolError, PeerClosed, Silence, OSError) as exc:
                last = f"handshake failed: {describe(exc)}"
                if not must_serve:
                    peer.close()
                    self.failed_handshake(last)
            peer.close()
            if time.monotonic() > deadline:
                self.failed_handshake(last)
            time.sleep(0.05)  # pacing: give the peer time to let the old connection go

    def failed_handshake(self, why: str) -> NoReturn:
        """Raise for a handshake that failed: :class:`HandshakeFailed` when a plain
        handshake works (so the failure is this check's to report), else
        :class:`Prerequisite` (the check is skipped: the peer cannot be tested)."""
        baseline = self.baseline()
        if baseline:
            raise Prerequisite(f"no handshake completes: {baseline}")
        raise HandshakeFailed(why)

    def baseline(self) -> str:
        """Why a plain handshake fails, or ``""`` when it works (tried once)."""
        with self._baseline_lock:
            if self._baseline is None:
                try:
                    peer = self.open()
                    try:
                        peer.handshake(self.plays, mechanism=self.client_mechanism())
                        self._baseline = ""
                    finally:
                        peer.close()
                except (ProtocolError, PeerClosed, Silence, OSError) as exc:
                    self._baseline = describe(exc)
            return self._baseline

    def _serves(self, peer: RawPeer) -> bool:
        marker = [b"conform-served-%d" % self.next_number()]
        peer.send_message(marker)
        try:
            while True:
                ev = peer.recv_event(self.options.quiet * 2)
                if ev == marker:
                    return True
        except (Silence, PeerClosed, ProtocolError):
            return False

    def next_number(self) -> int:
        with self._counter_lock:
            self._counter += 1
            return self._counter

    # -- the application's traffic --------------------------------------------------------

    def wrap(self, frames: list[bytes]) -> list[bytes]:
        """What to send so that the peer's application sees ``frames`` (a REP peer
        needs the empty delimiter in front)."""
        if self.peer_type == T.REP:
            return [b"", *frames]
        return list(frames)

    def echo(self, peer: RawPeer, frames: list[bytes], timeout: float | None = None) -> list[bytes]:
        """Have the peer's application send ``frames`` back; return the message that
        came back, as it came (with the REP/REQ envelope).

        REP, ROUTER, DEALER, PAIR peers get ``frames`` and echo them; a REQ peer's
        pending request is answered with ``frames`` and its next request returned.
        Raises :class:`Silence` when nothing comes back.
        """
        limit = self.options.timeout if timeout is None else timeout
        if self.peer_type == T.REQ:
            self.request(peer, limit)
            peer.send_message([b"", *frames])
            back = peer.recv_message(limit)
            peer.held = back  # the echo is the application's next request
            return back
        peer.send_message(self.wrap(frames))
        return peer.recv_message(limit)

    def request(self, peer: RawPeer, timeout: float | None = None) -> list[bytes]:
        """The pending request of a REQ peer's application (one read earlier and not
        answered yet, or the next to arrive)."""
        if peer.held is not None:
            held, peer.held = peer.held, None
            return held
        return peer.recv_message(self.options.timeout if timeout is None else timeout)

    def alive(self, peer: RawPeer) -> tuple[bool, str]:
        """Is the connection still up? The peer must not close it within the wait.

        A PONG to our PING (ZMTP 3.1), or an echo from a peer that echoes on the same
        connection, ends the wait early: the peer read everything before it. Whether
        PONGs and echoes are right is for their own checks to say; here, silence on
        an open connection still counts as alive. Returns ``(alive, what was seen)``.
        """
        if peer.closed_by_peer:
            return False, f"the peer {peer.closed_by_peer} the connection"
        context = b"conform-%d" % self.next_number()
        try:
            if peer.version >= (3, 1):
                peer.ping(0, context)
                expect = "PONG"
            elif self.peer_type in ECHOES_BACK:
                peer.send_message(self.wrap([context]))
                expect = "echo"
            else:
                expect = ""
            deadline = time.monotonic() + (self.options.timeout if expect else self.options.quiet)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ev = peer.recv_event(left)
                if expect == "PONG" and isinstance(ev, Command) and ev.name == b"PONG":
                    return True, "answered PING with PONG"
                if expect == "echo" and isinstance(ev, list) and ev[-1:] == [context]:
                    return True, "echoed a message"
        except PeerClosed as exc:
            return False, f"the peer {exc.how} the connection"
        except Silence:
            pass
        except ProtocolError as exc:
            return False, f"sent undecodable traffic: {exc.reason}"
        if expect:
            return True, f"kept the connection open (but no {expect})"
        return True, "kept the connection open"

    def came_back(self, back: list[bytes], frames: list[bytes]) -> bool:
        """Is ``back`` the echo of ``frames``? For REP and REQ peers the empty delimiter
        in front may be missing: that is for the envelope checks to judge."""
        if self.peer_type in (T.REP, T.REQ):
            return back in ([b"", *frames], frames)
        return back == frames

    def finish(self, peer: RawPeer) -> None:
        """Close a connection; a REQ peer's pending request is answered first, so its
        application does not wait for a reply that cannot come."""
        if self.peer_type == T.REQ and not peer.closed_by_peer:
            if peer.reusable and not peer.has_partial_message:
                with self._park_lock:
                    if self._parked is None:
                        self._parked = peer
                        return
            try:
                if peer.held is not None:
                    peer.send_message([b"", b"conform-done"])
                for ev in peer.collect(0.05):
                    if isinstance(ev, list) and ev[:1] == [b""]:
                        peer.send_message([b"", b"conform-done"])
            except (OSError, ProtocolError):
                pass
        peer.close()

    # -- feedback (PULL) ---------------------------------------------------------------------

    def feedback(self) -> _Feedback | None:
        """The channel on which a PULL peer's application forwards what it receives
        (None without ``feedback``); bound on first use."""
        if self.options.feedback is None:
            return None
        if self._feedback is None:
            self._feedback = _Feedback(self.options.feedback, self.options.timeout)
        return self._feedback


class _Feedback:
    """A PULL the probe binds for the forwarded messages of a PULL peer's
    application: one connection, read by a thread into a queue."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.listener = RawListener(endpoint, timeout=timeout)
        self.messages: queue.Queue[list[bytes]] = queue.Queue()
        self.error: str = ""
        self._stop = False
        self._peers: list[RawPeer] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="conform-feedback")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                peer = self.listener.accept(0.2)
            except Silence:
                continue
            except OSError:
                return
            self._peers.append(peer)
            threading.Thread(target=self._read, args=(peer,), daemon=True).start()

    def _read(self, peer: RawPeer) -> None:
        try:
            peer.handshake(T.PULL, timeout=5.0)
            while not self._stop:
                try:
                    self.messages.put(peer.recv_message(0.2))
                except Silence:
                    continue
        except (OSError, ProtocolError, PeerClosed, Silence) as exc:
            if not self._stop:
                self.error = describe(exc)

    def drain(self) -> list[list[bytes]]:
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out

    def wait_for(
        self, predicate: Callable[[list[bytes]], bool], timeout: float
    ) -> tuple[list[bytes] | None, list[list[bytes]]]:
        """The first forwarded message matching ``predicate`` within ``timeout``, and
        every message forwarded meanwhile (in order)."""
        deadline = time.monotonic() + timeout
        seen: list[list[bytes]] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, seen
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                return None, seen
            seen.append(msg)
            if predicate(msg):
                return msg, seen

    def close(self) -> None:
        self._stop = True
        self.listener.close()
        for peer in self._peers:
            peer.close()


def describe(exc: BaseException) -> str:
    """One line for a report."""
    if isinstance(exc, ProtocolError):
        return exc.reason
    if isinstance(exc, PeerClosed):
        return f"the peer {exc.how} the connection"
    if isinstance(exc, Silence):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"{type(exc).__name__}: {exc}"


def show(data: bytes, limit: int = 32) -> str:
    """Octets in hex for a report (cut at ``limit``)."""
    if not data:
        return "nothing"
    text = data[:limit].hex(" ")
    return text + (f" ... ({len(data)} octets)" if len(data) > limit else "")


def show_message(msg: list[bytes], limit: int = 3) -> str:
    parts = []
    for frame in msg[:limit]:
        if len(frame) > 24:
            parts.append(f"<{len(frame)} octets>")
        else:
            parts.append(repr(frame))
    if len(msg) > limit:
        parts.append(f"... ({len(msg)} frames)")
    return "[" + ", ".join(parts) + "]"


def metadata_text(meta: Metadata) -> str:
    return ", ".join(f"{name}={meta[name]!r}" for name in meta) or "no properties"


@dataclasses.dataclass
class Reaction:
    """How the peer reacted to something: did it close, did it say why (ERROR)."""

    closed: bool
    how: str = ""
    error: Command | None = None
    events: list[list[bytes] | Command] = dataclasses.field(default_factory=list)
    undecodable: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        parts = []
        if self.error is not None:
            parts.append(f"ERROR {error_reason(self.error)!r}")
        if self.undecodable:
            parts.append(f"undecodable octets ({self.undecodable})")
        others = [e for e in self.events if e is not self.error]
        commands = [e.name.decode("ascii", "replace") for e in others if isinstance(e, Command)]
        messages = len(others) - len(commands)
        if commands:
            shown = ", ".join(commands[:3]) + (
                f" and {len(commands) - 3} more" if len(commands) > 3 else ""
            )
            parts.append(shown)
        if messages:
            parts.append(f"{messages} message(s)")
        parts.append(
            f"{self.how} the connection after {self.seconds:.2f} s"
            if self.closed
            else "kept the connection open"
        )
        return ", then ".join(parts)


def react(peer: RawPeer, timeout: float, quiet: float = 0.3) -> Reaction:
    """Read until the peer closes (or ``timeout`` passes), noting an ERROR command.

    After a completed ZMTP 3.1 handshake a PING follows what was sent: a peer reads in
    order, so its PONG means it took what came before without closing, and only
    ``quiet`` seconds more are spent waiting for a close."""
    start = time.monotonic()
    deadline = start + timeout
    out = Reaction(closed=False)
    context = b"conform-react"
    if peer.peer_metadata is not None and peer.version >= (3, 1):
        try:
            peer.ping(0, context)
        except (PeerClosed, Silence):
            pass  # the reading below says how the connection ended
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            ev = peer.recv_event(left, answer_ping=False)
        except PeerClosed as exc:
            out.closed, out.how = True, exc.how
            break
        except Silence:
            break
        except ProtocolError as exc:
            out.undecodable = exc.reason
            out.closed = peer.wait_closed(max(0.0, deadline - time.monotonic()))
            out.how = peer.closed_by_peer or ""
            break
        if isinstance(ev, Command) and ev.name == b"PONG" and ev.data == context:
            deadline = min(deadline, time.monotonic() + quiet)
            continue
        out.events.append(ev)
        if isinstance(ev, Command) and ev.name == b"ERROR" and out.error is None:
            out.error = ev
    out.seconds = time.monotonic() - start
    return out


def error_reason(cmd: Command) -> str:
    """The reason of an ERROR command (as much as is there)."""
    data = cmd.data
    if not data:
        return ""
    return data[1 : 1 + data[0]].decode("utf-8", "replace")


def error_departure(cmd: Command) -> str:
    """What is wrong with how an ERROR command is written, or ``""`` (RFC 23:
    ``error = command-size %d5 "ERROR" error-reason``, ``error-reason = OCTET 0*255VCHAR``)."""
    if cmd.quirk:
        return cmd.quirk
    data = cmd.data
    if not data or len(data) != 1 + data[0]:
        return f"the reason size octet does not match the reason ({show(data)})"
    return ""


class Poller:
    """Events from several connections, taken in turn so that one busy connection
    cannot hide the others."""

    def __init__(self, peers: list[RawPeer], step: float = 0.01) -> None:
        self.peers = peers
        self.step = step
        self._next = 0

    def next(self, timeout: float) -> tuple[int, list[bytes] | Command] | None:
        """The next event on any connection as ``(index, event)``, or None when none
        comes within ``timeout``. A connection that closes raises :class:`PeerClosed`."""
        deadline = time.monotonic() + timeout
        n = len(self.peers)
        for i, peer in enumerate(self.peers):
            if peer.held is not None:
                held, peer.held = peer.held, None
                return i, held
        while time.monotonic() < deadline:
            for k in range(n):
                i = (self._next + k) % n
                try:
                    ev = self.peers[i].recv_event(self.step)
                except Silence:
                    continue
                self._next = (i + 1) % n
                return i, ev
        return None
