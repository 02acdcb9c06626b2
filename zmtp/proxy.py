"""``zmtp.proxy``: libzmq's built-in devices as one coroutine.

``await zmtp.proxy(frontend, backend)`` moves every message that arrives on one socket
to the other, in both directions where the socket types allow it, until the calling
task is cancelled:

* queue (request-reply broker): ROUTER frontend, DEALER backend — the envelope
  frames ride along, so replies find their way back through any number of hops;
* forwarder (pub-sub): XSUB frontend, XPUB backend — subscriptions travel upstream as
  messages;
* streamer (pipeline): PULL frontend, PUSH backend.

With ``capture``, a copy of each message is also sent there (never blocking the
proxy: if the capture socket cannot take it, the copy is dropped).
"""

from __future__ import annotations

from typing import NoReturn

import trio

from zmtp._trio.socket import Socket
from zmtp.core.proxy import directions, pump

__all__ = ["proxy"]


async def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> NoReturn:
    """Forward messages between ``frontend`` and ``backend`` until cancelled."""
    async with trio.open_nursery() as nursery:
        for src, dst in directions(frontend, backend):
            nursery.start_soon(pump, src, dst, capture)
        await trio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover
