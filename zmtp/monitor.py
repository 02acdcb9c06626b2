"""Socket monitoring on trio: ``async for event in sock.monitor()``.

Events carry libzmq's names and values (``zmtp.Event.CONNECTED == zmq.EVENT_CONNECTED``)
plus the endpoint and, where zmtp knows it, a sentence saying why (a protocol rule
broken, an OS error). A monitor never slows or blocks its socket: each has a bounded
buffer (a :class:`zmtp.core.events.MonitorQueue`) and drops the oldest events past it,
counting them in ``dropped``.

Stop a monitor by leaving its ``async with`` block, by ``await monitor.aclose()``, or
by closing the socket; the last event is then ``MONITOR_STOPPED``.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from zmtp.core.events import Event, MonitorEvent, MonitorQueue

__all__ = ["Event", "Monitor", "MonitorEvent"]


class Monitor:
    """An async iterator of :class:`MonitorEvent` for one socket."""

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self.queue = MonitorQueue(events, buffer)
        self._lot = trio.lowlevel.ParkingLot()
        self.queue.on_event = self._wake
        self._on_close: list[Callable[[], None]] = []

    def _wake(self) -> None:
        self._lot.unpark_all()

    @property
    def mask(self) -> Event:
        return self.queue.mask

    @property
    def dropped(self) -> int:
        """Events lost because this monitor's reader fell behind."""
        return self.queue.dropped

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the monitor is closed by its user."""
        self._on_close.append(callback)

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
            await self._lot.park()

    async def receive(self) -> MonitorEvent:
        """The next event; raises ``trio.EndOfChannel`` after MONITOR_STOPPED."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise trio.EndOfChannel from None

    async def wait_for(self, event: Event, endpoint: str | None = None) -> MonitorEvent:
        """Skip events until one of type ``event`` (and ``endpoint``, if given) arrives."""
        async for ev in self:
            if ev.event & event and (endpoint is None or ev.endpoint == endpoint):
                return ev
        raise trio.EndOfChannel(f"monitor stopped before {event!r}")

    async def aclose(self) -> None:
        for detach in self._on_close:
            detach()
        self._on_close.clear()
        self.queue.stop()
        await trio.lowlevel.checkpoint()

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
