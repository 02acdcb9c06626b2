"""Socket monitoring on asyncio: ``async for event in sock.monitor()``.

The events and their buffer are the engine-neutral
:class:`~zmtp.core.events.MonitorQueue`'s (libzmq's names and values, the endpoint,
and a reason where zmtp knows one); this file only waits. A monitor never slows or
blocks its socket: past its buffer it drops the oldest events, counting them in
``dropped``.

Stop a monitor by leaving its ``async with`` block, by ``await monitor.aclose()``, or
by closing the socket; the last event is then ``MONITOR_STOPPED``, after which
``receive()`` raises :class:`EndOfChannel` and ``async for`` ends.
"""

from __future__ import annotations

import asyncio
import threading

from zmtp.core.events import Event, MonitorBase, MonitorEvent

__all__ = ["EndOfChannel", "Event", "Monitor", "MonitorEvent"]

_get_ident = threading.get_ident


class EndOfChannel(Exception):
    """``Monitor.receive()`` after ``MONITOR_STOPPED`` (the trio engine raises
    ``trio.EndOfChannel`` there)."""


class Monitor(MonitorBase):
    """An async iterator of :class:`MonitorEvent` for one socket."""

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self._waiters: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = -1
        super().__init__(events, buffer)

    def _wake(self) -> None:
        # The core pushes events from whichever thread touched it: hop to the loop.
        if _get_ident() != self._thread:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake)
            return
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def __aiter__(self) -> Monitor:
        return self

    async def __anext__(self) -> MonitorEvent:
        queue = self.queue
        while True:
            ev = queue.pop()
            if ev is not None:
                return ev
            if queue.closed:
                raise StopAsyncIteration
            loop = asyncio.get_running_loop()
            if loop is not self._loop:
                self._loop = loop
                self._thread = _get_ident()
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                if fut.cancelled() and fut in self._waiters:
                    self._waiters.remove(fut)

    async def receive(self) -> MonitorEvent:
        """The next event; raises :class:`EndOfChannel` after MONITOR_STOPPED."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise EndOfChannel from None

    async def wait_for(self, event: Event, endpoint: str | None = None) -> MonitorEvent:
        """Skip events until one of type ``event`` (and ``endpoint``, if given) arrives."""
        async for ev in self:
            if self._matches(ev, event, endpoint):
                return ev
        raise EndOfChannel(f"monitor stopped before {event!r}")

    async def aclose(self) -> None:
        self._stop()

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
