"""The blocking socket: ``zmtp.sync.Socket``, shaped like pyzmq's ``zmq.Socket``.

A socket has three rooms (see :mod:`zmtp.core.socket`): the engine-neutral
:class:`~zmtp.core.socket.SocketCore` decides; its
:class:`~zmtp.asyncio.runtime.SocketRuntime` does the I/O on the context's I/O thread;
this file is the face, called from application threads, and does only the waiting.

Every call holds the context's lock (``ctx.lock``) while it touches the core, so a
socket may be handed from one thread to another (pyzmq's rule: one thread at a time)
and even used from two at once without corrupting anything.

* ``send`` is a lock, a queue append and a release when a peer can take the message
  (the I/O thread's writer is woken only when it is parked); ``recv`` is a lock, a
  queue pop and a release when a message is there. Only when the pattern says "would
  block" does a call wait, on a ``threading.Condition`` of the context's lock that the
  core's wake-ups notify (:class:`_Waker`); ``NOBLOCK`` raises :class:`zmtp.Again`
  instead, and so does an expired ``sndtimeo``/``rcvtimeo``.
* ``bind``, ``connect``, ``unbind`` and ``disconnect`` run on the I/O thread; the
  caller blocks until they are done (a bind's error is raised in the caller).
* ``close()`` returns at once, as pyzmq's: the socket refuses every call from then on,
  and its queued messages keep going out on the I/O thread for up to ``linger`` ms;
  ``ctx.term()`` waits for that (``close(wait=True)`` too). What is left then is
  dropped and counted in :attr:`Socket.dropped`.

A blocked call is interrupted by Ctrl-C (``KeyboardInterrupt``), by closing the socket
from another thread (:class:`zmtp.SocketClosed`) and by ``ctx.term()``
(:class:`zmtp.ContextTerminated`); it never took or sent anything then.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from zmtp._socket_api import SocketAPI
from zmtp.asyncio.runtime import SocketRuntime
from zmtp.constants import DONTWAIT, POLLIN, SNDMORE, SocketType
from zmtp.core import serialize as ser
from zmtp.core.events import Event
from zmtp.core.serialize import MessageTracker, text_frame
from zmtp.core.socket import check_flags
from zmtp.errors import (
    Again,
    BindError,
    ContextTerminated,
    SocketClosed,
    ZMTPError,
    ZMTPTypeError,
    ZMTPValueError,
)
from zmtp.frame import Frame
from zmtp.sync.monitor import Monitor

if TYPE_CHECKING:
    from zmtp.sync.context import Context

__all__ = ["Endpoint", "Socket"]

_monotonic = time.monotonic
_TRACKER = MessageTracker()
_T = TypeVar("_T")


class _Waker:
    """The runtime's :class:`~zmtp.asyncio.runtime.Waker` for a blocking face: two
    conditions on the context's lock, notified only while someone waits on them.

    The core calls it with the lock held (from the I/O thread, or from an application
    thread whose send or receive freed room); re-entering the ``RLock`` is cheap and
    keeps ``notify_all`` legal even for a caller that did not hold it.
    """

    __slots__ = ("recv", "recv_waiting", "send", "send_waiting")

    def __init__(self, lock: Any) -> None:
        self.send = threading.Condition(lock)
        self.recv = threading.Condition(lock)
        self.send_waiting = 0
        self.recv_waiting = 0

    def wake_send(self) -> None:
        if self.send_waiting:
            with self.send:
                self.send.notify_all()

    def wake_recv(self) -> None:
        if self.recv_waiting:
            with self.recv:
                self.recv.notify_all()


class Endpoint(str):
    """What ``bind`` and ``connect`` return: the endpoint (``bind`` gives the one
    actually bound, with the port picked for ``tcp://127.0.0.1:*``), which is also
    pyzmq's context manager: ``with sock.bind(addr): ...`` unbinds at the end of the
    block, ``with sock.connect(addr): ...`` disconnects."""

    socket: Socket
    kind: str

    def __new__(cls, endpoint: str, socket: Socket, kind: str) -> Endpoint:
        self = super().__new__(cls, endpoint)
        self.socket = socket
        self.kind = kind
        return self

    @property
    def addr(self) -> str:
        return str(self)

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *exc: object) -> None:
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(str(self))
        else:
            self.socket.disconnect(str(self))


class Socket(SocketAPI):
    """A ZeroMQ socket whose calls block, as pyzmq's.

    ``ctx.socket(zmq.REQ)``, ``zmtp.sync.Socket(ctx, zmq.REQ)`` (pyzmq's order), or
    ``zmtp.sync.Socket(zmq.REQ)`` on ``Context.instance()``; options as keyword
    arguments or attributes (``sock.linger = 0``, ``sock.RCVTIMEO = 2000``,
    ``sock.setsockopt(zmq.SUBSCRIBE, b"")``). ``with ctx.socket(...) as s:`` closes it
    at the end of the block.
    """

    __slots__ = (
        "_core",
        "_guard",
        "_lingering",
        "_lock",
        "_precv",
        "_psend",
        "_rt",
        "_waker",
        "context",
    )

    def __init__(
        self,
        context_or_type: Context | SocketType | int | str,
        socket_type: SocketType | int | str | None = None,
        *,
        context: Context | None = None,
        **options: Any,
    ) -> None:
        from zmtp.sync.context import Context

        if isinstance(context_or_type, Context):
            if socket_type is None:
                raise ZMTPTypeError("Socket(context, socket_type): the socket type is missing")
            ctx = context_or_type
            kind: SocketType | int | str = socket_type
        else:
            if socket_type is not None:
                raise ZMTPTypeError(
                    "Socket(context, socket_type) takes a zmtp.sync.Context first, "
                    f"got {type(context_or_type).__name__}"
                )
            ctx = context if context is not None else Context.instance()
            kind = context_or_type
        if ctx.closed:
            raise ContextTerminated("the context is terminated")
        self.context = ctx
        io = ctx.io()
        self._lock = self._guard = ctx.lock
        self._waker = _Waker(ctx.lock)
        self._rt = SocketRuntime(
            ctx.core, kind, options, waker=self._waker, loop=io.loop, thread_id=io.thread_id
        )
        self._core = self._rt.core
        self._psend = self._core.psend
        self._precv = self._core.precv
        self._lingering: concurrent.futures.Future[None] | None = None
        ctx.adopt(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<zmtp.sync.Socket {self.type.name} {state}>"

    def _check_open(self) -> None:
        core = self._core
        if core.closing or core.closed:
            if self.context.closed:
                raise ContextTerminated(f"{core.type.name}: the context is terminated")
            raise SocketClosed(f"{core.type.name} socket is closed")

    @property
    def events(self) -> int:
        """``zmq.POLLIN`` if a message can be received now, ``zmq.POLLOUT`` if one can be
        sent now; takes nothing. On a closed socket it raises (``SocketClosed``, or
        ``ContextTerminated`` after ``ctx.term()``), as pyzmq's does, so a poller never
        waits for ever on a socket that is gone."""
        with self._lock:
            self._check_open()
            return self._core.poll_events()

    # -- lifetime ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True from the moment :meth:`close` is called (lingering may go on)."""
        core = self._core
        return core.closing or core.closed

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, linger: int | None = None, *, wait: bool = False) -> None:
        """Close the socket; returns at once (pyzmq's ``close``). From now on every
        call raises :class:`zmtp.SocketClosed`; threads blocked on the socket wake up
        with it. Queued messages keep going out on the I/O thread for up to
        ``linger`` ms (default: the ``linger`` option; -1: until all are sent; 0: drop
        them now), over live connections and over connections still being made; what
        is left then is dropped and counted in :attr:`dropped`. ``ctx.term()`` waits
        for the lingering to end; so does ``wait=True``. Idempotent."""
        with self._lock:
            begun = self._rt.begin_close(linger)
        if begun is not None:
            io = self.context.io_thread
            if io is None or io.loop is None:  # pragma: no cover  (term stops it last)
                return
            lingering = asyncio.run_coroutine_threadsafe(self._rt.finish_close(begun), io.loop)
            self._lingering = lingering
            self.context.closing(self, lingering)
        if wait and self._lingering is not None:
            self._lingering.result()

    # -- options and state: SocketAPI's, under the context's lock (``_guard``) --------

    setsockopt_unicode = SocketAPI.setsockopt_string
    getsockopt_unicode = SocketAPI.getsockopt_string

    # -- monitor -----------------------------------------------------------------------

    def monitor(self, events: Event | int = Event.ALL, buffer: int = 1024) -> Monitor:
        """Start a monitor of this socket's connection events: ``for ev in
        sock.monitor(): ...`` blocks for each event (see :class:`zmtp.sync.Monitor`).

        Events that happen after this call are seen; ``events`` filters by type. (pyzmq's
        ``monitor(addr)``/``get_monitor_socket()``, which deliver events as messages
        on a PAIR socket, are not provided: iterate the monitor instead.)"""
        if isinstance(events, str):
            raise ZMTPTypeError(
                "zmtp.sync's monitor() takes the events to watch, not an address: "
                "iterate the Monitor it returns instead of a PAIR socket"
            )
        monitor = Monitor(self._lock, Event(events), buffer)
        core = self._core
        with self._lock:
            self._check_open()
            core.add_monitor(monitor.queue)

        def detach() -> None:
            with self._lock:
                core.remove_monitor(monitor.queue)

        monitor.on_close(detach)
        return monitor

    # -- bind / connect: on the I/O thread ---------------------------------------------

    def _run(self, coro: Any) -> Any:
        return self.context.run(coro)

    def bind(self, addr: str) -> Endpoint:
        """Listen on ``addr``; returns the endpoint actually bound (a ``str``, and a
        context manager that unbinds, as pyzmq's). A failure raises
        :class:`zmtp.BindError` (``errno.EADDRINUSE``, ...) naming the endpoint."""
        self._check_open()
        return Endpoint(self._run(self._rt.bind(addr)), self, "bind")

    def unbind(self, addr: str) -> None:
        """Stop listening on ``addr`` (as given to or returned by ``bind``) and close
        the connections accepted through it."""
        self._check_open()
        self._run(self._rt.unbind(addr))

    def connect(self, addr: str) -> Endpoint:
        """Connect to ``addr``, now or whenever it appears, reconnecting after losses;
        returns ``addr`` (also a context manager that disconnects)."""
        self._check_open()
        self._run(self._rt.connect(addr))
        return Endpoint(addr, self, "connect")

    def disconnect(self, addr: str) -> None:
        """Stop connecting to ``addr``; its queued outgoing messages are dropped."""
        self._check_open()
        self._run(self._rt.disconnect(addr))

    def bind_to_random_port(
        self,
        addr: str,
        min_port: int = 49152,
        max_port: int = 65536,
        max_tries: int = 100,
    ) -> int:
        """Bind ``addr`` (``"tcp://*"``, ``"tcp://127.0.0.1"``) to a random port in
        ``[min_port, max_port)``; returns the port. Raises :class:`zmtp.BindError`
        (pyzmq's ``ZMQBindError``) when ``max_tries`` ports were all taken."""
        last: BindError | None = None
        for port in ser.random_ports(min_port, max_port, max_tries):
            try:
                self.bind(f"{addr}:{port}")
            except BindError as exc:
                last = exc
                continue
            return port
        raise BindError(
            last.errno if last is not None else 0,
            f"no free port in {min_port}..{max_port - 1} after {max_tries} tries",
            endpoint=addr,
        )

    # -- waiting -----------------------------------------------------------------------

    def _send_locked(self, frames: list[bytes], flags: int) -> None:
        """Send a whole message, waiting while no peer can take it (lock held)."""
        core = self._core
        if not self._psend(frames):
            if flags & DONTWAIT:
                raise Again(f"{core.type.name}: no peer can take a message now")
            self._wait(True, lambda: self._psend(frames) or None)
        core.send_partial = []

    def _recv_locked(self, flags: int) -> list[bytes]:
        """The next whole message, waiting for one (lock held)."""
        self._check_open()
        msg = self._precv()
        if msg is not None:
            return msg
        if flags & DONTWAIT:
            raise Again(f"{self._core.type.name}: no message available")
        return self._wait(False, self._precv)

    def _wait(self, sending: bool, attempt: Callable[[], _T | None]) -> _T:
        """Wait (lock held) until ``attempt()`` gives a result: after each wake-up the
        core sends when a send may now succeed (``sending``) or a message came, for up
        to ``sndtimeo``/``rcvtimeo`` (then :class:`zmtp.Again`), checking first that
        the socket is still open."""
        core = self._core
        option = "sndtimeo" if sending else "rcvtimeo"
        timeo = core.options.get(option)
        deadline = None if timeo < 0 else _monotonic() + timeo / 1000
        waker = self._waker
        cond = waker.send if sending else waker.recv
        if sending:
            waker.send_waiting += 1
        else:
            waker.recv_waiting += 1
        try:
            while True:
                if deadline is None:
                    cond.wait()
                else:
                    left = deadline - _monotonic()
                    if left <= 0:
                        raise Again(f"{core.type.name}: {option} of {timeo} ms expired")
                    cond.wait(left)
                self._check_open()
                result = attempt()
                if result is not None:
                    return result
        finally:
            if sending:
                waker.send_waiting -= 1
            else:
                waker.recv_waiting -= 1

    # -- sending -----------------------------------------------------------------------

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send one frame; with ``flags=zmq.SNDMORE`` it is held until the message's
        last frame. Waits while no peer can take the message (high-water mark
        reached, no peer yet) unless ``flags`` has ``zmq.NOBLOCK`` (then raises
        :class:`zmtp.Again`), for at most ``sndtimeo`` ms.

        ``copy`` is accepted (zmtp sends immutable ``bytes``; a ``bytearray`` or
        ``memoryview`` is copied); ``track=True`` returns a
        :class:`~zmtp.core.serialize.MessageTracker` that is already done.
        ``routing_id`` and ``group`` (draft socket types) are refused."""
        core = self._core
        if type(data) is bytes and not flags:
            with self._lock:
                if not (core.send_partial or core.closing) and self._psend([data]):
                    return _TRACKER if track else None
        if routing_id is not None or group is not None:
            raise ZMTPValueError(
                "routing_id and group belong to libzmq's draft socket types, which "
                "zmtp does not provide"
            )
        check_flags(flags)
        with self._lock:
            self._check_open()
            if flags & SNDMORE:
                core.hold(data)
            else:
                self._send_locked(core.prepare([data]), flags)
        return _TRACKER if track else None

    def send_multipart(
        self,
        msg_parts: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        **kwargs: Any,
    ) -> MessageTracker | None:
        """Send a whole message (a sequence of bytes-like frames), as :meth:`send`
        does one frame; with ``zmq.SNDMORE`` the frames are held for more."""
        if flags:
            check_flags(flags)
        core = self._core
        with self._lock:
            self._check_open()
            frames = core.prepare(msg_parts)
            if flags & SNDMORE:
                core.send_partial = frames
            else:
                self._send_locked(frames, flags)
        return _TRACKER if track else None

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kwargs: Any
    ) -> MessageTracker | None:
        """Send ``u`` encoded (UTF-8 by default) as one frame."""
        return self.send(text_frame(u, encoding), flags, copy, **kwargs)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> MessageTracker | None:
        """Send ``obj`` as JSON text (UTF-8) in one frame; ``kwargs`` go to
        ``json.dumps``."""
        return self.send(ser.json_dumps(obj, **kwargs), flags)

    def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = ser.DEFAULT_PROTOCOL, **kwargs: Any
    ) -> MessageTracker | None:
        """Send ``obj`` pickled in one frame."""
        return self.send(ser.pickle_dumps(obj, protocol), flags, **kwargs)

    def send_serialized(
        self,
        msg: Any,
        serialize: Callable[[Any], Any],
        flags: int = 0,
        copy: bool = True,
        **kwargs: Any,
    ) -> MessageTracker | None:
        """Send ``serialize(msg)`` (a list of frames) as one multipart message."""
        return self.send_multipart(ser.serialize(msg, serialize), flags, copy, **kwargs)

    # -- receiving ---------------------------------------------------------------------

    @overload
    def recv(self, flags: int = 0, copy: Literal[True] = True, track: bool = False) -> bytes: ...
    @overload
    def recv(self, flags: int = 0, *, copy: Literal[False], track: bool = False) -> Frame: ...
    @overload
    def recv(self, flags: int, copy: Literal[False], track: bool = False) -> Frame: ...
    @overload
    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> bytes | Frame: ...
    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> bytes | Frame:
        """The next frame; waits for a message unless ``flags`` has ``zmq.NOBLOCK``
        (then raises :class:`zmtp.Again`), for at most ``rcvtimeo`` ms. For a
        multipart message the following frames come from the next calls while
        ``sock.rcvmore`` is true (``getsockopt(zmq.RCVMORE)``). With ``copy=False``,
        a :class:`zmtp.Frame` that also carries the connection's properties
        (``frame["User-Id"]``)."""
        core = self._core
        with self._lock:
            partial = core.recv_partial
            if partial:
                data = partial.pop(0)
            elif flags:
                check_flags(flags)
                data = core.split_first(self._recv_locked(flags))
            else:
                msg = None if core.closing else self._precv()
                if msg is None:
                    msg = self._recv_locked(0)
                if len(msg) == 1:
                    data = msg[0]
                else:
                    core.recv_partial = msg
                    data = msg.pop(0)
            if copy:
                return data
            return core.frame(data)

    @overload
    def recv_multipart(
        self, flags: int = 0, copy: Literal[True] = True, track: bool = False
    ) -> list[bytes]: ...
    @overload
    def recv_multipart(
        self, flags: int = 0, *, copy: Literal[False], track: bool = False
    ) -> list[Frame]: ...
    @overload
    def recv_multipart(
        self, flags: int, copy: Literal[False], track: bool = False
    ) -> list[Frame]: ...
    @overload
    def recv_multipart(
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> list[bytes] | list[Frame]: ...
    def recv_multipart(
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> list[bytes] | list[Frame]:
        """The next whole message as a list of frames (``bytes``; :class:`zmtp.Frame`
        with ``copy=False``); waits as :meth:`recv` does."""
        core = self._core
        with self._lock:
            if core.recv_partial:
                msg, core.recv_partial = core.recv_partial, []
            else:
                if flags:
                    check_flags(flags)
                msg = self._recv_locked(flags)
            return msg if copy else core.frames(msg)

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """The next frame decoded as text (UTF-8 by default)."""
        data: bytes = self.recv(flags)
        return data.decode(encoding)

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive one frame of JSON text and return the object (``kwargs`` go to
        ``json.loads``)."""
        return ser.json_loads(self.recv(flags), **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive one pickled frame and return the object.

        **Never use this with peers you do not trust**: unpickling runs whatever code
        the sender put in the message. Use ``recv_json`` or ``recv_serialized`` with a
        safe format for anything that crosses a trust boundary.
        """
        return ser.pickle_loads(self.recv(flags))

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> Any:
        """Receive a multipart message and return ``deserialize(frames)``."""
        return deserialize(self.recv_multipart(flags, copy))

    # -- polling -------------------------------------------------------------------------

    def poll(self, timeout: float | None = None, flags: int = POLLIN) -> int:
        """Wait up to ``timeout`` ms (None or -1: forever) until the socket can do
        ``flags`` (``zmq.POLLIN``, ``zmq.POLLOUT``); returns the events ready (0 if
        none). Takes nothing out of the socket."""
        from zmtp.sync.poll import Poller

        poller = Poller()
        poller.register(self, flags)
        ready = poller.poll(timeout)
        return ready[0][1] if ready else 0

    def get_monitor_socket(self, *args: Any, **kwargs: Any) -> Any:
        """Not provided (pyzmq's monitor-over-a-PAIR-socket): use :meth:`monitor`."""
        raise ZMTPError(
            "zmtp.sync has no monitor socket: `for event in sock.monitor(): ...` "
            "gives the same events (zmtp.Event values, the endpoint and a reason)"
        )
