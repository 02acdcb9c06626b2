"""The event base class, and :data:`Message`, the hot event, kept in a module of their
own so that the frame decoder can build messages without an import cycle.

A message event is simply the ``list`` of the message's frame bodies: the decoder
builds it once and the same list reaches the application (``recv_multipart`` returns
it), with no wrapper object in between. :class:`Event` counts lists among its
instances, so ``isinstance(event, Event)`` holds for every event.

This file never touches a socket.
"""

from __future__ import annotations

import abc

__all__ = ["Event", "Message"]


class Event(abc.ABC):  # noqa: B024 - an abstract base without abstract methods
    """Base class of connection events (a message event is a plain ``list``)."""

    __slots__ = ()


#: A complete message: the list of its frame bodies (``bytes``), as a plain ``list``.
#: ``type(event) is Message`` tells a message from the other events.
Message = list

Event.register(list)
