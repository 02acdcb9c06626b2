"""The Connection state machine, end to end, with bytes alone.

RFC 23 "Overall Behavior", "The NULL Security Mechanism", "Error Handling" and
"The Socket-Type Property"; RFC 37 "Version Negotiation", "The Publish-Subscribe
Pattern", "Connection Heartbeating"; RFC 24 (PLAIN); RFC 27 (ZAP status codes).

Most tests run two Connections back to back (``make_pair`` / ``ready_pair`` in
conftest.py); the libzmq tests replay bytes recorded from libzmq 4.3.5
(specs/libzmq_captures.json) into one Connection.
"""

from __future__ import annotations

import random

import pytest

from zmtp.constants import SocketType, compatible
from zmtp.errors import (
    AuthenticationFailed,
    HandshakeError,
    InvalidState,
    PeerError,
    ProtocolError,
)
from zmtp.wire import (
    NEED_DATA,
    AuthDecision,
    AuthRequest,
    Cancel,
    Connection,
    ConnectionClosed,
    ConnectionState,
    Greeting,
    GreetingReceived,
    HandshakeComplete,
    Message,
    NullMechanism,
    Ping,
    PlainClient,
    PlainServer,
    Pong,
    Subscribe,
    UnknownCommand,
)
from zmtp.wire.commands import (
    decode_metadata,
    encode_error,
    encode_ping,
    encode_pong,
    encode_ready,
    encode_subscribe,
)
from zmtp.wire.frames import LARGE_BODY, encode_command_frame, encode_message
from zmtp.wire.greeting import GREETING_SIZE, SIGNATURE_SIZE, encode_greeting

NULL_GREETING = encode_greeting(b"NULL", False)
NULL_GREETING_30 = encode_greeting(b"NULL", False, (3, 0))
CREDENTIALS = (b"admin", b"secret")


def ready_for(socket_type: str, **props: bytes) -> bytes:
    """A READY command announcing ``socket_type`` (and extra properties)."""
    return encode_ready([("Socket-Type", socket_type.encode()), *props.items()])


def handshaken(socket_type: str, peer_type: str, **kwargs) -> Connection:
    """A Connection that completed the NULL handshake with a scripted peer."""
    conn = Connection(socket_type, **kwargs)
    conn.data_to_send()
    conn.receive_data(NULL_GREETING + ready_for(peer_type))
    events = conn.events()
    assert type(events[-1]) is HandshakeComplete, events
    conn.data_to_send()
    return conn


def check_password(request: AuthRequest) -> bool:
    return request.credentials == CREDENTIALS


def plain_pair(make_pair, *, password=b"secret", authenticator=check_password):
    client = Connection("DEALER", mechanism=PlainClient(b"admin", password))
    server = Connection("ROUTER", mechanism=PlainServer(), authenticator=authenticator)
    return make_pair(client, server)


def error_reasons(items) -> list[bytes]:
    """The raw reason data of every ERROR command among decoded stream items."""
    return [item[1] for item in items if isinstance(item, tuple) and item[0] == b"ERROR"]


# =======================================================================================
# NULL handshake and socket types


def test_null_handshake_completes_for_every_compatible_socket_type_pair(
    compatible_pair, make_pair, drain
):
    """RFC 23 "The NULL Security Mechanism" / RFC 37 "The Socket-Type Property": two
    compatible sockets exchange greetings and READY, report the peer's type, and can
    then exchange messages both ways."""
    a_type, b_type = compatible_pair
    pair = make_pair(a_type, b_type)
    pair.pump()

    for conn, peer_type in ((pair.a, b_type), (pair.b, a_type)):
        events, error = drain(conn)
        assert error is None
        assert events[0] == GreetingReceived(Greeting(3, 1, b"NULL", False))
        assert type(events[1]) is HandshakeComplete
        assert events[1].socket_type is SocketType[peer_type]
        assert events[1].version == (3, 1)
        assert events[1].mechanism == b"NULL"
        assert len(events) == 2
        assert conn.state is ConnectionState.TRAFFIC

    pair.a_to_b(pair.a.send_message([b"hello", b"from a"]))
    pair.b_to_a(pair.b.send_message([b"hello from b"]))
    assert pair.b.events() == [Message([b"hello", b"from a"])]
    assert pair.a.events() == [Message([b"hello from b"])]


def test_incompatible_socket_types_are_refused_with_an_error_command(
    incompatible_pair, make_pair, drain, decode_stream
):
    """RFC 23 "The Socket-Type Property" / "Error Handling": a peer whose socket type
    RFC 37's table forbids is refused with a HandshakeError naming both types, and an
    ERROR command tells the peer why; the peer reports it as PeerError."""
    ours, theirs = incompatible_pair
    refuser = Connection(ours)
    lenient = Connection(theirs, check_socket_type=False)
    pair = make_pair(refuser, lenient)
    pair.pump()

    events, error = drain(refuser)
    assert isinstance(error, HandshakeError)
    assert ours in str(error) and theirs in str(error)
    assert not any(type(e) is HandshakeComplete for e in events)
    assert refuser.state is ConnectionState.FAILED

    reasons = error_reasons(decode_stream(pair.wire_a))
    assert len(reasons) == 1
    assert theirs.encode() in reasons[0]

    _, peer_error = drain(lenient)
    assert isinstance(peer_error, PeerError)


def test_peer_socket_type_is_reported_even_for_pair():
    """RFC 37 "The Socket-Type Property": HandshakeComplete.socket_type is the type the
    peer announced. PAIR's libzmq value is 0, which must not be mistaken for "none"."""
    conn = Connection("DEALER", check_socket_type=False)
    conn.receive_data(NULL_GREETING + ready_for("PAIR"))

    (complete,) = [e for e in conn.events() if type(e) is HandshakeComplete]

    assert conn.peer_socket_type is SocketType.PAIR
    assert complete.socket_type is SocketType.PAIR


@pytest.mark.parametrize(
    "vector_name",
    [
        "ready_property_name_lowercase_is_same_property",
        "ready_property_name_uppercase_is_same_property",
    ],
)
def test_socket_type_property_name_is_matched_whatever_its_case(spec, vector_name):
    """RFC 23 "Connection Metadata": property names are case-insensitive, so a READY
    spelling 'socket-type' or 'SOCKET-TYPE' announces the peer's type."""
    vector = next(v for v in spec("commands.json")["vectors"] if v["name"] == vector_name)
    (announced,) = [bytes.fromhex(h).decode() for h in vector["properties"].values()]
    ours = next(t for t in ("PULL", "PUSH") if compatible(SocketType[t], SocketType[announced]))
    conn = Connection(ours)

    conn.receive_data(NULL_GREETING + bytes.fromhex(vector["hex"]))

    assert conn.events()[-1].socket_type is SocketType[announced]


def test_incompatible_type_spelt_in_lower_case_is_still_refused():
    """RFC 23 "Connection Metadata" / "The Socket-Type Property": unlike libzmq 4.3
    (probe_socket_type_mismatch_lowercase_name), a lower-case 'socket-type' is the
    Socket-Type property, so an incompatible type cannot slip through."""
    conn = Connection("PUB")
    lowercase_push = encode_ready([("socket-type", b"PUSH")])

    conn.receive_data(NULL_GREETING + lowercase_push)

    assert conn.events() == [GreetingReceived(Greeting(3, 1, b"NULL", False))]
    with pytest.raises(HandshakeError):
        conn.events()


def test_mixed_case_identity_is_the_routing_id(spec):
    """RFC 23 "The Identity Property" / "Connection Metadata": 'IDENTITY' is Identity."""
    vector = next(
        v
        for v in spec("commands.json")["vectors"]
        if v["name"] == "ready_mixed_case_names_for_both_standard_properties"
    )
    conn = Connection("REP")

    conn.receive_data(NULL_GREETING + bytes.fromhex(vector["hex"]))

    complete = conn.events()[-1]
    assert complete.socket_type is SocketType.REQ
    assert complete.routing_id == b"client-7"


def test_ready_without_socket_type_is_refused(decode_stream):
    """RFC 23 "The Socket-Type Property": READY carries the Socket-Type property; a
    READY without it is refused and answered with ERROR."""
    conn = Connection("PULL")
    conn.receive_data(NULL_GREETING + encode_ready([]))

    conn.events()
    with pytest.raises(HandshakeError):
        conn.events()
    assert error_reasons(decode_stream(conn.data_to_send()))


def test_ready_without_socket_type_is_accepted_when_the_check_is_off():
    """RFC 23 "The Socket-Type Property": check_socket_type=False admits a peer that
    announces no type (libzmq does, see probe_ready_without_properties)."""
    conn = Connection("PULL", check_socket_type=False)
    conn.receive_data(NULL_GREETING + encode_ready([]))

    assert type(conn.events()[-1]) is HandshakeComplete
    assert conn.state is ConnectionState.TRAFFIC


def test_unknown_socket_type_is_refused():
    """RFC 37 "The Socket-Type Property": the value must be one of the listed types
    (libzmq's raw STREAM type never appears in ZMTP)."""
    conn = Connection("PULL")
    conn.receive_data(NULL_GREETING + ready_for("STREAM"))

    conn.events()
    with pytest.raises(HandshakeError):
        conn.events()


# =======================================================================================
# The metadata we send


@pytest.mark.parametrize("socket_type", [t.name for t in SocketType])
def test_identity_is_sent_only_by_req_dealer_and_router_spelt_exactly(socket_type, decode_stream):
    """RFC 23 "The Identity Property" (and libzmq, which looks properties up by exact
    spelling): READY carries 'Socket-Type' always, and 'Identity' only for REQ, DEALER
    and ROUTER, spelt exactly so."""
    conn = Connection(socket_type, routing_id=b"rid")
    wire = conn.data_to_send()
    assert len(wire) == SIGNATURE_SIZE  # the rest, and READY, wait for the peer's greeting
    conn.receive_data(NULL_GREETING)
    ((name, data),) = decode_stream(wire + conn.data_to_send())

    assert name == b"READY"
    meta = decode_metadata(data)
    if socket_type in ("REQ", "DEALER", "ROUTER"):
        assert list(meta.items()) == [
            ("Socket-Type", socket_type.encode()),
            ("Identity", b"rid"),
        ]
    else:
        assert list(meta.items()) == [("Socket-Type", socket_type.encode())]


def test_routing_id_reaches_the_peer_as_its_identity(ready_pair, make_pair, drain):
    """RFC 23 "The Identity Property": a DEALER's routing id arrives at the ROUTER as
    HandshakeComplete.routing_id."""
    pair = make_pair(Connection("DEALER", routing_id=b"dealer-1"), Connection("ROUTER"))
    pair.pump()

    events, _ = drain(pair.b)
    assert events[-1].routing_id == b"dealer-1"
    assert pair.b.peer_routing_id == b"dealer-1"


def test_application_properties_round_trip(make_pair, drain):
    """RFC 23 "Connection Metadata": application-defined properties (X- prefix) are
    carried in READY and reported to the peer, with names matched in any case."""
    a = Connection("PUSH", properties={"X-Custom": b"hello", "X-Bin": b"\x00\xff"})
    pair = make_pair(a, Connection("PULL"))
    pair.pump()

    events, _ = drain(pair.b)
    props = events[-1].properties
    assert props["x-custom"] == b"hello"
    assert props["X-Bin"] == b"\x00\xff"
    assert props["Socket-Type"] == b"PUSH"
    assert pair.b.peer_properties["X-CUSTOM"] == b"hello"


@pytest.mark.parametrize("name", ["Socket-Type", "identity"])
def test_user_properties_cannot_override_socket_type_or_identity(name):
    """RFC 23 "The Socket-Type Property" / "The Identity Property": zmtp writes these
    two itself; a user property of the same name (any case) is refused."""
    with pytest.raises(ValueError):
        Connection("DEALER", properties={name: b"x"})


def test_our_greeting_and_ready_match_libzmq_byte_for_byte(null_capture, decode_stream):
    """RFC 23 "The Greeting" / "The NULL Security Mechanism": for each socket type, our
    greeting equals libzmq 4.3.5's octet for octet, padding included (our identity
    size plus one, for ZMTP 1.0 detection), and so does our READY."""
    libzmq = bytes.fromhex(null_capture["libzmq_bytes_hex"])
    libzmq_ready = libzmq[GREETING_SIZE:]
    ((name, data),) = decode_stream(libzmq_ready)
    assert name == b"READY"
    identity = decode_metadata(data).get("Identity", b"")

    conn = Connection(null_capture["libzmq_socket_type"], routing_id=identity)
    wire = conn.data_to_send()
    conn.receive_data(NULL_GREETING)
    wire += conn.data_to_send()

    assert wire[:GREETING_SIZE] == libzmq[:GREETING_SIZE]
    assert wire[GREETING_SIZE:] == libzmq_ready


# =======================================================================================
# PLAIN (RFC 24) and authentication (RFC 27 status codes)


def test_plain_handshake_admits_correct_credentials(make_pair, drain, decode_stream):
    """RFC 24 "Implementation": HELLO, WELCOME, INITIATE, READY; the server reports the
    user name as the user id; the server's greeting says as-server 1, the client's 0."""
    pair = plain_pair(make_pair)
    pair.pump()

    client_events, client_error = drain(pair.a)
    server_events, server_error = drain(pair.b)
    assert client_error is None and server_error is None
    assert client_events[0] == GreetingReceived(Greeting(3, 1, b"PLAIN", True))
    assert server_events[0] == GreetingReceived(Greeting(3, 1, b"PLAIN", False))
    assert client_events[-1].socket_type is SocketType.ROUTER
    assert client_events[-1].mechanism == b"PLAIN"
    assert server_events[-1].socket_type is SocketType.DEALER
    assert server_events[-1].user_id == b"admin"

    assert [item[0] for item in decode_stream(pair.wire_a)] == [b"HELLO", b"INITIATE"]
    assert [item[0] for item in decode_stream(pair.wire_b)] == [b"WELCOME", b"READY"]


def test_plain_wrong_password_is_refused_with_status_400(make_pair, drain, decode_stream):
    """RFC 24 / RFC 27 "Status codes": refused credentials fail the server side with
    AuthenticationFailed "400", the ERROR command carries "400", and the client
    reports PeerError with that reason."""
    pair = plain_pair(make_pair, password=b"wrong")
    pair.pump()

    server_events, server_error = drain(pair.b)
    assert isinstance(server_error, AuthenticationFailed)
    assert server_error.status_code == "400"
    assert not any(type(e) is HandshakeComplete for e in server_events)
    assert error_reasons(decode_stream(pair.wire_b)) == [b"\x03400"]

    client_events, client_error = drain(pair.a)
    assert isinstance(client_error, PeerError)
    assert "400" in client_error.reason
    assert not any(type(e) is HandshakeComplete for e in client_events)


def test_plain_server_without_authenticator_refuses_with_status_500(
    make_pair, drain, decode_stream
):
    """RFC 24 / RFC 27 "Status codes" (README, deliberate difference): with no
    authenticator a PLAIN server refuses every client, and tells it so with ERROR
    "500" (libzmq closes silently)."""
    pair = plain_pair(make_pair, authenticator=None)
    pair.pump()

    _, server_error = drain(pair.b)
    assert isinstance(server_error, AuthenticationFailed)
    assert server_error.status_code == "500"
    assert error_reasons(decode_stream(pair.wire_b)) == [b"\x03500"]

    _, client_error = drain(pair.a)
    assert isinstance(client_error, PeerError)
    assert "500" in client_error.reason


def test_deferred_authenticator_reports_auth_request_and_resumes(make_pair, drain):
    """RFC 27 (ZAP): an authenticator that returns None defers the decision; the
    server reports AuthRequest with the PLAIN credentials, sends nothing until
    resolve_auth, then completes the handshake."""
    requests = []
    pair = plain_pair(make_pair, authenticator=lambda request: requests.append(request))
    pair.pump()

    server_events, _ = drain(pair.b)
    request = AuthRequest(b"PLAIN", CREDENTIALS)
    assert requests == [request]
    assert server_events[-1] == request
    assert pair.b.state is ConnectionState.HANDSHAKE
    client_events, _ = drain(pair.a)
    assert not any(type(e) is HandshakeComplete for e in client_events)

    pair.b.resolve_auth(True)
    assert pair.b.data_to_send() == bytes.fromhex("04080757454c434f4d45")  # WELCOME
    pair.a.receive_data(bytes.fromhex("04080757454c434f4d45"))
    pair.pump()

    assert type(drain(pair.a)[0][-1]) is HandshakeComplete
    assert drain(pair.b)[0][-1].user_id == b"admin"


def test_deferred_refusal_sends_its_status_code(make_pair, drain, decode_stream):
    """RFC 27 "Status codes": a deferred refusal fails the server with its status code
    and sends it to the client in ERROR."""
    pair = plain_pair(make_pair, authenticator=lambda request: None)
    pair.pump()
    drain(pair.b)

    pair.b.resolve_auth(AuthDecision(False, "300", "try later"))
    pair.pump()

    _, server_error = drain(pair.b)
    assert isinstance(server_error, AuthenticationFailed)
    assert server_error.status_code == "300"
    assert error_reasons(decode_stream(pair.wire_b)) == [b"\x03300"]
    assert isinstance(drain(pair.a)[1], PeerError)


def test_resolve_auth_without_a_pending_request_is_invalid_state():
    """RFC 27: a decision can only answer a request that was reported."""
    conn = Connection("ROUTER", mechanism=PlainServer(), authenticator=check_password)
    with pytest.raises(InvalidState):
        conn.resolve_auth(True)


def test_null_server_with_authenticator_holds_ready_until_the_decision(make_pair, drain):
    """RFC 23 "The NULL Security Mechanism" / RFC 27: a NULL server that asks ZAP sends
    its READY only once the peer is admitted."""
    server = Connection(
        "ROUTER",
        mechanism=NullMechanism(as_server=True, authenticate=True),
        authenticator=lambda request: None,
    )
    pair = make_pair("DEALER", server)
    pair.pump()

    assert drain(pair.b)[0][-1] == AuthRequest(b"NULL", ())
    assert len(pair.wire_b) == GREETING_SIZE  # no READY yet
    assert not any(type(e) is HandshakeComplete for e in drain(pair.a)[0])

    pair.b.resolve_auth(AuthDecision(True, user_id=b"zap-user"))
    pair.pump()

    assert type(drain(pair.a)[0][-1]) is HandshakeComplete
    assert drain(pair.b)[0][-1].user_id == b"zap-user"


def test_libzmq_error_with_0x5e_name_size_refuses_a_plain_client():
    """RFC 23 "Error Handling" (README, deliberate difference): libzmq's PLAIN server
    writes ERROR's name size as 0x5E + 'RROR'; our client reads it as ERROR and
    reports PeerError with the status code, not an unexpected command."""
    conn = Connection("DEALER", mechanism=PlainClient(*CREDENTIALS))
    conn.receive_data(encode_greeting(b"PLAIN", False) + b"\x04\x09\x5eRROR\x03400")

    assert type(conn.events()[0]) is GreetingReceived
    with pytest.raises(PeerError) as info:
        conn.events()
    assert "400" in info.value.reason


@pytest.mark.parametrize(
    ("mechanism", "as_server"),
    [
        (lambda: PlainServer(), 1),
        (lambda: PlainClient(b"u", b"p"), 0),
        (lambda: NullMechanism(as_server=True), 0),
        (lambda: NullMechanism(), 0),
    ],
    ids=["plain-server", "plain-client", "null-server", "null-client"],
)
def test_greeting_as_server_octet_follows_the_mechanism_role(mechanism, as_server):
    """RFC 23 "The Greeting": as-server is 1 for a PLAIN/CURVE server and always 0
    with NULL."""
    conn = Connection("ROUTER", mechanism=mechanism())
    greeting = conn.data_to_send()
    if len(greeting) < GREETING_SIZE:  # NULL detects older peers: the rest comes later
        conn.receive_data(NULL_GREETING[:11])
        greeting += conn.data_to_send()
    assert len(greeting) == GREETING_SIZE
    assert greeting[32] == as_server


# =======================================================================================
# Version negotiation (RFC 37)


def test_zmtp_30_peer_negotiates_version_3_0(make_pair, drain):
    """RFC 37 "Version Negotiation": a peer that announces 3.0 is spoken to in 3.0."""
    pair = make_pair(Connection("SUB", version=(3, 0)), Connection("PUB"))
    pair.pump()

    assert drain(pair.a)[0][-1].version == (3, 0)
    assert drain(pair.b)[0][-1].version == (3, 0)
    assert pair.b.version == (3, 0)
    assert pair.wire_a[10:12] == b"\x03\x00"


def test_peer_announcing_a_higher_version_is_spoken_to_in_3_1():
    """RFC 37 "Version Negotiation": against a higher version we use our own, 3.1."""
    conn = Connection("PULL")
    conn.receive_data(encode_greeting(b"NULL", False, (4, 0)) + ready_for("PUSH"))

    assert conn.events()[-1].version == (3, 1)


def test_subscriptions_to_a_zmtp_30_peer_travel_as_messages(ready_pair, spec):
    """RFC 37 "Version Negotiation" / RFC 23 PUB-SUB: to a 3.0 peer, a subscription is
    a message whose first octet is 1 (cancel: 0), exactly as libzmq sends it."""
    pair = ready_pair(Connection("SUB", version=(3, 0)), Connection("PUB"))
    capture = next(
        c
        for c in spec("libzmq_captures.json")["captures"]
        if c["name"] == "null_sub_peer_zmtp30_libzmq_bind"
    )

    subscribe = pair.a.send_subscribe(b"weather")
    cancel = pair.a.send_cancel(b"weather")

    assert subscribe == bytes.fromhex(capture["after_ready_bytes_hex"])
    assert cancel == encode_message([b"\x00weather"])
    pair.a_to_b(subscribe + cancel)
    assert pair.b.events() == [Subscribe(b"weather"), Cancel(b"weather")]


def test_subscriptions_to_a_zmtp_31_peer_travel_as_commands(ready_pair, spec):
    """RFC 37 "The Publish-Subscribe Pattern": to a 3.1 peer, SUBSCRIBE and CANCEL
    commands, exactly as libzmq sends them."""
    pair = ready_pair("SUB", "XPUB")
    capture = next(
        c
        for c in spec("libzmq_captures.json")["captures"]
        if c["name"] == "null_sub_peer_zmtp31_libzmq_bind"
    )

    subscribe = pair.a.send_subscribe(b"weather")
    cancel = pair.a.send_cancel(b"weather")

    assert subscribe == bytes.fromhex(capture["after_ready_bytes_hex"])
    assert cancel == bytes.fromhex("040e0643414e43454c77656174686572")
    pair.a_to_b(subscribe + cancel)
    assert pair.b.events() == [Subscribe(b"weather"), Cancel(b"weather")]


@pytest.mark.parametrize("method", ["send_ping", "send_pong"])
def test_ping_and_pong_to_a_zmtp_30_peer_are_invalid_state(ready_pair, method):
    """RFC 37 "Connection Heartbeating": PING and PONG are ZMTP 3.1 commands; a 3.0
    peer would not understand them, so sending one is the caller's mistake."""
    pair = ready_pair(Connection("DEALER", version=(3, 0)), Connection("DEALER"))

    for conn in (pair.a, pair.b):
        with pytest.raises(InvalidState):
            getattr(conn, method)()


@pytest.mark.parametrize("publisher", ["PUB", "XPUB"])
@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["zmtp30", "zmtp31"])
def test_both_subscription_forms_are_events_on_a_publisher(ready_pair, publisher, version):
    """RFC 37 "The Publish-Subscribe Pattern" / RFC 23: a publisher accepts SUBSCRIBE
    and CANCEL commands and 3.0 subscription messages (first octet 1 or 0) whatever
    the negotiated version."""
    pair = ready_pair(Connection("SUB", version=version), Connection(publisher))

    pair.a_to_b(
        encode_message([b"\x01abc"])
        + encode_subscribe(b"abc")
        + encode_message([b"\x00abc"])
        + encode_command_frame(b"CANCEL", b"abc")
        + encode_message([b"\x01"])
    )

    assert pair.b.events() == [
        Subscribe(b"abc"),
        Subscribe(b"abc"),
        Cancel(b"abc"),
        Cancel(b"abc"),
        Subscribe(b""),
    ]


@pytest.mark.parametrize(
    ("sender", "receiver"),
    [("DEALER", "DEALER"), ("PUB", "SUB"), ("PUSH", "PULL")],
)
def test_subscription_shaped_messages_are_plain_messages_elsewhere(ready_pair, sender, receiver):
    """RFC 37 "The Publish-Subscribe Pattern": only a publisher reads a message whose
    first octet is 1 or 0 as a subscription; any other socket receives it as data."""
    pair = ready_pair(Connection(sender, version=(3, 0)), Connection(receiver))

    pair.a_to_b(pair.a.send_message([b"\x01abc"]) + pair.a.send_message([b"\x00abc"]))

    assert pair.b.events() == [Message([b"\x01abc"]), Message([b"\x00abc"])]


def test_multipart_message_is_never_a_subscription(ready_pair):
    """RFC 37 "The Publish-Subscribe Pattern": a subscription message has one frame."""
    pair = ready_pair(Connection("XSUB", version=(3, 0)), Connection("XPUB"))

    pair.a_to_b(encode_message([b"\x01abc", b"more"]))

    assert pair.b.events() == [Message([b"\x01abc", b"more"])]


# =======================================================================================
# Heartbeats (RFC 37 "Connection Heartbeating")


def test_ping_is_answered_with_pong_echoing_its_context(ready_pair):
    """RFC 37 "Connection Heartbeating": a 3.1 peer answers PING with PONG carrying the
    PING's context; the PING's TTL is reported in tenths of a second."""
    pair = ready_pair("DEALER", "ROUTER")

    pair.a_to_b(pair.a.send_ping(ttl=30, context=b"ctx-1"))

    assert pair.b.events() == [Ping(30, b"ctx-1")]
    pong = pair.b.data_to_send()
    assert pong == encode_pong(b"ctx-1")
    pair.b_to_a(pong)
    assert pair.a.events() == [Pong(b"ctx-1")]


def test_ping_is_answered_as_libzmq_answers_it(spec):
    """RFC 37 "Connection Heartbeating": replaying probe_ping_is_answered_with_pong,
    our PULL answers PING(TTL 0, 'abc') with the very octets libzmq's PULL sent."""
    probe = next(
        p
        for p in spec("libzmq_captures.json")["probes"]
        if p["name"] == "probe_ping_is_answered_with_pong"
    )
    conn = Connection(probe["libzmq_socket_type"])
    conn.data_to_send()
    stages = [bytes.fromhex(s["raw_sent_hex"]) for s in probe["stages"] if s["raw_sent_hex"]]

    conn.receive_data(stages[0])  # greeting and READY
    conn.data_to_send()
    conn.receive_data(stages[1])  # PING

    assert conn.data_to_send() == bytes.fromhex(probe["stages"][-1]["libzmq_sent_hex"])
    assert conn.events()[-1] == Ping(0, b"abc")
    assert Ping(0, b"abc").ttl_seconds == 0.0


def test_ping_from_a_zmtp_30_peer_is_reported_but_not_answered(ready_pair):
    """RFC 37 "Version Negotiation": a 3.0 connection sends no PONG (3.0 has none),
    but a PING still proves the peer alive and is reported."""
    pair = ready_pair(Connection("DEALER", version=(3, 0)), Connection("DEALER"))

    pair.a_to_b(encode_ping(25, b"abc"))

    assert pair.b.events() == [Ping(25, b"abc")]
    assert Ping(25, b"abc").ttl_seconds == 2.5
    assert pair.b.data_to_send() == b""


def test_unknown_command_in_traffic_is_reported_and_ignored(ready_pair):
    """RFC 23 "Commands": a command we do not know is not an error after the handshake;
    it is reported and traffic carries on."""
    pair = ready_pair("PUSH", "PULL")

    pair.a_to_b(encode_command_frame(b"X-HELLO", b"data") + encode_message([b"m"]))

    assert pair.b.events() == [UnknownCommand(b"X-HELLO", b"data"), Message([b"m"])]


# =======================================================================================
# Errors: who broke which rule


def test_error_command_in_traffic_raises_peer_error_and_is_not_answered(ready_pair):
    """RFC 23 "Error Handling": a peer's ERROR ends the connection as PeerError; no
    ERROR is sent back to a peer that already said why."""
    pair = ready_pair("DEALER", "ROUTER")

    pair.a_to_b(pair.a.send_error("going away"))

    with pytest.raises(PeerError) as info:
        pair.b.events()
    assert "going away" in info.value.reason
    assert pair.b.data_to_send() == b""
    assert pair.b.state is ConnectionState.FAILED


def test_message_before_the_handshake_completes_is_refused(decode_stream):
    """RFC 23 "Overall Behavior" / RFC 37 "The NULL Security Mechanism": no message may
    be sent before READY went both ways; one is refused with an ERROR."""
    conn = Connection("PULL")
    wire = conn.data_to_send()

    conn.receive_data(NULL_GREETING + encode_message([b"too early"]))

    assert conn.events() == [GreetingReceived(Greeting(3, 1, b"NULL", False))]
    with pytest.raises(HandshakeError):
        conn.events()
    items = decode_stream(wire + conn.data_to_send())
    assert items[0][0] == b"READY"
    assert len(error_reasons(items)) == 1


def test_mechanism_mismatch_is_refused_on_both_sides(make_pair, drain, decode_stream):
    """RFC 23 "Authentication and Confidentiality": peers using different mechanisms
    cannot talk; both refuse and neither starts its handshake."""
    pair = make_pair("DEALER", Connection("ROUTER", mechanism=PlainServer()))
    pair.pump()

    for conn, peer_mechanism in ((pair.a, b"PLAIN"), (pair.b, b"NULL")):
        events, error = drain(conn)
        assert events == [GreetingReceived(Greeting(3, 1, peer_mechanism, conn is pair.a))]
        assert isinstance(error, HandshakeError)
        assert "mechanism" in str(error)
    for wire in (pair.wire_a, pair.wire_b):
        assert {item[0] for item in decode_stream(wire)} <= {b"ERROR"}


#: Bytes that break a rule before traffic starts, fed to a fresh PULL connection.
_BEFORE_TRAFFIC = {
    "zmtp-1.0-frame-of-length-zero": b"\x00",
    "zmtp-1.0-long-frame-of-length-zero": b"\xff" + bytes(8) + b"\x00",
    "bad-signature-last-octet": b"\xff" + bytes(8) + b"\x01",
    "major-version-2": b"\xff" + bytes(8) + b"\x7f\x02",
    "zmtp-2.0-incompatible-type": b"\xff" + bytes(8) + b"\x7f\x01\x07",
    "lowercase-mechanism": encode_greeting(b"NULL", False)[:12] + b"null" + bytes(48),
    "message-before-ready": NULL_GREETING + encode_message([b"early"]),
    "empty-command-name": NULL_GREETING + b"\x04\x00",
    "truncated-ready-metadata": NULL_GREETING + bytes.fromhex("040b0552454144590000000000"),
    "reserved-flag-bits": NULL_GREETING + b"\x84\x00",
    "command-with-more": NULL_GREETING + b"\x05\x06\x05READY",
    "incompatible-socket-type": NULL_GREETING + ready_for("PUB"),
    "unexpected-command": NULL_GREETING + encode_command_frame(b"HELLO", b"\x00\x00"),
}
#: The subset that arrives after the greeting was accepted: the peer reads commands.
_DURING_HANDSHAKE = [name for name, data in _BEFORE_TRAFFIC.items() if len(data) > 64]


@pytest.mark.parametrize("case", list(_BEFORE_TRAFFIC))
def test_every_violation_before_traffic_is_a_handshake_error(case):
    """RFC 23 "Overall Behavior" (README "HandshakeError before traffic"): whatever
    breaks the greeting or the handshake is raised by events() as HandshakeError, a
    refinement of ProtocolError, and never escapes receive_data."""
    conn = Connection("PULL")
    conn.receive_data(_BEFORE_TRAFFIC[case])

    with pytest.raises(HandshakeError) as info:
        while conn.events():
            pass
    assert info.value.rfc in (13, 15, 23, 24, 37)
    assert conn.state is ConnectionState.FAILED


@pytest.mark.parametrize("case", _DURING_HANDSHAKE)
def test_violation_during_the_handshake_is_answered_with_an_error_command(case, decode_stream):
    """RFC 23 "Error Handling": once the greeting is accepted the peer reads commands,
    so the refusal is sent as an ERROR command whose reason names the broken rule."""
    conn = Connection("PULL")
    conn.receive_data(_BEFORE_TRAFFIC[case])
    with pytest.raises(ProtocolError) as info:
        while conn.events():
            pass

    reasons = error_reasons(decode_stream(conn.data_to_send()))
    assert len(reasons) == 1
    assert reasons[0][1:] == info.value.reason.encode()[:255]


def _traffic_violations() -> dict[str, tuple[bytes, type[ProtocolError]]]:
    return {
        "reserved-flag-bits": (b"\x80\x01x", ProtocolError),
        "command-with-more": (b"\x05\x07\x04PING\x00\x00", ProtocolError),
        "ping-without-ttl": (encode_command_frame(b"PING"), ProtocolError),
        "error-command": (encode_error("bye"), PeerError),
    }


@pytest.mark.parametrize("case", list(_traffic_violations()))
def test_events_before_a_violation_are_delivered_first(ready_pair, case):
    """README / connection.py "Errors": two valid messages followed by a violation in
    the same receive_data: events() returns both messages, and only the next call
    raises; receive_data itself never raises."""
    bad, error_type = _traffic_violations()[case]
    pair = ready_pair("PUSH", "PULL")
    good = pair.a.send_message([b"one"]) + pair.a.send_message([b"two", b"parts"])

    pair.b.receive_data(good + bad)

    assert pair.b.events() == [Message([b"one"]), Message([b"two", b"parts"])]
    with pytest.raises(error_type):
        pair.b.events()
    with pytest.raises(error_type):
        pair.b.events()  # the error stays


def test_next_event_returns_events_one_by_one_then_need_data(ready_pair):
    """connection.py (h11-style): next_event() gives one event at a time and
    NEED_DATA when nothing is pending."""
    pair = ready_pair("PUSH", "PULL")
    assert pair.b.next_event() is NEED_DATA

    pair.a_to_b(pair.a.send_message([b"1"]) + pair.a.send_message([b"2"]))

    assert pair.b.next_event() == Message([b"1"])
    assert pair.b.next_event() == Message([b"2"])
    assert pair.b.next_event() is NEED_DATA
    assert pair.b.events() == []
    assert repr(NEED_DATA) == "NEED_DATA"


def test_next_event_raises_the_error_after_the_events_before_it(ready_pair):
    """connection.py "Errors": next_event() raises the connection's error once every
    event before it has been returned."""
    pair = ready_pair("PUSH", "PULL")
    pair.a_to_b(pair.a.send_message([b"1"]) + encode_error("bye"))

    assert pair.b.next_event() == Message([b"1"])
    with pytest.raises(PeerError):
        pair.b.next_event()


def test_maxmsgsize_violation_in_traffic_is_a_protocol_error(ready_pair):
    """RFC 23 "Framing": a message above maxmsgsize ends the connection with a
    ProtocolError (not a handshake error: traffic had started)."""
    pair = ready_pair("PUSH", Connection("PULL", maxmsgsize=100))

    pair.a_to_b(pair.a.send_message([b"x" * 100]))
    assert pair.b.events() == [Message([b"x" * 100])]
    pair.a_to_b(pair.a.send_message([b"x" * 50] * 3))

    with pytest.raises(ProtocolError) as info:
        pair.b.events()
    assert not isinstance(info.value, HandshakeError)
    assert pair.b.data_to_send() == b""


def test_receive_data_never_raises_for_peer_bytes():
    """connection.py "Errors": nothing a peer sends makes receive_data raise; the
    failure, if any, is a ProtocolError from events(). Checked on a fixed corpus of
    random tails after each stage of a valid handshake, fed whole and octet-wise."""
    rng = random.Random(0x2E7)
    prefixes = [b"", NULL_GREETING, NULL_GREETING + ready_for("PUSH")]
    for trial in range(300):
        tail = rng.randbytes(rng.randrange(1, 80))
        data = prefixes[trial % 3] + tail
        for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
            # maxmsgsize keeps random long sizes from asking for real memory.
            conn = Connection("PULL", maxmsgsize=1 << 20)
            for chunk in chunks:
                conn.receive_data(chunk)
            conn.receive_data(b"")
            try:
                while conn.events():
                    pass
            except ProtocolError:
                pass


def test_receive_data_never_raises_on_a_huge_claimed_frame_size(ready_pair):
    """RFC 23 "Framing" / connection.py "Errors": with no maxmsgsize, a frame header
    claiming 2^62 octets (legal: up to 2^63-1) must not make receive_data raise
    (e.g. MemoryError from reserving the claimed size up front)."""
    pair = ready_pair("PUSH", "PULL")

    pair.b.receive_data(b"\x02" + (1 << 62).to_bytes(8, "big") + b"x" * 32)

    try:
        assert pair.b.events() == []
    except ProtocolError:
        pass  # refusing it is fine; crashing is not


# =======================================================================================
# End of stream


def test_eof_in_the_middle_of_the_greeting_is_unclean():
    """RFC 23 "The Greeting": a peer that closes before 64 octets closed uncleanly."""
    conn = Connection("PULL")
    conn.receive_data(NULL_GREETING[:30])
    conn.receive_data(b"")

    (closed,) = conn.events()
    assert type(closed) is ConnectionClosed
    assert closed.clean is False
    assert "greeting" in closed.reason
    assert conn.state is ConnectionState.CLOSED


def test_eof_during_the_handshake_is_unclean():
    """RFC 23 "Overall Behavior": a peer that closes before READY closed uncleanly."""
    conn = Connection("PULL")
    conn.receive_data(NULL_GREETING)
    conn.receive_data(b"")

    events = conn.events()
    assert type(events[0]) is GreetingReceived
    assert events[1] == ConnectionClosed(False, events[1].reason)
    assert "handshake" in events[1].reason


@pytest.mark.parametrize(
    "cut",
    [1, 3, 5, 6, 8],
    ids=[
        "inside-first-header",
        "inside-first-body",
        "between-frames",
        "inside-last-header",
        "inside-last-body",
    ],
)
def test_eof_in_the_middle_of_a_message_is_unclean(ready_pair, cut):
    """RFC 23 "Framing": a stream that ends inside a frame, or between the frames of
    a multipart message, ends uncleanly and no partial message is delivered."""
    pair = ready_pair("PUSH", "PULL")
    wire = pair.a.send_message([b"abc", b"de"])  # 01 03 abc 00 02 de: 9 octets

    pair.b.receive_data(wire[:cut])
    pair.b.receive_data(b"")

    (closed,) = pair.b.events()
    assert type(closed) is ConnectionClosed
    assert closed.clean is False
    assert "message" in closed.reason


def test_eof_between_messages_is_clean(ready_pair):
    """RFC 23 "Overall Behavior": closing after a complete message is a clean close."""
    pair = ready_pair("PUSH", "PULL")
    pair.b.receive_data(pair.a.send_message([b"last"]))
    pair.b.receive_data(b"")

    assert pair.b.events() == [Message([b"last"]), ConnectionClosed(True, "")]


def test_receive_data_after_the_peer_closed_is_invalid_state():
    """connection.py: after EOF there is no more input; feeding some is the caller's
    mistake, not the peer's."""
    conn = Connection("PULL")
    conn.receive_data(b"")
    with pytest.raises(InvalidState):
        conn.receive_data(b"x")


# =======================================================================================
# Misuse by the caller


_SEND_CALLS = {
    "send_message": lambda c: c.send_message([b"x"]),
    "send_messages": lambda c: c.send_messages([[b"x"]], []),
    "send_subscribe": lambda c: c.send_subscribe(b"t"),
    "send_cancel": lambda c: c.send_cancel(b"t"),
    "send_ping": lambda c: c.send_ping(),
    "send_pong": lambda c: c.send_pong(),
    "send_command": lambda c: c.send_command(b"X-CMD"),
}


@pytest.mark.parametrize("stage", ["greeting", "handshake"])
@pytest.mark.parametrize("call", list(_SEND_CALLS))
def test_sending_before_the_handshake_completes_is_invalid_state(call, stage):
    """RFC 23 "Overall Behavior": traffic starts after READY went both ways; an
    earlier send is refused at the call and nothing is queued."""
    conn = Connection("DEALER")
    conn.data_to_send()
    if stage == "handshake":
        conn.receive_data(NULL_GREETING)
        conn.data_to_send()

    with pytest.raises(InvalidState):
        _SEND_CALLS[call](conn)
    assert conn.data_to_send() == b""


def test_send_error_before_the_peer_greeting_is_invalid_state():
    """RFC 23 "Error Handling": an ERROR command needs a peer that reads commands."""
    with pytest.raises(InvalidState):
        Connection("DEALER").send_error("nope")


@pytest.mark.parametrize("version", [(3, 2), (2, 1), (4, 0), (0, 9)])
def test_only_the_versions_zmtp_speaks_can_be_announced(version):
    """RFC 37 "Version Negotiation": zmtp speaks 3.1 and 3.0, and 2.0 and 1.0 (RFC 15,
    RFC 13) for tests of other peers."""
    with pytest.raises(ValueError):
        Connection("DEALER", version=version)


# =======================================================================================
# Large messages


def test_large_message_is_received_through_body_buffer(ready_pair):
    """RFC 23 "Framing": a large body may be received straight into the connection's
    buffer (recv_into), and arrives as the same message."""
    pair = ready_pair("PUSH", "PULL")
    body = bytes(range(256)) * 1024
    wire = pair.a.send_message([b"head", body]) + pair.a.send_message([b"next"])
    assert pair.b.body_buffer() is None

    pair.b.receive_data(wire[:4096])
    view = pair.b.body_buffer()
    assert view is not None and len(view) >= LARGE_BODY
    pos = 4096
    n = len(view)
    view[:] = wire[pos : pos + n]
    pair.b.body_received(n)
    pair.b.receive_data(wire[pos + n :])

    assert pair.b.events() == [Message([b"head", body]), Message([b"next"])]


def test_body_buffer_is_none_before_traffic():
    """RFC 23 "Overall Behavior": only traffic frames use the in-place buffer."""
    conn = Connection("PULL")
    conn.receive_data(NULL_GREETING)
    assert conn.body_buffer() is None


# =======================================================================================
# Replaying libzmq 4.3.5


def _raw_side(capture: dict, decode_stream) -> tuple[str, tuple[int, int]]:
    """The socket type and version the scripted raw side announced to libzmq."""
    ours = bytes.fromhex(capture["our_bytes_hex"])
    ((name, data), *_) = decode_stream(ours)
    assert name == b"READY"
    return decode_metadata(data)["Socket-Type"].decode(), (ours[10], ours[11])


def _libzmq_ready_properties(capture: dict, spec) -> list[tuple[str, bytes]]:
    frames = capture.get("libzmq_frames")
    if frames:
        (ready,) = [f for f in frames if f.get("command") == "READY"]
        props = ready["properties"]
    else:
        key = f"{capture['libzmq_socket_type']} NULL READY"
        (props,) = spec("libzmq_captures.json")["observations"]["metadata_properties_sent"][key]
    return [(name, bytes.fromhex(value)) for name, value in props]


@pytest.mark.parametrize("chunking", ["whole", "octet-by-octet"])
def test_libzmq_null_handshake_completes_ours(null_capture, chunking, decode_stream, spec):
    """RFC 23 "The NULL Security Mechanism" / RFC 37 "Version Negotiation": the bytes
    libzmq 4.3.5 sent (greeting with libzmq's padding, READY) complete our handshake,
    whole or as staged as libzmq sends them; the peer's type, identity and properties
    are reported as recorded, and a SUB's subscription arrives as Subscribe."""
    our_type, version = _raw_side(null_capture, decode_stream)
    conn = Connection(our_type, version=version)
    libzmq = bytes.fromhex(null_capture["libzmq_bytes_hex"])
    chunks = [libzmq] if chunking == "whole" else [libzmq[i : i + 1] for i in range(len(libzmq))]

    for chunk in chunks:
        conn.receive_data(chunk)

    greeting = null_capture["libzmq_greeting"]
    expected_props = _libzmq_ready_properties(null_capture, spec)
    events = conn.events()
    assert events[0] == GreetingReceived(Greeting(*greeting["version"], b"NULL", False))
    complete = events[1]
    assert type(complete) is HandshakeComplete
    assert complete.socket_type is SocketType[null_capture["libzmq_socket_type"]]
    assert complete.routing_id == dict(expected_props).get("Identity", b"")
    assert list(complete.properties.items()) == expected_props
    assert complete.version == version
    assert len(events) == 2

    if "after_ready_bytes_hex" in null_capture:
        conn.receive_data(bytes.fromhex(null_capture["after_ready_bytes_hex"]))
        assert conn.events() == [Subscribe(b"weather")]


def _capture(spec, name: str) -> dict:
    return next(c for c in spec("libzmq_captures.json")["captures"] if c["name"] == name)


@pytest.mark.parametrize("role", ["bind", "connect"])
def test_libzmq_plain_client_is_admitted_by_our_plain_server(spec, role, decode_stream):
    """RFC 24 "Implementation": libzmq's PLAIN client (HELLO admin/secret, then
    INITIATE) is admitted by our server, which answers WELCOME then READY."""
    capture = _capture(spec, f"plain_client_libzmq_{role}")
    conn = Connection("ROUTER", mechanism=PlainServer(), authenticator=check_password)
    conn.data_to_send()

    conn.receive_data(bytes.fromhex(capture["libzmq_bytes_hex"]))

    events = conn.events()
    assert events[0] == GreetingReceived(Greeting(3, 1, b"PLAIN", False))
    assert events[1].socket_type is SocketType.DEALER
    assert events[1].user_id == b"admin"
    assert [item[0] for item in decode_stream(conn.data_to_send())] == [b"WELCOME", b"READY"]


@pytest.mark.parametrize("role", ["bind", "connect"])
def test_our_plain_client_writes_what_libzmq_plain_server_accepted(spec, role):
    """RFC 24 "Implementation": our PLAIN client's greeting, HELLO and INITIATE are
    octet for octet what the scripted client sent to libzmq's PLAIN server, and
    libzmq's WELCOME and READY complete our handshake."""
    capture = _capture(spec, f"plain_server_libzmq_{role}")
    credentials = (capture["plain_username"].encode(), capture["plain_password"].encode())
    conn = Connection("DEALER", mechanism=PlainClient(*credentials), routing_id=b"client-1")
    wire = conn.data_to_send()

    conn.receive_data(bytes.fromhex(capture["libzmq_bytes_hex"]))
    wire += conn.data_to_send()

    assert wire.hex() == capture["our_bytes_hex"]
    complete = conn.events()[-1]
    assert complete.socket_type is SocketType.ROUTER
    assert complete.mechanism == b"PLAIN"


@pytest.mark.parametrize("role", ["bind", "connect"])
def test_libzmq_plain_server_without_zap_closing_is_an_unclean_close(spec, role):
    """RFC 24 / README: libzmq's PLAIN server with no ZAP handler closes after HELLO
    without ERROR; our client reports an unclean close during the handshake."""
    capture = _capture(spec, f"plain_server_without_zap_libzmq_{role}")
    conn = Connection("DEALER", mechanism=PlainClient(*CREDENTIALS))

    conn.receive_data(bytes.fromhex(capture["libzmq_bytes_hex"]))
    conn.receive_data(b"")

    events = conn.events()
    assert events[0] == GreetingReceived(Greeting(3, 1, b"PLAIN", False))
    assert events[1] == ConnectionClosed(False, events[1].reason)


def test_message_in_the_same_read_as_greeting_and_ready_is_delivered(spec):
    """RFC 23 "The NULL Security Mechanism": we send READY as soon as the greeting is
    accepted, so a message right behind the peer's READY is legal and delivered
    (libzmq 4.3 refuses it: probe_message_in_same_write_as_greeting_and_ready)."""
    probe = next(
        p
        for p in spec("libzmq_captures.json")["probes"]
        if p["name"] == "probe_message_in_same_write_as_greeting_and_ready"
    )
    conn = Connection(probe["libzmq_socket_type"])

    conn.receive_data(bytes.fromhex(probe["our_bytes_hex"]))

    events = conn.events()
    assert type(events[1]) is HandshakeComplete
    assert events[2:] == [Message([b"\x42"])]


def test_receive_messages_returns_traffic_that_is_only_messages(ready_pair) -> None:
    """Engines' bulk path: receive_messages() hands over a read that held only
    messages, and leaves anything else (here a PING) to events(), in order."""
    pair = ready_pair("PUSH", "PULL")
    sender, receiver = pair.a, pair.b
    wire = sender.send_message([b"one"]) + sender.send_message([b"two", b"parts"])
    assert receiver.receive_messages(wire) == [[b"one"], [b"two", b"parts"]]
    assert receiver.events() == []
    mixed = sender.send_message([b"three"]) + sender.send_ping(0, b"ctx")
    assert receiver.receive_messages(mixed) is None
    events = receiver.events()
    assert events[0] == [b"three"]
    assert type(events[1]).__name__ == "Ping"
