"""The part of a socket's public face that is the same on every engine.

:class:`SocketAPI` gives a socket class (trio's, asyncio's, the blocking one) its
options by name and number (``setsockopt``/``getsockopt``, their ``_string`` forms and
pyzmq's short ``set``/``get``), typed option attributes (through
:class:`~zmtp._options_api.OptionsMixin`), subscriptions, and read-only views of its
state (``type``, ``closed``, ``rcvmore``, ``events``, ``dropped``). All of it reads or
asks the engine-neutral :class:`~zmtp.core.socket.SocketCore` that the class keeps in
``_core``, and the ``*_nowait`` sends and receives; nothing here waits, so nothing
here differs between engines. :class:`ContextAPI` is the same for contexts: default
socket options, pyzmq's ``ctx.set``/``ctx.get`` and the ``linger`` default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zmtp._options_api import OptionsMixin
from zmtp.constants import ContextOption, SocketType
from zmtp.core.context import ContextCore
from zmtp.core.serialize import text_frame
from zmtp.core.socket import SocketCore
from zmtp.errors import Again, ZMTPTypeError, ZMTPValueError
from zmtp.options import Options

__all__ = ["ContextAPI", "SocketAPI", "context_options"]


class _NoLock:
    """The guard of a socket used from one thread only (trio, asyncio): nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


NO_LOCK = _NoLock()


class SocketAPI(OptionsMixin):
    """Mixin: options, subscriptions and state of a socket whose core is ``_core``.

    Every core call here holds ``_guard``: nothing for engines that use a socket from
    one thread, the context's lock for ``zmtp.sync``, whose sockets application
    threads and the I/O thread share.
    """

    __slots__ = ()

    _core: SocketCore
    _guard: Any = NO_LOCK

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
        with self._guard:
            return self._core.rcvmore

    @property
    def events(self) -> int:
        """``zmtp.POLLIN`` if a message can be received now, ``zmtp.POLLOUT`` if one can
        be sent now (pyzmq's ``sock.events``); takes nothing out of the socket."""
        with self._guard:
            return self._core.poll_events()

    @property
    def dropped(self) -> int:
        """Outgoing messages this socket dropped at close: ``linger`` expired (or was
        0) with them still queued, or an inproc peer never bound to take them."""
        return self._core.dropped

    # -- options -------------------------------------------------------------------------

    def _set_option(self, name: str, value: object) -> None:
        with self._guard:
            self._core.setsockopt(name, value)

    def setsockopt(self, option: str | int, value: Any) -> None:
        """Set an option by pyzmq name (``"sndhwm"``) or constant (``zmtp.SNDHWM``);
        ``zmtp.SUBSCRIBE`` and ``zmtp.UNSUBSCRIBE`` act as :meth:`subscribe` and
        :meth:`unsubscribe`. A bad value raises :class:`zmtp.ZMTPValueError` naming
        the option and the rule."""
        with self._guard:
            self._core.setsockopt(option, value)

    def getsockopt(self, option: str | int) -> Any:
        """An option's value, by name or constant (also ``zmtp.RCVMORE``,
        ``zmtp.EVENTS``, ``zmtp.TYPE``)."""
        with self._guard:
            return self._core.getsockopt(option)

    def setsockopt_string(self, option: str | int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text (``zmtp.SUBSCRIBE``, ``zmtp.IDENTITY``, ...)."""
        if not isinstance(value, str):
            raise ZMTPTypeError(
                f"setsockopt_string takes a str, got {type(value).__name__} "
                "(use setsockopt for bytes)"
            )
        with self._guard:
            self._core.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: str | int, encoding: str = "utf-8") -> str:
        """A bytes (or text) option's value as text."""
        with self._guard:
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
        with self._guard:
            self._core.subscribe(topic)

    def unsubscribe(self, topic: bytes | str = b"") -> None:
        """Undo one :meth:`subscribe` of ``topic``."""
        with self._guard:
            self._core.unsubscribe(topic)

    # -- sending and receiving without waiting (the same on every engine) -------------

    def send_multipart_nowait(self, msg_parts: Sequence[Any]) -> None:
        """Send a whole message now or raise :class:`zmtp.Again` (nothing sent)."""
        core = self._core
        with self._guard:
            sent = core.try_send(core.prepare(msg_parts))
        if not sent:
            raise Again(f"{core.type.name}: no peer can take a message now")

    def send_nowait(self, data: Any, *, more: bool = False) -> None:
        """Send one frame now (``more=True``: hold it until the message's last frame),
        or raise :class:`zmtp.Again` (nothing sent)."""
        if more:
            with self._guard:
                self._core.hold(data)
            return
        self.send_multipart_nowait([data])

    def send_string_nowait(self, text: str, encoding: str = "utf-8") -> None:
        self.send_nowait(text_frame(text, encoding))

    def recv_multipart_nowait(self) -> list[bytes]:
        """The next whole message now, or raise :class:`zmtp.Again`."""
        with self._guard:
            msg = self._core.try_recv()
        if msg is None:
            raise Again(f"{self._core.type.name}: no message available")
        return msg

    def recv_nowait(self) -> bytes:
        """The next frame now (``rcvmore`` says if more follow), or raise
        :class:`zmtp.Again`."""
        with self._guard:
            frame = self._core.try_recv_frame()
        if frame is None:
            raise Again(f"{self._core.type.name}: no message available")
        return frame

    def recv_string_nowait(self, encoding: str = "utf-8") -> str:
        return self.recv_nowait().decode(encoding)


def context_options(io_threads: int = 1) -> dict[int, int]:
    """A new context's recorded options: ``IO_THREADS`` and pyzmq's ``MAX_SOCKETS``."""
    return {ContextOption.IO_THREADS: io_threads, ContextOption.MAX_SOCKETS: 1023}


class ContextAPI:
    """Mixin: the options face of a context whose :class:`~zmtp.core.context.ContextCore`
    is ``core``, the same on every engine. ``_guard`` is held around each call into the
    core (the context's lock for ``zmtp.sync``, nothing elsewhere)."""

    core: ContextCore
    _guard: Any = NO_LOCK
    #: pyzmq's context options that zmtp records but does not need: one I/O loop (or
    #: thread) serves any number of sockets. Set by ``__init__`` (see
    #: :func:`context_options`).
    _context_options: dict[int, int]

    def setsockopt(self, option: str | int, value: Any) -> None:
        """A default option for the sockets made from now on (pyzmq's
        ``ctx.setsockopt(zmq.LINGER, 0)``)."""
        with self._guard:
            self.core.set_default(option, value)

    def getsockopt(self, option: str | int) -> Any:
        """The default of a socket option for the sockets made from now on."""
        with self._guard:
            return self.core.get_default(option)

    setsockopt_string = setsockopt

    def set(self, option: int, value: int) -> None:
        """A context option (pyzmq's ``ctx.set``): ``zmq.IO_THREADS`` and
        ``zmq.MAX_SOCKETS`` are recorded (one I/O loop serves any number of sockets);
        socket options set defaults as :meth:`setsockopt` does."""
        if option in (ContextOption.IO_THREADS, ContextOption.MAX_SOCKETS):
            if not isinstance(value, int) or value < 0:
                raise ZMTPValueError(f"context option {option} takes an int >= 0, got {value!r}")
            self._context_options[option] = value
            return
        self.setsockopt(option, value)

    def get(self, option: int) -> Any:
        """A context option (pyzmq's ``ctx.get``), or a socket default."""
        if option in self._context_options:
            return self._context_options[option]
        if option == ContextOption.SOCKET_LIMIT:
            return 65535
        return self.getsockopt(option)

    @property
    def linger(self) -> int:
        """The default ``linger`` of new sockets (ms; -1: wait until all is sent)."""
        return int(self.getsockopt("linger"))

    @linger.setter
    def linger(self, value: int) -> None:
        self.setsockopt("linger", value)
