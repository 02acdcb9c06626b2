"""The asyncio context: ``zmtp.asyncio.Context``.

A context is a set of sockets that share an inproc namespace and default options (the
engine-neutral :class:`~zmtp.core.context.ContextCore`). On asyncio there is no nursery
to enter: sockets run on the loop as soon as they are used. ``async with
zmtp.asyncio.Context() as ctx`` closes every socket still open at the end of the block,
each lingering as its ``linger`` says (pyzmq's ``ctx.term()``); an inproc message
nobody can bind for any more is then dropped and counted on the socket that sent it.

``Context(linger=0)`` (or ``ctx.linger = 0``, ``ctx.setsockopt(zmtp.LINGER, 0)``) sets
a default for the sockets made afterwards, as in pyzmq.
"""

from __future__ import annotations

import asyncio
from typing import Any

from zmtp._socket_api import ContextAPI, context_options
from zmtp.asyncio.socket import Socket
from zmtp.constants import SocketType
from zmtp.core.context import ContextCore
from zmtp.errors import SocketClosed

__all__ = ["Context"]


class Context(ContextAPI):
    """A set of sockets sharing an inproc namespace.

    Keyword arguments are default options for the sockets it makes
    (``Context(linger=1000)``).
    """

    _instance: Context | None = None

    def __init__(self, **socket_defaults: Any) -> None:
        self.core = ContextCore(**socket_defaults)
        self._context_options = context_options()
        self._sockets: dict[Socket, None] = {}

    @classmethod
    def instance(cls) -> Context:
        """The process-wide default context."""
        if cls._instance is None or cls._instance.closed:
            cls._instance = cls()
        return cls._instance

    @property
    def closed(self) -> bool:
        return self.core.closed

    # -- sockets -----------------------------------------------------------------------

    def socket(self, socket_type: SocketType | int | str, **options: Any) -> Socket:
        """A new socket of this context (``async with ctx.socket(...)`` closes it at
        the end of the block; ``term()`` closes those still open)."""
        if self.closed:
            raise SocketClosed("the context is closed")
        return Socket(socket_type, context=self, **options)

    def adopt(self, sock: Socket) -> None:
        """Count ``sock`` among the sockets that :meth:`term` closes."""
        self._sockets[sock] = None

    def forget(self, sock: Socket) -> None:
        """``sock`` has closed."""
        self._sockets.pop(sock, None)

    async def __aenter__(self) -> Context:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.term()

    async def term(self) -> None:
        """Close every socket of the context (honouring each one's ``linger``).

        The sockets close together: a socket lingering over messages for a peer in
        this same context stops waiting when that peer closes.
        """
        await self.destroy()

    async def destroy(self, linger: int | None = None) -> None:
        """Close every socket with this ``linger`` (default: each one's own), then the
        context (pyzmq's ``ctx.destroy``). If cancelled, the sockets still close
        (dropping what they held) before the cancellation goes on."""
        self.core.begin_term()
        try:
            closing = [sock.close(linger) for sock in list(self._sockets)]
            if closing:
                await asyncio.gather(*closing)
        finally:
            self._sockets.clear()
            self.core.close()
