"""The event base class and :class:`Message`, the hot event, kept in a module of their
own so that the frame decoder can build messages without an import cycle.

This file never touches a socket.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Event", "Message"]


class Event:
    """Base class of connection events."""

    __slots__ = ()


class Message(list, Event):  # type: ignore[type-arg]
    """A complete message: a ``list`` of its frame bodies (``bytes``).

    Message *is* the list of frames, so the decoder's output goes to the application
    without being wrapped or copied: ``Message([b"a", b"b"]) == [b"a", b"b"]``.
    ``frames`` returns the message itself, for readability.
    """

    __slots__ = ()

    @property
    def frames(self) -> list[Any]:
        return self

    def __repr__(self) -> str:
        return f"Message({list.__repr__(self)})"
