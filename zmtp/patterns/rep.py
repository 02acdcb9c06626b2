"""REP (RFC 28/REQREP): a service that receives a request, then sends its reply.

* requests are fair-queued from all peers;
* REP SHALL remove the envelope (every frame up to and including the first empty
  delimiter) and SHALL put it back, unchanged, on the reply, which goes to the peer
  the request came from (so it crosses any number of ROUTER/DEALER hops back);
* a request without an empty delimiter before its body is malformed and discarded;
* receive and send strictly alternate; breaking that raises
  :class:`~zmtp.errors.InvalidState`;
* a reply whose peer has gone (or whose queue is full) is dropped silently, as in
  libzmq.
"""

from __future__ import annotations

from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import InvalidState
from zmtp.patterns.base import Msg, ReceivesFairQueued, detach_fq
from zmtp.routing import Pipe


class Rep(ReceivesFairQueued):
    socket_type = SocketType.REP
    rfc = "RFC 28/REQREP"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.sending_reply = False
        self._reply_to: tuple[Pipe, list[Any]] | None = None

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        detach_fq(self.fq, pipe)

    def recv(self) -> Msg | None:
        if self.sending_reply:
            raise InvalidState(
                "REP cannot receive another request before sending the reply "
                "(RFC 28: receive and send alternate)"
            )
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            msg, pipe = got
            try:
                i = msg.index(b"")
            except ValueError:
                continue  # no delimiter: malformed, discarded
            if i == len(msg) - 1:
                continue  # the delimiter must be followed by a body
            self.sending_reply = True
            self._reply_to = (pipe, msg[: i + 1])
            return msg[i + 1 :]

    def send(self, msg: Msg) -> bool:
        if not self.sending_reply:
            raise InvalidState(
                "REP cannot send a reply before receiving a request "
                "(RFC 28: receive and send alternate)"
            )
        assert self._reply_to is not None
        pipe, envelope = self._reply_to
        self.sending_reply = False
        self._reply_to = None
        if pipe.writable():
            pipe.write(envelope + msg)
        return True

    def can_send(self) -> bool:
        return self.sending_reply

    def can_recv(self) -> bool:
        return not self.sending_reply and self.fq.has_input()
