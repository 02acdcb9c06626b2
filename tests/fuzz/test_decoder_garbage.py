"""What ``FrameDecoder`` does with bytes no honest peer sends (RFC 23 "Framing").

Covered here:

* arbitrary octets, alone or after a valid stream of messages and commands, fed in
  arbitrary chunks to ``FrameDecoder(maxmsgsize=M)`` for random ``M``: the only exception
  is :class:`~zmtp.errors.ProtocolError`, and once raised, every later ``read()`` raises
  it again (the decoder is unusable, as documented);
* the memory promise of ``zmtp/wire/frames.py``: "what the decoder retains never exceeds
  ``maxmsgsize`` plus a 9-octet header, whatever the peer sends". After every feed and
  read, ``buffered <= M + 9``: with the decoder's default command limit, with commands
  limited to ``M`` as the connection limits them after the handshake, with only empty
  commands; for a command between the frames of a message; and for a decoder that met a
  violation after returning the items before it;
* a size is a claim: a long header claiming more than ``M`` octets (up to 2^64-1) is
  refused as soon as its ninth octet arrives, with at most those 9 octets retained and
  no allocation; a multipart message is refused at the header of the frame that takes
  its total over ``M``, before that frame's body arrives; with no ``maxmsgsize`` at all,
  a huge claim costs only the octets that really arrive.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
from fuzzing import Stream, draw_chunks, feed_chunks, frame_soup, frame_streams
from hypothesis import given
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.wire.frames import (
    COMMAND,
    LARGE_BODY,
    LONG,
    MORE,
    PREALLOCATE_BODY,
    CommandFrame,
    FrameDecoder,
    encode_frame,
)

HEADER = 9  # the long frame header: flags and an 8-octet size

limits = st.one_of(
    st.integers(0, 300),
    st.sampled_from((0, 1, 254, 255, 256, LARGE_BODY - 1, LARGE_BODY)),
    st.integers(0, 2 * LARGE_BODY),
)


def draw_garbage(data: st.DataObject, limit: int) -> bytes:
    """Random octets or a frame soup, after a valid stream half of the time."""
    prefix = data.draw(st.one_of(st.none(), frame_streams()), label="valid prefix")
    tail = data.draw(st.one_of(st.binary(max_size=600), frame_soup(limit)), label="garbage")
    return (prefix.data if prefix is not None else b"") + tail


def feed_until_error(
    data: st.DataObject,
    dec: FrameDecoder,
    stream: bytes,
    after_read: Callable[[FrameDecoder], None] | None = None,
) -> ProtocolError | None:
    """Feed ``stream`` in drawn chunks; return the ProtocolError if one is raised.

    Anything else raised by the decoder propagates and fails the test.
    """
    chunks = draw_chunks(data, stream)
    try:
        feed_chunks(data, dec, chunks, after_read=after_read)
    except ProtocolError as exc:
        return exc
    return None


@given(data=st.data(), limit=limits)
def test_garbage_raises_only_protocol_error_and_the_decoder_stays_failed(
    data: st.DataObject, limit: int
) -> None:
    stream = draw_garbage(data, limit)
    command_limit = data.draw(st.sampled_from((-1, 0, limit, 64 * 1024)), label="command limit")
    max_frames = data.draw(st.sampled_from((None, 1, 2, 3)), label="max frames")
    dec = FrameDecoder(maxmsgsize=limit, max_frames=max_frames, max_command_size=command_limit)
    error = feed_until_error(data, dec, stream)
    if error is not None:
        # RFC 23 leaves no way to resynchronise a byte stream: the decoder stays failed.
        with pytest.raises(ProtocolError):
            dec.read()
        dec.feed(b"\x00\x00")
        with pytest.raises(ProtocolError):
            dec.read()


#: How the decoder limits command frames, as a function of maxmsgsize (None: the
#: decoder's default, no max_command_size given).
COMMAND_LIMITS: dict[str, Callable[[int], int | None]] = {
    # As Connection configures it after the handshake: commands up to maxmsgsize.
    "commands-up-to-maxmsgsize": lambda m: m,
    # FrameDecoder(maxmsgsize=M) and nothing else.
    "commands-decoder-default": lambda m: None,
    # Only empty commands: the bound then concerns message frames alone.
    "commands-empty-only": lambda m: 0,
}


def decoder(limit: int, command_limit: int | None) -> FrameDecoder:
    if command_limit is None:
        return FrameDecoder(maxmsgsize=limit)
    return FrameDecoder(maxmsgsize=limit, max_command_size=command_limit)


@pytest.mark.parametrize("command_limit", list(COMMAND_LIMITS), ids=list(COMMAND_LIMITS))
@given(data=st.data(), limit=limits)
def test_buffered_never_exceeds_maxmsgsize_plus_header(
    command_limit: str, data: st.DataObject, limit: int
) -> None:
    stream = draw_garbage(data, limit)
    dec = decoder(limit, COMMAND_LIMITS[command_limit](limit))

    def bounded(d: FrameDecoder) -> None:
        assert d.buffered <= limit + HEADER, (
            f"decoder retains {d.buffered} octets with maxmsgsize {limit}"
        )

    feed_until_error(data, dec, stream, after_read=bounded)


@given(
    limit=st.integers(0, 2000),
    data=st.data(),
)
def test_command_inside_a_message_keeps_the_maxmsgsize_bound(
    limit: int, data: st.DataObject
) -> None:
    # RFC 23 lets a command arrive between the frames of a message (a PING mid-message);
    # the frames before it stay buffered while the command's body arrives. Commands
    # limited to maxmsgsize, as the connection limits them after the handshake.
    first = data.draw(st.integers(0, limit), label="octets of the frames before")
    command = data.draw(st.integers(0, limit), label="command size")
    stream = (
        encode_frame(bytes(first), more=True)
        + encode_frame(bytes(command), command=True)
        + encode_frame(b"")
    )
    dec = FrameDecoder(maxmsgsize=limit, max_command_size=limit)

    def bounded(d: FrameDecoder) -> None:
        assert d.buffered <= limit + HEADER, (
            f"decoder retains {d.buffered} octets with maxmsgsize {limit}"
        )

    try:
        out = feed_chunks(data, dec, draw_chunks(data, stream), after_read=bounded)
    except ProtocolError:
        # Refusing is one way to keep the bound, but only when it is at stake.
        assert first + command > limit, "refused a message and command within maxmsgsize"
    else:
        assert out == [CommandFrame(bytes(command)), [bytes(first), b""]]


#: Headers no decoder may accept: a reserved flag bit, a command with MORE, a size
#: beyond 2^63-1 (and beyond any maxmsgsize).
VIOLATIONS = (b"\xff\x00", b"\x05\x00", bytes((LONG,)) + (2**64 - 1).to_bytes(8, "big"))


@given(stream=frame_streams(), data=st.data())
def test_failed_decoder_keeps_the_maxmsgsize_bound(stream: Stream, data: st.DataObject) -> None:
    # Items complete before a violation are returned first and the error is raised by
    # the next read(); in between, the failed decoder must not hold on to the rest of
    # the chunk that carried the violation (the bound is "whatever the peer sends").
    bad = data.draw(st.sampled_from(VIOLATIONS), label="violation")
    tail = data.draw(st.binary(max_size=400), label="octets after it")
    # A limit that admits the valid stream however commands inside messages count.
    limit = sum(sum(map(len, i)) if isinstance(i, list) else len(i.body) for i in stream.expected)
    dec = FrameDecoder(maxmsgsize=limit)
    dec.feed(stream.data + bad + tail)
    try:
        items = dec.read()
    except ProtocolError:
        items = None
    if items is not None:
        assert items == stream.expected
        assert dec.error is not None
        assert dec.buffered <= limit + HEADER, f"failed decoder retains {dec.buffered} octets"
    with pytest.raises(ProtocolError):
        dec.read()


@given(
    claim=st.integers(PREALLOCATE_BODY + 1, 2**63 - 1),
    flags=st.sampled_from((LONG, LONG | MORE, LONG | COMMAND)),
    data=st.data(),
)
def test_unlimited_decoder_retains_only_octets_that_arrived(
    claim: int, flags: int, data: st.DataObject
) -> None:
    # With no maxmsgsize a claim beyond PREALLOCATE_BODY is not allocated up front: the
    # body grows with the octets that really arrive (a size is a claim, not a fact).
    body = data.draw(st.binary(max_size=2000), label="body octets that arrive")
    stream = bytes((flags,)) + claim.to_bytes(8, "big") + body
    dec = FrameDecoder()
    fed = 0
    tracemalloc.start()
    try:
        for chunk in draw_chunks(data, stream):
            dec.feed(chunk)
            fed += len(chunk)
            assert dec.read() == []
            assert dec.buffered <= fed
            assert dec.body_buffer() is None  # no claimed-size buffer to fill in place
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"a {claim}-octet claim cost {peak} octets of memory"


#: Frame kinds and the decoder's command limit ("maxmsgsize", as the connection sets it
#: after the handshake, or None for the decoder's default).
LONG_CLAIMS: dict[str, tuple[int, str | None]] = {
    "message": (LONG, None),
    "message-with-more": (LONG | MORE, None),
    "command": (LONG | COMMAND, "maxmsgsize"),
    "command-decoder-default": (LONG | COMMAND, None),
}


@pytest.mark.parametrize("kind", list(LONG_CLAIMS), ids=list(LONG_CLAIMS))
@given(data=st.data(), limit=st.integers(0, 1 << 20), octet_by_octet=st.booleans())
def test_long_size_claim_beyond_maxmsgsize_is_refused_from_its_header_alone(
    kind: str, data: st.DataObject, limit: int, octet_by_octet: bool
) -> None:
    flags, command_limit = LONG_CLAIMS[kind]
    claim = data.draw(
        st.one_of(
            st.integers(limit + 1, limit + LARGE_BODY),
            st.integers(limit + 1, 2**64 - 1),
            st.sampled_from((2**63 - 1, 2**63, 2**64 - 1)).filter(lambda c: c > limit),
        ),
        label="claimed size",
    )
    header = bytes((flags,)) + claim.to_bytes(8, "big")
    dec = decoder(limit, limit if command_limit == "maxmsgsize" else None)
    if octet_by_octet:
        for octet in header[:-1]:
            dec.feed(bytes((octet,)))
            assert dec.read() == []
            assert dec.buffered <= HEADER
        tail = header[-1:]
    else:
        tail = header
    tracemalloc.start()
    try:
        dec.feed(tail)
        try:
            items = dec.read()
        except ProtocolError:
            items = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert items is None, f"a {claim}-octet {kind} claim was accepted with maxmsgsize {limit}"
    # Raising costs a few KiB; a body buffer of the claimed size would cost far more.
    assert peak < LARGE_BODY // 2, f"refusing a {claim}-octet claim allocated {peak} octets"
    assert dec.buffered <= HEADER


@given(
    data=st.data(),
    sizes=st.lists(st.sampled_from((0, 1, 100, 255, 256, 1000)), min_size=1, max_size=4),
)
def test_maxmsgsize_counts_every_frame_and_refuses_before_the_body_arrives(
    data: st.DataObject, sizes: list[int]
) -> None:
    # The frames before the last fit the limit exactly or with room to spare; the last
    # frame's header claims enough to take the message one or more octets over it.
    *earlier, last = sizes
    spare = data.draw(st.integers(0, 300), label="spare")
    limit = sum(earlier) + last + spare
    crossing = data.draw(st.integers(last + spare + 1, last + spare + 70_000), label="claim")
    pieces = [encode_frame(bytes(n), more=True) for n in earlier]
    header = bytes((LONG,)) + crossing.to_bytes(8, "big")
    dec = FrameDecoder(maxmsgsize=limit)
    dec.feed(b"".join(pieces))
    assert dec.read() == []
    dec.feed(header)
    with pytest.raises(ProtocolError):
        dec.read()
