"""Fuzzing ZMTP 2.0 and 1.0 peers (RFC 15, RFC 13) through the sans-IO Connection.

Our Connection (announcing ZMTP 3.1, detecting older peers) reads the byte stream of a
peer that speaks ZMTP 2.0, ZMTP 1.0 without a greeting, or ZMTP 1.0 behind a 2.0-style
greeting (version octet 0). Covered here:

* **garbage**: arbitrary octets and frame soups in either old framing, alone or after
  an old greeting or a whole old handshake, in arbitrary chunks: ``receive_data``
  never raises, ``events()`` raises only :class:`~zmtp.errors.ProtocolError`, and a
  failure is sticky;
* **chunking invariance**: a valid old peer's stream (greeting, identity, messages of
  every size, subscriptions) gives the same events and the same replies whole or cut
  anywhere, large bodies partly written through ``body_buffer()``; the traffic events
  are the messages the peer sent;
* **mutations** of a valid old stream: only ProtocolError, sticky;
* **bounded memory**: with ``maxmsgsize`` no message beyond it is ever delivered, and
  without it a size claim is not allocated up front.

The strategies live in this file.
"""

from __future__ import annotations

import dataclasses
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.constants import COMPATIBLE_PEERS, SocketType
from zmtp.errors import ProtocolError
from zmtp.wire import (
    Cancel,
    Connection,
    ConnectionState,
    Event,
    GreetingReceived,
    HandshakeComplete,
    Subscribe,
)
from zmtp.wire.frames import LONG, MORE, encode_message
from zmtp.wire.greeting import encode_old_greeting
from zmtp.wire.legacy import encode_v1_message, wire_socket_type

#: The socket types RFC 15 names.
OLD_TYPES = [
    SocketType.PAIR,
    SocketType.PUB,
    SocketType.SUB,
    SocketType.REQ,
    SocketType.REP,
    SocketType.DEALER,
    SocketType.ROUTER,
    SocketType.PULL,
    SocketType.PUSH,
]
#: How the peer opens: ZMTP 2.0, ZMTP 1.0 with no greeting, ZMTP 1.0 behind a greeting.
KINDS = ("zmtp-2.0", "zmtp-1.0", "zmtp-1.0-greeting")
_SENDS_IDENTITY = (SocketType.REQ, SocketType.DEALER, SocketType.ROUTER)


# ---------------------------------------------------------------------------------------
# Strategies


@dataclasses.dataclass(frozen=True)
class OldConfig:
    ours: SocketType
    peer: SocketType
    kind: str
    identity: bytes
    maxmsgsize: int

    def make_ours(self) -> Connection:
        return Connection(self.ours, maxmsgsize=self.maxmsgsize)

    def framing(self, frames: list[bytes]) -> bytes:
        return encode_message(frames) if self.kind == "zmtp-2.0" else encode_v1_message(frames)


@st.composite
def old_configs(draw: st.DrawFn) -> OldConfig:
    ours = draw(st.sampled_from(OLD_TYPES))
    peer = draw(st.sampled_from([t for t in OLD_TYPES if t in COMPATIBLE_PEERS[ours]]))
    identity = draw(st.binary(max_size=12)) if peer in _SENDS_IDENTITY else b""
    return OldConfig(
        ours=ours,
        peer=peer,
        kind=draw(st.sampled_from(KINDS)),
        identity=identity,
        maxmsgsize=draw(st.sampled_from((-1, -1, 300, 70_000))),
    )


def messages(limit: int) -> st.SearchStrategy[list[bytes]]:
    """Messages within ``limit`` (all frames counted; -1: none): short, long and large
    frames, empty ones, and subscription-looking first octets."""
    frame = st.one_of(
        st.binary(max_size=40),
        st.binary(min_size=250, max_size=300),
        st.sampled_from((b"\x01topic", b"\x00topic", b"", bytes(66_000))),
    )
    msg = st.lists(frame, min_size=1, max_size=4)
    if limit >= 0:
        msg = msg.filter(lambda m: sum(map(len, m)) <= limit)
    return msg


@st.composite
def old_frame_soup(draw: st.DrawFn, v1: bool) -> bytes:
    """Frames with plausible, wrong or truncated headers in the old framings."""
    out = bytearray()
    for _ in range(draw(st.integers(1, 6))):
        size = draw(st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1)))
        flags = draw(st.one_of(st.sampled_from((0, MORE, LONG, LONG | MORE)), st.integers(0, 255)))
        if v1:
            if size < 0xFF and draw(st.booleans()):
                out += bytes((size, flags))
            else:
                out += b"\xff" + size.to_bytes(8, "big") + bytes((flags,))
            size = max(size - 1, 0)
        elif flags & LONG:
            out += bytes((flags,)) + size.to_bytes(8, "big")
        else:
            out += bytes((flags, size & 0xFF))
            size &= 0xFF
        room = min(size, 600)
        out += bytes(draw(st.one_of(st.just(room), st.integers(0, room))))
    return bytes(out)


def split(data: st.DataObject, stream: bytes) -> list[bytes]:
    """``stream`` cut at drawn points."""
    points = data.draw(
        st.lists(st.integers(0, len(stream)), max_size=12).map(sorted), label="cut points"
    )
    chunks, start = [], 0
    for point in [*points, len(stream)]:
        if point > start:
            chunks.append(stream[start:point])
            start = point
    return chunks


# ---------------------------------------------------------------------------------------
# Running a peer


def expected_events(config: OldConfig, sent: list[list[bytes]]) -> list[Event | list[bytes]]:
    """What our connection reports for the peer's messages: subscriptions for a
    publisher (RFC 15 "Publish-Subscribe"), messages otherwise."""
    out: list[Event | list[bytes]] = []
    publisher = config.ours in (SocketType.PUB, SocketType.XPUB)
    for msg in sent:
        if publisher and len(msg) == 1 and msg[0][:1] in (b"\x00", b"\x01"):
            out.append(Subscribe(msg[0][1:]) if msg[0][0] == 1 else Cancel(msg[0][1:]))
        else:
            out.append(msg)
    return out


def peer_stream(config: OldConfig, sent: list[list[bytes]]) -> tuple[bytes, bytes, list]:
    """The peer's whole byte stream, what ours writes back, and the events ours reports
    when every piece of the exchange arrives whole."""
    ours = config.make_ours()
    if config.kind == "zmtp-1.0-greeting":
        greeting = encode_old_greeting(
            wire_socket_type(config.peer), padding=len(config.identity) + 1, revision=0
        )
        stream = greeting + encode_v1_message([config.identity])
        stream += b"".join(encode_v1_message(m) for m in sent)
        replies = ours.data_to_send()
        ours.receive_data(stream)
        events, error = drain(ours)
        assert error is None, error
        return stream, replies + ours.data_to_send(), events
    version = (2, 0) if config.kind == "zmtp-2.0" else (1, 0)
    peer = Connection(config.peer, routing_id=config.identity, version=version)
    stream, replies = bytearray(), bytearray()
    events: list = []
    for _ in range(10):
        out_peer, out_ours = peer.data_to_send(), ours.data_to_send()
        if not out_peer and not out_ours:
            break
        stream += out_peer
        replies += out_ours
        if out_peer:
            ours.receive_data(out_peer)
            evs, error = drain(ours)
            assert error is None, error
            events += evs
        if out_ours:
            peer.receive_data(out_ours)
    assert peer.state is ConnectionState.TRAFFIC
    for msg in sent:
        wire = peer.send_message(msg)
        stream += wire
        ours.receive_data(wire)
        evs, error = drain(ours)
        assert error is None, error
        events += evs
    return bytes(stream), bytes(replies), events


def drain(conn: Connection) -> tuple[list, ProtocolError | None]:
    events: list = []
    try:
        while batch := conn.events():
            events += batch
    except ProtocolError as exc:
        return events, exc
    return events, None


def feed(
    data: st.DataObject, conn: Connection, chunks: list[bytes]
) -> tuple[list, bytes, ProtocolError | None]:
    """Feed ``chunks`` as a transport would (large bodies partly via body_buffer)."""
    events: list = []
    replies = bytearray(conn.data_to_send())
    error: ProtocolError | None = None
    for chunk in chunks:
        view = conn.body_buffer()
        if view is not None and data.draw(st.booleans(), label="via body_buffer"):
            n = min(len(view), len(chunk))
            view[:n] = chunk[:n]
            conn.body_received(n)
            chunk = chunk[n:]
        if chunk:
            conn.receive_data(chunk)
        evs, err = drain(conn)
        events += evs
        replies += conn.data_to_send()
        if err is not None:
            assert_sticky(conn, err)
            error = err
    return events, bytes(replies), error


def _same(a: BaseException | None, b: BaseException | None) -> bool:
    """The same error: the connection raises copies of the one it keeps."""
    return type(a) is type(b) and str(a) == str(b)


def assert_sticky(conn: Connection, error: ProtocolError) -> None:
    assert conn.state is ConnectionState.FAILED
    assert _same(conn.error, error)
    for _ in range(2):
        with pytest.raises(ProtocolError) as info:
            conn.events()
        assert _same(info.value, error)
    conn.receive_data(b"\x01\x00more")  # ignored, never raises
    assert conn.state is ConnectionState.FAILED


# ---------------------------------------------------------------------------------------
# Properties


@given(config=old_configs(), sent=st.data(), data=st.data())
def test_an_old_peer_stream_yields_the_same_events_however_it_is_chunked(
    config: OldConfig, sent: st.DataObject, data: st.DataObject
) -> None:
    msgs = sent.draw(st.lists(messages(config.maxmsgsize), max_size=5), label="messages")
    stream, replies, reference = peer_stream(config, msgs)

    version = (2, 0) if config.kind == "zmtp-2.0" else (1, 0)
    assert reference[0] == GreetingReceived(reference[0].greeting)  # detection comes first
    assert reference[0].greeting.version == version
    done = next(e for e in reference if type(e) is HandshakeComplete)
    assert done.routing_id == config.identity
    assert done.version == version
    traffic = reference[reference.index(done) + 1 :]
    if config.kind == "zmtp-1.0" and config.ours is SocketType.PUB:
        assert traffic[0] == Subscribe(b"")  # RFC 13 subscribers send no subscriptions
        traffic = traffic[1:]
    assert traffic == expected_events(config, msgs)

    conn = config.make_ours()
    events, our_replies, error = feed(data, conn, split(data, stream))
    assert error is None
    assert events == reference
    assert our_replies == replies  # our greeting stages and identity, whatever the chunks
    assert conn.state is ConnectionState.TRAFFIC


@given(config=old_configs(), data=st.data())
def test_garbage_in_an_old_protocol_raises_only_protocol_errors(
    config: OldConfig, data: st.DataObject
) -> None:
    prefix_kind = data.draw(st.sampled_from(("none", "greeting", "handshake")), label="prefix")
    prefix = b""
    if prefix_kind != "none":
        stream, _, _ = peer_stream(config, [])
        if prefix_kind == "greeting" and config.kind != "zmtp-1.0":
            stream = stream[:12]
        prefix = stream
    garbage = data.draw(
        st.one_of(st.binary(max_size=400), old_frame_soup(v1=config.kind != "zmtp-2.0")),
        label="garbage",
    )
    conn = config.make_ours()
    events, _, error = feed(data, conn, split(data, prefix + garbage))
    conn.receive_data(b"")
    more, err = drain(conn)
    events += more
    if error is None and err is not None:
        assert_sticky(conn, err)
        error = err
    for ev in events:
        if type(ev) is list and config.maxmsgsize >= 0:
            assert sum(map(len, ev)) <= config.maxmsgsize


@given(config=old_configs(), data=st.data())
def test_a_mutated_old_stream_fails_only_with_protocol_errors(
    config: OldConfig, data: st.DataObject
) -> None:
    msgs = data.draw(st.lists(messages(config.maxmsgsize), max_size=2), label="messages")
    stream = bytearray(peer_stream(config, msgs)[0])
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(("flip", "insert", "delete")), label="edit")
        pos = data.draw(st.integers(0, max(len(stream) - 1, 0)), label="position")
        octet = data.draw(st.integers(1, 255), label="octet")
        if kind == "flip" and stream:
            stream[pos] ^= octet
        elif kind == "insert":
            stream.insert(pos, octet)
        elif stream:
            del stream[pos]
    conn = config.make_ours()
    feed(data, conn, split(data, bytes(stream)))


@given(
    claim=st.integers((1 << 24) + 2, 2**64 - 1),  # beyond PREALLOCATE_BODY, flags counted
    v1=st.booleans(),
    body=st.binary(max_size=1000),
)
def test_an_old_size_claim_without_maxmsgsize_is_not_allocated_up_front(
    claim: int, v1: bool, body: bytes
) -> None:
    config = OldConfig(SocketType.PULL, SocketType.PUSH, "zmtp-1.0" if v1 else "zmtp-2.0", b"", -1)
    ours = config.make_ours()
    ours.receive_data(peer_stream(config, [])[0])
    drain(ours)
    assert ours.state is ConnectionState.TRAFFIC
    if v1:
        header = b"\xff" + claim.to_bytes(8, "big") + b"\x00"
    else:
        header = bytes((LONG,)) + min(claim, 2**63 - 1).to_bytes(8, "big")
    tracemalloc.start()
    try:
        ours.receive_data(header + body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, peak
    assert drain(ours) == ([], None)
