"""Robustness probes (``--hostile``): one connection misbehaves; the peer must drop
that connection and go on serving a second, well-behaved one.

They follow RFC 23's rules on what a peer sends (a greeting first, sizes up to
2^63-1) and RFC 37's "Socket Semantics"; the reaction to a broken rule is each
implementation's, so what is checked is the outcome: the bad connection goes, the
service stays.
"""

from __future__ import annotations

import os

from zmtp.conform.model import HandshakeFailed, Verdict, check, failed, passed
from zmtp.conform.probe import Probe, react
from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.testing.peer import PeerClosed, RawPeer, Silence, greeting_bytes
from zmtp.wire.frames import LONG


def _still_serves(p: Probe) -> tuple[bool, str]:
    """A fresh, well-behaved connection completes its handshake and works."""
    try:
        peer = p.session()
    except HandshakeFailed as exc:
        return False, str(exc)
    ok, what = p.alive(peer)
    p.finish(peer)
    return ok, what


def _outcome(p: Probe, bad: RawPeer, what: str, must_close: bool = True) -> Verdict:
    if bad.peer_greeting is None:
        try:
            bad.recv_greeting(p.options.quiet)
        except (PeerClosed, Silence, ProtocolError):
            pass  # what matters is how the connection ends
    reaction = react(bad, p.options.timeout)
    bad.close()
    ok, served = _still_serves(p)
    if must_close and not reaction.closed:
        return failed(f"the connection that sent {what} closed", reaction.describe())
    if not ok:
        return failed("a second connection served", f"after {what}: {served}")
    return passed(f"{reaction.describe()}; a second connection: {served}")


@check(
    "hostile.garbage",
    23,
    "The Greeting",
    "A greeting of random octets (behind a valid signature and version) ends that connection only",
    hostile=True,
)
def hostile_garbage(p: Probe) -> Verdict:
    bad = p.open()
    garbage = bytearray(os.urandom(64))
    garbage[0], garbage[9], garbage[10] = 0xFF, 0x7F, 3
    garbage[12] = ord("?")  # never a mechanism name's character
    try:
        bad.send_raw(bytes(garbage) + os.urandom(256))
    except (PeerClosed, Silence):
        pass
    return _outcome(p, bad, "a random greeting")


@check(
    "hostile.size-over-limit",
    23,
    "Framing",
    "A long size above 2^63-1 (here 2^64-1) ends that connection only",
    mechanisms="null plain",
    hostile=True,
)
def hostile_size(p: Probe) -> Verdict:
    bad = p.session()
    try:
        bad.send_raw(bytes((LONG,)) + b"\xff" * 8 + b"conform")
    except (PeerClosed, Silence):
        pass
    return _outcome(p, bad, "a frame size of 2^64-1")


@check(
    "hostile.truncated-frame",
    23,
    "Framing",
    "A connection that dies in the middle of a frame it announced leaves the peer serving",
    mechanisms="null plain",
    hostile=True,
)
def hostile_truncated(p: Probe) -> Verdict:
    bad = p.session()
    bad.send_raw(bytes((LONG,)) + (1 << 20).to_bytes(8, "big") + bytes(1000))
    bad.abort()
    ok, served = _still_serves(p)
    if not ok:
        return failed("a second connection served", f"after a cut frame: {served}")
    return passed(f"a second connection: {served}")


@check(
    "hostile.slow-greeting",
    23,
    "The Greeting",
    "A connection stalled in the middle of its greeting does not hold up another",
    hostile=True,
)
def hostile_slow_greeting(p: Probe) -> Verdict:
    bad = p.open()
    try:
        bad.send_raw(greeting_bytes()[:5])
        ok, served = _still_serves(p)
    finally:
        bad.close()
    if not ok:
        return failed("a second connection served while the first stalls", served)
    return passed(f"while one connection stalled after 5 greeting octets: {served}")


@check(
    "hostile.command-flood",
    37,
    "Connection Heartbeating",
    "A flood of unanswered PINGs does not stop the peer serving another connection",
    hostile=True,
)
def hostile_ping_flood(p: Probe) -> Verdict:
    bad = p.session()
    try:
        if bad.version < (3, 1):
            return passed("skipped the flood: the peer speaks ZMTP 3.0")
        ping = bad.command_bytes(b"PING", b"\x00\x00conform")
        bad.timeout = p.options.quiet
        try:
            for _ in range(20):
                bad.send_raw(ping * 500)
        except (PeerClosed, Silence):
            pass  # the peer stopped reading, or hung up: either is its right
        if p.peer_type == SocketType.PAIR:
            bad.close()  # a PAIR rightly serves no second connection while one is up
        ok, served = _still_serves(p)
    finally:
        bad.close()
    if not ok:
        return failed("a second connection served during the flood", served)
    return passed(f"PINGs whose PONGs we never read; a second connection: {served}")
