"""Routing costs O(1) per message and per attach/detach, whatever the number of peers
(libzmq's ``lb_t``/``fq_t``/``dist_t`` keep an index per pipe for the same reason).

Measured by counting, never by the clock: the pipes compare themselves (so a scan
such as ``list.index`` or ``list.remove`` shows up as one comparison per entry it
passes), and the policy's collections count every entry read or written.
The same script of operations on a policy holding 10 pipes and one holding 10,000
must do the same work, pipe for pipe in the same relative place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest

from zmtp.patterns.base import detach_fq
from zmtp.routing import Distributor, FairQueue, LoadBalancer, MsgQueue, Pipe

SMALL, LARGE = 10, 10_000


class Tally:
    comparisons = 0
    entries = 0


class CountingPipe(Pipe):
    """A pipe that counts how often it is compared with another one."""

    tally: Tally

    def __eq__(self, other: object) -> bool:
        self.tally.comparisons += 1
        return self is other

    __hash__ = Pipe.__hash__


class CountingList(list):  # type: ignore[type-arg]
    def __init__(self, items: Any, tally: Tally) -> None:
        super().__init__(items)
        self.tally = tally

    def __getitem__(self, i: Any) -> Any:
        self.tally.entries += 1
        return super().__getitem__(i)

    def __setitem__(self, i: Any, v: Any) -> None:
        self.tally.entries += 1
        super().__setitem__(i, v)

    def append(self, v: Any) -> None:
        self.tally.entries += 1
        super().append(v)

    def pop(self, *args: Any) -> Any:
        self.tally.entries += 1
        return super().pop(*args)


class CountingDict(dict):  # type: ignore[type-arg]
    def __init__(self, items: Any, tally: Tally) -> None:
        super().__init__(items)
        self.tally = tally

    def get(self, k: Any, default: Any = None) -> Any:
        self.tally.entries += 1
        return super().get(k, default)

    def __getitem__(self, k: Any) -> Any:
        self.tally.entries += 1
        return super().__getitem__(k)

    def __setitem__(self, k: Any, v: Any) -> None:
        self.tally.entries += 1
        super().__setitem__(k, v)

    def __delitem__(self, k: Any) -> None:
        self.tally.entries += 1
        super().__delitem__(k)

    def pop(self, *args: Any) -> Any:
        self.tally.entries += 1
        return super().pop(*args)


class CountingOrderedDict(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, items: Any, tally: Tally) -> None:
        super().__init__(items)
        self.tally = tally

    def __setitem__(self, k: Any, v: Any) -> None:
        self.tally.entries += 1
        super().__setitem__(k, v)

    def __delitem__(self, k: Any) -> None:
        self.tally.entries += 1
        super().__delitem__(k)

    def pop(self, *args: Any) -> Any:
        self.tally.entries += 1
        return super().pop(*args)

    def move_to_end(self, k: Any, last: bool = True) -> None:
        self.tally.entries += 1
        super().move_to_end(k, last)


def pipes(n: int, tally: Tally, *, out_hwm: int = 0) -> list[CountingPipe]:
    made = []
    for i in range(n):
        p = CountingPipe(MsgQueue(0), MsgQueue(out_hwm), f"p{i}")
        p.tally = tally
        made.append(p)
    return made


def instrument(policy: Any, tally: Tally) -> None:
    """From now on, count what the policy does to its collections: a round-robin's
    members and line of eligible pipes, a distributor's list and position map."""
    if hasattr(policy, "ready"):
        policy.members = CountingDict(policy.members, tally)
        policy.ready = CountingOrderedDict(policy.ready, tally)
    else:
        policy.pipes = CountingList(policy.pipes, tally)
        policy._pos = CountingDict(policy._pos, tally)


def absent(pipe: Pipe, policy: Any) -> bool:
    """``pipe`` is not in the policy's list (checked by identity: not counted)."""
    return all(p is not pipe for p in policy.pipes)


def work(n: int, script: Callable[[list[CountingPipe], Tally], Any]) -> tuple[int, int]:
    tally = Tally()
    script(pipes(n, tally), tally)
    return tally.comparisons, tally.entries


def fair_queue_script(ps: list[CountingPipe], tally: Tally) -> None:
    fq = FairQueue()
    for p in ps:
        fq.attach(p)
    instrument(fq, tally)
    tally.comparisons = tally.entries = 0
    n = len(ps)
    for k in (0, n // 2, n - 1, n // 3):
        # A message arrives on pipe k, the socket is told, the message is read and
        # the pipe, drained, goes back behind the active ones.
        ps[k].in_q.put([b"m"])
        fq.activated(ps[k])
        assert fq.recv_msg() == [b"m"]
        assert fq.recv_msg() is None
    # Input on three pipes at once, read round-robin.
    for k in (n - 1, 1, n // 2):
        ps[k].in_q.put_many([[b"a"], [b"b"]])
        fq.activated(ps[k])
    assert [fq.recv_msg() for _ in range(6)] == [[b"a"]] * 3 + [[b"b"]] * 3
    # Peers leave: one in the middle with nothing unread, one with a message left.
    gone = ps[n // 2]
    gone.state = "terminated"
    detach_fq(fq, gone)
    last = ps[n - 2]
    last.in_q.put([b"late"])
    fq.activated(last)
    last.state = "terminated"
    detach_fq(fq, last)
    assert fq.recv_msg() == [b"late"]
    assert absent(gone, fq) and absent(last, fq)


def load_balancer_script(ps: list[CountingPipe], tally: Tally) -> None:
    lb = LoadBalancer()
    for p in ps:
        p.out_q.hwm = 1
        lb.attach(p)
    for p in ps:  # every pipe gets one message: now all are at their HWM
        assert lb.send([b"fill"]) is p
    assert lb.send([b"refused"]) is None  # the balancer parks every pipe
    instrument(lb, tally)
    tally.comparisons = tally.entries = 0
    n = len(ps)
    for k in (n // 2, 0, n - 1):
        # The engine writes pipe k's message; the socket passes the wake-up on.
        ps[k].out_q.get()
        lb.activated(ps[k])
        assert lb.send([b"m"]) is ps[k]
        assert lb.send([b"m"]) is None
    lb.detach(ps[n // 3])
    lb.detach(ps[n - 1])
    assert absent(ps[n // 3], lb) and absent(ps[n - 1], lb)


def distributor_script(ps: list[CountingPipe], tally: Tally) -> None:
    dist = Distributor()
    for p in ps:
        dist.attach(p)
    instrument(dist, tally)
    tally.comparisons = tally.entries = 0
    n = len(ps)
    for k in (n // 2, 0, n - 1, n // 3):
        dist.detach(ps[k])
        assert absent(ps[k], dist)
    dist.detach(ps[0])  # twice: a no-op
    dist.attach(ps[0])
    dist.send(list([b"m"]), [ps[0], ps[1]])
    assert len(ps[0].out_q) == len(ps[1].out_q) == 1


@pytest.mark.parametrize(
    "script",
    [fair_queue_script, load_balancer_script, distributor_script],
    ids=["FairQueue", "LoadBalancer", "Distributor"],
)
def test_routing_work_is_the_same_for_10_or_10000_pipes(script: Any):
    small, large = work(SMALL, script), work(LARGE, script)
    assert large == small, f"10 pipes: {small}, 10,000 pipes: {large} (comparisons, entries)"
    assert small[0] == 0, "pipes were found by comparing them one by one"
