"""PAIR (RFC 31/EXPAIR): exactly one peer at a time.

RFC 31: a PAIR socket is connected to at most one peer; a second peer is refused
while the first is connected (libzmq closes the newcomer's connection).
"""

from __future__ import annotations

from typing import Any

from zmtp.constants import SocketType
from zmtp.patterns.base import Msg, Pattern
from zmtp.routing import Pipe


class Pair(Pattern):
    socket_type = SocketType.PAIR
    rfc = "RFC 31/EXPAIR"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.pipe: Pipe | None = None

    def attach(self, pipe: Pipe) -> bool:
        old = self.pipe
        if old is not None:
            if old.state == "active":
                self.refusal = "refused: PAIR already has a peer (RFC 31: one peer at a time)"
                return False
            # The previous peer is gone but left unread messages: they come first.
            pipe.in_q.items.extendleft(reversed(old.in_q.items))
            old.in_q.items.clear()
        self.pipe = pipe
        return True

    def terminated(self, pipe: Pipe) -> None:
        # A terminated peer's unread messages stay readable until drained.
        if pipe is self.pipe and not pipe.readable():
            self.pipe = None

    def send(self, msg: Msg) -> bool:
        pipe = self.pipe
        if pipe is None or not pipe.writable():
            if pipe is not None:
                pipe.out_q.producer_blocked = True
            return False
        pipe.write(msg)
        return True

    def recv(self) -> Msg | None:
        pipe = self.pipe
        if pipe is None or not pipe.in_q.items:
            return None
        msg = pipe.read()
        if pipe.state == "terminated" and not pipe.in_q.items:
            self.pipe = None
        return msg

    @property
    def last_pipe(self) -> Pipe | None:
        return self.pipe

    def can_send(self) -> bool:
        return self.pipe is not None and self.pipe.writable()

    def can_recv(self) -> bool:
        return self.pipe is not None and self.pipe.readable()
