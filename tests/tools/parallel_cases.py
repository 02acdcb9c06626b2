"""Running many slow, independent test cases at once (for the tests of zmtp's tools).

A conformance run or a command-line process spends most of its time waiting on the
wire, so the cases of a test module start together on a few threads (:func:`all_at_once`)
and each parametrized test then checks its own result; an exception raised by a case
is raised again by its test.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Hashable, Iterable
from typing import Any


class Results:
    """The outcome of each case: ``results[key]`` returns it or raises its exception."""

    def __init__(self, outcomes: dict[Hashable, concurrent.futures.Future[Any]]) -> None:
        self._outcomes = outcomes

    def __getitem__(self, key: Hashable) -> Any:
        return self._outcomes[key].result()


def all_at_once(fn: Callable[[Any], Any], keys: Iterable[Hashable], workers: int = 4) -> Results:
    """Run ``fn(key)`` for every key on ``workers`` threads; wait for all."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {key: pool.submit(fn, key) for key in keys}
    return Results(futures)
