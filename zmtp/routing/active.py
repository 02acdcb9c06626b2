"""The round-robin both policies keep (libzmq's ``lb_t`` and ``fq_t`` share one).

Two ordered collections, both keyed by the pipe itself:

* ``members``: every attached pipe, in the order they came;
* ``ready``: the pipes that are eligible now (room to write, or input to read), in
  the order they will be served. The pipe at the front is served next; after its
  turn it goes to the back if it is still eligible, and leaves ``ready`` when it is
  not. A pipe that becomes eligible again joins at the back.

::

    ready:  b  c  a     (b is next; a was served last)
    served b, still eligible  ->  c  a  b
    served c, now drained     ->  a  b
    d gets input              ->  a  b  d

This is a true rotation: a pipe waiting for its turn is passed by each other pipe at
most once, whatever pipes come and go (a scheme that swaps pipes into holes lets the
one swapped in jump the queue, again and again). Every step is one operation on an
``OrderedDict`` (``move_to_end``, ``del``, insertion), so it costs the same with ten
pipes or ten thousand. Sans-IO.
"""

from __future__ import annotations

from collections import OrderedDict

from zmtp.routing.pipe import Pipe

__all__ = ["ActiveList"]


class ActiveList:
    """Attached pipes and the eligible ones in serving order."""

    __slots__ = ("members", "ready")

    def __init__(self) -> None:
        self.members: dict[Pipe, None] = {}
        self.ready: OrderedDict[Pipe, None] = OrderedDict()

    @property
    def pipes(self) -> list[Pipe]:
        """Every attached pipe (a copy, for inspection)."""
        return list(self.members)

    def __contains__(self, pipe: object) -> bool:
        return pipe in self.members

    def _append(self, pipe: Pipe) -> None:
        """Attach ``pipe``, not yet eligible (attaching a pipe twice is a no-op)."""
        self.members.setdefault(pipe, None)

    def _activate(self, pipe: Pipe) -> None:
        """``pipe`` is eligible: it joins the back of the line (no-op if it is in the
        line already, or not attached)."""
        if pipe in self.members and pipe not in self.ready:
            self.ready[pipe] = None

    def detach(self, pipe: Pipe) -> None:
        """Forget the pipe at once (no-op for a pipe not attached)."""
        if pipe in self.members:
            del self.members[pipe]
            self.ready.pop(pipe, None)
