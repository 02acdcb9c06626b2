"""Fair queuing (RFC 28 and RFC 30: "fair-queue incoming messages from peers").

:class:`FairQueue` reads one message at a time from each pipe that has input, in
turn, so a busy peer cannot starve the others: the pipes with input wait in line
(:class:`~zmtp.routing.active.ActiveList`), one that runs dry leaves the line and
joins its back again with :meth:`activated`. A pipe detached while it still holds messages stays
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
            self._activate(pipe)

    def activated(self, pipe: Pipe) -> None:
        """The pipe got input."""
        self._activate(pipe)

    def recv_msg(self) -> list[Any] | None:
        """Like :meth:`recv` without the pipe: the hot path of fair-queued receives,
        with the queue operations inlined (see :meth:`MsgQueue.get`)."""
        ready = self.ready
        while ready:
            # The front of the line; a bare for/break costs no call per message.
            for pipe in ready:  # noqa: B007
                break
            q = pipe.in_q
            items = q.items
            if items:
                msg = items.popleft()
                self.last = pipe
                if q.producer_blocked and not (0 < q.hwm <= len(items)):
                    q.producer_blocked = False
                    q.wake_producer()
                if items:
                    if len(ready) > 1:
                        ready.move_to_end(pipe)
                else:
                    self._drained(pipe)
                return msg
            self._drained(pipe)
        return None

    def has_input(self) -> bool:
        return bool(self.ready)

    def recv(self) -> tuple[list[Any], Pipe] | None:
        """The next message and the pipe it came from, or None when no pipe has input."""
        ready = self.ready
        while ready:
            pipe = next(iter(ready))
            if pipe.in_q.items:
                msg = pipe.read()
                self.last = pipe
                if pipe.in_q.items:
                    ready.move_to_end(pipe)
                else:
                    self._drained(pipe)
                return msg, pipe
            self._drained(pipe)
        return None

    def _drained(self, pipe: Pipe) -> None:
        del self.ready[pipe]
        if pipe.state == "terminated":
            self.detach(pipe)
