"""The pattern interface: what a socket type decides, with no I/O (libzmq's ``xsend``,
``xrecv``, ``xattach_pipe`` ... in one small class per type).

The socket calls a pattern with these verbs and never routes by itself::

    attach(pipe)            a peer completed its handshake (or a connecter's pipe
                            was created ahead of the connection); return False to
                            refuse it (PAIR takes one peer)
    terminated(pipe)        the peer is gone
    read_activated(pipe)    the pipe got input after being empty
    write_activated(pipe)   the pipe got room after being full
    send(msg) -> bool       route one message; False means "would block" (nothing
                            was sent); raising InvalidState means the socket type
                            forbids it
    recv() -> msg | None    the next message for the application, or None
    can_send()/can_recv()   readiness, for polling

Pipes carry messages as lists of frames.
"""

from __future__ import annotations

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

    @property
    def last_pipe(self) -> Pipe | None:
        """The pipe the last received message came from, when the type knows it."""
        fq = getattr(self, "fq", None)
        return fq.last if fq is not None else None


class SendsLoadBalanced(Pattern):
    """Mixin: outgoing messages round-robin over peers with room."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.lb = LoadBalancer()
        # Hot path: the socket calls the balancer directly (a pipe is truthy).
        self.send = self.lb.send  # type: ignore[method-assign, assignment]

    def send(self, msg: Msg) -> bool:
        return self.lb.send(msg) is not None

    def can_send(self) -> bool:
        return self.lb.can_send()

    def write_activated(self, pipe: Pipe) -> None:
        self.lb.activated(pipe)


class ReceivesFairQueued(Pattern):
    """Mixin: incoming messages fair-queued from peers with input."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        # Hot path: the socket calls the fair queue directly.
        self.recv = self.fq.recv_msg  # type: ignore[method-assign]

    def recv(self) -> Msg | None:
        return self.fq.recv_msg()

    def can_recv(self) -> bool:
        return self.fq.has_input()

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)


def detach_fq(fq: FairQueue, pipe: Pipe) -> None:
    """A terminated pipe leaves the fair queue now if empty, else once drained."""
    if not pipe.readable():
        fq.detach(pipe)
