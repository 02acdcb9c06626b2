"""inproc:// as pipe wiring, engine-neutral.

Two sockets of one context talk over inproc with a pair of :class:`~zmtp.routing.Pipe`
objects that share their queues crosswise: a send puts the message object into the
peer's receive queue, with no encoding and no task in between. There is nothing to
read or write, so no engine is involved: the registry below only links, unlinks and
reports, calling the sockets' cores.

Lifetime of one link::

    connect ──► pending (the connecter's pipe exists; sends queue in it)
                  │  bind of the name                       │ connecter closes
                  ▼                                         ▼
               linked ◄───── bind within the linger ───── orphaned (its messages
                  │                                        wait for a binder, up to
                  │ either side closes, disconnects,       the connecter's linger)
                  ▼ or the binder refuses the peer
               dropped (the side that stays reads what was sent to it)

A connecter that closes before anyone bound its name leaves an *orphaned* link, as
libzmq does: a socket that binds the name later (within the connecter's ``linger``)
still receives what was sent. Messages of an orphan that nobody binds in time, or
that is left when the context closes, are dropped and counted in the connecter's
``dropped``.

Connect may come before bind. The HWM of an inproc link is libzmq's: the sender's
``sndhwm`` plus the receiver's ``rcvhwm`` (0 if either is unlimited).
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from zmtp.constants import compatible
from zmtp.core.events import Event
from zmtp.errors import ZMTPError, ZMTPValueError
from zmtp.routing import Pipe

if TYPE_CHECKING:
    from zmtp.core.socket import Connecter, SocketCore

__all__ = ["InprocRegistry"]


def _sum_hwm(a: int, b: int) -> int:
    """libzmq's inproc HWM: the sender's sndhwm plus the receiver's rcvhwm (0: none)."""
    return 0 if a == 0 or b == 0 else a + b


class _Link:
    """One inproc connection: the connecter's pipe and, once bound, the binder's."""

    __slots__ = ("binder", "conn", "connecter", "deadline", "here", "there")

    def __init__(self, connecter: SocketCore, conn: Connecter, here: Pipe, there: Pipe) -> None:
        self.connecter = connecter
        self.conn = conn
        self.here = here  # the connecter's end
        self.there = there  # the binder's end
        self.binder: SocketCore | None = None
        #: For an orphan: the monotonic time after which its messages are dropped.
        self.deadline: float | None = None


class InprocRegistry:
    """The inproc namespace of one context."""

    def __init__(self) -> None:
        self._bound: dict[str, SocketCore] = {}
        self._links: dict[str, list[_Link]] = {}

    def is_bound(self, name: str) -> bool:
        return name in self._bound

    # -- bind / connect ----------------------------------------------------------------

    def bind(self, sock: SocketCore, name: str) -> None:
        if name in self._bound:
            raise ZMTPError(f"inproc://{name} is already bound in this context")
        self._bound[name] = sock
        now = time.monotonic()
        for link in list(self._links.get(name, ())):
            if link.deadline is not None and now > link.deadline:
                self._drop_orphan(link, name)
                continue
            self._complete(link, sock, name, raise_errors=False)

    def unbind(self, sock: SocketCore, name: str) -> None:
        if self._bound.get(name) is sock:
            del self._bound[name]

    def connect(self, sock: SocketCore, name: str, conn: Connecter) -> None:
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
        sock.hook(here)
        here.assigned_id = conn.assigned_id
        conn.pipe = here
        link = _Link(sock, conn, here, there)
        self._links.setdefault(name, []).append(link)
        if binder is not None:
            self._complete(link, binder, name, raise_errors=True)
        elif (sock.pattern.attach_before_connect or conn.assigned_id) and not (
            sock.options.get("immediate")
        ):
            conn.attached = sock.attach(here)

    def _complete(self, link: _Link, binder: SocketCore, name: str, *, raise_errors: bool) -> None:
        connecter = link.connecter
        if not compatible(connecter.type, binder.type):
            self._links[name].remove(link)
            connecter.emit(
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
        binder.hook(there)
        here.in_q.conflate = connecter.options.get("conflate")
        there.in_q.conflate = binder.options.get("conflate")
        here.routing_id = binder.options.get("routing_id")
        here.peer_type = binder.type
        here.assigned_id = link.conn.assigned_id
        there.routing_id = connecter.options.get("routing_id")
        there.peer_type = connecter.type
        orphan = link.deadline is not None
        if not orphan and not link.conn.attached:
            link.conn.attached = connecter.attach(here)
        if not binder.attach(there):
            self._drop(link, name, leaving=binder)
            return
        sides = [(binder, there)] if orphan else [(connecter, here), (binder, there)]
        for sock, pipe in sides:
            sock.probe(pipe)
            sock.emit(Event.HANDSHAKE_SUCCEEDED, f"inproc://{name}")
            if pipe.readable():
                sock.pipe_readable(pipe)
        if orphan:
            # The connecter is gone: the binder reads what it sent, then sees it leave.
            self._links[name].remove(link)
            binder.terminate(there)

    # -- ending links ------------------------------------------------------------------

    def _drop(self, link: _Link, name: str, leaving: SocketCore) -> None:
        """End a link because ``leaving`` closes, disconnects or refuses it. The other
        side keeps reading what ``leaving`` sent; what it sent to ``leaving`` is dropped."""
        with contextlib.suppress(ValueError):
            self._links[name].remove(link)
        for sock, pipe in ((link.connecter, link.here), (link.binder, link.there)):
            if sock is None:
                continue
            if sock is leaving:
                sock.terminate(pipe, drop_outbound=False, drop_inbound=True)
            else:
                sock.terminate(pipe)

    def _drop_orphan(self, link: _Link, name: str) -> None:
        with contextlib.suppress(ValueError):
            self._links[name].remove(link)
        link.connecter.dropped += link.here.out_q.clear()

    def evict(self, sock: SocketCore, pipe: Pipe) -> bool:
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

    def disconnect(self, sock: SocketCore, name: str, conn: Connecter) -> None:
        for link in list(self._links.get(name, ())):
            if link.conn is conn:
                self._drop(link, name, leaving=sock)

    def close(self, sock: SocketCore, linger: int) -> None:
        """``sock`` closes: its inproc peers see their pipes terminate (they can still
        read what it sent). A link still waiting for a binder becomes an orphan that a
        later bind within ``linger`` ms receives (-1: any time before the context
        closes; 0: dropped now, counted)."""
        for name, links in list(self._links.items()):
            for link in list(links):
                if link.connecter is sock and link.binder is None:
                    if linger == 0 or not link.here.out_q.items:
                        self._drop_orphan(link, name)
                    else:
                        link.deadline = (
                            float("inf") if linger < 0 else time.monotonic() + linger / 1000
                        )
                        link.conn.attached = False
                elif link.connecter is sock or link.binder is sock:
                    self._drop(link, name, leaving=sock)
        for name in [n for n, s in self._bound.items() if s is sock]:
            del self._bound[name]

    def close_all(self) -> None:
        """The context closes: orphans nobody bound are dropped (and counted)."""
        for name, links in list(self._links.items()):
            for link in list(links):
                if link.deadline is not None:
                    self._drop_orphan(link, name)

    def pending(self) -> int:
        """Messages waiting in orphaned links (for a binder that may still come)."""
        return sum(
            len(link.here.out_q)
            for links in self._links.values()
            for link in links
            if link.deadline is not None
        )
