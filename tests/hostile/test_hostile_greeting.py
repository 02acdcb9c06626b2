"""Hostile peers in the greeting (RFC 23 "The Greeting", RFC 37 "Version Negotiation",
RFC 15 "Backwards Interoperability").

Each attacker opens a raw tcp connection to a bound zmtp PULL and sends a greeting that
breaks one rule (or too little of one). zmtp must close that connection alone, report
it on the monitor with a reason naming the rule, keep its memory to a stated bound,
and keep serving the libzmq peer linked before the attack (see ``conftest.py``).

Like libzmq, zmtp speaks to ZMTP 2.0 and 1.0 peers, so octets that are not a ZMTP 3
greeting are not all garbage: a first octet other than 0xFF starts a ZMTP 1.0 identity
frame (an HTTP request included), and only what no version allows is refused at once.
"""

from __future__ import annotations

import anyio
import pytest
from engines import CLOCK_GRAIN
from hostile_helpers import KIB, MakeArena, greeting

import zmtp
from zmtp import Event

#: The well-behaved peer in every test is libzmq (through pyzmq).
pytestmark = pytest.mark.interop

#: Seconds one test may take.
TIMEOUT = 10
#: The peak of traced memory above the baseline one greeting attack may cause: the
#: engine reads up to 256 KiB at a time (``recv`` allocates that much, then shrinks it
#: to what arrived), plus one connection's state and its failure. Measured: 270 KiB
#: peak, under 12 KiB still held after the connection ended.
GREETING_BOUND = 512 * KIB


async def test_an_http_request_reads_as_a_zmtp_1_0_identity_and_is_dropped_after_handshake_ivl(
    make_arena: MakeArena,
):
    # RFC 15: a first octet other than 0xFF is a ZMTP 1.0 peer; "G" announces an
    # identity frame of 71 octets that never completes (libzmq reads it the same way).
    ivl = 200
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL, handshake_ivl=ivl)
        attacker = await arena.attacker()
        await attacker.send(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        ev = await arena.closed(Event.HANDSHAKE_FAILED_NO_DETAIL)
        assert f"handshake not completed within {ivl} ms" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, "http request")
        await arena.still_serves_libzmq()


async def test_a_zmtp_1_0_identity_claiming_2_60_octets_holds_only_what_arrives(
    make_arena: MakeArena,
):
    # RFC 13 lets a length be any 64-bit number; a claim is not a fact: what is held
    # is what arrived (64 KiB here), and handshake_ivl ends the wait.
    ivl = 300
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL, handshake_ivl=ivl)
        attacker = await arena.attacker()
        await attacker.send(b"\xff" + (1 << 60).to_bytes(8, "big") + b"\x00" + bytes(64 * KIB))
        await arena.closed(Event.HANDSHAKE_FAILED_NO_DETAIL)
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND + 128 * KIB, "2^60 identity claim")
        await arena.still_serves_libzmq()


async def test_a_truncated_greeting_followed_by_silence_is_dropped_after_handshake_ivl(
    make_arena: MakeArena,
):
    # Slowloris: 20 of the 64 octets, then nothing. The handshake must be over within
    # handshake_ivl (libzmq reports the timeout as HANDSHAKE_FAILED_NO_DETAIL too).
    ivl = 200
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL, handshake_ivl=ivl)
        before = anyio.current_time()  # the handshake's clock starts after this
        attacker = await arena.attacker()
        await attacker.send(greeting()[:20])
        ev = await arena.closed(Event.HANDSHAKE_FAILED_NO_DETAIL)
        assert anyio.current_time() - before >= ivl / 1000 - CLOCK_GRAIN
        assert f"handshake not completed within {ivl} ms" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, "slowloris")
        await arena.still_serves_libzmq()


@pytest.mark.parametrize(
    ("opening", "rule"),
    [
        # Version octet 2: no ZMTP version uses it (RFC 23 "Version Negotiation").
        (greeting(2, 0), "which no ZMTP version uses"),
        # A versioned signature (low bit of octet 9 set) must end with 0x7F.
        (b"\xff" + bytes(8) + b"\x03", "must end with 0x7F"),
        # A ZMTP 1.0 frame of length 0 (RFC 13: the length counts the flags octet).
        (b"\x00\x00", "frame length 0"),
        # A real ZMTP 2.0 PULL (RFC 15): signature, revision 0x01, socket type 0x07.
        (b"\xff" + bytes(8) + b"\x7f" + b"\x01\x07", "cannot talk to PULL"),
        # A ZMTP 3 layout with version octets 1.0 reads as ZMTP 2.0 whose socket-type
        # octet is 0 (PAIR).
        (greeting(1, 0), "cannot talk to PAIR"),
    ],
    ids=["version-octet-2", "signature-end", "zmtp-1.0-zero-length", "zmtp-2.0-pull", "pair"],
)
async def test_a_greeting_no_version_allows_is_refused(
    make_arena: MakeArena, opening: bytes, rule: str
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(opening)
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert rule in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, f"refused {opening[:12]!r}")
        await arena.still_serves_libzmq()


async def test_a_zmtp_2_0_peer_is_named_zmtp_2_0_in_the_refusal(make_arena: MakeArena):
    # RFC 15: "revision = %x01" is ZMTP/2.0; RFC 23 sends 3 there. A reason that says
    # the peer speaks ZMTP 1.x (as before a8f072e) sends whoever debugs the peer down
    # the wrong path. (A PULL cannot talk to a PULL, RFC 15 "Socket Compatibility".)
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(b"\xff" + bytes(8) + b"\x7f" + b"\x01\x07")
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "ZMTP 2.0" in ev.reason, ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, "ZMTP 2.0 named")
        await arena.still_serves_libzmq()


@pytest.mark.parametrize(
    ("mechanism", "rule"),
    [
        (b"KERBEROS", "security mechanism mismatch: we use NULL, the peer KERBEROS"),
        (b"GSSAPI", "security mechanism mismatch: we use NULL, the peer GSSAPI"),
        (b"null", "is not a null-padded name of A-Z"),
    ],
    ids=["unknown", "unsupported", "not-a-name"],
)
async def test_a_greeting_with_another_security_mechanism_is_refused(
    make_arena: MakeArena, mechanism: bytes, rule: str
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting(mechanism=mechanism))
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert rule in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, f"mechanism {mechanism!r}")
        await arena.still_serves_libzmq()
