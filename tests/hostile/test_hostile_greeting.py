"""Hostile peers in the greeting (RFC 23 "The Greeting", RFC 37 "Version Negotiation").

Each attacker opens a raw tcp connection to a bound zmtp PULL and sends a greeting that
breaks one rule (or too little of one). zmtp must close that connection alone, report
it on the monitor with a reason naming the rule, keep its memory to a stated bound,
and keep serving the libzmq peer linked before the attack (see ``conftest.py``).
"""

from __future__ import annotations

import pytest
import trio
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


async def test_a_greeting_whose_signature_does_not_start_with_0xff_is_refused_at_once(
    make_arena: MakeArena,
):
    with trio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "signature must start with 0xFF" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, "bad signature")
        await arena.still_serves_libzmq()


async def test_a_truncated_greeting_followed_by_silence_is_dropped_after_handshake_ivl(
    make_arena: MakeArena,
):
    # Slowloris: 20 of the 64 octets, then nothing. The handshake must be over within
    # handshake_ivl (libzmq reports the timeout as HANDSHAKE_FAILED_NO_DETAIL too).
    ivl = 200
    with trio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL, handshake_ivl=ivl)
        before = trio.current_time()  # the handshake's clock starts after this
        attacker = await arena.attacker()
        await attacker.send(greeting()[:20])
        ev = await arena.closed(Event.HANDSHAKE_FAILED_NO_DETAIL)
        assert trio.current_time() - before >= ivl / 1000
        assert f"handshake not completed within {ivl} ms" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, "slowloris")
        await arena.still_serves_libzmq()


@pytest.mark.parametrize(
    ("opening", "rule"),
    [
        # RFC 23 layout, version octets 2.0 and 1.0.
        (greeting(2, 0), "zmtp supports ZMTP 3.0 and later"),
        (greeting(1, 0), "zmtp supports ZMTP 3.0 and later"),
        # A real ZMTP 2.0 peer (RFC 15): signature, revision 0x01, socket type, then it
        # waits for ours.
        (b"\xff" + bytes(8) + b"\x7f" + b"\x01\x07", "zmtp supports ZMTP 3.0 and later"),
        # A real ZMTP 1.0 peer (RFC 13): its identity frame, here empty.
        (b"\x01\x00", "signature must start with 0xFF"),
    ],
    ids=["version-2.0", "version-1.0", "zmtp-2.0-rfc15", "zmtp-1.0-rfc13"],
)
async def test_a_greeting_older_than_zmtp_3_0_is_refused(
    make_arena: MakeArena, opening: bytes, rule: str
):
    with trio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(opening)
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert rule in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, f"old version {opening[:12]!r}")
        await arena.still_serves_libzmq()


async def test_a_zmtp_2_0_peer_is_named_zmtp_2_0_in_the_refusal(make_arena: MakeArena):
    # RFC 15: "revision = %x01" is ZMTP/2.0; RFC 23 sends 3 there. A reason that says
    # the peer speaks ZMTP 1.x (as before a8f072e) sends whoever debugs the peer down
    # the wrong path.
    with trio.fail_after(TIMEOUT):
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
    with trio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting(mechanism=mechanism))
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert rule in ev.reason
        await attacker.wait_closed()
        arena.memory.check(GREETING_BOUND, f"mechanism {mechanism!r}")
        await arena.still_serves_libzmq()
