"""Socket monitoring, blocking: ``for event in sock.monitor(): ...``.

The events and their buffer are the engine-neutral
:class:`~zmtp.core.events.MonitorQueue`'s (libzmq's names and values, the endpoint,
and a reason where zmtp knows one). The socket core pushes events from whichever
thread touched it (mostly the I/O thread), holding the context's lock; this file only
waits, on a condition of that lock. A monitor never slows or blocks its socket: past
its buffer it drops the oldest events, counting them in ``dropped``.

Stop a monitor by leaving its ``with`` block, by ``monitor.close()``, or by closing
the socket; the last event is then ``MONITOR_STOPPED``, after which ``receive()``
raises :class:`EndOfChannel` and iteration ends.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from zmtp.asyncio.monitor import EndOfChannel
from zmtp.core.events import Event, MonitorBase, MonitorEvent
from zmtp.errors import Again

__all__ = ["EndOfChannel", "Event", "Monitor", "MonitorEvent"]


class Monitor(MonitorBase):
    """A blocking iterator of :class:`MonitorEvent` for one socket (made by
    ``sock.monitor(events)``). Timeouts are in milliseconds, as everywhere in
    ``zmtp.sync``."""

    def __init__(self, lock: Any, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self._cond = threading.Condition(lock)
        super().__init__(events, buffer)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def receive(self, timeout: float | None = None) -> MonitorEvent:
        """The next event, waiting up to ``timeout`` ms (None: forever; then
        :class:`zmtp.Again`). Raises :class:`EndOfChannel` after MONITOR_STOPPED."""
        queue = self.queue
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        with self._cond:
            while True:
                ev = queue.pop()
                if ev is not None:
                    return ev
                if queue.closed:
                    raise EndOfChannel("the monitor has stopped")
                if deadline is None:
                    self._cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Again(f"no monitor event within {timeout} ms")
                    self._cond.wait(left)

    def poll(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` ms (None or negative: forever; 0: just look) until
        :meth:`receive` would return at once: an event is buffered, or the monitor has
        stopped. Takes nothing (as a socket's ``poll``); False if the time ran out.

        For a thread that waits on the monitor while another takes the events: a
        waiter given up on can never have swallowed one."""
        queue = self.queue
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        with self._cond:
            while not (len(queue) or queue.closed):
                if deadline is None:
                    self._cond.wait()
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def __iter__(self) -> Monitor:
        return self

    def __next__(self) -> MonitorEvent:
        try:
            return self.receive()
        except EndOfChannel:
            raise StopIteration from None

    def wait_for(
        self, event: Event, endpoint: str | None = None, timeout: float | None = None
    ) -> MonitorEvent:
        """Skip events until one of type ``event`` (and ``endpoint``, if given)
        arrives; at most ``timeout`` ms in all (then :class:`zmtp.Again`)."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        while True:
            left = None if deadline is None else max(0.0, (deadline - time.monotonic()) * 1000)
            try:
                ev = self.receive(left)
            except EndOfChannel:
                raise EndOfChannel(f"monitor stopped before {event!r}") from None
            if self._matches(ev, event, endpoint):
                return ev

    def close(self) -> None:
        """Stop watching (idempotent); ``MONITOR_STOPPED`` is the last event."""
        self._detach()
        with self._cond:
            self.queue.stop()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
