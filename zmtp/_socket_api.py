"""The part of a socket's public face that is the same on every engine.

:class:`SocketAPI` gives a socket class (trio's, asyncio's, the blocking one) its
options by name and number (``setsockopt``/``getsockopt``, their ``_string`` forms and
pyzmq's short ``set``/``get``), typed option attributes (through
:class:`~zmtp._options_api.OptionsMixin`), subscriptions, and read-only views of its
state (``type``, ``closed``, ``rcvmore``, ``events``, ``dropped``). All of it reads or
asks the engine-neutral :class:`~zmtp.core.socket.SocketCore` that the class keeps in
``_core``; nothing here waits, so nothing here differs between engines.
"""

from __future__ import annotations

from typing import Any

from zmtp._options_api import OptionsMixin
from zmtp.constants import SocketType
from zmtp.core.socket import SocketCore
from zmtp.errors import ZMTPTypeError
from zmtp.options import Options

__all__ = ["SocketAPI"]


class SocketAPI(OptionsMixin):
    """Mixin: options, subscriptions and state of a socket whose core is ``_core``."""

    __slots__ = ()

    _core: SocketCore

    # -- state ---------------------------------------------------------------------------

    @property
    def core(self) -> SocketCore:
        """The engine-neutral core of this socket (what pollers and tools look at)."""
        return self._core

    @property
    def type(self) -> SocketType:
        return self._core.type

    @property
    def options(self) -> Options:  # type: ignore[override]
        """The socket's :class:`zmtp.options.Options` (validated values)."""
        return self._core.options

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def rcvmore(self) -> bool:
        """True while frames of a message read with ``recv`` remain."""
        return self._core.rcvmore

    @property
    def events(self) -> int:
        """``zmtp.POLLIN`` if a message can be received now, ``zmtp.POLLOUT`` if one can
        be sent now (pyzmq's ``sock.events``); takes nothing out of the socket."""
        return self._core.poll_events()

    @property
    def dropped(self) -> int:
        """Outgoing messages this socket dropped at close: ``linger`` expired (or was
        0) with them still queued, or an inproc peer never bound to take them."""
        return self._core.dropped

    # -- options -------------------------------------------------------------------------

    def _set_option(self, name: str, value: object) -> None:
        self._core.setsockopt(name, value)

    def setsockopt(self, option: str | int, value: Any) -> None:
        """Set an option by pyzmq name (``"sndhwm"``) or constant (``zmtp.SNDHWM``);
        ``zmtp.SUBSCRIBE`` and ``zmtp.UNSUBSCRIBE`` act as :meth:`subscribe` and
        :meth:`unsubscribe`. A bad value raises :class:`zmtp.ZMTPValueError` naming
        the option and the rule."""
        self._core.setsockopt(option, value)

    def getsockopt(self, option: str | int) -> Any:
        """An option's value, by name or constant (also ``zmtp.RCVMORE``,
        ``zmtp.EVENTS``, ``zmtp.TYPE``)."""
        return self._core.getsockopt(option)

    def setsockopt_string(self, option: str | int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text (``zmtp.SUBSCRIBE``, ``zmtp.IDENTITY``, ...)."""
        if not isinstance(value, str):
            raise ZMTPTypeError(
                f"setsockopt_string takes a str, got {type(value).__name__} "
                "(use setsockopt for bytes)"
            )
        self._core.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: str | int, encoding: str = "utf-8") -> str:
        """A bytes (or text) option's value as text."""
        value = self._core.getsockopt(option)
        if isinstance(value, bytes):
            return value.decode(encoding)
        if isinstance(value, str):
            return value
        raise ZMTPTypeError(
            f"option {option!r} is not a bytes or text option (it is {type(value).__name__})"
        )

    #: pyzmq's short names.
    set = setsockopt
    get = getsockopt
    set_string = setsockopt_string
    get_string = getsockopt_string

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, topic: bytes | str = b"") -> None:
        """SUB: receive messages whose first frame starts with ``topic`` (``b""``: all).

        Subscriptions are counted: subscribing twice needs two unsubscribes (RFC 37).
        On an XPUB with ``xpub_manual``, subscribes the peer that sent the last
        subscription.
        """
        self._core.subscribe(topic)

    def unsubscribe(self, topic: bytes | str = b"") -> None:
        """Undo one :meth:`subscribe` of ``topic``."""
        self._core.unsubscribe(topic)
