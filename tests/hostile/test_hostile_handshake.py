"""Hostile peers in the security handshake (RFC 23 "Overall Behavior", "The NULL Security
Mechanism", "The Socket-Type Property"; RFC 24 PLAIN with RFC 27 ZAP).

Each attacker sends a valid greeting, then breaks a rule of the handshake that follows:
a command other than READY, a message before READY, a READY whose property table is
malformed, a socket type the server cannot talk to, a wrong PLAIN password. zmtp must
close that connection alone (HANDSHAKE_FAILED_PROTOCOL, or HANDSHAKE_FAILED_AUTH with
the ZAP status code), with a reason naming the rule, within a stated memory bound,
while the libzmq peer linked before the attack keeps being served.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

import anyio
import pytest
from engines import Engine
from hostile_helpers import KIB, MakeArena, greeting

import zmtp
from zmtp import Event
from zmtp.wire import Connection, PlainClient, SocketType
from zmtp.wire.commands import encode_ready
from zmtp.wire.frames import encode_command_frame, encode_frame

#: The well-behaved peer in every test is libzmq (through pyzmq).
pytestmark = pytest.mark.interop

#: Seconds one test may take.
TIMEOUT = 10
#: The peak of traced memory above the baseline one handshake attack may cause: one
#: 256 KiB read buffer (``recv`` allocates it, then shrinks it to what arrived), one
#: connection's state and its failure. Measured: 270 to 280 KiB peak.
HANDSHAKE_BOUND = 512 * KIB

GiB = 1 << 30


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


@pytest.mark.parametrize(
    "command",
    [
        encode_command_frame(b"PING", b"\x00\x00"),
        encode_command_frame(b"SUBSCRIBE", b"topic"),
        encode_command_frame(b"HELLO", b"\x05admin\x06secret"),
    ],
    ids=["PING", "SUBSCRIBE", "HELLO"],
)
async def test_a_command_other_than_ready_during_a_null_handshake_is_refused(
    make_arena: MakeArena, command: bytes
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting() + command)
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "while waiting for READY" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(HANDSHAKE_BOUND, f"command {command[3:8]!r} before READY")
        await arena.still_serves_libzmq()


@pytest.mark.parametrize(
    "frame",
    [encode_frame(b"too early"), b"\x02" + struct.pack(">Q", GiB)],
    ids=["small", "1-GiB-claim"],
)
async def test_a_message_before_ready_is_refused_from_its_header(
    make_arena: MakeArena, frame: bytes
):
    # A message frame may follow only a completed handshake: it is refused from its
    # header, so a 1 GiB claim allocates nothing (the bound below would show it).
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting() + frame)
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert ev.reason == "peer sent a message before the handshake completed"
        await attacker.wait_closed()
        arena.memory.check(HANDSHAKE_BOUND, f"message before READY ({len(frame)} octets)")
        await arena.still_serves_libzmq()


SOCKET_TYPE = b"\x0bSocket-Type"


@pytest.mark.parametrize(
    ("properties", "rule"),
    [
        (SOCKET_TYPE + u32(1000) + b"PUSH", "value announced 1000 octets, only 4 remain"),
        (SOCKET_TYPE + b"\xff\xff\xff\x00PUSH", "value size 4294967040 exceeds 2^31-1"),
        (SOCKET_TYPE + b"\x00\x00", "has a truncated value size"),
        (b"\x20Socket-Type", "name announced 32 octets, only 11 remain"),
        (b"\x00" + u32(0), "metadata property name is empty"),
        (b"\x03a b" + u32(0), "has characters outside A-Z a-z 0-9 - _ . +"),
    ],
    ids=[
        "value-overruns",
        "value-over-2^31",
        "size-cut",
        "name-overruns",
        "empty-name",
        "bad-name",
    ],
)
async def test_a_ready_with_a_malformed_property_table_is_refused(
    make_arena: MakeArena, properties: bytes, rule: str
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting() + encode_command_frame(b"READY", properties))
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert "metadata property" in ev.reason and rule in ev.reason, ev.reason
        # "The error is the reply": the attacker is told why (RFC 23 Error Handling).
        told = await attacker.wait_closed()
        assert b"\x05ERROR" in told and rule.encode() in told
        arena.memory.check(HANDSHAKE_BOUND, f"malformed READY {properties[:12]!r}")
        await arena.still_serves_libzmq()


@pytest.mark.parametrize(
    ("properties", "rule"),
    [
        ({"Socket-Type": b"PUB"}, "socket type PULL cannot talk to PUB"),
        ({"Socket-Type": b"PULL"}, "socket type PULL cannot talk to PULL"),
        ({"Socket-Type": b"TEAPOT"}, "peer announced unknown socket type b'TEAPOT'"),
        ({"Identity": b"nameless"}, "peer metadata has no Socket-Type property"),
    ],
    ids=["PUB", "PULL", "unknown", "missing"],
)
async def test_a_peer_of_an_incompatible_socket_type_is_refused(
    make_arena: MakeArena, properties: dict[str, bytes], rule: str
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(zmtp.PULL)
        attacker = await arena.attacker()
        await attacker.send(greeting() + encode_ready(properties))
        ev = await arena.closed(Event.HANDSHAKE_FAILED_PROTOCOL)
        assert ev.reason == rule
        await attacker.wait_closed()
        arena.memory.check(HANDSHAKE_BOUND, f"socket type {properties}")
        await arena.still_serves_libzmq()


@pytest.fixture
async def authenticator(
    engine: Engine, ctx: zmtp.Context
) -> AsyncIterator[zmtp.auth.Authenticator]:
    """A ZAP handler (RFC 27) admitting the PLAIN user ``admin`` with ``secret``."""
    async with engine.Authenticator(ctx) as auth:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        yield auth


async def test_a_plain_client_with_a_wrong_password_is_refused_with_zap_status_400(
    make_arena: MakeArena, authenticator: zmtp.auth.Authenticator
):
    with anyio.fail_after(TIMEOUT):
        arena = await make_arena(
            zmtp.PULL,
            plain_server=True,
            libzmq_options={"plain_username": b"admin", "plain_password": b"secret"},
        )
        attacker = await arena.attacker(
            Connection(SocketType.PUSH, mechanism=PlainClient(b"admin", b"guess"))
        )
        with pytest.raises(zmtp.PeerError) as refusal:
            await attacker.handshake()
        assert refusal.value.peer_reason == "400"  # what the ERROR told the attacker
        ev = await arena.closed(Event.HANDSHAKE_FAILED_AUTH)
        assert ev.value == 400 and "PLAIN credentials refused: 400" in ev.reason
        await attacker.wait_closed()
        arena.memory.check(HANDSHAKE_BOUND, "PLAIN wrong password")
        await arena.still_serves_libzmq()
