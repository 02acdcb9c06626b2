"""The socket core: everything a ZeroMQ socket decides, with no I/O and no event loop.

A :class:`SocketCore` is the part of a socket that every engine shares (trio's
``zmtp.Socket``, ``zmtp.asyncio.Socket``, ``zmtp.sync.Socket``)::

        public face (an engine)          send/recv, waiting, bind/connect tasks
              │  calls                          ▲ wake_send / wake_recv / wake_drain /
              ▼                                 │ close_connection (SocketRuntime)
        SocketCore ─── options, pattern, pipes, connecters, bindings, monitor queues,
              │        the ZAP client, the close bookkeeping
              ▼
        pattern (zmtp.patterns) ── routing policies (zmtp.routing) ── pipes

The engine's per-connection workers talk to the core through the small
:class:`ConnectionHost` verb set (a new Connection, "handshake done", "connection
over", ...), never through private members. The core calls back into its engine only
through :class:`SocketRuntime`.

Threads: the core is not thread-safe on its own. Engines that drive a socket from one
thread (trio, asyncio) need nothing more; ``zmtp.sync`` calls it from application
threads and from its I/O thread, always holding ``context.lock`` (one lock per
context, since inproc peers touch each other's queues).

Closing follows libzmq's linger (issue-free version: see :meth:`SocketCore.begin_close`):
queued messages keep going out, including over connections still being made, for up
to ``linger`` ms; what is left then is dropped and counted in :attr:`SocketCore.dropped`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from zmtp.constants import DONTWAIT, SNDMORE, SocketType
from zmtp.core.events import Event, MonitorEvent, MonitorQueue, handshake_failure_event
from zmtp.core.security import ZapClient, new_connection
from zmtp.core.timing import next_reconnect_ivl
from zmtp.errors import BindError, FrameTypeError, ProtocolError, SocketClosed, ZMTPValueError
from zmtp.frame import Frame
from zmtp.options import Options, check_topic
from zmtp.patterns import Pattern, pattern_for
from zmtp.routing import MsgQueue, Pipe
from zmtp.transport.endpoint import Endpoint, parse_endpoint
from zmtp.transport.os_sockets import bind_error
from zmtp.wire import Connection
from zmtp.wire.commands import Metadata

if TYPE_CHECKING:
    from zmtp.core.context import ContextCore

__all__ = [
    "POLLIN",
    "POLLOUT",
    "Binding",
    "Connecter",
    "ConnectionHost",
    "SocketCore",
    "SocketRuntime",
    "as_frame",
    "check_flags",
]

#: Readiness bits of :meth:`SocketCore.poll_events` (pyzmq's ``POLLIN``/``POLLOUT``).
POLLIN = 1
POLLOUT = 2

#: The types that honour probe_router.
_PROBERS = frozenset({SocketType.ROUTER, SocketType.DEALER, SocketType.REQ})


def as_frame(data: Any) -> bytes:
    """One frame of an outgoing message as ``bytes``; anything not bytes-like is refused
    with :class:`~zmtp.errors.FrameTypeError` naming what was given."""
    if type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, Frame):
        return data.bytes
    if isinstance(data, str):
        raise FrameTypeError("str frames are not allowed: use send_string() or encode first")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise FrameTypeError(
            f"a frame must be bytes-like (bytes, bytearray, memoryview), got {type(data).__name__}"
        ) from None


def check_flags(flags: int) -> None:
    """Refuse send/recv flags other than ``DONTWAIT`` and ``SNDMORE``."""
    if not isinstance(flags, int) or flags & ~(DONTWAIT | SNDMORE):
        raise ZMTPValueError(
            f"flags are zmtp.DONTWAIT and zmtp.SNDMORE (pyzmq's NOBLOCK/SNDMORE), got {flags!r}"
        )


class SocketRuntime(Protocol):
    """What the core asks of the engine that runs a socket."""

    def wake_send(self) -> None:
        """A send that would have blocked may now succeed (a pipe got room or a peer)."""

    def wake_recv(self) -> None:
        """A receive that found nothing may now succeed (or the socket closed)."""

    def wake_drain(self) -> None:
        """Something that closing waits for changed (a writer went idle, a connection
        or listener ended)."""

    def close_connection(self, pipe: Pipe) -> None:
        """End the connection that serves ``pipe`` (a ROUTER handed its id over)."""


class ConnectionHost(Protocol):
    """The verbs an engine's per-connection worker uses (implemented by SocketCore)."""

    type: SocketType
    options: Options
    closing: bool

    def new_connection(self, *, as_server: bool) -> Connection: ...

    def handshake_succeeded(self, endpoint: str) -> None: ...

    def handshake_failed(self, endpoint: str, exc: ProtocolError | None, reason: str) -> None: ...

    def connection_ready(
        self, endpoint: str, conn: Connection, peer_address: str, connecter: Connecter | None
    ) -> Pipe | None: ...

    def raw_connection_ready(
        self, endpoint: str, peer_address: str, connecter: Connecter | None
    ) -> Pipe | None: ...

    def refusal(self) -> str: ...

    def connection_event(self, pipe: Pipe, ev: Any) -> None: ...

    def connection_done(
        self,
        endpoint: str,
        pipe: Pipe | None,
        connecter: Connecter | None,
        *,
        reason: str,
        handshake_done: bool,
    ) -> None: ...

    def writer_idle(self) -> None: ...


class Binding:
    """A bound endpoint. ``handle`` is the engine's (a listener task, a server...)."""

    __slots__ = ("endpoint", "handle", "path", "transport")

    def __init__(self, endpoint: str, transport: str, handle: Any = None) -> None:
        self.endpoint = endpoint
        self.transport = transport
        self.handle = handle
        self.path: str | None = None  # ipc socket file to unlink


class Connecter:
    """A connected endpoint: the pipe that outlives its connections (unless the pattern
    attaches pipes only once a peer is known) and what the engine keeps for it."""

    __slots__ = (
        "assigned_id",
        "attached",
        "connections",
        "endpoint",
        "handle",
        "ivl",
        "pipe",
        "transport",
    )

    def __init__(self, endpoint: str, transport: str, pipe: Pipe | None = None) -> None:
        self.endpoint = endpoint
        self.transport = transport
        self.pipe = pipe
        self.attached = False
        self.assigned_id = b""  # connect_routing_id given for this peer
        self.connections = 0  # handshakes completed so far
        self.handle: Any = None  # the engine's (its reconnect loop)
        #: The wait (ms) before the next attempt, should this one fail (see
        #: :meth:`SocketCore.reconnect_after`).
        self.ivl = 0


class SocketCore:
    """The engine-neutral state and decisions of one socket (see the module doc)."""

    def __init__(
        self,
        socket_type: SocketType | int | str,
        context: ContextCore,
        runtime: SocketRuntime,
        options: dict[str, Any],
    ) -> None:
        self.type = SocketType.coerce(socket_type)
        self.context = context
        self.runtime = runtime
        options = {**context.socket_defaults, **options}
        subscribe = options.pop("subscribe", None)
        self.options = Options(**options)
        self.pattern: Pattern = pattern_for(self.type)(self.options)
        self.pattern.set_evict(self._evict)
        #: The pattern's two hot verbs (see Pattern.fast_send / fast_recv).
        self.psend = self.pattern.fast_send()
        self.precv = self.pattern.fast_recv()
        self.closed = False
        self.closing = False
        self.bindings: dict[str, Binding] = {}
        self.connecters: dict[str, Connecter] = {}
        #: Every pipe of the socket that may hold outgoing messages.
        self.pipes: set[Pipe] = set()
        self.monitors: list[MonitorQueue] = []
        #: Frames of a message read with recv() that are still to come.
        self.recv_partial: list[bytes] = []
        #: Frames sent with SNDMORE, held until the last one.
        self.send_partial: list[bytes] = []
        #: Outgoing messages dropped at close (linger expired, linger 0) or left in an
        #: inproc link nobody bound in time.
        self.dropped = 0
        self.zap = ZapClient()
        #: Called whenever what poll_events() answers may have changed (pollers).
        self.watchers: list[Callable[[], None]] = []
        context.register(self)
        if subscribe is not None:
            topics = [subscribe] if isinstance(subscribe, (bytes, str)) else subscribe
            for topic in topics:
                self.subscribe(topic)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "closing" if self.closing else "open"
        return f"<SocketCore {self.type.name} {state}>"

    # -- readiness -----------------------------------------------------------------------

    def wake_send(self) -> None:
        """A send may now succeed: wake the engine's waiting senders and any poller."""
        self.runtime.wake_send()
        for watcher in self.watchers:
            watcher()

    def wake_recv(self) -> None:
        """A receive may now succeed (or the socket closed): wake receivers and pollers."""
        self.runtime.wake_recv()
        for watcher in self.watchers:
            watcher()

    # -- options -----------------------------------------------------------------------

    def check_open(self) -> None:
        if self.closed or self.closing:
            raise SocketClosed(f"{self.type.name} socket is closed")

    def setsockopt(self, name: str | int, value: Any) -> None:
        """Set an option by pyzmq name or number; ``subscribe``/``unsubscribe`` act as
        the methods of the same names."""
        canonical = Options.canonical(name)
        self.check_open()
        if canonical == "subscribe":
            self.subscribe(value)
        elif canonical == "unsubscribe":
            self.unsubscribe(value)
        else:
            self.options.set(canonical, value)

    def getsockopt(self, name: str | int) -> Any:
        canonical = Options.canonical(name)
        if canonical == "rcvmore":
            return int(bool(self.recv_partial))
        if canonical == "events":
            return self.poll_events()
        if canonical == "type":
            return int(self.type)
        return self.options.get(canonical)

    @property
    def linger(self) -> int:
        return int(self.options.get("linger"))

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, topic: bytes | str = b"") -> None:
        """SUB: receive messages whose first frame starts with ``topic`` (``b""``: all).
        On an XPUB with ``xpub_manual``, subscribe the peer of the last subscription."""
        self.check_open()
        self.pattern.subscribe(check_topic(topic))

    def unsubscribe(self, topic: bytes | str = b"") -> None:
        """Undo one :meth:`subscribe` of ``topic``."""
        self.check_open()
        self.pattern.unsubscribe(check_topic(topic))

    # -- monitor -----------------------------------------------------------------------

    def add_monitor(self, queue: MonitorQueue) -> None:
        self.check_open()
        self.monitors.append(queue)

    def remove_monitor(self, queue: MonitorQueue) -> None:
        if queue in self.monitors:
            self.monitors.remove(queue)

    def emit(self, event: Event, endpoint: str, value: int = 0, reason: str = "") -> None:
        if self.monitors:
            ev = MonitorEvent(event, endpoint, value, reason)
            for monitor in self.monitors:
                monitor.push(ev)

    # -- bind / connect (the decisions; the engine does the I/O) ---------------------

    def begin_bind(self, endpoint: str) -> Endpoint:
        """Check a bind: the endpoint's syntax, the socket open, the security options
        usable. inproc binds happen here at once (returns None-free: the engine then
        calls :meth:`bind_inproc`)."""
        ep = parse_endpoint(endpoint, bind=True)
        self.check_open()
        self._check_transport(ep)
        if ep.transport != "inproc" and not self.pattern.raw:
            self.new_connection(as_server=True)  # refuse a bad security setup now
        return ep

    def _check_transport(self, ep: Endpoint) -> None:
        if self.pattern.raw and ep.transport == "inproc":
            raise ZMTPValueError(
                f"{self.type.name} sockets speak raw bytes over tcp or ipc, not inproc"
            )

    def bind_inproc(self, ep: Endpoint) -> str:
        self.context.inproc.bind(self, ep.address)
        real = str(ep)
        self.bindings[real] = Binding(real, "inproc")
        self.emit(Event.LISTENING, real)
        self.options.set_internal("last_endpoint", real)
        return real

    def bound(self, requested: str, binding: Binding) -> str:
        """The engine listens on ``binding.endpoint`` (asked as ``requested``)."""
        real = binding.endpoint
        self.bindings[real] = binding
        if requested != real:
            self.bindings.setdefault(requested, binding)
        self.options.set_internal("last_endpoint", real)
        return real

    def unbind(self, endpoint: str) -> Binding:
        """Forget a binding (as given to or returned by bind); the engine stops its
        listener. An inproc name is released at once."""
        self.check_open()
        binding = self.bindings.pop(endpoint, None)
        if binding is None:
            raise ZMTPValueError(f"endpoint {endpoint!r} is not bound on this socket")
        for key in [k for k, b in self.bindings.items() if b is binding]:
            del self.bindings[key]
        self._release(binding)
        return binding

    def _release(self, binding: Binding) -> None:
        if binding.transport == "inproc":
            self.context.inproc.unbind(self, binding.endpoint[len("inproc://") :])

    def begin_connect(self, endpoint: str) -> tuple[Endpoint, Connecter]:
        """Record a connect. An inproc connect is made at once; for tcp and ipc the
        engine starts a reconnect loop for the returned connecter.

        Unless ``immediate`` is set (or the pattern routes only to known peers), the
        connecter's pipe exists at once, so sends queue there (up to ``sndhwm``) until
        the peer is reached.
        """
        ep = parse_endpoint(endpoint, bind=False)
        self.check_open()
        self._check_transport(ep)
        if ep.transport != "inproc" and not self.pattern.raw:
            self.new_connection(as_server=False)  # refuse a bad security setup now
        if endpoint in self.connecters:
            raise ZMTPValueError(f"already connected to {endpoint!r}")
        # libzmq consumes connect_routing_id: it names the peer of this connect only.
        assigned = self.options.get("connect_routing_id")
        if assigned:
            self.options.set("connect_routing_id", b"")
        conn = Connecter(str(ep), ep.transport)
        conn.assigned_id = assigned
        conn.ivl = self.options.get("reconnect_ivl")
        if ep.transport == "inproc":
            self.connecters[endpoint] = conn
            try:
                self.context.inproc.connect(self, ep.address, conn)
            except BaseException:
                del self.connecters[endpoint]
                raise
        else:
            # A ROUTER can queue for the peer of this connect only if it named it.
            early = (
                (self.pattern.attach_before_connect or bool(assigned))
                and not self.options.get("immediate")
                and not self.pattern.raw  # a raw peer exists only once connected
            )
            if early:
                pipe = conn.pipe = self.new_pipe(str(ep))
                pipe.assigned_id = assigned
                conn.attached = self.attach(pipe)
            self.connecters[endpoint] = conn
        self.options.set_internal("last_endpoint", str(ep))
        return ep, conn

    def bind_failed(self, endpoint: str, exc: OSError) -> BindError:
        """The OS refused to listen on ``endpoint``: report it on the monitor and return
        the :class:`~zmtp.errors.BindError` for the engine to raise."""
        failure = bind_error(exc, endpoint)
        self.emit(Event.BIND_FAILED, endpoint, failure.errno, str(exc))
        return failure

    def reconnect_after(
        self, conn: Connecter, *, handshake_done: bool, refused: str | None = None
    ) -> int | None:
        """A connecter's attempt ended (no connection, or a connection that is over):
        the wait in ms before the next attempt, or None to stop trying (why is on the
        monitor).

        libzmq's rules: a peer that answered our handshake with ERROR is not tried
        again with the same credentials (RFC 23 Error Handling; ``refused`` is the
        reason); ``reconnect_ivl`` -1 means never reconnect; otherwise the wait
        starts at ``reconnect_ivl`` after a connection that completed its handshake
        and doubles after each failure up to ``reconnect_ivl_max``
        (:func:`~zmtp.core.timing.next_reconnect_ivl`).
        """
        if self.closed:
            return None
        base = self.options.get("reconnect_ivl")
        if handshake_done:
            conn.ivl = base
        if refused is not None:
            self.emit(
                Event.CLOSED, conn.endpoint, 0, f"the peer refused us ({refused}); not reconnecting"
            )
            return None
        if base < 0:
            self.emit(Event.CLOSED, conn.endpoint, 0, "reconnect_ivl is -1: not reconnecting")
            return None
        ivl = conn.ivl
        self.emit(Event.CONNECT_RETRIED, conn.endpoint, ivl)
        conn.ivl = next_reconnect_ivl(ivl, base, self.options.get("reconnect_ivl_max"))
        return int(ivl)

    def disconnect(self, endpoint: str) -> Connecter:
        """Stop connecting to ``endpoint``; its queued outgoing messages are dropped.
        The engine then stops the connecter's loop and connection."""
        self.check_open()
        conn = self.connecters.pop(endpoint, None)
        if conn is None:
            raise ZMTPValueError(f"not connected to {endpoint!r}")
        if conn.transport == "inproc":
            self.context.inproc.disconnect(self, endpoint[len("inproc://") :], conn)
        elif conn.pipe is not None:
            self.terminate(conn.pipe, drop_inbound=True)
        return conn

    # -- connections (ConnectionHost) ----------------------------------------------------

    def new_connection(self, *, as_server: bool) -> Connection:
        """A sans-IO Connection with the mechanism the options select (see
        :func:`zmtp.core.security.new_connection`)."""
        return new_connection(
            self.type,
            self.options,
            as_server=as_server,
            zap_handler=self.context.zap_handler_bound(),
        )

    def setup_failed(self, endpoint: str, reason: str) -> None:
        """A new OS connection could not be set up (an OS refusing a tcp option,
        security options that became unusable since bind/connect); the engine closed
        it. Only that connection is affected."""
        self.emit(Event.HANDSHAKE_FAILED_NO_DETAIL, endpoint, 0, f"connection not set up: {reason}")

    def handshake_succeeded(self, endpoint: str) -> None:
        self.emit(Event.HANDSHAKE_SUCCEEDED, endpoint)

    def handshake_failed(self, endpoint: str, exc: ProtocolError | None, reason: str) -> None:
        event, value = handshake_failure_event(exc)
        self.emit(event, endpoint, value, reason)

    def connection_ready(
        self, endpoint: str, conn: Connection, peer_address: str, connecter: Connecter | None
    ) -> Pipe | None:
        """A connection finished its handshake: the pipe it serves, or None to refuse
        the peer (say why with :meth:`refusal`).

        A connecter's own pipe serves every connection it makes, so what was queued
        before (and during a reconnect) goes out; while the socket is closing, only
        those are still accepted, so lingering messages can leave.
        """
        if self.closed:
            return None
        serving = connecter.pipe if connecter is not None else None
        if serving is not None:
            assert connecter is not None
            pipe = serving
            if not connecter.attached:
                connecter.attached = self.attach(pipe)
                if not connecter.attached:
                    return None
            if connecter.connections:
                self.pattern.hiccuped(pipe)
            connecter.connections += 1
        else:
            if self.closing:
                return None
            pipe = self.new_pipe(endpoint)
            if connecter is not None:
                pipe.assigned_id = connecter.assigned_id
        pipe.routing_id = conn.peer_routing_id
        pipe.peer_type = conn.peer_socket_type
        pipe.user_id = conn.mechanism.user_id
        props = dict(conn.peer_properties)
        props.update(conn.mechanism.auth_metadata)
        props["User-Id"] = pipe.user_id
        props["Peer-Address"] = peer_address.encode()
        pipe.properties = Metadata(props)
        if serving is None and not self.attach(pipe):
            self.pipes.discard(pipe)
            return None
        self.probe(pipe)
        if pipe.out_q.items:
            self.wake_send()
        return pipe

    def raw_connection_ready(
        self, endpoint: str, peer_address: str, connecter: Connecter | None
    ) -> Pipe | None:
        """A raw (STREAM) connection is up: there is no handshake, so its pipe is made
        at once; None to refuse it."""
        if self.closing:
            return None
        pipe = self.new_pipe(endpoint)
        if connecter is not None:
            pipe.assigned_id = connecter.assigned_id
        pipe.properties = Metadata({"Peer-Address": peer_address.encode()})
        if not self.attach(pipe):
            self.pipes.discard(pipe)
            return None
        self.emit(Event.HANDSHAKE_SUCCEEDED, endpoint)
        return pipe

    def refusal(self) -> str:
        """Why the last peer was refused by :meth:`connection_ready`."""
        return "socket closing" if self.closing else self.pattern.refusal

    def connection_event(self, pipe: Pipe, ev: Any) -> None:
        """Non-message events of a live connection (none of the patterns need one yet)."""
        self.pattern.connection_event(pipe, ev)

    def connection_done(
        self,
        endpoint: str,
        pipe: Pipe | None,
        connecter: Connecter | None,
        *,
        reason: str,
        handshake_done: bool,
    ) -> None:
        """A connection ended. Its pipe ends with it, unless it is a connecter's own
        pipe, which waits for the next connection."""
        if handshake_done and not self.closed:
            # Connections that end because the socket closes are not reported as
            # disconnections (libzmq reports only CLOSED for its listeners).
            self.emit(Event.DISCONNECTED, endpoint, 0, reason)
        if pipe is not None and (connecter is None or connecter.pipe is not pipe):
            self.terminate(pipe)
        self.runtime.wake_drain()

    def writer_idle(self) -> None:
        if self.closing:
            self.runtime.wake_drain()

    # -- pipes ---------------------------------------------------------------------------

    def new_pipe(self, endpoint: str) -> Pipe:
        opts = self.options
        pipe = Pipe(
            MsgQueue(opts.get("rcvhwm"), conflate=opts.get("conflate")),
            MsgQueue(opts.get("sndhwm")),
            endpoint,
        )
        self.hook(pipe)
        self.pipes.add(pipe)
        return pipe

    def hook(self, pipe: Pipe) -> None:
        """Route the pipe's socket-side wake-ups to this socket."""
        pipe.in_q.wake_consumer = _Readable(self, pipe)
        pipe.out_q.wake_producer = _Writable(self, pipe)

    def attach(self, pipe: Pipe) -> bool:
        if not self.pattern.attach(pipe):
            return False
        pipe.attached = True
        self.wake_send()
        if pipe.readable():
            self.pipe_readable(pipe)
        return True

    def terminate(
        self, pipe: Pipe, *, drop_outbound: bool = True, drop_inbound: bool = False
    ) -> None:
        """The peer behind ``pipe`` is gone for good: drop what we queued for it (unless
        an inproc peer can still read it); what it sent stays readable, unless we are
        the ones leaving (``disconnect``), as in libzmq."""
        self.pipes.discard(pipe)
        if pipe.state == "terminated":
            return
        pipe.state = "terminated"
        if drop_outbound:
            pipe.out_q.clear()
        if drop_inbound:
            pipe.in_q.clear()
        if pipe.attached:
            self.pattern.terminated(pipe)
            # The pattern may have something new to receive (XPUB's unsubscriptions).
            self.wake_recv()

    def pipe_readable(self, pipe: Pipe) -> None:
        self.pattern.read_activated(pipe)
        self.wake_recv()

    def pipe_writable(self, pipe: Pipe) -> None:
        if pipe.state == "active":
            self.pattern.write_activated(pipe)
            self.wake_send()

    def probe(self, pipe: Pipe) -> None:
        """``probe_router``: greet every new peer with an empty message (libzmq)."""
        if self.options.get("probe_router") and self.type in _PROBERS:
            pipe.out_q.items.appendleft([b""])
            pipe.out_q.wake_consumer()

    def _evict(self, pipe: Pipe) -> None:
        """Close the connection behind ``pipe`` (a ROUTER id handed over)."""
        if self.context.inproc.evict(self, pipe):
            return
        self.runtime.close_connection(pipe)
        self.terminate(pipe)

    # -- messages --------------------------------------------------------------------------

    def prepare(self, msg_parts: Sequence[Any]) -> list[bytes]:
        """The frames of a message to send, after any held with SNDMORE; refuses what is
        not a sequence of bytes-like frames."""
        self.check_open()
        if isinstance(msg_parts, (bytes, bytearray, memoryview, str)) or not isinstance(
            msg_parts, Sequence
        ):
            raise FrameTypeError(
                "send_multipart takes a sequence of frames (a list of bytes), "
                f"got {type(msg_parts).__name__}"
            )
        frames = [as_frame(p) for p in msg_parts]
        if not frames:
            raise ZMTPValueError("a message needs at least one frame (RFC 23 Framing)")
        if self.send_partial:
            frames = self.send_partial + frames
        return frames

    def hold(self, data: Any) -> None:
        """Keep a frame sent with SNDMORE until the message's last frame."""
        self.check_open()
        self.send_partial.append(as_frame(data))

    def try_send(self, frames: list[bytes]) -> bool:
        """Route a whole message now; False if no peer can take it (nothing sent)."""
        if self.psend(frames):
            self.send_partial = []
            return True
        return False

    def try_recv(self) -> list[bytes] | None:
        """The next whole message now (the rest of a partly read one first), or None."""
        if self.recv_partial:
            rest, self.recv_partial = self.recv_partial, []
            return rest
        self.check_open()
        return self.precv()

    def try_recv_frame(self) -> bytes | None:
        """The next frame now (pyzmq's ``recv``), keeping the message's other frames
        for the next calls; None if nothing is there."""
        if self.recv_partial:
            return self.recv_partial.pop(0)
        self.check_open()
        msg = self.precv()
        if msg is None:
            return None
        if len(msg) > 1:
            self.recv_partial = msg
            return msg.pop(0)  # type: ignore[no-any-return]
        return msg[0]  # type: ignore[no-any-return]

    def split_first(self, msg: list[bytes]) -> bytes:
        """The first frame of a whole message received, keeping the others for later."""
        if len(msg) > 1:
            self.recv_partial = msg
            return msg.pop(0)
        return msg[0]

    @property
    def rcvmore(self) -> bool:
        return bool(self.recv_partial)

    def last_properties(self) -> Metadata | None:
        """The properties of the connection the last message came from."""
        pipe = self.pattern.last_pipe
        return pipe.properties if pipe is not None else None

    def frames(self, msg: list[bytes]) -> list[Frame]:
        """A received message as :class:`~zmtp.Frame` objects (``copy=False``)."""
        props = self.last_properties()
        last = len(msg) - 1
        return [Frame(f, more=i < last, properties=props) for i, f in enumerate(msg)]

    def frame(self, data: bytes) -> Frame:
        return Frame(data, more=self.rcvmore, properties=self.last_properties())

    def poll_events(self) -> int:
        """``POLLIN`` if a message (or the rest of one) can be received now, ``POLLOUT``
        if one can be sent now (pyzmq's ``EVENTS``). Takes nothing out of the socket."""
        if self.closed:
            return 0
        events = 0
        if self.recv_partial or self.pattern.can_recv():
            events |= POLLIN
        if self.pattern.can_send():
            events |= POLLOUT
        return events

    # -- closing -------------------------------------------------------------------------

    def begin_close(self) -> None:
        """The socket starts closing: no more sends or receives; connecters keep
        trying so what is queued can still leave (the engine waits up to ``linger``)."""
        self.closing = True
        self.wake_send()
        self.wake_recv()

    def unsent(self) -> int:
        """Messages still queued for tcp/ipc peers: what lingering waits for. Not
        counted: inproc (already in the peer's queue) and peers bound by a socket of
        this same context while it terminates (they are closing too)."""
        local = self.context.closing_endpoints
        return sum(
            len(p.out_q)
            for p in self.pipes
            if p.state == "active"
            and not p.endpoint.startswith("inproc://")
            and p.endpoint not in local
        )

    def finish_close(self, linger: int | None = None) -> list[Binding]:
        """Lingering is over: count and drop what is still queued, leave the inproc
        namespace (an unbound inproc link keeps its messages for a later binder for
        ``linger`` ms; default: the option), forget bindings. Returns the bindings,
        whose listeners the engine stops."""
        self.closing = True
        self.closed = True
        self.context.inproc.close(self, self.linger if linger is None else linger)
        for pipe in list(self.pipes):
            if pipe.state == "active" and pipe.endpoint.startswith("inproc://"):
                continue  # an inproc peer (or a later binder) reads these
            self.dropped += len(pipe.out_q)
            pipe.out_q.clear()
        bindings = list({id(b): b for b in self.bindings.values()}.values())
        for binding in bindings:
            self._release(binding)
        self.bindings.clear()
        self.wake_send()
        self.wake_recv()
        return bindings

    def stop_monitors(self) -> None:
        for monitor in self.monitors:
            monitor.stop()
        self.monitors.clear()
        self.context.unregister(self)


class _Readable:
    """A pipe's "input arrived" hook. It holds its pipe weakly: a pipe owns its hooks,
    so a strong reference back would tie every pipe in a reference cycle with itself,
    and a closed connection's buffers would wait for the cycle collector."""

    __slots__ = ("core", "pipe")

    def __init__(self, core: SocketCore, pipe: Pipe) -> None:
        self.core = core
        self.pipe = weakref.ref(pipe)

    def __call__(self) -> None:
        pipe = self.pipe()
        if pipe is not None:
            self.core.pipe_readable(pipe)


class _Writable(_Readable):
    __slots__ = ()

    def __call__(self) -> None:
        pipe = self.pipe()
        if pipe is not None:
            self.core.pipe_writable(pipe)
