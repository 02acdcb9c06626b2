"""RFC 30 (PIPELINE) over real sockets: PUSH "SHALL route outgoing messages to
connected peers using a round-robin strategy"; PULL "SHALL receive incoming messages
from its peers using a fair-queuing strategy".

The policies themselves are property-tested in tests/routing; these tests check that
the engine feeds them correctly over every transport.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import anyio
from engines import settle

import zmtp

#: Loopback bytes are moved by the kernel, outside the process: under load they can
#: land a little after every task is blocked. Fair queuing can only be seen once every
#: peer's messages are queued, so these tests let the kernel finish first.
KERNEL_CUSHION = 0.05


async def test_push_round_robins_over_three_connected_pulls(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH)
        pulls = [make(zmtp.PULL) for _ in range(3)]
        async with push.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            ep = await push.bind(endpoint())
            for pull in pulls:
                await pull.connect(ep)
            for _ in pulls:
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)

        n = 300
        for i in range(n):
            await push.send(b"%d" % i)
        # (An await inside a nested comprehension needs Python 3.11: keep 3.10 working.)
        got = []
        for pull in pulls:
            got.append([await pull.recv() for _ in range(n // 3)])
        for messages in got:
            # Each PULL got every third message, in order.
            ids = [int(m) for m in messages]
            assert ids == list(range(ids[0], n, 3))
        assert sorted(int(m) for messages in got for m in messages) == list(range(n))


async def test_pull_fair_queues_three_connected_pushes(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        pushes = [make(zmtp.PUSH) for _ in range(3)]
        async with pull.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            ep = await pull.bind(endpoint())
            for push in pushes:
                await push.connect(ep)
            for _ in pushes:
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)

        per_push = 20
        for i, push in enumerate(pushes):
            for j in range(per_push):
                await push.send_multipart([b"%d" % i, b"%d" % j])
        # Let every connection deliver all it has before the first read.
        await settle(KERNEL_CUSHION)

        sources = []
        next_seq = collections.Counter()
        for _ in range(3 * per_push):
            src, seq = await pull.recv_multipart()
            assert int(seq) == next_seq[src], "one PUSH's messages came out of order"
            next_seq[src] += 1
            sources.append(src)
        for turn in range(per_push):
            window = sources[3 * turn : 3 * turn + 3]
            assert sorted(window) == [b"0", b"1", b"2"], f"turn {turn} read {window}"


async def test_a_busy_push_does_not_starve_a_quiet_one(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    """A PUSH that floods cannot delay a message of another PUSH by more than one turn."""
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        busy, quiet = make(zmtp.PUSH), make(zmtp.PUSH)
        async with pull.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            ep = await pull.bind(endpoint())
            await busy.connect(ep)
            await quiet.connect(ep)
            for _ in range(2):
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        for i in range(500):
            await busy.send(b"busy %d" % i)
        await settle(KERNEL_CUSHION)
        assert await pull.recv() == b"busy 0"
        await quiet.send(b"quiet")
        await settle(KERNEL_CUSHION)
        assert b"quiet" in [await pull.recv(), await pull.recv()]
