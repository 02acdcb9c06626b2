"""The asyncio reader's fairness (as the trio reader's, ``zmtp.core.stream``): a
connection's reads start at 64 KiB, a read that took long to make and parse halves the
next one (down to 4 KiB), fast reads grow back to 256 KiB, and whatever the size,
every message arrives whole and in order.

Time is data here: the reader's clock is replaced by one that says each read took as
long as the test wants, so the rule is exercised the same on any machine.
(``interop/bench_fairness.py`` measures what it buys against a real hostile peer.)
"""

from __future__ import annotations

import pytest
from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio
import zmtp.asyncio.stream
from zmtp.core.stream import FIRST_READ, MIN_READ, READ_SIZE, TURN


class ReadClock:
    """Stands in for the ``time`` module of the asyncio stream engine: every
    ``perf_counter()`` call moves on by ``step`` seconds, so every read "takes"
    ``step`` (the reader reads the clock before and after each read)."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def perf_counter(self) -> float:
        self.now += self.step
        return self.now


async def linked(ctx: zmtp.asyncio.Context) -> tuple[zmtp.asyncio.Socket, zmtp.asyncio.Socket]:
    pull = ctx.socket(zmtp.PULL)
    push = ctx.socket(zmtp.PUSH)
    async with pull.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
        await push.connect(await pull.bind("tcp://127.0.0.1:*"))
        await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    return push, pull


def read_size(sock: zmtp.asyncio.Socket) -> int:
    """What the next read of the socket's one connection asks for (white-box)."""
    [engine] = sock._rt.engines
    assert isinstance(engine, zmtp.asyncio.stream.StreamEngine)
    return engine._read_size


def test_slow_reads_shrink_to_the_minimum_and_lose_nothing(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [[b"%d" % i, bytes([i % 256]) * (i * 97 % 3000)] for i in range(400)]
    messages[100:100] = [[b"big", bytes(range(256)) * 400]]  # read straight into place

    async def main() -> list[list[bytes]]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            push, pull = await linked(ctx)
            assert read_size(pull) == FIRST_READ
            monkeypatch.setattr(zmtp.asyncio.stream, "time", ReadClock(TURN * 2))
            for msg in messages:
                await push.send_multipart(msg)
            got = [await pull.recv_multipart() for _ in messages]
            assert read_size(pull) == MIN_READ
            return got

    assert run(main) == messages


def test_fast_reads_grow_back_to_the_largest_read(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            push, pull = await linked(ctx)
            monkeypatch.setattr(zmtp.asyncio.stream, "time", ReadClock(0.0))
            for i in range(3):  # one read each: the next message waits for this one
                await push.send(b"%d" % i)
                assert await pull.recv() == b"%d" % i
            assert read_size(pull) == READ_SIZE

    run(main)
