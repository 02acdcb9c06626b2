"""Socket types route in O(1) per message whatever the number of peers (RFC 28 ROUTER
addressing, fair queuing and load balancing; RFC 29 fan-out), counted rather than
timed: the pipes count how often they are compared with one another (a linear scan
such as ``list.index`` compares every entry it passes), and the same script on a
socket with 10 peers and one with 10,000 must make the same number of comparisons
(none).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from zmtp.constants import SocketType
from zmtp.patterns import pattern_for
from zmtp.routing import MsgQueue, Pipe

SMALL, LARGE = 10, 10_000


class CountingPipe(Pipe):
    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingPipe.comparisons += 1
        return self is other

    __hash__ = Pipe.__hash__


def peers(pattern: Any, n: int) -> list[CountingPipe]:
    made = []
    for i in range(n):
        p = CountingPipe(MsgQueue(0), MsgQueue(0), f"tcp://peer{i}")
        p.routing_id = b"peer%05d" % i
        assert pattern.attach(p)
        made.append(p)
    return made


def router_script(n: int) -> int:
    router = pattern_for(SocketType.ROUTER)()
    ps = peers(router, n)
    CountingPipe.comparisons = 0
    rnd = random.Random(n)
    for _ in range(20):
        # A request from a random peer, and the reply routed back by its id.
        p = ps[rnd.randrange(n)]
        p.in_q.put([b"request"])
        router.read_activated(p)
        rid, body = router.recv()
        assert rid == p.routing_id and body == b"request"
        assert router.send([rid, b"reply"])
        assert p.out_q.get() == [b"reply"]
    # All but one peer leave; the survivor is still served.
    survivor = ps[n // 2]
    for p in ps:
        if p is not survivor:
            p.state = "terminated"
            router.terminated(p)
    survivor.in_q.put([b"still here"])
    router.read_activated(survivor)
    assert router.recv() == [survivor.routing_id, b"still here"]
    return CountingPipe.comparisons


def dealer_script(n: int) -> int:
    dealer = pattern_for(SocketType.DEALER)()
    ps = peers(dealer, n)
    CountingPipe.comparisons = 0
    for p in (ps[0], ps[n // 2], ps[-1]):
        p.in_q.put([b"in"])
        dealer.read_activated(p)
        assert dealer.recv() == [b"in"]
    for _ in range(5):
        assert dealer.send([b"out"])
    for p in ps[: n // 2]:
        p.state = "terminated"
        dealer.terminated(p)
    return CountingPipe.comparisons


def xpub_script(n: int) -> int:
    pub = pattern_for(SocketType.PUB)()
    ps = peers(pub, n)
    for p in ps:
        p.in_q.put([b"\x01" + b"topic"])
        pub.read_activated(p)
    CountingPipe.comparisons = 0
    assert pub.send([b"topic", b"data"])
    assert all(p.out_q.items for p in ps)
    for p in ps[1:]:
        p.state = "terminated"
        pub.terminated(p)
    assert pub.send([b"topic", b"more"])
    assert len(ps[0].out_q) == 2
    return CountingPipe.comparisons


@pytest.mark.parametrize(
    "script", [router_script, dealer_script, xpub_script], ids=["ROUTER", "DEALER", "PUB"]
)
def test_no_socket_type_finds_a_peer_by_comparing_it_with_the_others(script: Any):
    assert script(SMALL) == 0
    assert script(LARGE) == 0
