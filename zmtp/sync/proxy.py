"""``zmtp.sync.proxy`` and ``zmtp.sync.device``: libzmq's built-in devices, blocking.

``zmq.proxy(frontend, backend)`` moves every message that arrives on one socket to
the other, in both directions where the socket types allow it, and never returns: it
ends with :class:`zmtp.ContextTerminated` when the context is terminated (or
:class:`zmtp.SocketClosed` when one of its sockets is closed from another thread), as
pyzmq's does. The classic shapes:

* queue (request-reply broker): ROUTER frontend, DEALER backend;
* forwarder (pub-sub): XSUB frontend, XPUB backend (subscriptions go upstream);
* streamer (pipeline): PULL frontend, PUSH backend.

Like libzmq's proxy, a direction moves a message only when its destination can take
it, so a slow side holds messages back in the source socket (and so in its peers)
instead of piling them up here; the wait is one :class:`~zmtp.sync.poll.Poller` on
exactly what each direction needs next. With ``capture``, a copy of each message is
also sent there, never blocking the proxy: a copy it cannot take is dropped.
"""

from __future__ import annotations

from typing import NoReturn

from zmtp.constants import DONTWAIT, DeviceType
from zmtp.core.proxy import directions, send_capture
from zmtp.core.socket import POLLIN, POLLOUT
from zmtp.errors import ZMTPValueError
from zmtp.sync.poll import Poller
from zmtp.sync.socket import Socket

__all__ = ["device", "proxy"]

#: Messages one direction moves before the other gets its turn.
_BATCH = 256


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> NoReturn:
    """Forward messages between ``frontend`` and ``backend``, forever (see the module
    doc)."""
    ways = directions(frontend, backend)
    poller = Poller()
    while True:
        # Wait for exactly what each direction needs next: input at its source, or,
        # with input waiting, room at its destination.
        wanted: dict[Socket, int] = {}
        for src, dst in ways:
            if src.events & POLLIN:
                wanted[dst] = wanted.get(dst, 0) | POLLOUT
            else:
                wanted[src] = wanted.get(src, 0) | POLLIN
        poller.sockets = wanted
        if not ways:
            poller.sockets = {frontend: POLLIN, backend: POLLIN}  # waits for term
        poller.poll()
        for src, dst in ways:
            for _ in range(_BATCH):
                if not (src.events & POLLIN and dst.events & POLLOUT):
                    break
                msg = src.recv_multipart(DONTWAIT)
                send_capture(capture, msg)
                dst.send_multipart(msg)


def device(device_type: int, frontend: Socket, backend: Socket) -> NoReturn:
    """pyzmq's ``zmq.device(zmq.QUEUE, frontend, backend)``: :func:`proxy` by its
    older name (``QUEUE``, ``FORWARDER`` and ``STREAMER`` all forward both ways where
    the socket types allow)."""
    if device_type not in tuple(DeviceType):
        raise ZMTPValueError(
            f"device type is zmq.QUEUE, zmq.FORWARDER or zmq.STREAMER, got {device_type!r}"
        )
    proxy(frontend, backend)
