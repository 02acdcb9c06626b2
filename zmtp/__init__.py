"""zmtp: the ZeroMQ wire protocol (ZMTP 3.0/3.1) in pure Python.

The sans-IO core lives in :mod:`zmtp.wire` and never imports trio; importing
``zmtp`` itself stays light too: the trio engine (``Context``, ``Socket``) is loaded
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zmtp.constants import DONTWAIT, NOBLOCK, SNDMORE, SocketType
from zmtp.errors import (
    Again,
    AuthenticationFailed,
    FrameTypeError,
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
from zmtp.wire.z85 import curve_keypair, curve_public

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
    "DONTWAIT",
    "NOBLOCK",
    "PAIR",
    "PUB",
    "PULL",
    "PUSH",
    "REP",
    "REQ",
    "ROUTER",
    "SNDMORE",
    "SUB",
    "XPUB",
    "XSUB",
    "Again",
    "AuthenticationFailed",
    "Context",
    "Event",
    "Frame",
    "FrameTypeError",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "Monitor",
    "MonitorEvent",
    "PeerError",
    "ProtocolError",
    "Socket",
    "SocketClosed",
    "SocketType",
    "WouldBlock",
    "ZMTPError",
    "ZMTPValueError",
    "__version__",
    "auth",
    "curve_keypair",
    "curve_public",
    "proxy",
]

if TYPE_CHECKING:  # pragma: no cover
    from zmtp import auth
    from zmtp._trio.context import Context
    from zmtp._trio.socket import Socket
    from zmtp.frame import Frame
    from zmtp.monitor import Event, Monitor, MonitorEvent
    from zmtp.proxy import proxy

_LAZY = {
    "Context": "zmtp._trio.context",
    "Socket": "zmtp._trio.socket",
    "Event": "zmtp.monitor",
    "Monitor": "zmtp.monitor",
    "MonitorEvent": "zmtp.monitor",
    "proxy": "zmtp.proxy",
    "Frame": "zmtp.frame",
}


def __getattr__(name: str) -> Any:
    # The trio engine is imported on first use so that ``import zmtp.wire`` never
    # pulls in trio (the sans-IO promise).
    import importlib

    if name == "auth":
        value: Any = importlib.import_module("zmtp.auth")
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zmtp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
