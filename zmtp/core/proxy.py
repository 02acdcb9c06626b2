"""What every engine's ``proxy`` decides, engine-neutral: which ways messages move
between a frontend and a backend socket, and the loop that moves them one way.

A proxy moves messages in each direction that the socket types allow: from a socket
that can receive to one that can send (PUSH and PUB never receive, PULL and SUB never
send), so ROUTER/DEALER and XSUB/XPUB forward both ways and PULL/PUSH one way. A
``capture`` socket gets a copy of each message, sent without waiting: a copy it
cannot take is dropped, never holding the proxy back.

This module imports no event loop: :func:`pump` only awaits the sockets' own
coroutines, so the trio and the asyncio proxies run the same loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from zmtp.constants import SocketType
from zmtp.errors import Again

__all__ = ["directions", "pump", "send_capture"]

_CANNOT_RECV = frozenset({SocketType.PUSH, SocketType.PUB})
_CANNOT_SEND = frozenset({SocketType.PULL, SocketType.SUB})


class _Typed(Protocol):
    @property
    def type(self) -> SocketType: ...


S = TypeVar("S", bound=_Typed)


def directions(frontend: S, backend: S) -> list[tuple[S, S]]:
    """The ``(source, destination)`` pairs a proxy between these sockets moves
    messages along: none, one or both ways."""
    ways = []
    if frontend.type not in _CANNOT_RECV and backend.type not in _CANNOT_SEND:
        ways.append((frontend, backend))
    if backend.type not in _CANNOT_RECV and frontend.type not in _CANNOT_SEND:
        ways.append((backend, frontend))
    return ways


def send_capture(capture: Any, msg: Sequence[Any]) -> None:
    """A copy of ``msg`` to ``capture``, if it can take one now (else none)."""
    if capture is not None:
        try:
            capture.send_multipart_nowait(list(msg))
        except Again:
            pass


async def pump(src: Any, dst: Any, capture: Any = None) -> None:
    """Move every message from ``src`` to ``dst`` (and its copy to ``capture``) until
    cancelled. Holding one message at a time, it passes ``dst``'s back-pressure on to
    ``src`` and so to its peers."""
    while True:
        msg = await src.recv_multipart()
        send_capture(capture, msg)
        await dst.send_multipart(msg)
