"""``zmtp.asyncio.proxy``: libzmq's built-in devices as one coroutine, on asyncio.

``await zmtp.asyncio.proxy(frontend, backend)`` moves every message that arrives on one
socket to the other, in both directions where the socket types allow it, until the
calling task is cancelled (queue: ROUTER/DEALER; forwarder: XSUB/XPUB; streamer:
PULL/PUSH). With ``capture``, a copy of each message is also sent there, never
blocking the proxy: a copy the capture socket cannot take is dropped.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

from zmtp.asyncio.socket import Socket
from zmtp.constants import SocketType
from zmtp.errors import Again

__all__ = ["proxy"]

_CANNOT_RECV = frozenset({SocketType.PUSH, SocketType.PUB})
_CANNOT_SEND = frozenset({SocketType.PULL, SocketType.SUB})


async def _pump(src: Socket, dst: Socket, capture: Socket | None) -> None:
    while True:
        msg = await src.recv_multipart()
        if capture is not None:
            try:
                capture.send_multipart_nowait(list(msg))
            except Again:
                pass
        await dst.send_multipart(msg)


async def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> NoReturn:
    """Forward messages between ``frontend`` and ``backend`` until cancelled."""
    loop = asyncio.get_running_loop()
    pumps = []
    if frontend.type not in _CANNOT_RECV and backend.type not in _CANNOT_SEND:
        pumps.append(loop.create_task(_pump(frontend, backend, capture)))
    if backend.type not in _CANNOT_RECV and frontend.type not in _CANNOT_SEND:
        pumps.append(loop.create_task(_pump(backend, frontend, capture)))
    try:
        if pumps:
            await asyncio.gather(*pumps)
        await loop.create_future()  # no direction to pump: wait to be cancelled
    finally:
        for pump in pumps:
            pump.cancel()
    raise AssertionError("unreachable")  # pragma: no cover
