"""``zmtp.asyncio.Poller``: wait until one of several sockets can receive or send.

For code ported from pyzmq's ``zmq.asyncio``::

    poller = zmtp.asyncio.Poller()
    poller.register(frontend, zmtp.POLLIN)
    poller.register(backend, zmtp.POLLIN)
    while True:
        for sock, events in await poller.poll(1000):   # ms; None waits forever
            msg = await sock.recv_multipart()          # ready: does not wait
            ...

Polling never takes a message out of a socket. The registration and the readiness
(each core's ``poll_events``) are the engine-neutral
:class:`~zmtp.core.poll.PollSet`'s; this file only waits: when nothing is ready, a
``poll`` joins the cores' ``watchers``, which the cores call whenever what they would
answer may have changed, and parks on a future until one does or the time runs out.
A watcher may be called from another thread (a core is touched under its context's
lock by whoever holds it); it then hops to the loop's thread. The asyncio way to serve
several sockets is still a task per socket; the poller is for ported code.
"""

from __future__ import annotations

import asyncio
import math
import threading

from zmtp.asyncio.runtime import wait_for_wake
from zmtp.core.poll import POLLIN, POLLOUT, Pollable, PollSet, timeout_seconds

__all__ = ["POLLIN", "POLLOUT", "Pollable", "Poller", "poll_one"]

_get_ident = threading.get_ident


class Poller(PollSet):
    """Sockets registered for ``POLLIN`` and/or ``POLLOUT`` (pyzmq's ``zmq.Poller``,
    as ``zmq.asyncio`` has it: ``await poller.poll(timeout_ms)``)."""

    public_name = "zmtp.asyncio.Poller"
    not_a_socket_hint = "wait for a file descriptor with loop.add_reader"

    async def poll(self, timeout: float | None = None) -> list[tuple[Pollable, int]]:
        """The registered sockets that are ready, with their ready events; waits up to
        ``timeout`` ms (None or -1: forever; 0: just look) for at least one. Returns
        ``[]`` when the time ran out. Cancellation-safe (it takes nothing anyway)."""
        ready = self.ready()
        if ready or timeout == 0:
            await asyncio.sleep(0)  # a loop pass, so that a polling loop never starves I/O
            return ready
        loop = asyncio.get_running_loop()
        thread = _get_ident()
        waiters: list[asyncio.Future[bool]] = []

        def wake() -> None:
            if _get_ident() != thread:
                loop.call_soon_threadsafe(wake)
                return
            woken = waiters[:]
            waiters.clear()
            for fut in woken:
                if not fut.done():
                    fut.set_result(True)

        seconds = timeout_seconds(timeout)
        deadline = None if seconds == math.inf else loop.time() + seconds
        cores = self.cores
        for core in cores:
            with core.context.lock:
                core.watchers.append(wake)
        try:
            while True:
                if not await wait_for_wake(loop, waiters, deadline):
                    return []
                ready = self.ready()
                if ready:
                    return ready
        finally:
            for core in cores:
                with core.context.lock:
                    core.watchers.remove(wake)


async def poll_one(socket: Pollable, timeout: float | None, flags: int) -> int:
    """``sock.poll(timeout, flags)``: the events of ``flags`` ready within ``timeout`` ms
    (0 if none)."""
    poller = Poller()
    poller.register(socket, flags)
    ready = await poller.poll(timeout)
    return ready[0][1] if ready else 0
