"""``zmtp.auth``: an in-process ZAP handler (RFC 27/ZAP).

The server side of every security mechanism asks a ZAP handler whether to admit a
peer. Like libzmq, zmtp looks for one bound at ``inproc://zeromq.zap.01`` in the
server socket's context; this module provides one, with the rules of pyzmq's
authenticators::

    async with zmtp.Context() as ctx:
        async with zmtp.auth.Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")                                # optional
            auth.configure_plain(domain="*", passwords={"admin": "secret"})
            auth.configure_curve(domain="*", location=[client_public_z85])
            server = ctx.socket(zmtp.REP, plain_server=True)
            ...

Rules, in order:

1. Addresses: with an allow list, only listed IP addresses pass; otherwise addresses
   on the deny list are refused. Refused peers get status "400".
2. NULL: admitted (it has nothing else to check).
3. PLAIN: the user name and password must match the passwords configured for the
   request's ZAP domain (or for ``"*"``). The User-Id is the user name.
4. CURVE: the client's public key must be one configured for the domain (or ``"*"``),
   or the domain allows any key (``location=zmtp.auth.CURVE_ALLOW_ANY``). The
   User-Id is the client key in Z85.

Any application can serve ZAP itself instead: bind a REP (or ROUTER) socket at
``inproc://zeromq.zap.01`` in the context and answer the requests (RFC 27 frames:
version, request id, domain, address, identity, mechanism, credentials; the reply:
version, request id, status code, status text, user id, metadata).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from zmtp.constants import SocketType
from zmtp.core.security import CURVE_ALLOW_ANY, ZapHandler
from zmtp.errors import SocketClosed

if TYPE_CHECKING:
    from zmtp._trio.context import Context
    from zmtp._trio.socket import Socket

__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]


class Authenticator(ZapHandler):
    """A ZAP handler serving one :class:`zmtp.Context` (the rules are
    :class:`zmtp.core.security.ZapHandler`'s; see the module doc)."""

    def __init__(self, context: Context | None = None) -> None:
        from zmtp._trio.context import Context

        super().__init__()
        self.context = context if context is not None else Context.instance()
        self._socket: Socket | None = None
        self._nursery_cm: Any = None

    # -- serving ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind ``inproc://zeromq.zap.01`` and serve requests in the background.

        Inside an entered context the handler runs under it; otherwise use
        ``async with Authenticator(ctx)``, which owns the task.
        """
        from zmtp.core.security import ZAP_ENDPOINT

        if self._socket is not None:
            return
        context_nursery = self.context.nursery
        sock = self.context.socket(SocketType.REP, linger=0)
        if context_nursery is not None:
            nursery = context_nursery  # the context runs the socket already
        else:
            self._nursery_cm = trio.open_nursery()
            nursery = await self._nursery_cm.__aenter__()
            sock.run_in(nursery)
        await sock.bind(ZAP_ENDPOINT)
        self._socket = sock
        nursery.start_soon(self._serve, sock)

    async def _serve(self, sock: Socket) -> None:
        try:
            while True:
                request = await sock.recv_multipart()
                await sock.send_multipart(self.reply(request))
        except SocketClosed:
            return

    async def stop(self) -> None:
        """Stop serving; new handshakes then follow the no-handler rules."""
        if self._socket is not None:
            await self._socket.close()
            self._socket = None
        if self._nursery_cm is not None:
            cm, self._nursery_cm = self._nursery_cm, None
            await cm.__aexit__(None, None, None)

    async def __aenter__(self) -> Authenticator:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
