"""The sans-IO ZMTP connection: one peer, bytes in, events out.

Theory of operation
-------------------
A :class:`Connection` is the whole protocol for one peer, with no sockets, clocks or
threads. Whoever owns the transport does three things in a loop::

    conn = Connection(SocketType.DEALER)
    transport.write(conn.data_to_send())          # our greeting, queued at creation
    while True:
        conn.receive_data(transport.read())       # b"" when the peer closed
        for event in conn.events():               # raises once the peer broke a rule
            ...
        transport.write(conn.data_to_send())      # handshake replies, PONGs, ERROR

and turns outgoing traffic into bytes with :meth:`Connection.send_message`,
:meth:`~Connection.send_subscribe` and friends, which return the bytes to write.

The connection moves through these states (RFC 23 "Overall Behavior")::

    GREETING ──3.x greeting ok──► HANDSHAKE ──mechanism complete──► TRAFFIC
    GREETING ──ZMTP 2.0/1.0 peer──► IDENTITY ──peer's identity frame──► TRAFFIC
    any state but CLOSED ──violation──► FAILED (error raised by events()/next_event())
    any state ──receive_data(b"")──► CLOSED (ConnectionClosed event)

:data:`_ACCEPTS` below is the table of what each state accepts from the peer.

Errors
------
A peer's violation never escapes :meth:`receive_data`. The events that arrived before
it are delivered first; then :meth:`events` (or :meth:`next_event`) raises the
:class:`~zmtp.errors.ProtocolError` — a :class:`~zmtp.errors.HandshakeError` before
traffic — and the connection stays FAILED. If the peer can still read commands (the
handshake had started) an ERROR command with the reason is left in
:meth:`data_to_send` (unless the mechanism may not send one: a CURVE client): flush
it, then close the transport. Nothing else ever escapes;
any other exception is a bug in zmtp.

Misuse by the caller (sending before the handshake completed, a PING to a ZMTP 3.0
peer) raises :class:`~zmtp.errors.InvalidState` at the call.

Versions
--------
We announce ZMTP 3.1. Against a 3.0 peer we speak 3.0 (RFC 37 "Version
Negotiation"): subscriptions travel as messages whose first octet is 1 or 0 rather
than SUBSCRIBE/CANCEL commands, and we send no PING/PONG. Both subscription forms are
accepted whatever the version, and a PING from a 3.0 peer is reported (it proves the
peer alive) but not answered.

Older peers are spoken to in their own protocol, as libzmq does (RFC 23 "Version
Negotiation" allows it; :mod:`zmtp.wire.greeting` explains the detection). Our greeting
goes out in stages so that nothing a ZMTP 2.0 or 1.0 peer cannot read is sent before
its version is known. With such a peer the connection moves GREETING ──► IDENTITY ──►
TRAFFIC: each side sends one identity frame (RFC 15, RFC 13), which completes the
handshake; there are no mechanisms, metadata, commands or heartbeats, subscriptions
travel as messages, and ZMTP 1.0 uses its own framing (:mod:`zmtp.wire.legacy`). A
connection configured for PLAIN, CURVE or ZAP authentication refuses such a peer
(RFC 23: security is assertive), and ``min_version`` refuses old peers outright. A
publisher treats a ZMTP 1.0 peer that sent no greeting as subscribed to everything,
since those subscribers never send subscriptions (libzmq does the same).
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from zmtp.constants import SocketType, compatible
from zmtp.errors import (
    AuthenticationFailed,
    HandshakeError,
    InvalidState,
    PeerError,
    ProtocolError,
    ZMTPValueError,
    detached,
)
from zmtp.wire import commands as cmd
from zmtp.wire.commands import Metadata, encode_metadata, parse_command
from zmtp.wire.events import (
    Cancel,
    ConnectionClosed,
    Event,
    GreetingReceived,
    HandshakeComplete,
    Message,
    Ping,
    Pong,
    Subscribe,
    UnknownCommand,
)
from zmtp.wire.frames import (
    COMMAND,
    MORE,
    Buffer,
    FrameDecoder,
    encode_batch,
    encode_command_frame,
    encode_message,
)
from zmtp.wire.greeting import (
    GREETING_SIZE,
    OLD_GREETING_SIZE,
    SIGNATURE_SIZE,
    VERSION_DETECT_SIZE,
    Greeting,
    GreetingParser,
    encode_greeting,
    encode_old_greeting,
)
from zmtp.wire.legacy import (
    IDENTITY_LIMIT,
    V1FrameDecoder,
    encode_identity,
    encode_v1_batch,
    encode_v1_message,
    peer_socket_type,
    wire_socket_type,
)
from zmtp.wire.mechanisms.base import (
    AuthDecision,
    Authenticator,
    AuthRequest,
    Mechanism,
    coerce_decision,
)
from zmtp.wire.mechanisms.null import NullMechanism

__all__ = ["NEED_DATA", "Connection", "ConnectionState"]


class ConnectionState(enum.Enum):
    GREETING = "greeting"  # RFC 23 "The Greeting"
    HANDSHAKE = "handshake"  # the mechanism's commands, ending with metadata
    IDENTITY = "identity"  # ZMTP 2.0/1.0: the peer's identity frame (RFC 15, RFC 13)
    TRAFFIC = "traffic"  # messages and commands
    CLOSED = "closed"  # the peer closed its side
    FAILED = "failed"  # a rule was broken; the error is raised by events()


class _NeedData:
    """Sentinel returned by :meth:`Connection.next_event` when no event is pending."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()

_S = ConnectionState
#: What each state accepts from the peer (for error messages and the docs).
_ACCEPTS: dict[ConnectionState, str] = {
    _S.GREETING: "the greeting (64 octets; 12 from a ZMTP 2.0 peer)",
    _S.HANDSHAKE: "the security mechanism's commands",
    _S.IDENTITY: "the identity frame of a ZMTP 2.0 or 1.0 peer",
    _S.TRAFFIC: "messages and commands",
    _S.CLOSED: "nothing (the peer closed the connection)",
    _S.FAILED: "nothing (the connection failed)",
}

#: ZMTP 3.1, the version we announce.
ZMTP_31 = (3, 1)
ZMTP_30 = (3, 0)
#: The older protocols we speak with peers that announce them (RFC 15, RFC 13).
ZMTP_20 = (2, 0)
ZMTP_10 = (1, 0)
_VERSIONS = (ZMTP_10, ZMTP_20, ZMTP_30, ZMTP_31)
_OLD_NAMES = {1: "ZMTP 1.0 (RFC 13)", 2: "ZMTP 2.0 (RFC 15)"}
#: Largest command accepted during the handshake (metadata, credentials, CURVE boxes),
#: by default. libzmq bounds them by maxmsgsize alone; we refuse a peer that claims
#: more before buffering it (the ``handshake_max_command`` option changes it).
HANDSHAKE_COMMAND_LIMIT = 64 * 1024
#: Largest command accepted inside a transformed (CURVE) frame whatever maxmsgsize says:
#: PING, PONG and most subscriptions fit.
_WRAPPED_COMMAND_ALLOWANCE = 1024
#: The types that send their Identity property (as libzmq does).
_SENDS_IDENTITY = frozenset({SocketType.REQ, SocketType.DEALER, SocketType.ROUTER})
_PUBLISHERS = frozenset({SocketType.PUB, SocketType.XPUB})


def _peer_check(conn: Connection) -> Callable[[Metadata], None]:
    """The mechanism's metadata check, holding the connection only weakly: a bound
    method would put the connection and its mechanism in a reference cycle, and a
    closed connection's buffers would then wait for the cycle collector."""
    ref = weakref.ref(conn)

    def validate(meta: Metadata) -> None:
        live = ref()
        if live is None:
            raise InvalidState("the connection this mechanism belonged to is gone")
        live._validate_peer(meta)

    return validate


class Connection:
    """The protocol state machine for one ZMTP peer.

    Parameters:
        socket_type: our socket type, announced in the ``Socket-Type`` property.
        mechanism: a security mechanism instance (default: NULL as a client).
        routing_id: our ``Identity`` property (sent for REQ, DEALER and ROUTER).
        properties: extra metadata, typically application ``X-`` properties.
        maxmsgsize: the largest message accepted, counting every frame (-1: no limit).
        max_frames: the most frames one message may have (None: no limit).
        authenticator: decides on a server-side mechanism's :class:`AuthRequest`;
            return a decision or a bool at once, or None and call
            :meth:`resolve_auth` later. Without one, a PLAIN server refuses every
            client (as libzmq does when no ZAP handler is installed).
        check_socket_type: refuse peers that RFC 37's table forbids (default True);
            for a ZMTP 2.0 peer, the table applies to its greeting's socket-type octet.
        version: the ZMTP version we announce, (3, 1) or (3, 0). (2, 0) and (1, 0)
            make this side a ZMTP 2.0 or 1.0 peer, for testing other implementations;
            they need the NULL mechanism.
        min_version: the oldest protocol a peer may speak: (1, 0) (the default, as
            libzmq) talks to every peer; (2, 0) refuses ZMTP 1.0; (3, 0) refuses both
            older versions and sends our whole greeting at once (RFC 23 "Version
            Negotiation", which saves a round trip); (3, 1) refuses ZMTP 3.0 too. A
            PLAIN, CURVE or authenticating NULL connection refuses older peers in any
            case (they have no security), so it also sends its greeting at once.
        handshake_max_command: the largest command accepted before the handshake
            completes, in octets (default 64 KiB; -1: only ``maxmsgsize`` bounds it,
            as in libzmq).
    """

    def __init__(
        self,
        socket_type: SocketType | int | str,
        *,
        mechanism: Mechanism | None = None,
        routing_id: bytes = b"",
        properties: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        max_frames: int | None = None,
        authenticator: Authenticator | None = None,
        check_socket_type: bool = True,
        version: tuple[int, int] = ZMTP_31,
        handshake_max_command: int = HANDSHAKE_COMMAND_LIMIT,
        min_version: tuple[int, int] = ZMTP_10,
    ) -> None:
        version = tuple(version)  # type: ignore[assignment]
        min_version = tuple(min_version)  # type: ignore[assignment]
        if version not in _VERSIONS:
            raise ZMTPValueError(f"zmtp speaks ZMTP 3.1, 3.0, 2.0 or 1.0, not {version}")
        if min_version not in _VERSIONS or min_version > version:
            raise ZMTPValueError(
                f"min_version must be one of {_VERSIONS} and at most version {version}, "
                f"not {min_version}"
            )
        self.socket_type = SocketType.coerce(socket_type)
        self.mechanism = mechanism if mechanism is not None else NullMechanism()
        if version < ZMTP_30 and not _insecure(self.mechanism):
            raise ZMTPValueError(
                f"ZMTP {version[0]}.{version[1]} has no security mechanisms; "
                "it needs the NULL mechanism without authentication"
            )
        self.routing_id = bytes(routing_id)
        self.maxmsgsize = maxmsgsize
        self.check_socket_type = check_socket_type
        self.local_version = version
        self.min_version = min_version
        self._authenticator = authenticator
        self._max_frames = max_frames

        self.state = ConnectionState.GREETING
        #: The peer's greeting, once received.
        self.peer_greeting: Greeting | None = None
        #: The negotiated version: ours, or the peer's if it is lower (RFC 37).
        self.version: tuple[int, int] | None = None
        self.peer_socket_type: SocketType | None = None
        self.peer_routing_id = b""
        self.peer_properties: Metadata = Metadata()
        #: The error that failed the connection, if any.
        self.error: ProtocolError | None = None

        self._greeting = GreetingParser(old_only=version < ZMTP_30)
        self._decoder = FrameDecoder(
            maxmsgsize=maxmsgsize,
            max_frames=max_frames,
            max_command_size=handshake_max_command,  # -1: maxmsgsize
        )
        self._decoder.commands_only = True
        self._events: list[Event | list[bytes]] = []
        self._only_messages = False  # see receive_messages()
        self._ev_pos = 0
        self._out: list[bytes] = []
        self._auth_pending = False
        self._transform = self.mechanism.transforms_traffic
        # Message assembly for transforming mechanisms (CURVE), whose frames arrive
        # one by one inside commands.
        self._partial: list[bytes] = []
        self._partial_size = 0
        # Our socket receives subscriptions (PUB/XPUB) and so must read ZMTP 3.0
        # subscription messages.
        self._reads_subscriptions = self.socket_type in _PUBLISHERS
        # ZMTP 1.0 framing (RFC 13), and whether the peer sent no greeting at all.
        self._v1 = False
        self._no_greeting = False
        #: True when traffic must be encoded by :meth:`send_messages` rather than by
        #: :func:`zmtp.wire.frames.encode_batch`: CURVE boxes every frame, and ZMTP 1.0
        #: has a framing of its own.
        self.custom_framing = self._transform

        props: list[tuple[str, bytes]] = [("Socket-Type", self.socket_type.wire_name)]
        if self.socket_type in _SENDS_IDENTITY:
            props.append(("Identity", self.routing_id))
        for name, value in (properties or {}).items():
            if name.lower() in ("socket-type", "identity"):
                raise ZMTPValueError(
                    f"property {name!r} is set by zmtp itself (RFC 23 The Socket-Type Property, "
                    "The Identity Property)"
                )
            props.append((name, value))
        self.mechanism.bind(encode_metadata(props), _peer_check(self))
        #: The identity frame a ZMTP 2.0/1.0 peer gets: our Identity property's value.
        self._identity = self.routing_id if self.socket_type in _SENDS_IDENTITY else b""
        self._peer_checked = False
        self._open(version, min_version)

    def _open(self, version: tuple[int, int], min_version: tuple[int, int]) -> None:
        """Queue what goes out first: our whole greeting when no downgrade is possible,
        its signature when we detect older peers (the rest follows in stages, see
        _advance_greeting), or, as a ZMTP 1.0 peer, our identity frame."""
        self._staged = b""
        self._sent = 0
        if version == ZMTP_10:
            # A ZMTP 1.0 peer has no greeting: its identity frame comes first (RFC 13).
            self._out.append(encode_identity(self._identity, ZMTP_10))
            self.version = ZMTP_10
            self._start_identity()
            return
        padding = len(self._identity) + 1  # RFC 15: our identity frame's length
        mech = self.mechanism
        if version < ZMTP_30:
            greeting = encode_old_greeting(wire_socket_type(self.socket_type), padding=padding)
        elif min_version < ZMTP_30 and _insecure(mech):
            greeting = encode_greeting(mech.name, mech.greeting_as_server, version, padding=padding)
        else:
            # No downgrade (refused by min_version, or by a mechanism that older peers
            # cannot have): the whole greeting at once, zero padding (RFC 23).
            self._staged = encode_greeting(mech.name, mech.greeting_as_server, version)
            self._sent = len(self._staged)
            self._out.append(self._staged)
            return
        self._staged = greeting
        self._sent = SIGNATURE_SIZE
        self._out.append(greeting[:SIGNATURE_SIZE])

    # ---------------------------------------------------------------------------------
    # Input

    def receive_data(self, data: Buffer) -> None:
        """Feed octets received from the peer; ``b""`` means the peer closed.

        Never raises for anything the peer sent: see the module docstring.
        """
        state = self.state
        if state is _S.FAILED:
            return
        if state is _S.CLOSED:
            if data:
                raise InvalidState("receive_data() after the peer closed the connection")
            return
        if not data:
            self._on_eof()
            return
        try:
            if state is _S.GREETING:
                parser = self._greeting
                n = parser.feed(data)
                self._advance_greeting()
                if parser.greeting is None:
                    return
                self._on_greeting(parser.greeting)
                data = data[n:]
                if self.state is _S.FAILED:
                    return
            self._decoder.feed(data)
            self._drain()
        except ProtocolError as exc:
            self._fail(exc)

    def body_buffer(self) -> memoryview | None:
        """Where to ``recv_into`` the rest of a large body being received, if any.

        Call :meth:`body_received` with the count written. Saves a copy of large
        frames; using it is optional.
        """
        if self.state is not _S.TRAFFIC or self._transform:
            return None
        return self._decoder.body_buffer()

    def body_received(self, n: int) -> None:
        """Record ``n`` octets written into :meth:`body_buffer` and parse on."""
        self._decoder.body_written(n)
        try:
            self._drain()
        except ProtocolError as exc:
            self._fail(exc)

    def next_event(self) -> Event | list[bytes] | _NeedData:
        """The next event, or :data:`NEED_DATA`. Raises the connection's error once
        every event before it has been returned."""
        events = self._events
        if self._ev_pos < len(events):
            ev = events[self._ev_pos]
            self._ev_pos += 1
            if self._ev_pos == len(events):
                self._events = []
                self._ev_pos = 0
            return ev
        if self.error is not None:
            raise detached(self.error)  # a copy: see _fail
        return NEED_DATA

    def events(self) -> list[Event | list[bytes]]:
        """Every pending event, in order. Raises the connection's error when no event
        is pending and the connection failed (so call it until it returns ``[]``, or
        once per ``receive_data`` and again before giving up on the peer)."""
        events = self._events
        if events:
            if self._ev_pos:
                events = events[self._ev_pos :]
            self._events = []
            self._ev_pos = 0
            return events
        if self.error is not None:
            raise detached(self.error)  # a copy: see _fail
        return events

    def receive_messages(self, data: Buffer) -> list[list[bytes]] | None:
        """:meth:`receive_data`, then, if everything it produced is messages, those
        messages (taken off the event queue); else None, and :meth:`events` has them.

        A shortcut for engines moving traffic in bulk: no per-event dispatch.
        """
        self._only_messages = False
        self.receive_data(data)
        if self._only_messages and not self._ev_pos and self.error is None:
            messages = self._events
            self._events = []
            return messages  # type: ignore[return-value]
        return None

    def data_to_send(self) -> bytes:
        """Octets the protocol itself wants sent (greeting, handshake, PONG, ERROR)."""
        if not self._out:
            return b""
        out = b"".join(self._out)
        self._out = []
        return out

    # ---------------------------------------------------------------------------------
    # Output (traffic)

    def send_message(self, frames: Sequence[Buffer]) -> bytes:
        """The wire bytes of one message."""
        self._require_traffic("send a message")
        if self._transform:
            return b"".join(self._wrap_message(frames))
        if self._v1:
            return encode_v1_message(frames)
        return encode_message(frames)

    def send_messages(self, messages: Iterable[Sequence[Buffer]], out: list[Buffer]) -> None:
        """Append the wire form of several messages to ``out`` for one gathering write
        (``socket.sendmsg(out)``): small frames joined, large bodies uncopied
        (:func:`zmtp.wire.frames.encode_batch`)."""
        self._require_traffic("send messages")
        if self._transform:
            for frames in messages:
                out.extend(self._wrap_message(frames))
            return
        if self._v1:
            encode_v1_batch(list(messages), out)
            return
        encode_batch(list(messages), out)

    def send_subscribe(self, topic: bytes) -> bytes:
        """Subscribe the peer's publisher to ``topic``, in the form the version wants."""
        self._require_traffic("subscribe")
        if self.version != ZMTP_31:
            return self.send_message([b"\x01" + bytes(topic)])
        return self._command(cmd.encode_subscribe(bytes(topic)))

    def send_cancel(self, topic: bytes) -> bytes:
        """Cancel one subscription to ``topic``."""
        self._require_traffic("cancel a subscription")
        if self.version != ZMTP_31:
            return self.send_message([b"\x00" + bytes(topic)])
        return self._command(cmd.encode_cancel(bytes(topic)))

    def send_ping(self, ttl: int = 0, context: bytes = b"") -> bytes:
        """A PING (RFC 37). ``ttl`` is in tenths of a second."""
        self._require_traffic("send PING")
        self._require_31("PING")
        return self._command(cmd.encode_ping(ttl, context))

    def send_pong(self, context: bytes = b"") -> bytes:
        """A PONG echoing ``context``."""
        self._require_traffic("send PONG")
        self._require_31("PONG")
        return self._command(cmd.encode_pong(context))

    def send_command(self, name: bytes, data: bytes = b"") -> bytes:
        """Any command, as is: for tools that test peers with unusual traffic."""
        self._require_traffic("send a command")
        self._require_commands("a command")
        return self._command(encode_command_frame(name, data))

    def send_error(self, reason: str) -> bytes:
        """An ERROR command (RFC 23 Error Handling); close the transport after it."""
        if self.state is _S.GREETING:
            raise InvalidState("cannot send ERROR before the peer's greeting arrived")
        self._require_commands("ERROR")
        return cmd.encode_error(reason)

    def resolve_auth(self, decision: AuthDecision | bool) -> None:
        """Answer the pending :class:`AuthRequest` event (for asynchronous ZAP)."""
        if not self._auth_pending:
            raise InvalidState("no authentication request is pending on this connection")
        self._auth_pending = False
        try:
            self._out += self.mechanism.resolve_auth(coerce_decision(decision))
            self._after_mechanism()
        except ProtocolError as exc:
            self._fail(exc)

    # ---------------------------------------------------------------------------------
    # Internals

    def _require_traffic(self, what: str) -> None:
        if self.state is not _S.TRAFFIC:
            raise InvalidState(
                f"cannot {what} in state {self.state.value}: the handshake must complete "
                "first (RFC 23 Overall Behavior)"
            )

    def _require_31(self, what: str) -> None:
        if self.version is not None and self.version != ZMTP_31:
            major, minor = self.version
            raise InvalidState(
                f"{what} needs ZMTP 3.1; this connection speaks ZMTP {major}.{minor}"
            )

    def _require_commands(self, what: str) -> None:
        if self.version is not None and self.version < ZMTP_30:
            major, minor = self.version
            raise InvalidState(f"cannot send {what}: ZMTP {major}.{minor} has no commands (RFC 15)")

    def _command(self, frame: bytes) -> bytes:
        """A command frame as it goes on the wire (wrapped by CURVE)."""
        if not self._transform:
            return frame
        # Re-frame the command's body through the mechanism.
        body = frame[2:] if not frame[0] & 0x02 else frame[9:]
        return self.mechanism.encode_frame(COMMAND, body)

    def _wrap_message(self, frames: Sequence[Buffer]) -> list[bytes]:
        last = len(frames) - 1
        if last < 0:
            raise ZMTPValueError("a message has at least one frame (RFC 23 Framing)")
        enc = self.mechanism.encode_frame
        return [enc(MORE if i < last else 0, bytes(f)) for i, f in enumerate(frames)]

    def _fail(self, exc: ProtocolError) -> None:
        before = self.state
        if before in (_S.GREETING, _S.HANDSHAKE, _S.IDENTITY) and not isinstance(
            exc, HandshakeError
        ):
            # Whatever breaks before traffic breaks the handshake (same reason and RFC).
            exc = HandshakeError(exc.reason, rfc=exc.rfc, section=exc.section)
        self.state = _S.FAILED
        # Kept without its traceback, and raised as copies: the frames of a raised
        # exception hold this connection, which would put it in a reference cycle
        # with its own error (freed only by the cycle collector, buffers and all).
        self.error = detached(exc)
        # "The error is the reply": a peer in the handshake learns why (RFC 23 Error
        # Handling). A PeerError means the peer already said why; stay quiet.
        if (
            before is _S.HANDSHAKE
            and isinstance(exc, HandshakeError)
            and not isinstance(exc, PeerError)
            and self.mechanism.sends_error
        ):
            reason = exc.reason
            if isinstance(exc, AuthenticationFailed) and exc.status_code:
                reason = exc.status_code  # a ZAP refusal travels as its status code
            self._out.append(cmd.encode_error(reason))

    def _on_eof(self) -> None:
        state = self.state
        if state is _S.TRAFFIC:
            mid = self._decoder.mid_message or bool(self._partial)
            reason = "peer closed in the middle of a message" if mid else ""
            clean = not mid
        elif state is _S.GREETING:
            clean = False
            reason = "peer closed during the greeting"
        elif state is _S.IDENTITY:
            clean = False
            reason = "peer closed before its identity frame arrived"
        else:
            clean = False
            reason = "peer closed during the security handshake"
        self.state = _S.CLOSED
        self._events.append(ConnectionClosed(clean, reason))

    # -- older peers (RFC 15, RFC 13) ----------------------------------------------------

    def _advance_greeting(self) -> None:
        """Send the next stage of our greeting once the peer's octets allow it (libzmq's
        order): our version octet (a 2.0 peer: revision and socket type) after the
        peer's signature, the rest after the peer's version octet."""
        parser = self._greeting
        major = parser.peer_major
        if major is not None and not self._peer_checked:
            self._peer_checked = True
            if major < 3:
                self._admit_old_peer(major)
        staged = self._staged
        sent = self._sent
        if sent == SIGNATURE_SIZE and parser.versioned:
            upto = VERSION_DETECT_SIZE if len(staged) == GREETING_SIZE else OLD_GREETING_SIZE
            self._out.append(staged[sent:upto])
            sent = upto
        if sent == VERSION_DETECT_SIZE and major is not None:
            # A downgrade to ZMTP 2.0 (or 1.0 framing) sends RFC 15's socket-type
            # octet after the version octet we already sent.
            old = bytes((wire_socket_type(self.socket_type),))
            rest = staged[sent:] if major >= 3 else old
            self._out.append(rest)
            sent += len(rest)
        self._sent = sent

    def _admit_old_peer(self, major: int) -> None:
        """Refuse a ZMTP 2.0/1.0 peer that this connection may not talk to."""
        name = _OLD_NAMES[major]
        if (major, 0) < self.min_version:
            low, high = self.min_version
            raise HandshakeError(
                f"peer speaks {name}; this connection accepts ZMTP {low}.{high} and later "
                "(min_version)",
                rfc=23,
                section="Version Negotiation",
            )
        if not _insecure(self.mechanism):
            required = self.mechanism.name.decode()
            if required == "NULL":
                required = "NULL with authentication (ZAP)"
            raise HandshakeError(
                f"peer speaks {name}, which has no security mechanism; this socket "
                f"requires {required}, and security is never downgraded",
                rfc=23,
                section="Authentication and Confidentiality",
            )

    def _on_old_greeting(self, greeting: Greeting) -> None:
        """The peer's ZMTP 2.0 greeting (or ZMTP 1.0 detected): check its socket type,
        send our identity frame, and expect its identity frame."""
        self.version = min(self.local_version, greeting.version)
        self._v1 = self.version < ZMTP_20
        octet = greeting.socket_type
        if octet is not None:
            peer_type = peer_socket_type(octet)
            if self.check_socket_type:
                if peer_type is None:
                    raise HandshakeError(
                        f"peer's greeting names socket type {octet}, which does not exist",
                        rfc=15,
                        section="Socket Compatibility",
                    )
                if not compatible(self.socket_type, peer_type):
                    raise HandshakeError(
                        f"socket type {self.socket_type.name} cannot talk to "
                        f"{peer_type.name} (a {_OLD_NAMES[min(greeting.major, 2)]} peer)",
                        rfc=15,
                        section="Socket Compatibility",
                    )
            self.peer_socket_type = peer_type
        if self._greeting.unversioned:
            # Our signature was the header of our identity frame (RFC 15 "Backwards
            # Interoperability"): its body follows.
            self._no_greeting = True
            self._out.append(self._identity)
        else:
            self._out.append(encode_identity(self._identity, self.version))
        self._start_identity()
        if self._greeting.replay:
            # The octets taken for a greeting began the peer's identity frame.
            self._decoder.feed(self._greeting.replay)

    def _start_identity(self) -> None:
        self.state = _S.IDENTITY
        if self._v1 or self.version == ZMTP_10:
            self._v1 = self.custom_framing = True
            self._decoder = V1FrameDecoder(self.maxmsgsize, self._max_frames)
        else:
            self._decoder = FrameDecoder(self.maxmsgsize, self._max_frames, commands=False)

    def _on_identity(self, item: Any) -> None:
        """The peer's identity frame: the ZMTP 2.0/1.0 handshake is complete."""
        assert self.version is not None
        rfc = 15 if self.version >= ZMTP_20 else 13
        if len(item) != 1:
            raise HandshakeError(
                f"the identity is one final frame; the peer's has {len(item)} frames",
                rfc=rfc,
                section="Formal Grammar",
            )
        identity: bytes = item[0]
        if len(identity) > IDENTITY_LIMIT:
            raise HandshakeError(
                f"peer's identity has {len(identity)} octets, more than {IDENTITY_LIMIT}",
                rfc=rfc,
                section="Formal Grammar" if rfc == 15 else "The Connection Layer",
            )
        self.peer_routing_id = identity
        self.state = _S.TRAFFIC
        self._events.append(
            HandshakeComplete(
                socket_type=self.peer_socket_type,
                routing_id=identity,
                properties=self.peer_properties,
                version=self.version,
                mechanism=self.mechanism.name,
            )
        )
        if self._no_greeting and self._reads_subscriptions:
            # ZMTP 1.0 subscribers filter on their side and never send subscriptions:
            # a publisher sends them everything (as libzmq does).
            self._events.append(Subscribe(b""))

    def _on_greeting(self, greeting: Greeting) -> None:
        self.peer_greeting = greeting
        self._events.append(GreetingReceived(greeting))
        if greeting.major < 3 or self.local_version < ZMTP_30:
            self._on_old_greeting(greeting)
            return
        if greeting.version < self.min_version:
            low, high = self.min_version
            self._fail(
                HandshakeError(
                    f"peer speaks ZMTP {greeting.major}.{greeting.minor}; this connection "
                    f"accepts ZMTP {low}.{high} and later (min_version)",
                    rfc=23,
                    section="Version Negotiation",
                )
            )
            return
        ours = self.mechanism.name
        if greeting.mechanism != ours:
            # RFC 23: a mechanism mismatch closes the connection. The peer expects
            # another handshake, so no ERROR command is sent.
            exc = HandshakeError(
                f"security mechanism mismatch: we use {ours.decode()}, the peer "
                f"{greeting.mechanism.decode()}",
                rfc=23,
                section="Authentication and Confidentiality",
            )
            self.state = _S.FAILED
            self.error = exc
            return
        peer_version = (greeting.major, greeting.minor)
        self.version = min(self.local_version, peer_version)
        self.state = _S.HANDSHAKE
        self.mechanism.check_greeting(greeting)
        self._out += self.mechanism.start()
        self._after_mechanism()

    def _after_mechanism(self) -> None:
        mech = self.mechanism
        if mech.auth_request is not None and not self._auth_pending:
            self._ask_authenticator(mech.auth_request)
        if mech.complete and self.state is _S.HANDSHAKE:
            self._complete_handshake()

    def _ask_authenticator(self, request: AuthRequest) -> None:
        if self._authenticator is None:
            # Refuse rather than admit, as libzmq's PLAIN server does when no ZAP
            # handler is installed. (libzmq 4.3's CURVE server then admits every
            # client key instead; to do the same, pass an authenticator that accepts.)
            decision: AuthDecision | bool | None = AuthDecision(
                False, "500", "no authenticator is configured on this server"
            )
        else:
            decision = self._authenticator(request)
        if decision is None:
            self._auth_pending = True
            self._events.append(request)
            return
        self._out += self.mechanism.resolve_auth(coerce_decision(decision))
        if self.mechanism.complete and self.state is _S.HANDSHAKE:
            self._complete_handshake()

    def _validate_peer(self, meta: Metadata) -> None:
        """Check the peer's metadata (called by the mechanism before admitting it)."""
        raw = meta.get("Socket-Type")
        if raw is None:
            if not self.check_socket_type:
                return
            raise HandshakeError(
                "peer metadata has no Socket-Type property",
                rfc=23,
                section="The Socket-Type Property",
            )
        peer_type = SocketType.from_wire(raw)
        if peer_type is None:
            raise HandshakeError(
                f"peer announced unknown socket type {raw!r}",
                rfc=23,
                section="The Socket-Type Property",
            )
        if self.check_socket_type and not compatible(self.socket_type, peer_type):
            raise HandshakeError(
                f"socket type {self.socket_type.name} cannot talk to {peer_type.name}",
                rfc=23,
                section="The Socket-Type Property",
            )

    def _complete_handshake(self) -> None:
        mech = self.mechanism
        meta = mech.peer_metadata or Metadata()
        raw_type = meta.get("Socket-Type")
        self.peer_socket_type = SocketType.from_wire(raw_type) if raw_type is not None else None
        self.peer_routing_id = meta.get("Identity", b"")
        self.peer_properties = meta
        self.state = _S.TRAFFIC
        # After the handshake only traffic commands (and CURVE boxes) arrive; the
        # latter carry whole data frames, so their bound follows maxmsgsize.
        if self._transform:
            limit = (
                self.maxmsgsize + _WRAPPED_COMMAND_ALLOWANCE + mech.wrap_overhead
                if self.maxmsgsize >= 0
                else -1
            )
        else:
            limit = self.maxmsgsize if self.maxmsgsize >= 0 else -1
        self._decoder.max_command_size = max(limit, -1)
        self._decoder.commands_only = False
        if self._transform:
            # libzmq sends the wrapped frames as data frames: same bound before buffering.
            self._decoder.maxmsgsize = self._decoder.max_command_size
        assert self.version is not None
        self._events.append(
            HandshakeComplete(
                socket_type=self.peer_socket_type,
                routing_id=self.peer_routing_id,
                properties=meta,
                version=self.version,
                mechanism=mech.name,
                user_id=mech.user_id,
                auth_metadata=Metadata(mech.auth_metadata),
            )
        )

    def _drain(self) -> None:
        """Turn every complete frame the decoder holds into events; then raise the
        decoder's error, if it met one after those frames."""
        decoder = self._decoder
        while True:
            items = decoder.read()
            if items:
                self._process(items)
            if decoder.error is not None:
                raise detached(decoder.error)
            if not decoder.stopped_at_message:
                return
            # The decoder met a message frame while only commands were legal. Fine if
            # the commands before it completed the handshake; otherwise the peer sent
            # a message too early, refused from its header alone.
            decoder.stopped_at_message = False
            if self.state is not _S.TRAFFIC:
                raise HandshakeError(
                    "peer sent a message before the handshake completed",
                    rfc=23,
                    section="Overall Behavior",
                )
            decoder.commands_only = False

    def _process(self, items: list[Any]) -> None:
        events = self._events
        i = 0
        n = len(items)
        if self.state is _S.IDENTITY:
            self._on_identity(items[0])
            i = 1
        # Handshake: only commands, until the mechanism completes.
        while i < n and self.state is _S.HANDSHAKE:
            item = items[i]
            i += 1
            if type(item) is Message:
                raise HandshakeError(
                    "peer sent a message before the handshake completed",
                    rfc=23,
                    section="Overall Behavior",
                )
            name, data = parse_command(item.body)
            self._out += self.mechanism.on_command(name, data)
            self._after_mechanism()
        if i == n or self.state is not _S.TRAFFIC:
            return
        if self._transform:
            for item in items[i:]:
                self._on_wrapped(item)
            return
        if i:
            items = items[i:]
        subs = self._reads_subscriptions
        if not subs and not self._decoder.commands_read:
            # All messages: the common case, no per-item work.
            if not events:
                self._only_messages = True
            events.extend(items)
            return
        self._only_messages = False
        for item in items:
            if type(item) is Message:
                if subs and len(item) == 1 and item[0][:1] in (b"\x01", b"\x00"):
                    body = item[0]
                    events.append(Subscribe(body[1:]) if body[0] == 1 else Cancel(body[1:]))
                else:
                    events.append(item)
            else:
                self._on_command(item.body)

    def _on_command(self, body: bytes) -> None:
        name, data = parse_command(body)
        if name == cmd.PING:
            ttl, context = cmd.parse_ping(data)
            self._events.append(Ping(ttl, context))
            if self.version != ZMTP_30:
                self._out.append(self._command(cmd.encode_pong(context)))
        elif name == cmd.PONG:
            self._events.append(Pong(cmd.parse_pong(data)))
        elif name == cmd.SUBSCRIBE:
            self._events.append(Subscribe(data))
        elif name == cmd.CANCEL:
            self._events.append(Cancel(data))
        elif name == cmd.ERROR:
            reason = cmd.parse_error(data)
            raise PeerError(
                f"peer sent ERROR: {reason!r}", peer_reason=reason, rfc=23, section="Error Handling"
            )
        else:
            self._events.append(UnknownCommand(name, data))

    def _on_wrapped(self, item: object) -> None:
        """One frame under a transforming mechanism (CURVE): each of our frames, data
        or command, arrives wrapped in a frame of its own.

        RFC 23 "Wire Analysis" wants those wrapping frames to be commands; libzmq 4.3
        sends (and only accepts) them as single data frames with no flags, MORE and
        COMMAND travelling inside the box. Both forms are accepted.
        """
        if type(item) is Message:
            if len(item) != 1:
                raise ProtocolError(
                    f"{self.mechanism.name.decode()} traffic frames carry no MORE flag "
                    f"(MORE travels inside the box); got a {len(item)}-frame message",
                    rfc=26,
                    section="The MESSAGE Command",
                )
            wrapped: bytes = item[0]
        else:
            wrapped = item.body  # type: ignore[attr-defined]
        if self.maxmsgsize >= 0:
            # Judge the size before unwrapping (decrypting) anything. A command inside
            # the box is not part of the message, hence the small allowance.
            claim = len(wrapped) - self.mechanism.wrap_overhead
            if claim > self.maxmsgsize - self._partial_size and claim > _WRAPPED_COMMAND_ALLOWANCE:
                raise ProtocolError(
                    f"wrapped frame of {claim} octets would make the message exceed "
                    f"maxmsgsize {self.maxmsgsize}",
                    rfc=23,
                    section="Framing",
                )
        flags, body = self.mechanism.decode_frame(wrapped)
        if flags & COMMAND:
            self._on_command(body)
            return
        size = self._partial_size + len(body)
        if 0 <= self.maxmsgsize < size:
            raise ProtocolError(
                f"message of at least {size} octets exceeds maxmsgsize {self.maxmsgsize}",
                rfc=23,
                section="Framing",
            )
        self._partial.append(body)
        self._partial_size = size
        if self._max_frames is not None and len(self._partial) > self._max_frames:
            raise ProtocolError(
                f"message has more than {self._max_frames} frames", rfc=23, section="Framing"
            )
        if not flags & MORE:
            frames = self._partial
            self._partial = []
            self._partial_size = 0
            if (
                self._reads_subscriptions
                and len(frames) == 1
                and frames[0][:1] in (b"\x01", b"\x00")
            ):
                topic = frames[0][1:]
                self._events.append(Subscribe(topic) if frames[0][0] == 1 else Cancel(topic))
            else:
                self._events.append(frames)


def _insecure(mechanism: Mechanism) -> bool:
    """True for the NULL mechanism without authentication: the only security a ZMTP
    2.0 or 1.0 peer can have (neither version has mechanisms)."""
    return isinstance(mechanism, NullMechanism) and not mechanism.authenticate
