"""Prefix subscriptions with reference counts (RFC 29/PUBSUB, RFC 37 "The
Publish-Subscribe Pattern"): the filter of PUB, XPUB, SUB and XSUB.

A subscription is a prefix: ``b"A"`` matches every message whose first frame starts
with ``A``, and ``b""`` matches everything. Subscriptions are additive and counted:
subscribing twice to ``A`` needs two unsubscriptions (RFC 37). Each subscription
belongs to a *key* (a pipe on the publisher side; nothing on the subscriber side).

Theory of operation
-------------------
The subscriptions live in a compressed (radix) trie whose edges are byte strings.
Each node holds the edge that leads to it (``label``, its first octet included), the
octets its children's edges start with (``keys``, one ``bytes`` object searched
with :meth:`bytes.find`) and the children themselves (``kids``, a tuple in the same
order). A subscription sits where its prefix ends: at the end of a node's label
(``value``) or, when it ends part-way along an edge that nothing branches from, as a
*mark* at that offset (``inner``)::

    subscriptions  b"ab"  b"abcd"  b"abx"  b"q"

    root ─ keys b"aq"
     ├─ "ab"  value {p}           keys b"cx"
     │   ├─ "cd"   value {p}                      (leaf)
     │   └─ "x"    value {p}                      (leaf)
     └─ "q"   value {p}                           (leaf)

    subscriptions  b"a"  b"aa"  b"aaa" ... (1,000 nested lengths, nothing branching)

    root ─ "aaa...a"  value {p}, marks at offsets 1, 2, ... 999   (one leaf)

Matching a topic walks down from the root: one ``find`` and one ``startswith`` per
node on the topic's path, so the walk costs one step per *branching* node, stops
where the topic leaves the trie, and never depends on how many subscriptions (or
how many distinct prefix lengths) there are. A node's marks are matched together:
a node passed whole adds the union of its marks' keys (kept per node), a node the
topic leaves part-way adds the marks before the point where it diverged (a binary
search). ``match`` also stops as soon as every key with a subscription has been
found, so a publisher with one subscriber is decided by the first match.

Kept in canonical form, which the mutators restore after every change: a node other
than the root has a non-empty label; a leaf ends at a subscription (its ``value``);
an inner node other than the root has at least two children (a node with one child
is merged into it); marks sit strictly inside a label, in increasing order. The
shape is then unique for a set of prefixes (only the order of children depends on
history).

Memory: a value is the key itself while one key holds the prefix once (the common
case: one peer per topic on a publisher, one subscription per topic on a
subscriber), and a ``{key: count}`` dict only beyond that; leaves carry no child
fields; an edge of one octet is CPython's shared one-octet ``bytes``. Measured
with tracemalloc for 100k subscriptions: ~20 bytes each when they nest (marks),
~80 for numbered topics (``topic.%010d``), ~160 for random 16-octet topics that
share nothing.

Sans-IO.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar, cast

__all__ = ["SubscriptionTrie"]

K = TypeVar("K", bound=Hashable)

#: The key of subscriptions that belong to no pipe (a SUB socket's own list).
LOCAL = None


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no subscription>"


#: The value of a place where no subscription ends (a key may be None, so not None).
_NONE: Any = _Absent()

# A value is _NONE, one key (held once), or a dict {key: count} (anything else).
# Keys are hashable, so never a dict: ``type(v) is dict`` tells the two forms apart.


def _v_count(v: Any, key: Any) -> int:
    if v is _NONE:
        return 0
    if type(v) is dict:
        return v.get(key, 0)  # type: ignore[no-any-return]
    return 1 if v is key or v == key else 0


def _v_add(v: Any, key: Any) -> tuple[Any, bool]:
    """``v`` with one more subscription of ``key``; True if ``key`` is new there."""
    if v is _NONE:
        return key, True
    if type(v) is dict:
        n = v.get(key, 0)
        v[key] = n + 1
        return v, n == 0
    if v is key or v == key:
        return {key: 2}, False
    return {v: 1, key: 1}, True


def _v_remove(v: Any, key: Any, every: bool) -> tuple[Any, bool]:
    """``v`` with one (or, with ``every``, all) subscriptions of ``key`` fewer;
    True if ``key`` no longer holds it. ``key`` must hold it."""
    if type(v) is not dict:
        return _NONE, True
    n = v[key]
    if n > 1 and not every:
        v[key] = n - 1
        left = False
    else:
        del v[key]
        left = True
        if not v:
            return _NONE, True
    if len(v) == 1:
        ((k, c),) = v.items()
        if c == 1:
            return k, left  # back to the compact form
    return v, left


def _v_keys(v: Any) -> Any:
    """The keys of a value that is not _NONE (an iterable)."""
    return v if type(v) is dict else (v,)


def _common(label: bytes, topic: bytes, pos: int) -> int:
    """The length of the common prefix of ``label`` and ``topic[pos:]``."""
    m = min(len(label), len(topic) - pos)
    if m <= 0:
        return 0
    a = label if m == len(label) else label[:m]
    x = int.from_bytes(a, "big") ^ int.from_bytes(topic[pos : pos + m], "big")
    if not x:
        return m
    # The highest differing bit lies in the first octet that differs.
    return m - 1 - (x.bit_length() - 1) // 8


class _Marks:
    """Subscriptions that end inside a node's label: offsets, values, and how many
    of them each key holds (so a node passed whole adds its keys at once)."""

    __slots__ = ("ends", "union", "vals")

    def __init__(self) -> None:
        self.ends = array("Q")
        self.vals: list[Any] = []
        self.union: dict[Any, int] = {}

    def insert(self, at: int, v: Any) -> None:
        i = bisect_left(self.ends, at)
        self.ends.insert(i, at)
        self.vals.insert(i, v)
        union = self.union
        for k in _v_keys(v):
            union[k] = union.get(k, 0) + 1

    def pop(self, i: int) -> tuple[int, Any]:
        at = self.ends.pop(i)
        v = self.vals.pop(i)
        union = self.union
        for k in _v_keys(v):
            n = union[k]
            if n == 1:
                del union[k]
            else:
                union[k] = n - 1
        return at, v

    def find(self, at: int) -> int:
        """The index of the mark at offset ``at``, or -1."""
        ends = self.ends
        i = bisect_left(ends, at)
        return i if i < len(ends) and ends[i] == at else -1

    def key_added(self, k: Any) -> None:
        self.union[k] = self.union.get(k, 0) + 1

    def key_removed(self, k: Any) -> None:
        n = self.union[k]
        if n == 1:
            del self.union[k]
        else:
            self.union[k] = n - 1


class _Leaf:
    """A node without children (it always ends at a subscription)."""

    __slots__ = ("inner", "label", "value")

    #: A leaf has no children: the fields of :class:`_Node`, empty, for the walk.
    keys = b""
    kids: tuple[Any, ...] = ()

    def __init__(self, label: bytes, value: Any) -> None:
        self.label = label
        self.value = value
        self.inner: _Marks | None = None


class _Node(_Leaf):
    """A node with children (the root, or a branch of at least two)."""

    __slots__ = ("keys", "kids")

    def __init__(self, label: bytes, value: Any = _NONE) -> None:
        super().__init__(label, value)
        self.keys = b""
        self.kids: tuple[_Leaf, ...] = ()


def _shift_marks(target: _Leaf, marks: _Marks | None, by: int, upto: int | None = None) -> None:
    """Add ``marks`` (offsets shifted by ``by``; only those below ``upto``) to
    ``target``."""
    if marks is None:
        return
    for at, v in zip(marks.ends, marks.vals, strict=True):
        if upto is not None and at >= upto:
            break
        _put_mark(target, at + by, v)


def _put_mark(node: _Leaf, at: int, v: Any) -> None:
    if node.inner is None:
        node.inner = _Marks()
    node.inner.insert(at, v)


class SubscriptionTrie(Generic[K]):
    """Counted prefix subscriptions, per key."""

    __slots__ = ("_count", "_keys", "_root")

    def __init__(self) -> None:
        self._root = _Node(b"")
        self._count = 0  # distinct prefixes with a subscription
        self._keys: dict[K | None, int] = {}  # key -> how many prefixes it holds

    def __len__(self) -> int:
        """The number of distinct prefixes subscribed."""
        return self._count

    def __contains__(self, prefix: object) -> bool:
        if not isinstance(prefix, (bytes, bytearray, memoryview)):
            return False
        return self._get(bytes(prefix)) is not _NONE

    def __bool__(self) -> bool:
        return self._count > 0

    def keys(self) -> Iterator[K | None]:
        """The keys holding at least one subscription."""
        return iter(self._keys)

    def prefixes(self) -> Iterator[bytes]:
        """Every subscribed prefix (depth first)."""
        stack: list[tuple[_Leaf, bytes]] = [(self._root, b"")]
        while stack:
            node, before = stack.pop()
            here = before + node.label
            if node.inner is not None:
                for at in node.inner.ends:
                    yield here[: len(before) + at]
            if node.value is not _NONE:
                yield here
            for kid in reversed(node.kids):
                stack.append((kid, here))

    def count(self, prefix: bytes, key: K | None = LOCAL) -> int:
        """How many times ``key`` subscribed to ``prefix`` (net of unsubscriptions)."""
        return _v_count(self._get(bytes(prefix)), key)

    # -- finding a place ---------------------------------------------------------------

    def _find(self, prefix: bytes) -> tuple[list[tuple[_Node, int]], _Leaf, int] | None:
        """Where ``prefix`` ends: (the path of (parent, child index) pairs, the node,
        the offset in its label), or None if the trie has no such place."""
        node: _Leaf = self._root
        path: list[tuple[_Node, int]] = []
        pos = 0
        n = len(prefix)
        while pos < n:
            i = node.keys.find(prefix[pos])
            if i < 0:
                return None
            parent = node
            node = node.kids[i]
            path.append((parent, i))  # type: ignore[arg-type]
            label = node.label
            end = pos + len(label)
            if end <= n:
                if not prefix.startswith(label, pos):
                    return None
                pos = end
                continue
            if not label.startswith(prefix[pos:]):
                return None
            return path, node, n - pos
        return path, node, len(node.label)

    def _get(self, prefix: bytes) -> Any:
        place = self._find(prefix)
        if place is None:
            return _NONE
        _, node, at = place
        if at == len(node.label):
            return node.value
        marks = node.inner
        if marks is None:
            return _NONE
        i = marks.find(at)
        return _NONE if i < 0 else marks.vals[i]

    # -- mutators ----------------------------------------------------------------------

    def add(self, prefix: bytes, key: K | None = LOCAL, *, once: bool = False) -> bool:
        """Count one subscription; True if ``prefix`` had no subscription before.

        With ``once``, a key that already holds ``prefix`` keeps its count (a
        publisher's peer is subscribed to a topic or not, whatever it repeats).
        """
        if type(prefix) is not bytes:
            prefix = bytes(prefix)
        node: _Leaf = self._root
        at_root = True
        pos = 0
        n = len(prefix)
        while True:
            if pos == n:  # the prefix ends where this node's label ends
                old = node.value
                if once and _v_count(old, key):
                    return False
                node.value, fresh = _v_add(old, key)
                return self._added(key, fresh, old is _NONE)
            if not node.kids and not at_root:
                # A leaf: extend its edge; its old end becomes a mark.
                _put_mark(node, len(node.label), node.value)
                node.label += prefix[pos:]
                node.value = key
                return self._added(key, True, True)
            i = node.keys.find(prefix[pos])
            if i < 0:  # a new child
                branch = cast(_Node, node)
                branch.keys += prefix[pos : pos + 1]
                branch.kids += (_Leaf(prefix[pos:], key),)
                return self._added(key, True, True)
            kid = node.kids[i]
            label = kid.label
            if prefix.startswith(label, pos):
                at_root = False
                node = kid
                pos += len(label)
                continue
            node = cast(_Node, node)
            m = _common(label, prefix, pos)
            if pos + m == n:  # the prefix ends part-way along the edge: a mark
                return self._add_mark(kid, m, key, once)
            # The prefix leaves the edge at offset m: split it there.
            mid = _Node(label[:m])
            marks = kid.inner
            if marks is not None:
                j = bisect_left(marks.ends, m)
                if j:
                    _shift_marks(mid, marks, 0, upto=m)
                    for _ in range(j):
                        marks.pop(0)
                if marks.ends and marks.ends[0] == m:
                    _, mid.value = marks.pop(0)
                if marks.ends:
                    for j in range(len(marks.ends)):
                        marks.ends[j] -= m
                else:
                    kid.inner = None
            kid.label = label[m:]
            new = _Leaf(prefix[pos + m :], key)
            mid.keys = kid.label[:1] + new.label[:1]
            mid.kids = (kid, new)
            node.kids = (*node.kids[:i], mid, *node.kids[i + 1 :])
            return self._added(key, True, True)

    def _add_mark(self, node: _Leaf, at: int, key: Any, once: bool) -> bool:
        marks = node.inner
        j = -1 if marks is None else marks.find(at)
        if marks is None or j < 0:
            _put_mark(node, at, key)
            return self._added(key, True, True)
        old = marks.vals[j]
        if once and _v_count(old, key):
            return False
        marks.vals[j], fresh = _v_add(old, key)
        if fresh:
            marks.key_added(key)
        return self._added(key, fresh, False)

    def _added(self, key: Any, fresh_key: bool, fresh_prefix: bool) -> bool:
        if fresh_key:
            self._keys[key] = self._keys.get(key, 0) + 1
        if fresh_prefix:
            self._count += 1
        return fresh_prefix

    def remove(self, prefix: bytes, key: K | None = LOCAL) -> bool:
        """Undo one subscription; True if ``prefix`` now has none at all.

        Removing a subscription that does not exist changes nothing and returns False.
        """
        return self._remove(bytes(prefix), key, every=False)

    def _remove(self, prefix: bytes, key: Any, every: bool) -> bool:
        place = self._find(prefix)
        if place is None:
            return False
        path, node, at = place
        if at == len(node.label):
            v = node.value
            if not _v_count(v, key):
                return False
            node.value, gone = _v_remove(v, key, every)
            if gone:
                self._key_gone(key)
            if node.value is not _NONE:
                return False
            self._count -= 1
            self._tidy(path, node)
            return True
        marks = node.inner
        j = -1 if marks is None else marks.find(at)
        if marks is None or j < 0 or not _v_count(marks.vals[j], key):
            return False
        v, gone = _v_remove(marks.vals[j], key, every)
        if gone:
            self._key_gone(key)
            marks.key_removed(key)
        if v is not _NONE:
            marks.vals[j] = v
            return False
        marks.ends.pop(j)
        marks.vals.pop(j)
        if not marks.ends:
            node.inner = None
        self._count -= 1
        return True

    def _key_gone(self, key: Any) -> None:
        n = self._keys[key]
        if n == 1:
            del self._keys[key]
        else:
            self._keys[key] = n - 1

    def _tidy(self, path: list[tuple[_Node, int]], node: _Leaf) -> None:
        """Restore the canonical form after the subscription at the end of ``node``'s
        label went away."""
        if not path:
            return  # the root keeps its (empty) place
        if node.kids:
            if len(node.kids) >= 2:
                return  # still a branch point
        elif node.inner is not None:
            # A leaf ends at its last mark from now on.
            at, node.value = node.inner.pop(len(node.inner.ends) - 1)
            node.label = node.label[:at]
            if not node.inner.ends:
                node.inner = None
            return
        else:
            # Nothing left here: the parent forgets the leaf ...
            parent, i = path[-1]
            parent.keys = parent.keys[:i] + parent.keys[i + 1 :]
            parent.kids = parent.kids[:i] + parent.kids[i + 1 :]
            if len(path) == 1 or len(parent.kids) >= 2:
                return
            # ... and a parent left with one child is merged into it.
            path = path[:-1]
            node = parent
        self._merge(path, node)  # type: ignore[arg-type]

    def _merge(self, path: list[tuple[_Node, int]], node: _Node) -> None:
        """Merge a non-root node that has one child into the child."""
        (kid,) = node.kids
        size = len(node.label)
        marks = kid.inner
        kid.inner = None
        _shift_marks(kid, node.inner, 0)
        if node.value is not _NONE:
            _put_mark(kid, size, node.value)
        _shift_marks(kid, marks, size)
        kid.label = node.label + kid.label
        parent, i = path[-1]
        parent.kids = (*parent.kids[:i], kid, *parent.kids[i + 1 :])

    def remove_key(self, key: K | None) -> list[bytes]:
        """Forget every subscription of ``key``; returns the prefixes left unused.

        One pass over the trie (as libzmq's ``rm`` of a pipe): nodes are visited
        children first, so each is tidied once its subtree is final.
        """
        if key not in self._keys:
            return []
        del self._keys[key]
        gone: list[bytes] = []
        # Preorder, children in order; its reverse visits every node after its
        # children, and a parent's children from the last to the first, so removing
        # a child never shifts the index of one still to be visited.
        order: list[tuple[_Leaf, bytes, _Node | None, int]] = []
        stack: list[tuple[_Leaf, bytes, _Node | None, int]] = [(self._root, b"", None, 0)]
        while stack:
            item = stack.pop()
            order.append(item)
            node, before, _, _ = item
            here = before + node.label
            for i in range(len(node.kids) - 1, -1, -1):
                stack.append((node.kids[i], here, node, i))  # type: ignore[arg-type]
        for node, before, parent, i in reversed(order):
            here = before + node.label
            marks = node.inner
            if marks is not None and key in marks.union:
                ends, vals = array("Q"), []
                for at, v in zip(marks.ends, marks.vals, strict=True):
                    if _v_count(v, key):
                        v, _ = _v_remove(v, key, True)
                        if v is _NONE:
                            gone.append(here[: len(before) + at])
                            continue
                    ends.append(at)
                    vals.append(v)
                del marks.union[key]
                marks.ends, marks.vals = ends, vals
                if not ends:
                    node.inner = None
            if _v_count(node.value, key):
                node.value, _ = _v_remove(node.value, key, True)
                if node.value is _NONE:
                    gone.append(here)
            if parent is None:
                continue  # the root keeps its place, whatever is left
            if len(node.kids) == 1:
                self._merge([(parent, i)], node)  # type: ignore[arg-type]
            elif node.kids:
                continue  # still a branch point
            elif node.value is not _NONE:
                if type(node) is _Node:  # its children went: a leaf from now on
                    leaf = _Leaf(node.label, node.value)
                    leaf.inner = node.inner
                    parent.kids = (*parent.kids[:i], leaf, *parent.kids[i + 1 :])
            elif node.inner is not None:
                # A leaf ends at its last mark from now on.
                at, node.value = node.inner.pop(len(node.inner.ends) - 1)
                node.label = node.label[:at]
                if not node.inner.ends:
                    node.inner = None
            else:
                parent.keys = parent.keys[:i] + parent.keys[i + 1 :]
                parent.kids = parent.kids[:i] + parent.kids[i + 1 :]
        self._count -= len(gone)
        return gone

    # -- matching ----------------------------------------------------------------------

    def matches(self, topic: bytes) -> bool:
        """True if any subscription is a prefix of ``topic``."""
        if type(topic) is not bytes and not isinstance(topic, bytes):
            topic = bytes(topic)
        node: _Leaf = self._root
        if node.value is not _NONE:
            return True
        pos = 0
        size = len(topic)
        while pos < size:
            i = node.keys.find(topic[pos])
            if i < 0:
                return False
            node = node.kids[i]
            label = node.label
            if topic.startswith(label, pos):
                if node.value is not _NONE or node.inner is not None:
                    return True
                pos += len(label)
                continue
            marks = node.inner
            return marks is not None and _common(label, topic, pos) >= marks.ends[0]
        return False

    def match(self, topic: bytes) -> set[K | None]:
        """The keys with at least one subscription that is a prefix of ``topic``."""
        found: set[K | None] = set()
        want = len(self._keys)
        if not want:
            return found
        if type(topic) is not bytes and not isinstance(topic, bytes):
            topic = bytes(topic)
        node: _Leaf = self._root
        v = node.value
        if v is not _NONE:
            if type(v) is dict:
                found.update(v)
            else:
                found.add(v)
            if len(found) == want:
                return found
        elif not topic or node.keys.find(topic[0]) < 0:
            return found  # the common miss, decided at the root
        pos = 0
        size = len(topic)
        while pos < size:
            i = node.keys.find(topic[pos])
            if i < 0:
                break
            node = node.kids[i]
            label = node.label
            marks = node.inner
            if topic.startswith(label, pos):
                if marks is not None:
                    found.update(marks.union)
                v = node.value
                if type(v) is dict:
                    found.update(v)
                elif v is not _NONE:
                    found.add(v)
                if len(found) == want:
                    break
                pos += len(label)
                continue
            if marks is not None:
                # The topic leaves this edge part-way: the marks before that point.
                upto = bisect_right(marks.ends, _common(label, topic, pos))
                if upto == len(marks.ends):
                    found.update(marks.union)
                else:
                    for v in marks.vals[:upto]:
                        if type(v) is dict:
                            found.update(v)
                        else:
                            found.add(v)
                        if len(found) == want:
                            break
            break
        return found
