"""``zmtp conform``: probe a ZeroMQ peer and report where it departs from the RFCs.

The probe connects to the peer under test (or, with ``listen``, waits for it to
connect), plays a socket type the peer accepts, and runs checks grouped by RFC and
section: the greeting and version negotiation (RFC 23, RFC 37), the handshake and its
metadata, framing, heartbeats and commands, the semantics of the socket type (RFC 28
to 31), the security mechanisms when given credentials (RFC 24, 26, 27), and, with
``hostile``, robustness probes. Every check has an id, the RFC and section of its
rule, the rule in one line, and an outcome: ``pass``, ``fail`` (a MUST or SHALL was
broken; with what was expected and what was seen), ``warn`` (a SHOULD, or a named
departure of a widely deployed stack), ``skip`` (with why).

It is built from :class:`zmtp.testing.RawPeer` and the sans-IO core, on blocking
sockets with deadlines; it never needs a running trio loop::

    from zmtp.conform import Options, run, render_table
    from zmtp import SocketType

    report = run(Options("tcp://127.0.0.1:5555", SocketType.REP))
    print(render_table(report))
    assert not report.failed

The pattern checks watch the peer's *application* at work; what it is expected to do
for each socket type is listed in :mod:`zmtp.conform.probe` (and in
``zmtp conform --help``). A check that does not get what it needs from the
application is skipped, not failed.
"""

from zmtp.conform.model import CHECKS, Check, Outcome, Result
from zmtp.conform.probe import Options, Probe, Unreachable
from zmtp.conform.report import render_json, render_table
from zmtp.conform.runner import Report, run, selected

__all__ = [
    "CHECKS",
    "Check",
    "Options",
    "Outcome",
    "Probe",
    "Report",
    "Result",
    "Unreachable",
    "render_json",
    "render_table",
    "run",
    "selected",
]
