"""What every engine's ``Poller`` shares: the registered sockets and their readiness.

pyzmq programs multiplex sockets with a poller: register each socket for ``POLLIN``
(a message can be received now) and/or ``POLLOUT`` (one can be sent now), then ask
which are ready, waiting up to a timeout in milliseconds. Polling never takes a message
out of a socket: readiness is what the socket core's
:meth:`~zmtp.core.socket.SocketCore.poll_events` answers.

:class:`PollSet` is that bookkeeping, with no waiting: ``register`` / ``modify`` /
``unregister`` with pyzmq's rules, :meth:`PollSet.ready` for the sockets ready now,
and :attr:`PollSet.cores`, whose ``watchers`` an engine joins to be told that the
answer may have changed. An engine's ``Poller`` subclasses it and adds only the wait
(trio: a parking lot; asyncio: a future). Nothing here imports an event loop.
"""

from __future__ import annotations

import math
from typing import Protocol

from zmtp.core.socket import POLLIN, POLLOUT, SocketCore
from zmtp.errors import ZMTPValueError

__all__ = ["POLLIN", "POLLOUT", "PollSet", "Pollable", "timeout_seconds"]


class Pollable(Protocol):
    """What a poller needs of a socket: its core."""

    @property
    def core(self) -> SocketCore: ...


def timeout_seconds(timeout: float | None) -> float:
    """pyzmq's poll timeout (milliseconds; None or negative: forever) in seconds."""
    if timeout is None or timeout < 0:
        return math.inf
    return timeout / 1000


class PollSet:
    """Sockets registered for ``POLLIN`` and/or ``POLLOUT`` (pyzmq's ``zmq.Poller``
    without its ``poll``, which each engine adds)."""

    #: How users name the engine's poller, and where to look instead when they
    #: register something that is not a zmtp socket (each engine has its own way to
    #: wait for a file descriptor).
    public_name = "Poller"
    not_a_socket_hint = ""

    def __init__(self) -> None:
        self.sockets: dict[Pollable, int] = {}

    def register(self, socket: Pollable, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags``; registering again changes them, 0 removes."""
        if not isinstance(getattr(socket, "core", None), SocketCore):
            hint = f" ({self.not_a_socket_hint})" if self.not_a_socket_hint else ""
            raise ZMTPValueError(
                f"{self.public_name} polls zmtp sockets, got {type(socket).__name__}{hint}"
            )
        if not isinstance(flags, int) or flags & ~(POLLIN | POLLOUT):
            raise ZMTPValueError(f"poll flags are zmtp.POLLIN and zmtp.POLLOUT, got {flags!r}")
        if flags:
            self.sockets[socket] = flags
        else:
            self.sockets.pop(socket, None)

    modify = register

    def unregister(self, socket: Pollable) -> None:
        """Stop watching ``socket`` (one never registered raises KeyError, as in pyzmq)."""
        del self.sockets[socket]

    @property
    def cores(self) -> list[SocketCore]:
        """The cores of the registered sockets (whose ``watchers`` a waiting poll joins)."""
        return [sock.core for sock in self.sockets]

    def ready(self) -> list[tuple[Pollable, int]]:
        """The registered sockets ready now, each with its ready events among those it
        was registered for, in registration order. Takes nothing out of them."""
        ready = []
        for sock, flags in self.sockets.items():
            events = sock.core.poll_events() & flags
            if events:
                ready.append((sock, events))
        return ready
