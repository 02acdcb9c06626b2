"""zmtp.testing.strategies: what they draw is what they promise.

Valid draws are accepted by zmtp's own sans-IO core (the greeting parser, the metadata
and command readers, a fresh Connection); corrupted draws are refused with a
ProtocolError naming a rule, never anything else.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.testing import strategies as zst
from zmtp.testing.peer import encode_properties
from zmtp.wire import GreetingParser, HandshakeComplete
from zmtp.wire.commands import decode_metadata, parse_command
from zmtp.wire.frames import CommandFrame, FrameDecoder


@given(zst.greetings())
def test_greetings_are_accepted_by_the_greeting_parser(raw: bytes) -> None:
    parser = GreetingParser()
    assert parser.feed(raw) == 64
    assert parser.greeting is not None
    assert parser.greeting.major >= 3


@given(zst.corrupt_greetings())
def test_corrupt_greetings_are_refused_naming_a_greeting_rule(bad: zst.CorruptGreeting) -> None:
    parser = GreetingParser()
    with pytest.raises(ProtocolError) as refused:
        parser.feed(bad.data)
    assert refused.value.rfc in (23, 37)


@given(zst.metadata())
def test_metadata_round_trips_with_names_in_any_case(props: dict[str, bytes]) -> None:
    decoded = decode_metadata(encode_properties(props.items()))
    assert dict(decoded.items()) == props
    for name, value in props.items():
        assert decoded[name.swapcase()] == value


@given(zst.corrupt_metadata())
def test_corrupt_metadata_is_refused(bad: tuple[bytes, str]) -> None:
    with pytest.raises(ProtocolError):
        decode_metadata(bad[0])


@given(zst.commands())
def test_commands_are_single_command_frames_with_a_name(frame: bytes) -> None:
    dec = FrameDecoder()
    dec.feed(frame)
    [item] = dec.read()
    assert isinstance(item, CommandFrame)
    name, _ = parse_command(item.body)
    assert name


@given(zst.handshakes())
def test_a_recorded_handshake_replays_against_a_fresh_peer(hs: zst.Handshake) -> None:
    peer = hs.config.make_peer()
    peer.receive_data(hs.stream)
    events, error = zst.drain_events(peer)
    assert error is None
    assert any(isinstance(e, HandshakeComplete) for e in events)
    assert peer.data_to_send() == hs.replies


@given(zst.handshakes(), st.data())
def test_mutated_handshakes_fail_only_with_protocol_errors(
    hs: zst.Handshake, data: st.DataObject
) -> None:
    edits = data.draw(zst.mutations(len(hs.stream), focus=len(hs.stream)))
    peer = hs.config.make_peer()
    for chunk in data.draw(zst.chunked(zst.mutate(hs.stream, edits))):
        peer.receive_data(chunk)
    zst.drain_events(peer)  # any exception but a ProtocolError fails the test


@given(st.binary(max_size=300), st.data())
def test_chunked_streams_join_back(stream: bytes, data: st.DataObject) -> None:
    chunks = data.draw(zst.chunked(stream))
    assert b"".join(chunks) == stream
    assert all(chunks) or stream == b""


def test_mutate_applies_each_kind_of_edit() -> None:
    assert zst.mutate(b"abc", [("flip", 0, 0x20)]) == b"Abc"
    assert zst.mutate(b"abc", [("insert", 1, ord("x"))]) == b"axbc"
    assert zst.mutate(b"abc", [("delete", 2, 1)]) == b"ab"
