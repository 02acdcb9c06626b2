"""Fixtures for the hostile-peer suite: one bound zmtp socket under attack, the raw
attackers, a well-behaved libzmq peer that must be served throughout, and a memory probe.

Every test follows the same four steps, through an :class:`Arena`:

1. ``arena = await make_arena(zmtp.PULL, **options)`` binds the zmtp socket on tcp,
   connects a **libzmq** peer (pyzmq, in worker threads) to it, proves the link with one
   message, and only then starts :mod:`tracemalloc`: the baseline is the socket at rest
   with one healthy connection.
2. ``attacker = await arena.attacker()`` opens a raw tcp connection (a :class:`RawPeer`:
   a byte stream, optionally driven by a sans-IO :class:`zmtp.wire.Connection`) and
   sends whatever the case needs.
3. ``ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)`` waits for the first
   monitor event that ends a connection and checks its type; the test checks that the
   reason names the rule, and ``await attacker.wait_closed()`` that the attacker's
   stream really ended.
4. ``arena.memory.check(bound)`` asserts that the peak of traced memory since the
   baseline, and what is still held after a collection, stay under the test's bound;
   ``await arena.still_serves_libzmq()`` sends a message from the libzmq peer (and,
   for a ROUTER, one back) over its **original** connection, and asserts that zmtp closed
   nothing else and libzmq saw no disconnection.

Nothing here sleeps: waits are for monitor events, messages, end of streams; each is
bounded by the test's ``anyio.fail_after`` and the libzmq sockets' timeouts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import zmq
from engines import Engine
from hostile_helpers import CLOSING, HOST, LIBZMQ_TIMEOUT_MS, PARTNER, Arena, MakeArena

import zmtp
from zmtp import Event


@pytest.fixture
async def ctx(engine: Engine) -> AsyncIterator[zmtp.Context]:
    async with engine.Context() as context:
        yield context


@pytest.fixture
async def make_arena(ctx: zmtp.Context) -> AsyncIterator[MakeArena]:
    """``await make_arena(zmtp.PULL, maxmsgsize=...)``: an :class:`Arena`, ready.

    ``libzmq_options`` (pyzmq attribute names) configure the libzmq peer, e.g. its
    PLAIN credentials.
    """
    zctx = zmq.Context()
    arenas: list[Arena] = []

    async def make(
        socket_type: Any, *, libzmq_options: dict[str, Any] | None = None, **options: Any
    ) -> Arena:
        options.setdefault("linger", 0)
        sock = ctx.socket(socket_type, **options)
        monitor = sock.monitor()
        endpoint = await sock.bind(f"tcp://{HOST}:*")
        arena = Arena(sock, monitor, endpoint)
        arenas.append(arena)
        partner = zctx.socket(PARTNER[sock.type])
        partner.linger = 0
        partner.sndtimeo = partner.rcvtimeo = LIBZMQ_TIMEOUT_MS
        for name, value in (libzmq_options or {}).items():
            setattr(partner, name, value)
        arena.partner_monitor = partner.get_monitor_socket()
        arena.partner = partner
        partner.connect(endpoint)
        async for ev in monitor:
            assert not ev.event & CLOSING, f"the libzmq peer was refused: {ev}"
            if ev.event == Event.HANDSHAKE_SUCCEEDED:
                break
        await arena.still_serves_libzmq()
        arena.seen.clear()
        arena.memory.start()
        return arena

    try:
        yield make
    finally:
        for arena in arenas:
            arena.memory.stop()
            await arena.aclose_attackers()
            await arena.monitor.aclose()
        zctx.destroy(linger=0)
