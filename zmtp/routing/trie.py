"""Prefix subscriptions with reference counts (RFC 29/PUBSUB, RFC 37 "The
Publish-Subscribe Pattern"): the filter of PUB, XPUB, SUB and XSUB.

A subscription is a prefix: ``b"A"`` matches every message whose first frame starts
with ``A``, and ``b""`` matches everything. Subscriptions are additive and counted:
subscribing twice to ``A`` needs two unsubscriptions (RFC 37). Each subscription
belongs to a *key* (a pipe on the publisher side; nothing on the subscriber side).

Rather than a tree of per-octet nodes, the trie is kept flat: a dict from prefix to
``{key: count}``, plus the set of prefix *lengths* in use. Matching a message asks
the dict once per distinct length not longer than the message, so its cost grows
with the length of the topics in use and never with the number of subscribers or
subscriptions, and each step is a C-level slice and hash lookup.

Sans-IO.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["SubscriptionTrie"]

K = TypeVar("K", bound=Hashable)

#: The key of subscriptions that belong to no pipe (a SUB socket's own list).
LOCAL = None


class SubscriptionTrie(Generic[K]):
    """Counted prefix subscriptions, per key."""

    __slots__ = ("_lengths", "_sorted", "_subs")

    def __init__(self) -> None:
        self._subs: dict[bytes, dict[K | None, int]] = {}
        self._lengths: dict[int, int] = {}  # prefix length -> how many prefixes have it
        self._sorted: list[int] = []

    def __len__(self) -> int:
        """The number of distinct prefixes subscribed."""
        return len(self._subs)

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._subs

    def __bool__(self) -> bool:
        return bool(self._subs)

    def prefixes(self) -> Iterator[bytes]:
        return iter(self._subs)

    def count(self, prefix: bytes, key: K | None = LOCAL) -> int:
        """How many times ``key`` subscribed to ``prefix`` (net of unsubscriptions)."""
        return self._subs.get(prefix, {}).get(key, 0)

    def add(self, prefix: bytes, key: K | None = LOCAL) -> bool:
        """Count one subscription; True if ``prefix`` had no subscription before."""
        prefix = bytes(prefix)
        keys = self._subs.get(prefix)
        if keys is None:
            self._subs[prefix] = {key: 1}
            n = len(prefix)
            if n in self._lengths:
                self._lengths[n] += 1
            else:
                self._lengths[n] = 1
                bisect.insort(self._sorted, n)
            return True
        keys[key] = keys.get(key, 0) + 1
        return False

    def remove(self, prefix: bytes, key: K | None = LOCAL) -> bool:
        """Undo one subscription; True if ``prefix`` now has none at all.

        Removing a subscription that does not exist changes nothing and returns False.
        """
        keys = self._subs.get(prefix)
        if keys is None or key not in keys:
            return False
        if keys[key] > 1:
            keys[key] -= 1
            return False
        del keys[key]
        if keys:
            return False
        self._drop(prefix)
        return True

    def remove_key(self, key: K | None) -> list[bytes]:
        """Forget every subscription of ``key``; returns the prefixes left unused."""
        gone = []
        for prefix, keys in list(self._subs.items()):
            if keys.pop(key, None) is not None and not keys:
                self._drop(prefix)
                gone.append(prefix)
        return gone

    def _drop(self, prefix: bytes) -> None:
        del self._subs[prefix]
        n = len(prefix)
        if self._lengths[n] == 1:
            del self._lengths[n]
            del self._sorted[bisect.bisect_left(self._sorted, n)]
        else:
            self._lengths[n] -= 1

    def matches(self, topic: bytes) -> bool:
        """True if any subscription is a prefix of ``topic``."""
        subs = self._subs
        size = len(topic)
        for n in self._sorted:
            if n > size:
                return False
            if topic[:n] in subs:
                return True
        return False

    def match(self, topic: bytes) -> set[K | None]:
        """The keys with at least one subscription that is a prefix of ``topic``."""
        subs = self._subs
        size = len(topic)
        found: set[K | None] = set()
        for n in self._sorted:
            if n > size:
                break
            keys = subs.get(topic[:n])
            if keys:
                found.update(keys)
        return found
