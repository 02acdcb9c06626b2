"""PUB and XPUB (RFC 29/PUBSUB): publishers that filter on their own side.

* each peer's subscriptions arrive as SUBSCRIBE/CANCEL commands (ZMTP 3.1) or as
  messages whose first octet is 1/0 (ZMTP 3.0, and XSUB applications); they are
  applied to a :class:`~zmtp.routing.SubscriptionTrie` as soon as they arrive,
  whether or not the application reads. Per peer, a topic is subscribed or not
  (libzmq's rule; the subscriber side does the counting, see :mod:`.xsub`);
* a message goes only to the peers with a subscription that prefixes its first frame
  (RFC 29: the publisher filters), and is dropped — never blocking, never raising —
  for a peer whose queue is full, so one slow subscriber cannot stall the others.
  With nobody subscribed, messages go nowhere;
* XPUB also hands subscriptions to the application (``recv``): a subscription the
  first time its topic gains a subscriber and an unsubscription when it loses the
  last (plus every one with ``xpub_verbose`` / ``xpub_verbose_unsubscribe``), and
  messages an XSUB peer sends upstream;
* ``xpub_manual``: subscriptions are only reported; the application decides with
  ``sock.subscribe(topic)``, which applies to the peer that sent the last one;
* ``xpub_welcome_msg``: sent to each new subscriber when it connects;
* ``xpub_nodrop``: a full subscriber queue makes ``send`` wait instead of dropping.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import InvalidState
from zmtp.patterns.base import Msg, Pattern
from zmtp.routing import Distributor, Pipe, SubscriptionTrie


class XPub(Pattern):
    socket_type = SocketType.XPUB
    rfc = "RFC 29/PUBSUB"
    #: PUB keeps subscriptions to itself and ignores other incoming messages.
    reports = True

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.trie: SubscriptionTrie[Pipe] = SubscriptionTrie()
        self.dist = Distributor()
        # What recv() hands the application: a (un)subscription as its one frame (made
        # a message on the way out: a peer may send 100k subscriptions before the
        # application reads one, so each waits in as little memory as it can) or an
        # upstream message; and, in step, the pipe each came from.
        self.pending: deque[Any] = deque()
        self.pending_from: deque[Pipe | None] = deque()
        self.manual_pipe: Pipe | None = None
        # xpub_manual: the topics each peer asked for, to cancel them when it leaves.
        self.asked: dict[Pipe, dict[bytes, int]] = {}
        #: Upstream messages dropped because the application did not read (rcvhwm).
        self.dropped = 0

    def _opt(self, name: str) -> Any:
        return self.options.get(name) if self.options is not None else False

    def attach(self, pipe: Pipe) -> bool:
        self.dist.attach(pipe)
        welcome = self._opt("xpub_welcome_msg")
        if welcome:
            pipe.out_q.put([welcome])
        self.read_activated(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        """RFC 29: a subscriber leaving cancels its subscriptions; topics nobody wants
        any more are reported (every topic it asked for, in manual mode)."""
        self.dist.detach(pipe)
        gone = self.trie.remove_key(pipe)
        if self._opt("xpub_manual"):
            gone = list(self.asked.get(pipe, ()))
        self.asked.pop(pipe, None)
        if self.reports:
            for topic in gone:
                self._report(b"\x00" + topic, None)
        if self.manual_pipe is pipe:
            self.manual_pipe = None

    def read_activated(self, pipe: Pipe) -> None:
        """Apply every subscription the peer sent, at once (not when the app reads)."""
        items = pipe.in_q.items
        while items:
            self._incoming(pipe, pipe.read())

    def _incoming(self, pipe: Pipe, msg: list[Any]) -> None:
        first = msg[0] if msg else b""
        if len(msg) != 1 or first[:1] not in (b"\x00", b"\x01"):
            if self.reports:
                # A message sent upstream by XSUB: held for recv(), at most rcvhwm of
                # them (a peer must not grow our memory while the application waits).
                hwm = self._opt("rcvhwm")
                if hwm and len(self.pending) >= hwm:
                    self.dropped += 1
                else:
                    self._report(msg, pipe)
            return
        subscribe = first[0] == 1
        topic = first[1:]
        if self._opt("xpub_manual"):
            asked = self.asked.setdefault(pipe, {})
            if subscribe:
                asked[topic] = asked.get(topic, 0) + 1
            elif asked.get(topic, 0) > 1:
                asked[topic] -= 1
            else:
                asked.pop(topic, None)
            if self.reports:
                self._report(first, pipe)
            return
        if subscribe:
            # A peer is subscribed to a topic or not: a repeated SUBSCRIBE from the
            # same peer adds nothing, as in libzmq, whose subscribers send every
            # SUBSCRIBE but only one CANCEL, when their own count drops to zero.
            first_one = self.trie.add(topic, pipe, once=True)
            report = first_one or self._opt("xpub_verbose") or self._opt("xpub_verbose_unsubscribe")
        else:
            if not self.trie.count(topic, pipe):
                return  # cancelling nothing
            last_one = self.trie.remove(topic, pipe)
            report = last_one or self._opt("xpub_verbose_unsubscribe")
        if report and self.reports:
            self._report(first, pipe)

    def _report(self, item: Any, pipe: Pipe | None) -> None:
        self.pending.append(item)
        self.pending_from.append(pipe)

    def send(self, msg: Msg) -> bool:
        targets = self.trie.match(msg[0])
        if not targets:
            return True  # nobody subscribed to it: dropped
        nodrop = self._opt("xpub_nodrop")
        if len(targets) == 1:  # one subscriber: no fan-out machinery
            (pipe,) = targets
            if pipe is None or pipe.state != "active":
                return True
            q = pipe.out_q
            if q.full():
                if nodrop:
                    q.producer_blocked = True
                    return False
                self.dist.dropped += 1
                return True
            q.put(msg)
            return True
        return self.dist.send(msg, targets, nodrop=nodrop)  # type: ignore[arg-type]

    def recv(self) -> Msg | None:
        if self.pending:
            item = self.pending.popleft()
            pipe = self.pending_from.popleft()
            msg = item if isinstance(item, list) else [item]
            if pipe is not None:
                # xpub_manual: subscribe() answers the subscription the application
                # received last (as libzmq does), not the one that arrived last.
                self.manual_pipe = pipe
            return msg
        return None

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return bool(self.pending)

    def write_activated(self, pipe: Pipe) -> None:
        pass

    # -- xpub_manual -------------------------------------------------------------------

    def subscribe(self, topic: bytes) -> None:
        if not self._opt("xpub_manual"):
            raise InvalidState("XPUB.subscribe() needs xpub_manual (RFC 29 manual mode)")
        if self.manual_pipe is not None:
            self.trie.add(topic, self.manual_pipe)

    def unsubscribe(self, topic: bytes) -> None:
        if not self._opt("xpub_manual"):
            raise InvalidState("XPUB.unsubscribe() needs xpub_manual (RFC 29 manual mode)")
        if self.manual_pipe is not None:
            self.trie.remove(topic, self.manual_pipe)


class Pub(XPub):
    socket_type = SocketType.PUB
    reports = False

    def recv(self) -> Msg | None:
        raise InvalidState("PUB sockets cannot receive (RFC 29/PUBSUB)")

    def can_recv(self) -> bool:
        return False

    def subscribe(self, topic: bytes) -> None:
        raise InvalidState("PUB sockets have no subscriptions of their own (RFC 29)")

    unsubscribe = subscribe
