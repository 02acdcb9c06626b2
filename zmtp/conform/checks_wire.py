"""Checks of the wire protocol itself (RFC 23/ZMTP 3.0, RFC 37/ZMTP 3.1): the
greeting, the handshake and its metadata, framing, heartbeats and commands.

None of these needs the peer's application, except the framing round trips, which
read what an echoing peer sends back. Each check opens its own connections, so they
run side by side.
"""

from __future__ import annotations

import os
import random
import time

from zmtp.conform.model import (
    HandshakeFailed,
    Prerequisite,
    Verdict,
    check,
    failed,
    passed,
    skipped,
    warned,
)
from zmtp.conform.probe import (
    Probe,
    Reaction,
    describe,
    error_departure,
    metadata_text,
    react,
    show,
    show_message,
)
from zmtp.constants import COMPATIBLE_PEERS, SocketType
from zmtp.errors import ProtocolError
from zmtp.testing.peer import (
    Misbehaviour,
    PeerClosed,
    RawFrame,
    RawPeer,
    Silence,
    greeting_bytes,
    split_command,
    zmtp20_greeting_bytes,
)
from zmtp.wire.commands import decode_metadata
from zmtp.wire.frames import LONG, MORE

T = SocketType
_MECHANISM_NAMES = {"null": b"NULL", "plain": b"PLAIN", "curve": b"CURVE"}
_VALID_MECHANISM_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+")


def _greeting_exchange(p: Probe, version: tuple[int, int] = (3, 1)) -> RawPeer:
    """A connection on which both greetings went, with the configured mechanism."""
    peer = p.open()
    try:
        peer.send_greeting(version, _MECHANISM_NAMES[p.mechanism_name])
        peer.recv_greeting()
    except (Silence, PeerClosed, ProtocolError, OSError) as exc:
        peer.close()
        raise Prerequisite(f"no greeting from the peer: {describe(exc)}") from None
    return peer


def _refusal(reaction: Reaction, what: str) -> Verdict:
    """Judge a peer that was sent something it must refuse: closing is required,
    an ERROR first is the polite form (and must be well written)."""
    if not reaction.closed:
        return failed(f"the connection closed after {what}", reaction.describe())
    if reaction.error is not None:
        departure = error_departure(reaction.error)
        if departure:
            return warned(
                "a well-formed ERROR command",
                reaction.describe(),
                f"ERROR is misspelt: {departure}",
            )
        return passed(reaction.describe())
    return passed(reaction.describe())


# =======================================================================================
# RFC 23 / RFC 37: the greeting


@check(
    "greeting.signature",
    23,
    "The Greeting",
    "The greeting starts with the signature: 0xFF, 8 padding octets, 0x7F",
)
def greeting_signature(p: Probe) -> Verdict:
    with p.open() as peer:
        peer.send_greeting((3, 1), _MECHANISM_NAMES[p.mechanism_name])
        try:
            greeting = peer.recv_greeting()
        except ProtocolError:
            got = peer.recv_available(p.options.quiet)
            return failed("ff <8 padding octets> 7f", show(got))
        except (Silence, PeerClosed) as exc:
            return failed("a 64-octet greeting", f"{describe(exc)}; got {show(exc.received)}")
    raw = greeting.raw
    if not greeting.signature_ok:
        return failed("ff <8 padding octets> 7f", show(raw[:10]))
    return passed(show(raw[:10]), note="the padding is not significant (RFC 37)")


@check(
    "greeting.version",
    37,
    "Version Negotiation",
    "The greeting announces ZMTP 3.0 or later (3.1 from a ZMTP 3.1 peer)",
)
def greeting_version(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    peer.close()
    assert peer.peer_greeting is not None
    major, minor = peer.peer_greeting.version
    seen = f"{major}.{minor} (octets {major:02x} {minor:02x})"
    if major < 3:
        return failed("major version 3 or more", seen)
    if (major, minor) == (3, 0):
        return passed(seen, note="the peer speaks ZMTP 3.0 (RFC 23): no 3.1 commands")
    return passed(seen)


@check(
    "greeting.partial-first",
    37,
    "Version Negotiation",
    "Unprompted, the peer sends at least the 11 octets that reveal its version, or its "
    "whole greeting",
)
def greeting_partial_first(p: Probe) -> Verdict:
    with p.open() as peer:
        try:
            first = peer.recv_exactly(1, p.options.timeout)
        except Silence:
            return failed(
                "at least 11 octets before hearing from us",
                "nothing: two such peers would wait for each other forever",
            )
        except PeerClosed as exc:
            return failed("at least 11 octets", f"the peer {exc.how} the connection")
        got = first + peer.recv_available(p.options.quiet)
    n = len(got)
    seen = f"{n} octets ({show(got, 12)})"
    if n >= 11:
        return passed(seen)
    if n == 10 and got[0] == 0xFF and got[9] == 0x7F:
        return warned(
            "11 octets (signature and major version)",
            seen,
            "the 10-octet signature alone, then a wait for ours: libzmq 4.3 does this to "
            "detect ZMTP 1.0 peers (RFC 23 Backwards Interoperability); RFC 37 asks for 11",
        )
    return failed("at least 11 octets before hearing from us", seen)


@check(
    "greeting.full-after-ours",
    23,
    "Authentication and Confidentiality",
    "A peer that has read our whole greeting sends its whole greeting (MUST)",
)
def greeting_full_after_ours(p: Probe) -> Verdict:
    with p.open() as peer:
        peer.send_greeting((3, 1), _MECHANISM_NAMES[p.mechanism_name])
        try:
            raw = peer.recv_exactly(64, what="64-octet greeting")
        except (Silence, PeerClosed) as exc:
            return failed("64 octets", f"{len(exc.received)} octets, then {describe(exc)}")
    return passed(f"64 octets ({show(raw[:12], 12)} ...)")


@check(
    "greeting.octet-by-octet",
    23,
    "The Greeting",
    "A greeting that arrives one octet at a time is read like one sent whole",
)
def greeting_octet_by_octet(p: Probe) -> Verdict:
    peer = p.open()
    try:
        peer.send_greeting(
            (3, 1), _MECHANISM_NAMES[p.mechanism_name], octet_by_octet=True, pause=0.002
        )
        peer.handshake(p.plays, mechanism=p.client_mechanism(), send_greeting=False)
    except (Silence, PeerClosed, ProtocolError, OSError) as exc:
        peer.close()
        if p.baseline():
            raise Prerequisite(f"no handshake completes: {p.baseline()}") from None
        return failed("a completed handshake", describe(exc))
    ok, what = p.alive(peer)
    p.finish(peer)
    if not ok:
        return failed("a working connection after the handshake", what)
    return passed(f"handshake completed; the peer {what}")


@check(
    "greeting.zmtp30",
    37,
    "Version Negotiation",
    "A peer given a ZMTP 3.0 greeting speaks ZMTP 3.0 with it",
)
def greeting_zmtp30(p: Probe) -> Verdict:
    try:
        peer = p.session(version=(3, 0))
    except HandshakeFailed as exc:
        return failed("a completed ZMTP 3.0 handshake", str(exc))
    try:
        ok, what = p.alive(peer)
    finally:
        p.finish(peer)
    if not ok:
        return failed("a working ZMTP 3.0 connection", what)
    return passed(f"handshake completed; the peer {what}")


@check(
    "greeting.higher-version",
    37,
    "Version Negotiation",
    "A peer accepts a higher version as valid and speaks its own (a 3.2 greeting here)",
)
def greeting_higher_version(p: Probe) -> Verdict:
    try:
        peer = p.session(version=(3, 2))
    except HandshakeFailed as exc:
        return failed("a completed handshake", str(exc))
    ok, what = p.alive(peer)
    p.finish(peer)
    if not ok:
        return failed("a working connection", what)
    return passed(f"handshake completed; the peer {what}")


@check(
    "greeting.zmtp20",
    37,
    "Version Negotiation",
    "A peer given a ZMTP 2.0 greeting downgrades to ZMTP 2.0 or closes the connection",
    mechanisms="null",
)
def greeting_zmtp20(p: Probe) -> Verdict:
    with p.open() as peer:
        peer.send_raw(zmtp20_greeting_bytes(p.plays))
        got = bytearray()
        closed = ""
        deadline = time.monotonic() + p.options.timeout
        while time.monotonic() < deadline:
            try:
                got += peer.recv_exactly(1, deadline - time.monotonic())
            except PeerClosed as exc:
                closed = exc.how
                break
            except Silence:
                break
            got += peer.recv_available(0.02)
            if len(got) >= 11 and _zmtp20_reply(bytes(got)):
                got += peer.recv_available(p.options.quiet)
                break
            if len(got) > 64:
                got += peer.recv_available(p.options.quiet)
                break
    data = bytes(got)
    if _zmtp20_reply(data):
        return passed(f"downgraded: socket type {data[11]} and an identity frame ({show(data)})")
    if closed:
        return passed(f"{closed} the connection after {len(data)} octets ({show(data, 12)})")
    if len(data) > 64:
        return failed(
            "a ZMTP 2.0 reply or a close",
            f"carried on with ZMTP 3 ({show(data[64:], 16)} after its greeting)",
        )
    return failed(
        "a ZMTP 2.0 reply or a close",
        f"kept the connection open after {len(data)} octets ({show(data, 12)})",
        "RFC 37: a peer that cannot downgrade MUST close the connection",
    )


def _zmtp20_reply(data: bytes) -> bool:
    """The signature, a revision octet, then a socket type and a short final identity
    frame: what a ZMTP 2.0 peer (or one downgrading to 2.0) sends (RFC 15)."""
    if len(data) < 14 or data[0] != 0xFF or data[9] != 0x7F:
        return False
    flags, size = data[12], data[13]
    # Traffic in ZMTP 2.0 framing may follow at once (a SUB's subscriptions, a PUSH's
    # messages), so only the start is judged.
    return data[11] <= 10 and flags in (0, 1) and len(data) >= 14 + size


@check(
    "greeting.mechanism",
    23,
    "Authentication and Confidentiality",
    "The mechanism field names the expected mechanism, null-padded, in A-Z 0-9 - _ . +",
)
def greeting_mechanism(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    peer.close()
    assert peer.peer_greeting is not None
    field = peer.peer_greeting.mechanism_field
    name = field.rstrip(b"\x00")
    expected = _MECHANISM_NAMES[p.mechanism_name]
    seen = f"{name.decode('ascii', 'replace')!r} ({show(field, 20)})"
    if not name or any(c not in _VALID_MECHANISM_CHARS for c in name):
        return failed("a null-padded name of A-Z 0-9 - _ . +", seen)
    if name != expected:
        return failed(f"{expected.decode()}", seen)
    return passed(seen)


@check(
    "greeting.mechanism-mismatch",
    23,
    "Authentication and Confidentiality",
    "A peer whose greeting names another mechanism is disconnected (MUST)",
)
def greeting_mechanism_mismatch(p: Probe) -> Verdict:
    other = b"PLAIN" if p.mechanism_name == "null" else b"NULL"
    with p.open() as peer:
        peer.send_raw(greeting_bytes((3, 1), other))
        reaction = react(peer, p.options.timeout)
    if not reaction.closed:
        return failed("the connection closed", reaction.describe())
    return passed(reaction.describe())


@check(
    "greeting.as-server",
    23,
    "The NULL Security Mechanism",
    "With NULL the as-server octet is 0 (MUST); a PLAIN or CURVE server sets it to 1",
)
def greeting_as_server(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    peer.close()
    assert peer.peer_greeting is not None
    value = peer.peer_greeting.as_server
    seen = f"{value:#04x}"
    if value not in (0, 1):
        return failed("0 or 1", seen)
    if p.mechanism_name == "null":
        return passed(seen) if value == 0 else failed("0 with NULL", seen)
    if value == 1:
        return passed(seen)
    return warned(
        "1 from the server (RFC 24 and 25 name roles by this octet)",
        seen,
        "libzmq 4.3 always sends 0 and takes roles from its configuration",
    )


@check(
    "greeting.filler",
    23,
    "Formal Grammar",
    "The last 31 octets of the greeting (the filler) are zero",
)
def greeting_filler(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    peer.close()
    assert peer.peer_greeting is not None
    filler = peer.peer_greeting.filler
    if any(filler):
        return failed("31 zero octets", show(filler))
    return passed("31 zero octets")


# =======================================================================================
# The handshake: READY and its metadata


@check(
    "handshake.ready",
    23,
    "The NULL Security Mechanism",
    "After the greetings the peer sends READY: a command frame with well-formed metadata",
    mechanisms="null",
)
def handshake_ready(p: Probe) -> Verdict:
    with p.open() as peer:
        peer.send_greeting((3, 1))
        peer.send_command(b"READY", _ready_body(peer, p))
        try:
            peer.recv_greeting()
            frame = peer.recv_wire_frame()
        except (Silence, PeerClosed, ProtocolError) as exc:
            return failed("a READY command", describe(exc))
    return _judge_ready(frame)


def _ready_body(peer: RawPeer, p: Probe) -> bytes:
    from zmtp.testing.peer import encode_properties

    return encode_properties(peer.ready_properties(p.plays))


def _judge_ready(frame: RawFrame) -> Verdict:
    seen = frame.hex()
    if not frame.command:
        return failed("a command frame (flags 0x04 or 0x06)", seen)
    if frame.more:
        return failed("a command frame without MORE", seen)
    parts = split_command(frame.body)
    if parts is None or parts[0] != b"READY":
        return failed("READY", seen)
    try:
        meta = decode_metadata(parts[1])
    except ProtocolError as exc:
        return failed("well-formed metadata", f"{exc.reason} ({seen})")
    if frame.long and len(frame.body) <= 255:
        return warned(
            "a short size for a command of 255 octets or fewer (SHOULD, RFC 23 "
            "Authentication and Confidentiality)",
            seen,
        )
    return passed(metadata_text(meta))


@check(
    "handshake.ready-unprompted",
    23,
    "The NULL Security Mechanism",
    "Each peer sends READY before it waits for the other's (ZMTP 3.0: MUST)",
    mechanisms="null",
)
def handshake_ready_unprompted(p: Probe) -> Verdict:
    with p.open() as peer:
        peer.send_greeting((3, 0))
        try:
            peer.recv_greeting()
            frame = peer.recv_wire_frame()
        except Silence:
            return failed("READY without waiting for ours", "nothing: it waits for our READY")
        except (PeerClosed, ProtocolError) as exc:
            return failed("READY", describe(exc))
    verdict = _judge_ready(frame)
    return verdict


@check(
    "handshake.socket-type",
    37,
    "The Socket-Type Property",
    "The metadata carries Socket-Type with the peer's type, spelt as the grammar has it",
)
def handshake_socket_type(p: Probe) -> Verdict:
    peer = p.session()
    p.finish(peer)
    meta = peer.peer_metadata
    assert meta is not None
    expected = p.peer_type.wire_name
    names = [n for n in meta if n.lower() == "socket-type"]
    if not names:
        return warned(
            f"Socket-Type = {expected.decode()}",
            f"no Socket-Type property ({metadata_text(meta)})",
            "RFC 37: the sender SHOULD specify the Socket-Type",
        )
    value = meta[names[0]]
    seen = f"{names[0]} = {value!r}"
    if value != expected:
        if value.upper() == expected:
            note = "libzmq compares the value exactly and refuses any other spelling"
        elif SocketType.from_wire(value) is not None:
            note = f"we were told the peer is a {p.peer_type.name}"
        else:
            note = "not a socket type of the grammar"
        return failed(f"Socket-Type = {expected.decode()}", seen, note)
    if names[0] != "Socket-Type":
        return warned(
            f"Socket-Type = {expected.decode()}",
            seen,
            "names are case-insensitive (RFC 23), but libzmq looks up 'Socket-Type' "
            "exactly as spelt, so it would not find this one",
        )
    return passed(seen)


@check(
    "handshake.identity",
    37,
    "The Identity Property",
    "An Identity property is at most 255 octets and does not start with a zero octet",
)
def handshake_identity(p: Probe) -> Verdict:
    peer = p.session()
    p.finish(peer)
    meta = peer.peer_metadata
    assert meta is not None
    if "Identity" not in meta:
        return passed("no Identity property")
    value = meta["Identity"]
    seen = f"Identity = {value!r}"
    if len(value) > 255:
        return failed("at most 255 octets", f"{len(value)} octets")
    if value[:1] == b"\x00":
        return failed("a first octet other than zero (reserved)", seen)
    note = ""
    if p.peer_type not in (T.REQ, T.DEALER, T.ROUTER):
        note = "only REQ, DEALER and ROUTER identities mean anything; the rest is ignored"
    return passed(seen or "empty", note)


def _incompatible(peer_type: SocketType) -> SocketType:
    for candidate in (peer_type, T.PUB, T.PUSH, T.PAIR):
        if candidate not in COMPATIBLE_PEERS[peer_type]:
            return candidate
    raise AssertionError(peer_type)  # pragma: no cover - every type has one


@check(
    "handshake.incompatible-type",
    37,
    "The Socket-Type Property",
    "A peer of an incompatible socket type is refused (SHOULD: ERROR, then close)",
)
def handshake_incompatible_type(p: Probe) -> Verdict:
    bad = _incompatible(p.peer_type)
    peer = p.open()
    try:
        peer.handshake(bad, mechanism=p.client_mechanism())
    except ProtocolError as exc:
        reason = getattr(exc, "peer_reason", None)
        peer.close()
        if reason is not None:
            return passed(f"ERROR {reason!r} for a {bad.name} peer")
        return passed(f"refused the {bad.name} peer: {describe(exc)}")
    except (PeerClosed, Silence) as exc:
        peer.close()
        if isinstance(exc, PeerClosed):
            return warned(
                "an ERROR command, then a close",
                f"{exc.how} the connection without ERROR",
                "RFC 37: the peer SHOULD return ERROR when it refuses a socket type",
            )
        return warned("a refusal", f"no answer: {exc}")
    reaction = react(peer, p.options.timeout)
    peer.close()
    if reaction.error is not None:
        departure = error_departure(reaction.error)
        if departure:
            return warned("a well-formed ERROR", reaction.describe(), departure)
        return passed(reaction.describe())
    if reaction.closed:
        return warned(
            "an ERROR command, then a close",
            f"handshake completed, then {reaction.describe()}",
            "RFC 37: the peer SHOULD return ERROR when it refuses a socket type",
        )
    return warned(
        f"a refusal of the {bad.name} peer (RFC 37: SHOULD enforce the table)",
        f"handshake completed; {reaction.describe()}",
    )


@check(
    "handshake.unknown-property",
    37,
    "Connection Metadata",
    "Properties the peer does not know (X- and others) do not stop the handshake",
)
def handshake_unknown_property(p: Probe) -> Verdict:
    props = {"X-Conform": b"probe", "Conform-Extension": b"1"}
    try:
        peer = p.session(properties=props)
    except HandshakeFailed as exc:
        return failed("a completed handshake", str(exc))
    ok, what = p.alive(peer)
    p.finish(peer)
    if not ok:
        return failed("a working connection", what)
    return passed(f"handshake completed; the peer {what}")


@check(
    "handshake.property-case",
    23,
    "The NULL Security Mechanism",
    "Property names are case-insensitive: 'socket-type' is Socket-Type",
)
def handshake_property_case(p: Probe) -> Verdict:
    try:
        peer = p.session(misbehaviour=Misbehaviour(socket_type_name="socket-type"))
    except HandshakeFailed as exc:
        return failed("a completed handshake", str(exc))
    ok, what = p.alive(peer)
    p.finish(peer)
    if not ok:
        return failed("a working connection", what)
    return passed(f"handshake completed; the peer {what}")


@check(
    "handshake.bad-command",
    23,
    "Error Handling",
    "A command the mechanism does not expect ends the handshake (ERROR, then close)",
)
def handshake_bad_command(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    with peer:
        peer.send_command(b"CONFORM", b"not a handshake command")
        reaction = react(peer, p.options.timeout)
    if not reaction.closed:
        return failed("the connection closed", reaction.describe())
    if reaction.error is None:
        return warned(
            "an ERROR command, then a close",
            reaction.describe(),
            "RFC 23 Error Handling: ERROR tells the peer why",
        )
    return _refusal(reaction, "a bad command")


@check(
    "handshake.message-first",
    23,
    "Overall Behavior",
    "A message before the handshake completes ends the connection",
)
def handshake_message_first(p: Probe) -> Verdict:
    peer = _greeting_exchange(p)
    with peer:
        peer.send_frame(b"conform: a message before the handshake")
        reaction = react(peer, p.options.timeout)
    if not reaction.closed:
        return warned("the connection closed", reaction.describe())
    return passed(reaction.describe())


# =======================================================================================
# Framing


def _pattern(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _round_trip(p: Probe, messages: list[list[bytes]], *, raw: bytes | None = None) -> Verdict:
    """Send ``messages`` (or ``raw`` octets carrying the first of them); an echoing
    peer must send each back intact, any other peer must stay alive."""
    peer = p.session()
    try:
        if not p.echoes:
            for msg in messages:
                if raw is not None:
                    peer.send_raw(raw)
                else:
                    peer.send_message(p.wrap(msg))
            ok, what = p.alive(peer)
            if not ok:
                return failed("the connection kept working", what)
            return passed(
                f"accepted {len(messages)} message(s); the peer {what}",
                "its application does not send them back: acceptance only",
            )
        for msg in messages:
            try:
                if raw is not None:
                    peer.send_raw(raw)
                    back = peer.recv_message()
                else:
                    back = p.echo(peer, msg)
            except (Silence, PeerClosed, ProtocolError) as exc:
                return failed(
                    f"{show_message(msg)} back",
                    f"{describe(exc)} after {_headers_seen(peer)}",
                )
            if not p.came_back(back, msg):
                return failed(
                    f"{show_message(msg)} back", f"{show_message(back)} ({_headers(peer)})"
                )
            problem = _header_problem(peer, back)
            if problem:
                return failed("headers that match the bodies", problem)
        return passed(f"{len(messages)} message(s) came back intact ({_headers(peer)})")
    finally:
        p.finish(peer)


def _headers(peer: RawPeer) -> str:
    return "headers " + ", ".join(h.hex(" ") for h in peer.last_headers)


def _headers_seen(peer: RawPeer) -> str:
    rest = peer.recv_available(0.05)
    return f"{_headers(peer)}; then {show(rest, 16)}"


def _header_problem(peer: RawPeer, frames: list[bytes]) -> str:
    """MORE on all frames but the last; a long size for bodies over 255 octets (not
    judged under CURVE, where the size is that of the box)."""
    boxed = peer.mechanism is not None and peer.mechanism.transforms_traffic
    last = len(peer.last_flags) - 1
    for i, (flags, h, body) in enumerate(
        zip(peer.last_flags, peer.last_headers, frames, strict=False)
    ):
        if bool(flags & MORE) != (i < last):
            return f"frame {i}: flags {flags:#04x}, MORE must be set on all frames but the last"
        if not boxed and len(body) > 255 and not flags & LONG:
            return f"frame {i}: {len(body)} octets with a one-octet size ({h.hex(' ')})"
    return ""


@check(
    "framing.short-frames",
    23,
    "Framing",
    "Bodies of 0, 1 and 255 octets travel in short frames and arrive intact",
    uses_app=True,
)
def framing_short(p: Probe) -> Verdict:
    return _round_trip(p, [[b""], [b"x"], [_pattern(255, 1)]])


@check(
    "framing.long-frames",
    23,
    "Framing",
    "Bodies of 256 octets and more travel in long frames (8-octet size) and arrive intact",
    uses_app=True,
)
def framing_long(p: Probe) -> Verdict:
    return _round_trip(p, [[_pattern(256, 2)], [_pattern(300, 3)], [_pattern(70000, 4)]])


@check(
    "framing.long-small",
    23,
    "Framing",
    "A long frame may carry a short body (5 octets with an 8-octet size)",
    mechanisms="null plain",
    uses_app=True,
)
def framing_long_small(p: Probe) -> Verdict:
    frames = p.wrap([b"small"]) if p.peer_type != T.REQ else [b"", b"small"]
    raw = b"".join(
        bytes(((MORE if i < len(frames) - 1 else 0) | LONG,)) + len(f).to_bytes(8, "big") + f
        for i, f in enumerate(frames)
    )
    if p.peer_type == T.REQ:
        peer = p.session()
        try:
            p.request(peer)
            peer.send_raw(raw)
            back = peer.recv_message()
            peer.held = back
        except (Silence, PeerClosed, ProtocolError) as exc:
            return failed("[b'', b'small'] as the next request", describe(exc))
        finally:
            p.finish(peer)
        if not p.came_back(back, [b"small"]):
            return failed("[b'small'] back", show_message(back))
        return passed("came back intact")
    return _round_trip(p, [[b"small"]], raw=raw)


@check(
    "framing.multipart",
    23,
    "Framing",
    "MORE is set on every frame but the last; multipart messages with empty frames arrive whole",
    uses_app=True,
)
def framing_multipart(p: Probe) -> Verdict:
    return _round_trip(p, [[b"part-1", b"", b"part-3", b""], [b"a", b"b", b"c", b"d", b"e"]])


@check(
    "framing.reserved-bits",
    23,
    "Framing",
    "Reserved flag bits 3-7 MUST be zero: the peer never sets them, and drops a sender that does",
    mechanisms="null plain",
)
def framing_reserved_bits(p: Probe) -> Verdict:
    peer = p.session()
    frames = list(peer.handshake_frames)
    if peer.version >= (3, 1):
        peer.ping(0, b"flags")
        try:
            frames.append(peer.recv_command(b"PONG").frame)
        except (Silence, PeerClosed, ProtocolError):
            pass  # PONG is judged elsewhere; the handshake frames remain to judge
    seen_bits = [f.hex() for f in frames if f.reserved_bits]
    if seen_bits:
        p.finish(peer)
        return failed("reserved bits zero in the peer's frames", seen_bits[0])
    with peer:
        peer.send_raw(bytes((0x80, 7)) + b"conform")
        reaction = react(peer, p.options.timeout)
    if reaction.closed:
        return passed(f"dropped our frame 80 07: {reaction.describe()}")
    return warned(
        "the connection closed",
        f"took frame 80 07 ...: {reaction.describe()}",
        "RFC 23 does not say what a receiver does; libzmq 4.3 ignores the reserved bits",
    )


@check(
    "framing.command-more",
    23,
    "Framing",
    "A command frame never has MORE (SHALL be zero); the peer drops a sender that sets it",
    mechanisms="null plain",
)
def framing_command_more(p: Probe) -> Verdict:
    peer = p.session()
    with peer:
        peer.send_raw(bytes((0x05, 8)) + b"\x07CONFORM")
        reaction = react(peer, p.options.timeout)
    if reaction.closed:
        return passed(reaction.describe())
    return warned(
        "the connection closed",
        reaction.describe(),
        "RFC 23 does not say what a receiver does; libzmq 4.3 ignores MORE on commands",
    )


@check(
    "framing.oversize",
    23,
    "Framing",
    "A message larger than the peer's maxmsgsize ends the connection before it is buffered",
    mechanisms="null plain",
)
def framing_oversize(p: Probe) -> Verdict:
    limit = p.options.maxmsgsize
    if limit is None:
        return skipped("give the peer's maxmsgsize (--maxmsgsize) to check it is enforced")
    peer = p.session()
    with peer:
        size = limit + 1
        # The header announces the whole size; a small part of the body follows.
        peer.send_raw(bytes((LONG,)) + size.to_bytes(8, "big") + bytes(min(size, 4096)))
        reaction = react(peer, p.options.timeout)
    if reaction.closed:
        return passed(f"{size}-octet frame announced: {reaction.describe()}")
    return failed(
        f"the connection closed on a {size}-octet frame (maxmsgsize {limit})",
        reaction.describe(),
    )


# =======================================================================================
# RFC 37: PING/PONG and other commands


def _needs_31(peer: RawPeer) -> None:
    if peer.version < (3, 1):
        raise Prerequisite("the peer speaks ZMTP 3.0: no PING/PONG")


@check(
    "heartbeat.pong",
    37,
    "Connection Heartbeating",
    "A PING is answered by a PONG that echoes its context (16 octets here)",
)
def heartbeat_pong(p: Probe) -> Verdict:
    return _ping(p, os.urandom(16))


@check(
    "heartbeat.pong-empty",
    37,
    "Connection Heartbeating",
    "A PING with an empty context is answered by a PONG with an empty context",
)
def heartbeat_pong_empty(p: Probe) -> Verdict:
    return _ping(p, b"")


def _ping(p: Probe, context: bytes) -> Verdict:
    peer = p.session()
    try:
        _needs_31(peer)
        peer.ping(0, context)
        try:
            pong = peer.recv_command(b"PONG")
        except (Silence, PeerClosed, ProtocolError) as exc:
            return failed(f"PONG {show(context)}", describe(exc))
    finally:
        p.finish(peer)
    if pong.data != context:
        return failed(f"PONG with context {show(context)}", f"PONG with {show(pong.data)}")
    return passed(f"PONG {pong.frame.hex()}")


@check(
    "heartbeat.ttl",
    37,
    "Connection Heartbeating",
    "After a PING with a TTL and no further traffic, the peer SHOULD close when the TTL ends",
)
def heartbeat_ttl(p: Probe) -> Verdict:
    ttl = 5  # tenths of a second
    peer = p.session()
    with peer:
        _needs_31(peer)
        peer.ping(ttl, b"ttl")
        sent = time.monotonic()
        try:
            peer.recv_command(b"PONG")
        except (Silence, PeerClosed, ProtocolError) as exc:
            raise Prerequisite(f"no PONG: {describe(exc)}") from None
        closed = peer.wait_closed(ttl / 10 + p.options.timeout)
        took = time.monotonic() - sent
    if not closed:
        return warned(
            f"a close about {ttl / 10:.1f} s after the PING",
            f"still open after {took:.1f} s",
            "RFC 37: a strong hint, not a MUST",
        )
    if took < ttl / 10 * 0.5:
        return failed(f"a close after about {ttl / 10:.1f} s", f"closed after {took:.2f} s")
    return passed(f"closed {took:.2f} s after a PING with TTL {ttl / 10:.1f} s")


@check(
    "commands.unknown",
    37,
    "Commands",
    "A command the peer does not know is ignored; the connection keeps working",
)
def commands_unknown(p: Probe) -> Verdict:
    peer = p.session()
    try:
        peer.send_command(b"CONFORM", b"an unknown command")
        ok, what = p.alive(peer)
    finally:
        p.finish(peer)
    if not ok:
        return warned("the command ignored", what, "closing shuts out future extensions")
    return passed(f"ignored; the peer {what}")
