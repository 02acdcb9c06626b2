"""zmtp: the ZeroMQ wire protocol (ZMTP 3.0/3.1) in pure Python.

The sans-IO core lives in :mod:`zmtp.wire` and never imports trio; importing
``zmtp`` itself stays light too: the trio engine (``Context``, ``Socket``) is loaded
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zmtp.constants import SocketType
from zmtp.errors import (
    Again,
    AuthenticationFailed,
    HandshakeError,
    HostUnreachable,
    InvalidState,
    MechanismUnavailable,
    PeerError,
    ProtocolError,
    SocketClosed,
    WouldBlock,
    ZMTPError,
    ZMTPValueError,
)

__version__ = "0.1.0"

PAIR = SocketType.PAIR
PUB = SocketType.PUB
SUB = SocketType.SUB
REQ = SocketType.REQ
REP = SocketType.REP
DEALER = SocketType.DEALER
ROUTER = SocketType.ROUTER
PULL = SocketType.PULL
PUSH = SocketType.PUSH
XPUB = SocketType.XPUB
XSUB = SocketType.XSUB

__all__ = [
    "DEALER",
    "PAIR",
    "PUB",
    "PULL",
    "PUSH",
    "REP",
    "REQ",
    "ROUTER",
    "SUB",
    "XPUB",
    "XSUB",
    "Again",
    "AuthenticationFailed",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "PeerError",
    "ProtocolError",
    "SocketClosed",
    "SocketType",
    "WouldBlock",
    "ZMTPError",
    "ZMTPValueError",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover
    pass


def __getattr__(name: str) -> Any:
    # The trio engine is imported lazily so that ``import zmtp.wire`` never pulls in
    # trio (the sans-IO promise).
    raise AttributeError(f"module 'zmtp' has no attribute {name!r}")
