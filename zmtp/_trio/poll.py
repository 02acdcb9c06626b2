"""``zmtp.Poller`` on trio: wait until one of several sockets can receive or send.

pyzmq programs multiplex sockets with a poller::

    poller = zmtp.Poller()
    poller.register(frontend, zmtp.POLLIN)
    poller.register(backend, zmtp.POLLIN)
    while True:
        for sock, events in await poller.poll(1000):   # ms; None waits forever
            msg = await sock.recv_multipart()          # ready: does not wait
            ...

Polling never takes a message out of a socket: it asks each socket's core what
``poll_events`` answers (``POLLIN``: a message can be received now; ``POLLOUT``: one
can be sent now) and, when none is ready, waits to be told that one may have become
ready (the cores' watchers). The trio way to serve several sockets is still a task per
socket in a nursery; the poller is for code ported from pyzmq.
"""

from __future__ import annotations

import math
from typing import Protocol

import trio

from zmtp.core.socket import POLLIN, POLLOUT, SocketCore
from zmtp.errors import ZMTPValueError

__all__ = ["POLLIN", "POLLOUT", "Pollable", "Poller"]


class Pollable(Protocol):
    """What a poller needs of a socket: its core."""

    @property
    def core(self) -> SocketCore: ...


def _timeout_seconds(timeout: float | None) -> float:
    """pyzmq's poll timeout: milliseconds; None or negative waits forever."""
    if timeout is None or timeout < 0:
        return math.inf
    return timeout / 1000


class Poller:
    """Sockets registered for ``POLLIN`` and/or ``POLLOUT`` (pyzmq's ``zmq.Poller``)."""

    def __init__(self) -> None:
        self.sockets: dict[Pollable, int] = {}

    def register(self, socket: Pollable, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags``; registering again changes them, 0 removes."""
        if not hasattr(socket, "core") or not isinstance(socket.core, SocketCore):
            raise ZMTPValueError(
                f"zmtp.Poller polls zmtp sockets, got {type(socket).__name__} "
                "(wait for a file descriptor with trio.lowlevel.wait_readable)"
            )
        if not isinstance(flags, int) or flags & ~(POLLIN | POLLOUT):
            raise ZMTPValueError(f"poll flags are zmtp.POLLIN and zmtp.POLLOUT, got {flags!r}")
        if flags:
            self.sockets[socket] = flags
        else:
            self.sockets.pop(socket, None)

    modify = register

    def unregister(self, socket: Pollable) -> None:
        """Stop watching ``socket`` (a socket never registered raises KeyError, as in
        pyzmq)."""
        del self.sockets[socket]

    def _ready(self) -> list[tuple[Pollable, int]]:
        ready = []
        for sock, flags in self.sockets.items():
            events = sock.core.poll_events() & flags
            if events:
                ready.append((sock, events))
        return ready

    async def poll(self, timeout: float | None = None) -> list[tuple[Pollable, int]]:
        """The registered sockets that are ready, with their ready events; waits up to
        ``timeout`` ms (None or -1: forever; 0: just look) for at least one. Returns
        ``[]`` when the time ran out."""
        ready = self._ready()
        if ready or timeout == 0:
            await trio.lowlevel.checkpoint()
            return ready
        lot = trio.lowlevel.ParkingLot()

        def wake() -> None:
            lot.unpark_all()

        cores = [sock.core for sock in self.sockets]
        for core in cores:
            core.watchers.append(wake)
        try:
            with trio.move_on_after(_timeout_seconds(timeout)):
                while True:
                    await lot.park()
                    ready = self._ready()
                    if ready:
                        return ready
            return []
        finally:
            for core in cores:
                core.watchers.remove(wake)


async def poll_one(socket: Pollable, timeout: float | None, flags: int) -> int:
    """``sock.poll(timeout, flags)``: the events of ``flags`` ready within ``timeout`` ms
    (0 if none)."""
    poller = Poller()
    poller.register(socket, flags)
    ready = await poller.poll(timeout)
    return ready[0][1] if ready else 0
