"""What a conformance check is, what it reports, and the registry of all checks.

A check is a function of a :class:`~zmtp.conform.probe.Probe` that returns a
:class:`Verdict`; :func:`check` registers it with its id, the RFC and section of the
rule, the rule in one line, and where it applies. The runner turns verdicts into
:class:`Result` rows (adding the check's identity and its duration).

Outcomes:

* ``pass`` — the peer followed the rule;
* ``fail`` — the rule is a MUST/SHALL and the peer broke it; ``expected`` and ``seen``
  say how (octets in hex where that helps);
* ``warn`` — a SHOULD was not followed, or a known departure of a widely deployed stack
  (named in ``note``);
* ``skip`` — the check does not apply here, or could not run; ``note`` says why.

This module does no I/O.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

from zmtp.constants import SocketType

if TYPE_CHECKING:  # pragma: no cover
    from zmtp.conform.probe import Probe

__all__ = [
    "CHECKS",
    "Check",
    "HandshakeFailed",
    "Outcome",
    "Prerequisite",
    "Result",
    "Verdict",
    "check",
    "failed",
    "passed",
    "skipped",
    "warned",
]


class Outcome(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a check concluded."""

    outcome: Outcome
    expected: str = ""
    seen: str = ""
    note: str = ""


def passed(seen: str = "", note: str = "") -> Verdict:
    return Verdict(Outcome.PASS, seen=seen, note=note)


def failed(expected: str, seen: str, note: str = "") -> Verdict:
    return Verdict(Outcome.FAIL, expected=expected, seen=seen, note=note)


def warned(expected: str, seen: str, note: str = "") -> Verdict:
    return Verdict(Outcome.WARN, expected=expected, seen=seen, note=note)


def skipped(why: str) -> Verdict:
    return Verdict(Outcome.SKIP, note=why)


class Prerequisite(Exception):
    """Raised inside a check when something it builds on failed (no handshake, no
    traffic from the peer's application): the check is skipped with this reason, so
    one broken rule is reported once, by its own check."""


class HandshakeFailed(Prerequisite):
    """A handshake failed while the plain one works: the check that asked for it
    may report a failure of its own rule."""


@dataclasses.dataclass(frozen=True)
class Result:
    """One row of the report."""

    id: str
    rfc: int
    section: str
    rule: str
    outcome: Outcome
    expected: str = ""
    seen: str = ""
    note: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d["outcome"] = self.outcome.value
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclasses.dataclass(frozen=True)
class Check:
    """A registered check.

    ``types``: the peer socket types it applies to (None: all). ``mechanisms``: the
    security mechanisms it applies to. ``uses_app``: it depends on what the peer's
    application does (echoes, publishes...), so it runs alone, after the checks that
    may run side by side. ``connections``: how many connections it opens at once (more
    than one is impossible with ``--listen``). ``hostile``: only with ``--hostile``.
    """

    id: str
    rfc: int
    section: str
    rule: str
    run: Callable[[Probe], Verdict]
    types: frozenset[SocketType] | None = None
    mechanisms: frozenset[str] = frozenset({"null", "plain", "curve"})
    uses_app: bool = False
    connections: int = 1
    hostile: bool = False

    def matches(self, token: str) -> bool:
        """``--only`` matching: an id or id prefix (``framing``, ``greeting.version``),
        an RFC number (``23`` or ``rfc23``)."""
        token = token.strip().lower()
        if not token:
            return False
        if token in (str(self.rfc), f"rfc{self.rfc}"):
            return True
        return self.id == token or self.id.startswith(token + ".")


#: Every check, in report order.
CHECKS: list[Check] = []


def check(
    id: str,
    rfc: int,
    section: str,
    rule: str,
    *,
    types: str | None = None,
    mechanisms: str = "null plain curve",
    uses_app: bool = False,
    connections: int = 1,
    hostile: bool = False,
) -> Callable[[Callable[[Probe], Verdict]], Callable[[Probe], Verdict]]:
    """Register a check (``types`` and ``mechanisms`` are space-separated names)."""

    def register(fn: Callable[[Probe], Verdict]) -> Callable[[Probe], Verdict]:
        if any(c.id == id for c in CHECKS):
            raise ValueError(f"duplicate check id {id!r}")
        CHECKS.append(
            Check(
                id=id,
                rfc=rfc,
                section=section,
                rule=rule,
                run=fn,
                types=frozenset(SocketType[t] for t in types.split()) if types else None,
                mechanisms=frozenset(mechanisms.split()),
                uses_app=uses_app,
                connections=connections,
                hostile=hostile,
            )
        )
        return fn

    return register
