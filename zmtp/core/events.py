"""Monitor events, engine-neutral: what happened to a socket's connections, and why.

Events carry libzmq's names and values (``Event.CONNECTED == zmq.EVENT_CONNECTED``)
plus the endpoint and, where zmtp knows it, a sentence saying why (a protocol rule
broken, an OS error).

A :class:`MonitorQueue` is the buffer behind every engine's monitor: the socket core
pushes events into it, and an engine wakes whoever waits through ``on_event``;
:class:`MonitorBase` is what every engine's ``Monitor`` shares (the queue, ``mask``,
``dropped``, detaching from the socket when stopped), each adding only its way to wait. It never
slows or blocks its socket: past ``buffer`` events it drops the oldest and counts them
in ``dropped``. The queue ends with ``MONITOR_STOPPED``.

:func:`handshake_failure_event` decides which event reports a failed handshake.

This module does no I/O and imports no event loop.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from collections.abc import Callable

from zmtp.errors import AuthenticationFailed, PeerError, ProtocolError

__all__ = ["Event", "MonitorBase", "MonitorEvent", "MonitorQueue", "handshake_failure_event"]


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
    interval in ms, an errno, a ZAP status code); ``reason`` says why in words.
    """

    event: Event
    endpoint: str
    value: int = 0
    reason: str = ""


def _nothing() -> None:
    return None


class MonitorQueue:
    """A bounded buffer of events for one monitor of one socket.

    ``on_event`` is called after each event is pushed (and when the queue stops): an
    engine sets it to wake its waiting reader.
    """

    __slots__ = ("_buf", "closed", "dropped", "mask", "on_event")

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self.mask = events
        #: Events lost because the reader fell ``buffer`` events behind.
        self.dropped = 0
        self.closed = False
        self._buf: deque[MonitorEvent] = deque(maxlen=buffer)
        self.on_event: Callable[[], None] = _nothing

    def push(self, ev: MonitorEvent) -> None:
        if self.closed or not ev.event & self.mask:
            return
        if len(self._buf) == self._buf.maxlen:
            self.dropped += 1
        self._buf.append(ev)
        self.on_event()

    def stop(self, endpoint: str = "") -> None:
        """End the queue: MONITOR_STOPPED is the last event (idempotent)."""
        if self.closed:
            return
        self._buf.append(MonitorEvent(Event.MONITOR_STOPPED, endpoint))
        self.closed = True
        self.on_event()

    def pop(self) -> MonitorEvent | None:
        """The oldest event, or None when there is none (yet, or ever: see ``closed``)."""
        return self._buf.popleft() if self._buf else None

    def __len__(self) -> int:
        return len(self._buf)


class MonitorBase:
    """The engine-neutral half of a socket monitor: its :class:`MonitorQueue`, what it
    reports about it, and what stops it. An engine's ``Monitor`` subclasses it, wakes
    its waiting reader in :meth:`_wake`, and calls :meth:`_stop` when its user closes it.
    """

    def __init__(self, events: Event = Event.ALL, buffer: int = 1024) -> None:
        self.queue = MonitorQueue(events, buffer)
        self.queue.on_event = self._wake
        self._on_close: list[Callable[[], None]] = []

    def _wake(self) -> None:
        """An event was pushed, or the queue stopped: wake whoever waits."""
        raise NotImplementedError

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

    def _detach(self) -> None:
        """Run the ``on_close`` callbacks once (the socket stops feeding the queue)."""
        callbacks, self._on_close = self._on_close, []
        for detach in callbacks:
            detach()

    def _stop(self) -> None:
        """Closed by its user (idempotent): detached, then ``MONITOR_STOPPED`` last."""
        self._detach()
        self.queue.stop()

    @staticmethod
    def _matches(ev: MonitorEvent, event: Event, endpoint: str | None) -> bool:
        """Whether ``ev`` is what ``wait_for(event, endpoint)`` waits for."""
        return bool(ev.event & event) and (endpoint is None or ev.endpoint == endpoint)


def handshake_failure_event(exc: ProtocolError | None) -> tuple[Event, int]:
    """Which monitor event reports a handshake that failed with ``exc`` (None: the
    peer went away or was too slow), and its value, as libzmq reports them.

    A ZAP status code (RFC 27: 3xx, 4xx, 5xx), given by our handler or carried in the
    peer's ERROR, is ``HANDSHAKE_FAILED_AUTH`` with the code as the value.
    """
    status = ""
    if isinstance(exc, AuthenticationFailed):
        status = exc.status_code or ""
    elif isinstance(exc, PeerError):
        status = exc.peer_reason
    if len(status) == 3 and status.isdigit() and status[0] in "345":
        return Event.HANDSHAKE_FAILED_AUTH, int(status)
    if isinstance(exc, AuthenticationFailed):
        return Event.HANDSHAKE_FAILED_AUTH, 0
    if exc is not None:
        return Event.HANDSHAKE_FAILED_PROTOCOL, 0
    return Event.HANDSHAKE_FAILED_NO_DETAIL, 0
