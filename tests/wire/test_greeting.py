"""The ZMTP 3.x greeting: RFC 23 "The Greeting" / "Formal Grammar", RFC 37 "Version
Negotiation".

Every vector of specs/greetings.json is fed to GreetingParser whole and one octet at a
time. A defect in the signature or the major version must be reported as soon as the
offending octet arrives (libzmq sends its greeting in stages, so a parser that waits
for 64 octets would deadlock against a peer that waits for ours). The detection of
older peers is in test_old_greeting.py.
"""

from __future__ import annotations

import pytest

from zmtp.errors import HandshakeError, ProtocolError
from zmtp.wire.greeting import GREETING_SIZE, Greeting, GreetingParser, encode_greeting

#: Where the defect named by each error keyword sits (specs/README.md).
_DEFECT_OFFSET = {
    "bad_signature_last_byte": 9,
    "unknown_version": 10,
}
#: Fields only judged once complete: (first octet of the field, last octet).
_DEFECT_FIELD = {
    "bad_mechanism": (12, 31),
    "bad_as_server": (32, 32),
}


def _expected_greeting(vector: dict) -> Greeting:
    major, minor = vector["version"]
    return Greeting(
        major=major,
        minor=minor,
        mechanism=vector["mechanism"].encode("ascii"),
        as_server=vector["as_server"],
    )


# -- valid greetings ---------------------------------------------------------------------


def test_valid_greeting_is_decoded_when_fed_whole(valid_greeting_vector):
    """RFC 23/37 "The Greeting": a well-formed 64-octet greeting yields its version,
    mechanism (NUL padding removed) and as-server flag."""
    data = bytes.fromhex(valid_greeting_vector["hex"])
    parser = GreetingParser()

    consumed = parser.feed(data)

    assert consumed == GREETING_SIZE
    assert parser.done
    assert parser.greeting == _expected_greeting(valid_greeting_vector)
    assert parser.greeting.version == tuple(valid_greeting_vector["version"])
    assert parser.peer_major == valid_greeting_vector["version"][0]


def test_valid_greeting_is_decoded_when_fed_one_octet_at_a_time(valid_greeting_vector):
    """RFC 23 "The Greeting": the greeting is a byte stream and may arrive in any
    pieces; it is complete exactly at its 64th octet."""
    data = bytes.fromhex(valid_greeting_vector["hex"])
    parser = GreetingParser()

    for i, octet in enumerate(data):
        assert parser.greeting is None, f"greeting complete after only {i} octets"
        assert parser.feed(bytes([octet])) == 1

    assert parser.greeting == _expected_greeting(valid_greeting_vector)


def test_greeting_parser_consumes_no_octet_past_the_64th():
    """RFC 23 "The Greeting": the greeting is exactly 64 octets; what follows is the
    first frame of the handshake and belongs to the frame decoder."""
    greeting = encode_greeting(b"NULL", False)
    ready = b"\x04\x06\x05READY"
    parser = GreetingParser()

    assert parser.feed(greeting[:60]) == 60
    assert parser.feed(greeting[60:] + ready) == 4
    assert parser.feed(ready) == 0
    assert parser.greeting == Greeting(3, 1, b"NULL", False)


def test_peer_major_version_is_known_after_eleven_octets():
    """RFC 37 "Version Negotiation": a peer decides on the protocol version after
    reading the signature and the major version octet (octets 0-10), before the rest
    of the greeting arrives."""
    greeting = encode_greeting(b"NULL", False, (3, 0))
    parser = GreetingParser()

    parser.feed(greeting[:10])
    assert parser.peer_major is None
    parser.feed(greeting[10:11])
    assert parser.peer_major == 3
    assert parser.greeting is None


# -- invalid greetings -------------------------------------------------------------------


def test_invalid_greeting_is_refused_when_fed_whole(invalid_greeting_vector):
    """RFC 23 "The Greeting" / "Formal Grammar": a greeting with a bad signature, a
    version octet no ZMTP uses, a malformed mechanism or an as-server octet other than
    0/1 is refused with an error that names its RFC."""
    data = bytes.fromhex(invalid_greeting_vector["hex"])
    parser = GreetingParser()

    with pytest.raises(ProtocolError) as info:
        parser.feed(data)

    assert info.value.rfc in (23, 37)
    assert parser.greeting is None
    if invalid_greeting_vector["error"] in ("unknown_version", "bad_mechanism", "bad_as_server"):
        assert isinstance(info.value, HandshakeError)


def test_invalid_greeting_is_refused_at_its_defect_and_not_before(invalid_greeting_vector):
    """RFC 23 "The Greeting" / "Backwards Interoperability": fed one octet at a time,
    every octet before the defect is accepted; a bad signature octet or major version
    is refused at that very octet, a bad field at the latest when the field ends."""
    data = bytes.fromhex(invalid_greeting_vector["hex"])
    error = invalid_greeting_vector["error"]
    if error in _DEFECT_OFFSET:
        first_bad = last_bad = _DEFECT_OFFSET[error]
    else:
        first_bad, field_end = _DEFECT_FIELD[error]
        # The parser may judge the field when it ends, or when the greeting ends.
        last_bad = max(field_end, GREETING_SIZE - 1)
    assert len(data) > first_bad

    parser = GreetingParser()
    for i in range(first_bad):
        parser.feed(data[i : i + 1])
    with pytest.raises(ProtocolError):
        for i in range(first_bad, last_bad + 1):
            parser.feed(data[i : i + 1])


def test_version_octet_2_is_refused_naming_version_negotiation():
    """RFC 23 "Version Negotiation": 0x01 is ZMTP 2.0 and 3 or more is ZMTP 3.x; the
    octet 2 names no version and is refused as a handshake error naming the rule."""
    parser = GreetingParser()
    with pytest.raises(HandshakeError) as info:
        parser.feed(b"\xff" + bytes(8) + b"\x7f\x02")
    assert info.value.rfc == 23
    assert info.value.section == "Version Negotiation"
    assert parser.peer_major is None


# -- encoding ----------------------------------------------------------------------------


def test_encoded_greeting_matches_every_valid_vector_with_zero_padding(
    zero_padded_greeting_vector,
):
    """RFC 23 "The Greeting": signature FF, 8 padding octets, 7F; major, minor; the
    mechanism NUL-padded to 20 octets; as-server; 31 zero octets. We write zero
    padding, so our greeting equals every valid vector that uses it."""
    vector = zero_padded_greeting_vector
    version = tuple(vector["version"])
    mechanism = vector["mechanism"].encode("ascii")

    assert encode_greeting(mechanism, vector["as_server"], version) == bytes.fromhex(vector["hex"])


def test_encoded_greeting_layout_octet_by_octet():
    """RFC 23 "The Greeting": the octet offsets of every field in the 64 octets."""
    data = encode_greeting(b"PLAIN", True, (3, 1))

    assert len(data) == 64
    assert data[0] == 0xFF
    assert data[1:9] == bytes(8)
    assert data[9] == 0x7F
    assert (data[10], data[11]) == (3, 1)
    assert data[12:32] == b"PLAIN" + bytes(15)
    assert data[32] == 1
    assert data[33:] == bytes(31)


def test_encoded_greeting_defaults_to_zmtp_3_1():
    """RFC 37 "Version Negotiation": we announce ZMTP 3.1."""
    data = encode_greeting(b"NULL", False)
    assert (data[10], data[11]) == (3, 1)
    assert data[32] == 0


@pytest.mark.parametrize(
    "mechanism",
    [b"", b"null", b"NU LL", b"X" * 21, b"NULL\x00"],
    ids=["empty", "lowercase", "space", "21-octets", "embedded-nul"],
)
def test_encode_greeting_refuses_mechanism_names_outside_the_grammar(mechanism):
    """RFC 23 "Authentication and Confidentiality": a mechanism name is 1-20 octets of
    A-Z, 0-9, '-', '_', '.', '+'."""
    with pytest.raises(ValueError):
        encode_greeting(mechanism, False)


def test_encoded_greeting_padding_holds_a_big_endian_number():
    """RFC 15 "Backwards Interoperability": a peer that detects ZMTP 1.0 writes its
    identity size plus one in the padding, as an 8-octet network-order number."""
    data = encode_greeting(b"NULL", False, padding=9)
    assert data[1:9] == bytes(7) + b"\x09"
    assert data[9] == 0x7F


@pytest.mark.parametrize("mechanism", [b"NULL", b"PLAIN", b"CURVE", b"X-MINE_2.0+"])
def test_encoded_greeting_decodes_to_the_same_fields(mechanism):
    """RFC 23 "The Greeting": what we write, a peer reads back unchanged."""
    parser = GreetingParser()
    parser.feed(encode_greeting(mechanism, True, (3, 0)))
    assert parser.greeting == Greeting(3, 0, mechanism, True)
