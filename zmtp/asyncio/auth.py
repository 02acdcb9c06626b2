"""``zmtp.asyncio.auth``: an in-process ZAP handler (RFC 27) for asyncio contexts.

The rules are those of ``zmtp.auth`` (:class:`zmtp.core.security.ZapHandler`: an
allow/deny list of addresses, PLAIN passwords and CURVE client keys per ZAP domain);
this module serves them on a REP socket bound at ``inproc://zeromq.zap.01`` in the
context, where every server socket of the context looks for its handler::

    async with zmtp.asyncio.Context() as ctx:
        async with zmtp.asyncio.auth.Authenticator(ctx) as auth:
            auth.configure_curve(domain="*", location=[client_public_z85])
            server = ctx.socket(zmtp.REP, curve_server=True, curve_secretkey=secret)
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from zmtp.constants import SocketType
from zmtp.core.security import CURVE_ALLOW_ANY, ZAP_ENDPOINT, ZapHandler
from zmtp.errors import SocketClosed

if TYPE_CHECKING:
    from zmtp.asyncio.context import Context
    from zmtp.asyncio.socket import Socket

__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]


class Authenticator(ZapHandler):
    """A ZAP handler serving one :class:`zmtp.asyncio.Context`."""

    def __init__(self, context: Context | None = None) -> None:
        from zmtp.asyncio.context import Context

        super().__init__()
        self.context = context if context is not None else Context.instance()
        self._socket: Socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind ``inproc://zeromq.zap.01`` and serve requests in a task of its own."""
        if self._socket is not None:
            return
        sock = self.context.socket(SocketType.REP, linger=0)
        await sock.bind(ZAP_ENDPOINT)
        self._socket = sock
        self._task = asyncio.get_running_loop().create_task(self._serve(sock))

    async def _serve(self, sock: Socket) -> None:
        with contextlib.suppress(SocketClosed):
            while True:
                request = await sock.recv_multipart()
                await sock.send_multipart(self.reply(request))

    async def stop(self) -> None:
        """Stop serving; new handshakes then follow the no-handler rules."""
        sock, self._socket = self._socket, None
        task, self._task = self._task, None
        if sock is not None:
            await sock.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Authenticator:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
