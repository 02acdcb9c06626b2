"""Load balancing (RFC 28 and RFC 30: "round robin" over peers that can take a message).

:class:`LoadBalancer` keeps its pipes in one list whose first ``active`` entries can
take a message; a pipe found full is swapped behind them and comes back when its
queue has room again (:meth:`activated`). Sending walks the active pipes from the
one after the last used. Mirrors libzmq's ``lb_t``; sans-IO.
"""

from __future__ import annotations

from typing import Any

from zmtp.routing.active import ActiveList
from zmtp.routing.pipe import Pipe

__all__ = ["LoadBalancer"]


class LoadBalancer(ActiveList):
    """Round-robin over pipes that are not at their high-water mark."""

    __slots__ = ()

    def attach(self, pipe: Pipe) -> None:
        self._append(pipe)
        self._activate(pipe)

    def activated(self, pipe: Pipe) -> None:
        """The pipe has room again (ignored for a pipe no longer attached)."""
        self._activate(pipe)

    def can_send(self) -> bool:
        """True if some pipe can take a message now."""
        pipes = self.pipes
        while self._active:
            i = self._current
            pipe = pipes[i]
            if pipe.writable():
                return True
            pipe.out_q.producer_blocked = True
            self._deactivate(i)
        return False

    def send(self, msg: list[Any]) -> Pipe | None:
        """Write ``msg`` to the next pipe with room; the pipe, or None if all are full.

        This is the hot path of every load-balancing send, so the pipe checks are
        inlined here (see :meth:`Pipe.writable` and :meth:`MsgQueue.put`).
        """
        pipes = self.pipes
        while self._active:
            i = self._current
            pipe = pipes[i]
            q = pipe.out_q
            items = q.items
            hwm = q.hwm
            if pipe.state == "active" and (hwm == 0 or len(items) < hwm):
                items.append(msg)
                if len(items) == 1:
                    q.wake_consumer()
                i += 1
                self._current = i if i < self._active else 0
                return pipe
            q.producer_blocked = True
            self._deactivate(i)
        return None
