"""Fan-out (RFC 29/PUBSUB: "SHALL send each message to all matching subscribers").

:class:`Distributor` writes one message to several pipes. A pipe at its HWM either
misses the message (the default: a slow subscriber must never stall the others) or,
in ``nodrop`` mode, makes the whole send wait so nothing is lost. Mirrors libzmq's
``dist_t``; sans-IO.

Work per message: one pass over the target pipes, each getting an append to its
queue and nothing else. Frames are immutable ``bytes``, and an engine writer only
reads them, so every such pipe is handed the same list object; only a pipe whose
consumer keeps the list as its own (``Pipe.exclusive_msgs``: an inproc peer, which
gives it to its application) gets a shallow copy. Attaching and detaching are O(1)
(a position map, and a swap with the last pipe on removal), so a subscriber leaving
costs the same among ten or ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zmtp.routing.pipe import Pipe

__all__ = ["Distributor"]


class Distributor:
    """Sends to many pipes; counts what it had to drop."""

    __slots__ = ("_pos", "dropped", "pipes")

    def __init__(self) -> None:
        #: The attached pipes, in no particular order.
        self.pipes: list[Pipe] = []
        self._pos: dict[Pipe, int] = {}
        #: Messages not delivered to some pipe because it was full.
        self.dropped = 0

    def __contains__(self, pipe: object) -> bool:
        return pipe in self._pos

    def attach(self, pipe: Pipe) -> None:
        if pipe not in self._pos:
            self._pos[pipe] = len(self.pipes)
            self.pipes.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        """Forget ``pipe`` (no-op if it is not attached)."""
        i = self._pos.pop(pipe, None)
        if i is None:
            return
        last = self.pipes.pop()
        if last is not pipe:
            self.pipes[i] = last
            self._pos[last] = i

    def send(self, msg: list[Any], pipes: Iterable[Pipe], *, nodrop: bool = False) -> bool:
        """Write ``msg`` to each of ``pipes`` that is active. With ``nodrop``, write
        nothing and return False if any of them is full (its producer is marked
        blocked so that the socket is woken when it drains)."""
        if nodrop:
            pipes = list(pipes)
            full = [p for p in pipes if p.state == "active" and p.out_q.full()]
            if full:
                for p in full:
                    p.out_q.producer_blocked = True
                return False
        dropped = 0
        for pipe in pipes:
            if pipe.state != "active":
                continue
            q = pipe.out_q
            items = q.items
            hwm = q.hwm
            if hwm and len(items) >= hwm:
                dropped += 1
                continue
            # The queue operations of MsgQueue.put, inlined (this loop runs once per
            # subscriber per message).
            if q.conflate:
                items.clear()
            items.append(list(msg) if pipe.exclusive_msgs else msg)
            if len(items) == 1:
                q.wake_consumer()
        self.dropped += dropped
        return True

    def send_to_all(self, msg: list[Any], *, nodrop: bool = False) -> bool:
        return self.send(msg, self.pipes, nodrop=nodrop)
