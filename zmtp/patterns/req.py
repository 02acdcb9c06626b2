"""REQ (RFC 28/REQREP): a client that sends a request, then receives its reply.

RFC 28 in short, with libzmq's options:

* a request goes out with an empty delimiter frame in front (and, with
  ``req_correlate``, a 4-octet request id before that), load-balanced over peers;
* REQ then SHALL accept a reply only from the peer it sent the request to, and SHALL
  discard replies whose envelope is malformed (no empty delimiter, wrong id);
* send and receive strictly alternate: a second send before the reply, or a receive
  before any request, breaks the rule and raises :class:`~zmtp.errors.InvalidState`.
  With ``req_relaxed`` a new request may be sent at any time: the pending one is
  abandoned and its reply, should it come, is discarded (reliably so together with
  ``req_correlate``).

Like libzmq, starting a request discards every message already queued, so a stale
reply from another peer can never be taken for the answer to the new request.

If the peer that owes the reply disappears, the reply never comes: REQ waits. The
cure ("lazy pirate") is a receive timeout, then a new socket or a relaxed resend;
see the README's request-reply section.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import InvalidState
from zmtp.patterns.base import Msg, ReceivesFairQueued, SendsLoadBalanced, detach_fq
from zmtp.routing import Pipe

_request_id = struct.Struct("=I")  # libzmq copies its uint32 in host order


class Req(SendsLoadBalanced, ReceivesFairQueued):
    socket_type = SocketType.REQ
    rfc = "RFC 28/REQREP"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.receiving_reply = False
        self.reply_pipe: Pipe | None = None
        self.request_id = random.getrandbits(32)

    def _opt(self, name: str) -> bool:
        return bool(self.options.get(name)) if self.options is not None else False

    def attach(self, pipe: Pipe) -> bool:
        self.lb.attach(pipe)
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.lb.detach(pipe)
        detach_fq(self.fq, pipe)
        if pipe is self.reply_pipe and not pipe.readable():
            # The reply can no longer come; REQ keeps waiting, as libzmq's does. (A
            # reply already queued in the pipe is still received.)
            self.reply_pipe = None

    def send(self, msg: Msg) -> bool:
        if self.receiving_reply and not self._opt("req_relaxed"):
            raise InvalidState(
                "REQ cannot send another request before receiving the reply "
                "(RFC 28: send and receive alternate; set req_relaxed to abandon it)"
            )
        envelope: list[bytes] = [b""]
        request_id = (self.request_id + 1) & 0xFFFFFFFF
        if self._opt("req_correlate"):
            envelope.insert(0, _request_id.pack(request_id))
        pipe = self.lb.send(envelope + msg)
        if pipe is None:
            return False
        self.request_id = request_id
        # Drop what is queued: replies to earlier requests must not answer this one.
        while self.fq.recv() is not None:
            pass
        self.receiving_reply = True
        self.reply_pipe = pipe
        return True

    def recv(self) -> Msg | None:
        if not self.receiving_reply:
            raise InvalidState(
                "REQ cannot receive before sending a request (RFC 28: send and receive alternate)"
            )
        correlate = self._opt("req_correlate")
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            msg, pipe = got
            if pipe is not self.reply_pipe:
                continue  # RFC 28: only the peer we asked may answer
            if correlate:
                if len(msg) < 3 or msg[0] != _request_id.pack(self.request_id) or msg[1]:
                    continue  # malformed envelope or a reply to an abandoned request
                body = msg[2:]
            else:
                if len(msg) < 2 or msg[0]:
                    continue  # no empty delimiter: malformed, discarded
                body = msg[1:]
            self.receiving_reply = False
            self.reply_pipe = None
            return body

    def can_send(self) -> bool:
        return (not self.receiving_reply or self._opt("req_relaxed")) and self.lb.can_send()

    def can_recv(self) -> bool:
        return self.receiving_reply and self.fq.has_input()
