"""The trio-facing socket.

A :class:`Socket` is what a pyzmq user expects: ``bind``/``connect`` in any order,
``send``/``recv`` of single frames or whole messages, options by keyword or attribute,
and a monitor. Underneath it is three things:

* a **pattern** (:mod:`zmtp.patterns`) that makes every routing decision, sans-IO;
* **pipes** (:mod:`zmtp.routing.pipe`), one per peer, with bounded queues;
* **tasks** in the socket's own nursery: one per listener, one per connecter (which
  reconnects with back-off), one per live connection (:mod:`zmtp.transport.stream`).

Sending is a queue append, receiving a queue pop: neither switches tasks while the
queues allow progress. Both wait (park) only when the pattern says "would block",
and both are cancellation-safe: a cancelled ``send`` sent nothing, a cancelled
``recv`` took nothing.

Lifetime: a socket runs either under ``async with`` (it then owns its nursery) or,
when made by an entered :class:`zmtp.Context`, under a task of the context's nursery.
``close()`` lets queued messages flush for up to ``linger`` ms, then stops every task
of the socket; it is idempotent.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import socket as _socket
import sys
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import trio

from zmtp import _fastpaths
from zmtp.constants import DONTWAIT, SNDMORE, SocketType
from zmtp.errors import (
    Again,
    AuthenticationFailed,
    FrameTypeError,
    InvalidState,
    PeerError,
    ProtocolError,
    SocketClosed,
    ZMTPError,
    ZMTPValueError,
)
from zmtp.frame import Frame
from zmtp.monitor import Event, Monitor, MonitorEvent
from zmtp.options import ALIASES, OPTIONS, Options
from zmtp.patterns import pattern_for
from zmtp.routing import MsgQueue, Pipe
from zmtp.transport.endpoint import Endpoint, format_tcp, parse_endpoint
from zmtp.transport.stream import StreamEngine
from zmtp.wire import (
    AuthDecision,
    Connection,
    CurveClient,
    CurveServer,
    NullMechanism,
    PlainClient,
    PlainServer,
    curve_public,
)
from zmtp.wire.commands import Metadata, decode_metadata
from zmtp.wire.events import AuthRequest, HandshakeComplete

if TYPE_CHECKING:
    from zmtp.context import Context

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["ZAP_ENDPOINT", "Socket"]

#: Where a ZAP handler serves (RFC 27), in the socket's context.
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


def _ADMIT(request: AuthRequest) -> bool:
    return True


def _DEFER(request: AuthRequest) -> None:
    return None  # the engine asks the ZAP handler


#: The types that honour probe_router.
_PROBERS = frozenset({SocketType.ROUTER, SocketType.DEALER, SocketType.REQ})

#: A real checkpoint (a chance for other tasks to run) every this many sends/recvs
#: that did not need to wait.
_YIELD_EVERY = 256


#: True if the calling task is cancelled: what ``checkpoint_if_cancelled`` checks, read
#: cheaply. The fast paths of send and recv ask this on every call (then take a real
#: checkpoint, which raises Cancelled) and yield for real every ``_YIELD_EVERY`` calls.
_cancel_requested = _fastpaths.cancel_probe()


def _frame(data: Any) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise FrameTypeError("str frames are not allowed: use send_string() or encode first")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise FrameTypeError(f"a frame must be bytes-like, got {type(data).__name__}") from None


class _Binding:
    """A bound endpoint: a listener task (tcp, ipc) or an inproc registration."""

    def __init__(self, endpoint: str, scope: trio.CancelScope | None) -> None:
        self.endpoint = endpoint
        self.scope = scope
        self.path: str | None = None  # ipc socket file to unlink
        self.done = trio.Event()  # set once the listener has stopped
        if scope is None:
            self.done.set()


class _Connecter:
    """A connected endpoint: its reconnect loop and the pipe that outlives connections."""

    def __init__(self, endpoint: str, pipe: Pipe | None) -> None:
        self.endpoint = endpoint
        self.pipe = pipe
        self.scope: trio.CancelScope | None = None
        self.engine: StreamEngine | None = None
        self.attached = False
        self.assigned_id = b""  # connect_routing_id given for this peer
        self.connections = 0  # handshakes completed so far


class Socket:
    """A ZeroMQ socket on trio.

    ``Socket(zmtp.PUSH, sndhwm=10)`` or ``ctx.socket(zmtp.PUSH, sndhwm=10)``; options
    are also attributes (``sock.sndhwm = 10``) and keep pyzmq's names. Setting an
    attribute that is no option (a typo such as ``sock.sndhmw``) raises
    ``AttributeError``, as in pyzmq, rather than silently doing nothing.
    """

    __slots__ = (
        "_bindings",
        "_closed",
        "_closing",
        "_connecters",
        "_drain_lot",
        "_engines",
        "_host_done",
        "_hosted",
        "_monitors",
        "_nursery",
        "_own_nursery",
        "_pattern",
        "_precv",
        "_psend",
        "_ready",
        "_recv_lot",
        "_recv_partial",
        "_send_lot",
        "_send_partial",
        "_yield_count",
        "_zap_seq",
        "_zap_socket",
        "_zap_waiting",
        "context",
        "options",
        "type",
    )

    def __init__(
        self,
        socket_type: SocketType | int | str,
        context: Context | None = None,
        **options: Any,
    ) -> None:
        from zmtp.context import Context

        self.type = SocketType.coerce(socket_type)
        self.context = context if context is not None else Context.instance()
        subscribe = options.pop("subscribe", None)
        self.options = Options(**options)
        self._pattern = pattern_for(self.type)(self.options)
        if hasattr(self._pattern, "evict"):
            self._pattern.evict = self._evict
        # The pattern's two hot verbs, looked up once.
        self._psend = self._pattern.send
        self._precv = self._pattern.recv
        self._send_lot = trio.lowlevel.ParkingLot()
        self._recv_lot = trio.lowlevel.ParkingLot()
        self._drain_lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._closing = False
        self._nursery: trio.Nursery | None = None
        self._own_nursery: Any = None
        self._hosted = False
        self._ready = trio.Event()
        self._host_done = trio.Event()
        self._bindings: dict[str, _Binding] = {}
        self._connecters: dict[str, _Connecter] = {}
        self._engines: set[StreamEngine] = set()
        self._monitors: list[Monitor] = []
        self._recv_partial: list[bytes] = []
        self._send_partial: list[bytes] = []
        self._yield_count = 0
        self._zap_socket: Socket | None = None
        self._zap_seq = 0
        self._zap_waiting: dict[bytes, list[Any]] = {}
        self.context._register(self)
        if subscribe is not None:
            topics = [subscribe] if isinstance(subscribe, (bytes, str)) else subscribe
            for topic in topics:
                self.subscribe(topic)

    # -- options as attributes (properties generated from zmtp.options.OPTIONS) -------

    def setsockopt(self, name: str | int, value: Any) -> None:
        """pyzmq-style option setter: a name (``"sndhwm"``) or pyzmq's integer
        constant (``zmq.SNDHWM``); ``"subscribe"`` and ``"unsubscribe"`` act as the
        methods of the same names."""
        canonical = Options.canonical(name)
        if canonical == "subscribe":
            self.subscribe(value)
        elif canonical == "unsubscribe":
            self.unsubscribe(value)
        else:
            self.options.set(canonical, value)

    def getsockopt(self, name: str | int) -> Any:
        return self.options.get(name)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def rcvmore(self) -> bool:
        """True while frames of a message read with :meth:`recv` remain."""
        return bool(self._recv_partial)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
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
            return await _exit_nursery(cm, exc)
        return None

    async def _host(self) -> None:
        """Run the socket's tasks under a context's nursery until it closes."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._ready.set()
            await self._host_done.wait()
            nursery.cancel_scope.cancel()

    async def _running(self) -> trio.Nursery:
        self._check_open()
        if self._nursery is None:
            if not self._hosted:
                raise InvalidState(
                    "the socket is not running: use `async with socket:` or create it "
                    "from an entered `async with zmtp.Context() as ctx`"
                )
            await self._ready.wait()
        assert self._nursery is not None
        return self._nursery

    def _check_open(self) -> None:
        if self._closed or self._closing:
            raise SocketClosed(f"{self.type.name} socket is closed")

    async def close(self, linger: int | None = None) -> None:
        """Close the socket: flush queued messages for up to ``linger`` ms (default: the
        ``linger`` option; -1 waits until every message queued on a live connection
        is written), then stop all its connections. Idempotent."""
        if self._closed or self._closing:
            return
        self._closing = True
        if linger is None:
            linger = self.options.get("linger")
        if linger != 0 and self._engines:
            timeout = math.inf if linger < 0 else linger / 1000
            with trio.move_on_after(timeout):
                while not self._flushed():
                    await self._drain_lot.park()
        self._closed = True
        self.context._inproc_close(self)
        bindings = list(self._bindings.values())
        for binding in bindings:
            self._forget_binding(binding)
        for conn in self._connecters.values():
            if conn.scope is not None:
                conn.scope.cancel()
        for engine in list(self._engines):
            engine.close()
        if self._zap_socket is not None:
            await self._zap_socket.close()
        self._bindings.clear()
        self._connecters.clear()
        self._send_lot.unpark_all()
        self._recv_lot.unpark_all()
        # Let listeners and connections end (they report CLOSED and DISCONNECTED)
        # before the monitors stop, as libzmq orders them; never for long.
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            while self._engines or any(not b.done.is_set() for b in bindings):
                await self._drain_lot.park()
        for monitor in self._monitors:
            monitor._stop()
        self._monitors.clear()
        if self._own_nursery is not None and self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self._host_done.set()
        self.context._unregister(self)
        await trio.lowlevel.checkpoint()

    def _flushed(self) -> bool:
        return all(e.idle() for e in self._engines)

    def _writer_idle(self) -> None:
        if self._closing:
            self._drain_lot.unpark_all()

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, topic: bytes | str = b"") -> None:
        """SUB: receive messages whose first frame starts with ``topic`` (``b""``: all).

        Subscriptions are counted: subscribing twice needs two unsubscribes (RFC 37).
        On an XPUB with ``xpub_manual``, subscribes the peer that sent the last
        subscription.
        """
        self._check_open()
        sub = getattr(self._pattern, "subscribe", None)
        if sub is None:
            raise InvalidState(f"{self.type.name} sockets have no subscriptions (RFC 29)")
        sub(topic.encode("utf-8") if isinstance(topic, str) else bytes(topic))

    def unsubscribe(self, topic: bytes | str = b"") -> None:
        """Undo one :meth:`subscribe` of ``topic``."""
        self._check_open()
        unsub = getattr(self._pattern, "unsubscribe", None)
        if unsub is None:
            raise InvalidState(f"{self.type.name} sockets have no subscriptions (RFC 29)")
        unsub(topic.encode("utf-8") if isinstance(topic, str) else bytes(topic))

    # -- monitor -----------------------------------------------------------------------

    def monitor(self, events: Event = Event.ALL) -> Monitor:
        """Start a monitor: ``async with sock.monitor() as m: async for ev in m: ...``.

        Events that happen after this call are seen; ``events`` filters by type.
        """
        self._check_open()
        monitor = Monitor(events)
        self._monitors.append(monitor)
        monitor._on_close.append(lambda: self._monitors.remove(monitor))
        return monitor

    def _emit(self, event: Event, endpoint: str, value: int = 0, reason: str = "") -> None:
        if self._monitors:
            ev = MonitorEvent(event, endpoint, value, reason)
            for monitor in self._monitors:
                monitor._push(ev)

    # -- bind / connect ----------------------------------------------------------------

    async def bind(self, endpoint: str) -> str:
        """Listen on ``endpoint``; returns the endpoint actually bound (e.g. with the
        port picked for ``tcp://127.0.0.1:*``), also kept in ``last_endpoint``."""
        ep = parse_endpoint(endpoint, bind=True)
        self._check_open()
        if ep.transport != "inproc":
            self._new_connection(as_server=True)  # refuse a bad security setup now
        if ep.transport == "inproc":
            self.context._inproc_bind(self, ep.address)
            real = str(ep)
            self._bindings[real] = _Binding(real, None)
            self._emit(Event.LISTENING, real)
        else:
            nursery = await self._running()
            try:
                binding: _Binding = await nursery.start(self._listen, ep)
            except OSError as exc:
                self._emit(Event.BIND_FAILED, endpoint, exc.errno or 0, str(exc))
                raise ZMTPError(f"cannot bind {endpoint}: {exc.strerror or exc}") from exc
            real = binding.endpoint
            self._bindings[real] = binding
            if endpoint != real:
                self._bindings.setdefault(endpoint, binding)
        self.options._set_internal("last_endpoint", real)
        return real

    async def unbind(self, endpoint: str) -> None:
        """Stop listening on ``endpoint`` (as given to or returned by ``bind``) and
        close the connections accepted through it."""
        self._check_open()
        binding = self._bindings.pop(endpoint, None)
        if binding is None:
            raise ZMTPValueError(f"endpoint {endpoint!r} is not bound on this socket")
        for key in [k for k, b in self._bindings.items() if b is binding]:
            del self._bindings[key]
        self._forget_binding(binding)
        await trio.lowlevel.checkpoint()

    def _forget_binding(self, binding: _Binding) -> None:
        if binding.scope is not None:
            binding.scope.cancel()
        elif binding.endpoint.startswith("inproc://"):
            self.context._inproc_unbind(self, binding.endpoint[len("inproc://") :])

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint`` — now or whenever it appears, reconnecting after
        losses with ``reconnect_ivl`` doubling up to ``reconnect_ivl_max``.

        Unless ``immediate`` is set, a pipe to the endpoint exists at once, so sends
        queue there (up to ``sndhwm``) until the peer is reached.
        """
        ep = parse_endpoint(endpoint, bind=False)
        self._check_open()
        if ep.transport != "inproc":
            self._new_connection(as_server=False)  # refuse a bad security setup now
        if endpoint in self._connecters:
            raise ZMTPValueError(f"already connected to {endpoint!r}")
        # libzmq consumes connect_routing_id: it names the peer of this connect only.
        assigned = self.options.get("connect_routing_id")
        if assigned:
            self.options.set("connect_routing_id", b"")
        if ep.transport == "inproc":
            conn = _Connecter(str(ep), None)
            conn.assigned_id = assigned
            self._connecters[endpoint] = conn
            self.context._inproc_connect(self, ep.address, conn)
        else:
            nursery = await self._running()
            # A ROUTER can queue for the peer of this connect only if it named it.
            early = (self._pattern.attach_before_connect or bool(assigned)) and not (
                self.options.get("immediate")
            )
            pipe = self._new_pipe(str(ep)) if early else None
            conn = _Connecter(str(ep), pipe)
            conn.assigned_id = assigned
            if pipe is not None:
                pipe.assigned_id = assigned
                conn.attached = self._attach(pipe)
            self._connecters[endpoint] = conn
            await nursery.start(self._connect_loop, ep, conn)
        self.options._set_internal("last_endpoint", str(ep))

    async def disconnect(self, endpoint: str) -> None:
        """Stop connecting to ``endpoint``; its queued outgoing messages are dropped."""
        self._check_open()
        conn = self._connecters.pop(endpoint, None)
        if conn is None:
            raise ZMTPValueError(f"not connected to {endpoint!r}")
        if conn.scope is not None:
            conn.scope.cancel()
        if endpoint.startswith("inproc://"):
            self.context._inproc_disconnect(self, endpoint[len("inproc://") :], conn)
        else:
            if conn.engine is not None:
                conn.engine.close()
            if conn.pipe is not None:
                self._terminate(conn.pipe, drop_inbound=True)
        await trio.lowlevel.checkpoint()

    # -- listeners ---------------------------------------------------------------------

    async def _listen(self, ep: Endpoint, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        lsock, real, path = await self._open_listener(ep)
        binding = _Binding(real, trio.CancelScope())
        binding.path = path
        try:
            with binding.scope:  # type: ignore[union-attr]
                async with trio.open_nursery() as conns:
                    self._emit(Event.LISTENING, real, lsock.fileno())
                    task_status.started(binding)
                    await self._accept_loop(lsock, real, conns)
        finally:
            fd = lsock.fileno()
            lsock.close()
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            self._emit(Event.CLOSED, real, fd)
            binding.done.set()
            self._drain_lot.unpark_all()

    async def _open_listener(self, ep: Endpoint) -> tuple[_socket.socket, str, str | None]:
        backlog = self.options.get("backlog")
        if ep.transport == "tcp":
            host = ep.host
            ipv6 = self.options.get("ipv6")
            if host == "*":
                host = "::" if ipv6 else "0.0.0.0"
            family = _socket.AF_UNSPEC if ipv6 else _socket.AF_INET
            if ":" in host:
                family = _socket.AF_INET6
            infos = await trio.socket.getaddrinfo(
                host,
                ep.port,
                family=family,
                type=_socket.SOCK_STREAM,
                flags=_socket.AI_PASSIVE,
            )
            if not infos:
                raise OSError(errno.EADDRNOTAVAIL, f"cannot resolve {host!r}")
            fam, stype, proto, _, addr = infos[0]
            lsock = _socket.socket(fam, stype, proto)
            try:
                lsock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
                if fam == _socket.AF_INET6 and host == "::":
                    lsock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 0)
                lsock.bind(addr)
                lsock.listen(backlog)
                lsock.setblocking(False)
            except BaseException:
                lsock.close()
                raise
            bound_host, bound_port = lsock.getsockname()[:2]
            return lsock, format_tcp(bound_host, bound_port), None
        # ipc
        address = ep.address
        if address == "*":
            address = os.path.join(tempfile.mkdtemp(prefix="zmtp-"), "socket")
        sock_addr: str | bytes = address
        path: str | None = address
        if address.startswith("@"):
            sock_addr = b"\0" + address[1:].encode()
            path = None
        else:
            _remove_stale_ipc(address)
        lsock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            lsock.bind(sock_addr)
            lsock.listen(backlog)
            lsock.setblocking(False)
        except BaseException:
            lsock.close()
            raise
        return lsock, f"ipc://{address}", path

    async def _accept_loop(self, lsock: _socket.socket, real: str, conns: trio.Nursery) -> None:
        tcp = lsock.family != _socket.AF_UNIX
        while True:
            try:
                sock, _ = lsock.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(lsock)
                continue
            except OSError as exc:
                self._emit(Event.ACCEPT_FAILED, real, exc.errno or 0, str(exc))
                # Out of descriptors or similar: let the others run, then retry.
                await trio.sleep(0.05)
                continue
            sock.setblocking(False)
            if tcp:
                self._tune(sock)
            self._emit(Event.ACCEPTED, real, sock.fileno())
            engine = self._engine_for(sock, real, as_server=True, accepted=True)
            if engine is not None:
                conns.start_soon(self._run_engine, engine)
            # Hold no reference to the connection while waiting for the next one:
            # its buffers must go when it ends.
            engine = None
            sock = None  # type: ignore[assignment]

    def _engine_for(self, sock: _socket.socket, endpoint: str, **kw: Any) -> StreamEngine | None:
        """An engine for a new connection; None (connection closed, reason on the
        monitor) if the socket's security options became unusable since bind/connect."""
        try:
            return StreamEngine(self, sock, endpoint, **kw)
        except (ZMTPError, ValueError) as exc:
            sock.close()
            self._emit(Event.HANDSHAKE_FAILED_NO_DETAIL, endpoint, 0, str(exc))
            return None

    # -- connecters --------------------------------------------------------------------

    async def _connect_loop(
        self, ep: Endpoint, conn: _Connecter, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        endpoint = str(ep)
        with trio.CancelScope() as scope:
            conn.scope = scope
            task_status.started()
            ivl = self.options.get("reconnect_ivl")
            while True:
                sock = await self._try_connect(ep, endpoint)
                engine = None
                if sock is not None:
                    engine = self._engine_for(
                        sock, endpoint, connecter_pipe=conn.pipe, as_server=False
                    )
                if engine is not None:
                    conn.engine = engine
                    await self._run_engine(engine)
                    conn.engine = None
                    if engine.handshake_done:
                        ivl = self.options.get("reconnect_ivl")
                    if self._closing:
                        return
                    if engine.refused:
                        # RFC 23 Error Handling: after an ERROR, do not reconnect with
                        # the same credentials (a ZAP "300" is temporary: retry).
                        self._emit(
                            Event.CLOSED,
                            endpoint,
                            0,
                            f"the peer refused us ({engine.reason}); not reconnecting",
                        )
                        return
                base = self.options.get("reconnect_ivl")
                if base < 0:
                    self._emit(Event.CLOSED, endpoint, 0, "reconnect_ivl is -1: not reconnecting")
                    return
                self._emit(Event.CONNECT_RETRIED, endpoint, ivl)
                await trio.sleep(ivl / 1000)
                cap = self.options.get("reconnect_ivl_max")
                if cap > base:
                    ivl = min(max(ivl, 1) * 2, cap)

    async def _try_connect(self, ep: Endpoint, endpoint: str) -> _socket.socket | None:
        if ep.transport == "tcp":
            family = _socket.AF_UNSPEC if self.options.get("ipv6") else _socket.AF_INET
            try:
                infos = await trio.socket.getaddrinfo(
                    ep.host, ep.port, family=family, type=_socket.SOCK_STREAM
                )
            except OSError as exc:
                self._emit(Event.CLOSED, endpoint, exc.errno or 0, f"cannot resolve: {exc}")
                return None
            targets: list[tuple[Any, Any]] = [(info[0], info[4]) for info in infos]
        else:
            address = ep.address
            target: Any = b"\0" + address[1:].encode() if address.startswith("@") else address
            targets = [(_socket.AF_UNIX, target)]
        last = ""
        for family, addr in targets:
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                try:
                    err = sock.connect_ex(addr)
                except OSError as exc:  # e.g. an ipc path too long for the platform
                    err = exc.errno or errno.EINVAL
                if err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
                    self._emit(Event.CONNECT_DELAYED, endpoint, err)
                    await trio.lowlevel.wait_writable(sock)
                    err = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
                if err:
                    last = os.strerror(err)
                    sock.close()
                    continue
            except BaseException:
                sock.close()
                raise
            if family != _socket.AF_UNIX:
                self._tune(sock)
            self._emit(Event.CONNECTED, endpoint, sock.fileno())
            return sock
        self._emit(Event.CLOSED, endpoint, 0, f"connect failed: {last}")
        return None

    # -- engines -----------------------------------------------------------------------

    async def _run_engine(self, engine: StreamEngine) -> None:
        self._engines.add(engine)
        try:
            await engine.run()
        finally:
            self._engines.discard(engine)
            self._engine_done(engine)

    def _new_connection(self, *, as_server: bool) -> Connection:
        """A Connection with the mechanism the options select, and the authentication
        policy of libzmq: a ZAP handler bound at ``inproc://zeromq.zap.01`` in this
        context decides on PLAIN and CURVE clients (and on NULL ones when
        ``zap_domain`` is set); without one, a PLAIN server refuses everyone and a
        CURVE server admits any client key."""
        opts = self.options
        zap = self.context._zap_handler_bound()
        authenticator: Any = None
        if opts.get("curve_server"):
            secret = opts.get("curve_secretkey")
            if not secret:
                raise ZMTPValueError("curve_server needs curve_secretkey")
            public = opts.get("curve_publickey") or curve_public(secret)
            mechanism: Any = CurveServer(public, secret)
            authenticator = _DEFER if zap else _ADMIT
        elif opts.get("curve_serverkey"):
            public, secret = opts.get("curve_publickey"), opts.get("curve_secretkey")
            if not (public and secret):
                raise ZMTPValueError(
                    "a CURVE client needs curve_publickey and curve_secretkey "
                    "(with curve_serverkey)"
                )
            mechanism = CurveClient(opts.get("curve_serverkey"), public, secret)
        elif opts.get("plain_server"):
            mechanism = PlainServer()
            authenticator = _DEFER if zap else None
        elif opts.get("plain_username") or opts.get("plain_password"):
            mechanism = PlainClient(opts.get("plain_username"), opts.get("plain_password"))
        else:
            ask = bool(zap and as_server and opts.get("zap_domain"))
            mechanism = NullMechanism(as_server=as_server, authenticate=ask)
            authenticator = _DEFER if ask else None
        parts = opts.get("maxmsgparts")
        return Connection(
            self.type,
            mechanism=mechanism,
            routing_id=opts.get("routing_id"),
            maxmsgsize=opts.get("maxmsgsize"),
            max_frames=parts if parts >= 0 else None,
            authenticator=authenticator,
        )

    # -- ZAP client (RFC 27) -----------------------------------------------------------

    async def _zap(self, engine: StreamEngine, request: AuthRequest) -> AuthDecision:
        """Ask the ZAP handler of this context about a peer; its answer as a decision.

        A handler that does not answer well (wrong version, request id or status)
        counts as an internal error ("500"), which refuses the peer.
        """
        client = await self._zap_client()
        self._zap_seq += 1
        rid = str(self._zap_seq).encode()
        waiter: list[Any] = [trio.Event(), None]
        self._zap_waiting[rid] = waiter
        try:
            await client.send_multipart(
                [
                    b"",
                    b"1.0",
                    rid,
                    self.options.get("zap_domain"),
                    engine.peer_address.encode(),
                    self.options.get("routing_id"),
                    request.mechanism,
                    *request.credentials,
                ]
            )
            await waiter[0].wait()
        finally:
            self._zap_waiting.pop(rid, None)
        reply: list[bytes] = waiter[1]
        if len(reply) != 7 or reply[0] or reply[1] != b"1.0" or len(reply[3]) != 3:
            return AuthDecision(False, "500", "malformed ZAP reply")
        status = reply[3].decode("ascii", "replace")
        try:
            metadata = decode_metadata(reply[6])
        except ProtocolError:
            return AuthDecision(False, "500", "malformed metadata in ZAP reply")
        return AuthDecision(
            status == "200", status, reply[4].decode("utf-8", "replace"), reply[5], metadata
        )

    async def _zap_client(self) -> Socket:
        if self._zap_socket is None:
            nursery = await self._running()
            client = Socket(SocketType.DEALER, context=self.context, linger=0)
            client._hosted = True
            nursery.start_soon(client._host)
            await client.connect(ZAP_ENDPOINT)
            nursery.start_soon(self._zap_replies, client)
            self._zap_socket = client
        return self._zap_socket

    async def _zap_replies(self, client: Socket) -> None:
        with contextlib.suppress(SocketClosed):
            async for reply in client:
                waiter = self._zap_waiting.get(reply[2]) if len(reply) > 2 else None
                if waiter is None and self._zap_waiting:
                    # A reply that answers no request we made: the handler (a REP
                    # serves requests in order) garbled the oldest one. Refuse it.
                    waiter = next(iter(self._zap_waiting.values()))
                    reply = []
                if waiter is not None:
                    waiter[1] = reply
                    waiter[0].set()

    def _tune(self, sock: _socket.socket) -> None:
        """Apply the tcp_* options to a new tcp connection."""
        opts = self.options
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        keepalive = opts.get("tcp_keepalive")
        if keepalive >= 0:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, keepalive)
        if keepalive == 1:
            for name, const in (
                ("tcp_keepalive_idle", getattr(_socket, "TCP_KEEPIDLE", None)),
                ("tcp_keepalive_intvl", getattr(_socket, "TCP_KEEPINTVL", None)),
                ("tcp_keepalive_cnt", getattr(_socket, "TCP_KEEPCNT", None)),
            ):
                value = opts.get(name)
                if value > 0 and const is not None:
                    sock.setsockopt(_socket.IPPROTO_TCP, const, value)
        maxrt = opts.get("tcp_maxrt")
        user_timeout = getattr(_socket, "TCP_USER_TIMEOUT", None)
        if maxrt > 0 and user_timeout is not None:
            sock.setsockopt(_socket.IPPROTO_TCP, user_timeout, maxrt)

    def _new_pipe(self, endpoint: str) -> Pipe:
        opts = self.options
        pipe = Pipe(
            MsgQueue(opts.get("rcvhwm"), conflate=opts.get("conflate")),
            MsgQueue(opts.get("sndhwm")),
            endpoint,
        )
        self._hook(pipe)
        return pipe

    def _hook(self, pipe: Pipe) -> None:
        """Route the pipe's socket-side wake-ups to this socket."""
        pipe.in_q.wake_consumer = lambda: self._pipe_readable(pipe)
        pipe.out_q.wake_producer = lambda: self._pipe_writable(pipe)

    def _attach(self, pipe: Pipe) -> bool:
        if not self._pattern.attach(pipe):
            return False
        pipe.attached = True
        self._send_lot.unpark_all()
        if pipe.readable():
            self._pipe_readable(pipe)
        return True

    def _terminate(
        self, pipe: Pipe, *, drop_outbound: bool = True, drop_inbound: bool = False
    ) -> None:
        """The peer behind ``pipe`` is gone for good: drop what we queued for it (unless
        an inproc peer can still read it); what it sent stays readable, unless we are
        the ones leaving (``disconnect``), as in libzmq."""
        if pipe.state == "terminated":
            return
        pipe.state = "terminated"
        if drop_outbound:
            pipe.out_q.clear()
        if drop_inbound:
            pipe.in_q.clear()
        if pipe.attached:
            self._pattern.terminated(pipe)
            # The pattern may have something new to receive (XPUB's unsubscriptions).
            self._recv_lot.unpark_all()

    def _pipe_readable(self, pipe: Pipe) -> None:
        self._pattern.read_activated(pipe)
        self._recv_lot.unpark_all()

    def _pipe_writable(self, pipe: Pipe) -> None:
        if pipe.state == "active":
            self._pattern.write_activated(pipe)
            self._send_lot.unpark_all()

    def _engine_ready(self, engine: StreamEngine, connecter_pipe: Pipe | None) -> Pipe | None:
        """A connection finished its handshake: the pipe it serves, or None to refuse."""
        if self._closing:
            return None
        conn = engine.conn
        if connecter_pipe is not None:
            pipe = connecter_pipe
            connecter = self._connecters.get(engine.endpoint)
            if connecter is not None and not connecter.attached:
                connecter.attached = self._attach(pipe)
                if not connecter.attached:
                    return None
            if connecter is not None:
                if connecter.connections:
                    hiccuped = getattr(self._pattern, "hiccuped", None)
                    if hiccuped is not None:
                        hiccuped(pipe)
                connecter.connections += 1
        else:
            pipe = self._new_pipe(engine.endpoint)
            connecter = self._connecters.get(engine.endpoint) if not engine.accepted else None
            if connecter is not None:
                pipe.assigned_id = connecter.assigned_id
        pipe.routing_id = conn.peer_routing_id
        pipe.peer_type = conn.peer_socket_type
        pipe.user_id = conn.mechanism.user_id
        props = dict(conn.peer_properties)
        props.update(conn.mechanism.auth_metadata)
        props["User-Id"] = pipe.user_id
        props["Peer-Address"] = engine.peer_address.encode()
        pipe.properties = Metadata(props)
        if connecter_pipe is None and not self._attach(pipe):
            return None
        self._probe(pipe)
        if pipe.out_q.items:
            self._send_lot.unpark_all()
        return pipe

    def _probe(self, pipe: Pipe) -> None:
        """``probe_router``: greet every new peer with an empty message (libzmq)."""
        if self.options.get("probe_router") and self.type in _PROBERS:
            pipe.out_q.items.appendleft([b""])
            pipe.out_q.wake_consumer()

    def _evict(self, pipe: Pipe) -> None:
        """Close the connection behind ``pipe`` (a ROUTER id handed over)."""
        if self.context._inproc_evict(self, pipe):
            return
        for engine in self._engines:
            if engine.pipe is pipe:
                engine.close()
        self._terminate(pipe)

    def _engine_done(self, engine: StreamEngine) -> None:
        pipe = engine.pipe
        if engine.handshake_done and not self._closed:
            # Connections that end because the socket closes are not reported as
            # disconnections (libzmq reports only CLOSED for its listeners).
            self._emit(Event.DISCONNECTED, engine.endpoint, 0, engine.reason)
        if pipe is not None:
            connecter = self._connecters.get(engine.endpoint)
            if connecter is None or connecter.pipe is not pipe:
                self._terminate(pipe)
        self._drain_lot.unpark_all()

    def _handshake_succeeded(self, engine: StreamEngine, ev: HandshakeComplete) -> None:
        self._emit(Event.HANDSHAKE_SUCCEEDED, engine.endpoint)

    def _handshake_failed(self, endpoint: str, exc: ProtocolError | None, reason: str) -> None:
        value = 0
        status = ""
        if isinstance(exc, AuthenticationFailed):
            status = exc.status_code or ""
        elif isinstance(exc, PeerError):
            status = exc.peer_reason
        if len(status) == 3 and status.isdigit() and status[0] in "345":
            # A ZAP status code (RFC 27), reported as libzmq does.
            event = Event.HANDSHAKE_FAILED_AUTH
            value = int(status)
        elif isinstance(exc, AuthenticationFailed):
            event = Event.HANDSHAKE_FAILED_AUTH
        elif exc is not None:
            event = Event.HANDSHAKE_FAILED_PROTOCOL
        else:
            event = Event.HANDSHAKE_FAILED_NO_DETAIL
        self._emit(event, endpoint, value, reason)

    def _connection_event(self, engine: StreamEngine, ev: Any) -> None:
        """Non-message events of a live connection (subscriptions, heartbeats)."""
        handler = getattr(self._pattern, "connection_event", None)
        if handler is not None and engine.pipe is not None:
            handler(engine.pipe, ev)

    # -- sending -----------------------------------------------------------------------
    #
    # send() and recv() open with a fast path for the common case (one bytes frame,
    # no flags, a peer ready): a queue operation and a cheap cancellation check, with
    # a real checkpoint every _YIELD_EVERY calls. Everything else goes through the
    # general path, which waits on a parking lot when the pattern says "would block".

    def _prepare(self, msg_parts: Sequence[Any]) -> list[bytes]:
        self._check_open()
        frames = [_frame(p) for p in msg_parts]
        if not frames:
            raise ZMTPValueError("a message needs at least one frame")
        if self._send_partial:
            frames = self._send_partial + frames
        return frames

    def send_multipart_nowait(self, msg_parts: Sequence[Any]) -> None:
        """Send a whole message now or raise :class:`zmtp.Again` (nothing sent)."""
        frames = self._prepare(msg_parts)
        if not self._psend(frames):
            raise Again(f"{self.type.name}: no peer can take a message now")
        self._send_partial = []

    async def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0) -> None:
        """Send a whole message; waits while no peer can take it (HWM, no peer yet).

        With ``flags=zmtp.DONTWAIT`` (or when ``sndtimeo`` expires) raises
        :class:`zmtp.Again` instead of waiting. Cancellation-safe: a cancelled call
        sent nothing.
        """
        await self._send_frames(self._prepare(msg_parts), flags)
        self._send_partial = []

    async def _send_frames(self, frames: list[bytes], flags: int) -> None:
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
        timeo = self.options.get("sndtimeo")
        if timeo < 0:
            await self._wait_send(frames)
            return
        with trio.move_on_after(timeo / 1000):
            await self._wait_send(frames)
            return
        raise Again(f"{self.type.name}: sndtimeo of {timeo} ms expired")

    async def _wait_send(self, frames: list[bytes]) -> None:
        psend = self._psend
        while True:
            await self._send_lot.park()
            self._check_open()
            if psend(frames):
                return

    async def send(self, data: Any, flags: int = 0, *, more: bool = False) -> None:
        """Send one frame; with ``more=True`` (or ``flags=zmtp.SNDMORE``) it is held
        until the message's last frame is sent."""
        if type(data) is bytes and not (flags or more or self._send_partial or self._closing):
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            if self._psend([data]):
                self._yield_count += 1
                if self._yield_count >= _YIELD_EVERY:
                    self._yield_count = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return
            await self._send_frames([data], 0)
            return
        if more or flags & SNDMORE:
            self._check_open()
            self._send_partial.append(_frame(data))
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            return
        await self.send_multipart([data], flags)

    def send_nowait(self, data: Any, *, more: bool = False) -> None:
        if more:
            self._check_open()
            self._send_partial.append(_frame(data))
            return
        self.send_multipart_nowait([data])

    async def send_string(self, text: str, flags: int = 0, encoding: str = "utf-8") -> None:
        """Send ``text`` encoded (UTF-8 by default) as one frame."""
        await self.send(text.encode(encoding), flags)

    def send_string_nowait(self, text: str, encoding: str = "utf-8") -> None:
        self.send_nowait(text.encode(encoding))

    # -- receiving ---------------------------------------------------------------------

    def recv_multipart_nowait(self) -> list[bytes]:
        """The next whole message now, or raise :class:`zmtp.Again`."""
        if self._recv_partial:
            rest, self._recv_partial = self._recv_partial, []
            return rest
        self._check_open()
        msg = self._precv()
        if msg is None:
            raise Again(f"{self.type.name}: no message available")
        return msg

    async def recv_multipart(self, flags: int = 0, *, copy: bool = True) -> list[Any]:
        """The next whole message as a list of frames (``bytes``); waits for one.

        With ``flags=zmtp.DONTWAIT`` (or when ``rcvtimeo`` expires) raises
        :class:`zmtp.Again`. Cancellation-safe: a cancelled call takes nothing.
        With ``copy=False`` the frames are :class:`zmtp.Frame` objects that also
        carry the connection's properties (``frame.get("User-Id")``), as in pyzmq.
        """
        if self._recv_partial:
            rest, self._recv_partial = self._recv_partial, []
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            return rest if copy else self._frames(rest)
        msg = await self._recv_message(flags)
        return msg if copy else self._frames(msg)

    def _frames(self, msg: list[bytes]) -> list[Frame]:
        pipe = self._pattern.last_pipe
        props = pipe.properties if pipe is not None else None
        last = len(msg) - 1
        return [Frame(f, more=i < last, properties=props) for i, f in enumerate(msg)]

    async def _recv_message(self, flags: int) -> list[bytes]:
        self._check_open()
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
        timeo = self.options.get("rcvtimeo")
        if timeo < 0:
            return await self._wait_recv()
        with trio.move_on_after(timeo / 1000):
            return await self._wait_recv()
        raise Again(f"{self.type.name}: rcvtimeo of {timeo} ms expired")

    async def _wait_recv(self) -> list[bytes]:
        precv = self._precv
        while True:
            await self._recv_lot.park()
            self._check_open()
            msg = precv()
            if msg is not None:
                return msg

    async def recv(self, flags: int = 0, *, copy: bool = True) -> Any:
        """The next frame. For a multipart message, the following frames come from
        the next calls while ``rcvmore`` is true (pyzmq's behaviour). With
        ``copy=False``, a :class:`zmtp.Frame` carrying the connection's properties."""
        if not copy:
            data = await self.recv(flags)
            return Frame(data, more=self.rcvmore, properties=self._last_properties())
        if self._recv_partial:
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            return self._recv_partial.pop(0)
        if not (flags or self._closing):
            if _cancel_requested():
                await trio.lowlevel.checkpoint()
            msg = self._precv()
            if msg is not None:
                self._yield_count += 1
                if self._yield_count >= _YIELD_EVERY:
                    self._yield_count = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                if len(msg) == 1:
                    return msg[0]
                self._recv_partial = msg
                return msg.pop(0)
        msg = await self._recv_message(flags)
        if len(msg) > 1:
            self._recv_partial = msg
            return msg.pop(0)
        return msg[0]

    def _last_properties(self) -> Metadata | None:
        pipe = self._pattern.last_pipe
        return pipe.properties if pipe is not None else None

    def recv_nowait(self) -> bytes:
        if not self._recv_partial:
            self._recv_partial = self.recv_multipart_nowait()
        return self._recv_partial.pop(0)

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        data: bytes = await self.recv(flags)
        return data.decode(encoding)

    def recv_string_nowait(self, encoding: str = "utf-8") -> str:
        return self.recv_nowait().decode(encoding)

    # -- iteration ---------------------------------------------------------------------

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> list[bytes]:
        """``async for msg in sock`` receives whole messages until the socket closes."""
        try:
            return await self.recv_multipart()
        except SocketClosed:
            raise StopAsyncIteration from None


async def _exit_nursery(cm: Any, exc: tuple[Any, Any, Any]) -> bool | None:
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


def _option_property(name: str) -> property:
    def get(self: Socket) -> Any:
        return self.options.get(name)

    def set(self: Socket, value: Any) -> None:
        self.options.set(name, value)

    spec = OPTIONS.get(name)
    return property(
        get, None if spec is not None and spec.readonly else set, doc=spec.doc if spec else None
    )


for _name in [*OPTIONS, *ALIASES, "hwm"]:
    setattr(Socket, _name, _option_property(_name))


def _remove_stale_ipc(path: str) -> None:
    """Remove a socket file left by a dead process; refuse one that is in use."""
    if not os.path.exists(path):
        return
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.settimeout(0.2)
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    except OSError:
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{path} is in use by a live listener")
