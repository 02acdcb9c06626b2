"""Pipes: the unit that patterns route to (sans-IO).

A :class:`Pipe` is the socket's end of a bidirectional message channel to one peer.
It holds two bounded queues, seen from the socket::

        socket (pattern)                              far side
        ────────────────                              ────────────────────────────
        pipe.write(msg) ─► out_q ─────────────────►   engine writer   (tcp, ipc)
                                                      or peer socket  (inproc)
        pipe.read()     ◄─ in_q  ◄─────────────────   engine reader   (tcp, ipc)
                                                      or peer socket  (inproc)

For inproc the two sockets share the queues: one pipe's ``out_q`` *is* the other's
``in_q``, so a send puts the message object straight into the peer's receive queue.
That peer hands the very list to its application (and takes frames off it, for
``recv``), so such a pipe is marked ``exclusive_msgs``: a fan-out gives it a list of
its own. An engine writer only reads the frames to encode them, so every tcp/ipc
pipe of a fan-out can be handed the same list.

A :class:`MsgQueue` knows its high-water mark and two wake-up hooks: one for its
consumer (called when the queue goes from empty to non-empty) and one for its
producer (called when the queue leaves the full state after the producer found it
full and said so with ``producer_blocked``). The hooks are plain callables, set by
whoever owns the far side (a trio engine, another socket); this file never touches
trio, sockets or clocks.

A message is a ``list`` of frame bodies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["MsgQueue", "Pipe", "SubscriptionMsg"]


class SubscriptionMsg(list):  # type: ignore[type-arg]
    """A subscription travelling in a pipe: the one-frame ZMTP 3.0 form, ``[b"\\x01" +
    topic]`` to subscribe or ``[b"\\x00" + topic]`` to cancel, marked so that an engine
    can send it as a SUBSCRIBE/CANCEL command to a ZMTP 3.1 peer (RFC 37)."""

    __slots__ = ()

    @classmethod
    def make(cls, topic: bytes, subscribe: bool = True) -> SubscriptionMsg:
        return cls(((b"\x01" if subscribe else b"\x00") + bytes(topic),))

    @property
    def subscribe(self) -> bool:
        return bool(self[0][:1] == b"\x01")

    @property
    def topic(self) -> bytes:
        return self[0][1:]  # type: ignore[no-any-return]


def _nothing() -> None:
    return None


class MsgQueue:
    """A FIFO of messages with a high-water mark (0: unbounded) and wake-up hooks."""

    __slots__ = ("conflate", "hwm", "items", "producer_blocked", "wake_consumer", "wake_producer")

    def __init__(self, hwm: int, *, conflate: bool = False) -> None:
        self.items: deque[list[Any]] = deque()
        self.hwm = hwm
        #: Keep only the newest message (libzmq's ZMQ_CONFLATE).
        self.conflate = conflate
        self.producer_blocked = False
        self.wake_consumer: Callable[[], None] = _nothing
        self.wake_producer: Callable[[], None] = _nothing

    def __len__(self) -> int:
        return len(self.items)

    def full(self) -> bool:
        return 0 < self.hwm <= len(self.items)

    def put(self, msg: list[Any]) -> None:
        """Append one message (the producer checked :meth:`full` if it cares)."""
        items = self.items
        if self.conflate:
            items.clear()
        items.append(msg)
        if len(items) == 1:
            self.wake_consumer()

    def put_many(self, msgs: list[list[Any]]) -> None:
        """Append a batch, waking the consumer at most once."""
        items = self.items
        was_empty = not items
        if self.conflate:
            items.clear()
            msgs = msgs[-1:]
            was_empty = True
        items.extend(msgs)
        if was_empty and items:
            self.wake_consumer()

    def get(self) -> list[Any]:
        """Pop the oldest message; wakes a blocked producer once there is room."""
        msg = self.items.popleft()
        if self.producer_blocked and not self.full():
            self.producer_blocked = False
            self.wake_producer()
        return msg

    def room_made(self) -> None:
        """Call after removing items directly from ``items`` (batch consumers)."""
        if self.producer_blocked and not self.full():
            self.producer_blocked = False
            self.wake_producer()

    def clear(self) -> int:
        """Drop every message; returns how many were dropped."""
        n = len(self.items)
        self.items.clear()
        self.room_made()
        return n


class Pipe:
    """The socket's end of a channel to one peer.

    ``routing_id`` is what a ROUTER uses to address the peer; ``peer_type`` and
    ``properties`` come from the peer's handshake metadata (None/empty for a pipe
    whose connection is not up yet). ``endpoint`` names where the peer lives.
    """

    __slots__ = (
        "__weakref__",
        "assigned_id",
        "attached",
        "endpoint",
        "exclusive_msgs",
        "in_q",
        "out_q",
        "peer_type",
        "properties",
        "routing_id",
        "state",
        "user_id",
    )

    def __init__(self, in_q: MsgQueue, out_q: MsgQueue, endpoint: str = "") -> None:
        self.in_q = in_q
        self.out_q = out_q
        self.endpoint = endpoint
        self.routing_id = b""
        self.peer_type: Any = None
        self.properties: Any = {}
        self.user_id = b""
        #: "active", then "terminated" once the peer is gone: no more writes, and
        #: readable until drained.
        self.state = "active"
        #: Set by the socket once its pattern accepted the pipe.
        self.attached = False
        #: A routing id chosen locally for this peer (ROUTER's connect_routing_id).
        self.assigned_id = b""
        #: Whatever takes messages out of ``out_q`` keeps the list itself and may
        #: change it (an inproc peer socket): a list written here must be written
        #: nowhere else. False for a pipe drained by an engine writer, which only
        #: reads the frames.
        self.exclusive_msgs = False

    def __repr__(self) -> str:
        return f"<Pipe {self.endpoint} id={self.routing_id!r} {self.state}>"

    @classmethod
    def pair(cls, hwm_a_to_b: int, hwm_b_to_a: int, endpoint: str = "") -> tuple[Pipe, Pipe]:
        """Two pipes sharing their queues crosswise (inproc)."""
        a_to_b = MsgQueue(hwm_a_to_b)
        b_to_a = MsgQueue(hwm_b_to_a)
        a, b = cls(b_to_a, a_to_b, endpoint), cls(a_to_b, b_to_a, endpoint)
        a.exclusive_msgs = b.exclusive_msgs = True
        return a, b

    # -- the socket side -----------------------------------------------------------

    def writable(self) -> bool:
        """True if a message can be written now (below the HWM and not terminating)."""
        return self.state == "active" and not self.out_q.full()

    def write(self, msg: list[Any]) -> None:
        self.out_q.put(msg)

    def readable(self) -> bool:
        return bool(self.in_q.items)

    def read(self) -> list[Any]:
        return self.in_q.get()
