"""Choosing and running the checks.

Order of play: the checks that do not depend on the peer's application run side by
side (``concurrency`` threads; one at a time in ``listen`` mode and against PAIR and
REQ peers, which serve one connection at a time or whose application the other
connections would disturb); then the application checks, one at a time; then, with
``hostile``, the robustness probes. Results come back in registry order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable

from zmtp.conform import checks_hostile, checks_patterns, checks_security, checks_wire
from zmtp.conform.model import CHECKS, Check, Outcome, Prerequisite, Result, Verdict, skipped
from zmtp.conform.probe import Options, Probe, describe

__all__ = ["Report", "run", "selected"]

# The check modules register themselves on import.
_MODULES = (checks_wire, checks_patterns, checks_security, checks_hostile)

#: ``progress(done, total, check_id)``, called as each check finishes.
Progress = Callable[[int, int, str], None]


@dataclasses.dataclass
class Report:
    """The results of a run, in registry order."""

    options: Options
    results: list[Result]
    seconds: float
    peer_version: str = ""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> bool:
        return self.count(Outcome.FAIL) > 0

    def summary(self) -> str:
        """``37 checks: 30 pass, 0 fail, 3 warn, 4 skip (2.1 s)``."""
        parts = ", ".join(f"{self.count(o)} {o.value}" for o in Outcome)
        return f"{len(self.results)} checks: {parts} ({self.seconds:.1f} s)"


#: Report order of the check groups (the first part of an id).
GROUPS = (
    "greeting",
    "handshake",
    "framing",
    "heartbeat",
    "commands",
    "reqrep",
    "pubsub",
    "pipeline",
    "pair",
    "plain",
    "curve",
    "zap",
    "hostile",
)


def _group(c: Check) -> int:
    head = c.id.split(".", 1)[0]
    return GROUPS.index(head) if head in GROUPS else len(GROUPS)


def selected(options: Options) -> list[Check]:
    """The checks that apply to the peer's type and mechanism and that ``options``
    ask for (``only``, ``hostile``), in report order."""
    out = []
    for c in CHECKS:
        if c.hostile and not options.hostile:
            continue
        if c.types is not None and options.socket_type not in c.types:
            continue
        if options.mechanism not in c.mechanisms:
            continue
        if options.only and not any(c.matches(t) for t in options.only):
            continue
        out.append(c)
    return sorted(out, key=_group)


def _not_applicable(c: Check, probe: Probe) -> str:
    opts = probe.options
    if c.connections > 1 and opts.listen:
        return f"needs {c.connections} connections at once: run without --listen"
    return ""


def _run_one(c: Check, probe: Probe) -> Result:
    start = time.monotonic()
    why = _not_applicable(c, probe)
    if why:
        verdict = skipped(why)
    else:
        try:
            verdict = c.run(probe)
        except Prerequisite as exc:
            verdict = skipped(str(exc))
        except Exception as exc:  # a check must report, never take the run down
            verdict = Verdict(Outcome.SKIP, note=f"the check could not run: {describe(exc)}")
    return Result(
        id=c.id,
        rfc=c.rfc,
        section=c.section,
        rule=c.rule,
        outcome=verdict.outcome,
        expected=verdict.expected,
        seen=verdict.seen,
        note=verdict.note,
        seconds=time.monotonic() - start,
    )


def run(options: Options, progress: Progress | None = None) -> Report:
    """Run the selected checks against the peer. Raises
    :class:`~zmtp.conform.probe.Unreachable` when the peer cannot be reached."""
    start = time.monotonic()
    probe = Probe(options)
    probe.start()
    checks = selected(options)
    total = len(checks)
    results: dict[str, Result] = {}
    done = 0

    def record(r: Result) -> None:
        nonlocal done
        results[r.id] = r
        done += 1
        if progress is not None:
            progress(done, total, r.id)

    try:
        side_by_side = [c for c in checks if not c.uses_app and not c.hostile]
        alone = [c for c in checks if c.uses_app and not c.hostile]
        hostile = [c for c in checks if c.hostile]
        workers = 1 if probe.one_at_a_time else max(1, options.concurrency)
        if workers == 1:
            for c in side_by_side:
                record(_run_one(c, probe))
        else:
            with concurrent.futures.ThreadPoolExecutor(workers, "conform") as pool:
                futures = [pool.submit(_run_one, c, probe) for c in side_by_side]
                for f in concurrent.futures.as_completed(futures):
                    record(f.result())
        for c in [*alone, *hostile]:
            record(_run_one(c, probe))
    finally:
        probe.close()
    ordered = [results[c.id] for c in checks]
    return Report(options, ordered, time.monotonic() - start)
