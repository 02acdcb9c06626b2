"""Reports: a table for people, JSON for machines."""

from __future__ import annotations

import json
import textwrap

from zmtp.conform.model import Outcome, Result
from zmtp.conform.runner import Report

__all__ = ["render_json", "render_table"]

_WIDTH = 100


def render_json(report: Report) -> str:
    """A JSON list with one object per check: id, rfc, section, rule, outcome,
    expected, seen, note, seconds."""
    return json.dumps([r.to_json() for r in report.results], indent=2, ensure_ascii=False)


def _lines(label: str, text: str) -> list[str]:
    if not text:
        return []
    head = f"      {label:<9} "
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=head,
        subsequent_indent=" " * len(head),
        break_long_words=True,
        break_on_hyphens=False,
    )


def _row(r: Result, verbose: bool) -> list[str]:
    where = f"RFC {r.rfc} {r.section}"
    head = f"{r.outcome.value:<5} {r.id:<34} {where}"
    out = [head]
    if r.outcome is Outcome.FAIL:
        out += _lines("rule:", r.rule)
        out += _lines("expected:", r.expected)
        out += _lines("seen:", r.seen)
        out += _lines("note:", r.note)
    elif r.outcome is Outcome.WARN:
        out += _lines("rule:", r.rule)
        out += _lines("expected:", r.expected)
        out += _lines("seen:", r.seen)
        out += _lines("why:", r.note)
    elif r.outcome is Outcome.SKIP:
        out += _lines("why:", r.note)
    elif verbose:
        out += _lines("rule:", r.rule)
        out += _lines("seen:", r.seen)
        out += _lines("note:", r.note)
    return out


def render_table(report: Report, *, verbose: bool = False) -> str:
    """The human report: a header, one row per check (with the rule, expected and
    seen under failures and warnings), and the summary line."""
    opts = report.options
    how = "listening on" if opts.listen else "connected to"
    mech = opts.mechanism.upper()
    lines = [
        f"zmtp conform: {how} {opts.endpoint}, a {opts.socket_type.name} peer, {mech}",
        "",
    ]
    for r in report.results:
        lines += _row(r, verbose)
    lines += ["", report.summary()]
    return "\n".join(lines)
