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
from zmtp.core.proxy import directions, pump

__all__ = ["proxy"]


async def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> NoReturn:
    """Forward messages between ``frontend`` and ``backend`` until cancelled."""
    loop = asyncio.get_running_loop()
    ways = directions(frontend, backend)
    pumps = [loop.create_task(pump(src, dst, capture)) for src, dst in ways]
    try:
        if pumps:
            await asyncio.gather(*pumps)
        await loop.create_future()  # no direction to pump: wait to be cancelled
    finally:
        for task in pumps:
            task.cancel()
    raise AssertionError("unreachable")  # pragma: no cover
