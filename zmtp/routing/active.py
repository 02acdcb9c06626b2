"""The list both round-robin policies keep (libzmq's ``lb_t`` and ``fq_t`` share it).

Pipes live in one list whose first ``_active`` entries are eligible (room to write,
or input to read); ``_current`` is the next one to try. A pipe found ineligible is
swapped behind the active ones, and swapped back in when it becomes eligible again,
so every step is O(1) apart from finding a pipe by identity. Sans-IO.
"""

from __future__ import annotations

from zmtp.routing.pipe import Pipe

__all__ = ["ActiveList"]


class ActiveList:
    """Pipes with an active prefix and a round-robin cursor."""

    __slots__ = ("_active", "_current", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self._active = 0
        self._current = 0

    def _swap(self, i: int, j: int) -> None:
        p = self.pipes
        p[i], p[j] = p[j], p[i]

    def _activate(self, pipe: Pipe) -> None:
        """Move ``pipe`` into the active prefix (no-op if active or not attached)."""
        try:
            i = self.pipes.index(pipe, self._active)
        except ValueError:
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
        """Forget the pipe at once."""
        i = self.pipes.index(pipe)
        if i < self._active:
            self._deactivate(i)
            i = self._active
        self._swap(i, len(self.pipes) - 1)
        self.pipes.pop()
