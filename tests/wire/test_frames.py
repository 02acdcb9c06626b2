"""Frames: RFC 23 "Framing" and "Formal Grammar" (and RFC 37's identical grammar).

Every vector of specs/frames.json goes through FrameDecoder whole, one octet at a
time and split at every position. The decoder's promises from its docstring are
checked too: sizes from the wire are checked before buffering, large bodies are
assembled in a buffer of their own, commands may arrive between the frames of a
message.
"""

from __future__ import annotations

import itertools

import pytest

from zmtp.errors import ProtocolError
from zmtp.wire.frames import (
    GATHER_BODY,
    LARGE_BODY,
    CommandFrame,
    FrameDecoder,
    encode_command_frame,
    encode_frame,
    encode_message,
    encode_message_into,
)

PING = encode_command_frame(b"PING", b"\x00\x00")


def _expected_items(vector: dict) -> list:
    """What FrameDecoder.read() yields for a vector: commands as CommandFrame, frames
    joined into messages by their MORE flags."""
    items: list = []
    message: list[bytes] = []
    for frame in vector["frames"]:
        body = bytes.fromhex(frame["body_hex"])
        if frame["command"]:
            items.append(CommandFrame(body))
        elif frame["more"]:
            message.append(body)
        else:
            items.append([*message, body])
            message = []
    assert not message, "vector ends inside a message"
    return items


def _decoder(vector: dict) -> FrameDecoder:
    return FrameDecoder(maxmsgsize=vector.get("maxmsgsize", -1))


def _decode_in_pieces(dec: FrameDecoder, data: bytes, cuts: list[int]) -> list:
    out: list = []
    bounds = [0, *cuts, len(data)]
    for start, stop in itertools.pairwise(bounds):
        dec.feed(data[start:stop])
        out += dec.read()
    return out


# -- specs/frames.json -------------------------------------------------------------------


def test_valid_frames_decode_when_fed_whole(valid_frame_vector):
    """RFC 23 "Framing": flags (MORE, LONG, COMMAND), a 1- or 8-octet size, the body;
    MORE joins frames into one message; a command stands alone."""
    dec = _decoder(valid_frame_vector)
    dec.feed(bytes.fromhex(valid_frame_vector["hex"]))

    assert dec.read() == _expected_items(valid_frame_vector)
    assert not dec.mid_message
    assert dec.buffered == 0


def test_valid_frames_decode_when_fed_one_octet_at_a_time(valid_frame_vector):
    """RFC 23 "Framing": frames are a byte stream; any chunking decodes the same."""
    data = bytes.fromhex(valid_frame_vector["hex"])
    dec = _decoder(valid_frame_vector)

    out = _decode_in_pieces(dec, data, list(range(1, len(data))))

    assert out == _expected_items(valid_frame_vector)
    assert not dec.mid_message


def test_valid_frames_decode_when_split_at_every_position(valid_frame_vector):
    """RFC 23 "Framing": a frame cut in two at any octet (inside the flags, the size,
    or the body) decodes the same as the whole."""
    data = bytes.fromhex(valid_frame_vector["hex"])
    expected = _expected_items(valid_frame_vector)

    for cut in range(len(data) + 1):
        out = _decode_in_pieces(_decoder(valid_frame_vector), data, [cut])
        assert out == expected, f"split at octet {cut}"


def test_invalid_frames_are_refused_when_fed_whole(invalid_frame_vector):
    """RFC 23 "Framing": reserved flag bits set, a command with MORE, or a size above
    the receiver's limit (or above 2^63-1) is a protocol error naming RFC 23."""
    dec = _decoder(invalid_frame_vector)
    dec.feed(bytes.fromhex(invalid_frame_vector["hex"]))

    with pytest.raises(ProtocolError) as info:
        dec.read()

    assert info.value.rfc == 23


def test_invalid_frames_are_refused_when_fed_one_octet_at_a_time(invalid_frame_vector):
    """RFC 23 "Framing": the defect is found however the stream is chunked, and no
    octet before it makes the decoder complain."""
    data = bytes.fromhex(invalid_frame_vector["hex"])
    dec = _decoder(invalid_frame_vector)

    with pytest.raises(ProtocolError):
        for i in range(len(data)):
            dec.feed(data[i : i + 1])
            dec.read()


def test_decoder_stays_failed_after_a_protocol_error():
    """RFC 23 "Framing": after a framing error the stream cannot be resynchronised; the
    decoder keeps refusing instead of reading garbage as frames."""
    dec = FrameDecoder()
    dec.feed(b"\x80\x00")
    with pytest.raises(ProtocolError):
        dec.read()

    dec.feed(b"\x00\x01x")
    with pytest.raises(ProtocolError):
        dec.read()


# -- limits before buffering -------------------------------------------------------------


def test_frame_too_large_is_refused_from_its_header_alone(too_large_frame_vector):
    """RFC 23 "Framing" (and zmtp's "limits before buffering"): a size above the limit
    is refused as soon as the header is read, before any body octet is stored."""
    data = bytes.fromhex(too_large_frame_vector["hex"])
    header = data[:9] if data[0] & 0x02 else data[:2]
    dec = _decoder(too_large_frame_vector)
    dec.feed(header)

    with pytest.raises(ProtocolError):
        dec.read()
    assert dec.buffered <= len(header)


def test_maxmsgsize_is_checked_before_buffering_a_huge_frame():
    """RFC 23 "Framing": a size from the wire is a claim. A 1 TiB frame header is
    refused at once and the decoder retains no more than the 9-octet header."""
    dec = FrameDecoder(maxmsgsize=1 << 20)
    dec.feed(b"\x02" + (1 << 40).to_bytes(8, "big"))

    with pytest.raises(ProtocolError):
        dec.read()
    assert dec.buffered <= 9


def test_maxmsgsize_counts_every_frame_of_a_multipart_message():
    """RFC 23 "Framing" (README, deliberate difference): maxmsgsize bounds the whole
    message, so 6 + 5 octets break a limit of 10 while 6 + 4 do not."""
    ok = FrameDecoder(maxmsgsize=10)
    ok.feed(encode_message([b"x" * 6, b"y" * 4]))
    assert ok.read() == [[b"x" * 6, b"y" * 4]]

    too_big = FrameDecoder(maxmsgsize=10)
    too_big.feed(encode_message([b"x" * 6, b"y" * 5]))
    with pytest.raises(ProtocolError):
        too_big.read()


def test_maxmsgsize_limit_resets_after_each_message():
    """RFC 23 "Framing": the bound applies per message, not to the whole stream."""
    dec = FrameDecoder(maxmsgsize=10)
    dec.feed(encode_message([b"a" * 10]) * 5)
    assert dec.read() == [[b"a" * 10]] * 5


def test_long_size_above_2_63_minus_1_is_refused_even_without_a_limit():
    """RFC 23 "Formal Grammar": a long size is 0..2^63-1; the top bit set is never a
    legal size."""
    dec = FrameDecoder()
    dec.feed(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff")
    with pytest.raises(ProtocolError):
        dec.read()


def test_huge_claimed_size_without_a_limit_is_not_allocated_up_front():
    """RFC 23 "Framing" and zmtp's "limits before buffering": with no maxmsgsize a
    legal 2^62-octet size claim must not make the decoder reserve 2^62 octets (or die
    trying); what it retains follows what actually arrived."""
    dec = FrameDecoder()
    dec.feed(b"\x02" + (1 << 62).to_bytes(8, "big") + b"x" * 16)

    try:
        out = dec.read()
    except ProtocolError:
        return  # refusing a frame it cannot hold is acceptable; crashing is not
    assert out == []
    assert dec.buffered < 1 << 20


def test_max_command_size_is_checked_from_the_header():
    """RFC 23 "Framing": the command limit is applied to the claimed size before the
    body is read; a command of exactly the limit is accepted."""
    at_limit = encode_command_frame(b"X", b"a" * 8)  # body: 1 + 1 + 8 = 10 octets
    ok = FrameDecoder(max_command_size=10)
    ok.feed(at_limit)
    assert ok.read() == [CommandFrame(at_limit[2:])]

    over = FrameDecoder(max_command_size=9)
    over.feed(at_limit[:2])
    with pytest.raises(ProtocolError):
        over.read()


def test_max_frames_accepts_exactly_the_limit_and_refuses_one_more():
    """RFC 23 "Framing": the max_frames bound counts every frame of one message."""
    ok = FrameDecoder(max_frames=3)
    ok.feed(encode_message([b"a", b"b", b"c"]))
    assert ok.read() == [[b"a", b"b", b"c"]]

    over = FrameDecoder(max_frames=3)
    over.feed(encode_message([b"a", b"b", b"c", b"d"]))
    with pytest.raises(ProtocolError):
        over.read()


def test_max_frames_counts_large_frames_assembled_in_place():
    """RFC 23 "Framing": a frame of LARGE_BODY octets or more, assembled in a buffer of
    its own, still counts towards max_frames."""
    wire = encode_message([b"a", b"x" * LARGE_BODY, b"c"])
    dec = FrameDecoder(max_frames=2)

    with pytest.raises(ProtocolError):
        dec.feed(wire[:100])  # the large body is incomplete: assembled in place
        dec.read()
        dec.feed(wire[100:])
        dec.read()


# -- large bodies ------------------------------------------------------------------------


def test_large_body_is_assembled_through_body_buffer():
    """RFC 23 "Framing": a body of LARGE_BODY octets or more may be written straight
    into the decoder's buffer (recv_into); octets after it are parsed as usual."""
    body = bytes(range(256)) * 800  # 204800 octets
    wire = encode_message([body]) + encode_message([b"next"])
    dec = FrameDecoder()
    dec.feed(wire[:1000])
    assert dec.read() == []
    assert dec.mid_message

    view = dec.body_buffer()
    assert view is not None
    assert len(view) == len(body) - (1000 - 9)
    n = len(view)
    view[:] = wire[1000 : 1000 + n]
    dec.body_written(n)
    dec.feed(wire[1000 + n :])

    assert dec.read() == [[body], [b"next"]]
    assert dec.body_buffer() is None
    assert not dec.mid_message


def test_large_body_written_in_several_steps_through_body_buffer():
    """RFC 23 "Framing": partial writes into body_buffer accumulate in order."""
    body = bytes(range(251)) * 400  # 100400 octets
    wire = encode_message([b"head", body])
    dec = FrameDecoder()
    dec.feed(wire[:20])
    assert dec.read() == []

    pos = 20
    out: list = []
    while (view := dec.body_buffer()) is not None and len(view):
        assert out == [], "message completed before its last octet"
        n = min(len(view), 7000)
        view[:n] = wire[pos : pos + n]
        dec.body_written(n)
        pos += n
        out += dec.read()

    assert pos == len(wire)
    assert out == [[b"head", body]]


def test_body_buffer_is_none_without_a_large_body_pending():
    """RFC 23 "Framing": small frames never use the in-place buffer."""
    dec = FrameDecoder()
    assert dec.body_buffer() is None
    dec.feed(encode_message([b"x" * 1000])[:500])
    dec.read()
    assert dec.body_buffer() is None


@pytest.mark.parametrize("chunk", [1000, 4096, 65537])
def test_large_bodies_decode_from_fed_chunks(chunk):
    """RFC 23 "Framing": large frames fed as ordinary chunks (no body_buffer) decode
    to the same message, multipart and mixed sizes included."""
    frames = [b"a" * LARGE_BODY, b"", b"b" * (LARGE_BODY + 1), b"c" * 3]
    wire = encode_message(frames) + encode_message([b"tail"])
    dec = FrameDecoder()

    cuts = list(range(chunk, len(wire), chunk))
    assert _decode_in_pieces(dec, wire, cuts) == [frames, [b"tail"]]


# -- commands between frames -------------------------------------------------------------


def test_command_between_frames_of_a_multipart_message_keeps_the_message():
    """RFC 23 "Framing" (README, deliberate difference): a command may arrive between
    the frames of a message; it is returned at once and the message keeps assembling."""
    wire = encode_frame(b"one", more=True) + PING + encode_frame(b"two")
    dec = FrameDecoder()
    dec.feed(wire)

    assert dec.read() == [CommandFrame(PING[2:]), [b"one", b"two"]]


def test_command_between_frames_split_across_reads():
    """RFC 23 "Framing": the same holds when each piece arrives in its own read."""
    dec = FrameDecoder()
    dec.feed(encode_frame(b"one", more=True))
    assert dec.read() == []
    assert dec.mid_message
    dec.feed(PING)
    assert dec.read() == [CommandFrame(PING[2:])]
    assert dec.mid_message
    dec.feed(encode_frame(b"two"))
    assert dec.read() == [[b"one", b"two"]]


# -- encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "more", "command", "header"),
    [
        (0, False, False, b"\x00\x00"),
        (255, False, False, b"\x00\xff"),
        (256, False, False, b"\x02" + (256).to_bytes(8, "big")),
        (255, True, False, b"\x01\xff"),
        (256, True, False, b"\x03" + (256).to_bytes(8, "big")),
        (255, False, True, b"\x04\xff"),
        (256, False, True, b"\x06" + (256).to_bytes(8, "big")),
    ],
    ids=["empty", "255-short", "256-long", "more-short", "more-long", "cmd-short", "cmd-long"],
)
def test_encoder_uses_short_size_up_to_255_and_long_size_from_256(size, more, command, header):
    """RFC 23 "Framing": a body of 0-255 octets has a 1-octet size; above that the LONG
    flag and an 8-octet network-order size; MORE is bit 0, COMMAND bit 2."""
    body = b"z" * size
    assert encode_frame(body, more=more, command=command) == header + body


def test_encoder_refuses_command_with_more():
    """RFC 23 "Framing": a command frame never has the MORE flag."""
    with pytest.raises(ValueError):
        encode_frame(b"\x04PING\x00\x00", more=True, command=True)


@pytest.mark.parametrize("name", [b"", b"N" * 256], ids=["empty", "256-octets"])
def test_command_name_must_be_1_to_255_octets(name):
    """RFC 23 "Commands": the command name is length-prefixed by one octet, 1..255."""
    with pytest.raises(ValueError):
        encode_command_frame(name)


def test_encode_command_frame_prefixes_the_name_with_its_length():
    """RFC 23 "Commands": body = name size, name, data; long form above 255 octets."""
    assert encode_command_frame(b"PING", b"\x00\x01") == b"\x04\x07\x04PING\x00\x01"
    long = encode_command_frame(b"READY", b"d" * 300)
    assert long[:9] == b"\x06" + (306).to_bytes(8, "big")
    assert long[9:15] == b"\x05READY"


def test_encode_message_sets_more_on_every_frame_but_the_last():
    """RFC 23 "Framing": MORE on all frames of a message except the last."""
    assert encode_message([b"a", b"", b"bc"]) == b"\x01\x01a\x01\x00\x00\x02bc"
    assert encode_message([b"only"]) == b"\x00\x04only"


def test_encode_message_refuses_a_message_without_frames():
    """RFC 23 "Framing": a message has at least one frame."""
    with pytest.raises(ValueError):
        encode_message([])
    with pytest.raises(ValueError):
        encode_message_into([], [])


def test_encode_message_into_appends_large_bodies_uncopied():
    """zmtp.wire.frames: for a gathering write, a body of GATHER_BODY octets or more is
    appended as the very object given; the buffers join to encode_message's bytes."""
    big = bytearray(b"g" * GATHER_BODY)
    frames = [b"small", big, b"x" * 300]
    out: list = []

    encode_message_into(frames, out)

    assert any(buf is big for buf in out)
    assert b"".join(bytes(b) for b in out) == encode_message(frames)


@pytest.mark.parametrize(
    "frames",
    [
        [b""],
        [b"x"],
        [b"a" * 255],
        [b"a" * 256],
        [b"routing-id", b"", b"payload"],
        [b"p" * 255, b"q" * 256, b"r" * 65535],
        [b"L" * (LARGE_BODY - 1), b"L" * LARGE_BODY, b"L" * (LARGE_BODY + 1)],
        [bytes(range(256)) * 4] * 10,
    ],
    ids=["empty", "one", "255", "256", "envelope", "boundaries", "large", "ten-frames"],
)
def test_encoded_message_decodes_to_the_same_frames(frames):
    """RFC 23 "Framing": encode_message and encode_message_into are read back by the
    decoder as the same list of frames, whole and in 333-octet chunks."""
    wire = encode_message(frames)
    out: list = []
    encode_message_into(frames, out)
    assert b"".join(bytes(b) for b in out) == wire

    whole = FrameDecoder()
    whole.feed(wire)
    assert whole.read() == [frames]

    chunked = FrameDecoder()
    assert _decode_in_pieces(chunked, wire, list(range(333, len(wire), 333))) == [frames]
