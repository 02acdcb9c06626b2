"""Fan-out (RFC 29/PUBSUB: "SHALL send each message to all matching subscribers").

:class:`Distributor` writes one message to several pipes. A pipe at its HWM either
misses the message (the default: a slow subscriber must never stall the others) or,
in ``nodrop`` mode, makes the whole send wait so nothing is lost. Each pipe gets its
own shallow copy of the frame list but the frames themselves are shared (they are
immutable ``bytes``). Mirrors libzmq's ``dist_t``; sans-IO.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zmtp.routing.pipe import Pipe

__all__ = ["Distributor"]


class Distributor:
    """Sends to many pipes; counts what it had to drop."""

    __slots__ = ("dropped", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        #: Messages not delivered to some pipe because it was full.
        self.dropped = 0

    def attach(self, pipe: Pipe) -> None:
        self.pipes.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        try:
            self.pipes.remove(pipe)
        except ValueError:
            pass

    def send(self, msg: list[Any], pipes: Iterable[Pipe], *, nodrop: bool = False) -> bool:
        """Write ``msg`` to each of ``pipes``. With ``nodrop``, write nothing and return
        False if any of them is full (its producer is marked blocked so that the
        socket is woken when it drains)."""
        targets = [p for p in pipes if p.state == "active"]
        if nodrop:
            full = [p for p in targets if p.out_q.full()]
            if full:
                for p in full:
                    p.out_q.producer_blocked = True
                return False
        last = len(targets) - 1
        for i, pipe in enumerate(targets):
            q = pipe.out_q
            if q.full():
                self.dropped += 1
                continue
            q.put(msg if i == last else list(msg))
        return True

    def send_to_all(self, msg: list[Any], *, nodrop: bool = False) -> bool:
        return self.send(msg, self.pipes, nodrop=nodrop)
