"""The request-reply socket types (RFC 28/REQREP) as sans-IO rules: REQ, REP, ROUTER.

The patterns are driven here exactly as :class:`zmtp.Socket` drives them, with real
:class:`~zmtp.routing.Pipe` / :class:`~zmtp.routing.MsgQueue` objects and no trio:
:class:`SocketSide` attaches pipes, passes the queues' wake-ups on as
``read_activated``/``write_activated`` and terminates pipes the way the socket does
(``Socket._attach`` / ``Socket._terminate``). The test also plays every peer: it reads
what the pattern queued in a pipe's ``out_q`` and puts the peer's messages in its
``in_q``.

Sections follow RFC 28: REQ (envelope, one reply from the peer asked, alternation,
``req_relaxed``/``req_correlate``), REP (envelope kept and put back, alternation),
ROUTER (routing ids in and out, ``router_mandatory``, duplicate ids, handover,
``connect_routing_id``), then two hypothesis state machines that throw random
sequences of sends, receives, peer replies and peer disconnections at REQ and REP.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import zmtp
from zmtp.options import Options
from zmtp.patterns.base import Pattern
from zmtp.patterns.dealer import Dealer
from zmtp.patterns.rep import Rep
from zmtp.patterns.req import Req
from zmtp.patterns.router import Router
from zmtp.routing import MsgQueue, Pipe

Msg = list[bytes]

#: libzmq copies REQ's uint32 request id into the frame in host order.
REQUEST_ID = struct.Struct("=I")


class SocketSide:
    """What :class:`zmtp.Socket` does around a pattern, without trio."""

    def __init__(self, pattern: Pattern) -> None:
        self.pattern = pattern
        self.evicted: list[Pipe] = []
        if isinstance(pattern, Router):
            pattern.evict = self._evict

    def connect(
        self,
        name: str,
        *,
        routing_id: bytes = b"",
        assigned_id: bytes = b"",
        sndhwm: int = 0,
    ) -> Pipe:
        """A peer completed its handshake: a new pipe, offered to the pattern
        (``pipe.attached`` says whether it was accepted)."""
        pipe = Pipe(MsgQueue(0), MsgQueue(sndhwm), name)
        pipe.routing_id = routing_id
        pipe.assigned_id = assigned_id
        pipe.in_q.wake_consumer = lambda: self.pattern.read_activated(pipe)
        pipe.out_q.wake_producer = lambda: self.pattern.write_activated(pipe)
        pipe.attached = self.pattern.attach(pipe)
        return pipe

    def disconnect(self, pipe: Pipe) -> None:
        """The peer is gone (``Socket._terminate``): what we queued for it is dropped,
        what it sent stays readable."""
        if pipe.state == "terminated":
            return
        pipe.state = "terminated"
        pipe.out_q.clear()
        if pipe.attached:
            self.pattern.terminated(pipe)

    def _evict(self, pipe: Pipe) -> None:
        self.evicted.append(pipe)
        self.disconnect(pipe)


def make(pattern: Callable[[Any], Pattern], **options: Any) -> tuple[Any, SocketSide]:
    p = pattern(Options(**options))
    return p, SocketSide(p)


def taken(pipe: Pipe) -> list[Msg]:
    """What the peer reads: every message queued towards it, in order."""
    out = []
    while pipe.out_q.items:
        out.append(pipe.out_q.get())
    return out


def deliver(pipe: Pipe, *msgs: Msg) -> None:
    """The peer sends ``msgs`` (the in_q's wake-up tells the pattern)."""
    for msg in msgs:
        pipe.in_q.put(list(msg))


def snapshot(pattern: Pattern, pipes: list[Pipe]) -> Any:
    """Everything a refused call must leave untouched."""
    state = {k: v for k, v in vars(pattern).items() if k not in ("options", "lb", "fq", "evict")}
    return (
        repr(state),
        [(list(p.out_q.items), list(p.in_q.items), p.state) for p in pipes],
    )


# =======================================================================================
# REQ: "SHALL prefix the outgoing message with an empty delimiter frame"


def test_req_prefixes_each_request_with_an_empty_delimiter_frame():
    req, sock = make(Req)
    pipe = sock.connect("rep")
    assert req.send([b"ABC", b"DEF"])
    assert taken(pipe) == [[b"", b"ABC", b"DEF"]]


def test_req_correlate_puts_a_4_octet_request_id_before_the_delimiter_one_more_each_time():
    req, sock = make(Req, req_correlate=True)
    pipe = sock.connect("rep")
    ids = []
    for n in range(3):
        assert req.send([b"q%d" % n])
        [[rid, delimiter, body]] = taken(pipe)
        assert (len(rid), delimiter, body) == (4, b"", b"q%d" % n)
        ids.append(REQUEST_ID.unpack(rid)[0])
        deliver(pipe, [rid, b"", b"r%d" % n])
        assert req.recv() == [b"r%d" % n]
    assert [(i - ids[0]) & 0xFFFFFFFF for i in ids] == [0, 1, 2]


def test_req_round_robins_requests_over_its_peers():
    """RFC 28: "SHALL route outgoing messages to connected peers using a round-robin
    strategy"."""
    req, sock = make(Req)
    pipes = [sock.connect(f"rep{i}") for i in range(3)]
    for rnd in range(2):
        for i, pipe in enumerate(pipes):
            assert req.send([b"%d.%d" % (rnd, i)])
            assert taken(pipe) == [[b"", b"%d.%d" % (rnd, i)]]
            deliver(pipe, [b"", b"ok"])
            assert req.recv() == [b"ok"]


def test_req_without_a_peer_would_block_and_stays_ready_to_send():
    """RFC 28: "SHALL block on sending ... when it has no connected peers" and "SHALL
    NOT discard messages that it cannot send": nothing is sent, nothing changes."""
    req, sock = make(Req)
    assert not req.can_send()
    assert req.send([b"nobody"]) is False
    pipe = sock.connect("late")
    assert req.can_send()
    assert req.send([b"now"])
    assert taken(pipe) == [[b"", b"now"]]


# REQ: "SHALL accept an incoming message only from the last peer that it sent a request
# to" and "SHALL discard silently any messages received from other peers"


def test_req_accepts_the_reply_only_from_the_peer_it_sent_the_request_to():
    req, sock = make(Req)
    asked, other = sock.connect("asked"), sock.connect("other")
    assert req.send([b"q"])
    assert taken(asked) == [[b"", b"q"]]
    deliver(other, [b"", b"WRONG"])
    assert req.recv() is None, "a reply from a peer that was not asked was accepted"
    deliver(other, [b"", b"WRONG again"])
    deliver(asked, [b"", b"GOOD"])
    assert req.recv() == [b"GOOD"]
    assert not other.readable(), "the stray replies were not discarded"


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param([b"GOOD?"], id="no-delimiter"),
        pytest.param([b"x", b"GOOD?"], id="non-empty-first-frame"),
        pytest.param([b""], id="delimiter-without-body"),
        pytest.param([b"x", b"", b"GOOD?"], id="delimiter-not-first"),
    ],
)
def test_req_discards_a_reply_without_a_leading_empty_delimiter(malformed: Msg):
    req, sock = make(Req)
    pipe = sock.connect("rep")
    assert req.send([b"q"])
    deliver(pipe, malformed)
    assert req.recv() is None
    deliver(pipe, [b"", b"GOOD"])
    assert req.recv() == [b"GOOD"]


@pytest.mark.parametrize(
    "bad_envelope",
    [
        pytest.param(lambda rid: [b""], id="no-request-id"),
        pytest.param(lambda rid: [rid], id="id-without-delimiter"),
        pytest.param(lambda rid: [rid[:3], b""], id="3-octet-id"),
        pytest.param(
            lambda rid: [REQUEST_ID.pack(REQUEST_ID.unpack(rid)[0] ^ 1), b""], id="other-id"
        ),
    ],
)
def test_req_correlate_discards_a_reply_that_does_not_carry_the_request_id(
    bad_envelope: Callable[[bytes], Msg],
):
    req, sock = make(Req, req_correlate=True)
    pipe = sock.connect("rep")
    assert req.send([b"q"])
    [[rid, _, _]] = taken(pipe)
    deliver(pipe, [*bad_envelope(rid), b"WRONG"])
    assert req.recv() is None
    deliver(pipe, [rid, b"", b"GOOD"])
    assert req.recv() == [b"GOOD"]


def test_req_new_request_discards_replies_already_queued():
    """A message left over from an earlier exchange can never answer the new request
    (libzmq drains the queue when a request begins; so does zmtp)."""
    req, sock = make(Req)
    a, b = sock.connect("a"), sock.connect("b")
    assert req.send([b"1"])
    deliver(a, [b"", b"reply 1"])
    assert req.recv() == [b"reply 1"]
    deliver(b, [b"", b"stale, from b"])  # b was never asked, but is asked next
    assert req.send([b"2"])
    assert taken(b) == [[b"", b"2"]]
    assert not b.readable(), "the queued stale reply survived the new request"
    assert req.recv() is None
    deliver(b, [b"", b"reply 2"])
    assert req.recv() == [b"reply 2"]


# REQ: "SHALL send and then receive exactly one message at a time"


def test_req_receive_before_any_request_raises_invalid_state_naming_the_rule():
    req, sock = make(Req)
    pipe = sock.connect("rep")
    deliver(pipe, [b"", b"unsolicited"])
    before = snapshot(req, [pipe])
    with pytest.raises(zmtp.InvalidState, match=r"REQ cannot receive.*RFC 28.*alternate"):
        req.recv()
    assert snapshot(req, [pipe]) == before
    assert not req.can_recv()


def test_req_second_send_before_the_reply_raises_invalid_state_and_sends_nothing():
    req, sock = make(Req)
    pipes = [sock.connect("a"), sock.connect("b")]
    assert req.send([b"first"])
    before = snapshot(req, pipes)
    with pytest.raises(zmtp.InvalidState, match=r"REQ cannot send.*RFC 28.*req_relaxed"):
        req.send([b"second"])
    assert snapshot(req, pipes) == before
    assert not req.can_send()
    deliver(pipes[0], [b"", b"reply"])
    assert req.recv() == [b"reply"]
    assert req.can_send()


def test_req_waits_for_ever_when_the_asked_peer_is_gone():
    """The stuck REQ (RFC 28 gives no way out): only the peer asked may answer, and
    it is gone, so no other peer's message is ever taken for the reply."""
    req, sock = make(Req)
    asked, other = sock.connect("asked"), sock.connect("other")
    assert req.send([b"q"])
    sock.disconnect(asked)
    deliver(other, [b"", b"not the reply"])
    assert req.recv() is None
    with pytest.raises(zmtp.InvalidState):
        req.send([b"again"])


def test_req_still_takes_a_reply_that_arrived_before_its_peer_went_away():
    """libzmq reads a terminated pipe to its end before forgetting it; a REP that
    replies and closes at once must not leave its REQ stuck."""
    req, sock = make(Req)
    pipe = sock.connect("rep")
    assert req.send([b"q"])
    deliver(pipe, [b"", b"the reply"])
    sock.disconnect(pipe)  # e.g. a REP that replies and then closes
    assert req.recv() == [b"the reply"]


# REQ with req_relaxed (libzmq's ZMQ_REQ_RELAXED) and req_correlate


def test_req_relaxed_sends_a_new_request_and_abandons_the_pending_one():
    req, sock = make(Req, req_relaxed=True)
    a, b = sock.connect("a"), sock.connect("b")
    assert req.send([b"1"])
    assert taken(a) == [[b"", b"1"]]
    assert req.can_send()
    assert req.send([b"2"])
    assert taken(b) == [[b"", b"2"]]
    deliver(a, [b"", b"late reply to 1"])
    assert req.recv() is None, "the abandoned request's peer answered the new one"
    deliver(b, [b"", b"reply to 2"])
    assert req.recv() == [b"reply to 2"]


def test_req_relaxed_recovers_from_a_peer_that_went_away():
    req, sock = make(Req, req_relaxed=True)
    a, b = sock.connect("a"), sock.connect("b")
    assert req.send([b"1"])
    sock.disconnect(a)
    assert req.send([b"1 again"])
    assert taken(b) == [[b"", b"1 again"]]
    deliver(b, [b"", b"reply"])
    assert req.recv() == [b"reply"]


def test_req_relaxed_and_correlate_drop_the_late_reply_of_the_abandoned_request():
    req, sock = make(Req, req_relaxed=True, req_correlate=True)
    pipe = sock.connect("rep")
    assert req.send([b"1"])
    [[id1, _, _]] = taken(pipe)
    assert req.send([b"2"])  # to the same peer
    [[id2, _, _]] = taken(pipe)
    assert id1 != id2
    deliver(pipe, [id1, b"", b"late reply to 1"])
    assert req.recv() is None, "the stale reply was taken for the new request's"
    deliver(pipe, [id2, b"", b"reply to 2"])
    assert req.recv() == [b"reply to 2"]


def test_req_relaxed_without_correlate_cannot_tell_a_late_reply_from_the_same_peer():
    """Why ``req_correlate`` exists: with the same peer asked twice, a late reply to
    the abandoned request looks exactly like the new one's (libzmq alike)."""
    req, sock = make(Req, req_relaxed=True)
    pipe = sock.connect("rep")
    assert req.send([b"1"])
    assert req.send([b"2"])
    deliver(pipe, [b"", b"late reply to 1"])
    assert req.recv() == [b"late reply to 1"]


# =======================================================================================
# REP: "SHALL remove and store the address envelope, including the delimiter",
# "SHALL prepend the address envelope and delimiter" and "SHALL deliver this message
# back to the originating peer"


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param([b""], id="delimiter-only"),
        pytest.param([b"\x00\x01\x02\x03\x04", b""], id="one-hop"),
        pytest.param([b"X", b"Y", b"Z", b""], id="three-hops"),
        pytest.param([b"\x00\x00\x00\x07", b""], id="request-id"),
    ],
)
def test_rep_removes_the_envelope_and_puts_it_back_on_the_reply(envelope: Msg):
    rep, sock = make(Rep)
    pipe = sock.connect("req")
    deliver(pipe, [*envelope, b"A", b"B"])
    assert rep.recv() == [b"A", b"B"]
    assert rep.send([b"C"])
    assert taken(pipe) == [[*envelope, b"C"]]


def test_rep_sends_each_reply_to_the_peer_its_request_came_from():
    rep, sock = make(Rep)
    pipes = [sock.connect(f"req{i}") for i in range(3)]
    for i, pipe in enumerate(pipes):
        deliver(pipe, [b"", b"%d" % i])
    for _ in pipes:
        [body] = rep.recv()
        assert rep.send([b"reply to " + body])
    assert [taken(p) for p in pipes] == [[[b"", b"reply to %d" % i]] for i in range(3)]


def test_rep_fair_queues_requests_from_its_peers():
    """RFC 28: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy": with several requests queued per peer, each turn serves every peer."""
    rep, sock = make(Rep)
    pipes = [sock.connect(f"dealer{i}") for i in range(3)]
    for i, pipe in enumerate(pipes):
        deliver(pipe, *([b"", b"%d" % i, b"%d" % n] for n in range(4)))
    served = []
    for _ in range(12):
        peer, n = rep.recv()
        served.append((int(peer), int(n)))
        assert rep.send([b"ok"])
    for turn in range(4):
        assert sorted(served[3 * turn : 3 * turn + 3]) == [(0, turn), (1, turn), (2, turn)]


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param([b"no delimiter"], id="no-delimiter"),
        pytest.param([b"X", b"Y", b"body"], id="envelope-without-delimiter"),
        pytest.param([b"X", b""], id="delimiter-without-body"),
    ],
)
def test_rep_discards_a_request_without_an_empty_delimiter_before_its_body(malformed: Msg):
    rep, sock = make(Rep)
    pipe = sock.connect("dealer")
    deliver(pipe, malformed)
    assert rep.recv() is None
    assert rep.can_recv() is False
    assert not rep.can_send(), "a discarded request must not wait for a reply"
    deliver(pipe, [b"", b"good"])
    assert rep.recv() == [b"good"]


def test_rep_send_before_a_request_raises_invalid_state_naming_the_rule():
    rep, sock = make(Rep)
    pipe = sock.connect("req")
    before = snapshot(rep, [pipe])
    with pytest.raises(zmtp.InvalidState, match=r"REP cannot send.*RFC 28.*alternate"):
        rep.send([b"reply to nothing"])
    assert snapshot(rep, [pipe]) == before


def test_rep_second_receive_before_replying_raises_invalid_state_and_keeps_the_envelope():
    rep, sock = make(Rep)
    a, b = sock.connect("a"), sock.connect("b")
    deliver(a, [b"hop", b"", b"first"])
    deliver(b, [b"", b"second"])
    assert rep.recv() == [b"first"]
    before = snapshot(rep, [a, b])
    with pytest.raises(zmtp.InvalidState, match=r"REP cannot receive.*RFC 28.*alternate"):
        rep.recv()
    assert snapshot(rep, [a, b]) == before
    assert rep.send([b"reply"])
    assert taken(a) == [[b"hop", b"", b"reply"]]
    assert rep.recv() == [b"second"]


def test_rep_discards_the_reply_silently_when_the_requester_is_gone():
    """RFC 28: "SHALL silently discard the reply, or return an error, if the originating
    peer is no longer connected" (zmtp discards, as libzmq)."""
    rep, sock = make(Rep)
    gone, other = sock.connect("gone"), sock.connect("other")
    deliver(gone, [b"", b"q"])
    assert rep.recv() == [b"q"]
    sock.disconnect(gone)
    assert rep.send([b"reply"]) is True
    assert taken(gone) == [] and taken(other) == []
    deliver(other, [b"", b"next"])
    assert rep.recv() == [b"next"], "the alternation did not move on"


def test_rep_does_not_block_on_a_full_peer_and_drops_the_reply():
    """RFC 28: "SHALL not block on sending"."""
    rep, sock = make(Rep)
    pipe = sock.connect("req", sndhwm=1)
    pipe.out_q.put([b"", b"something already queued"])
    deliver(pipe, [b"", b"q"])
    assert rep.recv() == [b"q"]
    assert rep.send([b"reply"]) is True
    assert taken(pipe) == [[b"", b"something already queued"]]


def test_rep_still_serves_requests_a_gone_peer_sent_before_leaving():
    rep, sock = make(Rep)
    pipe = sock.connect("req")
    deliver(pipe, [b"", b"q"])
    sock.disconnect(pipe)
    assert rep.recv() == [b"q"]
    assert rep.send([b"r"]) is True
    assert rep.recv() is None


# =======================================================================================
# ROUTER: "SHALL prefix each incoming message with a frame containing the identity of
# the originating double queue"


def test_router_prefixes_each_received_message_with_the_peers_routing_id():
    router, sock = make(Router)
    a = sock.connect("a", routing_id=b"Alice")
    b = sock.connect("b", routing_id=b"Bob")
    deliver(a, [b"from", b"a"])
    deliver(b, [b"from b"])
    got = [router.recv(), router.recv()]
    assert sorted(got) == [[b"Alice", b"from", b"a"], [b"Bob", b"from b"]]
    assert router.recv() is None


def test_router_gives_anonymous_peers_distinct_5_octet_ids_starting_with_a_zero_octet():
    """RFC 23 leaves ids starting with a zero octet to implementations; libzmq
    generates 5 octets: 0, then a 32-bit counter. So does zmtp."""
    router, sock = make(Router)
    pipes = [sock.connect(f"p{i}") for i in range(50)]
    ids = []
    for pipe in pipes:
        deliver(pipe, [b"hi"])
        rid, _ = router.recv()
        ids.append(rid)
    assert all(len(rid) == 5 and rid[0] == 0 for rid in ids), ids[:5]
    assert len(set(ids)) == len(ids)
    assert all(router.routing_id_of(p) == rid for p, rid in zip(pipes, ids, strict=True))


def test_router_routes_by_the_first_frame_and_strips_it():
    """RFC 28: "SHALL remove the first frame from each outgoing message and use this as
    the identity of a double queue"."""
    router, sock = make(Router)
    a = sock.connect("a", routing_id=b"A")
    b = sock.connect("b", routing_id=b"B")
    assert router.send([b"B", b"", b"to b"])
    assert router.send([b"A", b"to a"])
    assert router.send([b"B", b"again"])
    assert taken(a) == [[b"to a"]]
    assert taken(b) == [[b"", b"to b"], [b"again"]]


def test_router_drops_a_message_that_is_only_a_routing_id():
    router, sock = make(Router, router_mandatory=True)
    a = sock.connect("a", routing_id=b"A")
    assert router.send([b"A"]) is True
    assert taken(a) == []


# ROUTER: "SHALL either silently drop the message, or return an error, depending on
# configuration, if the queue does not exist, or is full" and "SHALL NOT block on
# sending"


def test_router_drops_an_unroutable_message_silently_without_router_mandatory():
    router, sock = make(Router)
    a = sock.connect("a", routing_id=b"A")
    assert router.send([b"nobody", b"lost"]) is True
    assert taken(a) == []


def test_router_mandatory_raises_host_unreachable_for_an_unknown_id():
    router, sock = make(Router, router_mandatory=True)
    a = sock.connect("a", routing_id=b"A")
    with pytest.raises(zmtp.HostUnreachable, match=r"b'nobody'.*router_mandatory"):
        router.send([b"nobody", b"lost"])
    assert taken(a) == []


def test_router_drops_silently_at_a_full_peer_without_router_mandatory():
    router, sock = make(Router)
    a = sock.connect("a", routing_id=b"A", sndhwm=2)
    for n in range(5):
        assert router.send([b"A", b"%d" % n]) is True
    assert taken(a) == [[b"0"], [b"1"]]


def test_router_mandatory_would_block_at_a_full_peer_and_sends_nothing():
    """With ``router_mandatory`` a full peer makes the send "would block" (libzmq's
    EAGAIN) instead of dropping; the socket waits for the queue's wake-up."""
    router, sock = make(Router, router_mandatory=True)
    a = sock.connect("a", routing_id=b"A", sndhwm=1)
    assert router.send([b"A", b"1"]) is True
    assert router.send([b"A", b"2"]) is False
    assert a.out_q.producer_blocked, "nobody would wake the socket when the peer drains"
    woken = []
    a.out_q.wake_producer = lambda: woken.append(a)
    assert taken(a) == [[b"1"]]
    assert woken == [a]
    assert router.send([b"A", b"2"]) is True
    assert taken(a) == [[b"2"]]


def test_router_forgets_a_gone_peer_but_keeps_what_it_sent():
    router, sock = make(Router, router_mandatory=True)
    a = sock.connect("a", routing_id=b"A")
    deliver(a, [b"last words"])
    sock.disconnect(a)
    with pytest.raises(zmtp.HostUnreachable):
        router.send([b"A", b"too late"])
    assert router.recv() == [b"A", b"last words"]
    assert router.recv() is None


# ROUTER: "SHALL identify each double queue using a unique identity binary string"


def test_router_refuses_a_peer_announcing_a_routing_id_already_in_use():
    router, sock = make(Router)
    first = sock.connect("first", routing_id=b"X")
    second = sock.connect("second", routing_id=b"X")
    assert first.attached and not second.attached
    assert router.send([b"X", b"hello"])
    assert taken(first) == [[b"hello"]]
    assert sock.evicted == []


def test_router_handover_gives_the_id_to_the_newcomer_and_evicts_the_old_peer():
    router, sock = make(Router, router_handover=True)
    old = sock.connect("old", routing_id=b"X")
    deliver(old, [b"from old"])
    new = sock.connect("new", routing_id=b"X")
    assert new.attached
    assert sock.evicted == [old], "the old pipe's connection was not closed"
    assert old.state == "terminated"
    assert router.send([b"X", b"to new"])
    assert taken(new) == [[b"to new"]]
    # What the old peer sent before the handover is still delivered, under another id.
    rid, body = router.recv()
    assert body == b"from old" and rid != b"X"
    deliver(new, [b"from new"])
    assert router.recv() == [b"X", b"from new"]


def test_router_uses_the_connect_routing_id_it_assigned_rather_than_the_announced_one():
    router, sock = make(Router)
    pipe = sock.connect("peer", routing_id=b"announced", assigned_id=b"assigned")
    deliver(pipe, [b"hi"])
    assert router.recv() == [b"assigned", b"hi"]
    assert router.send([b"assigned", b"back"])
    assert taken(pipe) == [[b"back"]]
    router.options.set("router_mandatory", True)
    with pytest.raises(zmtp.HostUnreachable):
        router.send([b"announced", b"no such id"])


def test_router_refuses_a_connect_routing_id_already_in_use_even_with_handover():
    """libzmq asserts (crashes) on this; zmtp refuses the new connection."""
    router, sock = make(Router, router_handover=True)
    first = sock.connect("first", routing_id=b"X")
    second = sock.connect("second", assigned_id=b"X")
    assert first.attached and not second.attached
    assert sock.evicted == []
    assert router.send([b"X", b"still the first"])
    assert taken(first) == [[b"still the first"]]


# DEALER: "SHALL not filter or modify outgoing or incoming messages in any way"


def test_dealer_passes_envelopes_through_untouched():
    dealer, sock = make(Dealer)
    pipe = sock.connect("rep")
    assert dealer.send([b"", b"A"])
    assert dealer.send([b"X", b"Y", b"", b"A"])
    assert taken(pipe) == [[b"", b"A"], [b"X", b"Y", b"", b"A"]]
    deliver(pipe, [b"no delimiter"], [b"", b"reply"])
    assert [dealer.recv(), dealer.recv()] == [[b"no delimiter"], [b"", b"reply"]]


# =======================================================================================
# State machines: random sequences against the rules


def _tagged(msg: Msg) -> bytes | None:
    """The unique tag a machine puts in the last frame of each message."""
    return msg[-1] if msg and msg[-1].startswith(b"#") else None


class ReqMachine(RuleBasedStateMachine):
    """REQ under random sends, receives, peer replies (good, stale, malformed) and peer
    disconnections, with and without ``req_relaxed`` / ``req_correlate``.

    The model knows which peer was asked (it sees where the request went) and with
    which request id; it never looks at the pattern's private state. Invariants:

    * a receive returns exactly the first acceptable reply queued by the peer asked
      (acceptable: a leading empty delimiter, and with ``req_correlate`` the current
      request id before it), so never a reply from another pipe and never a malformed
      or stale one;
    * a call that breaks the alternation raises InvalidState and changes nothing;
    * a request goes out with the envelope RFC 28 and the options prescribe.

    A peer that leaves is gone for sending, but what it sent stays readable: a reply
    queued before the asked peer left is still the reply.
    """

    pipes = Bundle("pipes")

    @initialize(relaxed=st.booleans(), correlate=st.booleans())
    def make_req(self, relaxed: bool, correlate: bool) -> None:
        self.relaxed, self.correlate = relaxed, correlate
        self.req, self.sock = make(Req, req_relaxed=relaxed, req_correlate=correlate)
        self.all: list[Pipe] = []
        self.live: list[Pipe] = []
        self.waiting = False
        self.asked: Pipe | None = None
        self.request_id: bytes | None = None
        self.seen: dict[Pipe, list[Msg]] = {}  # the envelopes each peer received
        self.origin: dict[bytes, Pipe] = {}
        self.tags = itertools.count()

    def _acceptable(self, msg: Msg) -> bool:
        if self.correlate:
            return len(msg) >= 3 and msg[0] == self.request_id and msg[1] == b""
        return len(msg) >= 2 and msg[0] == b""

    def _expected_reply(self) -> Msg | None:
        if self.asked is None:
            return None
        for msg in self.asked.in_q.items:
            if self._acceptable(msg):
                return msg[2:] if self.correlate else msg[1:]
        return None

    def _tag(self) -> bytes:
        return b"#%d" % next(self.tags)

    @precondition(lambda self: len(self.live) < 4)
    @rule(target=pipes)
    def connect(self) -> Pipe:
        pipe = self.sock.connect(f"p{len(self.all)}")
        self.all.append(pipe)
        self.live.append(pipe)
        self.seen[pipe] = []
        return pipe

    @rule(frames=st.integers(1, 3))
    def send(self, frames: int) -> None:
        body = [b"body"] * (frames - 1) + [self._tag()]
        if self.waiting and not self.relaxed:
            before = snapshot(self.req, self.all)
            with pytest.raises(zmtp.InvalidState):
                self.req.send(body)
            assert snapshot(self.req, self.all) == before
            return
        before_len = {p: len(p.out_q) for p in self.all}
        if not self.live:
            before = snapshot(self.req, self.all)
            assert self.req.send(body) is False
            assert snapshot(self.req, self.all) == before
            return
        assert self.req.send(body) is True
        grew = [p for p in self.all if len(p.out_q) != before_len[p]]
        assert len(grew) == 1 and grew[0] in self.live, "the request went to no live peer"
        pipe = grew[0]
        request = taken(pipe)[-1]
        if self.correlate:
            rid = request[0]
            assert len(rid) == 4 and request[1] == b"" and request[2:] == body
            if self.request_id is not None:
                previous = REQUEST_ID.unpack(self.request_id)[0]
                assert REQUEST_ID.unpack(rid)[0] == (previous + 1) & 0xFFFFFFFF
            self.request_id = rid
        else:
            assert request == [b"", *body]
        self.seen[pipe].append(request[: request.index(b"") + 1])
        assert all(not p.readable() for p in self.all), "queued replies survived a request"
        self.waiting, self.asked = True, pipe

    @rule(pipe=pipes, which=st.integers(-3, -1))
    def peer_answers(self, pipe: Pipe, which: int) -> None:
        """The peer answers the latest request it got, or an older one."""
        if pipe not in self.live or not self.seen[pipe]:
            return
        envelope = self.seen[pipe][max(which, -len(self.seen[pipe]))]
        tag = self._tag()
        self.origin[tag] = pipe
        deliver(pipe, [*envelope, tag])

    @precondition(lambda self: getattr(self, "asked", None) in getattr(self, "live", ()))
    @rule(which=st.integers(-2, -1))
    def asked_peer_answers(self, which: int) -> None:
        """The peer asked answers (a rule of its own, so that it happens often)."""
        assert self.asked is not None
        self.peer_answers(self.asked, which)

    @precondition(lambda self: getattr(self, "asked", None) in getattr(self, "live", ()))
    @rule()
    def asked_peer_disconnects(self) -> None:
        assert self.asked is not None
        self.peer_disconnects(self.asked)

    @rule(
        pipe=pipes,
        envelope=st.sampled_from(
            [[], [b"x"], [b""], [b"\x00\x00\x00\x00"], [b"\x01\x02\x03\x04", b"x"]]
        ),
    )
    def peer_sends_anything(self, pipe: Pipe, envelope: Msg) -> None:
        """A reply the peer was not asked for, or with a malformed envelope."""
        if pipe not in self.live:
            return
        tag = self._tag()
        self.origin[tag] = pipe
        deliver(pipe, [*envelope, tag])

    @rule()
    def recv(self) -> None:
        if not self.waiting:
            before = snapshot(self.req, self.all)
            with pytest.raises(zmtp.InvalidState):
                self.req.recv()
            assert snapshot(self.req, self.all) == before
            return
        expected = self._expected_reply()
        got = self.req.recv()
        assert got == expected
        if got is not None:
            assert self.origin[_tagged(got)] is self.asked, "a reply from another pipe"
            self.waiting = False

    @rule(pipe=pipes)
    def peer_disconnects(self, pipe: Pipe) -> None:
        if pipe not in self.live:
            return
        self.sock.disconnect(pipe)
        self.live.remove(pipe)
        # If the asked peer left, its queued messages are all a reply can come from.

    @invariant()
    def readiness_matches_the_alternation(self) -> None:
        if not hasattr(self, "req"):
            return
        assert self.req.can_send() == ((not self.waiting or self.relaxed) and bool(self.live))
        if self.req.can_recv():
            assert self.waiting


ReqMachine.TestCase.settings = settings(stateful_step_count=40)
TestReqMachine = ReqMachine.TestCase


class RepMachine(RuleBasedStateMachine):
    """REP under random requests (good, with envelopes of any depth, or malformed),
    receives, replies, full peers and peer disconnections.

    Invariants:

    * every well-formed request is received exactly once, in each peer's order, and
      malformed ones never;
    * a reply goes to the peer the request came from, with the request's envelope,
      and to no other peer; it is dropped if that peer is gone or full;
    * a call that breaks the alternation raises InvalidState and changes nothing.
    """

    pipes = Bundle("pipes")

    @initialize()
    def make_rep(self) -> None:
        self.rep, self.sock = make(Rep)
        self.all: list[Pipe] = []
        self.live: list[Pipe] = []
        #: per pipe, what it sent and REP has not taken: (tag or None, envelope)
        self.queued: dict[Pipe, list[tuple[bytes | None, Msg]]] = {}
        self.replying: tuple[Pipe, Msg] | None = None
        self.tags = itertools.count()

    @precondition(lambda self: len(self.live) < 4)
    @rule(target=pipes, sndhwm=st.sampled_from([0, 0, 1]))
    def connect(self, sndhwm: int) -> Pipe:
        pipe = self.sock.connect(f"p{len(self.all)}", sndhwm=sndhwm)
        self.all.append(pipe)
        self.live.append(pipe)
        self.queued[pipe] = []
        return pipe

    @rule(
        pipe=pipes,
        hops=st.lists(st.binary(min_size=1, max_size=3), max_size=3),
        extra=st.integers(0, 2),
    )
    def peer_sends_request(self, pipe: Pipe, hops: list[bytes], extra: int) -> None:
        if pipe not in self.live:
            return
        tag = b"#%d" % next(self.tags)
        envelope = [*hops, b""]
        deliver(pipe, [*envelope, *([b"x"] * extra), tag])
        self.queued[pipe].append((tag, envelope))

    @rule(
        pipe=pipes,
        malformed=st.sampled_from([[b"no delimiter"], [b"a", b"b"], [b""], [b"a", b""]]),
    )
    def peer_sends_malformed(self, pipe: Pipe, malformed: Msg) -> None:
        if pipe not in self.live:
            return
        deliver(pipe, malformed)
        self.queued[pipe].append((None, []))

    @rule()
    def recv(self) -> None:
        if self.replying is not None:
            before = snapshot(self.rep, self.all)
            with pytest.raises(zmtp.InvalidState):
                self.rep.recv()
            assert snapshot(self.rep, self.all) == before
            return
        got = self.rep.recv()
        source = None
        if got is None:
            assert not any(tag for q in self.queued.values() for tag, _ in q), "lost a request"
        else:
            tag = _tagged(got)
            source = next(p for p, q in self.queued.items() if any(t == tag for t, _ in q))
        # Resynchronise with what is left: the consumed part of each pipe's queue is
        # malformed messages only, except the received request at the end of its own.
        for pipe, q in self.queued.items():
            consumed, self.queued[pipe] = q[: len(q) - len(pipe.in_q)], q[len(q) - len(pipe.in_q) :]
            if pipe is source:
                assert consumed and consumed[-1][0] == tag, "requests of one peer reordered"
                consumed_envelope = consumed.pop()[1]
            assert all(t is None for t, _ in consumed), "a well-formed request was discarded"
        if source is not None:
            assert got[-1] == tag and all(f == b"x" for f in got[:-1])
            self.replying = (source, consumed_envelope)

    @rule()
    def send_reply(self) -> None:
        body = [b"reply"]
        if self.replying is None:
            before = snapshot(self.rep, self.all)
            with pytest.raises(zmtp.InvalidState):
                self.rep.send(body)
            assert snapshot(self.rep, self.all) == before
            return
        pipe, envelope = self.replying
        before = {p: list(p.out_q.items) for p in self.all}
        deliverable = pipe.writable()
        assert self.rep.send(body) is True
        for p in self.all:
            if p is pipe and deliverable:
                assert list(p.out_q.items) == [*before[p], [*envelope, *body]]
            else:
                assert list(p.out_q.items) == before[p], "a reply went to the wrong peer"
        self.replying = None

    @rule(pipe=pipes)
    def peer_reads(self, pipe: Pipe) -> None:
        taken(pipe)

    @rule(pipe=pipes)
    def peer_disconnects(self, pipe: Pipe) -> None:
        if pipe in self.live:
            self.sock.disconnect(pipe)
            self.live.remove(pipe)

    @precondition(lambda self: getattr(self, "replying", None) is not None)
    @rule()
    def requester_disconnects(self) -> None:
        """The peer a reply is owed to leaves before it is sent."""
        assert self.replying is not None
        self.peer_disconnects(self.replying[0])

    @invariant()
    def readiness_matches_the_alternation(self) -> None:
        if not hasattr(self, "rep"):
            return
        assert self.rep.can_send() == (self.replying is not None)
        if self.rep.can_recv():
            assert self.replying is None


RepMachine.TestCase.settings = settings(stateful_step_count=40)
TestRepMachine = RepMachine.TestCase
