"""PUSH (RFC 30/PIPELINE): sends only, load-balanced over connected PULL peers.

RFC 30: the PUSH socket SHALL route outgoing messages to peers round-robin, SHALL
block (here: ``send`` waits, ``send_nowait`` raises ``Again``) when no peer has room,
and SHALL NOT discard messages that it cannot queue.
"""

from __future__ import annotations

from zmtp.constants import SocketType
from zmtp.patterns.base import SendsLoadBalanced
from zmtp.routing import Pipe


class Push(SendsLoadBalanced):
    socket_type = SocketType.PUSH
    rfc = "RFC 30/PIPELINE"

    def attach(self, pipe: Pipe) -> bool:
        self.lb.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.lb.detach(pipe)
