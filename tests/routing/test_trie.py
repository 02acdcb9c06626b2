"""Properties of the publish-subscribe policies (RFC 29/PUBSUB), sans-IO: the
:class:`~zmtp.routing.SubscriptionTrie` filter and the :class:`~zmtp.routing.Distributor`
fan-out.

* **SubscriptionTrie** (RFC 29: a publisher "SHALL perform a binary comparison of the
  subscription against the start of the first frame of the message"; RFC 37:
  subscriptions are counted). State machines drive ``add``/``remove``/``remove_key``
  with random prefixes and keys (short ones that collide often, and long nested ones
  that split, mark and merge edges) and compare every answer (``match``, ``matches``,
  ``count``, the return values of the mutators, ``len``, ``prefixes``) with a naive
  model: a reference count per (prefix, key) and a linear scan of ``startswith``;
  after every step the trie must be in its canonical form. The matching cost is
  checked by counting the operations a walk makes on the topic, never by the clock.
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
from zmtp.routing.trie import _NONE, _Node

# A small alphabet so that prefixes collide, nest and share lengths often.
prefixes = st.binary(max_size=3).map(lambda b: bytes(x % 3 + 97 for x in b))  # a, b, c
topics = st.binary(max_size=5).map(lambda b: bytes(x % 4 + 97 for x in b))  # a..d
keys = st.sampled_from([None, "p1", "p2", "p3"])
# Long prefixes over two letters: deep nesting, edges split and merged, marks.
long_prefixes = st.binary(max_size=9).map(lambda b: bytes(x % 2 + 97 for x in b))
long_topics = st.binary(max_size=12).map(lambda b: bytes(x % 3 + 97 for x in b))


def check_canonical(trie: SubscriptionTrie[Any]) -> None:
    """The trie's layout rules (see the module's theory of operation), and its
    counters, checked node by node."""
    root = trie._root
    assert isinstance(root, _Node) and root.label == b"" and root.inner is None
    places = 0
    per_key: collections.Counter[Any] = collections.Counter()

    def value_ok(v: Any) -> None:
        nonlocal places
        assert v is not _NONE
        places += 1
        if type(v) is dict:
            assert v and all(n >= 1 for n in v.values())
            assert not (len(v) == 1 and next(iter(v.values())) == 1), "not compact"
            per_key.update(v.keys())
        else:
            per_key[v] += 1

    stack = [(root, True)]
    while stack:
        node, is_root = stack.pop()
        if node.value is not _NONE:
            value_ok(node.value)
        assert len(node.keys) == len(node.kids) == len(set(node.keys))
        for first, kid in zip(node.keys, node.kids, strict=True):
            assert kid.label and kid.label[0] == first
            stack.append((kid, False))
        if is_root:
            continue
        if node.kids:
            assert isinstance(node, _Node) and len(node.kids) >= 2, "a branch of one"
        else:
            assert node.value is not _NONE, "a leaf that ends at no subscription"
        marks = node.inner
        if marks is not None:
            ends = list(marks.ends)
            assert ends and ends == sorted(set(ends)), ends
            assert ends[0] > 0 and ends[-1] < len(node.label)
            assert len(marks.vals) == len(ends)
            union: collections.Counter[Any] = collections.Counter()
            for v in marks.vals:
                value_ok(v)
                union.update(v.keys() if type(v) is dict else [v])
            assert marks.union == dict(union)
    assert len(trie) == places
    assert trie._keys == dict(per_key)


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
    def add_once(self, prefix: bytes, key: Any) -> None:
        """A publisher's peer: subscribed or not, however often it asks."""
        was_new = prefix not in self.subscribed()
        assert self.trie.add(prefix, key, once=True) is was_new
        self.model[prefix, key] = max(self.model[prefix, key], 1)

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
    def structure_is_canonical(self) -> None:
        check_canonical(self.trie)


TestTrieAgainstModel = TrieMachine.TestCase


class LongPrefixTrieMachine(TrieMachine):
    """The same model with long prefixes over two letters: nested subscriptions become
    marks along one edge, and edges are split and merged as prefixes come and go."""

    @rule(prefix=long_prefixes, key=keys)
    def add_long(self, prefix: bytes, key: Any) -> None:
        self.add(prefix, key)

    @rule(prefix=long_prefixes, key=keys)
    def add_once_long(self, prefix: bytes, key: Any) -> None:
        self.add_once(prefix, key)

    @rule(prefix=long_prefixes, key=keys)
    def remove_long(self, prefix: bytes, key: Any) -> None:
        self.remove(prefix, key)

    @rule(topic=long_topics)
    def match_long(self, topic: bytes) -> None:
        self.match(topic)

    @rule(prefix=long_prefixes, key=keys)
    def count_long(self, prefix: bytes, key: Any) -> None:
        self.count(prefix, key)


TestLongPrefixTrieAgainstModel = LongPrefixTrieMachine.TestCase


@given(
    subs=st.lists(st.tuples(long_prefixes, keys), max_size=40),
    drop=st.lists(st.tuples(long_prefixes, keys), max_size=20),
    topic=long_topics,
)
def test_match_equals_a_linear_scan_of_the_subscriptions(
    subs: list[tuple[bytes, Any]], drop: list[tuple[bytes, Any]], topic: bytes
):
    trie: SubscriptionTrie[Any] = SubscriptionTrie()
    model: collections.Counter[tuple[bytes, Any]] = collections.Counter()
    for prefix, key in subs:
        trie.add(prefix, key)
        model[prefix, key] += 1
    for prefix, key in drop:
        trie.remove(prefix, key)
        if model[prefix, key]:
            model[prefix, key] -= 1
    check_canonical(trie)
    expected = {k for (p, k), n in model.items() if n and topic.startswith(p)}
    assert trie.match(topic) == expected
    assert trie.matches(topic) is bool(expected)
    assert trie.match(memoryview(topic)) == expected  # frames may arrive as views


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


class CountingTopic(bytes):
    """A topic that counts what a walk asks of it: each octet read, each slice, each
    ``startswith``. A walk makes a few of these per node it visits, so the count is
    the walk's length."""

    def __new__(cls, data: bytes) -> CountingTopic:
        obj = super().__new__(cls, data)
        obj.ops = 0
        return obj

    def __getitem__(self, index: Any) -> Any:
        self.ops += 1
        return super().__getitem__(index)

    def startswith(self, *args: Any) -> bool:
        self.ops += 1
        return super().startswith(*args)


def ops_of(trie: SubscriptionTrie[Any], topic: bytes, *, any_match: bool = False) -> int:
    """How many operations on the topic one ``match`` (or ``matches``) makes."""
    counted = CountingTopic(topic)
    if any_match:
        trie.matches(counted)
    else:
        trie.match(counted)
    return counted.ops


def numbered(n: int, key: Any = None, *, start: int = 0) -> SubscriptionTrie[Any]:
    """``n`` subscriptions ``news/<i>``, each for its own key unless ``key`` is given."""
    trie: SubscriptionTrie[Any] = SubscriptionTrie()
    for i in range(start, start + n):
        trie.add(b"news/%d" % i, i if key is None else key)
    return trie


def test_a_walk_that_leaves_the_trie_at_once_costs_the_same_for_10_or_20000_subscriptions():
    small, large = numbered(10), numbered(20_000)
    for topic in (b"sport/" + b"x" * 4000, b"news/x" + b"y" * 4000):
        assert ops_of(small, topic) == ops_of(large, topic) <= 4
        assert ops_of(small, topic, any_match=True) == ops_of(large, topic, any_match=True) <= 4


def test_match_cost_does_not_grow_with_the_number_of_distinct_prefix_lengths():
    """1,000 nested subscriptions (every length from 1 to 1,000 of one topic) cost what
    ten do: they are marks along one edge, passed in one step."""
    tries = []
    for lengths in (10, 1000):
        trie: SubscriptionTrie[str] = SubscriptionTrie()
        for n in range(1, lengths + 1):
            trie.add(b"a" * n, "deep")
        trie.add(b"b", "other")  # a second key: no early stop after the first match
        tries.append(trie)
    small, large = tries
    for topic in (b"a" * 4096, b"a" * 5 + b"x" * 4091, b"b" * 4096, b"c" * 4096):
        assert ops_of(small, topic) == ops_of(large, topic) <= 4, topic[:8]
        assert ops_of(small, topic, any_match=True) == ops_of(large, topic, any_match=True) <= 4
    assert large.match(b"a" * 4096) == {"deep"}
    assert large.match(b"a" * 5 + b"x") == {"deep"}
    assert large.match(b"ab") == {"deep", "other"} - {"other"}
    assert small.match(b"a" * 20) == {"deep"}


def test_match_cost_grows_with_the_branching_nodes_on_the_path_not_the_topic_length():
    trie: SubscriptionTrie[str] = SubscriptionTrie()
    trie.add(b"x", "decoy")  # a key that never matches: the walk cannot stop early
    for depth in range(1, 6):
        # a branch at every 100th octet: "aaa...a" + "b" at depths 100, 200, ...
        trie.add(b"a" * (100 * depth) + b"b", "p")
    assert ops_of(trie, b"a" * 4096) <= 2 * 6 + 1
    assert trie.match(b"a" * 4096) == set()
    assert trie.match(b"a" * 300 + b"b") == {"p"}


def test_match_stops_once_every_key_is_found():
    """With one subscriber (one key), the first subscription that matches decides."""
    trie = numbered(1000, key="only")
    for n in range(1, 2000):
        trie.add(b"n" * n, "only")  # long nested chain, all the same key
    trie.add(b"n", "only")
    assert ops_of(trie, b"n" * 4096) <= 3  # the first octet read, one startswith
    assert trie.match(b"n" * 4096) == {"only"}
    assert ops_of(trie, b"news/7" + b"z" * 4000) <= 6


def test_matches_stops_at_the_first_hit():
    trie = numbered(1000)
    trie.add(b"n", -1)
    assert ops_of(trie, b"news/1234", any_match=True) == 2


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
