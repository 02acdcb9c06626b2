"""Fuzzing the sans-IO :class:`~zmtp.wire.Connection` (RFC 23, RFC 37) with bytes alone.

Covered here:

* **garbage**: arbitrary octets, alone or after a valid greeting or a whole valid
  handshake, fed in arbitrary chunks to a fresh connection of any socket type and
  mechanism (NULL, NULL with an authenticator, PLAIN client or server):
  ``receive_data`` never raises, ``events()`` returns events or raises a
  :class:`~zmtp.errors.ProtocolError` subclass and nothing else, and a failure is
  sticky (state FAILED, ``error`` set, ``events()`` and ``next_event()`` keep raising the
  same error, later input is ignored);
* **chunking invariance**: a valid peer byte stream produced by another connection
  (greeting, handshake, then messages, subscriptions, pings and unknown commands; ZMTP
  3.0 or 3.1 on either side; NULL or PLAIN) yields the same events and the same replies
  whether it arrives whole or cut anywhere, large bodies partly written through
  ``body_buffer()``; the events are the ones the traffic model predicts;
* **violations after valid traffic** (reserved flag bits, a command with MORE, an
  impossible size, an ERROR command, a malformed PING): the events before the violation
  are delivered, then the same error, however the stream is chunked;
* **mutations** of a valid handshake stream (octets flipped, inserted, deleted): only
  ProtocolError subclasses, and the failure is sticky;
* **size claims**: with no ``maxmsgsize`` a claimed size is not allocated up front, and a
  message frame before the handshake completes is refused from its header;
* **a stateful exchange** between two connections (``hypothesis.stateful``): messages,
  subscriptions, pings and unknown commands in random order, bytes moved in random
  chunks in either direction, authentication answered late: every message and command
  arrives once, in order, unaltered, and each PING is answered by one PONG.
"""

from __future__ import annotations

import tracemalloc
from collections import deque

import pytest
from fuzzing import (
    USER_ID,
    Action,
    ConnectionPair,
    PairConfig,
    actions,
    drain_events,
    draw_chunks,
    expected_event,
    frame_soup,
    pair_configs,
    perform,
    same_error,
)
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from zmtp.constants import SocketType
from zmtp.errors import HandshakeError, ProtocolError
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Connection,
    ConnectionClosed,
    ConnectionState,
    Event,
    GreetingReceived,
    HandshakeComplete,
    Ping,
    Pong,
)
from zmtp.wire.commands import encode_error
from zmtp.wire.frames import LONG, MORE, encode_command_frame
from zmtp.wire.greeting import GREETING_SIZE, encode_greeting

HANDSHAKE_EVENTS = (GreetingReceived, HandshakeComplete, AuthRequest)


# ---------------------------------------------------------------------------------------
# Helpers


def record_peer_stream(
    config: PairConfig, acts: list[Action]
) -> tuple[bytes, bytes, list[Event], list[Event]]:
    """Run ``ours`` against a peer, then play ``acts`` on the peer.

    Returns the peer's whole byte stream, the bytes ``ours`` sent back, the events
    ``ours`` reported (fed each delivery whole) and the traffic events the model
    expects. Pings are skipped on a ZMTP 3.0 connection, where they are not allowed.
    """
    pair = ConnectionPair(config)
    pair.handshake()
    expected: list[Event] = []
    for act in acts:
        if act[0] == "ping" and config.version == (3, 0):
            continue
        pair.transmit(pair.peer, perform(pair.peer, act))
        expected.append(expected_event(act, config.version, config.ours))
        pair.flush()  # our PONGs go back to the peer
    return (
        bytes(pair.sent[pair.peer]),
        bytes(pair.sent[pair.ours]),
        pair.events[pair.ours],
        expected,
    )


def feed(
    data: st.DataObject, conn: Connection, chunks: list[bytes]
) -> tuple[list[Event], bytes, ProtocolError | None]:
    """Feed ``chunks`` to ``conn`` as a transport would; return its events, its
    replies and the error it failed with. Large bodies are partly written through
    ``body_buffer()`` when the connection offers one.

    Anything but a ProtocolError from ``events()``, and anything at all from
    ``receive_data``, ``body_received`` or ``data_to_send``, propagates and fails the
    test.
    """
    events: list[Event] = []
    replies = bytearray()
    error: ProtocolError | None = None
    for chunk in chunks:
        view = conn.body_buffer()
        if view is not None and data.draw(st.booleans(), label="via body_buffer"):
            n = data.draw(st.integers(0, min(len(view), len(chunk))), label="body octets")
            view[:n] = chunk[:n]
            conn.body_received(n)
            chunk = chunk[n:]
        if chunk:  # b"" would mean the end of the stream
            conn.receive_data(chunk)
        evs, err = drain_events(conn)
        events += evs
        replies += conn.data_to_send()
        if err is not None:
            assert_failure_is_sticky(conn, err)
            error = err
    return events, bytes(replies), error


def assert_failure_is_sticky(conn: Connection, error: ProtocolError) -> None:
    """RFC 23 gives no way back from a violation: the connection stays FAILED."""
    assert conn.state is ConnectionState.FAILED, conn.state
    assert same_error(error, conn.error)
    for _ in range(2):
        with pytest.raises(ProtocolError) as info:
            conn.events()
        assert same_error(info.value, conn.error)
        with pytest.raises(ProtocolError) as info:
            conn.next_event()
        assert same_error(info.value, conn.error)
    conn.receive_data(b"\x00\x00more")  # ignored, never raises
    conn.receive_data(b"")
    assert conn.state is ConnectionState.FAILED
    conn.data_to_send()


def drain_all(data: st.DataObject, conn: Connection, stream: bytes) -> ProtocolError | None:
    """Feed ``stream`` in drawn chunks, then the end of the stream."""
    _, _, error = feed(data, conn, draw_chunks(data, stream))
    conn.receive_data(b"")
    evs, err = drain_events(conn)
    if error is None and err is not None:
        assert_failure_is_sticky(conn, err)
        error = err
    if error is None:
        assert isinstance(evs[-1], ConnectionClosed), evs
    return error


# ---------------------------------------------------------------------------------------
# Garbage


@given(config=pair_configs(), data=st.data())
def test_garbage_never_escapes_receive_data_and_events_raise_only_protocol_errors(
    config: PairConfig, data: st.DataObject
) -> None:
    prefix_kind = data.draw(st.sampled_from(("none", "greeting", "handshake")), label="prefix")
    prefix = b""
    if prefix_kind != "none":
        stream, _, _, _ = record_peer_stream(config, [])
        prefix = stream[:GREETING_SIZE] if prefix_kind == "greeting" else stream
    garbage = data.draw(
        st.one_of(st.binary(max_size=400), frame_soup(max(config.maxmsgsize, 300))),
        label="garbage",
    )
    conn = config.make_ours()
    drain_all(data, conn, prefix + garbage)


# ---------------------------------------------------------------------------------------
# Chunking invariance


@given(
    config=pair_configs(),
    acts=st.lists(actions(), max_size=8),
    eof=st.booleans(),
    data=st.data(),
)
def test_peer_stream_yields_the_same_events_however_it_is_chunked(
    config: PairConfig, acts: list[Action], eof: bool, data: st.DataObject
) -> None:
    stream, replies, reference, expected = record_peer_stream(config, acts)
    traffic = [ev for ev in reference if not isinstance(ev, HANDSHAKE_EVENTS)]
    assert traffic == expected
    assert [type(ev) for ev in traffic] == [type(ev) for ev in expected]
    assert [type(ev) for ev in reference[:2]] == [GreetingReceived, HandshakeComplete]

    conn = config.make_ours()
    events, our_replies, error = feed(data, conn, draw_chunks(data, stream))
    assert error is None
    assert events == reference
    # Our own output (greeting, handshake, PONGs) does not depend on the chunking either.
    assert our_replies == replies
    assert conn.data_to_send() == b""
    assert conn.state is ConnectionState.TRAFFIC
    if eof:
        conn.receive_data(b"")
        assert conn.events() == [ConnectionClosed(True, "")]


#: Ways for a peer to break the connection after some valid traffic.
VIOLATIONS = {
    "reserved-flag-bits": b"\x08\x00",
    "command-with-more": b"\x05\x00",
    "size-beyond-2^63-1": bytes((LONG,)) + (2**64 - 1).to_bytes(8, "big"),
    "error-command": encode_error("fuzz says no"),
    "malformed-ping": encode_command_frame(b"PING", b"\x00"),
}


@pytest.mark.parametrize("violation", list(VIOLATIONS), ids=list(VIOLATIONS))
@given(config=pair_configs(), acts=st.lists(actions(), max_size=6), data=st.data())
def test_events_before_a_violation_arrive_however_the_stream_is_chunked(
    violation: str, config: PairConfig, acts: list[Action], data: st.DataObject
) -> None:
    stream, _, _, _ = record_peer_stream(config, acts)
    stream += VIOLATIONS[violation] + data.draw(st.binary(max_size=20), label="octets after it")
    whole = config.make_ours()
    whole.receive_data(stream)
    reference, reference_error = drain_events(whole)
    assert reference_error is not None
    assert whole.state is ConnectionState.FAILED

    conn = config.make_ours()
    events, _, error = feed(data, conn, draw_chunks(data, stream))
    assert events == reference
    assert type(error) is type(reference_error)
    assert error.reason == reference_error.reason


# ---------------------------------------------------------------------------------------
# Mutations


@st.composite
def mutations(draw: st.DrawFn, length: int, handshake: int) -> list[tuple[str, int, int]]:
    """Edits of a stream of ``length`` octets whose first ``handshake`` octets are the
    greeting and the mechanism's commands: (kind, position, octet or xor mask). Most
    edits land in the handshake, the rest anywhere (a large body would swallow them)."""
    position = st.one_of(st.integers(0, handshake - 1), st.integers(0, length - 1))
    edit = st.tuples(st.sampled_from(("flip", "insert", "delete")), position, st.integers(1, 255))
    return draw(st.lists(edit, min_size=1, max_size=4))


def mutate(stream: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(stream)
    for kind, pos, octet in edits:
        pos %= max(len(out), 1)
        if kind == "flip" and out:
            out[pos] ^= octet
        elif kind == "insert":
            out.insert(pos, octet)
        elif kind == "delete" and out:
            del out[pos]
    return bytes(out)


@given(config=pair_configs(), acts=st.lists(actions(), max_size=3), data=st.data())
def test_mutated_handshake_fails_only_with_protocol_errors_and_stays_failed(
    config: PairConfig, acts: list[Action], data: st.DataObject
) -> None:
    handshake, _, _, _ = record_peer_stream(config, [])
    stream, _, _, _ = record_peer_stream(config, acts)
    edits = data.draw(mutations(len(stream), len(handshake)), label="edits")
    conn = config.make_ours()
    drain_all(data, conn, mutate(stream, edits))


# ---------------------------------------------------------------------------------------
# Size claims


def pull_connection_in(state: str) -> Connection:
    """A PULL connection whose PUSH peer's bytes took it to ``state`` (NULL, ZMTP 3.1)."""
    if state == "handshake":
        ours = Connection(SocketType.PULL)
        ours.receive_data(encode_greeting(b"NULL", as_server=False))
        assert ours.state is ConnectionState.HANDSHAKE
    else:
        config = PairConfig(
            SocketType.PULL,
            SocketType.PUSH,
            mechanism="NULL",
            ours_is_server=False,
            our_version=(3, 1),
            peer_version=(3, 1),
        )
        pair = ConnectionPair(config)
        pair.handshake()
        ours = pair.ours
    ours.events()
    ours.data_to_send()
    return ours


@given(
    claim=st.integers((1 << 24) + 1, 2**63 - 1),
    flags=st.sampled_from((LONG, LONG | MORE)),
    body=st.binary(max_size=1000),
)
def test_size_claim_without_maxmsgsize_is_not_allocated_up_front(
    claim: int, flags: int, body: bytes
) -> None:
    ours = pull_connection_in("traffic")
    tracemalloc.start()
    try:
        ours.receive_data(bytes((flags,)) + claim.to_bytes(8, "big") + body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ours.events() == []
    assert ours.state is ConnectionState.TRAFFIC
    assert peak < 1024 * 1024, f"a claim of {claim} octets cost {peak} octets"


@given(
    claim=st.one_of(st.integers(1, 255), st.integers(256, 2**63 - 1)),
    more=st.booleans(),
    body=st.binary(max_size=64),
)
def test_message_frame_before_the_handshake_completes_is_refused_from_its_header(
    claim: int, more: bool, body: bytes
) -> None:
    # RFC 23 Overall Behavior: no message before the handshake. An unauthenticated peer
    # must not be able to make us buffer a message body it is not allowed to send: the
    # frame is refused as soon as its header says it is a message.
    ours = pull_connection_in("handshake")
    flags = MORE if more else 0
    if claim < 256:
        header = bytes((flags, claim))
    else:
        header = bytes((flags | LONG,)) + claim.to_bytes(8, "big")
    ours.receive_data(header + body[: claim - 1])
    with pytest.raises(HandshakeError):
        ours.events()


# ---------------------------------------------------------------------------------------
# Two connections exchanging traffic


class ConnectionExchange(RuleBasedStateMachine):
    """Two connections, and the bytes each has sent that the other has not yet read.

    ``expected[conn]`` is what ``conn`` must still receive, in order: every send
    appends the event the traffic model predicts to the receiver's queue, and every
    PING the receiver reports appends the PONG the sender must see.
    """

    @initialize(
        config=pair_configs(deferred_auth=True),
        handshake_first=st.sampled_from((True, True, False)),
    )
    def start(self, config: PairConfig, handshake_first: bool) -> None:
        """Two fresh connections; usually the handshake is run to its end at once, so
        that most steps carry traffic, else it is left to the random deliveries."""
        self.config = config
        self.ours = config.make_ours()
        self.peer = config.make_peer()
        self.sides = {"ours": self.ours, "peer": self.peer}
        self.wire: dict[Connection, bytearray] = {self.ours: bytearray(), self.peer: bytearray()}
        self.expected: dict[Connection, deque[Event]] = {self.ours: deque(), self.peer: deque()}
        self.handshake: dict[Connection, list[Event]] = {self.ours: [], self.peer: []}
        self.pending_auth: list[Connection] = []
        self.traffic_delivered = 0
        for conn in (self.ours, self.peer):
            self.wire[conn] += conn.data_to_send()
        if handshake_first:
            self.deliver_everything()
            assert self.ready(self.ours) and self.ready(self.peer)

    def deliver_everything(self) -> None:
        """Deliver every pending octet both ways, answering late authentication, until
        both sides are quiet."""
        for _ in range(100):
            self.resolve_auth()
            if not (self.wire[self.ours] or self.wire[self.peer]):
                return
            for side in ("ours", "peer"):
                self.deliver(side, 1 << 30, via_body_buffer=False, answer_auth=True)
        raise AssertionError("the connections never went quiet")

    def other(self, conn: Connection) -> Connection:
        return self.peer if conn is self.ours else self.ours

    def collect(self, receiver: Connection) -> None:
        sender = self.other(receiver)
        for ev in receiver.events():  # a valid exchange: no error may be raised
            if isinstance(ev, HANDSHAKE_EVENTS):
                self.handshake[receiver].append(ev)
                if isinstance(ev, AuthRequest):
                    self.pending_auth.append(receiver)
                continue
            assert any(isinstance(e, HandshakeComplete) for e in self.handshake[receiver]), (
                f"{ev!r} arrived before the handshake completed"
            )
            assert self.expected[receiver], f"{ev!r} arrived, nothing was sent"
            want = self.expected[receiver].popleft()
            self.traffic_delivered += 1
            assert type(ev) is type(want) and ev == want, f"{ev!r} arrived, {want!r} was sent"
            if isinstance(ev, Ping) and self.config.version == (3, 1):
                self.expected[sender].append(Pong(ev.context))
        self.wire[receiver] += receiver.data_to_send()

    def ready(self, conn: Connection) -> bool:
        return conn.state is ConnectionState.TRAFFIC

    sides_ = st.sampled_from(("ours", "peer"))

    @rule(side=sides_, action=actions())
    def send(self, side: str, action: Action) -> None:
        """``side`` sends a message, a subscription or cancel, a PING or an unknown
        command, once its handshake is complete (PING only under ZMTP 3.1)."""
        sender = self.sides[side]
        if not self.ready(sender) or (action[0] == "ping" and self.config.version == (3, 0)):
            return
        receiver = self.other(sender)
        self.wire[sender] += perform(sender, action)
        self.expected[receiver].append(
            expected_event(action, self.config.version, receiver.socket_type)
        )

    @rule(
        side=sides_,
        size=st.one_of(st.integers(1, 16), st.integers(1, 300), st.just(1 << 30)),
        via_body_buffer=st.booleans(),
        answer_auth=st.booleans(),
    )
    def deliver(self, side: str, size: int, via_body_buffer: bool, answer_auth: bool) -> None:
        """Move up to ``size`` octets from ``side`` to the other connection, after the
        authenticator answers any pending request if ``answer_auth``."""
        if answer_auth:
            self.resolve_auth()
        sender = self.sides[side]
        receiver = self.other(sender)
        pending = self.wire[sender]
        if not pending:
            return
        chunk = bytes(pending[:size])
        del pending[:size]
        view = receiver.body_buffer() if via_body_buffer else None
        if view is not None:
            n = min(len(view), len(chunk))
            view[:n] = chunk[:n]
            receiver.body_received(n)
            chunk = chunk[n:]
        if chunk:
            receiver.receive_data(chunk)
        self.collect(receiver)

    def resolve_auth(self) -> None:
        """The authenticator answers (late) every pending request."""
        while self.pending_auth:
            conn = self.pending_auth.pop(0)
            conn.resolve_auth(AuthDecision(True, user_id=USER_ID))
            self.collect(conn)

    @invariant()
    def neither_side_failed(self) -> None:
        if hasattr(self, "ours"):
            for conn in (self.ours, self.peer):
                assert conn.state is not ConnectionState.FAILED, conn.error

    def teardown(self) -> None:
        if not hasattr(self, "ours"):
            return
        self.deliver_everything()
        for conn in (self.ours, self.peer):
            assert conn.state is ConnectionState.TRAFFIC, conn.state
            assert not self.expected[conn], f"never arrived: {list(self.expected[conn])}"
            done = [ev for ev in self.handshake[conn] if isinstance(ev, HandshakeComplete)]
            assert len(done) == 1
            assert done[0].socket_type is self.other(conn).socket_type
            assert done[0].version == self.config.version
            # The authenticator's decision reaches the server's HandshakeComplete.
            authenticated = self.config.mechanism != "NULL" and (
                (conn is self.ours) == self.config.ours_is_server
            )
            assert done[0].user_id == (USER_ID if authenticated else b"")
        n = self.traffic_delivered
        event(f"traffic events delivered: {'0' if not n else '1-5' if n <= 5 else '6+'}")
        event(f"mechanism {self.config.mechanism}, ZMTP {self.config.version}")
        # A clean close: the peer stopped between messages.
        self.ours.receive_data(b"")
        assert self.ours.events() == [ConnectionClosed(True, "")]


ConnectionExchange.TestCase.settings = settings(stateful_step_count=30)
TestMessagesArriveOnceInOrderUnaltered = ConnectionExchange.TestCase
