"""The asyncio runtime of a socket: its listeners, connecters and connections, on an
event loop, with no public face.

Theory of operation
-------------------
A socket is three rooms (see :mod:`zmtp.core.socket`): the engine-neutral
:class:`~zmtp.core.socket.SocketCore`, which decides; a *runtime*, which does the I/O
and the waiting that I/O needs; and a *face*, which the application calls. This module
is the runtime for asyncio. Two faces use it:

* ``zmtp.asyncio.Socket`` (awaitable ``send``/``recv``, on the loop's own thread);
* ``zmtp.sync`` (blocking calls from application threads, with the loop running in an
  :class:`IOThread`, as libzmq runs its I/O thread).

The seam between a face and this runtime::

    face ──────────────────────────────► SocketRuntime (on the loop)
      │  core calls under context.lock      bind / unbind / connect / disconnect /
      │  (send, recv, options, poll)         close: coroutines run on the loop
      ▼                                      (from another thread:
    SocketCore ◄── engines, listeners,        IOThread.run(rt.bind(...)))
      │            connecters (callbacks
      │            and tasks on the loop)
      └── wake_send / wake_recv ──► Waker (the face's: asyncio futures, or
                                   threading primitives for a blocking face)

* :class:`Waker` is all a face gives the runtime: two wake-ups, which the core calls
  when a send or a receive that found the socket not ready may now succeed. They are
  called with ``context.lock`` held, from whatever thread touched the core (the
  loop's, or an application thread's): a waker must not block, and hops to its own
  thread if it needs one (the asyncio face's does, with ``call_soon_threadsafe``).
* :class:`SocketRuntime` creates the socket's core; its ``bind``, ``connect``,
  ``unbind``, ``disconnect`` and ``close(linger)`` are coroutines for the loop. Its
  ``wake_drain`` and ``close_connection`` (what the core asks of a runtime) hop to the
  loop's thread when called from another one; on the loop's thread they run at once.
* Every entry point that touches the core, a pipe or a pattern (a read delivering
  messages, the writer taking a batch, a handshake done, a connection over, a
  reconnect timer, bind/connect/close) holds ``core.context.lock`` (one RLock per
  context) while it does, and never waits while holding it. A face that calls the
  core from another thread must hold it too; the asyncio face, which runs on the
  loop's thread only, has nobody to exclude and does not take it.

Starting a runtime for a blocking face::

    io = IOThread()                       # a daemon thread running an event loop
    io.start()
    rt = SocketRuntime(context_core, zmtp.PUSH, {"sndhwm": 10}, waker=my_waker,
                       loop=io.loop, thread_id=io.thread_id)
    endpoint = io.run(rt.bind("tcp://127.0.0.1:*"))   # blocks this thread
    with context_core.lock:
        sent = rt.core.try_send([b"hello"])           # or wait on my_waker, retry
    io.run(rt.close(linger=1000))
    io.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket as _socket
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from zmtp.asyncio.raw import RawEngine
from zmtp.asyncio.stream import StreamEngine
from zmtp.constants import SocketType
from zmtp.core.context import ContextCore
from zmtp.core.events import Event
from zmtp.core.security import ZAP_ENDPOINT
from zmtp.core.socket import Binding, Connecter, SocketCore
from zmtp.errors import InvalidState, SocketClosed, ZMTPError
from zmtp.routing import Pipe
from zmtp.transport import os_sockets
from zmtp.transport.endpoint import Endpoint
from zmtp.wire import AuthDecision
from zmtp.wire.events import AuthRequest

__all__ = ["IOThread", "SocketRuntime", "Waker"]

T = TypeVar("T")

_get_ident = threading.get_ident

#: A connection's engine: ZMTP, or raw bytes for a STREAM socket.
Engine = StreamEngine | RawEngine

#: A listener accepts at most this many connections per loop pass.
_ACCEPTS_PER_TURN = 32
#: After an accept failure (out of descriptors, ...), the listener pauses this long.
_ACCEPT_RETRY = 0.05
#: Closing waits this long at most for listeners and connections to end (after
#: lingering), so that their CLOSED and DISCONNECTED events come before
#: MONITOR_STOPPED, as libzmq orders them.
_END_WAIT = 1.0


class Waker(Protocol):
    """How a runtime's core wakes the face's waiting calls (see the module doc).

    Called with ``context.lock`` held, possibly from a thread other than the loop's;
    must not block.
    """

    def wake_send(self) -> None:
        """A send that would have blocked may now succeed (a pipe got room or a peer),
        or the socket closed."""

    def wake_recv(self) -> None:
        """A receive that found nothing may now succeed, or the socket closed."""


class _NoWaker:
    """A runtime's waker until its face installs one."""

    def wake_send(self) -> None:
        return None

    def wake_recv(self) -> None:
        return None


def _resolve_all(waiters: list[asyncio.Future[bool]]) -> None:
    for fut in waiters:
        if not fut.done():
            fut.set_result(True)


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


async def wait_for_wake(
    loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future[bool]], deadline: float | None
) -> bool:
    """Park on ``waiters`` (a list whose owner resolves every future in it with True,
    then empties it) until woken (True) or ``deadline`` on the loop's clock (False).
    Cancellation-safe: a cancelled wait leaves nothing behind."""
    while True:
        fut: asyncio.Future[bool] = loop.create_future()
        waiters.append(fut)
        timer = loop.call_at(deadline, _expire, fut) if deadline is not None else None
        try:
            woken = await fut
        finally:
            if timer is not None:
                timer.cancel()
            if not fut.done() or fut.cancelled() or not fut.result():
                with contextlib.suppress(ValueError):
                    waiters.remove(fut)
        # A loop whose timers have millisecond resolution (uvloop) may fire a little
        # early: the deadline is a promise, so wait out the rest.
        if woken or deadline is None or loop.time() >= deadline:
            return woken


class _Connecting:
    """A connecter's reconnect loop, as its :class:`Connecter` holds it (``handle``)."""

    __slots__ = ("stopped", "task")

    def __init__(self) -> None:
        self.stopped = False
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        self.stopped = True
        if self.task is not None and not self.task.done():
            self.task.cancel()


class _Listener:
    """A bound tcp/ipc endpoint: an ``add_reader`` callback that accepts, and the
    connections it accepted (``unbind`` and ``close`` end them with it)."""

    def __init__(
        self, rt: SocketRuntime, lsock: _socket.socket, endpoint: str, path: str | None
    ) -> None:
        self.rt = rt
        self.lsock = lsock
        self.fd = lsock.fileno()
        self.endpoint = endpoint
        self.path = path
        self.tcp = lsock.family != _socket.AF_UNIX
        self.engines: set[Engine] = set()
        self.stopped = False
        #: Stopped, and every connection it accepted is over.
        self.done = False
        self._retry: asyncio.TimerHandle | None = None

    def start(self) -> None:
        assert self.rt.loop is not None
        self.rt.loop.add_reader(self.fd, self._on_acceptable)

    def _on_acceptable(self) -> None:
        rt = self.rt
        loop = rt.loop
        assert loop is not None
        for _ in range(_ACCEPTS_PER_TURN):
            try:
                sock, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                with rt.lock:
                    rt.core.emit(Event.ACCEPT_FAILED, self.endpoint, exc.errno or 0, str(exc))
                # Out of descriptors or similar: let the others run, then retry.
                loop.remove_reader(self.fd)
                self._retry = loop.call_later(_ACCEPT_RETRY, self._resume)
                return
            with rt.lock:
                rt.core.emit(Event.ACCEPTED, self.endpoint, sock.fileno())
            rt.spawn(sock, self.endpoint, tcp=self.tcp, listener=self)

    def _resume(self) -> None:
        self._retry = None
        if not self.stopped and self.rt.loop is not None:
            self.rt.loop.add_reader(self.fd, self._on_acceptable)

    def stop(self) -> None:
        """Stop accepting and end the connections accepted here (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        if self._retry is not None:
            self._retry.cancel()
        elif self.rt.loop is not None:
            self.rt.loop.remove_reader(self.fd)
        self.lsock.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        for engine in list(self.engines):
            engine.close()
        self._check_done()

    def engine_done(self, engine: Engine) -> None:
        self.engines.discard(engine)
        self._check_done()

    def _check_done(self) -> None:
        if self.stopped and not self.engines and not self.done:
            self.done = True
            rt = self.rt
            with rt.lock:
                rt.core.emit(Event.CLOSED, self.endpoint, self.fd)
            rt.wake_drain()


class _ZapAsker:
    """The ZAP client of one socket (RFC 27): a DEALER core of the same context,
    connected over inproc to the handler at ``inproc://zeromq.zap.01``. It has no face:
    this runtime sends the core's requests and matches the replies itself."""

    def __init__(self, rt: SocketRuntime) -> None:
        self.rt = rt
        assert rt.loop is not None
        self.loop = rt.loop
        self.waiting: dict[bytes, asyncio.Future[AuthDecision]] = {}
        self.send_waiters: list[asyncio.Future[bool]] = []
        with rt.lock:
            self.core = SocketCore(SocketType.DEALER, rt.core.context, self, {"linger": 0})
            self.core.begin_connect(ZAP_ENDPOINT)

    # SocketRuntime verbs of the DEALER's core: never act inside the core's call.
    def wake_send(self) -> None:
        self._soon(self._woken_send)

    def wake_recv(self) -> None:
        self._soon(self._read_replies)

    def wake_drain(self) -> None:
        return None

    def close_connection(self, pipe: Pipe) -> None:
        return None

    def _soon(self, fn: Any) -> None:
        if _get_ident() == self.rt.thread_id:
            self.loop.call_soon(fn)
        else:
            self.loop.call_soon_threadsafe(fn)

    def _woken_send(self) -> None:
        waiters, self.send_waiters = self.send_waiters, []
        _resolve_all(waiters)

    async def ask(self, engine: StreamEngine, request: AuthRequest) -> AuthDecision:
        rt = self.rt
        owner = rt.core
        fut: asyncio.Future[AuthDecision] = self.loop.create_future()
        with rt.lock:
            rid, frames = owner.zap.request(owner.options, engine.peer_address, request)
        self.waiting[rid] = fut
        try:
            while True:
                with rt.lock:
                    if self.core.try_send(list(frames)):
                        break
                await wait_for_wake(self.loop, self.send_waiters, None)
            return await fut
        finally:
            self.waiting.pop(rid, None)
            with rt.lock:
                owner.zap.forget(rid)

    def _read_replies(self) -> None:
        rt = self.rt
        while True:
            with rt.lock:
                try:
                    reply = self.core.try_recv()
                except SocketClosed:
                    return
                if reply is None:
                    return
                answered = rt.core.zap.answer(reply)
            if answered is not None:
                rid, decision = answered
                fut = self.waiting.get(rid)
                if fut is not None and not fut.done():
                    fut.set_result(decision)

    def close(self) -> None:
        with self.rt.lock:
            core = self.core
            core.begin_close()
            core.finish_close()
            core.connecters.clear()
            core.stop_monitors()
        _resolve_all(self.send_waiters)


class SocketRuntime:
    """The loop side of one socket (see the module doc): creates the socket's
    :class:`~zmtp.core.socket.SocketCore` and runs its I/O on one asyncio loop.

    ``loop`` may be given now or attached on first use (:meth:`attach`, from a
    coroutine on that loop); ``thread_id`` is the loop's thread (default: the caller's
    when attaching).
    """

    def __init__(
        self,
        context: ContextCore,
        socket_type: SocketType | int | str,
        options: dict[str, Any],
        *,
        waker: Waker | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        thread_id: int | None = None,
    ) -> None:
        self.waker: Waker = waker if waker is not None else _NoWaker()
        self.lock = context.lock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id = -1
        self.engines: set[Engine] = set()
        self._drain_waiters: list[asyncio.Future[bool]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._zap: _ZapAsker | None = None
        with context.lock:
            self.core = SocketCore(socket_type, context, self, options)
        if loop is not None:
            self.attach(loop, thread_id)

    def attach(self, loop: asyncio.AbstractEventLoop, thread_id: int | None = None) -> None:
        """Run on ``loop`` from now on (a no-op when already on it)."""
        if self.loop is loop:
            return
        if self.loop is not None and not self.loop.is_closed():
            raise InvalidState(
                f"this {self.core.type.name} socket runs on another event loop; "
                "a socket belongs to the loop it was first used on"
            )
        self.loop = loop
        self.thread_id = thread_id if thread_id is not None else _get_ident()

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        self.attach(loop)
        return loop

    # -- what the core asks of its runtime (SocketRuntime) -------------------------------

    def wake_send(self) -> None:
        self.waker.wake_send()

    def wake_recv(self) -> None:
        self.waker.wake_recv()

    def wake_drain(self) -> None:
        if not self._drain_waiters:
            return
        if _get_ident() != self.thread_id:
            assert self.loop is not None
            self.loop.call_soon_threadsafe(self.wake_drain)
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        _resolve_all(waiters)

    def close_connection(self, pipe: Pipe) -> None:
        if not self.engines:
            return
        if _get_ident() != self.thread_id:
            assert self.loop is not None
            self.loop.call_soon_threadsafe(self.close_connection, pipe)
            return
        for engine in list(self.engines):
            if engine.pipe is pipe:
                engine.close()

    # -- bind / connect (coroutines on the loop) -------------------------------------------

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; returns the endpoint actually bound."""
        core = self.core
        with self.lock:
            ep = core.begin_bind(endpoint)
            if ep.transport == "inproc":
                return core.bind_inproc(ep)
        loop = self._loop()
        backlog = core.options.get("backlog")
        try:
            if ep.transport == "tcp":
                host, port, family = os_sockets.bind_address(ep, core.options)
                infos = os_sockets.resolve_numeric(host, port, family, _socket.AI_PASSIVE)
                if infos is None:
                    infos = await loop.getaddrinfo(
                        host,
                        port,
                        family=family,
                        type=_socket.SOCK_STREAM,
                        flags=_socket.AI_PASSIVE,
                    )
                if not infos:
                    raise OSError(0, f"cannot resolve {host!r}")
                lsock, real = os_sockets.open_tcp_listener(infos[0], host, backlog)
                path = None
            else:
                lsock, real, path = os_sockets.open_ipc_listener(ep.address, backlog)
        except OSError as exc:
            with self.lock:
                raise core.bind_failed(endpoint, exc) from exc
        listener = _Listener(self, lsock, real, path)
        binding = Binding(real, ep.transport, listener)
        binding.path = path
        with self.lock:
            if core.closed or core.closing:
                lsock.close()
                raise SocketClosed(f"{core.type.name} socket is closed")
            core.emit(Event.LISTENING, real, lsock.fileno())
            listener.start()
            return core.bound(endpoint, binding)

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` and close the connections accepted there."""
        with self.lock:
            binding = self.core.unbind(endpoint)
        if isinstance(binding.handle, _Listener):
            binding.handle.stop()

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint`` now or whenever it appears, reconnecting after
        losses (the core decides when)."""
        core = self.core
        loop = None if endpoint.startswith("inproc://") else self._loop()
        with self.lock:
            ep, conn = core.begin_connect(endpoint)
        if ep.transport == "inproc":
            return
        assert loop is not None
        handle = _Connecting()
        conn.handle = handle
        handle.task = self._start(self._connect_loop(ep, conn, handle))

    async def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint``; its queued outgoing messages are dropped."""
        with self.lock:
            conn = self.core.disconnect(endpoint)
        if conn.handle is not None:
            conn.handle.cancel()
        for engine in list(self.engines):
            if engine.connecter is conn:
                engine.close()

    def _start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- connections -------------------------------------------------------------------

    def spawn(self, sock: _socket.socket, endpoint: str, *, tcp: bool, listener: _Listener) -> None:
        """Run an accepted connection in a task of its own."""
        engine = self._engine_for(sock, endpoint, tcp=tcp, as_server=True)
        if engine is None:
            return
        listener.engines.add(engine)
        self._start(self._run_engine(engine, listener))

    def _engine_for(
        self,
        sock: _socket.socket,
        endpoint: str,
        *,
        tcp: bool,
        as_server: bool,
        connecter: Connecter | None = None,
    ) -> Engine | None:
        """An engine for a new OS connection; None (connection closed, the reason on
        the monitor) if it cannot be set up. Only this connection is affected."""
        assert self.loop is not None
        try:
            sock.setblocking(False)
            if tcp:
                os_sockets.tune_tcp(sock, self.core.options)
            if self.core.pattern.raw:
                return RawEngine(self.core, self.loop, sock, endpoint, connecter=connecter)
            with self.lock:
                return StreamEngine(
                    self.core,
                    self.loop,
                    self.authenticate,
                    sock,
                    endpoint,
                    connecter=connecter,
                    as_server=as_server,
                )
        except (ZMTPError, ValueError, OSError, TypeError, OverflowError) as exc:
            sock.close()
            reason = os_sockets.os_reason(exc) if isinstance(exc, OSError) else str(exc)
            with self.lock:
                self.core.setup_failed(endpoint, reason)
            return None

    async def _run_engine(self, engine: Engine, listener: _Listener | None = None) -> None:
        self.engines.add(engine)
        try:
            await engine.run()
        finally:
            self.engines.discard(engine)
            with self.lock:
                self.core.connection_done(
                    engine.endpoint,
                    engine.pipe,
                    engine.connecter,
                    reason=engine.reason,
                    handshake_done=engine.handshake_done,
                )
            if listener is not None:
                listener.engine_done(engine)

    async def _connect_loop(self, ep: Endpoint, conn: Connecter, handle: _Connecting) -> None:
        core = self.core
        endpoint = str(ep)
        while not handle.stopped:
            sock = await self._try_connect(ep, endpoint)
            engine = None
            if sock is not None:
                if handle.stopped:
                    sock.close()
                    return
                engine = self._engine_for(
                    sock, endpoint, tcp=ep.transport == "tcp", as_server=False, connecter=conn
                )
            if engine is not None:
                await self._run_engine(engine)
            if handle.stopped or core.closed:
                return
            with self.lock:
                wait = core.reconnect_after(
                    conn,
                    handshake_done=engine is not None and engine.handshake_done,
                    refused=engine.reason if engine is not None and engine.refused else None,
                )
            if wait is None:
                return
            await asyncio.sleep(wait / 1000)

    async def _try_connect(self, ep: Endpoint, endpoint: str) -> _socket.socket | None:
        core = self.core
        loop = self.loop
        assert loop is not None
        infos: list[Any] = []
        if ep.transport == "tcp":
            family = _socket.AF_UNSPEC if core.options.get("ipv6") else _socket.AF_INET
            found = os_sockets.resolve_numeric(ep.host, ep.port, family)
            if found is None:
                try:
                    found = await loop.getaddrinfo(
                        ep.host, ep.port, family=family, type=_socket.SOCK_STREAM
                    )
                except OSError as exc:
                    with self.lock:
                        core.emit(Event.CLOSED, endpoint, exc.errno or 0, f"cannot resolve: {exc}")
                    return None
            infos = list(found)
        last = ""
        for target in os_sockets.connect_targets(ep, infos):
            try:
                sock, err = os_sockets.start_connect(*target)
            except OSError as exc:  # the source address cannot be bound
                last = os_sockets.os_reason(exc)
                continue
            try:
                if err in os_sockets.CONNECT_PENDING:
                    with self.lock:
                        core.emit(Event.CONNECT_DELAYED, endpoint, err)
                    await self._writable(sock)
                    err = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
                if err:
                    last = os.strerror(err)
                    sock.close()
                    continue
            except BaseException:
                sock.close()
                raise
            with self.lock:
                core.emit(Event.CONNECTED, endpoint, sock.fileno())
            return sock
        with self.lock:
            core.emit(Event.CLOSED, endpoint, 0, f"connect failed: {last}")
        return None

    async def _writable(self, sock: _socket.socket) -> None:
        loop = self.loop
        assert loop is not None
        fut: asyncio.Future[None] = loop.create_future()
        fd = sock.fileno()
        loop.add_writer(fd, _set_done, fut)
        try:
            await fut
        finally:
            loop.remove_writer(fd)

    # -- ZAP client (RFC 27) -----------------------------------------------------------

    async def authenticate(self, engine: StreamEngine, request: AuthRequest) -> AuthDecision:
        """Ask the ZAP handler of this context about a peer; its answer as a decision."""
        if self._zap is None:
            self._zap = _ZapAsker(self)
        return await self._zap.ask(engine, request)

    # -- closing -------------------------------------------------------------------------

    def flushed(self) -> bool:
        """Nothing left to write for tcp/ipc peers (what lingering waits for)."""
        with self.lock:
            return not self.core.unsent() and all(e.idle() for e in self.engines)

    async def wait_drain(self, deadline: float | None) -> bool:
        """Wait until something closing waits for changed (True) or ``deadline``
        (the loop's clock) passed (False)."""
        assert self.loop is not None
        return await wait_for_wake(self.loop, self._drain_waiters, deadline)

    async def close(self, linger: int | None = None) -> None:
        """Close the socket. Queued messages keep going out for up to ``linger`` ms
        (default: the option; -1: until all are sent; 0: drop them now), over live
        connections and over connections still being made; what is left then is
        dropped and counted in ``core.dropped``. Then every listener and connection
        ends. Idempotent. If the caller is cancelled while lingering, the socket
        still closes (dropping what is left) before the cancellation goes on."""
        with self.lock:
            begun = self.begin_close(linger)
        if begun is not None:
            await self.finish_close(begun)

    def begin_close(self, linger: int | None = None) -> int | None:
        """The first half of :meth:`close`, synchronous, for a face that must stop the
        socket at once (``zmtp.sync``'s ``close()`` returns before the lingering is
        over, as pyzmq's does): from now on sends and receives fail. Call it with the
        lock held, from any thread. Returns the linger to honour, which the caller
        passes to :meth:`finish_close` on the loop; None if the socket was already
        closing."""
        core = self.core
        if core.closed or core.closing:
            return None
        core.begin_close()
        return core.linger if linger is None else linger

    async def finish_close(self, linger: int) -> None:
        """The second half of :meth:`close`, on the loop: linger, then end every
        listener and connection (see :meth:`close`)."""
        core = self.core
        loop = self.loop
        cancelled: asyncio.CancelledError | None = None
        if loop is not None and linger != 0 and not self.flushed():
            deadline = None if linger < 0 else loop.time() + linger / 1000
            try:
                while not self.flushed():
                    if not await self.wait_drain(deadline):
                        break
            except asyncio.CancelledError as exc:
                cancelled = exc
        with self.lock:
            bindings = core.finish_close(linger)
            connecters = list(core.connecters.values())
            core.connecters.clear()
        for binding in bindings:
            if isinstance(binding.handle, _Listener):
                binding.handle.stop()
        for conn in connecters:
            if conn.handle is not None:
                conn.handle.cancel()
        for engine in list(self.engines):
            engine.close()
        if self._zap is not None:
            self._zap.close()
        listeners = [b.handle for b in bindings if isinstance(b.handle, _Listener)]
        if loop is not None and cancelled is None:
            # Let listeners and connections end (they report CLOSED and DISCONNECTED)
            # before the monitors stop, as libzmq orders them; never for long.
            deadline = loop.time() + _END_WAIT
            try:
                while self.engines or any(not listener.done for listener in listeners):
                    if not await self.wait_drain(deadline):
                        break
            except asyncio.CancelledError as exc:
                cancelled = exc
        with self.lock:
            core.stop_monitors()
        if cancelled is not None:
            raise cancelled


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class IOThread:
    """An asyncio event loop running in a daemon thread of its own: where a blocking
    face runs its sockets' runtimes, as libzmq runs its I/O thread.

    ``start()`` returns once the loop runs; ``run(coro)`` runs a coroutine on it and
    blocks the calling thread for the result; ``stop()`` ends the loop and the thread.
    ``loop_factory`` makes the loop (default: a new default event loop; pass
    ``uvloop.new_event_loop`` for uvloop).
    """

    def __init__(self, name: str = "zmtp-io", loop_factory: Any = None) -> None:
        self.name = name
        self._factory = loop_factory or asyncio.new_event_loop
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id = -1
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        loop = self._factory()
        asyncio.set_event_loop(loop)
        self.loop = loop
        self.thread_id = _get_ident()
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop; block this thread until it is done (never call
        it from the loop's own thread)."""
        if self.loop is None:
            coro.close()
            raise InvalidState("the I/O thread is not running: call start() first")
        if _get_ident() == self.thread_id:
            coro.close()
            raise InvalidState("IOThread.run() called from the I/O thread itself would deadlock")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any) -> None:
        """Call ``fn(*args)`` on the loop's thread, soon."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        """Stop the loop and wait for the thread to end (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None or self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        thread.join()
