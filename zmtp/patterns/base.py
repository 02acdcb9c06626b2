"""The pattern interface: what a socket type decides, with no I/O (libzmq's ``xsend``,
``xrecv``, ``xattach_pipe`` ... in one small class per type).

The socket core calls a pattern with these verbs, declared here with their defaults,
and never routes by itself::

    attach(pipe)            a peer completed its handshake (or a connecter's pipe
                            was created ahead of the connection); return False to
                            refuse it (PAIR takes one peer)
    terminated(pipe)        the peer is gone
    hiccuped(pipe)          a connecter's pipe got a new connection (resubscribe)
    read_activated(pipe)    the pipe got input after being empty
    write_activated(pipe)   the pipe got room after being full
    send(msg) -> bool       route one message; False means "would block" (nothing
                            was sent); raising InvalidState means the socket type
                            forbids it
    recv() -> msg | None    the next message for the application, or None
    can_send()/can_recv()   readiness, for polling
    subscribe(topic)        SUB/XSUB (and XPUB in manual mode); others refuse
    unsubscribe(topic)
    last_pipe               where the last received message came from
    set_evict(fn)           how to close a peer's connection (ROUTER handover)
    fast_send()/fast_recv() the two hot verbs as plain callables, for the socket's
                            fast paths (a routing policy's own method where the
                            type adds nothing to it)

Pipes carry messages as lists of frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from zmtp.constants import SocketType
from zmtp.errors import InvalidState
from zmtp.routing import FairQueue, LoadBalancer, Pipe

__all__ = ["Pattern"]

Msg = list[Any]


class Pattern:
    """Base class: every verb refuses until a subclass says otherwise."""

    socket_type: ClassVar[SocketType]
    #: The RFC that defines the type, for error messages.
    rfc: ClassVar[str] = ""
    #: Whether a connecter's pipe is attached before its connection is up (so that
    #: sends queue for a peer not yet reached), as libzmq does unless ``immediate``.
    attach_before_connect: ClassVar[bool] = True
    #: True for a type whose peers speak raw bytes rather than ZMTP (STREAM).
    raw: ClassVar[bool] = False

    def __init__(self, options: Any = None) -> None:
        self.options = options

    #: Why :meth:`attach` refused the last pipe it refused (for the monitor).
    refusal = "refused by the socket type"

    def attach(self, pipe: Pipe) -> bool:
        return True

    def terminated(self, pipe: Pipe) -> None:
        pass

    def read_activated(self, pipe: Pipe) -> None:
        pass

    def write_activated(self, pipe: Pipe) -> None:
        pass

    def send(self, msg: Msg) -> bool:
        raise InvalidState(f"{self.socket_type.name} sockets cannot send ({self.rfc})")

    def recv(self) -> Msg | None:
        raise InvalidState(f"{self.socket_type.name} sockets cannot receive ({self.rfc})")

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return False

    def hiccuped(self, pipe: Pipe) -> None:
        pass

    def connection_event(self, pipe: Pipe, event: Any) -> None:
        pass

    def subscribe(self, topic: bytes) -> None:
        raise InvalidState(f"{self.socket_type.name} sockets have no subscriptions (RFC 29)")

    def unsubscribe(self, topic: bytes) -> None:
        raise InvalidState(f"{self.socket_type.name} sockets have no subscriptions (RFC 29)")

    def set_evict(self, evict: Callable[[Pipe], None]) -> None:
        """Only ROUTER closes peers' connections (a handed-over routing id)."""

    @property
    def last_pipe(self) -> Pipe | None:
        """The pipe the last received message came from, when the type knows it."""
        return None

    def fast_send(self) -> Callable[[Msg], object]:
        """``send`` as a callable whose result is truthy when the message was sent."""
        return self.send

    def fast_recv(self) -> Callable[[], Msg | None]:
        return self.recv


class SendsLoadBalanced(Pattern):
    """Mixin: outgoing messages round-robin over peers with room."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.lb = LoadBalancer()

    def send(self, msg: Msg) -> bool:
        return self.lb.send(msg) is not None

    def fast_send(self) -> Callable[[Msg], object]:
        # The balancer itself: it returns the pipe used (truthy) or None.
        return self.lb.send if type(self).send is SendsLoadBalanced.send else self.send

    def can_send(self) -> bool:
        return self.lb.can_send()

    def write_activated(self, pipe: Pipe) -> None:
        self.lb.activated(pipe)


class ReceivesFairQueued(Pattern):
    """Mixin: incoming messages fair-queued from peers with input."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.fq = FairQueue()

    def recv(self) -> Msg | None:
        return self.fq.recv_msg()

    def fast_recv(self) -> Callable[[], Msg | None]:
        # The fair queue itself, unless the type checks what it receives.
        return self.fq.recv_msg if type(self).recv is ReceivesFairQueued.recv else self.recv

    @property
    def last_pipe(self) -> Pipe | None:
        return self.fq.last

    def can_recv(self) -> bool:
        return self.fq.has_input()

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)


def detach_fq(fq: FairQueue, pipe: Pipe) -> None:
    """A terminated pipe leaves the fair queue now if empty, else once drained."""
    if not pipe.readable():
        fq.detach(pipe)
