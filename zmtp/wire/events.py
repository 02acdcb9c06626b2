"""Events a :class:`~zmtp.wire.connection.Connection` reports: what the peer did.

Events are small immutable objects; compare them with ``==`` in tests and dispatch on
their type in engines. :class:`Message` is the hot one: it is the list of the
message's frame bodies itself (a ``list`` subclass), built once by the decoder.

This file never touches a socket.
"""

from __future__ import annotations

import dataclasses

from zmtp.constants import SocketType
from zmtp.wire._event import Event, Message
from zmtp.wire.commands import Metadata
from zmtp.wire.greeting import Greeting

__all__ = [
    "AuthRequest",
    "Cancel",
    "ConnectionClosed",
    "Event",
    "GreetingReceived",
    "HandshakeComplete",
    "Message",
    "Ping",
    "Pong",
    "Subscribe",
    "UnknownCommand",
]


@dataclasses.dataclass(frozen=True)
class AuthRequest(Event):
    """A server-side mechanism asks whether to admit the peer (RFC 27's ZAP request).

    ``credentials`` are the mechanism's: ``()`` for NULL, ``(username, password)`` for
    PLAIN, ``(client_public_key,)`` for CURVE. Reported as an event only when the
    connection's authenticator deferred its answer; reply with
    ``Connection.resolve_auth``.
    """

    mechanism: bytes
    credentials: tuple[bytes, ...] = ()


@dataclasses.dataclass(frozen=True)
class GreetingReceived(Event):
    """The peer's full greeting arrived and was accepted."""

    greeting: Greeting


@dataclasses.dataclass(frozen=True)
class HandshakeComplete(Event):
    """The security handshake is done and metadata went both ways; traffic may flow.

    ``socket_type`` is None only when the peer sent no ``Socket-Type`` and the
    connection was told not to check it; ``version`` is the negotiated ZMTP version
    (the lower of the two, RFC 37);
    ``routing_id`` is the peer's ``Identity`` property (empty when absent);
    ``user_id`` and ``auth_metadata`` come from the server's authentication decision.
    """

    socket_type: SocketType | None
    routing_id: bytes
    properties: Metadata
    version: tuple[int, int]
    mechanism: bytes
    user_id: bytes = b""
    auth_metadata: Metadata = dataclasses.field(default_factory=Metadata)


@dataclasses.dataclass(frozen=True)
class Subscribe(Event):
    """The peer subscribes to ``topic`` (SUBSCRIBE command, or a ZMTP 3.0 message
    whose first octet is 1)."""

    topic: bytes


@dataclasses.dataclass(frozen=True)
class Cancel(Event):
    """The peer cancels one subscription to ``topic`` (CANCEL, or a 3.0 message whose
    first octet is 0)."""

    topic: bytes


@dataclasses.dataclass(frozen=True)
class Ping(Event):
    """The peer sent PING. ``ttl`` is in tenths of a second (RFC 37); the connection
    has already queued the PONG reply when the negotiated version is 3.1."""

    ttl: int
    context: bytes

    @property
    def ttl_seconds(self) -> float:
        return self.ttl / 10


@dataclasses.dataclass(frozen=True)
class Pong(Event):
    """The peer answered one of our PINGs."""

    context: bytes


@dataclasses.dataclass(frozen=True)
class UnknownCommand(Event):
    """A command zmtp does not know arrived after the handshake; it is ignored by the
    protocol but reported, which a conformance tool may want to see."""

    name: bytes
    data: bytes


@dataclasses.dataclass(frozen=True)
class ConnectionClosed(Event):
    """The peer closed its side of the stream.

    ``clean`` is False when it stopped in the middle of the greeting, the handshake
    or a message; ``reason`` says where. A peer's ERROR command ends the connection
    with :class:`~zmtp.errors.PeerError` raised instead.
    """

    clean: bool
    reason: str = ""
