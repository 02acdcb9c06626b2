"""Fair queuing (RFC 28 and RFC 30: "fair-queue incoming messages from peers").

:class:`FairQueue` reads one message at a time from each pipe that has input, in
turn, so a busy peer cannot starve the others. Pipes with input are the first
``active`` entries of one list; a pipe that runs dry is swapped behind them and comes
back with :meth:`activated`. A pipe detached while it still holds messages stays
readable until drained (nothing a peer delivered is lost). Mirrors libzmq's
``fq_t``; sans-IO.
"""

from __future__ import annotations

from typing import Any

from zmtp.routing.active import ActiveList
from zmtp.routing.pipe import Pipe

__all__ = ["FairQueue"]


class FairQueue(ActiveList):
    """Round-robin over pipes with input, one message per turn."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        super().__init__()
        #: The pipe the last message came from (for message properties).
        self.last: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        self._append(pipe)
        if pipe.readable():
            self.activated(pipe)

    def activated(self, pipe: Pipe) -> None:
        """The pipe got input."""
        self._activate(pipe)

    def recv_msg(self) -> list[Any] | None:
        """Like :meth:`recv` without the pipe: the hot path of fair-queued receives,
        with the queue operations inlined (see :meth:`MsgQueue.get`)."""
        pipes = self.pipes
        while self._active:
            i = self._current
            pipe = pipes[i]
            q = pipe.in_q
            items = q.items
            if items:
                msg = items.popleft()
                self.last = pipe
                if q.producer_blocked and not (0 < q.hwm <= len(items)):
                    q.producer_blocked = False
                    q.wake_producer()
                if items:
                    i += 1
                    self._current = i if i < self._active else 0
                else:
                    self._drained(i, pipe)
                return msg
            self._drained(i, pipe)
        return None

    def has_input(self) -> bool:
        return self._active > 0

    def recv(self) -> tuple[list[Any], Pipe] | None:
        """The next message and the pipe it came from, or None when no pipe has input."""
        pipes = self.pipes
        while self._active:
            i = self._current
            pipe = pipes[i]
            if pipe.in_q.items:
                msg = pipe.read()
                self.last = pipe
                if pipe.in_q.items:
                    self._current = (i + 1) % self._active
                else:
                    self._drained(i, pipe)
                return msg, pipe
            self._drained(i, pipe)
        return None

    def _drained(self, i: int, pipe: Pipe) -> None:
        self._deactivate(i)
        if pipe.state == "terminated":
            self.detach(pipe)
