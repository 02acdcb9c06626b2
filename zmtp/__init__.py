"""zmtp: the ZeroMQ wire protocol (ZMTP 3.0/3.1) in pure Python.

The sans-IO core lives in :mod:`zmtp.wire` and never imports trio; importing
``zmtp`` itself stays light too: the trio engine (``Context``, ``Socket``) is loaded
on first use.

pyzmq's constants (``zmtp.SUBSCRIBE``, ``zmtp.DONTWAIT``, ``zmtp.POLLIN``,
``zmtp.EVENT_CONNECTED``, ``zmtp.EAGAIN``, ...) carry pyzmq's values
(:mod:`zmtp.constants`), and ``zmtp.ZMQError`` is the base of every zmtp error
(:mod:`zmtp.errors`), so code written for pyzmq finds the names it uses.
"""

import typing as _typing

from zmtp import constants as _constants
from zmtp.constants import *  # noqa: F403  (pyzmq's names, listed in constants.__all__)
from zmtp.errors import (
    Again,
    AuthenticationFailed,
    BindError,
    ContextTerminated,
    FrameTypeError,
    HandshakeError,
    HostUnreachable,
    InvalidState,
    MechanismUnavailable,
    PeerError,
    ProtocolError,
    SocketClosed,
    WouldBlock,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMTPError,
    ZMTPTypeError,
    ZMTPValueError,
    strerror,
)
from zmtp.version import __version__, has, zmq_version, zmq_version_info
from zmtp.wire.z85 import curve_keypair, curve_public

__all__ = [
    "Again",
    "AuthenticationFailed",
    "BindError",
    "Context",
    "ContextTerminated",
    "Event",
    "Frame",
    "FrameTypeError",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "MessageTracker",
    "Monitor",
    "MonitorEvent",
    "PeerError",
    "Poller",
    "ProtocolError",
    "Socket",
    "SocketClosed",
    "WouldBlock",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMTPError",
    "ZMTPTypeError",
    "ZMTPValueError",
    "__version__",
    "auth",
    "curve_keypair",
    "curve_public",
    "has",
    "proxy",
    "strerror",
    "zmq_version",
    "zmq_version_info",
]
__all__ += _constants.__all__

if _typing.TYPE_CHECKING:  # pragma: no cover
    from zmtp import auth
    from zmtp._trio.context import Context
    from zmtp._trio.poll import Poller
    from zmtp._trio.socket import Socket
    from zmtp.core.serialize import MessageTracker
    from zmtp.frame import Frame
    from zmtp.monitor import Event, Monitor, MonitorEvent
    from zmtp.proxy import proxy

_LAZY = {
    "Context": "zmtp._trio.context",
    "Socket": "zmtp._trio.socket",
    "Poller": "zmtp._trio.poll",
    "MessageTracker": "zmtp.core.serialize",
    "Event": "zmtp.monitor",
    "Monitor": "zmtp.monitor",
    "MonitorEvent": "zmtp.monitor",
    "proxy": "zmtp.proxy",
    "Frame": "zmtp.frame",
}


def __dir__() -> list[str]:
    # What a user may reach: the public names (the lazy ones included, before their
    # first use) and the submodules loaded so far; no typing helpers.
    modules = {name for name, value in globals().items() if type(value) is type(_typing)}
    return sorted({*__all__, *(name for name in modules if not name.startswith("_"))})


if not _typing.TYPE_CHECKING:
    # Hidden from type checkers, so that a misspelt name is an error in users' code
    # rather than a silent ``Any``.

    def __getattr__(name: str) -> object:
        # The trio engine is imported on first use so that ``import zmtp.wire`` never
        # pulls in trio (the sans-IO promise).
        import importlib

        if name == "auth":
            value: object = importlib.import_module("zmtp.auth")
            globals()[name] = value
            return value
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'zmtp' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
