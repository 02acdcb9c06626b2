"""Properties of the publish-subscribe policies (RFC 29/PUBSUB), sans-IO: the
:class:`~zmtp.routing.SubscriptionTrie` filter and the :class:`~zmtp.routing.Distributor`
fan-out.

* **SubscriptionTrie** (RFC 29: a publisher "SHALL perform a binary comparison of the
  subscription against the start of the first frame of the message"; RFC 37:
  subscriptions are counted). A state machine drives ``add``/``remove``/``remove_key``
  with random prefixes and keys and compares every answer (``match``, ``matches``,
  ``count``, the return values of the mutators, ``len``, ``prefixes``) with a naive
  model: a reference count per (prefix, key) and a linear scan of ``startswith``.
  The matching cost is checked by counting dictionary lookups, never by the clock.
* **Distributor** (RFC 29: "SHALL silently drop the message if the queue for a
  subscriber is full", "SHALL NOT block on sending"; ``xpub_nodrop`` waits instead).
"""

from __future__ import annotations

import collections
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from zmtp.routing import Distributor, MsgQueue, Pipe, SubscriptionTrie

# A small alphabet so that prefixes collide, nest and share lengths often.
prefixes = st.binary(max_size=3).map(lambda b: bytes(x % 3 + 97 for x in b))  # a, b, c
topics = st.binary(max_size=5).map(lambda b: bytes(x % 4 + 97 for x in b))  # a..d
keys = st.sampled_from([None, "p1", "p2", "p3"])


# ---------------------------------------------------------------------------------------
# SubscriptionTrie: the model


class TrieMachine(RuleBasedStateMachine):
    """The trie against a dict ``(prefix, key) -> count`` and a linear ``startswith`` scan."""

    def __init__(self) -> None:
        super().__init__()
        self.trie: SubscriptionTrie[Any] = SubscriptionTrie()
        self.model: collections.Counter[tuple[bytes, Any]] = collections.Counter()

    def subscribed(self) -> set[bytes]:
        return {p for (p, _), n in self.model.items() if n > 0}

    @rule(prefix=prefixes, key=keys)
    def add(self, prefix: bytes, key: Any) -> None:
        was_new = prefix not in self.subscribed()
        assert self.trie.add(prefix, key) is was_new
        self.model[prefix, key] += 1

    @rule(prefix=prefixes, key=keys)
    def remove(self, prefix: bytes, key: Any) -> None:
        if self.model[prefix, key] == 0:
            before = sorted(self.trie.prefixes())
            assert self.trie.remove(prefix, key) is False, "removed what was never added"
            assert sorted(self.trie.prefixes()) == before
            return
        self.model[prefix, key] -= 1
        assert self.trie.remove(prefix, key) is (prefix not in self.subscribed())

    @rule(key=keys)
    def remove_key(self, key: Any) -> None:
        before = self.subscribed()
        for pk in [pk for pk in self.model if pk[1] == key]:
            del self.model[pk]
        assert sorted(self.trie.remove_key(key)) == sorted(before - self.subscribed())

    @rule(topic=topics)
    def match(self, topic: bytes) -> None:
        expected = {k for (p, k), n in self.model.items() if n > 0 and topic.startswith(p)}
        assert self.trie.match(topic) == expected
        assert self.trie.matches(topic) is bool(expected)

    @rule(prefix=prefixes, key=keys)
    def count(self, prefix: bytes, key: Any) -> None:
        assert self.trie.count(prefix, key) == self.model[prefix, key]

    @invariant()
    def distinct_prefixes_agree(self) -> None:
        subscribed = self.subscribed()
        assert len(self.trie) == len(subscribed)
        assert set(self.trie.prefixes()) == subscribed
        assert bool(self.trie) is bool(subscribed)
        for p in subscribed:
            assert p in self.trie

    @invariant()
    def length_index_is_in_sync(self) -> None:
        # The module's warning: the lengths in use must follow every add and drop, or
        # match would skip (or waste lookups on) a length.
        lengths = collections.Counter(len(p) for p in self.subscribed())
        assert self.trie._lengths == dict(lengths)
        assert self.trie._sorted == sorted(lengths)


TestTrieAgainstModel = TrieMachine.TestCase


# ---------------------------------------------------------------------------------------
# SubscriptionTrie: examples


@given(topic=st.binary(max_size=20))
def test_empty_prefix_matches_every_topic_even_the_empty_one(topic: bytes):
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add(b"", "p")
    assert trie.matches(topic)
    assert trie.match(topic) == {"p"}


def test_no_subscription_matches_nothing():
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    assert not trie.matches(b"")
    assert trie.match(b"anything") == set()


def test_prefix_comparison_is_binary_and_case_sensitive():
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add(b"W\x00\xff", "p")
    assert trie.matches(b"W\x00\xff and more")
    assert not trie.matches(b"w\x00\xff")
    assert not trie.matches(b"W\x00")  # shorter than the prefix


def test_a_subscription_counted_n_times_needs_n_removals():
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    assert trie.add(b"A", "p") is True
    assert trie.add(b"A", "p") is False
    assert trie.add(b"A", "p") is False
    assert trie.count(b"A", "p") == 3
    assert trie.remove(b"A", "p") is False
    assert trie.remove(b"A", "p") is False
    assert trie.match(b"A1") == {"p"}
    assert trie.remove(b"A", "p") is True
    assert trie.match(b"A1") == set()
    assert trie.remove(b"A", "p") is False  # one too many: nothing to undo


def test_a_prefix_stays_until_its_last_key_goes():
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add(b"A", "p1")
    trie.add(b"A", "p2")
    assert trie.remove(b"A", "p1") is False
    assert trie.match(b"A") == {"p2"}
    assert trie.remove_key("p2") == [b"A"]
    assert not trie


class CountingDict(dict):  # type: ignore[type-arg]
    """A dict that counts the lookups ``match``/``matches`` make."""

    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        self.lookups += 1
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.lookups += 1
        return super().__contains__(key)


def lookups_of(trie: SubscriptionTrie[Any], topic: bytes, *, any_match: bool = False) -> int:
    """How many dictionary lookups one ``match`` (or ``matches``) of ``topic`` costs."""
    counting = CountingDict(trie._subs)
    trie._subs = counting
    try:
        if any_match:
            trie.matches(topic)
        else:
            trie.match(topic)
    finally:
        trie._subs = dict(counting)
    return counting.lookups


def trie_with(n_subscriptions: int, lengths: list[int]) -> SubscriptionTrie[int]:
    """``n_subscriptions`` distinct topics spread over ``lengths``, each for its own key,
    none a prefix of b"~" * 16."""
    trie: SubscriptionTrie[int] = SubscriptionTrie()
    for i in range(n_subscriptions):
        size = lengths[i % len(lengths)]
        trie.add((b"%0*d" % (size, i))[-size:], i)
    return trie


def test_match_cost_does_not_grow_with_the_number_of_subscriptions():
    topic = b"~" * 16
    small = trie_with(10, [1, 4, 8])
    large = trie_with(20_000, [1, 4, 8])
    assert len(small) <= 10 < 10_000 < len(large)
    # One lookup per distinct prefix length not longer than the topic, however many
    # subscriptions (or subscribers) there are.
    assert lookups_of(small, topic) == lookups_of(large, topic) == 3
    assert lookups_of(large, topic, any_match=True) == 3


def test_match_asks_only_lengths_in_use_that_fit_the_topic():
    trie = trie_with(1000, [2, 5, 9])
    assert lookups_of(trie, b"~" * 4) == 1  # lengths 5 and 9 cannot fit
    assert lookups_of(trie, b"~" * 9) == 3
    trie.add(b"", -1)
    assert lookups_of(trie, b"~" * 9) == 4


def test_matches_stops_at_the_first_hit():
    trie = trie_with(1000, [2, 5, 9])
    trie.add(b"~", -1)
    assert lookups_of(trie, b"~" * 9, any_match=True) == 1


# ---------------------------------------------------------------------------------------
# Distributor


def sub_pipe(name: str, hwm: int) -> Pipe:
    return Pipe(MsgQueue(0), MsgQueue(hwm), name)


def test_distributor_drops_for_a_full_pipe_and_counts_it():
    dist = Distributor()
    fast, slow = sub_pipe("fast", 0), sub_pipe("slow", 2)
    dist.attach(fast)
    dist.attach(slow)
    for i in range(5):
        assert dist.send_to_all([b"%d" % i]) is True  # never "would block"
    assert [m[0] for m in fast.out_q.items] == [b"0", b"1", b"2", b"3", b"4"]
    assert [m[0] for m in slow.out_q.items] == [b"0", b"1"]
    assert dist.dropped == 3
    slow.out_q.get()
    dist.send_to_all([b"5"])
    assert [m[0] for m in slow.out_q.items] == [b"1", b"5"]
    assert dist.dropped == 3


def test_distributor_nodrop_writes_nothing_and_marks_the_full_producers_blocked():
    dist = Distributor()
    roomy, full_a, full_b = sub_pipe("roomy", 0), sub_pipe("a", 1), sub_pipe("b", 1)
    for p in (roomy, full_a, full_b):
        dist.attach(p)
    assert dist.send_to_all([b"first"], nodrop=True) is True
    woken: list[str] = []
    full_a.out_q.wake_producer = lambda: woken.append("a")
    assert dist.send_to_all([b"second"], nodrop=True) is False
    assert [len(p.out_q) for p in (roomy, full_a, full_b)] == [1, 1, 1]
    assert dist.dropped == 0
    assert full_a.out_q.producer_blocked and full_b.out_q.producer_blocked
    assert not roomy.out_q.producer_blocked
    full_a.out_q.get()  # the engine made room: the socket is told to try again
    assert woken == ["a"]


def test_distributor_hands_one_list_to_encoding_pipes_and_a_copy_to_inproc_ones():
    """An engine writer only reads a message's frames, so the pipes it drains share
    one list; an inproc peer keeps the list it receives (and takes frames off it), so
    each gets its own. Frames are never copied."""
    dist = Distributor()
    encoded = [sub_pipe(f"tcp{i}", 0) for i in range(3)]
    inproc = [Pipe.pair(0, 0, f"inproc://x{i}")[0] for i in range(2)]
    assert all(p.exclusive_msgs for p in inproc) and not any(p.exclusive_msgs for p in encoded)
    for p in encoded + inproc:
        dist.attach(p)
    msg = [b"topic", b"body"]
    dist.send_to_all(msg)
    shared = [p.out_q.items[0] for p in encoded]
    own = [p.out_q.items[0] for p in inproc]
    assert all(m is msg for m in shared), "a per-pipe copy for a pipe an engine encodes from"
    assert all(m == msg and m is not msg for m in own)
    assert own[0] is not own[1], "two inproc peers share one list"
    assert all(m[1] is msg[1] for m in shared + own), "frames were copied"
    own[0].pop()  # an inproc receiver taking frames off its list harms nobody else
    assert own[1] == msg and shared[0] == [b"topic", b"body"]


def test_distributor_skips_terminated_and_detached_pipes():
    dist = Distributor()
    live, gone, detached = sub_pipe("live", 0), sub_pipe("gone", 0), sub_pipe("detached", 0)
    for p in (live, gone, detached):
        dist.attach(p)
    gone.state = "terminated"
    dist.detach(detached)
    dist.detach(detached)  # twice is harmless
    dist.send_to_all([b"m"])
    assert [len(p.out_q) for p in (live, gone, detached)] == [1, 0, 0]
    assert dist.dropped == 0


@given(
    queues=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), min_size=1, max_size=6),
    nodrop=st.booleans(),
)
def test_distributor_delivers_once_to_every_pipe_with_room(
    queues: list[tuple[int, int]], nodrop: bool
):
    """Each pipe has a HWM (0: none) and starts with up to HWM messages queued."""
    dist = Distributor()
    pipes = []
    for i, (hwm, fill) in enumerate(queues):
        p = sub_pipe(f"p{i}", hwm)
        for _ in range(min(fill, hwm) if hwm else fill):
            p.out_q.put([b"old"])
        dist.attach(p)
        pipes.append(p)
    before = [len(p.out_q) for p in pipes]
    full = [p.out_q.full() for p in pipes]
    sent = dist.send_to_all([b"new"], nodrop=nodrop)
    after = [len(p.out_q) for p in pipes]
    if nodrop and any(full):
        assert sent is False
        assert after == before
        assert dist.dropped == 0
    else:
        assert sent is True
        assert after == [b + (not f) for b, f in zip(before, full, strict=True)]
        assert dist.dropped == sum(full)
