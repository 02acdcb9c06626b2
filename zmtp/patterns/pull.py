"""PULL (RFC 30/PIPELINE): receives only, fair-queued from connected PUSH peers."""

from __future__ import annotations

from zmtp.constants import SocketType
from zmtp.patterns.base import ReceivesFairQueued, detach_fq
from zmtp.routing import Pipe


class Pull(ReceivesFairQueued):
    socket_type = SocketType.PULL
    rfc = "RFC 30/PIPELINE"

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        detach_fq(self.fq, pipe)
