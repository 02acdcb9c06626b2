"""CURVE (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ) between zmtp's sans-IO core and libzmq 4.3.

Each test drives one :class:`zmtp.wire.Connection` with a CurveClient or CurveServer
over a blocking socket (a ``RawPeer`` from ``conftest.py``) against a libzmq CURVE
socket, and runs twice: libzmq binds and we connect, and we listen and libzmq
connects (CURVE roles do not depend on who binds). Covered: the handshake both ways,
DEALER/ROUTER and PUB/SUB traffic with multipart and 1 MiB messages, subscriptions and
heartbeats inside MESSAGE boxes, wrong server keys, refusals by either side's
authenticator (our callable, libzmq's ZAP handler), and the wire form of MESSAGE.

What libzmq 4.3.5 was seen doing (no RFC promises these):

* a CURVE server with no ZAP handler admits every client key (ZMQ_ZAP_ENFORCE_DOMAIN
  is off by default): no handler is needed unless a test wants a refusal;
* MESSAGE commands travel in ZMTP *data* frames with no flags, MORE and COMMAND
  inside the box; a MESSAGE sent in a command frame (RFC 23 "Wire Analysis") is
  silently dropped;
* it sends SUBSCRIBE/CANCEL and PING/PONG as commands inside MESSAGE boxes (box flags
  0x02) to a ZMTP 3.1 peer;
* a HELLO it cannot open (wrong server key) closes the connection without ERROR and
  reports HANDSHAKE_FAILED_PROTOCOL / PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC; our ERROR
  for the same fault makes its client disconnect without a HANDSHAKE_FAILED event;
* a ZAP refusal travels as ERROR with the status code ("400"), and an ERROR "400"
  from us is reported by its client as HANDSHAKE_FAILED_AUTH 400;
* its ZAP handler (pyzmq's) reports the client key in Z85 as the User-Id.

No test sleeps: every wait is on data, an event, EOF or libzmq's socket monitor.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import zmq
from libzmq_helpers import recv_skipping_pings

from zmtp.errors import AuthenticationFailed, HandshakeError, PeerError, ProtocolError
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Cancel,
    Connection,
    ConnectionClosed,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    Message,
    Ping,
    Pong,
    SocketType,
    Subscribe,
    z85,
)
from zmtp.wire.frames import encode_frame

pytestmark = pytest.mark.interop
pytest.importorskip("nacl.bindings")
if not zmq.has("curve"):
    pytest.skip("this libzmq was built without CURVE", allow_module_level=True)

#: Multipart messages on the framing edges, and a 1 MiB frame (RFC 23 Framing).
MESSAGES: list[list[bytes]] = [
    [b"hello"],
    [b""],
    [b"", b"", b""],
    [b"envelope", b"", b"body"],
    [b"a" * 255, b"b" * 256],
    [bytes(range(256)) * 4096, b"after the 1 MiB frame"],
]

SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()
HEARTBEAT = {"heartbeat_ivl": 100, "heartbeat_timeout": 300, "heartbeat_ttl": 2000}


def our_client(socket_type: SocketType, server_public: bytes = SERVER_PUBLIC, **kw) -> Connection:
    return Connection(
        socket_type, mechanism=CurveClient(server_public, CLIENT_PUBLIC, CLIENT_SECRET), **kw
    )


def our_server(socket_type: SocketType, authenticator=lambda request: True, **kw) -> Connection:
    return Connection(
        socket_type,
        mechanism=CurveServer(SERVER_PUBLIC, SERVER_SECRET),
        authenticator=authenticator,
        **kw,
    )


def libzmq_server(zsock, socket_type: int, **options) -> zmq.Socket:
    return zsock(socket_type, curve_server=True, curve_secretkey=SERVER_SECRET, **options)


def libzmq_client(zsock, socket_type: int, server_public: bytes = SERVER_PUBLIC, **options):
    return zsock(
        socket_type,
        curve_serverkey=server_public,
        curve_publickey=CLIENT_PUBLIC,
        curve_secretkey=CLIENT_SECRET,
        **options,
    )


def events_until_closed(peer) -> list:
    """Every event up to the ConnectionClosed event (included)."""
    events = []
    while True:
        event = peer.recv_event()
        events.append(event)
        if isinstance(event, ConnectionClosed):
            return events


@pytest.fixture
def zap(ctx: zmq.Context) -> Iterator[object]:
    """pyzmq's ZAP handler on ``ctx``, admitting any CURVE client key; tests may
    reconfigure it (``zap.configure_curve_callback``) to refuse."""
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        yield auth
    finally:
        auth.stop()


class _RefuseEveryKey:
    def callback(self, domain: str, key: bytes) -> bool:
        return False


# ---------------------------------------------------------------------------------------
# The handshake and traffic, both roles (RFC 26 "Overall Operation", "The MESSAGE Command")


def test_our_dealer_client_talks_to_a_libzmq_router_curve_server(zsock, link, monitor):
    router = libzmq_server(zsock, zmq.ROUTER)
    mon = monitor(router)
    peer = link(router, our_client(SocketType.DEALER, routing_id=b"curve-dealer"))

    done = peer.handshake()
    assert done.mechanism == b"CURVE"
    assert done.socket_type is SocketType.ROUTER
    mon.wait_for(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    for frames in MESSAGES:
        peer.send_message(frames)
    for frames in MESSAGES:
        # The Identity inside INITIATE's box became the envelope.
        assert router.recv_multipart() == [b"curve-dealer", *frames]
        router.send_multipart([b"curve-dealer", *frames])
    for frames in MESSAGES:
        assert peer.recv_message() == frames


def test_a_libzmq_dealer_client_talks_to_our_router_curve_server(zsock, link):
    requests: list[AuthRequest] = []
    dealer = libzmq_client(zsock, zmq.DEALER, routing_id=b"libzmq-dealer")
    peer = link(
        dealer,
        our_server(SocketType.ROUTER, authenticator=lambda r: requests.append(r) or True),
    )

    done = peer.handshake()
    assert done.mechanism == b"CURVE"
    assert done.socket_type is SocketType.DEALER
    assert done.routing_id == b"libzmq-dealer"
    # The server authenticated libzmq's long-term key, 32 raw octets (RFC 27 CURVE).
    assert requests == [AuthRequest(b"CURVE", (z85.decode(CLIENT_PUBLIC),))]
    assert done.user_id == CLIENT_PUBLIC
    for frames in MESSAGES:
        dealer.send_multipart(frames)
    for frames in MESSAGES:
        assert peer.recv_message() == frames
        peer.send_message(frames)
    for frames in MESSAGES:
        assert dealer.recv_multipart() == frames


def test_libzmq_curve_server_needs_no_zap_handler(zsock, link, monitor):
    """libzmq 4.3.5 admits any client key when no ZAP handler runs (ZAP_ENFORCE_DOMAIN
    off): the "Stonehouse" case. Our server asks its authenticator instead."""
    pull = libzmq_server(zsock, zmq.PULL)
    mon = monitor(pull)
    peer = link(pull, our_client(SocketType.PUSH))

    assert peer.handshake().socket_type is SocketType.PULL
    mon.wait_for(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    peer.send_message([b"admitted"])
    frame = pull.recv(copy=False)
    assert frame.bytes == b"admitted"


def test_libzmq_zap_handler_sees_our_client_key(zsock, link, zap):
    pull = libzmq_server(zsock, zmq.PULL)
    peer = link(pull, our_client(SocketType.PUSH))

    peer.handshake()
    peer.send_message([b"who am I"])
    frame = pull.recv(copy=False)
    assert frame.bytes == b"who am I"
    assert frame.get("User-Id") == CLIENT_PUBLIC.decode()  # pyzmq: the key in Z85


# ---------------------------------------------------------------------------------------
# PUB/SUB: subscriptions inside MESSAGE boxes (RFC 29, RFC 37 SUBSCRIBE/CANCEL)


def test_our_sub_client_subscribes_through_curve_to_a_libzmq_xpub_server(zsock, link):
    xpub = libzmq_server(zsock, zmq.XPUB)
    peer = link(xpub, our_client(SocketType.SUB))

    peer.handshake()
    peer.send(peer.conn.send_subscribe(b"weather"))
    # XPUB shows the subscription it decrypted: proof it arrived before publishing.
    assert xpub.recv() == b"\x01weather"
    xpub.send_multipart([b"sports", b"ignored"])
    xpub.send_multipart([b"weather", b"sunny"])
    assert peer.recv_message() == [b"weather", b"sunny"]
    peer.send(peer.conn.send_cancel(b"weather"))
    assert xpub.recv() == b"\x00weather"


def test_a_libzmq_sub_client_subscribes_through_curve_to_our_pub_server(zsock, link):
    sub = libzmq_client(zsock, zmq.SUB)
    sub.subscribe(b"weather")
    peer = link(sub, our_server(SocketType.PUB))

    done = peer.handshake()
    assert done.socket_type is SocketType.SUB
    assert peer.recv_event() == Subscribe(b"weather")
    for frames in ([b"weather", b"sunny"], [b"weather", bytes(1 << 20)]):
        peer.send_message(frames)
        assert sub.recv_multipart() == frames
    sub.unsubscribe(b"weather")
    assert peer.recv_event() == Cancel(b"weather")


# ---------------------------------------------------------------------------------------
# Heartbeats inside MESSAGE boxes (RFC 37 "Connection Heartbeating")


def test_our_encrypted_pongs_keep_a_heartbeating_libzmq_server_connection_alive(zsock, link):
    dealer = libzmq_server(zsock, zmq.DEALER, **HEARTBEAT)
    peer = link(dealer, our_client(SocketType.DEALER))

    peer.handshake()
    # Six PINGs span at least five intervals (500 ms), past libzmq's 300 ms timeout,
    # which only our PONGs (in MESSAGE boxes) can have reset.
    for _ in range(6):
        ping = peer.recv_event()
        assert isinstance(ping, Ping) and ping.ttl == 20
    dealer.send_multipart([b"still", b"there"])
    assert recv_skipping_pings(peer) == Message([b"still", b"there"])


def test_libzmq_client_answers_our_ping_through_curve(zsock, link):
    dealer = libzmq_client(zsock, zmq.DEALER)
    peer = link(dealer, our_server(SocketType.DEALER))

    peer.handshake()
    peer.send(peer.conn.send_ping(ttl=10, context=b"ctx-0123456789ab"))
    assert peer.recv_event() == Pong(b"ctx-0123456789ab")


# ---------------------------------------------------------------------------------------
# Refusals: wrong keys, authenticators (RFC 26 "The ERROR Command", RFC 27)


def test_our_client_with_a_wrong_server_key_is_refused_by_libzmq(zsock, link, monitor):
    pull = libzmq_server(zsock, zmq.PULL)
    mon = monitor(pull)
    other_public, _ = zmq.curve_keypair()
    peer = link(pull, our_client(SocketType.PUSH, server_public=other_public))

    events = events_until_closed(peer)
    assert not any(isinstance(e, HandshakeComplete) for e in events)
    assert events[-1] == ConnectionClosed(False, "peer closed during the security handshake")
    event = mon.wait_for(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC


def test_a_libzmq_client_with_a_wrong_server_key_is_refused_by_us(zsock, link, monitor):
    other_public, _ = zmq.curve_keypair()
    push = libzmq_client(zsock, zmq.PUSH, server_public=other_public)
    mon = monitor(push)
    peer = link(push, our_server(SocketType.PULL))

    with pytest.raises(HandshakeError) as info:
        peer.handshake()
    assert "HELLO signature box" in info.value.reason
    assert b"\x05ERROR" in b"".join(peer.protocol_sent)
    mon.wait_for(zmq.EVENT_DISCONNECTED)
    assert "HANDSHAKE_SUCCEEDED" not in mon.names


def test_a_libzmq_client_refused_by_our_authenticator_sees_status_400(zsock, link, monitor):
    push = libzmq_client(zsock, zmq.PUSH)
    mon = monitor(push)
    peer = link(
        push, our_server(SocketType.PULL, authenticator=lambda r: AuthDecision(False, "400"))
    )

    with pytest.raises(AuthenticationFailed) as info:
        peer.handshake()
    assert info.value.status_code == "400"
    event = mon.wait_for(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400


def test_our_client_refused_by_libzmq_zap_gets_peer_error_400(zsock, link, monitor, zap):
    zap.configure_curve_callback(domain="*", credentials_provider=_RefuseEveryKey())
    pull = libzmq_server(zsock, zmq.PULL)
    mon = monitor(pull)
    peer = link(pull, our_client(SocketType.PUSH))

    with pytest.raises(PeerError) as info:
        peer.handshake()
    assert info.value.peer_reason == "400"
    event = mon.wait_for(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400


# ---------------------------------------------------------------------------------------
# The wire form of MESSAGE and the nonce rules, with libzmq's own boxes


def test_libzmq_drops_a_message_sent_in_a_command_frame(zsock, link):
    """RFC 23 "Wire Analysis" asks for command frames; libzmq 4.3.5 reads a MESSAGE
    in a command frame as an unknown command and drops it, which is why zmtp sends
    flag-less data frames (as libzmq does)."""
    pull = libzmq_server(zsock, zmq.PULL)
    peer = link(pull, our_client(SocketType.PUSH))

    peer.handshake()
    data_frame = peer.conn.send_message([b"as a command frame"])
    body = data_frame[2:]
    peer.send(encode_frame(body, command=True))
    peer.send_message([b"as a data frame"])
    # In-order delivery: the second arriving alone means the first was dropped.
    assert pull.recv_multipart() == [b"as a data frame"]
    with pytest.raises(zmq.Again):
        pull.recv(zmq.NOBLOCK)


def test_a_replayed_libzmq_message_box_is_refused(zsock, link):
    push = libzmq_server(zsock, zmq.PUSH)
    peer = link(push, our_client(SocketType.PULL), recv_into=False)

    peer.handshake()
    before = len(peer.received)
    push.send(b"only once")
    assert peer.recv_message() == [b"only once"]
    replay = bytes(peer.received[before:])
    assert replay[2:10] == b"\x07MESSAGE"  # one flag-less data frame
    peer.conn.receive_data(replay)
    with pytest.raises(ProtocolError) as info:
        peer.recv_event()
    assert "replayed or reordered" in info.value.reason


def test_our_maxmsgsize_refuses_a_large_libzmq_message_before_opening_it(zsock, link):
    push = libzmq_client(zsock, zmq.PUSH)
    peer = link(push, our_server(SocketType.PULL, maxmsgsize=1000))

    peer.handshake()
    push.send_multipart([b"x" * 1000])
    assert peer.recv_message() == [b"x" * 1000]
    push.send_multipart([b"x" * 2000])
    with pytest.raises(ProtocolError) as info:
        peer.recv_event()
    assert "exceed" in info.value.reason and "maxmsgsize 1000" in info.value.reason
