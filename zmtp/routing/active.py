"""The list both round-robin policies keep (libzmq's ``lb_t`` and ``fq_t`` share it).

Pipes live in one list whose first ``_active`` entries are eligible (room to write,
or input to read); ``_current`` is the next one to try. A pipe found ineligible is
swapped behind the active ones, and swapped back in when it becomes eligible again::

    pipes:  [ a  b  c | d  e ]      _active = 3, _current = 1 (b is next)
              eligible   parked

A second map, ``_pos``, says where each pipe stands in the list. Every swap updates
it, so finding a pipe by identity (to activate or detach it) is one dictionary
lookup: activate, deactivate, detach and each round-robin step cost the same with ten
pipes or ten thousand. The two structures must stay in sync: only :meth:`_swap`,
:meth:`_append` and :meth:`detach` move pipes. Sans-IO.
"""

from __future__ import annotations

from zmtp.routing.pipe import Pipe

__all__ = ["ActiveList"]


class ActiveList:
    """Pipes with an active prefix, a round-robin cursor and a position map."""

    __slots__ = ("_active", "_current", "_pos", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self._pos: dict[Pipe, int] = {}
        self._active = 0
        self._current = 0

    def __contains__(self, pipe: object) -> bool:
        return pipe in self._pos

    def _append(self, pipe: Pipe) -> None:
        """Add ``pipe`` at the end (inactive); attaching a pipe twice is a no-op."""
        if pipe in self._pos:
            return
        self._pos[pipe] = len(self.pipes)
        self.pipes.append(pipe)

    def _swap(self, i: int, j: int) -> None:
        if i == j:
            return  # the common case with one peer
        p = self.pipes
        a = p[i]
        b = p[j]
        p[i] = b
        p[j] = a
        pos = self._pos
        pos[a] = j
        pos[b] = i

    def _activate(self, pipe: Pipe) -> None:
        """Move ``pipe`` into the active prefix (no-op if active or not attached)."""
        i = self._pos.get(pipe)
        if i is None or i < self._active:
            return
        self._swap(i, self._active)
        self._active += 1

    def _deactivate(self, i: int) -> None:
        """Move the active pipe at ``i`` behind the active prefix."""
        self._active -= 1
        self._swap(i, self._active)
        if self._current >= self._active:
            self._current = 0

    def detach(self, pipe: Pipe) -> None:
        """Forget the pipe at once (no-op for a pipe not attached)."""
        i = self._pos.get(pipe)
        if i is None:
            return
        if i < self._active:
            self._deactivate(i)
            i = self._active
        last = len(self.pipes) - 1
        self._swap(i, last)
        self.pipes.pop()
        del self._pos[pipe]
