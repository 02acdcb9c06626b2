"""libzmq 4.3 against a zmtp Connection told to speak ZMTP 2.0 or 1.0 (RFC 15, RFC 13).

libzmq still downgrades to older peers; a sans-IO Connection made with ``version=(2,
0)`` or ``(1, 0)`` is such a peer, byte for byte as the RFCs write it. Each test runs
in both directions (libzmq binds and we connect, or the reverse; the ``link``
fixture) and moves messages both ways: this checks our old greetings, identity frames
and framings against the reference implementation, and documents how libzmq answers
them (its major version 3 then its socket type, for a 2.0 peer).
"""

from __future__ import annotations

import pytest
import zmq

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.wire import Connection, ConnectionClosed, Subscribe
from zmtp.wire.greeting import SIGNATURE_SIZE

pytestmark = pytest.mark.interop

OLD = [(2, 0), (1, 0)]
OLD_IDS = ["zmtp-2.0", "zmtp-1.0"]
MULTIPART = [b"", b"x" * 300, b"\x00\xff", b"end"]


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_libzmq_push_and_pull_exchange_multipart_messages_with_an_old_peer(zsock, link, old):
    """RFC 15 "Framing" / RFC 13 "The Framing Layer": libzmq's encoder and decoder
    for the old framings agree with ours, large frames included."""
    push = zsock(zmq.PUSH)
    peer = link(push, Connection(SocketType.PULL, version=old))
    assert peer.handshake().version == old
    big = bytes(range(256)) * 300
    push.send_multipart(MULTIPART)
    push.send(big)
    assert peer.recv_message() == MULTIPART
    assert peer.recv_message() == [big]

    pull = zsock(zmq.PULL)
    back = link(pull, Connection(SocketType.PUSH, version=old))
    back.handshake()
    back.send_message(MULTIPART)
    back.send_message([big])
    assert pull.recv_multipart() == MULTIPART
    assert pull.recv() == big


def test_libzmq_answers_a_zmtp_2_0_greeting_with_version_3_and_its_socket_type(zsock, link):
    """RFC 15 "Backwards Interoperability", as libzmq does it: having sent its major
    version (3) before knowing ours, it sends its socket type after our revision octet
    and speaks ZMTP 2.0 from then on."""
    pull = zsock(zmq.PULL)
    peer = link(pull, Connection(SocketType.PUSH, version=(2, 0)))
    done = peer.handshake()
    assert done.socket_type is SocketType.PULL
    greeting = bytes(peer.received[: SIGNATURE_SIZE + 2])
    assert greeting[0] == 0xFF and greeting[9] == 0x7F
    assert greeting[10:] == b"\x03" + bytes((int(SocketType.PULL),))


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_libzmq_router_sees_an_old_dealer_identity_and_routes_back(zsock, link, old):
    """RFC 15 "identity" / RFC 13 "The Connection Layer": our identity frame is the
    routing id at libzmq's ROUTER."""
    router = zsock(zmq.ROUTER)
    peer = link(router, Connection(SocketType.DEALER, routing_id=b"old-dealer", version=old))
    peer.handshake()
    peer.send_message([b"hello"])
    assert router.recv_multipart() == [b"old-dealer", b"hello"]
    router.send_multipart([b"old-dealer", b"reply"])
    assert peer.recv_message() == [b"reply"]


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_an_old_router_sees_the_libzmq_dealer_identity(zsock, link, old):
    """libzmq's identity frame carries its routing id to a ZMTP 2.0 or 1.0 peer."""
    dealer = zsock(zmq.DEALER, routing_id=b"libzmq-dealer")
    peer = link(dealer, Connection(SocketType.ROUTER, version=old))
    assert peer.handshake().routing_id == b"libzmq-dealer"
    dealer.send_multipart([b"a", b"b"])
    assert peer.recv_message() == [b"a", b"b"]
    peer.send_message([b"back"])
    assert dealer.recv_multipart() == [b"back"]


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_req_and_rep_alternate_across_an_old_version(zsock, link, old):
    rep = zsock(zmq.REP)
    peer = link(rep, Connection(SocketType.REQ, version=old))
    peer.handshake()
    peer.send_message([b"", b"question"])  # REQ's envelope: the empty delimiter
    assert rep.recv() == b"question"
    rep.send(b"answer")
    assert peer.recv_message() == [b"", b"answer"]


def test_libzmq_pub_filters_by_the_subscription_messages_of_a_zmtp_2_0_sub(zsock, link):
    """RFC 15 "Publish-Subscribe": subscriptions are messages %x01 + topic; libzmq's
    publisher filters by them."""
    pub = zsock(zmq.PUB)
    peer = link(pub, Connection(SocketType.SUB, version=(2, 0)))
    peer.handshake()
    peer.send(peer.conn.send_subscribe(b"A"))
    # Publish until the subscription has reached libzmq's filter.
    while True:
        pub.send(b"A-probe")
        try:
            got = peer.recv_message(timeout=0.05)  # pacing: one attempt
        except TimeoutError:
            continue
        assert got == [b"A-probe"]
        break
    pub.send(b"B1")
    pub.send(b"A1")
    while (got := peer.recv_message()) == [b"A-probe"]:
        pass
    assert got == [b"A1"]


def test_libzmq_pub_subscribes_a_zmtp_1_0_sub_to_everything(zsock, link):
    """RFC 13 "Broadcast Content": libzmq injects an empty subscription for a ZMTP 1.0
    subscriber that sent no greeting, as zmtp does."""
    pub = zsock(zmq.PUB)
    peer = link(pub, Connection(SocketType.SUB, version=(1, 0)))
    peer.handshake()
    while True:
        pub.send(b"anything")
        try:
            assert peer.recv_message(timeout=0.05) == [b"anything"]  # pacing: one attempt
            break
        except TimeoutError:
            continue


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_libzmq_sub_subscribes_an_old_pub_with_messages(zsock, link, old):
    """RFC 15 "Publish-Subscribe": libzmq's SUB sends %x01 + topic as a message to an
    old publisher, in the old framing."""
    sub = zsock(zmq.SUB)
    sub.subscribe(b"topic")
    peer = link(sub, Connection(SocketType.PUB, version=old))
    peer.handshake()
    while not isinstance(event := peer.recv_event(), Subscribe):
        pass
    assert event == Subscribe(b"topic")
    peer.send_message([b"other"])
    peer.send_message([b"topic!"])
    assert sub.recv() == b"topic!"


@pytest.mark.parametrize("old", OLD, ids=OLD_IDS)
def test_libzmq_pair_talks_to_an_old_pair(zsock, link, old):
    pair = zsock(zmq.PAIR)
    peer = link(pair, Connection(SocketType.PAIR, version=old))
    peer.handshake()
    pair.send_multipart([b"to", b"old"])
    assert peer.recv_message() == [b"to", b"old"]
    peer.send_message([b"from", b"old"])
    assert pair.recv_multipart() == [b"from", b"old"]


def test_libzmq_with_security_refuses_a_zmtp_2_0_peer(zsock, link, zap):
    """libzmq refuses ZMTP 2.0/1.0 peers when ZAP is in use (here a PLAIN server), as
    zmtp does: there is no security to speak with them."""
    server = zsock(zmq.PULL, plain_server=True)
    peer = link(server, Connection(SocketType.PUSH, version=(2, 0)))
    with pytest.raises((EOFError, ProtocolError, ConnectionError)):
        peer.handshake()


def test_libzmq_with_security_closes_on_a_zmtp_1_0_peer(zsock, link, zap):
    """The same refusal seen by a ZMTP 1.0 peer: libzmq closes the connection. If its
    signature went out first, it reads as an empty identity frame (RFC 15 designed it
    so) and the handshake completes just before the close; no message ever comes."""
    server = zsock(zmq.PULL, plain_server=True)
    peer = link(server, Connection(SocketType.PUSH, version=(1, 0)))
    peer.flush()
    events = []
    with pytest.raises(EOFError):
        while True:  # until the ConnectionClosed event, then EOFError
            events.append(peer.recv_event())
    assert type(events[-1]) is ConnectionClosed
    assert not [e for e in events if type(e) is list]
