"""zmtp.wire: the sans-IO ZMTP 3.1/3.0 core, which also speaks ZMTP 2.0 and 1.0.

Greeting and version detection, frames (and the older framings, :mod:`.legacy`),
commands and metadata, security mechanisms (NULL, PLAIN, CURVE) and the
:class:`Connection` state machine: bytes in, events out. Nothing under this package
imports trio or touches a socket, so tests and fuzzers drive it with bytes alone::

    from zmtp.wire import Connection, SocketType

    client = Connection(SocketType.DEALER)
    server = Connection(SocketType.ROUTER)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    ...
"""

from zmtp.constants import SocketType, compatible
from zmtp.wire import z85
from zmtp.wire.commands import Metadata
from zmtp.wire.connection import NEED_DATA, Connection, ConnectionState
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
from zmtp.wire.frames import FrameDecoder, encode_frame, encode_message
from zmtp.wire.greeting import Greeting, GreetingParser, encode_greeting
from zmtp.wire.mechanisms import (
    AuthDecision,
    Authenticator,
    AuthRequest,
    CurveClient,
    CurveServer,
    Mechanism,
    NullMechanism,
    PlainClient,
    PlainServer,
)
from zmtp.wire.z85 import curve_keypair, curve_public

__all__ = [
    "NEED_DATA",
    "AuthDecision",
    "AuthRequest",
    "Authenticator",
    "Cancel",
    "Connection",
    "ConnectionClosed",
    "ConnectionState",
    "CurveClient",
    "CurveServer",
    "Event",
    "FrameDecoder",
    "Greeting",
    "GreetingParser",
    "GreetingReceived",
    "HandshakeComplete",
    "Mechanism",
    "Message",
    "Metadata",
    "NullMechanism",
    "Ping",
    "PlainClient",
    "PlainServer",
    "Pong",
    "SocketType",
    "Subscribe",
    "UnknownCommand",
    "compatible",
    "curve_keypair",
    "curve_public",
    "encode_frame",
    "encode_greeting",
    "encode_message",
    "z85",
]
