"""Connections with ZMTP 2.0 and 1.0 peers: RFC 15, RFC 13, RFC 23 "Version Negotiation".

Our Connection (announcing ZMTP 3.1) is wired back to back with a Connection made to
speak an older version (``version=(2, 0)`` or ``(1, 0)``), and with scripted bytes
where the exact octets matter: the staged greeting, the downgrade, the identity
frames, traffic and subscriptions in the old framings, the refusals (security,
``min_version``, socket types) and what each version lacks (commands, PING).
"""

from __future__ import annotations

import pytest

from zmtp.constants import SocketType
from zmtp.errors import HandshakeError, InvalidState, ProtocolError, ZMTPValueError
from zmtp.wire import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    CurveClient,
    Greeting,
    GreetingReceived,
    HandshakeComplete,
    NullMechanism,
    PlainClient,
    PlainServer,
    Subscribe,
    curve_keypair,
)
from zmtp.wire.frames import LARGE_BODY, encode_frame, encode_message
from zmtp.wire.greeting import GREETING_SIZE, SIGNATURE_SIZE, encode_greeting, encode_old_greeting
from zmtp.wire.legacy import encode_v1_message

OLD = [(2, 0), (1, 0)]
OLD_IDS = ["zmtp-2.0", "zmtp-1.0"]


def _complete(events: list) -> HandshakeComplete:
    done = [e for e in events if type(e) is HandshakeComplete]
    assert len(done) == 1, events
    return done[0]


# =======================================================================================
# Handshake and traffic, both roles


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
@pytest.mark.parametrize("old_side", ["connects", "binds"])
def test_a_zmtp_3_1_connection_speaks_the_older_version_of_its_peer(
    old, old_side, make_pair, drain
):
    """RFC 23 "Version Negotiation": "A peer MAY downgrade its protocol to talk to a
    lower protocol peer"; both sides then report the older version, and each learns
    the other's identity from its identity frame (RFC 15 greeting, RFC 13)."""
    ours = Connection("ROUTER", routing_id=b"router-id")
    theirs = Connection("DEALER", routing_id=b"dealer-id", version=old)
    pair = make_pair(theirs, ours) if old_side == "connects" else make_pair(ours, theirs)
    pair.pump()

    ours_done = _complete(drain(ours)[0])
    theirs_done = _complete(drain(theirs)[0])
    assert ours_done.version == theirs_done.version == old
    assert ours_done.routing_id == b"dealer-id"
    assert theirs_done.routing_id == b"router-id"
    assert ours_done.properties == {}  # no metadata before ZMTP 3.0
    if old == (2, 0):
        assert ours_done.socket_type is SocketType.DEALER  # the greeting's octet
        assert theirs_done.socket_type is SocketType.ROUTER
    else:
        assert ours_done.socket_type is None  # ZMTP 1.0 has no socket type
    assert ours.state is theirs.state is ConnectionState.TRAFFIC


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_multipart_messages_of_every_size_cross_the_older_framing_both_ways(old, ready_pair):
    """RFC 15 "Framing" / RFC 13 "The Framing Layer": short, long and large frames,
    empty frames and MORE survive the trip in both directions."""
    pair = ready_pair(Connection("PUSH", version=old), Connection("PULL"))
    message = [b"", b"x", bytes(255), bytes(256), bytes(range(256)) * 300, b"end"]

    pair.a_to_b(pair.a.send_message(message))
    assert pair.b.events() == [message]

    back = ready_pair(Connection("PUSH"), Connection("PULL", version=old))
    out: list = []
    back.a.send_messages([message, [b"second"]], out)
    back.a_to_b(b"".join(bytes(b) for b in out))
    assert back.b.events() == [message, [b"second"]]


def test_a_large_zmtp_1_0_body_can_be_received_in_place(ready_pair):
    """RFC 13 "The Framing Layer": the long form carries large bodies; the connection
    offers the unfilled body buffer as for ZMTP 3.x (no copy)."""
    pair = ready_pair(Connection("PUSH", version=(1, 0)), Connection("PULL"))
    body = bytes(range(256)) * (LARGE_BODY // 128)
    wire = pair.a.send_message([body])

    pair.b.receive_data(wire[:100])
    view = pair.b.body_buffer()
    assert view is not None and len(view) == len(wire) - 100
    view[:] = wire[100:]
    pair.b.body_received(len(view))
    assert pair.b.events() == [[body]]


# =======================================================================================
# The greeting in stages (libzmq's order) and the downgrade on the wire


def test_we_send_only_the_signature_until_the_peer_shows_its_version():
    """RFC 23 "Version Negotiation" (detecting older versions): nothing an older peer
    cannot read goes out before its version is known. The signature's padding is our
    identity size plus one (RFC 15 "Backwards Interoperability")."""
    conn = Connection("DEALER", routing_id=b"abc")

    assert conn.data_to_send() == b"\xff" + (4).to_bytes(8, "big") + b"\x7f"
    conn.receive_data(b"\xff" + bytes(8))
    assert conn.data_to_send() == b""  # the peer's signature is not complete


def test_a_zmtp_2_0_peer_gets_version_3_then_our_socket_type_then_our_identity():
    """RFC 15 "Backwards Interoperability" as libzmq answers it (specs/README: libzmq
    replies 03 then its type): our major version after the peer's signature, then the
    RFC 15 socket-type octet after its revision, then our identity frame."""
    conn = Connection("PULL", routing_id=b"ignored-for-pull")
    assert conn.data_to_send() == b"\xff" + (1).to_bytes(8, "big") + b"\x7f"

    greeting = encode_old_greeting(int(SocketType.PUSH))
    conn.receive_data(greeting[:10])
    assert conn.data_to_send() == b"\x03"
    conn.receive_data(greeting[10:11])
    assert conn.data_to_send() == b"\x07"  # PULL
    conn.receive_data(greeting[11:])
    assert conn.data_to_send() == encode_frame(b"")  # identity frame, empty
    assert conn.events() == [GreetingReceived(Greeting(2, 0, b"", False, 8))]

    conn.receive_data(encode_frame(b"pusher") + encode_message([b"hi"]))
    events = conn.events()
    assert _complete(events).routing_id == b"pusher"
    assert events[-1] == [b"hi"]


def test_a_zmtp_3_peer_gets_the_rest_of_the_greeting_after_its_version_octet():
    """RFC 23 "The Greeting": a peer that reads a full greeting sends a full one; ours
    is complete (minor, mechanism, as-server, filler) once the peer's major is in."""
    conn = Connection("PUSH")
    wire = conn.data_to_send()
    peer = encode_greeting(b"NULL", False)

    conn.receive_data(peer[:10])
    wire += conn.data_to_send()
    assert len(wire) == 11
    conn.receive_data(peer[10:11])
    wire += conn.data_to_send()
    assert wire == encode_greeting(b"NULL", False, padding=1)


def test_a_zmtp_1_0_peer_reads_our_signature_as_our_identity_frame_header():
    """RFC 15 "Backwards Interoperability": after detecting ZMTP 1.0 "we continue by
    sending the body of the identity frame"; all we sent is then one RFC 13 identity
    frame (0xFF, identity size plus one, flags 0x7F, identity)."""
    conn = Connection("DEALER", routing_id=b"me")
    wire = conn.data_to_send()

    conn.receive_data(encode_v1_message([b"them"]))
    wire += conn.data_to_send()

    assert wire == b"\xff" + (3).to_bytes(8, "big") + b"\x7f" + b"me"
    assert _complete(conn.events()).routing_id == b"them"


def test_a_versioned_zmtp_1_0_peer_is_spoken_to_in_zmtp_1_0_framing():
    """RFC 15 "Backwards Interoperability" as libzmq reads it: version octet 0x00
    after a 2.0 signature is a ZMTP 1.0 peer with a greeting; traffic then uses the
    RFC 13 framing, our identity frame included."""
    conn = Connection("ROUTER")
    wire = conn.data_to_send()

    conn.receive_data(encode_old_greeting(int(SocketType.DEALER), revision=0))
    conn.receive_data(encode_v1_message([b"d1"]) + encode_v1_message([b"a", b"b"]))
    wire += conn.data_to_send()

    events = conn.events()
    done = _complete(events)
    assert (done.version, done.socket_type, done.routing_id) == ((1, 0), SocketType.DEALER, b"d1")
    assert events[-1] == [b"a", b"b"]
    assert wire[SIGNATURE_SIZE:] == b"\x03\x06" + encode_v1_message([b""])
    assert conn.send_message([b"r"]) == encode_v1_message([b"r"])


def test_octets_after_the_identity_in_the_same_read_are_traffic():
    """RFC 15 "Formal Grammar": connection = greeting *message, the identity being the
    greeting's last part; everything after it in one read is messages."""
    conn = Connection("PULL")
    conn.data_to_send()
    conn.receive_data(
        encode_old_greeting(8) + encode_frame(b"") + encode_message([b"1"]) + encode_message([b"2"])
    )
    assert conn.events()[-2:] == [[b"1"], [b"2"]]


# =======================================================================================
# Publish-subscribe (RFC 15 "Publish-Subscribe")


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_our_subscriptions_reach_an_old_publisher_as_messages(old, ready_pair, drain):
    """RFC 15 "Publish-Subscribe": "A SUB socket sends a subscription message as one
    byte %x01 followed by the subscription body, and unsubscription messages as one
    byte %x00"."""
    pair = ready_pair(Connection("SUB"), Connection("PUB", version=old))

    sub = pair.a.send_subscribe(b"topic")
    cancel = pair.a.send_cancel(b"topic")
    framing = encode_v1_message if old == (1, 0) else encode_message
    assert sub == framing([b"\x01topic"]) and cancel == framing([b"\x00topic"])
    pair.a_to_b(sub + cancel)
    assert [type(e).__name__ for e in drain(pair.b)[0]] == ["Subscribe", "Cancel"]


@pytest.mark.parametrize("ours", ["PUB", "XPUB"])
def test_an_old_subscriber_s_subscription_messages_are_subscriptions(ours, ready_pair):
    """RFC 15 "Publish-Subscribe": XPUB and XSUB are PUB and SUB on the wire; a ZMTP 2.0
    subscriber's messages of first octet 1/0 are (un)subscriptions."""
    pair = ready_pair(Connection(ours), Connection("XSUB", version=(2, 0)))
    pair.b_to_a(pair.b.send_message([b"\x01weather"]))
    assert pair.a.events() == [Subscribe(b"weather")]


def test_a_zmtp_1_0_subscriber_without_greeting_is_subscribed_to_everything(make_pair, drain):
    """RFC 13 "Broadcast Content": "A subscriber SHALL NOT send any content" and the
    recipient filters; so a publisher sends a ZMTP 1.0 subscriber everything (libzmq
    injects the same empty subscription)."""
    pair = make_pair(Connection("PUB"), Connection("SUB", version=(1, 0)))
    pair.pump()
    events = drain(pair.a)[0]
    assert events[-1] == Subscribe(b"")
    assert type(events[-2]) is HandshakeComplete


def test_a_zmtp_2_0_subscriber_gets_no_implicit_subscription(make_pair, drain):
    """RFC 15 "Publish-Subscribe": a 2.0 subscriber sends its subscriptions itself."""
    pair = make_pair(Connection("PUB"), Connection("SUB", version=(2, 0)))
    pair.pump()
    assert not [e for e in drain(pair.a)[0] if type(e) is Subscribe]


# =======================================================================================
# What older versions lack: commands, heartbeats, ERROR


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_no_command_can_be_sent_to_an_old_peer(old, ready_pair):
    """RFC 15 "Framing" (bit 2 is reserved) and RFC 13: no commands, hence no PING,
    PONG or ERROR; asking for one is our misuse, refused at the call."""
    pair = ready_pair(Connection("DEALER"), Connection("DEALER", version=old))
    for send in (
        lambda: pair.a.send_ping(10),
        lambda: pair.a.send_pong(b""),
        lambda: pair.a.send_command(b"HELLO"),
        lambda: pair.a.send_error("bye"),
    ):
        with pytest.raises(InvalidState) as info:
            send()
        assert f"ZMTP {old[0]}.{old[1]}" in str(info.value)


def test_a_command_frame_from_a_zmtp_2_0_peer_is_a_framing_violation(ready_pair):
    """RFC 15 "Framing": bits 2-7 of the flags MUST be zero."""
    pair = ready_pair(Connection("DEALER"), Connection("DEALER", version=(2, 0)))
    pair.b_to_a(b"\x04\x06\x04PING\x00\x00")
    with pytest.raises(ProtocolError) as info:
        pair.a.events()
    assert info.value.rfc == 15
    assert pair.a.data_to_send() == b""  # no ERROR command: the peer could not read it


# =======================================================================================
# Refusals


@pytest.mark.parametrize(
    "mechanism",
    [
        lambda: PlainServer(),
        lambda: PlainClient(b"u", b"p"),
        lambda: CurveClient(curve_keypair()[0], *curve_keypair()),
        lambda: NullMechanism(as_server=True, authenticate=True),
    ],
    ids=["plain-server", "plain-client", "curve-client", "null-with-zap"],
)
@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_a_secure_socket_refuses_an_old_peer_rather_than_downgrade(
    old, mechanism, make_pair, drain
):
    """RFC 23 "Authentication and Confidentiality": "Security in ZMTP is assertive ...
    This prevents downgrade attacks"; older versions have no mechanisms (RFC 15
    "Security"), so the connection is refused, saying why."""
    pair = make_pair(Connection("DEALER", version=old), Connection("ROUTER", mechanism=mechanism()))
    pair.pump()

    _, error = drain(pair.b)
    assert isinstance(error, HandshakeError)
    assert "has no security mechanism" in error.reason
    assert (error.rfc, error.section) == (23, "Authentication and Confidentiality")


def test_a_secure_socket_sends_its_whole_greeting_at_once():
    """RFC 23 "Version Negotiation": a peer that demands 3.x sends all 64 octets with
    zero padding; a PLAIN socket can never talk to an older peer."""
    assert Connection("DEALER", mechanism=PlainClient(b"u", b"p")).data_to_send() == (
        encode_greeting(b"PLAIN", False)
    )


@pytest.mark.parametrize(
    ("min_version", "peer", "refused"),
    [
        ((2, 0), (1, 0), True),
        ((2, 0), (2, 0), False),
        ((3, 0), (2, 0), True),
        ((3, 0), (1, 0), True),
        ((3, 0), (3, 0), False),
        ((3, 1), (3, 0), True),
    ],
)
def test_min_version_refuses_older_peers(min_version, peer, refused, make_pair, drain):
    """RFC 23 "Version Negotiation": a peer "MAY also demand ZMTP capabilities from its
    peers"; min_version names the oldest protocol accepted."""
    ours = Connection("PULL", min_version=min_version)
    pair = make_pair(Connection("PUSH", version=peer), ours)
    pair.pump()

    events, error = drain(ours)
    if refused:
        assert isinstance(error, HandshakeError)
        assert "min_version" in error.reason
        assert not [e for e in events if type(e) is HandshakeComplete]
    else:
        assert error is None and _complete(events).version == peer


def test_min_version_3_0_sends_the_whole_greeting_at_once_with_zero_padding():
    """RFC 23 "Version Negotiation": without downgrades the greeting goes out whole and
    the padding SHOULD be zero (it saves a round trip)."""
    conn = Connection("DEALER", routing_id=b"abc", min_version=(3, 0))
    assert conn.data_to_send() == encode_greeting(b"NULL", False)


def test_min_version_refuses_a_zmtp_1_0_peer_at_its_first_octet():
    """RFC 15 "Backwards Interoperability": one octet shows a ZMTP 1.0 peer."""
    conn = Connection("PULL", min_version=(2, 0))
    conn.receive_data(b"\x01")
    with pytest.raises(HandshakeError) as info:
        conn.events()
    assert "ZMTP 1.0" in info.value.reason


@pytest.mark.parametrize(("octet", "rule"), [(7, "cannot talk to PULL"), (200, "does not exist")])
def test_a_zmtp_2_0_peer_of_an_incompatible_socket_type_is_refused(octet, rule, drain):
    """RFC 15 "Socket Compatibility": "PULL accepts connections from PUSH"; other
    combinations are refused (libzmq does not check; README, deliberate differences)."""
    conn = Connection("PULL")
    conn.receive_data(encode_old_greeting(octet))
    _, error = drain(conn)
    assert isinstance(error, HandshakeError)
    assert rule in error.reason
    assert (error.rfc, error.section) == (15, "Socket Compatibility")


def test_the_socket_type_check_can_be_turned_off_for_old_peers():
    """check_socket_type=False admits any type, and still reports it."""
    conn = Connection("PULL", check_socket_type=False)
    conn.receive_data(encode_old_greeting(7) + encode_frame(b""))
    assert _complete(conn.events()).socket_type is SocketType.PULL


def test_an_identity_of_more_than_one_frame_is_refused(drain):
    """RFC 15 "Formal Grammar": identity = final-short body."""
    conn = Connection("ROUTER")
    conn.receive_data(encode_old_greeting(5) + encode_message([b"a", b"b"]))
    _, error = drain(conn)
    assert isinstance(error, HandshakeError)
    assert "one final frame" in error.reason


def test_an_identity_longer_than_255_octets_is_refused(drain):
    """RFC 13 "The Connection Layer": an identity is a string of 1 to 255 octets."""
    conn = Connection("ROUTER")
    conn.receive_data(encode_v1_message([bytes(256)]))
    _, error = drain(conn)
    assert isinstance(error, HandshakeError)
    assert error.rfc == 13


def test_a_peer_closing_before_its_identity_is_an_unclean_close():
    """RFC 15: the identity frame ends the greeting; a close before it ends the
    connection during the handshake."""
    conn = Connection("PULL")
    conn.receive_data(encode_old_greeting(8))
    conn.receive_data(b"")
    assert conn.events()[-1] == ConnectionClosed(
        False, "peer closed before its identity frame arrived"
    )


def test_maxmsgsize_bounds_old_traffic(ready_pair):
    """README "Deliberate differences": maxmsgsize counts the whole message, judged
    from the frame headers before the bodies arrive, in the old framings too."""
    pair = ready_pair(Connection("PUSH", version=(1, 0)), Connection("PULL", maxmsgsize=10))
    pair.a_to_b(pair.a.send_message([b"12345", b"67890"]))
    assert pair.b.events() == [[b"12345", b"67890"]]
    pair.a_to_b(pair.a.send_message([b"123456", b"789012"])[:9])
    with pytest.raises(ProtocolError) as info:
        pair.b.events()
    assert "maxmsgsize" in info.value.reason


# =======================================================================================
# Speaking an old version ourselves (for tests of other peers)


def test_an_old_version_needs_the_null_mechanism():
    """RFC 15 "Security": ZMTP 2.0 has no mechanisms to speak."""
    with pytest.raises(ZMTPValueError):
        Connection("DEALER", version=(2, 0), mechanism=PlainClient(b"u", b"p"))


@pytest.mark.parametrize(("version", "min_version"), [((2, 0), (3, 0)), ((3, 1), (4, 0))])
def test_min_version_must_be_a_version_we_speak_and_at_most_ours(version, min_version):
    with pytest.raises(ZMTPValueError):
        Connection("DEALER", version=version, min_version=min_version)


def test_as_a_zmtp_2_0_peer_we_send_the_rfc_15_greeting_in_two_steps():
    """RFC 15 "Backwards Interoperability": the signature first, revision and socket
    type once the peer's signature shows it versioned (JeroMQ 0.3.6 does the same)."""
    conn = Connection("SUB", version=(2, 0))
    wire = conn.data_to_send()
    assert len(wire) == SIGNATURE_SIZE
    conn.receive_data(encode_greeting(b"NULL", False)[:SIGNATURE_SIZE])
    wire += conn.data_to_send()
    assert wire == encode_old_greeting(int(SocketType.SUB))


def test_as_a_zmtp_1_0_peer_we_send_our_identity_frame_first():
    """RFC 13 "The Connection Layer": connection = greeting content, the greeting being
    the identity frame itself."""
    conn = Connection("DEALER", routing_id=b"old", version=(1, 0))
    assert conn.data_to_send() == encode_v1_message([b"old"])
    assert conn.state is ConnectionState.IDENTITY
    assert len(encode_greeting(b"NULL", False)) == GREETING_SIZE  # for contrast
