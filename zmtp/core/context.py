"""The context core: what a set of sockets shares, engine-neutral.

A context is an inproc namespace (:class:`~zmtp.core.inproc.InprocRegistry`), the set
of its sockets, default options for new sockets (pyzmq's ``ctx.linger = 0`` or
``Context(linger=0)``), and one lock for engines that use the sockets from several
threads (``zmtp.sync``): inproc peers touch each other's queues, so one lock per
context, not per socket. Engines that run every socket on one thread never take it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from zmtp.core.inproc import InprocRegistry
from zmtp.options import Options

if TYPE_CHECKING:
    from zmtp.core.socket import SocketCore

__all__ = ["ContextCore"]


class ContextCore:
    """Sockets, the inproc namespace and socket defaults of one context."""

    def __init__(self, **socket_defaults: Any) -> None:
        self.sockets: set[SocketCore] = set()
        self.inproc = InprocRegistry()
        self.lock = threading.RLock()
        self.closed = False
        self.socket_defaults: dict[str, Any] = {}
        #: While the context terminates: the tcp/ipc endpoints its own sockets had
        #: bound. A socket lingering over messages for one of them stops waiting:
        #: that peer is closing too, in this same context.
        self.closing_endpoints: frozenset[str] = frozenset()
        for name, value in socket_defaults.items():
            self.set_default(name, value)

    def set_default(self, name: str | int, value: Any) -> None:
        """An option value for every socket made from now on (checked now)."""
        canonical = Options.canonical(name)
        Options(**{canonical: value})  # raises ZMTPValueError naming a bad one
        self.socket_defaults[canonical] = value

    def get_default(self, name: str | int) -> Any:
        canonical = Options.canonical(name)
        if canonical in self.socket_defaults:
            return self.socket_defaults[canonical]
        return Options().get(canonical)

    def register(self, sock: SocketCore) -> None:
        self.sockets.add(sock)

    def unregister(self, sock: SocketCore) -> None:
        self.sockets.discard(sock)

    def zap_handler_bound(self) -> bool:
        """True if some socket serves ZAP (RFC 27) at ``inproc://zeromq.zap.01``."""
        return self.inproc.is_bound("zeromq.zap.01")

    def begin_term(self) -> None:
        """Every socket is about to close (see :attr:`closing_endpoints`)."""
        self.closing_endpoints = frozenset(
            endpoint
            for sock in self.sockets
            for endpoint in sock.bindings
            if not endpoint.startswith("inproc://")
        )

    def close(self) -> None:
        """Every socket has closed: inproc messages nobody can bind for any more are
        dropped and counted."""
        self.closed = True
        self.inproc.close_all()
