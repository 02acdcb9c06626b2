"""Fuzzing CURVE (RFC 25/26) through the sans-IO :class:`~zmtp.wire.Connection`.

Every key, long nonce and cookie key is fixed here, so a recorded CURVE byte stream
can be replayed into a fresh connection and mutated. Covered:

* **mutated handshakes**: any octet flipped, inserted or deleted after the greeting of
  a HELLO/INITIATE stream (fed to a server) or a WELCOME/READY stream (fed to a
  client) stops the handshake; whatever the edits, only ProtocolError subclasses come
  out of ``events()``, the failure is sticky, and a client never answers with ERROR;
* **truncated commands**: HELLO, WELCOME, INITIATE, READY or a MESSAGE re-framed with
  its data cut short is refused with a HandshakeError (a ProtocolError in traffic);
* **tampered traffic**: a MESSAGE with a flipped octet, a replayed or reordered
  MESSAGE, or a cut one, is refused with a ProtocolError (not a HandshakeError) after
  the events of the frames before it, and no ERROR is sent back (RFC 26 "The MESSAGE
  Command");
* **wrong keys**: a client holding another server key, or a server whose
  authenticator refuses the client key, fails both sides with ProtocolError subclasses;
* **chunking invariance**: a valid CURVE peer stream (handshake, then messages,
  subscriptions, pings and unknown commands) yields the same events however it is cut.

Anything but a ProtocolError from ``events()`` fails a test, as does any exception
from ``receive_data``.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from fuzzing import (
    Action,
    actions,
    drain_events,
    draw_chunks,
    expected_event,
    perform,
    same_error,
)
from hypothesis import given
from hypothesis import strategies as st

from zmtp.constants import SocketType
from zmtp.errors import AuthenticationFailed, HandshakeError, PeerError, ProtocolError
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Connection,
    ConnectionState,
    CurveClient,
    CurveServer,
    Event,
    GreetingReceived,
    HandshakeComplete,
)
from zmtp.wire.frames import frame_header
from zmtp.wire.greeting import GREETING_SIZE

nacl = pytest.importorskip("nacl.bindings")

T = SocketType


def _fixed(label: str, size: int = 32) -> bytes:
    return hashlib.sha256(b"zmtp curve fuzz: " + label.encode()).digest()[:size]


SERVER_SECRET = _fixed("server")
SERVER_PUBLIC = nacl.crypto_scalarmult_base(SERVER_SECRET)
CLIENT_SECRET = _fixed("client")
CLIENT_PUBLIC = nacl.crypto_scalarmult_base(CLIENT_SECRET)

#: (client socket type, server socket type), RFC 37 compatible.
PAIRS = (
    (T.DEALER, T.ROUTER),
    (T.REQ, T.REP),
    (T.SUB, T.PUB),
    (T.XSUB, T.XPUB),
    (T.PUSH, T.PULL),
    (T.PAIR, T.PAIR),
)


def accept(request: AuthRequest) -> AuthDecision:
    return AuthDecision(True, user_id=b"fuzz")


def make_client(socket_type: SocketType = T.DEALER, **kw: object) -> Connection:
    return Connection(
        socket_type,
        mechanism=CurveClient(
            SERVER_PUBLIC,
            CLIENT_PUBLIC,
            CLIENT_SECRET,
            transient_secret=_fixed("client transient"),
            vouch_nonce=_fixed("vouch", 16),
        ),
        **kw,  # type: ignore[arg-type]
    )


def make_server(socket_type: SocketType = T.ROUTER, **kw: object) -> Connection:
    return Connection(
        socket_type,
        mechanism=CurveServer(
            SERVER_PUBLIC,
            SERVER_SECRET,
            transient_secret=_fixed("server transient"),
            cookie_key=_fixed("cookie key"),
            welcome_nonce=_fixed("welcome", 16),
            cookie_nonce=_fixed("cookie", 16),
        ),
        authenticator=accept,
        **kw,  # type: ignore[arg-type]
    )


def run_handshake(client: Connection, server: Connection) -> tuple[bytes, bytes]:
    """Exchange bytes until both are quiet; return what each side wrote."""
    sent = {client: bytearray(), server: bytearray()}
    while True:
        moved = False
        for sender, receiver in ((client, server), (server, client)):
            out = sender.data_to_send()
            if out:
                sent[sender] += out
                receiver.receive_data(out)
                moved = True
        if not moved:
            return bytes(sent[client]), bytes(sent[server])


def ready_pair(
    pair: tuple[SocketType, SocketType] = (T.DEALER, T.ROUTER), version: tuple[int, int] = (3, 1)
) -> tuple[Connection, Connection, bytes, bytes]:
    client = make_client(pair[0], version=version)
    server = make_server(pair[1])
    client_stream, server_stream = run_handshake(client, server)
    for conn in (client, server):
        events, error = drain_events(conn)
        assert error is None and isinstance(events[-1], HandshakeComplete), (events, error)
    return client, server, client_stream, server_stream


#: The handshake each side writes (greeting included), fixed once and for all.
_, _, CLIENT_HANDSHAKE, SERVER_HANDSHAKE = ready_pair()


def split_frames(data: bytes) -> list[bytes]:
    """``data`` (whole ZMTP frames, no greeting) cut into its frames."""
    frames = []
    pos = 0
    while pos < len(data):
        if data[pos] & 0x02:
            (size,) = struct.unpack_from(">Q", data, pos + 1)
            end = pos + 9 + size
        else:
            end = pos + 2 + data[pos + 1]
        frames.append(data[pos:end])
        pos = end
    return frames


def frame_body(frame: bytes) -> bytes:
    return frame[9:] if frame[0] & 0x02 else frame[2:]


def reframe(frame: bytes, body: bytes) -> bytes:
    """``frame`` with another body (same flags apart from the size form)."""
    return frame_header(len(body), frame[0] & 0x05) + body


def feed_all(
    data: st.DataObject, conn: Connection, stream: bytes
) -> tuple[list[Event], bytes, ProtocolError | None]:
    """Feed ``stream`` in drawn chunks; return events, replies and the error."""
    events: list[Event] = []
    replies = bytearray()
    error: ProtocolError | None = None
    for chunk in draw_chunks(data, stream):
        conn.receive_data(chunk)
        evs, err = drain_events(conn)
        events += evs
        replies += conn.data_to_send()
        if err is not None:
            assert conn.state is ConnectionState.FAILED and same_error(err, conn.error)
            error = err
    if error is not None:
        # Sticky: more input is ignored and the same error keeps coming.
        conn.receive_data(b"\x00\x01x")
        with pytest.raises(ProtocolError) as info:
            conn.events()
        assert same_error(info.value, error)
    return events, bytes(replies), error


def fresh(side: str) -> Connection:
    """A connection of ``side`` that has not heard from its peer yet."""
    conn = make_server() if side == "server" else make_client()
    conn.data_to_send()  # our greeting
    return conn


def peer_stream(side: str) -> bytes:
    """What the peer of ``side`` wrote during the fixed handshake."""
    return CLIENT_HANDSHAKE if side == "server" else SERVER_HANDSHAKE


# ---------------------------------------------------------------------------------------
# Sanity: replaying the fixed handshake works


@pytest.mark.parametrize("side", ["server", "client"])
def test_recorded_handshake_replays_into_a_fresh_connection(side):
    conn = fresh(side)
    conn.receive_data(peer_stream(side))
    events, error = drain_events(conn)
    assert error is None
    assert [type(e) for e in events] == [GreetingReceived, HandshakeComplete]


# ---------------------------------------------------------------------------------------
# Mutated handshakes


@given(
    side=st.sampled_from(("server", "client")),
    kind=st.sampled_from(("flip", "insert", "delete")),
    data=st.data(),
)
def test_one_edit_after_the_greeting_stops_the_handshake(side, kind, data):
    stream = bytearray(peer_stream(side))
    at = data.draw(st.integers(GREETING_SIZE, len(stream) - 1), label="position")
    octet = data.draw(st.integers(1, 255), label="octet or mask")
    if kind == "flip":
        stream[at] ^= octet
    elif kind == "insert":
        stream.insert(at, octet)
    else:
        del stream[at]
    conn = fresh(side)
    events, replies, error = feed_all(data, conn, bytes(stream))
    assert not any(type(e) is HandshakeComplete for e in events)
    if error is not None:
        assert isinstance(error, HandshakeError)
    if side == "client":
        assert b"ERROR" not in replies  # RFC 26: a client never sends ERROR


@given(
    side=st.sampled_from(("server", "client")),
    edits=st.lists(
        st.tuples(
            st.sampled_from(("flip", "insert", "delete")),
            st.integers(0, 10_000),
            st.integers(1, 255),
        ),
        min_size=1,
        max_size=4,
    ),
    eof=st.booleans(),
    data=st.data(),
)
def test_any_edits_anywhere_give_only_protocol_errors(side, edits, eof, data):
    stream = bytearray(peer_stream(side))
    for kind, pos, octet in edits:
        pos %= len(stream)
        if kind == "flip":
            stream[pos] ^= octet
        elif kind == "insert":
            stream.insert(pos, octet)
        elif len(stream) > 1:
            del stream[pos]
    conn = fresh(side)
    _, _, error = feed_all(data, conn, bytes(stream))
    if eof:
        conn.receive_data(b"")
        drain_events(conn)  # only a ProtocolError may come out
    assert error is None or isinstance(error, ProtocolError)


# ---------------------------------------------------------------------------------------
# Truncated commands


HANDSHAKE_COMMANDS = {  # name -> (side fed, index of the frame in the peer's stream)
    "HELLO": ("server", 0),
    "INITIATE": ("server", 1),
    "WELCOME": ("client", 0),
    "READY": ("client", 1),
}


@given(name=st.sampled_from(sorted(HANDSHAKE_COMMANDS)), data=st.data())
def test_a_truncated_handshake_command_is_refused(name, data):
    side, index = HANDSHAKE_COMMANDS[name]
    stream = peer_stream(side)
    frames = split_frames(stream[GREETING_SIZE:])
    body = frame_body(frames[index])
    keep = data.draw(st.integers(1 + len(name), len(body) - 1), label="octets kept")
    frames[index] = reframe(frames[index], body[:keep])
    conn = fresh(side)
    events, _, error = feed_all(data, conn, stream[:GREETING_SIZE] + b"".join(frames[: index + 1]))
    assert isinstance(error, HandshakeError), (events, error)
    assert not any(type(e) is HandshakeComplete for e in events)


@given(
    direction=st.sampled_from(("to-server", "to-client")),
    keep=st.integers(0, 40),
    data=st.data(),
)
def test_a_truncated_message_is_refused(direction, keep, data):
    client, server, _, _ = ready_pair()
    sender, receiver = (client, server) if direction == "to-server" else (server, client)
    wire = sender.send_message([b"x" * 30])
    body = frame_body(wire)
    _, replies, error = feed_all(data, receiver, reframe(wire, body[: min(keep, len(body) - 1)]))
    assert isinstance(error, ProtocolError) and not isinstance(error, HandshakeError)
    assert replies == b""


# ---------------------------------------------------------------------------------------
# Tampered traffic: corrupted, replayed, reordered


def frame_counts(acts: list[Action]) -> list[int]:
    return [len(act[1]) if act[0] == "msg" else 1 for act in acts]


@st.composite
def traffic(draw: st.DrawFn) -> tuple[tuple[SocketType, SocketType], str, list[Action]]:
    pair = draw(st.sampled_from(PAIRS))
    direction = draw(st.sampled_from(("to-server", "to-client")))
    acts = draw(st.lists(actions(), min_size=2, max_size=6))
    return pair, direction, acts


@given(
    case=traffic(),
    tamper=st.sampled_from(("flip", "replay", "reorder", "cut")),
    data=st.data(),
)
def test_tampered_message_boxes_are_refused_with_a_protocol_error(case, tamper, data):
    pair, direction, acts = case
    client, server, _, _ = ready_pair(pair)
    sender, receiver = (client, server) if direction == "to-server" else (server, client)
    frames = split_frames(b"".join(perform(sender, act) for act in acts))
    assert len(frames) == sum(frame_counts(acts))
    i = data.draw(st.integers(0, len(frames) - 1), label="frame")
    if tamper == "flip":
        body = bytearray(frame_body(frames[i]))
        body[data.draw(st.integers(0, len(body) - 1), label="octet")] ^= data.draw(
            st.integers(1, 255), label="mask"
        )
        frames[i] = reframe(frames[i], bytes(body))
        bad = i
    elif tamper == "cut":
        body = frame_body(frames[i])
        frames[i] = reframe(frames[i], body[: data.draw(st.integers(0, len(body) - 1))])
        bad = i
    elif tamper == "replay":
        j = data.draw(st.integers(i + 1, len(frames)), label="replayed at")
        frames.insert(j, frames[i])
        bad = j
    else:
        if len(frames) < 2:
            return
        i = min(i, len(frames) - 2)
        j = data.draw(st.integers(i + 1, len(frames) - 1), label="swapped with")
        frames[i], frames[j] = frames[j], frames[i]
        bad = None  # frames[i] now holds a later frame, which is valid on its own
    events, replies, error = feed_all(data, receiver, b"".join(frames))
    assert isinstance(error, ProtocolError) and not isinstance(error, HandshakeError), error
    assert error.rfc in (26, 23)
    assert b"ERROR" not in replies
    if bad is not None:
        # Exactly the events of the actions wholly before the bad frame.
        expected: list[Event] = []
        seen = 0
        for act, count in zip(acts, frame_counts(acts), strict=True):
            seen += count
            if seen > bad:
                break
            expected.append(expected_event(act, (3, 1), receiver.socket_type))
        assert events == expected


# ---------------------------------------------------------------------------------------
# Wrong keys and refusals


secrets = st.binary(min_size=32, max_size=32)


@given(server_secret=secrets, client_secret=secrets, believed_secret=secrets, data=st.data())
def test_a_client_holding_another_server_key_fails_both_sides(
    server_secret, client_secret, believed_secret, data
):
    if believed_secret == server_secret:
        return
    believed = nacl.crypto_scalarmult_base(believed_secret)
    client = Connection(
        T.DEALER,
        mechanism=CurveClient(believed, nacl.crypto_scalarmult_base(client_secret), client_secret),
    )
    server = Connection(
        T.ROUTER,
        mechanism=CurveServer(nacl.crypto_scalarmult_base(server_secret), server_secret),
        authenticator=accept,
    )
    run_handshake(client, server)
    client_events, client_error = drain_events(client)
    server_events, server_error = drain_events(server)
    assert isinstance(server_error, HandshakeError) and "HELLO" in server_error.reason
    assert isinstance(client_error, PeerError)
    assert not any(type(e) is HandshakeComplete for e in client_events + server_events)


@given(status=st.sampled_from(("300", "400", "500")), deferred=st.booleans())
def test_a_refused_client_key_fails_both_sides(status, deferred):
    decision = AuthDecision(False, status, "no")
    client = make_client()
    server = Connection(
        T.ROUTER,
        mechanism=CurveServer(SERVER_PUBLIC, SERVER_SECRET),
        authenticator=(lambda request: None) if deferred else (lambda request: decision),
    )
    run_handshake(client, server)
    if deferred:
        events, error = drain_events(server)
        assert error is None and isinstance(events[-1], AuthRequest)
        assert events[-1].credentials == (CLIENT_PUBLIC,)
        server.resolve_auth(decision)
        run_handshake(client, server)
    _, server_error = drain_events(server)
    _, client_error = drain_events(client)
    assert isinstance(server_error, AuthenticationFailed) and server_error.status_code == status
    assert isinstance(client_error, PeerError) and client_error.peer_reason == status


# ---------------------------------------------------------------------------------------
# Chunking invariance


@given(
    pair=st.sampled_from(PAIRS),
    ours=st.sampled_from(("client", "server")),
    version=st.sampled_from(((3, 1), (3, 0))),
    acts=st.lists(actions(), max_size=6),
    data=st.data(),
)
def test_a_curve_peer_stream_yields_the_same_events_however_it_is_cut(
    pair, ours, version, acts, data
):
    client, server, client_stream, server_stream = ready_pair(pair, version)
    peer = server if ours == "client" else client
    our_type = pair[0] if ours == "client" else pair[1]
    acts = [a for a in acts if not (a[0] == "ping" and version == (3, 0))]
    stream = (server_stream if ours == "client" else client_stream) + b"".join(
        perform(peer, act) for act in acts
    )
    conn = make_client(pair[0], version=version) if ours == "client" else make_server(pair[1])
    conn.data_to_send()
    events, _, error = feed_all(data, conn, stream)
    assert error is None
    assert [type(e) for e in events[:2]] == [GreetingReceived, HandshakeComplete]
    assert events[2:] == [expected_event(act, version, our_type) for act in acts]
