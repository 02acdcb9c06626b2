"""The trio engine's context: ``zmtp.Context``.

A context is a set of sockets that share an inproc namespace and default options
(the engine-neutral :class:`~zmtp.core.context.ContextCore`), and, when entered with
``async with zmtp.Context() as ctx``, a nursery that runs them: sockets made by
``ctx.socket(...)`` then work without their own ``async with``. Leaving the block
closes every socket still open, each lingering as its ``linger`` says (pyzmq's
``ctx.term()``); an inproc message nobody can bind for any more is then dropped and
counted on the socket that sent it.

``Context(linger=0)`` (or ``ctx.linger = 0``, ``ctx.setsockopt(zmtp.LINGER, 0)``)
sets a default for the sockets made afterwards, as in pyzmq: the explicit way not
to wait for a peer that never comes.
"""

from __future__ import annotations

from typing import Any

import trio

from zmtp._socket_api import ContextAPI, context_options
from zmtp._trio.socket import Socket, exit_nursery
from zmtp.constants import SocketType
from zmtp.core.context import ContextCore
from zmtp.errors import SocketClosed

__all__ = ["Context"]


class Context(ContextAPI):
    """A set of sockets sharing an inproc namespace (and, when entered, a nursery).

    Keyword arguments are default options for the sockets it makes
    (``Context(linger=1000)``).
    """

    _instance: Context | None = None

    def __init__(self, **socket_defaults: Any) -> None:
        self.core = ContextCore(**socket_defaults)
        self._context_options = context_options()
        self._sockets: dict[Socket, None] = {}
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None

    @classmethod
    def instance(cls) -> Context:
        """The process-wide default context (never entered: its sockets need their own
        ``async with``)."""
        if cls._instance is None or cls._instance.closed:
            cls._instance = cls()
        return cls._instance

    @property
    def closed(self) -> bool:
        return self.core.closed

    @property
    def nursery(self) -> trio.Nursery | None:
        """The nursery that runs this context's sockets while it is entered."""
        return self._nursery

    # -- sockets -----------------------------------------------------------------------

    def socket(self, socket_type: SocketType | int | str, **options: Any) -> Socket:
        """A new socket of this context. Inside ``async with ctx`` it runs at once;
        otherwise use it as ``async with ctx.socket(...) as sock``."""
        if self.closed:
            raise SocketClosed("the context is closed")
        sock = Socket(socket_type, context=self, **options)
        if self._nursery is not None:
            sock.run_in(self._nursery)
        return sock

    def adopt(self, sock: Socket) -> None:
        """Count ``sock`` among the sockets that :meth:`term` closes (every socket
        made with this context calls this)."""
        self._sockets[sock] = None

    def forget(self, sock: Socket) -> None:
        """``sock`` has closed."""
        self._sockets.pop(sock, None)

    async def __aenter__(self) -> Context:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        cm, self._nursery_cm = self._nursery_cm, None
        try:
            await self.term()
        except BaseException as failure:
            # Still leave the nursery (its tasks are cancelled), with this failure.
            self._nursery = None
            await exit_nursery(cm, (type(failure), failure, failure.__traceback__))
            raise
        self._nursery = None
        return await exit_nursery(cm, exc)

    async def term(self) -> None:
        """Close every socket of the context (honouring each one's ``linger``).

        The sockets close together: a socket lingering over messages for a peer in
        this same context stops waiting when that peer closes.
        """
        await self.destroy()

    async def destroy(self, linger: int | None = None) -> None:
        """Close every socket with this ``linger`` (default: each one's own), then the
        context (pyzmq's ``ctx.destroy``)."""
        self.core.begin_term()
        async with trio.open_nursery() as nursery:
            for sock in list(self._sockets):
                nursery.start_soon(sock.close, linger)
        self._sockets.clear()
        self.core.close()
