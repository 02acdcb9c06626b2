"""Socket monitoring: ``async for event in sock.monitor()``.

Events carry libzmq's names and values (``zmtp.Event.CONNECTED == zmq.EVENT_CONNECTED``)
plus the endpoint and, where zmtp knows it, a sentence saying why (a protocol rule
broken, an OS error). A monitor never slows or blocks its socket: each has a bounded
buffer and drops the oldest events past it, counting them in ``dropped``.

Stop a monitor by leaving its ``async with`` block, by ``await monitor.aclose()``, or
by closing the socket; the last event is then ``MONITOR_STOPPED``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque

import trio

__all__ = ["Event", "Monitor", "MonitorEvent"]


class Event(enum.IntFlag):
    """Monitor event types; values equal libzmq's ``ZMQ_EVENT_*``."""

    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    ALL = 0xFFFF


@dataclasses.dataclass(frozen=True)
class MonitorEvent:
    """One thing that happened to a socket's connections.

    ``value`` is libzmq's event value where it has one (a file descriptor, a retry
    interval in ms, an errno); ``reason`` says why in words.
    """

    event: Event
    endpoint: str
    value: int = 0
    reason: str = ""


class Monitor:
    """An async iterator of :class:`MonitorEvent` for one socket."""

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self.mask = events
        self.dropped = 0
        self._buf: deque[MonitorEvent] = deque(maxlen=buffer)
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._on_close: list[object] = []

    def _push(self, ev: MonitorEvent) -> None:
        if self._closed or not ev.event & self.mask:
            return
        if len(self._buf) == self._buf.maxlen:
            self.dropped += 1
        self._buf.append(ev)
        self._lot.unpark_all()

    def _stop(self, endpoint: str = "") -> None:
        if self._closed:
            return
        self._buf.append(MonitorEvent(Event.MONITOR_STOPPED, endpoint))
        self._closed = True
        self._lot.unpark_all()

    def __aiter__(self) -> Monitor:
        return self

    async def __anext__(self) -> MonitorEvent:
        while not self._buf:
            if self._closed:
                raise StopAsyncIteration
            await self._lot.park()
        return self._buf.popleft()

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
            detach()  # type: ignore[operator]
        self._on_close.clear()
        self._stop()
        await trio.lowlevel.checkpoint()

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
