"""``zmtp conform`` against deliberately broken peers: each flaw is reported as a
``fail`` of the check for the rule it breaks, and nothing else fails.

The peers are :class:`reference_peer.ReferencePeer` objects, built from
:class:`zmtp.testing.RawPeer` and the sans-IO core, one flaw switched on at a time
(the flaws are listed in ``reference_peer.py``). Without a flaw, the same peer passes
every check of its socket type without a warning, which shows the checks can pass.
"""

from __future__ import annotations

import socket

import pytest
from parallel_cases import Results, all_at_once
from reference_peer import ReferencePeer

from zmtp import SocketType
from zmtp.conform import Options, Outcome, Report, run

T = SocketType
ALL_TYPES = [T.REQ, T.REP, T.DEALER, T.ROUTER, T.PUB, T.XPUB, T.SUB, T.XSUB, T.PUSH, T.PULL, T.PAIR]


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def probe(kind: SocketType, flaws: tuple[str, ...] = ()) -> Report:
    feedback = free_endpoint() if kind == T.PULL else None
    with ReferencePeer(kind, flaws, feedback=feedback) as peer:
        return run(Options(peer.endpoint, kind, feedback=feedback))


def outcomes(report: Report, outcome: Outcome) -> set[str]:
    return {r.id for r in report.results if r.outcome is outcome}


@pytest.fixture(scope="module")
def reports() -> Results:
    """Every case of this module, run side by side (they mostly wait on the wire)."""
    cases = [(kind, ()) for kind in ALL_TYPES] + [(kind, (flaw,)) for kind, flaw, _ in FLAWS]
    return all_at_once(lambda case: probe(*case), cases)


@pytest.mark.parametrize("kind", ALL_TYPES, ids=[t.name for t in ALL_TYPES])
def test_a_peer_without_flaws_passes_every_check(kind: SocketType, reports: Results) -> None:
    report = reports[kind, ()]
    assert outcomes(report, Outcome.FAIL) == set(), report.results
    assert outcomes(report, Outcome.WARN) == set(), report.results
    # Only the maxmsgsize check needs an option this run does not give.
    assert outcomes(report, Outcome.SKIP) == {"framing.oversize"}, report.results
    assert len(outcomes(report, Outcome.PASS)) >= 30


#: (peer type, flaw, the checks that must fail: those and no others).
FLAWS = [
    (T.REP, "socket-type-spelling", {"handshake.socket-type"}),
    (T.DEALER, "pong-without-context", {"heartbeat.pong"}),
    (T.DEALER, "no-pong", {"heartbeat.pong", "heartbeat.pong-empty"}),
    (T.REP, "short-size", {"framing.long-frames"}),
    (T.PAIR, "reserved-flags", {"framing.reserved-bits"}),
    (T.PUSH, "keeps-zmtp20", {"greeting.zmtp20"}),
    (T.REP, "loses-envelope", {"reqrep.rep.envelope", "reqrep.rep.address-stack"}),
    (T.REQ, "no-delimiter", {"reqrep.req.delimiter"}),
    (T.ROUTER, "misroutes", {"reqrep.router.returns-to-sender"}),
    (T.PUB, "no-filter", {"pubsub.pub.no-subscription"}),
    (T.PUSH, "first-only", {"pipeline.push.round-robin"}),
    (T.PAIR, "two-peers", {"pair.exclusive"}),
    (T.SUB, "command-on-30", {"pubsub.sub.subscribe-message"}),
]


@pytest.mark.parametrize(
    ("kind", "flaw", "expected"), FLAWS, ids=[f"{k.name}-{f}" for k, f, _ in FLAWS]
)
def test_each_flaw_fails_its_own_check_and_nothing_else(
    kind: SocketType, flaw: str, expected: set[str], reports: Results
) -> None:
    report = reports[kind, (flaw,)]
    assert outcomes(report, Outcome.FAIL) == expected, [
        (r.id, r.expected, r.seen) for r in report.results if r.outcome is Outcome.FAIL
    ]
    for r in report.results:
        if r.outcome is Outcome.FAIL:
            assert r.expected and r.seen, r  # a failure says what it wanted and got
