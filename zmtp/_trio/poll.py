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
socket in a nursery; the poller is for code ported from pyzmq. The registration and
the readiness are the engine-neutral :class:`~zmtp.core.poll.PollSet`'s; this file
only waits.
"""

from __future__ import annotations

import trio

from zmtp.core.poll import POLLIN, POLLOUT, Pollable, PollSet, timeout_seconds

__all__ = ["POLLIN", "POLLOUT", "Pollable", "Poller"]


class Poller(PollSet):
    """Sockets registered for ``POLLIN`` and/or ``POLLOUT`` (pyzmq's ``zmq.Poller``);
    the registration is :class:`~zmtp.core.poll.PollSet`'s, the waiting is trio's."""

    public_name = "zmtp.Poller"
    not_a_socket_hint = "wait for a file descriptor with trio.lowlevel.wait_readable"

    async def poll(self, timeout: float | None = None) -> list[tuple[Pollable, int]]:
        """The registered sockets that are ready, with their ready events; waits up to
        ``timeout`` ms (None or -1: forever; 0: just look) for at least one. Returns
        ``[]`` when the time ran out."""
        ready = self.ready()
        if ready or timeout == 0:
            await trio.lowlevel.checkpoint()
            return ready
        lot = trio.lowlevel.ParkingLot()

        def wake() -> None:
            lot.unpark_all()

        cores = self.cores
        for core in cores:
            core.watchers.append(wake)
        try:
            with trio.move_on_after(timeout_seconds(timeout)):
                while True:
                    await lot.park()
                    ready = self.ready()
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
