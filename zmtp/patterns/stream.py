"""STREAM (libzmq's ``ZMQ_STREAM``): raw TCP peers, addressed like ROUTER's.

A STREAM socket speaks no ZMTP: its peers are plain TCP programs (an HTTP client, a
line-based server). The pattern is ROUTER's, with bytes instead of messages:

* whatever arrives from a peer in one read is one message ``[routing id, data]``;
  routing ids are generated as ROUTER's (5 octets, a zero octet first) unless
  ``connect_routing_id`` names the peer of a connect;
* with ``stream_notify`` (the default), a peer's arrival and its departure are each an
  empty message ``[routing id, b""]`` (after the data it sent);
* sending ``[routing id, data]`` writes ``data`` to that peer, as it is; further frames
  are written after it. Sending ``[routing id, b""]`` closes that peer's connection
  once what was queued before has been written. An unknown id raises
  :class:`~zmtp.errors.HostUnreachable`; a full peer makes ``send`` wait
  (``send_nowait`` raises ``Again``).

Input is fair-queued between peers, and each peer's reads stop at ``rcvhwm`` queued
messages, so a peer that floods is bounded like any other. Sans-IO: the engine reads
and writes the bytes (see ``raw`` below).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import FrameTypeError, HostUnreachable
from zmtp.patterns.base import Msg, ReceivesFairQueued, detach_fq
from zmtp.routing import Pipe

_counter = struct.Struct(">I")

#: What a STREAM pipe carries to its engine to close the connection.
CLOSE = b""


def _keep(pipe: Pipe) -> None:
    return None


class Stream(ReceivesFairQueued):
    socket_type = SocketType.STREAM
    rfc = "libzmq's ZMQ_STREAM (raw TCP)"
    #: A peer is known only once its connection is up.
    attach_before_connect = False
    #: The engine speaks raw bytes, no ZMTP.
    raw = True

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.by_id: dict[bytes, Pipe] = {}
        self.ids: dict[Pipe, bytes] = {}
        self._next_id = random.getrandbits(32)
        self.evict: Callable[[Pipe], None] = _keep

    def set_evict(self, evict: Callable[[Pipe], None]) -> None:
        self.evict = evict

    def _notify(self) -> bool:
        return bool(self.options.get("stream_notify")) if self.options is not None else True

    def _generate_id(self) -> bytes:
        while True:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            rid = b"\x00" + _counter.pack(self._next_id)
            if rid not in self.by_id:
                return rid

    def attach(self, pipe: Pipe) -> bool:
        rid = pipe.assigned_id
        if not rid or rid in self.by_id:
            if rid:
                self.refusal = f"refused: routing id {bytes(rid)!r} is already in use"
                return False
            rid = self._generate_id()
        self.by_id[rid] = pipe
        self.ids[pipe] = rid
        if self._notify():
            # The arrival comes before anything the peer sends.
            pipe.in_q.items.appendleft([b""])
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        rid = self.ids.get(pipe)
        if rid is not None and self.by_id.get(rid) is pipe:
            del self.by_id[rid]
        if self._notify() and rid is not None:
            # The departure comes after everything the peer sent.
            pipe.in_q.items.append([b""])
            self.fq.activated(pipe)
        if not pipe.readable():
            self.ids.pop(pipe, None)
        detach_fq(self.fq, pipe)

    def send(self, msg: Msg) -> bool:
        if len(msg) < 2:
            raise FrameTypeError(
                "a STREAM message is [routing id, data] (send the id with SNDMORE first)"
            )
        rid = msg[0]
        pipe = self.by_id.get(rid)
        if pipe is None or pipe.state != "active":
            raise HostUnreachable(f"STREAM has no peer with routing id {bytes(rid)!r}")
        if not pipe.writable():
            pipe.out_q.producer_blocked = True
            return False
        data = msg[1:]
        if data == [CLOSE]:
            pipe.write([CLOSE])  # the engine closes after writing what came before
        else:
            pipe.write([b"".join(data)] if len(data) > 1 else data)
        return True

    def recv(self) -> Msg | None:
        got = self.fq.recv()
        if got is None:
            return None
        msg, pipe = got
        rid = self.ids.get(pipe, b"")
        if pipe.state == "terminated" and not pipe.readable():
            self.ids.pop(pipe, None)
        return [rid, *msg]

    def fast_recv(self) -> Callable[[], Msg | None]:
        return self.recv

    def can_send(self) -> bool:
        return True

    def write_activated(self, pipe: Pipe) -> None:
        pass
