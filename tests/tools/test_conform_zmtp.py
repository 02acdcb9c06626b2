"""``zmtp conform`` against zmtp's own sockets: every socket type passes.

Each socket runs the application the probe expects (``zmtp_apps.py``) in a trio loop
on a thread of its own while the probe, a plain blocking client, runs in the test.
Warnings are allowed only where zmtp departs from RFC 37 on purpose, as its README's
table of differences says (a repeated subscription from one peer counts once).
"""

from __future__ import annotations

import socket

import anyio
import pytest
from engines import Engine
from parallel_cases import Results, all_at_once
from zmtp_apps import running

import zmtp
from zmtp import SocketType
from zmtp.conform import Options, Outcome, Report, run
from zmtp.testing import RawPeer

T = SocketType
#: The departures from RFC 37 that zmtp's README lists as deliberate.
DELIBERATE = {"pubsub.pub.not-idempotent", "greeting.partial-first"}

TYPES = [
    pytest.param(T.REQ, id="REQ"),
    pytest.param(T.REP, id="REP"),
    pytest.param(T.DEALER, id="DEALER"),
    pytest.param(T.ROUTER, id="ROUTER"),
    pytest.param(T.PUB, id="PUB"),
    pytest.param(T.XPUB, id="XPUB"),
    pytest.param(T.SUB, id="SUB"),
    pytest.param(T.XSUB, id="XSUB"),
    pytest.param(T.PUSH, id="PUSH"),
    pytest.param(T.PULL, id="PULL"),
    pytest.param(T.PAIR, id="PAIR"),
]


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def probe(kind: SocketType) -> Report:
    feedback = free_endpoint() if kind == T.PULL else None
    with running(kind, feedback=feedback) as endpoint:
        return run(Options(endpoint, kind, feedback=feedback, hostile=True))


@pytest.fixture(scope="module")
def reports() -> Results:
    """Every socket type's run, side by side (they mostly wait on the wire)."""
    return all_at_once(probe, [p.values[0] for p in TYPES])


@pytest.mark.parametrize("kind", TYPES)
def test_zmtp_sockets_pass_every_check(kind: SocketType, reports: Results) -> None:
    report = reports[kind]
    bad = [
        (r.id, r.outcome.value, r.expected, r.seen)
        for r in report.results
        if r.outcome is Outcome.FAIL or (r.outcome is Outcome.WARN and r.id not in DELIBERATE)
    ]
    assert bad == []
    skipped = {r.id for r in report.results if r.outcome is Outcome.SKIP}
    assert skipped == {"framing.oversize"}


def test_zmtp_enforces_maxmsgsize_as_the_probe_is_told() -> None:
    with running(T.PULL, maxmsgsize=1000) as endpoint:
        report = run(Options(endpoint, T.PULL, maxmsgsize=1000, only=("framing.oversize",)))
    [result] = report.results
    assert result.outcome is Outcome.PASS, result


async def test_a_sub_survives_publishers_that_leave_right_after_the_handshake(
    engine: Engine,
) -> None:
    async with engine.Context() as ctx:
        sub = ctx.socket(zmtp.SUB, linger=0)
        sub.subscribe(b"alpha")
        endpoint = await sub.bind("tcp://127.0.0.1:*")

        def visit() -> None:
            with RawPeer.connect(endpoint) as peer:
                peer.handshake("PUB")

        for _ in range(20):
            await anyio.to_thread.run_sync(visit)

        # Still alive: a publisher that stays gets the subscription.
        def stay() -> bytes:
            with RawPeer.connect(endpoint) as peer:
                peer.handshake("PUB")
                return bytes(peer.recv_command(b"SUBSCRIBE").data)

        assert await anyio.to_thread.run_sync(stay) == b"alpha"
