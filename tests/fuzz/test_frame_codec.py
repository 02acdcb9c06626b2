"""Round-trip properties of the frame codec (RFC 23 "Framing", zmtp/wire/frames.py).

Covered here:

* whatever multipart messages are encoded (empty frames, bodies on the 255/256 short/long
  boundary, bodies of ``LARGE_BODY`` and more), ``FrameDecoder`` returns exactly the same
  frames, as ``bytes``, in the same order; command frames placed between messages or
  between the frames of one message come out in stream order, unaltered;
* ``encode_message``, ``encode_message_into`` (joined) and ``encode_batch`` (joined) write
  the same octets as framing each body with ``encode_frame``;
* chunking invariance: any split of a valid stream, fed as bytes, bytearray or
  memoryview, with large bodies partly written through ``body_buffer()``, decodes to the
  same items as the whole stream fed at once;
* limits that a valid stream exactly meets (``maxmsgsize`` equal to the largest message,
  ``max_frames`` equal to the most frames) admit it, and one less refuses it, however the
  stream is chunked.
"""

from __future__ import annotations

import pytest
from fuzzing import (
    Stream,
    draw_chunks,
    feed_chunks,
    frame_streams,
    large_bodies,
    messages,
    pattern_bytes,
    small_bodies,
)
from hypothesis import given
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.wire import Message
from zmtp.wire.frames import (
    LARGE_BODY,
    CommandFrame,
    FrameDecoder,
    encode_batch,
    encode_frame,
    encode_message,
    encode_message_into,
)


def decode_whole(data: bytes, **limits: int) -> list[list[bytes] | CommandFrame]:
    dec = FrameDecoder(**limits)
    dec.feed(data)
    out = dec.read()
    assert not dec.mid_message, "the decoder holds octets after a complete stream"
    assert dec.buffered == 0
    return out


def assert_bodies_are_bytes(items: list[list[bytes] | CommandFrame]) -> None:
    """Messages come out as :class:`Message` (the type the connection dispatches on),
    commands as :class:`CommandFrame`, every body as ``bytes``."""
    for item in items:
        assert type(item) in (Message, CommandFrame), type(item)
        bodies = item if type(item) is Message else [item.body]
        assert all(type(b) is bytes for b in bodies), [type(b) for b in bodies]


@given(msgs=messages())
def test_encoded_messages_decode_to_the_same_frames(msgs: list[list[bytes]]) -> None:
    data = b"".join(encode_message(frames) for frames in msgs)
    out = decode_whole(data)
    assert out == msgs
    assert_bodies_are_bytes(out)


@given(msgs=messages())
def test_encode_message_into_joined_decodes_to_the_same_frames(msgs: list[list[bytes]]) -> None:
    out: list[bytes | bytearray | memoryview] = []
    for frames in msgs:
        encode_message_into(frames, out)
    assert decode_whole(b"".join(out)) == msgs


@given(frames=st.lists(st.one_of(small_bodies, large_bodies), min_size=1, max_size=4))
def test_message_encoders_agree_with_framing_each_body(frames: list[bytes]) -> None:
    last = len(frames) - 1
    framed = b"".join(encode_frame(body, more=i < last) for i, body in enumerate(frames))
    into: list[bytes | bytearray | memoryview] = []
    encode_message_into(frames, into)
    assert encode_message(frames) == framed
    assert b"".join(into) == framed
    # RFC 23: the short form for bodies up to 255 octets, the long form above.
    assert len(framed) == sum(len(b) + (2 if len(b) < 256 else 9) for b in frames)


@given(stream=frame_streams())
def test_commands_between_and_inside_messages_decode_in_stream_order(stream: Stream) -> None:
    out = decode_whole(stream.data)
    assert out == stream.expected
    assert_bodies_are_bytes(out)


@given(stream=frame_streams(), data=st.data())
def test_any_chunking_decodes_the_same_items_as_the_whole_stream(
    stream: Stream, data: st.DataObject
) -> None:
    whole = decode_whole(stream.data)
    chunks = draw_chunks(data, stream.data)
    dec = FrameDecoder()
    out = feed_chunks(data, dec, chunks)
    assert out == whole == stream.expected
    assert_bodies_are_bytes(out)
    assert not dec.mid_message
    assert dec.buffered == 0


@given(msgs=messages(max_messages=3, max_frames=3), body=large_bodies, data=st.data())
def test_large_bodies_written_through_body_buffer_decode_the_same(
    msgs: list[list[bytes]], body: bytes, data: st.DataObject
) -> None:
    # Always one large frame, so the body_buffer() path is taken in every example.
    position = data.draw(st.integers(0, len(msgs[-1])), label="large frame position")
    msgs[-1].insert(position, body)
    stream = b"".join(encode_message(frames) for frames in msgs)
    chunks = draw_chunks(data, stream)
    dec = FrameDecoder()
    seen_buffer = []

    def note_buffer(d: FrameDecoder) -> None:
        if d.body_buffer() is not None:
            seen_buffer.append(True)

    out = feed_chunks(data, dec, chunks, after_read=note_buffer)
    assert out == msgs
    assert_bodies_are_bytes(out)
    assert dec.body_buffer() is None
    # A large body whose header is complete at a chunk boundary before the body is must
    # have been assembled in a buffer of its own, offered through body_buffer().
    before = b"".join(encode_message(frames) for frames in msgs[:-1])
    start = len(before) + sum(len(encode_frame(b, more=True)) for b in msgs[-1][:position])
    header_end, frame_end = start + 9, start + 9 + len(body)
    cuts = {sum(len(c) for c in chunks[:i]) for i in range(1, len(chunks))}
    if len(body) >= LARGE_BODY and any(header_end <= p < frame_end for p in cuts):
        assert seen_buffer


def message_size(frames: list[bytes]) -> int:
    return sum(len(b) for b in frames)


@pytest.mark.parametrize("slack", [0, -1], ids=["exactly-at-limit", "one-octet-over"])
@given(msgs=messages(), data=st.data())
def test_maxmsgsize_admits_a_message_of_exactly_that_size_and_refuses_one_more(
    slack: int, msgs: list[list[bytes]], data: st.DataObject
) -> None:
    limit = max(message_size(m) for m in msgs) + slack
    stream = b"".join(encode_message(frames) for frames in msgs)
    chunks = draw_chunks(data, stream)
    dec = FrameDecoder(maxmsgsize=limit)
    if slack == 0:
        assert feed_chunks(data, dec, chunks) == msgs
    elif limit < 0:
        # Every message is empty: a limit of -1 means none.
        assert feed_chunks(data, dec, chunks) == msgs
    else:
        with pytest.raises(ProtocolError):
            feed_chunks(data, dec, chunks)


@pytest.mark.parametrize("slack", [0, -1], ids=["exactly-at-limit", "one-frame-over"])
@given(msgs=messages(), data=st.data())
def test_max_frames_admits_a_message_of_exactly_that_many_frames_and_refuses_one_more(
    slack: int, msgs: list[list[bytes]], data: st.DataObject
) -> None:
    most = max(len(m) for m in msgs)
    limit = most + slack
    stream = b"".join(encode_message(frames) for frames in msgs)
    chunks = draw_chunks(data, stream)
    dec = FrameDecoder(max_frames=max(limit, 1))
    if slack == 0 or most == 1:
        assert feed_chunks(data, dec, chunks) == msgs
    else:
        with pytest.raises(ProtocolError):
            feed_chunks(data, dec, chunks)


@given(
    small=st.lists(small_bodies, min_size=1, max_size=3),
    body=st.builds(pattern_bytes, st.integers(LARGE_BODY, LARGE_BODY + 300), st.just(0)),
    data=st.data(),
)
def test_max_frames_counts_a_large_frame_assembled_across_chunks(
    small: list[bytes], body: bytes, data: st.DataObject
) -> None:
    # A large MORE frame whose body arrives in a later chunk than its header is
    # assembled through the decoder's body buffer; it is a frame all the same.
    position = data.draw(st.integers(0, len(small) - 1), label="large frame position")
    frames = [*small[:position], body, *small[position:]]
    stream = encode_message(frames)
    start = len(encode_message(frames[:position])) if position else 0
    header_end = start + 9
    inside = data.draw(st.integers(header_end, header_end + len(body) - 1), label="cut")
    dec = FrameDecoder(max_frames=len(frames) - 1)
    with pytest.raises(ProtocolError):
        feed_chunks(data, dec, [stream[:inside], stream[inside:]])


@given(msgs=messages())
def test_encode_batch_writes_the_same_octets_as_encode_message(msgs: list[list[bytes]]) -> None:
    out: list[bytes | bytearray | memoryview] = []
    total = encode_batch(msgs, out)
    joined = b"".join(out)
    assert joined == b"".join(encode_message(frames) for frames in msgs)
    assert total == len(joined)
    assert decode_whole(joined) == msgs
