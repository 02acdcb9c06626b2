"""SUB and XSUB (RFC 29/PUBSUB): subscribers.

* a subscription is sent to every connected publisher, and to every publisher that
  connects later (again after each reconnection), as a SUBSCRIBE command to a ZMTP
  3.1 peer or a message starting with octet 1 to a 3.0 peer; an unsubscription is
  sent when a topic's last local subscription goes (CANCEL, or octet 0);
* messages are fair-queued from all publishers; SUB filters them again on receipt (a
  ZMTP 3.0 publisher, or a message that was in flight during an unsubscription, may
  not match), XSUB hands over whatever arrives, as libzmq's does;
* SUB: ``subscribe(topic)`` / ``unsubscribe(topic)``; it sends nothing else.
  XSUB: the application sends subscriptions as messages (first octet 1 or 0) and may
  send other messages upstream to an XPUB.

Subscriptions are queued to a publisher regardless of its HWM: losing one would
silently lose a whole topic.
"""

from __future__ import annotations

from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import InvalidState
from zmtp.patterns.base import Msg, Pattern, detach_fq
from zmtp.routing import Distributor, FairQueue, Pipe, SubscriptionMsg, SubscriptionTrie


class XSub(Pattern):
    socket_type = SocketType.XSUB
    rfc = "RFC 29/PUBSUB"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.dist = Distributor()
        self.subs: SubscriptionTrie[None] = SubscriptionTrie()

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        self.dist.attach(pipe)
        self._send_all_subscriptions(pipe)
        return True

    def hiccuped(self, pipe: Pipe) -> None:
        """The connection behind a pipe was re-established: subscribe again."""
        # The subscriptions still queued for the old connection go (one pass: a
        # remove() per message would scan the queue each time, and match by value).
        items = pipe.out_q.items
        kept = [m for m in items if type(m) is not SubscriptionMsg]
        if len(kept) != len(items):
            items.clear()
            items.extend(kept)
        self._send_all_subscriptions(pipe)

    def _send_all_subscriptions(self, pipe: Pipe) -> None:
        for topic in self.subs.prefixes():
            pipe.out_q.put(SubscriptionMsg.make(topic))

    def terminated(self, pipe: Pipe) -> None:
        detach_fq(self.fq, pipe)
        self.dist.detach(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def _upstream(self, msg: list[Any]) -> None:
        # Regardless of the HWM (see above); one list shared by every pipe an engine
        # encodes from, a copy for an inproc peer, which keeps what it receives.
        for pipe in self.dist.pipes:
            if pipe.state == "active":
                pipe.out_q.put(type(msg)(msg) if pipe.exclusive_msgs else msg)

    def _subscribe(self, topic: bytes) -> None:
        self.subs.add(topic)
        # Always forwarded (not only the first time), as libzmq does, so an XPUB in
        # verbose mode behind a proxy sees every subscription.
        self._upstream(SubscriptionMsg.make(topic, True))

    def _unsubscribe(self, topic: bytes) -> None:
        if self.subs.remove(topic):
            self._upstream(SubscriptionMsg.make(topic, False))

    def send(self, msg: Msg) -> bool:
        first = msg[0]
        if len(msg) == 1 and first[:1] == b"\x01":
            self._subscribe(first[1:])
        elif len(msg) == 1 and first[:1] == b"\x00":
            self._unsubscribe(first[1:])
        else:
            self.dist.send_to_all(msg)  # upstream message to an XPUB
        return True

    def recv(self) -> Msg | None:
        # XSUB hands over whatever its publishers send (libzmq's XSUB does not filter:
        # an XPUB in manual mode may send it topics it never asked for).
        return self.fq.recv_msg()

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return self.fq.has_input()

    @property
    def last_pipe(self) -> Pipe | None:
        return self.fq.last


class Sub(XSub):
    socket_type = SocketType.SUB

    def send(self, msg: Msg) -> bool:
        raise InvalidState("SUB sockets cannot send; use subscribe()/unsubscribe() (RFC 29)")

    def can_send(self) -> bool:
        return False

    def recv(self) -> Msg | None:
        # SUB filters again on receipt: a ZMTP 3.0 publisher may not filter, and a
        # message may cross an unsubscription in flight.
        subs = self.subs
        while True:
            msg = self.fq.recv_msg()
            if msg is None:
                return None
            if subs.matches(msg[0]):
                return msg

    def subscribe(self, topic: bytes) -> None:
        self._subscribe(topic)

    def unsubscribe(self, topic: bytes) -> None:
        self._unsubscribe(topic)
