"""Detecting older peers: RFC 15 "Backwards Interoperability", RFC 13, RFC 23 "Version
Negotiation".

Every vector of specs/old_greetings.json is fed to GreetingParser whole and one octet
at a time: the protocol must be recognised at the very octet that shows it (a first
octet other than 0xFF, a tenth octet with its low bit clear, the version octet), the
parser must take no octet past the greeting, and a ZMTP 1.0 peer's octets must be
handed back for its identity frame.
"""

from __future__ import annotations

import pytest

from zmtp.errors import HandshakeError, ProtocolError
from zmtp.wire.greeting import (
    OLD_GREETING_SIZE,
    Greeting,
    GreetingParser,
    encode_greeting,
    encode_old_greeting,
)

_DEFECT_OFFSET = {"bad_signature_last_byte": 9, "unknown_version": 10}


def _expected(vector: dict) -> Greeting:
    major, minor = vector["version"]
    return Greeting(major, minor, b"", False, vector["socket_type"])


def test_old_greeting_is_detected_when_fed_whole(old_greeting_vector):
    """RFC 15 "Backwards Interoperability": the version, the socket-type octet and the
    octets the greeting takes are as the vector says; a ZMTP 1.0 peer's octets are
    handed back for its identity frame."""
    vector = old_greeting_vector
    data = bytes.fromhex(vector["hex"])
    parser = GreetingParser(old_only=vector.get("old_only", False))

    consumed = parser.feed(data)

    assert consumed == vector["consumed"]
    assert parser.greeting == _expected(vector)
    assert parser.unversioned == (vector["socket_type"] is None)
    assert parser.replay == bytes.fromhex(vector.get("replay_hex", ""))


def test_old_greeting_is_detected_at_its_last_octet_when_fed_one_at_a_time(old_greeting_vector):
    """RFC 15 "Backwards Interoperability": detection reads no further than it must:
    the greeting is complete exactly at the octet the vector says, not before."""
    vector = old_greeting_vector
    data = bytes.fromhex(vector["hex"])
    parser = GreetingParser(old_only=vector.get("old_only", False))

    for i in range(vector["consumed"]):
        assert parser.greeting is None, f"complete after only {i} octets"
        assert parser.feed(data[i : i + 1]) == 1
    assert parser.greeting == _expected(vector)
    assert parser.feed(data[vector["consumed"] :]) == 0


def test_invalid_old_greeting_is_refused_at_its_defect(invalid_old_greeting_vector):
    """RFC 15 "Formal Grammar" / RFC 23 "Version Negotiation": a versioned signature
    ends with 0x7F, and the version octet 2 names no version; each is refused at that
    octet and not before."""
    data = bytes.fromhex(invalid_old_greeting_vector["hex"])
    offset = _DEFECT_OFFSET[invalid_old_greeting_vector["error"]]
    parser = GreetingParser()

    for i in range(offset):
        parser.feed(data[i : i + 1])
    with pytest.raises(ProtocolError) as info:
        parser.feed(data[offset : offset + 1])
    assert info.value.rfc in (15, 23)


def test_versioned_signature_is_reported_before_the_version_octet():
    """RFC 23 "Version Negotiation" (libzmq's order): after the peer's ten signature
    octets we know it is versioned, and may send our version octet; the version itself
    is known one octet later."""
    parser = GreetingParser()
    parser.feed(encode_old_greeting(7)[:10])
    assert parser.versioned and parser.peer_major is None

    parser.feed(b"\x01")
    assert parser.peer_major == 2
    assert parser.greeting is None


def test_revision_one_is_zmtp_2_0_and_its_greeting_is_twelve_octets():
    """RFC 15 "Formal Grammar": greeting = signature revision socket-type; what follows
    is the identity frame, which the parser leaves alone."""
    parser = GreetingParser()
    identity = b"\x00\x03abc"
    assert parser.feed(encode_old_greeting(5) + identity) == OLD_GREETING_SIZE
    assert parser.greeting == Greeting(2, 0, b"", False, 5)


def test_a_zmtp_2_0_reader_takes_twelve_octets_of_a_3_x_greeting():
    """RFC 15 "Backwards Interoperability": a ZMTP 2.0 peer reads the revision and the
    socket type and nothing more; a 3.x peer that downgrades sends its type where a
    3.x greeting has its minor version (here a 3.x greeting's minor 1 reads as PUB)."""
    parser = GreetingParser(old_only=True)
    full = encode_greeting(b"NULL", False)
    assert parser.feed(full) == OLD_GREETING_SIZE
    assert parser.greeting == Greeting(3, 0, b"", False, full[11])


def test_zmtp_1_0_is_recognised_from_the_first_octet_alone():
    """RFC 15 "Backwards Interoperability": "If this octet is not %FF, then the other
    peer is using ZMTP/1.0" -- no second octet is awaited."""
    parser = GreetingParser()
    assert parser.feed(b"\x05") == 1
    assert parser.unversioned
    assert parser.greeting == Greeting(1, 0, b"", False, None)
    assert parser.replay == b"\x05"


def test_zmtp_1_0_long_identity_is_recognised_at_the_tenth_octet():
    """RFC 15 "Backwards Interoperability": "If the least significant bit is 0, then
    the other peer is using ZMTP/1.0" -- the ten octets are its identity frame's
    long header."""
    header = b"\xff" + (300).to_bytes(8, "big") + b"\x00"
    parser = GreetingParser()
    for octet in header[:9]:
        parser.feed(bytes((octet,)))
        assert not parser.done
    parser.feed(header[9:])
    assert parser.unversioned and parser.replay == header


def test_unknown_version_is_a_handshake_error():
    """RFC 23 "Version Negotiation": a version the peer cannot speak fails the
    handshake (HandshakeError, so the engine reports it as a handshake failure)."""
    with pytest.raises(HandshakeError):
        GreetingParser().feed(encode_old_greeting(5, revision=2))


def test_encoded_old_greeting_layout():
    """RFC 15 "Formal Grammar" and "Backwards Interoperability": 0xFF, the identity
    size plus one in 8 network-order octets, 0x7F, revision 0x01, the socket type."""
    data = encode_old_greeting(6, padding=4)
    assert data == b"\xff" + bytes(7) + b"\x04\x7f\x01\x06"
    assert len(data) == OLD_GREETING_SIZE
