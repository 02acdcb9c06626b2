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

import trio

from zmtp.core.events import Event, MonitorBase, MonitorEvent

__all__ = ["Event", "Monitor", "MonitorEvent"]


class Monitor(MonitorBase):
    """An async iterator of :class:`MonitorEvent` for one socket."""

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self._lot = trio.lowlevel.ParkingLot()
        super().__init__(events, buffer)

    def _wake(self) -> None:
        self._lot.unpark_all()

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
            if self._matches(ev, event, endpoint):
                return ev
        raise trio.EndOfChannel(f"monitor stopped before {event!r}")

    async def aclose(self) -> None:
        self._stop()
        await trio.lowlevel.checkpoint()

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
