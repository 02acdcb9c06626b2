"""The trio engine's socket: ``zmtp.Socket``.

A :class:`Socket` is what a pyzmq user expects: ``bind``/``connect`` in any order,
``send``/``recv`` of single frames or whole messages, options by keyword or attribute,
and a monitor. It is the trio face of an engine-neutral
:class:`~zmtp.core.socket.SocketCore`, which makes every decision; this file does only
trio work:

* **waiting**: parking lots for senders, receivers and a closing socket, woken by the
  core through :class:`_Runtime` (the core's :class:`~zmtp.core.socket.SocketRuntime`);
* **tasks** in the socket's own nursery: one per listener, one per connecter (which
  reconnects with the core's back-off), one per live connection
  (:class:`~zmtp._trio.stream.StreamEngine`), and the ZAP client's.

Sending is a queue append, receiving a queue pop: neither switches tasks while the
queues allow progress. Both wait (park) only when the pattern says "would block",
and both are cancellation-safe: a cancelled ``send`` sent nothing, a cancelled
``recv`` took nothing.

Lifetime: a socket runs either under ``async with`` (it then owns its nursery) or,
when made by an entered :class:`zmtp.Context`, under a task of the context's nursery.
``close()`` lets queued messages go out for up to ``linger`` ms, over live connections
and over connections still being made, then stops every task of the socket; what is
left is dropped and counted in :attr:`Socket.dropped`. It is idempotent.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket as _socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import trio

from zmtp import _fastpaths
from zmtp._async_api import AsyncSocketAPI
from zmtp._socket_api import SocketAPI
from zmtp._trio.poll import POLLIN, poll_one
from zmtp._trio.raw import RawEngine
from zmtp._trio.stream import StreamEngine
from zmtp.constants import DONTWAIT, SNDMORE, SocketType
from zmtp.core.events import Event
from zmtp.core.security import ZAP_ENDPOINT
from zmtp.core.serialize import MessageTracker, text_frame
from zmtp.core.socket import Binding, Connecter, SocketCore, check_flags
from zmtp.errors import Again, InvalidState, SocketClosed, ZMTPError
from zmtp.frame import Frame
from zmtp.monitor import Monitor
from zmtp.routing import Pipe
from zmtp.transport import os_sockets
from zmtp.transport.endpoint import Endpoint
from zmtp.wire import AuthDecision
from zmtp.wire.events import AuthRequest

if TYPE_CHECKING:
    from zmtp._trio.context import Context

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["ZAP_ENDPOINT", "Socket"]

#: A real checkpoint (a chance for other tasks to run) every this many sends/recvs
#: that did not need to wait.
_YIELD_EVERY = 256

#: True if the calling task is cancelled: what ``checkpoint_if_cancelled`` checks, read
#: cheaply. The fast paths of send and recv ask this on every call (then take a real
#: checkpoint, which raises Cancelled) and yield for real every ``_YIELD_EVERY`` calls.
_cancel_requested = _fastpaths.cancel_probe()


class _Runtime:
    """The trio side of a socket, as its core sees it (SocketRuntime)."""

    __slots__ = ("drain_lot", "engines", "recv_lot", "send_lot")

    def __init__(self) -> None:
        self.send_lot = trio.lowlevel.ParkingLot()
        self.recv_lot = trio.lowlevel.ParkingLot()
        self.drain_lot = trio.lowlevel.ParkingLot()
        self.engines: set[StreamEngine | RawEngine] = set()

    def wake_send(self) -> None:
        self.send_lot.unpark_all()

    def wake_recv(self) -> None:
        self.recv_lot.unpark_all()

    def wake_drain(self) -> None:
        self.drain_lot.unpark_all()

    def close_connection(self, pipe: Pipe) -> None:
        for engine in self.engines:
            if engine.pipe is pipe:
                engine.close()


class _Listener:
    """A listener task's handle: its cancel scope and when it has stopped."""

    __slots__ = ("done", "scope")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()


class Socket(SocketAPI, AsyncSocketAPI):
    """A ZeroMQ socket on trio.

    ``Socket(zmtp.PUSH, sndhwm=10)`` or ``ctx.socket(zmtp.PUSH, sndhwm=10)``; options
    are also attributes (``sock.sndhwm = 10``) and keep pyzmq's names. Setting an
    attribute that is no option (a typo such as ``sock.sndhmw``) raises
    ``AttributeError``, as in pyzmq, rather than silently doing nothing.
    """

    __slots__ = (
        "_core",
        "_host_done",
        "_hosted",
        "_nursery",
        "_own_nursery",
        "_precv",
        "_psend",
        "_ready",
        "_rt",
        "_yield_count",
        "_zap_socket",
        "_zap_waiting",
        "context",
    )

    def __init__(
        self,
        socket_type: SocketType | int | str,
        context: Context | None = None,
        **options: Any,
    ) -> None:
        from zmtp._trio.context import Context

        self.context = context if context is not None else Context.instance()
        if self.context.closed:
            raise SocketClosed("the context is closed")
        self._rt = _Runtime()
        self._core = SocketCore(socket_type, self.context.core, self._rt, options)
        self._psend = self._core.psend
        self._precv = self._core.precv
        self._nursery: trio.Nursery | None = None
        self._own_nursery: Any = None
        self._hosted = False
        self._ready = trio.Event()
        self._host_done = trio.Event()
        self._yield_count = 0
        self._zap_socket: Socket | None = None
        self._zap_waiting: dict[bytes, list[Any]] = {}
        self.context.adopt(self)

    def __repr__(self) -> str:
        state = "closed" if self._core.closed else "open"
        return f"<zmtp.Socket {self.type.name} {state}>"

    # -- lifetime ----------------------------------------------------------------------

    async def __aenter__(self) -> Socket:
        if self._nursery is None:
            if self._hosted:
                await self._ready.wait()
            else:
                self._own_nursery = trio.open_nursery()
                self._nursery = await self._own_nursery.__aenter__()
                self._ready.set()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        try:
            await self.close()
        except BaseException:
            if self._own_nursery is None:
                raise
        cm, self._own_nursery = self._own_nursery, None
        if cm is not None:
            return await exit_nursery(cm, exc)
        return None

    def run_in(self, nursery: trio.Nursery) -> None:
        """Run the socket under ``nursery`` (until it closes) instead of under its own
        ``async with``: how an entered context runs the sockets it makes."""
        self._hosted = True
        nursery.start_soon(self.host)

    async def host(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the socket's tasks in a nursery of its own until it closes (the task
        behind :meth:`run_in`; ``await nursery.start(sock.host)`` waits until ready)."""
        self._hosted = True
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._ready.set()
            task_status.started()
            await self._host_done.wait()
            nursery.cancel_scope.cancel()

    async def _running(self) -> trio.Nursery:
        self._core.check_open()
        if self._nursery is None:
            if not self._hosted:
                raise InvalidState(
                    "the socket is not running: use `async with socket:` or create it "
                    "from an entered `async with zmtp.Context() as ctx`"
                )
            await self._ready.wait()
        assert self._nursery is not None
        return self._nursery

    def _check_running(self) -> None:
        """send/recv on a socket that can never run would wait forever: refuse."""
        if self._nursery is None and not self._hosted and not self._core.closed:
            raise InvalidState(
                "the socket is not running: use `async with socket:` or create it "
                "from an entered `async with zmtp.Context() as ctx`"
            )

    async def close(self, linger: int | None = None) -> None:
        """Close the socket. Queued messages keep going out for up to ``linger`` ms
        (default: the ``linger`` option; -1: until all are sent; 0: drop them now),
        over live connections and over connections still being made or remade; what
        is left then is dropped and counted in :attr:`dropped`. An inproc peer that
        binds after this close still receives what was sent to it (within the
        linger). Then every task of the socket stops. Idempotent."""
        core = self._core
        rt = self._rt
        if core.closed or core.closing:
            return
        if linger is None:
            linger = core.linger
        core.begin_close()
        if linger != 0 and not self._flushed():
            with trio.move_on_after(math.inf if linger < 0 else linger / 1000):
                while not self._flushed():
                    await rt.drain_lot.park()
        bindings = core.finish_close(linger)
        for binding in bindings:
            if isinstance(binding.handle, _Listener):
                binding.handle.scope.cancel()
        for conn in list(core.connecters.values()):
            if conn.handle is not None:
                conn.handle.cancel()
        core.connecters.clear()
        for engine in list(rt.engines):
            engine.close()
        if self._zap_socket is not None:
            await self._zap_socket.close()
        listeners = [b.handle for b in bindings if isinstance(b.handle, _Listener)]
        # Let listeners and connections end (they report CLOSED and DISCONNECTED)
        # before the monitors stop, as libzmq orders them; never for long.
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            while rt.engines or any(not h.done.is_set() for h in listeners):
                await rt.drain_lot.park()
        core.stop_monitors()
        self.context.forget(self)
        if self._own_nursery is not None and self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self._host_done.set()
        await trio.lowlevel.checkpoint()

    def _flushed(self) -> bool:
        return not self._core.unsent() and all(e.idle() for e in self._rt.engines)

    # -- monitor -----------------------------------------------------------------------

    def monitor(self, events: Event = Event.ALL) -> Monitor:
        """Start a monitor: ``async with sock.monitor() as m: async for ev in m: ...``.

        Events that happen after this call are seen; ``events`` filters by type.
        """
        monitor = Monitor(events)
        self._core.add_monitor(monitor.queue)
        core = self._core
        monitor.on_close(lambda: core.remove_monitor(monitor.queue))
        return monitor

    # -- bind / connect ----------------------------------------------------------------

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; returns the endpoint actually bound (e.g. with the
        port picked for ``tcp://127.0.0.1:*``), also kept in ``last_endpoint``."""
        core = self._core
        ep = core.begin_bind(endpoint)
        if ep.transport == "inproc":
            return core.bind_inproc(ep)
        nursery = await self._running()
        try:
            binding: Binding = await nursery.start(self._listen, ep)
        except OSError as exc:
            raise core.bind_failed(endpoint, exc) from exc
        return core.bound(endpoint, binding)

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` (as given to or returned by ``bind``) and
        close the connections accepted through it."""
        binding = self._core.unbind(endpoint)
        if isinstance(binding.handle, _Listener):
            binding.handle.scope.cancel()
        await trio.lowlevel.checkpoint()

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint`` — now or whenever it appears, reconnecting after
        losses with ``reconnect_ivl`` doubling up to ``reconnect_ivl_max``.

        Unless ``immediate`` is set, a pipe to the endpoint exists at once, so sends
        queue there (up to ``sndhwm``) until the peer is reached.
        """
        core = self._core
        if not endpoint.startswith("inproc://"):
            nursery = await self._running()
        ep, conn = core.begin_connect(endpoint)
        if ep.transport != "inproc":
            try:
                await nursery.start(self._connect_loop, ep, conn)
            except BaseException:
                core.connecters.pop(endpoint, None)
                raise

    async def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint``; its queued outgoing messages are dropped."""
        conn = self._core.disconnect(endpoint)
        if conn.handle is not None:
            conn.handle.cancel()
        for engine in list(self._rt.engines):
            if engine.connecter is conn:
                engine.close()
        await trio.lowlevel.checkpoint()

    # -- listeners ---------------------------------------------------------------------

    async def _listen(self, ep: Endpoint, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        core = self._core
        backlog = core.options.get("backlog")
        path: str | None = None
        if ep.transport == "tcp":
            host, port, family = os_sockets.bind_address(ep, core.options)
            infos = await trio.socket.getaddrinfo(
                host, port, family=family, type=_socket.SOCK_STREAM, flags=_socket.AI_PASSIVE
            )
            if not infos:
                raise OSError(0, f"cannot resolve {host!r}")
            lsock, real = os_sockets.open_tcp_listener(infos[0], host, backlog)
        else:
            lsock, real, path = os_sockets.open_ipc_listener(ep.address, backlog)
        handle = _Listener()
        binding = Binding(real, ep.transport, handle)
        binding.path = path
        try:
            with handle.scope:
                async with trio.open_nursery() as conns:
                    core.emit(Event.LISTENING, real, lsock.fileno())
                    task_status.started(binding)
                    await self._accept_loop(lsock, real, conns)
        finally:
            fd = lsock.fileno()
            lsock.close()
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            core.emit(Event.CLOSED, real, fd)
            handle.done.set()
            self._rt.wake_drain()

    async def _accept_loop(self, lsock: _socket.socket, real: str, conns: trio.Nursery) -> None:
        tcp = lsock.family != _socket.AF_UNIX
        core = self._core
        while True:
            try:
                sock, _ = lsock.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(lsock)
                continue
            except OSError as exc:
                core.emit(Event.ACCEPT_FAILED, real, exc.errno or 0, str(exc))
                # Out of descriptors or similar: let the others run, then retry.
                await trio.sleep(0.05)
                continue
            core.emit(Event.ACCEPTED, real, sock.fileno())
            engine = self._engine_for(sock, real, tcp=tcp, as_server=True)
            if engine is not None:
                conns.start_soon(engine.run)
            # Hold no reference to the connection while waiting for the next one:
            # its buffers must go when it ends.
            engine = None
            sock = None  # type: ignore[assignment]

    def _engine_for(
        self,
        sock: _socket.socket,
        endpoint: str,
        *,
        tcp: bool,
        as_server: bool,
        connecter: Connecter | None = None,
    ) -> StreamEngine | RawEngine | None:
        """An engine for a new OS connection; None (connection closed, the reason on
        the monitor) if this connection cannot be set up: an OS refusing a tcp option,
        or security options that became unusable since bind/connect. Only this
        connection is affected."""
        try:
            sock.setblocking(False)
            if tcp:
                os_sockets.tune_tcp(sock, self._core.options)
            if self._core.pattern.raw:
                return RawEngine(
                    self._core, sock, endpoint, connecter=connecter, registry=self._rt.engines
                )
            return StreamEngine(
                self._core,
                self._authenticate,
                sock,
                endpoint,
                connecter=connecter,
                as_server=as_server,
                registry=self._rt.engines,
            )
        except (ZMTPError, ValueError, OSError, TypeError, OverflowError) as exc:
            sock.close()
            reason = os_sockets.os_reason(exc) if isinstance(exc, OSError) else str(exc)
            self._core.setup_failed(endpoint, reason)
            return None

    # -- connecters --------------------------------------------------------------------

    async def _connect_loop(
        self, ep: Endpoint, conn: Connecter, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        core = self._core
        endpoint = str(ep)
        with trio.CancelScope() as scope:
            conn.handle = scope
            task_status.started()
            while True:
                sock = await self._try_connect(ep, endpoint)
                engine = None
                if sock is not None:
                    engine = self._engine_for(
                        sock,
                        endpoint,
                        tcp=ep.transport == "tcp",
                        as_server=False,
                        connecter=conn,
                    )
                if engine is not None:
                    await engine.run()
                    if core.closed:
                        return
                wait = core.reconnect_after(
                    conn,
                    handshake_done=engine is not None and engine.handshake_done,
                    refused=engine.reason if engine is not None and engine.refused else None,
                )
                if wait is None:
                    return
                await trio.sleep(wait / 1000)

    async def _try_connect(self, ep: Endpoint, endpoint: str) -> _socket.socket | None:
        core = self._core
        infos: list[Any] = []
        if ep.transport == "tcp":
            family = _socket.AF_UNSPEC if core.options.get("ipv6") else _socket.AF_INET
            try:
                infos = await trio.socket.getaddrinfo(
                    ep.host, ep.port, family=family, type=_socket.SOCK_STREAM
                )
            except OSError as exc:
                core.emit(Event.CLOSED, endpoint, exc.errno or 0, f"cannot resolve: {exc}")
                return None
        last = ""
        for target in os_sockets.connect_targets(ep, infos):
            try:
                sock, err = os_sockets.start_connect(*target)
            except OSError as exc:  # the source address cannot be bound
                last = os_sockets.os_reason(exc)
                continue
            try:
                if err in os_sockets.CONNECT_PENDING:
                    core.emit(Event.CONNECT_DELAYED, endpoint, err)
                    await trio.lowlevel.wait_writable(sock)
                    err = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
                if err:
                    last = os.strerror(err)
                    sock.close()
                    continue
            except BaseException:
                sock.close()
                raise
            core.emit(Event.CONNECTED, endpoint, sock.fileno())
            return sock
        core.emit(Event.CLOSED, endpoint, 0, f"connect failed: {last}")
        return None

    # -- engines -----------------------------------------------------------------------

    # -- ZAP client (RFC 27) -----------------------------------------------------------

    async def _authenticate(self, engine: StreamEngine, request: AuthRequest) -> AuthDecision:
        """Ask the ZAP handler of this context about a peer; its answer as a decision."""
        client = await self._zap_client()
        core = self._core
        rid, frames = core.zap.request(core.options, engine.peer_address, request)
        waiter: list[Any] = [trio.Event(), None]
        self._zap_waiting[rid] = waiter
        try:
            await client.send_multipart(frames)
            await waiter[0].wait()
        finally:
            self._zap_waiting.pop(rid, None)
            core.zap.forget(rid)
        decision: AuthDecision = waiter[1]
        return decision

    async def _zap_client(self) -> Socket:
        if self._zap_socket is None:
            nursery = await self._running()
            client = Socket(SocketType.DEALER, context=self.context, linger=0)
            await nursery.start(client.host)
            await client.connect(ZAP_ENDPOINT)
            nursery.start_soon(self._zap_replies, client)
            self._zap_socket = client
        return self._zap_socket

    async def _zap_replies(self, client: Socket) -> None:
        with contextlib.suppress(SocketClosed):
            async for reply in client:
                answered = self._core.zap.answer(reply)
                if answered is None:
                    continue
                rid, decision = answered
                waiter = self._zap_waiting.get(rid)
                if waiter is not None:
                    waiter[1] = decision
                    waiter[0].set()

    # -- sending -----------------------------------------------------------------------
    #
    # send() and recv() open with a fast path for the common case (one bytes frame,
    # no flags, a peer ready): a queue operation and a cheap cancellation check, with
    # a real checkpoint every _YIELD_EVERY calls. Everything else goes through the
    # general path, which waits on a parking lot when the pattern says "would block".

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
        if _cancel_requested():
            await trio.lowlevel.checkpoint()
        if self._psend(frames):
            self._yield_count += 1
            if self._yield_count >= _YIELD_EVERY:
                self._yield_count = 0
                await trio.lowlevel.cancel_shielded_checkpoint()
            return
        if flags & DONTWAIT:
            raise Again(f"{self.type.name}: no peer can take a message now")
        self._check_running()
        timeo = self._core.options.get("sndtimeo")
        if timeo < 0:
            await self._wait_send(frames)
            return
        with trio.move_on_after(timeo / 1000):
            await self._wait_send(frames)
            return
        raise Again(f"{self.type.name}: sndtimeo of {timeo} ms expired")

    async def _wait_send(self, frames: list[bytes]) -> None:
        psend = self._psend
        lot = self._rt.send_lot
        core = self._core
        while True:
            await lot.park()
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
        core = self._core
        if type(data) is bytes and not (
            flags or more or track or core.send_partial or core.closing
        ):
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            if self._psend([data]):
                self._yield_count += 1
                if self._yield_count >= _YIELD_EVERY:
                    self._yield_count = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return None
            await self._send_frames([data], 0)
            return None
        if track:
            await self.send(data, flags, more=more)
            return MessageTracker()
        check_flags(flags)
        if more or flags & SNDMORE:
            core.hold(data)
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
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
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            return rest if copy else core.frames(rest)
        msg = await self._recv_message(flags)
        return msg if copy else core.frames(msg)

    async def _recv_message(self, flags: int) -> list[bytes]:
        if flags:
            check_flags(flags)
        core = self._core
        core.check_open()
        if _cancel_requested():
            await trio.lowlevel.checkpoint()
        msg = self._precv()
        if msg is not None:
            self._yield_count += 1
            if self._yield_count >= _YIELD_EVERY:
                self._yield_count = 0
                await trio.lowlevel.cancel_shielded_checkpoint()
            return msg
        if flags & DONTWAIT:
            raise Again(f"{self.type.name}: no message available")
        self._check_running()
        timeo = core.options.get("rcvtimeo")
        if timeo < 0:
            return await self._wait_recv()
        with trio.move_on_after(timeo / 1000):
            return await self._wait_recv()
        raise Again(f"{self.type.name}: rcvtimeo of {timeo} ms expired")

    async def _wait_recv(self) -> list[bytes]:
        precv = self._precv
        lot = self._rt.recv_lot
        core = self._core
        while True:
            await lot.park()
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
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            return core.recv_partial.pop(0)
        if not (flags or core.closing):
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            msg: list[bytes] | None = self._precv()
            if msg is not None:
                self._yield_count += 1
                if self._yield_count >= _YIELD_EVERY:
                    self._yield_count = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                if len(msg) == 1:
                    return msg[0]
                core.recv_partial = msg
                return msg.pop(0)
        return core.split_first(await self._recv_message(flags))

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        data = await self.recv(flags)
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


async def exit_nursery(cm: Any, exc: tuple[Any, Any, Any]) -> bool | None:
    """Leave a nursery that wraps user code, letting the user's own exception out as
    itself rather than inside an ExceptionGroup (the socket's tasks were all stopped,
    so it is the only one)."""
    try:
        return await cm.__aexit__(*exc)  # type: ignore[no-any-return]
    except BaseExceptionGroup as group:
        inner = exc[1]
        if inner is not None and len(group.exceptions) == 1 and group.exceptions[0] is inner:
            raise inner from None
        raise
