"""The asyncio socket: ``zmtp.asyncio.Socket``.

The same socket as the trio engine's ``zmtp.Socket`` (methods, options, attributes,
monitor, linger), on asyncio. It is the *face* of a socket: the engine-neutral
:class:`~zmtp.core.socket.SocketCore` decides, the
:class:`~zmtp.asyncio.runtime.SocketRuntime` does the I/O on the running loop (tasks
and callbacks, no nursery to enter), and this file does only the waiting, with futures
woken by :class:`_AsyncWaker` (the runtime's :class:`~zmtp.asyncio.runtime.Waker`).

Sending is a queue append, receiving a queue pop: neither switches tasks while the
queues allow progress (a yield to the loop every 256 calls keeps other tasks and the
I/O callbacks fed). Both wait only when the pattern says "would block", and both are
cancellation-safe the asyncio way: a ``send`` cancelled by ``asyncio.wait_for`` or
``asyncio.timeout`` sent nothing, a cancelled ``recv`` took nothing (a cancellation is
only ever delivered before the queue operation, never after it).

A socket runs on the loop it is first used on. ``async with`` closes it at the end of
the block; a socket made by a :class:`~zmtp.asyncio.Context` is also closed by the
context's ``term()``. ``close()`` lets queued messages go out for up to ``linger`` ms,
over live connections and over connections still being made; what is left is dropped
and counted in :attr:`Socket.dropped`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from zmtp._async_api import AsyncSocketAPI
from zmtp._socket_api import SocketAPI
from zmtp.asyncio.monitor import Monitor
from zmtp.asyncio.poll import POLLIN, poll_one
from zmtp.asyncio.runtime import SocketRuntime, wait_for_wake
from zmtp.constants import DONTWAIT, SNDMORE, SocketType
from zmtp.core.events import Event
from zmtp.core.serialize import MessageTracker, text_frame
from zmtp.core.socket import check_flags
from zmtp.errors import Again, SocketClosed
from zmtp.frame import Frame

if TYPE_CHECKING:
    from zmtp.asyncio.context import Context

__all__ = ["Socket"]

#: A yield to the loop every this many sends/recvs that did not need to wait.
_YIELD_EVERY = 256

_get_ident = threading.get_ident


class _AsyncWaker:
    """The runtime's waker for this face: resolves the futures of waiting calls,
    hopping to the loop's thread when woken from another one."""

    __slots__ = ("loop", "recv_waiters", "send_waiters", "thread_id")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id = -1
        self.send_waiters: list[asyncio.Future[bool]] = []
        self.recv_waiters: list[asyncio.Future[bool]] = []

    def wake_send(self) -> None:
        if _get_ident() != self.thread_id:
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self.wake_send)
            return
        waiters = self.send_waiters
        if waiters:
            self.send_waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(True)

    def wake_recv(self) -> None:
        if _get_ident() != self.thread_id:
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self.wake_recv)
            return
        waiters = self.recv_waiters
        if waiters:
            self.recv_waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(True)


async def _sleep0() -> None:
    await asyncio.sleep(0)


class Socket(SocketAPI, AsyncSocketAPI):
    """A ZeroMQ socket on asyncio.

    ``Socket(zmtp.PUSH, sndhwm=10)`` or ``ctx.socket(zmtp.PUSH, sndhwm=10)``; options
    are also attributes (``sock.sndhwm = 10``) and keep pyzmq's names. Setting an
    attribute that is no option (a typo such as ``sock.sndhmw``) raises
    ``AttributeError``, as in pyzmq.
    """

    __slots__ = ("_core", "_precv", "_psend", "_rt", "_waker", "_yield_count", "context")

    def __init__(
        self,
        socket_type: SocketType | int | str,
        context: Context | None = None,
        **options: Any,
    ) -> None:
        from zmtp.asyncio.context import Context

        self.context = context if context is not None else Context.instance()
        if self.context.closed:
            raise SocketClosed("the context is closed")
        self._waker = _AsyncWaker()
        self._rt = SocketRuntime(self.context.core, socket_type, options, waker=self._waker)
        self._core = self._rt.core
        self._psend = self._core.psend
        self._precv = self._core.precv
        self._yield_count = 0
        self.context.adopt(self)

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else "open"
        return f"<zmtp.asyncio.Socket {self.type.name} {state}>"

    def _attach(self) -> asyncio.AbstractEventLoop:
        """The running loop, which this socket runs on from its first use."""
        loop = asyncio.get_running_loop()
        waker = self._waker
        if waker.loop is not loop:
            self._rt.attach(loop)
            waker.loop = loop
            waker.thread_id = self._rt.thread_id
        return loop

    # -- lifetime ----------------------------------------------------------------------

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self, linger: int | None = None) -> None:
        """Close the socket. Queued messages keep going out for up to ``linger`` ms
        (default: the ``linger`` option; -1: until all are sent; 0: drop them now),
        over live connections and over connections still being made or remade; what
        is left then is dropped and counted in :attr:`dropped`. Then every listener
        and connection of the socket stops. Idempotent."""
        if self._core.closed or self._core.closing:
            return
        if self._rt.loop is None:
            self._attach()
        try:
            await self._rt.close(linger)
        finally:
            self.context.forget(self)

    # -- monitor -----------------------------------------------------------------------

    def monitor(self, events: Event = Event.ALL) -> Monitor:
        """Start a monitor: ``async with sock.monitor() as m: async for ev in m: ...``.

        Events that happen after this call are seen; ``events`` filters by type.
        """
        monitor = Monitor(events)
        core = self._core
        core.add_monitor(monitor.queue)
        monitor.on_close(lambda: core.remove_monitor(monitor.queue))
        return monitor

    # -- bind / connect ----------------------------------------------------------------

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; returns the endpoint actually bound (e.g. with the
        port picked for ``tcp://127.0.0.1:*``), also kept in ``last_endpoint``."""
        self._attach()
        return await self._rt.bind(endpoint)

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` (as given to or returned by ``bind``) and
        close the connections accepted through it."""
        self._attach()
        await self._rt.unbind(endpoint)

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint`` — now or whenever it appears, reconnecting after
        losses with ``reconnect_ivl`` doubling up to ``reconnect_ivl_max``."""
        self._attach()
        await self._rt.connect(endpoint)

    async def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint``; its queued outgoing messages are dropped."""
        self._attach()
        await self._rt.disconnect(endpoint)

    # -- sending -----------------------------------------------------------------------
    #
    # send() and recv() open with a fast path for the common case (one bytes frame,
    # no flags, a peer ready): a queue operation, with a yield to the loop every
    # _YIELD_EVERY calls, always *before* the queue operation so that a cancellation
    # delivered there leaves the queues as they were.

    async def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False
    ) -> MessageTracker | None:
        """Send a whole message; waits while no peer can take it (HWM, no peer yet).

        With ``flags=zmtp.DONTWAIT`` (or when ``sndtimeo`` expires) raises
        :class:`zmtp.Again` instead of waiting. Cancellation-safe: a cancelled call
        sent nothing. ``copy``/``track`` as in :meth:`send`.
        """
        core = self._core
        frames = core.prepare(msg_parts)
        await self._send_frames(frames, flags)
        core.send_partial = []
        return MessageTracker() if track else None

    async def _send_frames(self, frames: list[bytes], flags: int) -> None:
        if flags:
            check_flags(flags)
        if self._yield_count >= _YIELD_EVERY:
            self._yield_count = 0
            await _sleep0()
            self._core.check_open()
        if self._psend(frames):
            self._yield_count += 1
            return
        if flags & DONTWAIT:
            raise Again(f"{self.type.name}: no peer can take a message now")
        loop = self._attach()
        timeo = self._core.options.get("sndtimeo")
        deadline = None if timeo < 0 else loop.time() + timeo / 1000
        psend = self._psend
        core = self._core
        waker = self._waker
        while True:
            if not await wait_for_wake(loop, waker.send_waiters, deadline):
                raise Again(f"{self.type.name}: sndtimeo of {timeo} ms expired")
            core.check_open()
            if psend(frames):
                return

    async def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        *,
        more: bool = False,
    ) -> MessageTracker | None:
        """Send one frame; with ``more=True`` (or ``flags=zmtp.SNDMORE``) it is held
        until the message's last frame is sent.

        ``copy`` and ``track`` are pyzmq's: zmtp sends immutable ``bytes`` (a
        ``bytearray`` or ``memoryview`` is copied), so ``track=True`` returns a
        :class:`~zmtp.core.serialize.MessageTracker` that is already done."""
        if track:
            await self.send(data, flags, more=more)
            return MessageTracker()
        core = self._core
        if type(data) is bytes and not (flags or more or core.send_partial or core.closing):
            if self._yield_count < _YIELD_EVERY and self._psend([data]):
                self._yield_count += 1
                return None
            await self._send_frames([data], 0)
            return None
        check_flags(flags)
        if more or flags & SNDMORE:
            core.hold(data)
            return None
        await self.send_multipart([data], flags)
        return None

    async def send_string(self, text: str, flags: int = 0, encoding: str = "utf-8") -> None:
        """Send ``text`` encoded (UTF-8 by default) as one frame."""
        await self.send(text_frame(text, encoding), flags)

    # -- receiving ---------------------------------------------------------------------

    async def recv_multipart(self, flags: int = 0, *, copy: bool = True) -> list[Any]:
        """The next whole message as a list of frames (``bytes``); waits for one.

        With ``flags=zmtp.DONTWAIT`` (or when ``rcvtimeo`` expires) raises
        :class:`zmtp.Again`. Cancellation-safe: a cancelled call takes nothing.
        With ``copy=False`` the frames are :class:`zmtp.Frame` objects that also
        carry the connection's properties (``frame.get("User-Id")``), as in pyzmq.
        """
        core = self._core
        if core.recv_partial:
            rest, core.recv_partial = core.recv_partial, []
            return rest if copy else core.frames(rest)
        msg = await self._recv_message(flags)
        return msg if copy else core.frames(msg)

    async def _recv_message(self, flags: int) -> list[bytes]:
        if flags:
            check_flags(flags)
        core = self._core
        if self._yield_count >= _YIELD_EVERY:
            self._yield_count = 0
            await _sleep0()
        core.check_open()
        msg = self._precv()
        if msg is not None:
            self._yield_count += 1
            return msg
        if flags & DONTWAIT:
            raise Again(f"{self.type.name}: no message available")
        loop = self._attach()
        timeo = core.options.get("rcvtimeo")
        deadline = None if timeo < 0 else loop.time() + timeo / 1000
        precv = self._precv
        waker = self._waker
        while True:
            if not await wait_for_wake(loop, waker.recv_waiters, deadline):
                raise Again(f"{self.type.name}: rcvtimeo of {timeo} ms expired")
            core.check_open()
            msg = precv()
            if msg is not None:
                return msg

    @overload
    async def recv(self, flags: int = 0, *, copy: Literal[True] = True) -> bytes: ...
    @overload
    async def recv(self, flags: int = 0, *, copy: Literal[False]) -> Frame: ...
    @overload
    async def recv(self, flags: int = 0, *, copy: bool) -> bytes | Frame: ...
    async def recv(self, flags: int = 0, *, copy: bool = True) -> bytes | Frame:
        """The next frame. For a multipart message, the following frames come from
        the next calls while ``rcvmore`` is true (pyzmq's behaviour). With
        ``copy=False``, a :class:`zmtp.Frame` carrying the connection's properties."""
        core = self._core
        if not copy:
            data: bytes = await self.recv(flags)
            return core.frame(data)
        if core.recv_partial:
            return core.recv_partial.pop(0)
        if not (flags or core.closing) and self._yield_count < _YIELD_EVERY:
            msg = self._precv()
            if msg is not None:
                self._yield_count += 1
                if len(msg) == 1:
                    return msg[0]  # type: ignore[no-any-return]
                core.recv_partial = msg
                return msg.pop(0)  # type: ignore[no-any-return]
        return core.split_first(await self._recv_message(flags))

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        data: bytes = await self.recv(flags)
        return data.decode(encoding)

    async def poll(self, timeout: float | None = None, flags: int = POLLIN) -> int:
        """Wait up to ``timeout`` ms (None: forever) until the socket can receive
        (``zmtp.POLLIN``) or send (``zmtp.POLLOUT``) as ``flags`` asks; the ready
        events, 0 if none. Takes nothing out of the socket."""
        return await poll_one(self, timeout, flags)

    # -- iteration ---------------------------------------------------------------------

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> list[bytes]:
        """``async for msg in sock`` receives whole messages until the socket closes."""
        try:
            return await self.recv_multipart()
        except SocketClosed:
            raise StopAsyncIteration from None
