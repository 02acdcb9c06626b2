"""ZMTP 2.0 and 1.0 framing: RFC 15 "Framing" and RFC 13 "The Framing Layer".

Every vector of specs/old_frames.json is decoded whole and one octet at a time (a
stream may arrive in any pieces); an invalid stream is refused at the octet that
shows its defect. What we encode decodes back to the same message, and equals the
vectors a sender would write.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.wire.frames import FrameDecoder, encode_message
from zmtp.wire.legacy import (
    V1FrameDecoder,
    encode_identity,
    encode_v1_batch,
    encode_v1_message,
    peer_socket_type,
    wire_socket_type,
)

_ERRORS = {
    "reserved_flag_bits": "reserved bits 2-7",
    "frame_too_large": "exceeds maxmsgsize",
    "zero_length": "frame length 0",
}


def _decoder(vector: dict) -> FrameDecoder:
    limit = vector.get("maxmsgsize", -1)
    if vector["framing"] == "zmtp-1.0":
        dec = V1FrameDecoder(limit)
        dec.identity_pending = False  # traffic frames: the identity went before
        return dec
    return FrameDecoder(limit, commands=False)


def _messages(vector: dict) -> list[list[bytes]]:
    """The vector's frames grouped into messages by their MORE flags."""
    out: list[list[bytes]] = []
    current: list[bytes] = []
    for frame in vector["frames"]:
        current.append(bytes.fromhex(frame["body_hex"]))
        if not frame["more"]:
            out.append(current)
            current = []
    return out


def test_old_frames_decode_when_fed_whole(old_frame_vector):
    """RFC 15 "Framing" / RFC 13 "The Framing Layer": every frame of the stream is
    decoded, MORE joining frames into one message."""
    dec = _decoder(old_frame_vector)
    dec.feed(bytes.fromhex(old_frame_vector["hex"]))
    assert dec.read() == _messages(old_frame_vector)
    assert not dec.mid_message


def test_old_frames_decode_when_fed_one_octet_at_a_time(old_frame_vector):
    """The framing is a byte stream: the same messages whatever the chunking."""
    dec = _decoder(old_frame_vector)
    got: list[list[bytes]] = []
    for octet in bytes.fromhex(old_frame_vector["hex"]):
        dec.feed(bytes((octet,)))
        got += dec.read()  # type: ignore[arg-type]
    assert got == _messages(old_frame_vector)


def test_invalid_old_frames_are_refused_at_the_last_octet(invalid_old_frame_vector):
    """RFC 15 "Framing" (bits 2-7 MUST be zero), RFC 13 "The Framing Layer" (a length
    of 0 is invalid), and limits judged from the header: each vector is the shortest
    prefix that shows its defect, so its last octet is where the refusal comes."""
    vector = invalid_old_frame_vector
    data = bytes.fromhex(vector["hex"])
    dec = _decoder(vector)
    for octet in data[:-1]:
        dec.feed(bytes((octet,)))
        assert dec.read() == []
    dec.feed(data[-1:])
    with pytest.raises(ProtocolError) as info:
        dec.read()
    assert _ERRORS[vector["error"]] in info.value.reason
    assert info.value.rfc == int(vector["rfc"])


def test_encoded_old_messages_equal_the_vectors(encodable_old_frame_vector):
    """RFC 15 "Framing" / RFC 13 "The Framing Layer": we write the short form where it
    fits and the long form above, MORE on every frame but the last: the canonical
    vectors, octet for octet."""
    vector = encodable_old_frame_vector
    encode = encode_v1_message if vector["framing"] == "zmtp-1.0" else encode_message
    wire = b"".join(encode(m) for m in _messages(vector))
    assert wire == bytes.fromhex(vector["hex"])


_frames = st.lists(
    st.binary(max_size=300) | st.sampled_from([b"", bytes(70000)]), min_size=1, max_size=4
)


@given(st.lists(_frames, min_size=1, max_size=5), st.integers(1, 97))
def test_v1_encoding_round_trips_in_any_chunking(messages, chunk):
    """RFC 13 "The Framing Layer": what encode_v1_batch writes, V1FrameDecoder reads back
    message for message, whatever the read sizes (large bodies go through the in-place
    buffer)."""
    out: list = []
    total = encode_v1_batch(messages, out)
    wire = b"".join(bytes(b) for b in out)
    assert len(wire) == total
    dec = V1FrameDecoder()
    dec.identity_pending = False
    got: list = []
    for i in range(0, len(wire), chunk):
        dec.feed(wire[i : i + chunk])
        got += dec.read()
    assert got == messages
    assert not dec.mid_message


def test_the_first_v1_frame_is_the_identity_whatever_its_flags():
    """RFC 13 "The Connection Layer": the identity's flags octet "SHALL not be
    validated"; a peer detecting ZMTP 1.0 the RFC 15 way sends 0x7F there (MORE set),
    yet the frame is the identity alone and the next frame starts a message."""
    dec = V1FrameDecoder()
    dec.feed(b"\xff" + (4).to_bytes(8, "big") + b"\x7f" + b"abc" + b"\x02\x00x")
    assert dec.read() == [[b"abc"], [b"x"]]


def test_zmtp_2_0_frames_are_messages_not_commands():
    """RFC 15 "Framing": the 3.x COMMAND bit is reserved in ZMTP 2.0, so a READY-looking
    frame from a 2.0 peer is refused rather than read as a command."""
    dec = FrameDecoder(commands=False)
    dec.feed(b"\x04\x06\x05READY")
    with pytest.raises(ProtocolError) as info:
        dec.read()
    assert info.value.rfc == 15


@pytest.mark.parametrize(
    ("version", "wire"),
    [((2, 0), b"\x00\x02id"), ((1, 0), b"\x03\x00id")],
    ids=["zmtp-2.0", "zmtp-1.0"],
)
def test_identity_frame_is_one_final_frame(version, wire):
    """RFC 15 "identity = final-short body"; RFC 13 "identity = length idflags
    *OCTET" with idflags zero."""
    assert encode_identity(b"id", version) == wire


@pytest.mark.parametrize(
    "name", ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH"]
)
def test_rfc_15_socket_type_octets(name):
    """RFC 15 "Formal Grammar": PAIR 0x00 ... PUSH 0x08, read back as the same type."""
    ours = SocketType[name]
    octet = wire_socket_type(ours)
    assert octet == ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH"].index(
        name
    )
    assert peer_socket_type(octet) is ours


def test_xpub_and_xsub_travel_as_pub_and_sub():
    """RFC 15 "Publish-Subscribe": "XPUB and XSUB sockets are implemented at the
    protocol level as PUB and SUB sockets"."""
    assert wire_socket_type(SocketType.XPUB) == 0x01
    assert wire_socket_type(SocketType.XSUB) == 0x02
    assert peer_socket_type(200) is None  # no socket type has that number
