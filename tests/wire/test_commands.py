"""Commands and metadata: RFC 23 "Commands", "The NULL Security Mechanism",
"Connection Metadata"; RFC 37 "The Publish-Subscribe Pattern", "Connection
Heartbeating"; RFC 24 (PLAIN) "Implementation".

Every vector of specs/commands.json is decoded from its frame, split by parse_command
and read by the parser of its command; every vector that is an encoding of known
fields is reproduced octet for octet by our encoders.
"""

from __future__ import annotations

import pytest

from zmtp.errors import ProtocolError
from zmtp.wire.commands import (
    Metadata,
    decode_metadata,
    encode_cancel,
    encode_error,
    encode_metadata,
    encode_ping,
    encode_pong,
    encode_ready,
    encode_subscribe,
    parse_command,
    parse_error,
    parse_ping,
    parse_pong,
)
from zmtp.wire.frames import CommandFrame, FrameDecoder, encode_command_frame
from zmtp.wire.mechanisms.plain import decode_hello, encode_hello


def _command_body(vector: dict) -> bytes:
    """The body of the vector's single command frame, through the frame decoder."""
    dec = FrameDecoder()
    dec.feed(bytes.fromhex(vector["hex"]))
    items = dec.read()
    assert len(items) == 1
    assert isinstance(items[0], CommandFrame)
    return items[0].body


def _properties(vector: dict) -> list[tuple[str, bytes]]:
    return [(name, bytes.fromhex(value)) for name, value in vector["properties"].items()]


def _parse_data(name: bytes, data: bytes) -> object:
    """Run the parser RFC 23/24/37 defines for the command's data."""
    if name in (b"READY", b"INITIATE"):
        return decode_metadata(data)
    if name == b"ERROR":
        return parse_error(data)
    if name == b"PING":
        return parse_ping(data)
    if name == b"PONG":
        return parse_pong(data)
    if name == b"HELLO":
        return decode_hello(data)
    return data


# -- valid vectors -----------------------------------------------------------------------


def test_valid_command_splits_into_its_name_and_data(valid_command_vector):
    """RFC 23 "Commands": a command body is a 1-octet name size, the name, then the
    command data to the end of the frame."""
    name, data = parse_command(_command_body(valid_command_vector))

    assert name == valid_command_vector["command"].encode("ascii")
    assert data == bytes.fromhex(valid_command_vector["data_hex"])


def test_valid_command_data_parses_to_its_fields(valid_command_vector):
    """RFC 23 "The NULL Security Mechanism" / RFC 37 / RFC 24: the data of READY and
    INITIATE is metadata, ERROR a length-prefixed reason, SUBSCRIBE/CANCEL the
    subscription, PING a TTL and context, PONG a context, HELLO two credentials."""
    v = valid_command_vector
    name, data = parse_command(_command_body(v))
    parsed = _parse_data(name, data)

    command = v["command"]
    if command in ("READY", "INITIATE"):
        expected = _properties(v)
        assert list(parsed.items()) == expected  # spelling and order preserved
    elif command == "ERROR":
        assert parsed == v["reason"]
    elif command in ("SUBSCRIBE", "CANCEL"):
        assert parsed == bytes.fromhex(v["subscription_hex"])
    elif command == "PING":
        assert parsed == (v["ttl"], bytes.fromhex(v["context_hex"]))
    elif command == "PONG":
        assert parsed == bytes.fromhex(v["context_hex"])
    elif command == "HELLO":
        assert parsed == (v["username"].encode(), v["password"].encode())
    elif command == "WELCOME":
        assert parsed == b""
    else:
        pytest.fail(f"vector for unknown command {command}")


def test_encoders_reproduce_every_command_vector(encodable_command_vector):
    """RFC 23 / 24 / 37 command grammars: encoding the vector's fields gives exactly
    the vector's octets (short size up to 255 octets of body, long above)."""
    v = encodable_command_vector
    command = v["command"]
    if command == "READY":
        frame = encode_ready(_properties(v))
    elif command == "INITIATE":
        frame = encode_command_frame(b"INITIATE", encode_metadata(_properties(v)))
    elif command == "ERROR":
        frame = encode_error(v["reason"])
    elif command == "SUBSCRIBE":
        frame = encode_subscribe(bytes.fromhex(v["subscription_hex"]))
    elif command == "CANCEL":
        frame = encode_cancel(bytes.fromhex(v["subscription_hex"]))
    elif command == "PING":
        frame = encode_ping(v["ttl"], bytes.fromhex(v["context_hex"]))
    elif command == "PONG":
        frame = encode_pong(bytes.fromhex(v["context_hex"]))
    elif command == "HELLO":
        frame = encode_hello(v["username"].encode(), v["password"].encode())
    elif command == "WELCOME":
        frame = encode_command_frame(b"WELCOME")
    else:
        pytest.fail(f"vector for unknown command {command}")

    assert frame.hex() == v["hex"]


# -- invalid vectors ---------------------------------------------------------------------


def test_invalid_command_is_refused_by_the_parser_of_its_layer(invalid_command_vector):
    """RFC 23 "Formal Grammar" / RFC 24 / RFC 37: a defect in the name is found by
    parse_command; a defect in the data (metadata, reason, PING/PONG context, HELLO
    credentials) by that command's parser, after the name parsed correctly. Lengths
    from the wire are never trusted beyond the octets present."""
    v = invalid_command_vector
    body = _command_body(v)

    if "command" not in v:
        with pytest.raises(ProtocolError) as info:
            parse_command(body)
    else:
        name, data = parse_command(body)
        assert name == v["command"].encode("ascii")
        with pytest.raises(ProtocolError) as info:
            _parse_data(name, data)

    assert info.value.rfc in (23, 24, 37)


# -- metadata ----------------------------------------------------------------------------


def test_metadata_names_are_case_insensitive_but_keep_their_spelling():
    """RFC 23 "Connection Metadata": property names are case-insensitive. Lookups
    ignore case; iteration gives the names as the peer spelt them."""
    meta = Metadata([("sOcKeT-tYpE", b"REQ"), ("IDENTITY", b"client-7")])

    assert meta["Socket-Type"] == b"REQ"
    assert meta["socket-type"] == b"REQ"
    assert meta.get("identity") == b"client-7"
    assert "Identity" in meta
    assert "X-Missing" not in meta
    assert 1 not in meta
    assert meta.get("resource") is None
    assert list(meta) == ["sOcKeT-tYpE", "IDENTITY"]
    assert len(meta) == 2


@pytest.mark.parametrize(
    "name",
    [
        "ready_property_name_lowercase_is_same_property",
        "ready_property_name_uppercase_is_same_property",
        "ready_mixed_case_names_for_both_standard_properties",
    ],
)
def test_socket_type_is_found_whatever_its_spelling_on_the_wire(spec, name):
    """RFC 23 "Connection Metadata": 'socket-type', 'SOCKET-TYPE' and 'sOcKeT-tYpE' all
    name the Socket-Type property."""
    vector = next(v for v in spec("commands.json")["vectors"] if v["name"] == name)
    _, data = parse_command(_command_body(vector))
    meta = decode_metadata(data)

    (value_hex,) = [h for n, h in vector["properties"].items() if n.lower() == "socket-type"]
    assert meta["Socket-Type"] == bytes.fromhex(value_hex)


def test_metadata_round_trips_application_properties_and_binary_values():
    """RFC 23 "Connection Metadata": application properties (X- prefix) and any value
    octets, including zeros and empty values, survive encode then decode."""
    props = [("Socket-Type", b"DEALER"), ("Identity", b"\x00\xff\x00"), ("X-Empty", b"")]
    props.append(("X-Blob", bytes(range(256)) * 3))

    assert list(decode_metadata(encode_metadata(props)).items()) == props


@pytest.mark.parametrize(
    "name",
    ["", "has space", "x" * 256, "caf\u00e9"],
    ids=["empty", "space", "256-chars", "non-ascii"],
)
def test_encode_metadata_refuses_names_outside_the_grammar(name):
    """RFC 23 "The NULL Security Mechanism": a property name is 1-255 octets of
    A-Z a-z 0-9 - _ . +."""
    with pytest.raises(ValueError):
        encode_metadata([(name, b"v")])


def test_decode_metadata_refuses_a_name_with_characters_outside_the_grammar():
    """RFC 23 "The NULL Security Mechanism": name characters are A-Z a-z 0-9 - _ . +."""
    with pytest.raises(ProtocolError):
        decode_metadata(b"\x03a b\x00\x00\x00\x00")


def test_decode_metadata_refuses_a_value_size_above_2_31_minus_1():
    """RFC 23 "The NULL Security Mechanism": a value is at most 2^31-1 octets; the
    size is refused before the (absent) value is looked for."""
    with pytest.raises(ProtocolError):
        decode_metadata(b"\x01a\x80\x00\x00\x00")


# -- ERROR, PING, PONG, HELLO ------------------------------------------------------------


def test_libzmq_error_with_0x5e_name_size_parses_as_error():
    """RFC 23 "Error Handling" (README, deliberate difference): libzmq 4.3's PLAIN and
    CURVE servers write ERROR's name size as 0x5E followed by 'RROR'; we read it as
    the ERROR it means, so a ZAP refusal's status code reaches the client."""
    frame = b"\x04\x09" + b"\x5eRROR" + b"\x03400"
    dec = FrameDecoder()
    dec.feed(frame)
    (item,) = dec.read()

    name, data = parse_command(item.body)

    assert name == b"ERROR"
    assert data == b"\x03400"
    assert parse_error(data) == "400"


def test_error_reason_is_cut_to_255_octets():
    """RFC 23 "The NULL Security Mechanism": the reason size is one octet."""
    frame = encode_error("r" * 300)
    name, data = parse_command(frame[2:] if frame[0] == 0x04 else frame[9:])

    assert name == b"ERROR"
    assert data[0] == 255
    assert parse_error(data) == "r" * 255


def test_error_reason_ignores_octets_after_the_reason():
    """RFC 23 "The NULL Security Mechanism": the reason is exactly its announced size."""
    assert parse_error(b"\x03400trailing") == "400"


@pytest.mark.parametrize(
    ("ttl", "context"),
    [(-1, b""), (0x10000, b""), (0, b"c" * 17)],
    ids=["negative-ttl", "ttl-over-16-bits", "context-17-octets"],
)
def test_encode_ping_refuses_ttl_or_context_out_of_range(ttl, context):
    """RFC 37 "Connection Heartbeating": TTL is 16 bits; the context 0-16 octets."""
    with pytest.raises(ValueError):
        encode_ping(ttl, context)


def test_encode_pong_refuses_a_context_over_16_octets():
    """RFC 37 "Connection Heartbeating": PONG echoes a context of 0-16 octets."""
    with pytest.raises(ValueError):
        encode_pong(b"c" * 17)


def test_hello_with_octets_after_the_password_is_refused():
    """RFC 24 "Formal Grammar": HELLO is exactly username and password, each
    length-prefixed; trailing octets are malformed."""
    with pytest.raises(ProtocolError):
        decode_hello(b"\x01a\x01bX")


def test_encode_hello_refuses_credentials_over_255_octets():
    """RFC 24 "Formal Grammar": each credential has a 1-octet size."""
    with pytest.raises(ValueError):
        encode_hello(b"u" * 256, b"")
    with pytest.raises(ValueError):
        encode_hello(b"", b"p" * 256)
