"""Load balancing (RFC 28 and RFC 30: "round robin" over peers that can take a message).

:class:`LoadBalancer` sends each message to the pipe at the front of the line of
pipes with room (:class:`~zmtp.routing.active.ActiveList`), which then goes to the
back; a pipe found full leaves the line and joins its back again when its queue has
room (:meth:`activated`). Mirrors libzmq's ``lb_t``; sans-IO.
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
        ready = self.ready
        while ready:
            pipe = next(iter(ready))
            if pipe.writable():
                return True
            pipe.out_q.producer_blocked = True
            del ready[pipe]
        return False

    def send(self, msg: list[Any]) -> Pipe | None:
        """Write ``msg`` to the next pipe with room; the pipe, or None if all are full.

        This is the hot path of every load-balancing send, so the pipe checks are
        inlined here (see :meth:`Pipe.writable` and :meth:`MsgQueue.put`).
        """
        ready = self.ready
        while ready:
            # The front of the line; a bare for/break costs no call per message.
            for pipe in ready:  # noqa: B007
                break
            q = pipe.out_q
            items = q.items
            hwm = q.hwm
            if pipe.state == "active" and (hwm == 0 or len(items) < hwm):
                items.append(msg)
                if len(items) == 1:
                    q.wake_consumer()
                if len(ready) > 1:
                    ready.move_to_end(pipe)
                return pipe
            q.producer_blocked = True
            del ready[pipe]
        return None
