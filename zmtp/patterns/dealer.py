"""DEALER (RFC 28/REQREP): load-balances what it sends, fair-queues what it receives,
and never touches the envelope."""

from __future__ import annotations

from zmtp.constants import SocketType
from zmtp.patterns.base import ReceivesFairQueued, SendsLoadBalanced, detach_fq
from zmtp.routing import Pipe


class Dealer(SendsLoadBalanced, ReceivesFairQueued):
    socket_type = SocketType.DEALER
    rfc = "RFC 28/REQREP"

    def attach(self, pipe: Pipe) -> bool:
        self.lb.attach(pipe)
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.lb.detach(pipe)
        detach_fq(self.fq, pipe)
