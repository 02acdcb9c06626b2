"""The context: a set of sockets that share an inproc namespace, and optionally a
nursery that runs them.

``async with zmtp.Context() as ctx`` gives sockets made by ``ctx.socket(...)`` a home:
each runs under a task of the context's nursery, so it can be used without its own
``async with``. Leaving the block closes every socket still open (each with its own
``linger``), like pyzmq's ``ctx.term()``.

inproc (``inproc://name``) links two sockets of one context with a pair of pipes
that share their queues: a send puts the message object into the peer's receive queue,
with no encoding. ``connect`` may come before ``bind``: the connecter's pipe exists at
once and the binder picks it up when it binds.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import trio

from zmtp.constants import SocketType, compatible
from zmtp.errors import ZMTPError, ZMTPValueError
from zmtp.monitor import Event
from zmtp.routing import Pipe

if TYPE_CHECKING:
    from zmtp.socket import Socket, _Connecter

__all__ = ["Context"]


def _sum_hwm(a: int, b: int) -> int:
    """libzmq's inproc HWM: the sender's sndhwm plus the receiver's rcvhwm (0: none)."""
    return 0 if a == 0 or b == 0 else a + b


class _InprocLink:
    """One inproc connection: the connecter's pipe and, once bound, the binder's."""

    def __init__(self, connecter: Socket, conn: _Connecter, here: Pipe, there: Pipe) -> None:
        self.connecter = connecter
        self.conn = conn
        self.here = here  # the connecter's end
        self.there = there  # the binder's end
        self.binder: Socket | None = None


class Context:
    """A set of sockets sharing an inproc namespace (and, when entered, a nursery)."""

    _instance: Context | None = None

    def __init__(self) -> None:
        self._sockets: set[Socket] = set()
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        self._bound: dict[str, Socket] = {}
        self._links: dict[str, list[_InprocLink]] = {}
        self.closed = False

    @classmethod
    def instance(cls) -> Context:
        """The process-wide default context (never entered: its sockets need their own
        ``async with``)."""
        if cls._instance is None or cls._instance.closed:
            cls._instance = cls()
        return cls._instance

    def socket(self, socket_type: SocketType | int | str, **options: Any) -> Socket:
        """A new socket of this context. Inside ``async with ctx`` it runs at once;
        otherwise use it as ``async with ctx.socket(...) as sock``."""
        from zmtp.socket import Socket

        if self.closed:
            raise ZMTPError("the context is closed")
        sock = Socket(socket_type, context=self, **options)
        if self._nursery is not None:
            sock._hosted = True
            self._nursery.start_soon(sock._host)
        return sock

    async def __aenter__(self) -> Context:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        from zmtp.socket import _exit_nursery

        cm, self._nursery_cm = self._nursery_cm, None
        try:
            await self.term()
        except BaseException as failure:
            # Still leave the nursery (its tasks are cancelled), with this failure.
            self._nursery = None
            await _exit_nursery(cm, (type(failure), failure, failure.__traceback__))
            raise
        self._nursery = None
        return await _exit_nursery(cm, exc)

    async def term(self) -> None:
        """Close every socket of the context (honouring each one's ``linger``).

        The sockets close together: a socket lingering over messages for a peer in
        this same context stops waiting when that peer closes.
        """
        async with trio.open_nursery() as nursery:
            for sock in list(self._sockets):
                nursery.start_soon(sock.close)
        self.closed = True

    def _register(self, sock: Socket) -> None:
        self._sockets.add(sock)

    def _unregister(self, sock: Socket) -> None:
        self._sockets.discard(sock)

    # -- inproc ------------------------------------------------------------------------

    def _zap_handler_bound(self) -> bool:
        """True if some socket serves ZAP (RFC 27) at ``inproc://zeromq.zap.01``."""
        return "zeromq.zap.01" in self._bound

    def _inproc_bind(self, sock: Socket, name: str) -> None:
        if name in self._bound:
            raise ZMTPError(f"inproc://{name} is already bound in this context")
        self._bound[name] = sock
        for link in list(self._links.get(name, ())):
            self._complete(link, sock, name, raise_errors=False)

    def _inproc_unbind(self, sock: Socket, name: str) -> None:
        if self._bound.get(name) is sock:
            del self._bound[name]

    def _inproc_connect(self, sock: Socket, name: str, conn: _Connecter) -> None:
        binder = self._bound.get(name)
        if binder is not None and not compatible(sock.type, binder.type):
            raise ZMTPValueError(
                f"inproc://{name}: socket type {sock.type.name} cannot talk to "
                f"{binder.type.name} (RFC 23 socket-type table)"
            )
        opts = sock.options
        # Until a binder exists, its receive HWM is taken as ours.
        here, there = Pipe.pair(
            _sum_hwm(opts.get("sndhwm"), opts.get("rcvhwm")),
            _sum_hwm(opts.get("rcvhwm"), opts.get("sndhwm")),
            f"inproc://{name}",
        )
        sock._hook(here)
        here.assigned_id = conn.assigned_id
        conn.pipe = here
        link = _InprocLink(sock, conn, here, there)
        self._links.setdefault(name, []).append(link)
        if binder is not None:
            self._complete(link, binder, name, raise_errors=True)
        elif (sock._pattern.attach_before_connect or conn.assigned_id) and not (
            sock.options.get("immediate")
        ):
            conn.attached = sock._attach(here)

    def _complete(
        self, link: _InprocLink, binder: Socket, name: str, *, raise_errors: bool
    ) -> None:
        connecter = link.connecter
        if not compatible(connecter.type, binder.type):
            self._links[name].remove(link)
            connecter._emit(
                Event.HANDSHAKE_FAILED_PROTOCOL,
                f"inproc://{name}",
                0,
                f"socket type {connecter.type.name} cannot talk to {binder.type.name}",
            )
            if raise_errors:
                raise ZMTPValueError(f"inproc://{name}: incompatible socket types")
            return
        link.binder = binder
        here, there = link.here, link.there
        # The real HWMs now that both ends are known.
        here.out_q.hwm = _sum_hwm(connecter.options.get("sndhwm"), binder.options.get("rcvhwm"))
        there.out_q.hwm = _sum_hwm(binder.options.get("sndhwm"), connecter.options.get("rcvhwm"))
        binder._hook(there)
        here.in_q.conflate = connecter.options.get("conflate")
        there.in_q.conflate = binder.options.get("conflate")
        here.routing_id = binder.options.get("routing_id")
        here.peer_type = binder.type
        here.assigned_id = link.conn.assigned_id
        there.routing_id = connecter.options.get("routing_id")
        there.peer_type = connecter.type
        if not link.conn.attached:
            link.conn.attached = connecter._attach(here)
        if not binder._attach(there):
            self._drop(link, name, leaving=binder)
            return
        for sock, pipe in ((connecter, here), (binder, there)):
            sock._probe(pipe)
            sock._emit(Event.HANDSHAKE_SUCCEEDED, f"inproc://{name}")
            if pipe.readable():
                sock._pipe_readable(pipe)

    def _drop(self, link: _InprocLink, name: str, leaving: Socket) -> None:
        """End a link because ``leaving`` closes, disconnects or refuses it. The other
        side keeps reading what ``leaving`` sent; what it sent to ``leaving`` is dropped."""
        with contextlib.suppress(ValueError):
            self._links[name].remove(link)
        for sock, pipe in ((link.connecter, link.here), (link.binder, link.there)):
            if sock is None:
                continue
            if sock is leaving:
                sock._terminate(pipe, drop_outbound=False, drop_inbound=True)
            else:
                sock._terminate(pipe)

    def _inproc_evict(self, sock: Socket, pipe: Pipe) -> bool:
        """``sock`` drops the inproc peer behind ``pipe`` (a ROUTER id handover): end
        the link so the peer, too, knows it has no one on the other side."""
        for name, links in list(self._links.items()):
            for link in list(links):
                if (link.connecter is sock and link.here is pipe) or (
                    link.binder is sock and link.there is pipe
                ):
                    self._drop(link, name, leaving=sock)
                    return True
        return False

    def _inproc_disconnect(self, sock: Socket, name: str, conn: _Connecter) -> None:
        for link in list(self._links.get(name, ())):
            if link.conn is conn:
                self._drop(link, name, leaving=sock)

    def _inproc_close(self, sock: Socket) -> None:
        """``sock`` closes: its inproc peers see their pipes terminate (they can still
        read what it sent)."""
        for name, links in list(self._links.items()):
            for link in list(links):
                if link.connecter is sock or link.binder is sock:
                    self._drop(link, name, leaving=sock)
        for name in [n for n, s in self._bound.items() if s is sock]:
            del self._bound[name]
