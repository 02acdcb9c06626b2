"""ROUTER (RFC 28/REQREP): addresses peers by routing id.

* every received message gets the sending peer's routing id as an extra first frame;
* a message sent is routed by its first frame (removed on the way out);
* a peer's routing id is the ``Identity`` it announced, or for an anonymous peer one
  generated like libzmq's: 5 octets, a zero octet then a 32-bit counter (RFC 23
  reserves ids starting with a zero octet for implementations). ``connect_routing_id``
  names the peer of the next ``connect()`` instead;
* a peer announcing an id already in use is refused, unless ``router_handover``, in
  which case it takes the id over and the old connection is closed;
* an unroutable message is dropped silently, or with ``router_mandatory`` raises
  :class:`~zmtp.errors.HostUnreachable`; a full peer queue drops the message, or with
  ``router_mandatory`` makes ``send`` wait (``send_nowait`` raises ``Again``).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import HostUnreachable
from zmtp.patterns.base import Msg, ReceivesFairQueued, detach_fq
from zmtp.routing import Pipe

_counter = struct.Struct(">I")


def _keep(pipe: Pipe) -> None:
    return None


class Router(ReceivesFairQueued):
    socket_type = SocketType.ROUTER
    rfc = "RFC 28/REQREP"
    #: A ROUTER can route to a peer only once it knows the peer's id: no pipe before
    #: the connection is up.
    attach_before_connect = False

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.by_id: dict[bytes, Pipe] = {}
        self.ids: dict[Pipe, bytes] = {}
        self._next_id = random.getrandbits(32)
        #: Set by the socket: closes a pipe's connection (handover of its id).
        self.evict: Callable[[Pipe], None] = _keep

    def _opt(self, name: str) -> Any:
        return self.options.get(name) if self.options is not None else False

    def _generate_id(self) -> bytes:
        while True:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            rid = b"\x00" + _counter.pack(self._next_id)
            if rid not in self.by_id:
                return rid

    def attach(self, pipe: Pipe) -> bool:
        rid = pipe.assigned_id or pipe.routing_id
        if not rid:
            rid = self._generate_id()
        elif rid in self.by_id:
            if pipe.assigned_id or not self._opt("router_handover"):
                # Duplicate id: the newcomer is refused (as libzmq).
                self.refusal = f"refused: routing id {bytes(rid)!r} is already in use (RFC 28)"
                return False
            old = self.by_id.pop(rid)
            self.ids[old] = self._generate_id()
            self.by_id[self.ids[old]] = old
            self.evict(old)
        self.by_id[rid] = pipe
        self.ids[pipe] = rid
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        rid = self.ids.get(pipe)
        if rid is not None and self.by_id.get(rid) is pipe:
            del self.by_id[rid]
        if not pipe.readable():
            self.ids.pop(pipe, None)
        detach_fq(self.fq, pipe)

    def set_evict(self, evict: Callable[[Pipe], None]) -> None:
        self.evict = evict

    def routing_id_of(self, pipe: Pipe) -> bytes | None:
        return self.ids.get(pipe)

    def send(self, msg: Msg) -> bool:
        if len(msg) < 2:
            return True  # only a routing id, nothing to route: dropped as in libzmq
        rid = msg[0]
        pipe = self.by_id.get(rid)
        mandatory = self._opt("router_mandatory")
        if pipe is None or pipe.state != "active":
            if mandatory:
                raise HostUnreachable(
                    f"ROUTER has no peer with routing id {bytes(rid)!r} (router_mandatory)"
                )
            return True  # unroutable: dropped
        if not pipe.writable():
            if mandatory:
                pipe.out_q.producer_blocked = True
                return False
            return True  # peer queue full: dropped
        pipe.write(msg[1:])
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

    def can_send(self) -> bool:
        return True

    def write_activated(self, pipe: Pipe) -> None:
        pass
