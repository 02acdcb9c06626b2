"""The conformance probe's bookkeeping: which checks run, how results are reported,
and that ipc endpoints work as well as tcp."""

from __future__ import annotations

import json
from pathlib import Path

from reference_peer import ReferencePeer

from zmtp import SocketType
from zmtp.conform import CHECKS, Options, Outcome, render_json, render_table, run, selected

T = SocketType


def ids(options: Options) -> list[str]:
    return [c.id for c in selected(options)]


def test_every_check_names_its_rfc_section_and_rule() -> None:
    assert len(CHECKS) >= 60
    for c in CHECKS:
        assert c.rfc in (23, 24, 26, 27, 28, 29, 30, 31, 37), c.id
        assert c.section and c.rule and c.rule[0].isupper(), c.id
    assert len({c.id for c in CHECKS}) == len(CHECKS)


def test_checks_for_other_socket_types_and_mechanisms_are_not_selected() -> None:
    rep = ids(Options("tcp://x:1", T.REP))
    assert "reqrep.rep.envelope" in rep
    assert not [i for i in rep if i.startswith(("pubsub.", "pipeline.", "pair.", "plain."))]
    assert "greeting.zmtp20" in rep  # NULL only
    curve = ids(Options("tcp://x:1", T.REP, mechanism="curve", server_key=b"k" * 40))
    assert "curve.replayed-nonce" in curve and "greeting.zmtp20" not in curve
    assert "framing.reserved-bits" not in curve  # flags travel inside CURVE boxes


def test_only_takes_groups_ids_and_rfc_numbers() -> None:
    opts = Options("tcp://x:1", T.PUB, only=("heartbeat", "greeting.filler", "rfc29"))
    assert ids(opts) == [
        "greeting.filler",
        "heartbeat.pong",
        "heartbeat.pong-empty",
        "heartbeat.ttl",
    ]
    assert ids(Options("tcp://x:1", T.SUB, only=("29",))) == ["pubsub.sub.sends-no-messages"]
    assert "greeting.signature" not in ids(Options("tcp://x:1", T.PUB, only=("greeting.sig",)))


def test_hostile_checks_run_only_when_asked() -> None:
    assert not [i for i in ids(Options("tcp://x:1", T.PUSH)) if i.startswith("hostile.")]
    assert "hostile.garbage" in ids(Options("tcp://x:1", T.PUSH, hostile=True))


def test_reports_over_ipc(tmp_path: Path) -> None:
    with ReferencePeer(T.DEALER, endpoint=f"ipc://{tmp_path}/peer") as peer:
        report = run(Options(peer.endpoint, T.DEALER, only=("greeting", "heartbeat")))
    assert report.results and all(r.outcome is Outcome.PASS for r in report.results)
    table = render_table(report)
    assert (
        table.splitlines()[0] == f"zmtp conform: connected to {peer.endpoint}, a DEALER peer, NULL"
    )
    assert table.splitlines()[-1] == report.summary()
    assert report.summary().startswith(
        f"{len(report.results)} checks: {len(report.results)} pass, 0 fail"
    )
    as_json = json.loads(render_json(report))
    assert [r["id"] for r in as_json] == [r.id for r in report.results]
    assert {r["outcome"] for r in as_json} == {"pass"}


def test_a_failure_shows_rule_expected_and_seen() -> None:
    with ReferencePeer(T.DEALER, ["pong-without-context"]) as peer:
        report = run(Options(peer.endpoint, T.DEALER, only=("heartbeat.pong",)))
    [result] = report.results
    assert result.outcome is Outcome.FAIL and report.failed
    lines = render_table(report).splitlines()
    row = lines.index(next(line for line in lines if line.startswith("fail  heartbeat.pong")))
    assert lines[row + 1].strip().startswith("rule:")
    assert lines[row + 2].strip().startswith("expected: PONG with context")
    assert lines[row + 3].strip() == "seen:     PONG with nothing"
