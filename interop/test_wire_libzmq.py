"""zmtp's sans-IO wire core against libzmq 4.3 (through pyzmq), over TCP, both ways.

Each test drives one :class:`zmtp.wire.Connection` over a blocking Python socket (a
``RawPeer`` from ``conftest.py``) against a real libzmq socket, and runs twice: libzmq
binds and we connect (``libzmq-binds``), and we listen and libzmq connects
(``libzmq-connects``). Tests are grouped by the rule they check: traffic per socket
pattern, security mechanisms, socket-type compatibility, version negotiation,
heartbeats, and limits. Where a test relies on something libzmq does that no RFC
promises, a comment says what libzmq 4.3.5 was seen doing.

No test sleeps: every wait is on data (a message, an event, EOF) or on libzmq's
socket monitor, with a timeout.
"""

from __future__ import annotations

import pytest
import zmq
from libzmq_helpers import recv_skipping_pings

from zmtp.errors import AuthenticationFailed, HandshakeError, PeerError, ProtocolError
from zmtp.wire import (
    Cancel,
    Connection,
    ConnectionClosed,
    Message,
    Ping,
    PlainClient,
    PlainServer,
    Pong,
    SocketType,
    Subscribe,
)
from zmtp.wire.mechanisms import AuthRequest

pytestmark = pytest.mark.interop

#: Multipart messages that probe the framing edges: empty frames, the largest short
#: frame (255 octets) and the smallest long one (256), and a 1 MiB frame.
MESSAGES: list[list[bytes]] = [
    [b"hello"],
    [b""],
    [b"", b"", b""],
    [b"envelope", b"", b"body"],
    [b"a" * 255],
    [b"b" * 256],
    [b"c" * 255, b"d" * 256, b"", b"e"],
    [bytes(range(256)) * 4096, b"after the big one"],
]

#: ZMTP 3.1 command frames as libzmq writes them (RFC 37): flags, size, name size, name.
SUBSCRIBE_WEATHER_31 = b"\x04\x11\x09SUBSCRIBEweather"
CANCEL_WEATHER_31 = b"\x04\x0e\x06CANCELweather"
#: ZMTP 3.0 subscription messages (RFC 23 has no SUBSCRIBE command): 0x01/0x00 + topic.
SUBSCRIBE_WEATHER_30 = b"\x00\x08\x01weather"
CANCEL_WEATHER_30 = b"\x00\x08\x00weather"


def plain_credentials(request: AuthRequest) -> bool:
    """Our PLAIN server's authenticator: admin/secret only."""
    return request.credentials == (b"admin", b"secret")


# ---------------------------------------------------------------------------------------
# Traffic: handshake and multipart messages, per pattern (RFC 23 Framing, RFC 28, 30)


@pytest.mark.parametrize("read_path", ["recv_into", "recv"])
def test_libzmq_push_delivers_multipart_messages_to_our_pull(zsock, link, read_path):
    push = zsock(zmq.PUSH)
    peer = link(push, Connection(SocketType.PULL), recv_into=read_path == "recv_into")

    done = peer.handshake()
    assert done.socket_type is SocketType.PUSH
    assert done.version == (3, 1)
    assert done.mechanism == b"NULL"
    assert done.routing_id == b""  # libzmq PUSH sends Socket-Type only
    for frames in MESSAGES:
        push.send_multipart(frames)
    for frames in MESSAGES:
        assert peer.recv_message() == frames


def test_our_push_delivers_multipart_messages_to_libzmq_pull(zsock, link):
    pull = zsock(zmq.PULL)
    peer = link(pull, Connection(SocketType.PUSH))

    assert peer.handshake().socket_type is SocketType.PULL
    for frames in MESSAGES:
        peer.send_message(frames)
    for frames in MESSAGES:
        assert pull.recv_multipart() == frames


def test_our_dealer_and_libzmq_dealer_exchange_multipart_messages(zsock, link):
    dealer = zsock(zmq.DEALER)
    peer = link(dealer, Connection(SocketType.DEALER))

    done = peer.handshake()
    assert done.socket_type is SocketType.DEALER
    assert done.routing_id == b""
    for frames in MESSAGES:
        peer.send_message(frames)
    for frames in MESSAGES:
        # libzmq echoes each message back as it arrives.
        echoed = dealer.recv_multipart()
        assert echoed == frames
        dealer.send_multipart(echoed)
    for frames in MESSAGES:
        assert peer.recv_message() == frames


def test_our_router_sees_libzmq_dealer_routing_id_in_handshake(zsock, link):
    dealer = zsock(zmq.DEALER, routing_id=b"dealer-1")
    peer = link(dealer, Connection(SocketType.ROUTER))

    done = peer.handshake()
    assert done.socket_type is SocketType.DEALER
    assert done.routing_id == b"dealer-1"
    assert done.properties["Identity"] == b"dealer-1"
    dealer.send_multipart([b"request", b""])
    assert peer.recv_message() == [b"request", b""]  # the wire carries no envelope
    peer.send_message([b"reply"])
    assert dealer.recv_multipart() == [b"reply"]


def test_libzmq_router_sees_our_dealer_identity_as_envelope(zsock, link):
    # libzmq looks up the property as exactly "Identity"; the envelope proves our
    # spelling reached it.
    router = zsock(zmq.ROUTER)
    peer = link(router, Connection(SocketType.DEALER, routing_id=b"raw-dealer"))

    done = peer.handshake()
    assert done.socket_type is SocketType.ROUTER
    assert done.routing_id == b""  # libzmq ROUTER sends an empty Identity
    peer.send_message([b"", b"hello"])
    assert router.recv_multipart() == [b"raw-dealer", b"", b"hello"]
    router.send_multipart([b"raw-dealer", b"", b"world"])
    assert peer.recv_message() == [b"", b"world"]


# ---------------------------------------------------------------------------------------
# Security mechanisms (RFC 23 NULL, RFC 24 PLAIN, RFC 27 ZAP)


@pytest.mark.usefixtures("zap")
def test_our_plain_client_is_admitted_by_libzmq_plain_server(zsock, link):
    pull = zsock(zmq.PULL, plain_server=True)
    peer = link(pull, Connection(SocketType.PUSH, mechanism=PlainClient(b"admin", b"secret")))

    done = peer.handshake()
    assert done.mechanism == b"PLAIN"
    assert done.socket_type is SocketType.PULL
    peer.send_message([b"authenticated"])
    frame = pull.recv(copy=False)
    assert frame.bytes == b"authenticated"
    assert frame.get("User-Id") == "admin"  # libzmq's ZAP handler admitted our HELLO


@pytest.mark.usefixtures("zap")
def test_our_plain_client_with_wrong_password_gets_libzmq_error_400(zsock, link, monitor):
    pull = zsock(zmq.PULL, plain_server=True)
    mon = monitor(pull)
    peer = link(pull, Connection(SocketType.PUSH, mechanism=PlainClient(b"admin", b"wrong")))

    # libzmq 4.3.5 answers the ZAP refusal with an ERROR command whose name it
    # mis-encodes (size 0x5E then "RROR"); the reason is the ZAP status code.
    with pytest.raises(PeerError) as info:
        peer.handshake()
    assert "400" in info.value.reason
    event = mon.wait_for(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400


def test_libzmq_plain_client_is_admitted_by_our_plain_server(zsock, link):
    push = zsock(zmq.PUSH, plain_username=b"admin", plain_password=b"secret")
    conn = Connection(SocketType.PULL, mechanism=PlainServer(), authenticator=plain_credentials)
    peer = link(push, conn)

    done = peer.handshake()
    assert done.mechanism == b"PLAIN"
    assert done.socket_type is SocketType.PUSH
    assert done.user_id == b"admin"
    push.send_multipart([b"over", b"plain"])
    assert peer.recv_message() == [b"over", b"plain"]


def test_libzmq_plain_client_with_wrong_password_is_refused_by_our_plain_server(
    zsock, link, monitor
):
    push = zsock(zmq.PUSH, plain_username=b"admin", plain_password=b"wrong")
    mon = monitor(push)
    conn = Connection(SocketType.PULL, mechanism=PlainServer(), authenticator=plain_credentials)
    peer = link(push, conn)

    with pytest.raises(AuthenticationFailed) as info:
        peer.handshake()
    assert info.value.status_code == "400"
    assert b"\x05ERROR\x03400" in b"".join(peer.protocol_sent)
    # libzmq's handshake never succeeds. libzmq 4.3.5 does not report
    # HANDSHAKE_FAILED_AUTH 400 here but HANDSHAKE_FAILED_PROTOCOL with
    # PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: its PLAIN client recognises only its
    # own mis-encoded ERROR name (0x5E "RROR", from the C literal "\x05ERROR" in
    # plain_common.hpp), so our RFC-correct 0x05 "ERROR" is an unknown command to it.
    event = mon.wait_for(
        zmq.EVENT_HANDSHAKE_SUCCEEDED,
        zmq.EVENT_HANDSHAKE_FAILED_AUTH,
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    )
    assert event["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED, mon.names


# ---------------------------------------------------------------------------------------
# Socket-type compatibility (RFC 37 "The Socket-Type Property")


def test_incompatible_socket_types_are_refused_by_both_sides(zsock, link, monitor):
    pull = zsock(zmq.PULL)
    mon = monitor(pull)
    # min_version=(3, 0): our greeting goes out whole, so libzmq's READY reaches us
    # before libzmq reads ours (see the next test).
    peer = link(pull, Connection(SocketType.PUB, min_version=(3, 0)))

    with pytest.raises(HandshakeError) as info:
        peer.handshake()
    assert not isinstance(info.value, PeerError)  # we refused; libzmq sent no ERROR
    assert "PUB" in info.value.reason
    assert "PULL" in info.value.reason
    assert b"\x05ERROR" in b"".join(peer.protocol_sent)
    # libzmq 4.3.5 refuses our READY (Socket-Type PUB) by itself: it closes the TCP
    # connection without an ERROR command, and its monitor reports DISCONNECTED
    # only -- neither HANDSHAKE_SUCCEEDED nor any HANDSHAKE_FAILED_* event.
    peer.wait_closed()
    mon.wait_for(zmq.EVENT_DISCONNECTED)
    assert "HANDSHAKE_SUCCEEDED" not in mon.names


def test_libzmq_refuses_an_incompatible_socket_type_we_do_not_check(zsock, link, monitor):
    pull = zsock(zmq.PULL)
    mon = monitor(pull)
    # min_version=(3, 0): our whole greeting goes out at once, so libzmq writes its
    # READY before it reads ours. (A greeting sent in stages reaches libzmq's mechanism
    # together with our READY, which it may refuse before writing its own: then
    # neither side sees the other's READY, and the refusal is a plain close.)
    conn = Connection(SocketType.PUB, check_socket_type=False, min_version=(3, 0))
    peer = link(pull, conn)

    # Our side completes (it was told not to check); libzmq closes the connection.
    assert peer.handshake().socket_type is SocketType.PULL
    assert peer.recv_event() == ConnectionClosed(clean=True)
    mon.wait_for(zmq.EVENT_DISCONNECTED)
    assert "HANDSHAKE_SUCCEEDED" not in mon.names


# ---------------------------------------------------------------------------------------
# Version negotiation and subscriptions (RFC 37 "Version Negotiation", RFC 29)


@pytest.mark.parametrize(
    ("version", "subscribe_wire", "cancel_wire"),
    [
        ((3, 0), SUBSCRIBE_WEATHER_30, CANCEL_WEATHER_30),
        ((3, 1), SUBSCRIBE_WEATHER_31, CANCEL_WEATHER_31),
    ],
    ids=["zmtp30", "zmtp31"],
)
def test_libzmq_sub_subscribes_in_the_form_our_version_wants(
    zsock, link, version, subscribe_wire, cancel_wire
):
    sub = zsock(zmq.SUB)
    sub.subscribe(b"weather")
    peer = link(sub, Connection(SocketType.PUB, version=version), recv_into=False)

    done = peer.handshake()
    # libzmq always announces 3.1; the lower version wins.
    assert done.version == version
    assert peer.recv_event() == Subscribe(b"weather")
    assert subscribe_wire in peer.received
    sub.unsubscribe(b"weather")
    assert peer.recv_event() == Cancel(b"weather")
    assert cancel_wire in peer.received


@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["zmtp30", "zmtp31"])
def test_libzmq_sub_receives_only_messages_matching_its_subscription(zsock, link, version):
    sub = zsock(zmq.SUB)
    sub.subscribe(b"weather")
    peer = link(sub, Connection(SocketType.PUB, version=version))

    peer.handshake()
    assert peer.recv_event() == Subscribe(b"weather")
    sent = [
        [b"sports", b"weather"],  # only the first frame is matched
        [b"weather"],
        [b"weath"],
        [b"weather.today", b"sunny"],
        [b"Weather"],
        [b"weatherman", b"", b"last"],  # matching, and sent last
    ]
    for frames in sent:
        peer.send_message(frames)
    matching = [frames for frames in sent if frames[0].startswith(b"weather")]
    # Messages on one connection keep their order, so a non-matching one that got
    # through would show up before the last matching one.
    assert [sub.recv_multipart() for _ in matching] == matching


@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["zmtp30", "zmtp31"])
def test_libzmq_xpub_accepts_our_subscriptions_in_either_form(zsock, link, version):
    # XPUB hands every subscription change to its application as 0x01/0x00 + topic,
    # whichever form (3.0 message or 3.1 command) carried it on the wire.
    xpub = zsock(zmq.XPUB)
    peer = link(xpub, Connection(SocketType.SUB, version=version))

    assert peer.handshake().version == version
    peer.send(peer.conn.send_subscribe(b"weather"))
    assert xpub.recv() == b"\x01weather"
    for frames in ([b"sports"], [b"weather", b"sunny"], [b"weather.today"]):
        xpub.send_multipart(frames)
    # libzmq's XPUB filters by our subscription before sending.
    assert peer.recv_message() == [b"weather", b"sunny"]
    assert peer.recv_message() == [b"weather.today"]
    peer.send(peer.conn.send_cancel(b"weather"))
    assert xpub.recv() == b"\x00weather"


# ---------------------------------------------------------------------------------------
# Heartbeats (RFC 37 "Connection Heartbeating")

HEARTBEAT = {"heartbeat_ivl": 100, "heartbeat_timeout": 300, "heartbeat_ttl": 2000}


def test_our_pongs_keep_libzmq_heartbeating_connection_alive(zsock, link):
    dealer = zsock(zmq.DEALER, **HEARTBEAT)
    peer = link(dealer, Connection(SocketType.DEALER))

    peer.handshake()
    # Six PINGs span at least five intervals (500 ms): past libzmq's 300 ms timeout,
    # which only our PONGs can have reset (see the next test).
    for _ in range(6):
        ping = peer.recv_event()
        assert isinstance(ping, Ping)
        assert ping.ttl == 20  # heartbeat_ttl 2000 ms travels in tenths of a second
        assert ping.context == b""  # libzmq's PINGs carry no context
    # Each PONG was written as soon as its PING was read.
    assert b"".join(peer.protocol_sent).count(b"\x04\x05\x04PONG") >= 6
    dealer.send_multipart([b"still", b"there"])
    assert recv_skipping_pings(peer) == Message([b"still", b"there"])
    peer.send_message([b"and", b"back"])
    assert dealer.recv_multipart() == [b"and", b"back"]


def test_libzmq_drops_a_peer_that_stops_answering_its_pings(zsock, link):
    # The control for the test above: without our PONGs libzmq gives up.
    dealer = zsock(zmq.DEALER, **HEARTBEAT)
    peer = link(dealer, Connection(SocketType.DEALER))

    peer.handshake()
    peer.answer = False
    assert recv_skipping_pings(peer) == ConnectionClosed(clean=True)


def test_libzmq_answers_our_ping_with_the_same_context(zsock, link):
    dealer = zsock(zmq.DEALER)
    peer = link(dealer, Connection(SocketType.DEALER))

    peer.handshake()
    peer.send(peer.conn.send_ping(ttl=10, context=b"ctx-0123456789ab"))
    assert peer.recv_event() == Pong(b"ctx-0123456789ab")


def test_libzmq_pings_a_zmtp30_peer_which_reports_but_does_not_answer(zsock, link):
    dealer = zsock(zmq.DEALER, heartbeat_ivl=100)
    peer = link(dealer, Connection(SocketType.DEALER, version=(3, 0)))

    assert peer.handshake().version == (3, 0)
    sent_before = len(peer.protocol_sent)
    # libzmq heartbeats whenever its option is on, even to a peer that announced 3.0.
    # (Unanswered, libzmq 4.3.5 then drops the connection after heartbeat_timeout,
    # which defaults to heartbeat_ivl; this test stops before that.)
    assert isinstance(peer.recv_event(), Ping)
    assert peer.protocol_sent[sent_before:] == []


# ---------------------------------------------------------------------------------------
# Limits (RFC 23 Framing; maxmsgsize)


def test_message_beyond_our_maxmsgsize_from_libzmq_fails_the_connection(zsock, link):
    push = zsock(zmq.PUSH)
    peer = link(push, Connection(SocketType.PULL, maxmsgsize=1024))

    peer.handshake()
    push.send_multipart([b"x" * 1000, b"y" * 24])
    assert peer.recv_message() == [b"x" * 1000, b"y" * 24]
    push.send_multipart([b"x" * 1000, b"y" * 25])
    with pytest.raises(ProtocolError) as info:
        peer.recv_event()
    assert "maxmsgsize 1024" in info.value.reason
