"""zmtp.testing.RawPeer: a scripted peer that speaks ZMTP exactly as told.

Two RawPeers talk over a RawListener (the server side on a thread), and RawPeers talk
to zmtp's own sockets; the misbehaviour switches must put on the wire exactly the
rule-breaking octets they promise (RFC 23 "Framing", RFC 37 "Connection Heartbeating").
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from zmtp_apps import running

import zmtp
from zmtp import SocketType
from zmtp.errors import PeerError, ZMTPValueError
from zmtp.testing import (
    Command,
    Misbehaviour,
    PeerClosed,
    RawListener,
    RawPeer,
    Silence,
    greeting_bytes,
    parse_endpoint,
    zmtp20_greeting_bytes,
)
from zmtp.wire import CurveClient, CurveServer, GreetingParser, PlainClient, PlainServer

T = SocketType


# =======================================================================================
# Octets


def test_greeting_bytes_follow_the_rfc_23_layout() -> None:
    raw = greeting_bytes((3, 1), b"PLAIN", True)
    assert len(raw) == 64
    assert raw[0] == 0xFF and raw[9] == 0x7F and raw[10:12] == b"\x03\x01"
    assert raw[12:32] == b"PLAIN".ljust(20, b"\x00") and raw[32] == 1 and raw[33:] == bytes(31)
    parser = GreetingParser()
    parser.feed(raw)
    assert parser.greeting is not None and parser.greeting.mechanism == b"PLAIN"


def test_a_zmtp20_greeting_is_signature_revision_type_and_identity() -> None:
    raw = zmtp20_greeting_bytes("DEALER", b"me")
    assert raw == b"\xff" + bytes(8) + b"\x7f" + b"\x01\x05\x00\x02me"


@pytest.mark.parametrize(
    ("endpoint", "family", "address"),
    [
        ("tcp://127.0.0.1:5555", socket.AF_INET, ("127.0.0.1", 5555)),
        ("tcp://[::1]:*", socket.AF_INET6, ("::1", 0)),
        ("tcp://*:7", socket.AF_INET, ("0.0.0.0", 7)),
        ("ipc://sockets/app.sock", socket.AF_UNIX, "sockets/app.sock"),
    ],
)
def test_endpoints_parse(endpoint: str, family: int, address: object) -> None:
    assert parse_endpoint(endpoint) == (family, address)


@pytest.mark.parametrize(
    "endpoint",
    ["127.0.0.1:5555", "udp://x:1", "tcp://host", "tcp://h:port", "tcp://h:70000", "ipc://"],
)
def test_bad_endpoints_are_refused_naming_them(endpoint: str) -> None:
    with pytest.raises(ZMTPValueError, match="endpoint"):
        parse_endpoint(endpoint)


# =======================================================================================
# Two raw peers


@contextmanager
def served(server: Callable[[RawPeer], Any], endpoint: str = "tcp://127.0.0.1:*") -> Iterator[str]:
    """Run ``server`` on the first connection to a listener, on a thread."""
    errors: list[BaseException] = []
    with RawListener(endpoint, timeout=5) as lst:

        def run() -> None:
            try:
                with lst.accept() as peer:
                    server(peer)
            except BaseException as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        yield lst.endpoint
        thread.join(10)
    if errors:
        raise errors[0]


def echo_server(peer: RawPeer) -> None:
    peer.handshake("ROUTER")
    while True:
        try:
            ev = peer.recv_event(5)
        except PeerClosed:
            return
        if isinstance(ev, list):
            peer.send_message(ev)


def test_two_raw_peers_handshake_and_exchange_messages() -> None:
    with served(echo_server) as endpoint, RawPeer.connect(endpoint) as peer:
        meta = peer.handshake("DEALER", routing_id=b"me", properties={"X-Test": b"1"})
        assert meta["Socket-Type"] == b"ROUTER"
        assert peer.version == (3, 1)
        peer.send_message([b"", b"x" * 300, b"end"])
        assert peer.recv_message() == [b"", b"x" * 300, b"end"]
        assert peer.last_headers[1][0] == 0x03  # MORE | LONG for the 300-octet frame
        peer.ping(10, b"ctx")
        pong = peer.recv_command(b"PONG")
        assert pong.data == b"ctx"


def test_the_lower_version_is_spoken() -> None:
    def server(peer: RawPeer) -> None:
        peer.handshake("PULL", version=(3, 0))
        peer.recv_available(1)

    with served(server) as endpoint, RawPeer.connect(endpoint) as peer:
        peer.handshake("PUSH")
        assert peer.peer_greeting is not None and peer.peer_greeting.version == (3, 0)
        assert peer.version == (3, 0)
        peer.subscribe(b"t")  # the message form on 3.0 (harmless to a PULL)


def test_ipc_works_too(tmp_path: Path) -> None:
    with served(echo_server, f"ipc://{tmp_path}/s") as endpoint, RawPeer.connect(endpoint) as peer:
        peer.handshake("DEALER")
        peer.send_message([b"over ipc"])
        assert peer.recv_message() == [b"over ipc"]


def test_silence_and_close_are_told_apart_and_carry_what_arrived() -> None:
    def server(peer: RawPeer) -> None:
        peer.send_raw(b"\xff\x00")
        peer.recv_available(0.5)

    with served(server) as endpoint, RawPeer.connect(endpoint, timeout=0.2) as peer:
        with pytest.raises(Silence) as silent:
            peer.recv_exactly(10)
        assert silent.value.received == b"\xff\x00"
        with pytest.raises(PeerClosed) as closed:
            peer.recv_exactly(10, timeout=5)
        assert closed.value.how in ("closed", "reset")
        assert peer.closed_by_peer


# =======================================================================================
# Misbehaviour


def captured(misbehaviour: Misbehaviour, act: Callable[[RawPeer], None]) -> bytes:
    """The octets a misbehaving peer puts on the wire after its handshake."""
    got: list[bytes] = []

    def server(peer: RawPeer) -> None:
        peer.handshake("PULL")
        got.append(peer.recv_available(1))

    with served(server) as endpoint:
        peer = RawPeer.connect(endpoint, misbehaviour=misbehaviour)
        with peer:
            peer.handshake("PUSH")
            act(peer)
    return got[0]


def test_short_sizes_lie_about_long_bodies() -> None:
    wire = captured(Misbehaviour(size_octets="short"), lambda p: p.send_message([b"y" * 300]))
    assert wire[:2] == b"\x00\x2c"  # 300 mod 256, in one octet


def test_long_sizes_for_short_bodies() -> None:
    wire = captured(Misbehaviour(size_octets="long"), lambda p: p.send_message([b"abc"]))
    assert wire == b"\x02" + (3).to_bytes(8, "big") + b"abc"


def test_reserved_flags_are_set_on_every_frame() -> None:
    wire = captured(Misbehaviour(reserved_flags=0x80), lambda p: p.send_message([b"a", b"b"]))
    assert wire == b"\x81\x01a\x80\x01b"


def test_socket_type_spelling_and_pong_without_context() -> None:
    bad = Misbehaviour(socket_type=b"Dealer", socket_type_name="socket-type", pong_context=False)

    def server(peer: RawPeer) -> None:
        peer.misbehaviour = bad
        peer.handshake("DEALER")
        peer.recv_event(5)  # a PING, answered the wrong way

    with served(server) as endpoint, RawPeer.connect(endpoint) as peer:
        meta = peer.handshake("ROUTER")
        assert list(meta) == ["socket-type", "Identity"] and meta["socket-type"] == b"Dealer"
        peer.ping(0, b"context")
        assert peer.recv_command(b"PONG").data == b""


def test_a_peer_that_never_answers_ping() -> None:
    def server(peer: RawPeer) -> None:
        peer.misbehaviour = Misbehaviour(answer_ping=False)
        peer.handshake("PAIR")
        assert isinstance(peer.recv_event(5), Command)
        peer.recv_available(1)  # stay connected while the client waits in vain

    with served(server) as endpoint, RawPeer.connect(endpoint, timeout=0.3) as peer:
        peer.handshake("PAIR")
        peer.ping(0, b"hello?")
        with pytest.raises(Silence):
            peer.recv_command(b"PONG")


# =======================================================================================
# Against zmtp's sockets, with security


def test_plain_handshake_between_raw_peers() -> None:
    def admit(request: object) -> bool:
        return True

    # A RawPeer as the PLAIN client of a RawPeer server that asks an authenticator.
    def server(peer: RawPeer) -> None:
        peer.handshake("REP", mechanism=PlainServer(), authenticator=admit)
        peer.send_message(peer.recv_message())

    with served(server) as endpoint, RawPeer.connect(endpoint) as peer:
        peer.handshake("REQ", mechanism=PlainClient(b"user", b"pw"))
        peer.send_message([b"", b"plain"])
        assert peer.recv_message() == [b"", b"plain"]


def test_curve_traffic_is_boxed_and_unboxed() -> None:
    server_public, server_secret = zmtp.curve_keypair()
    client_public, client_secret = zmtp.curve_keypair()
    with (
        running(T.REP, curve_server=True, curve_secretkey=server_secret) as endpoint,
        RawPeer.connect(endpoint) as peer,
    ):
        peer.handshake("REQ", mechanism=CurveClient(server_public, client_public, client_secret))
        peer.send_message([b"", b"secret"])
        assert peer.recv_message() == [b"", b"secret"]
        assert peer.last_headers[0][0] == 0x00  # a MESSAGE command in a data frame
        peer.ping(0, b"boxed")
        assert peer.recv_command(b"PONG").data == b"boxed"


def test_a_refusal_is_a_peer_error_with_the_reason() -> None:
    server_public, server_secret = zmtp.curve_keypair()
    client_public, client_secret = zmtp.curve_keypair()

    def server(peer: RawPeer) -> None:
        try:
            peer.handshake(
                "REP",
                mechanism=CurveServer(server_public, server_secret),
                authenticator=lambda request: False,
            )
        except zmtp.ZMTPError:
            return

    with (
        served(server) as endpoint,
        RawPeer.connect(endpoint) as peer,
        pytest.raises((PeerError, PeerClosed)),
    ):
        peer.handshake("REQ", mechanism=CurveClient(server_public, client_public, client_secret))
