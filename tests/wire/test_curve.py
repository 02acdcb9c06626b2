"""CURVE (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ) through the sans-IO Connection.

Grouped by RFC 26 section: the handshake (HELLO, WELCOME, INITIATE, READY, ERROR),
authentication of the client's long-term key (RFC 27 status codes), MESSAGE boxes for
data frames and traffic commands, the short-nonce rules, limits, and the known-answer
vectors of ``specs/curve_vectors.json`` (built by ``make_curve_vectors.py`` with PyNaCl
alone). Most tests run a CurveClient and a CurveServer back to back with bytes only.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zmtp.errors import (
    AuthenticationFailed,
    HandshakeError,
    MechanismUnavailable,
    PeerError,
    ProtocolError,
)
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Cancel,
    Connection,
    ConnectionState,
    CurveClient,
    CurveServer,
    Greeting,
    GreetingReceived,
    HandshakeComplete,
    Message,
    Ping,
    Pong,
    Subscribe,
    UnknownCommand,
    curve_keypair,
    z85,
)
from zmtp.wire.commands import encode_ping
from zmtp.wire.frames import CommandFrame, FrameDecoder, encode_command_frame, encode_frame
from zmtp.wire.greeting import GREETING_SIZE

nacl = pytest.importorskip("nacl.bindings")

SERVER_PUBLIC, SERVER_SECRET = curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = curve_keypair()
CLIENT_RAW = z85.decode(CLIENT_PUBLIC)


def accept(request: AuthRequest) -> bool:
    return True


def curve_pair(
    make_pair: Callable[..., Any],
    *,
    client_type: str = "DEALER",
    server_type: str = "ROUTER",
    server_public: bytes = SERVER_PUBLIC,
    authenticator: Callable[[AuthRequest], Any] | None = accept,
    client_kw: dict[str, Any] | None = None,
    server_kw: dict[str, Any] | None = None,
    client_conn: dict[str, Any] | None = None,
    server_conn: dict[str, Any] | None = None,
) -> Any:
    client = Connection(
        client_type,
        mechanism=CurveClient(server_public, CLIENT_PUBLIC, CLIENT_SECRET, **(client_kw or {})),
        **(client_conn or {}),
    )
    server = Connection(
        server_type,
        mechanism=CurveServer(SERVER_PUBLIC, SERVER_SECRET, **(server_kw or {})),
        authenticator=authenticator,
        **(server_conn or {}),
    )
    return make_pair(client, server)


def drain_events(conn: Connection) -> tuple[list[Any], ProtocolError | None]:
    """Every pending event, then the error ``events()`` raised after them (or None)."""
    events: list[Any] = []
    while True:
        try:
            batch = conn.events()
        except ProtocolError as exc:
            return events, exc
        if not batch:
            return events, None
        events += batch


def ready(pair: Any) -> Any:
    pair.pump()
    for side in (pair.a, pair.b):
        events, error = drain_events(side)
        assert error is None, error
        assert any(type(e) is HandshakeComplete for e in events), events
    return pair


def frames_of(wire: bytes | bytearray) -> list[Any]:
    """The frames after the greeting: CommandFrame or Message items, in order."""
    dec = FrameDecoder()
    dec.feed(bytes(wire)[GREETING_SIZE:])
    items = dec.read()
    assert not dec.mid_message
    return items


def command_data(item: Any, name: bytes) -> bytes:
    assert isinstance(item, CommandFrame), item
    body = item.body
    assert body[0] == len(name) and body[1 : 1 + len(name)] == name, body[:12]
    return body[1 + len(name) :]


# ---------------------------------------------------------------------------------------
# Fixed keys (the known-answer vectors' values) to craft commands by hand

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "specs" / "curve_vectors.json").read_text("utf-8")
)
KEYS = {name: bytes.fromhex(value["hex"]) for name, value in VECTORS["keys"].items()}
LONG = {name: bytes.fromhex(value) for name, value in VECTORS["long_nonces"].items()}


def fixed_client_kw() -> dict[str, Any]:
    return {
        "transient_secret": KEYS["client_transient_secret"],
        "vouch_nonce": LONG["vouch_hex"],
    }


def fixed_server_kw() -> dict[str, Any]:
    return {
        "transient_secret": KEYS["server_transient_secret"],
        "cookie_key": KEYS["cookie_key"],
        "welcome_nonce": LONG["welcome_hex"],
        "cookie_nonce": LONG["cookie_hex"],
    }


def fixed_pair(**kw: Any) -> tuple[Connection, Connection]:
    client = Connection(
        "DEALER",
        mechanism=CurveClient(
            KEYS["server_public"], KEYS["client_public"], KEYS["client_secret"], **fixed_client_kw()
        ),
        **kw,
    )
    server = Connection(
        "ROUTER",
        mechanism=CurveServer(KEYS["server_public"], KEYS["server_secret"], **fixed_server_kw()),
        authenticator=accept,
        **kw,
    )
    return client, server


def box_to_server(plain: bytes, nonce: bytes) -> bytes:
    """A box from the client's transient key to the server's (the vectors' keys)."""
    return nacl.crypto_box(
        plain, nonce, KEYS["server_transient_public"], KEYS["client_transient_secret"]
    )


def box_to_client(plain: bytes, nonce: bytes) -> bytes:
    return nacl.crypto_box(
        plain, nonce, KEYS["client_transient_public"], KEYS["server_transient_secret"]
    )


def message_frame(box: bytes, n: int) -> bytes:
    return encode_frame(b"\x07MESSAGE" + struct.pack(">Q", n) + box)


def client_message(payload: bytes, n: int, prefix: bytes = b"CurveZMQMESSAGEC") -> bytes:
    """A MESSAGE frame from the (fixed-key) client with short nonce ``n``; ``payload``
    is the flags octet and the frame."""
    return message_frame(box_to_server(payload, prefix + struct.pack(">Q", n)), n)


def server_message(payload: bytes, n: int) -> bytes:
    return message_frame(box_to_client(payload, b"CurveZMQMESSAGES" + struct.pack(">Q", n)), n)


# ---------------------------------------------------------------------------------------
# RFC 25 "Implementation", RFC 26 "Overall Operation": the handshake


def test_handshake_completes_and_reports_curve_on_both_sides(make_pair):
    pair = curve_pair(make_pair)
    pair.pump()
    client_events, client_error = drain_events(pair.a)
    server_events, server_error = drain_events(pair.b)
    assert client_error is None and server_error is None
    assert client_events[0] == GreetingReceived(Greeting(3, 1, b"CURVE", True))
    assert server_events[0] == GreetingReceived(Greeting(3, 1, b"CURVE", False))
    done_client, done_server = client_events[-1], server_events[-1]
    assert isinstance(done_client, HandshakeComplete) and isinstance(done_server, HandshakeComplete)
    assert done_client.mechanism == done_server.mechanism == b"CURVE"
    assert done_client.socket_type is not None and done_client.socket_type.name == "ROUTER"
    assert done_server.socket_type is not None and done_server.socket_type.name == "DEALER"
    assert pair.a.state is pair.b.state is ConnectionState.TRAFFIC


def test_server_asks_the_authenticator_about_the_clients_long_term_key(make_pair):
    requests: list[AuthRequest] = []
    pair = curve_pair(make_pair, authenticator=lambda request: requests.append(request) or True)
    ready(pair)
    assert requests == [AuthRequest(b"CURVE", (CLIENT_RAW,))]
    assert pair.b.mechanism.client_public == CLIENT_RAW  # type: ignore[attr-defined]


def test_user_id_defaults_to_the_client_key_in_z85_as_pyzmq_reports_it(make_pair):
    pair = curve_pair(make_pair)
    pair.pump()
    events, _ = drain_events(pair.b)
    assert events[-1].user_id == CLIENT_PUBLIC


def test_user_id_and_metadata_come_from_the_authentication_decision(make_pair):
    decision = AuthDecision(True, user_id=b"alice", metadata={"X-Role": b"admin"})
    pair = curve_pair(make_pair, authenticator=lambda request: decision)
    pair.pump()
    events, _ = drain_events(pair.b)
    assert events[-1].user_id == b"alice"
    assert events[-1].auth_metadata["x-role"] == b"admin"


def test_deferred_authentication_holds_ready_until_resolved(make_pair, decode_stream):
    pair = curve_pair(make_pair, authenticator=lambda request: None)
    pair.pump()
    events, error = drain_events(pair.b)
    assert error is None
    assert events[-1] == AuthRequest(b"CURVE", (CLIENT_RAW,))
    assert [item[0] for item in decode_stream(pair.wire_b)] == [b"WELCOME"]
    pair.b.resolve_auth(True)
    pair.pump()
    assert isinstance(drain_events(pair.a)[0][-1], HandshakeComplete)
    assert isinstance(drain_events(pair.b)[0][-1], HandshakeComplete)


def test_greeting_as_server_octet_is_1_for_the_server_and_0_for_the_client(make_pair):
    """RFC 25 "Implementation": the as-server field tells client from server."""
    pair = curve_pair(make_pair)
    assert pair.a.data_to_send()[32] == 0
    assert pair.b.data_to_send()[32] == 1


def test_hello_is_200_octets_with_version_1_0_and_72_zero_octets_of_padding(make_pair):
    """RFC 26 "The HELLO Command": HELLO SHALL be 200 octets (name included), version
    1.0, anti-amplification padding, C', short nonce, signature box."""
    pair = curve_pair(make_pair)
    pair.pump()
    hello = frames_of(pair.wire_a)[0]
    data = command_data(hello, b"HELLO")
    assert len(hello.body) == 200
    assert data[:2] == b"\x01\x00"
    assert data[2:74] == bytes(72)
    assert data[74:106] == pair.a.mechanism.transient_public  # type: ignore[attr-defined]
    assert data[106:114] == struct.pack(">Q", 1)
    assert len(data[114:]) == 80


def test_welcome_is_168_octets_and_smaller_than_hello(make_pair):
    """RFC 26 "The WELCOME Command": 168 octets, so HELLO amplifies nothing."""
    pair = curve_pair(make_pair)
    pair.pump()
    welcome = frames_of(pair.wire_b)[0]
    command_data(welcome, b"WELCOME")
    assert len(welcome.body) == 168 < 200


def test_initiate_is_at_least_257_octets_and_ready_at_least_30(make_pair):
    pair = curve_pair(make_pair)
    pair.pump()
    initiate = frames_of(pair.wire_a)[1]
    ready_ = frames_of(pair.wire_b)[1]
    command_data(initiate, b"INITIATE")
    command_data(ready_, b"READY")
    assert len(initiate.body) >= 257
    assert len(ready_.body) >= 30


def test_metadata_and_keys_never_appear_in_clear_on_the_wire(make_pair):
    """RFC 26: metadata travels in INITIATE and READY boxes; the client's long-term
    key only inside the INITIATE box (client identity protection)."""
    pair = ready(curve_pair(make_pair, client_conn={"routing_id": b"secret-identity"}))
    wire = bytes(pair.wire_a + pair.wire_b)
    for clear in (b"Socket-Type", b"DEALER", b"ROUTER", b"secret-identity", CLIENT_RAW):
        assert clear not in wire


def test_short_nonces_count_up_from_1_on_each_side(make_pair):
    """HELLO and INITIATE take the client's nonces 1 and 2, READY the server's 1; the
    first MESSAGE of each side follows (libzmq expects exactly this)."""
    pair = ready(curve_pair(make_pair))
    pair.a_to_b(pair.a.send_message([b"c"]))
    pair.b_to_a(pair.b.send_message([b"s"]))
    client_items = frames_of(pair.wire_a)
    server_items = frames_of(pair.wire_b)
    assert command_data(client_items[0], b"HELLO")[106:114] == struct.pack(">Q", 1)
    assert command_data(client_items[1], b"INITIATE")[96:104] == struct.pack(">Q", 2)
    assert command_data(server_items[1], b"READY")[:8] == struct.pack(">Q", 1)
    assert client_items[2][0][8:16] == struct.pack(">Q", 3)
    assert server_items[2][0][8:16] == struct.pack(">Q", 2)


@pytest.mark.parametrize("form", ["z85-bytes", "z85-str", "raw"])
def test_keys_are_accepted_as_z85_bytes_z85_text_or_raw_octets(make_pair, form):
    def conv(key: bytes) -> Any:
        return {"z85-bytes": key, "z85-str": key.decode(), "raw": z85.decode(key)}[form]

    client = Connection(
        "DEALER",
        mechanism=CurveClient(conv(SERVER_PUBLIC), conv(CLIENT_PUBLIC), conv(CLIENT_SECRET)),
    )
    server = Connection(
        "ROUTER",
        mechanism=CurveServer(conv(SERVER_PUBLIC), conv(SERVER_SECRET)),
        authenticator=accept,
    )
    ready(make_pair(client, server))


def test_a_public_key_that_is_not_the_secret_keys_is_refused_at_construction():
    other_public, _ = curve_keypair()
    with pytest.raises(ValueError, match="public key does not belong"):
        CurveServer(other_public, SERVER_SECRET)
    with pytest.raises(ValueError, match="public key does not belong"):
        CurveClient(SERVER_PUBLIC, other_public, CLIENT_SECRET)


def test_malformed_keys_and_fixed_values_are_refused_at_construction():
    with pytest.raises(ValueError, match="server public key"):
        CurveClient(b"too short", CLIENT_PUBLIC, CLIENT_SECRET)
    with pytest.raises(ValueError, match="transient_secret must be 32 octets"):
        CurveClient(SERVER_PUBLIC, CLIENT_PUBLIC, CLIENT_SECRET, transient_secret=b"x")
    with pytest.raises(ValueError, match="cookie_key must be 32 octets"):
        CurveServer(SERVER_PUBLIC, SERVER_SECRET, cookie_key=bytes(16))
    with pytest.raises(ValueError, match="welcome_nonce must be 16 octets"):
        CurveServer(SERVER_PUBLIC, SERVER_SECRET, welcome_nonce=bytes(24))


def test_curve_without_pynacl_raises_mechanism_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "nacl", None)
    monkeypatch.setitem(sys.modules, "nacl.bindings", None)
    with pytest.raises(
        MechanismUnavailable, match=r"CURVE needs PyNaCl: pip install zmtp\[curve\]"
    ):
        CurveServer(SERVER_PUBLIC, SERVER_SECRET)
    with pytest.raises(MechanismUnavailable):
        CurveClient(SERVER_PUBLIC, CLIENT_PUBLIC, CLIENT_SECRET)


def test_incompatible_socket_types_are_refused_after_authentication(make_pair):
    pair = curve_pair(make_pair, client_type="PUB")
    pair.pump()
    _, error = drain_events(pair.b)
    assert isinstance(error, HandshakeError) and "PUB" in error.reason
    _, client_error = drain_events(pair.a)
    assert isinstance(client_error, PeerError)


# ---------------------------------------------------------------------------------------
# RFC 26 "The ERROR Command", RFC 27 status codes: refusals


def test_wrong_server_key_fails_cleanly_on_both_sides(make_pair, decode_stream):
    """The client encrypts HELLO to the wrong S: the server cannot open it and says so
    with ERROR; the client reports the peer's refusal."""
    other_public, _ = curve_keypair()
    pair = curve_pair(make_pair, server_public=other_public)
    pair.pump()
    _, server_error = drain_events(pair.b)
    _, client_error = drain_events(pair.a)
    assert isinstance(server_error, HandshakeError)
    assert "HELLO signature box" in server_error.reason and server_error.rfc == 26
    assert isinstance(client_error, PeerError)
    assert decode_stream(pair.wire_b)[-1][0] == b"ERROR"
    assert pair.a.state is pair.b.state is ConnectionState.FAILED


def test_client_key_refused_by_the_authenticator_gives_authentication_failed_and_error_400(
    make_pair,
    decode_stream,
):
    pair = curve_pair(
        make_pair, authenticator=lambda request: AuthDecision(False, "400", "unknown key")
    )
    pair.pump()
    _, server_error = drain_events(pair.b)
    _, client_error = drain_events(pair.a)
    assert isinstance(server_error, AuthenticationFailed)
    assert server_error.status_code == "400"
    assert decode_stream(pair.wire_b)[-1] == (b"ERROR", b"\x03400")
    assert isinstance(client_error, PeerError) and client_error.peer_reason == "400"


def test_server_without_authenticator_refuses_with_status_500(make_pair, decode_stream):
    pair = curve_pair(make_pair, authenticator=None)
    pair.pump()
    _, server_error = drain_events(pair.b)
    assert isinstance(server_error, AuthenticationFailed) and server_error.status_code == "500"
    assert decode_stream(pair.wire_b)[-1] == (b"ERROR", b"\x03500")


def test_client_never_sends_error_when_it_refuses_the_server():
    """RFC 26 "General Design": a client peer SHALL NOT send ERROR."""
    client, _ = fixed_pair()
    greeting = client.data_to_send()
    client.receive_data(
        Connection("ROUTER", mechanism=CurveServer(SERVER_PUBLIC, SERVER_SECRET)).data_to_send()
    )
    hello = client.data_to_send()
    assert greeting and hello
    client.receive_data(encode_command_frame(b"WELCOME", bytes(160)))  # opens nothing
    _, error = drain_events(client)
    assert isinstance(error, HandshakeError) and "WELCOME box" in error.reason
    assert client.data_to_send() == b""


def test_client_reports_error_from_libzmq_with_the_misspelt_name():
    """libzmq's ERROR may arrive as size 0x5E then "RROR" (see README)."""
    client, _ = fixed_pair()
    client.receive_data(
        Connection("ROUTER", mechanism=CurveServer(SERVER_PUBLIC, SERVER_SECRET)).data_to_send()
    )
    client.receive_data(b"\x04\x09\x5eRROR\x03400")
    _, error = drain_events(client)
    assert isinstance(error, PeerError) and error.peer_reason == "400"


# ---------------------------------------------------------------------------------------
# RFC 26 "The HELLO/WELCOME/INITIATE/READY Command": validation of every field


def handshake_until(stop: str) -> tuple[Connection, Connection, dict[str, bytes]]:
    """Run a fixed-key handshake, capturing each command frame, until ``stop`` would be
    delivered (it is returned, not delivered)."""
    client, server = fixed_pair()
    cg, sg = client.data_to_send(), server.data_to_send()
    client.receive_data(sg)
    frames = {"HELLO": client.data_to_send()}
    if stop == "HELLO":
        server.receive_data(cg)
        return client, server, frames
    server.receive_data(cg + frames["HELLO"])
    frames["WELCOME"] = server.data_to_send()
    if stop == "WELCOME":
        return client, server, frames
    client.receive_data(frames["WELCOME"])
    frames["INITIATE"] = client.data_to_send()
    if stop == "INITIATE":
        return client, server, frames
    server.receive_data(frames["INITIATE"])
    frames["READY"] = server.data_to_send()
    return client, server, frames


def refused(conn: Connection, data: bytes) -> HandshakeError:
    conn.receive_data(data)
    events, error = drain_events(conn)
    assert isinstance(error, HandshakeError), (events, error)
    assert not any(type(e) is HandshakeComplete for e in events)
    return error


def rewrite(frame: bytes, name: bytes, edit: Callable[[bytearray], bytes | bytearray]) -> bytes:
    """The command frame ``frame`` with its data passed through ``edit``."""
    dec = FrameDecoder()
    dec.feed(frame)
    (item,) = dec.read()
    data = bytearray(command_data(item, name))
    return encode_command_frame(name, bytes(edit(data)))


def flip(at: int) -> Callable[[bytearray], bytearray]:
    def edit(data: bytearray) -> bytearray:
        data[at] ^= 0x01
        return data

    return edit


@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        ("version-2.0", flip(0), "only 1.0"),
        ("padding-not-zero", flip(40), "padding must be all zero"),
        ("client-transient-key", flip(80), "HELLO signature box"),
        ("short-nonce", flip(110), "HELLO signature box"),
        ("signature-box", flip(150), "HELLO signature box"),
        ("truncated", lambda d: d[:-1], "194 octets"),
        ("extended", lambda d: d + b"\x00", "194 octets"),
    ],
)
def test_server_refuses_a_malformed_hello(what, edit, reason, decode_stream):
    """RFC 26 "The HELLO Command": the server SHALL validate all fields."""
    _, server, frames = handshake_until("HELLO")
    error = refused(server, rewrite(frames["HELLO"], b"HELLO", edit))
    assert reason in error.reason and error.rfc == 26
    assert decode_stream(server.data_to_send())[-1][0] == b"ERROR"


def test_server_refuses_a_hello_signature_box_of_non_zero_octets():
    _, server, _ = handshake_until("HELLO")
    secret = KEYS["client_transient_secret"]
    box = nacl.crypto_box(
        b"\x01" + bytes(63),
        b"CurveZMQHELLO---" + struct.pack(">Q", 1),
        KEYS["server_public"],
        secret,
    )
    data = b"\x01\x00" + bytes(72) + KEYS["client_transient_public"] + struct.pack(">Q", 1) + box
    error = refused(server, encode_command_frame(b"HELLO", data))
    assert "64 zero octets" in error.reason


@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        ("long-nonce", flip(3), "WELCOME box"),
        ("box", flip(100), "WELCOME box"),
        ("truncated", lambda d: d[:-1], "160 octets"),
    ],
)
def test_client_refuses_a_malformed_welcome(what, edit, reason):
    client, _, frames = handshake_until("WELCOME")
    error = refused(client, rewrite(frames["WELCOME"], b"WELCOME", edit))
    assert reason in error.reason
    assert client.data_to_send() == b""  # no ERROR from a client


@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        ("cookie-nonce", flip(5), "cookie does not open"),
        ("cookie-box", flip(50), "cookie does not open"),
        ("short-nonce", flip(100), "INITIATE box"),
        ("box", flip(200), "INITIATE box"),
        ("truncated-below-minimum", lambda d: d[:247], "at least 248 octets"),
        ("truncated-box", lambda d: d[:-1], "INITIATE box"),
    ],
)
def test_server_refuses_a_malformed_initiate(what, edit, reason):
    _, server, frames = handshake_until("INITIATE")
    error = refused(server, rewrite(frames["INITIATE"], b"INITIATE", edit))
    assert reason in error.reason


def _initiate(plain: bytes, *, nonce: int = 2, cookie: bytes | None = None) -> bytes:
    _, _, frames = handshake_until("INITIATE")
    if cookie is None:
        dec = FrameDecoder()
        dec.feed(frames["INITIATE"])
        cookie = command_data(dec.read()[0], b"INITIATE")[:96]
    short = struct.pack(">Q", nonce)
    return encode_command_frame(
        b"INITIATE", cookie + short + box_to_server(plain, b"CurveZMQINITIATE" + short)
    )


def _vouch(content: bytes, signer_secret: bytes) -> bytes:
    nonce = LONG["vouch_hex"]
    return nonce + nacl.crypto_box(
        content, b"VOUCH---" + nonce, KEYS["server_transient_public"], signer_secret
    )


def test_server_refuses_a_vouch_for_another_server_key():
    """RFC 26 "The INITIATE Command": the vouch holds C' and S; the server checks both."""
    _, server, _ = handshake_until("INITIATE")
    other_server, _ = curve_keypair()
    vouch = _vouch(
        KEYS["client_transient_public"] + z85.decode(other_server), KEYS["client_secret"]
    )
    error = refused(server, _initiate(KEYS["client_public"] + vouch))
    assert "vouch must hold" in error.reason


def test_server_refuses_a_vouch_not_made_by_the_announced_client_key():
    """Claiming someone else's long-term key C without its secret fails the vouch."""
    _, server, _ = handshake_until("INITIATE")
    vouch = _vouch(KEYS["client_transient_public"] + KEYS["server_public"], KEYS["client_secret"])
    error = refused(server, _initiate(CLIENT_RAW + vouch))
    assert "vouch box" in error.reason


def test_server_refuses_initiate_whose_short_nonce_does_not_exceed_hellos():
    _, server, _ = handshake_until("INITIATE")
    vouch = _vouch(KEYS["client_transient_public"] + KEYS["server_public"], KEYS["client_secret"])
    error = refused(server, _initiate(KEYS["client_public"] + vouch, nonce=1))
    assert "INITIATE short nonce 1 does not exceed the previous one (1)" in error.reason


def test_server_refuses_malformed_metadata_in_initiate():
    _, server, _ = handshake_until("INITIATE")
    vouch = _vouch(KEYS["client_transient_public"] + KEYS["server_public"], KEYS["client_secret"])
    error = refused(server, _initiate(KEYS["client_public"] + vouch + b"\x00"))
    assert "property name is empty" in error.reason


def test_a_cookie_is_useless_to_another_connection():
    """RFC 26 "The WELCOME Command": the cookie key lives for one connection, and the
    cookie names the client transient key it was made for."""
    _, _, frames = handshake_until("INITIATE")
    # The same (fixed) cookie key, but this connection saw another client transient key.
    server = Connection(
        "ROUTER",
        mechanism=CurveServer(KEYS["server_public"], KEYS["server_secret"], **fixed_server_kw()),
        authenticator=accept,
    )
    stranger = Connection(
        "DEALER",
        mechanism=CurveClient(KEYS["server_public"], KEYS["client_public"], KEYS["client_secret"]),
    )
    stranger.receive_data(server.data_to_send())
    server.receive_data(stranger.data_to_send())
    server.data_to_send()
    error = refused(server, frames["INITIATE"])
    assert "another client transient key" in error.reason
    # The same client transient key, but this connection's cookie key is its own.
    kw = fixed_server_kw()
    del kw["cookie_key"]
    server = Connection(
        "ROUTER",
        mechanism=CurveServer(KEYS["server_public"], KEYS["server_secret"], **kw),
        authenticator=accept,
    )
    client, _ = fixed_pair()
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    server.data_to_send()
    error = refused(server, frames["INITIATE"])
    assert "cookie does not open" in error.reason


@pytest.mark.parametrize(
    ("what", "edit", "reason"),
    [
        ("short-nonce", flip(7), "READY box"),
        ("box", flip(12), "READY box"),
        ("truncated", lambda d: d[:23], "at least 24 octets"),
    ],
)
def test_client_refuses_a_malformed_ready(what, edit, reason):
    client, _, frames = handshake_until("READY")
    error = refused(client, rewrite(frames["READY"], b"READY", edit))
    assert reason in error.reason
    assert client.data_to_send() == b""


@pytest.mark.parametrize("name", [b"MESSAGE", b"READY", b"HELLO"])
def test_out_of_order_handshake_commands_are_refused(name):
    client, server, _ = handshake_until("WELCOME")
    error = refused(server, encode_command_frame(name, bytes(200)))
    assert "waiting for INITIATE" in error.reason
    error = refused(client, encode_command_frame(name, bytes(200)))
    assert "waiting for WELCOME" in error.reason


# ---------------------------------------------------------------------------------------
# RFC 26 "The MESSAGE Command": traffic


MESSAGES = [
    [b"hello"],
    [b""],
    [b"", b"", b""],
    [b"envelope", b"", b"body"],
    [b"a" * 255, b"b" * 256],
    [bytes(range(256)) * 4096, b"after the 1 MiB frame"],
]


@pytest.mark.parametrize("frames", MESSAGES, ids=lambda m: f"{len(m)}x{len(m[0])}")
def test_messages_travel_both_ways_unaltered(make_pair, frames):
    pair = ready(curve_pair(make_pair))
    pair.a_to_b(pair.a.send_message(frames))
    assert pair.b.events() == [Message(frames)]
    pair.b_to_a(pair.b.send_message(frames))
    assert pair.a.events() == [Message(frames)]


def test_send_messages_batches_wrapped_frames(make_pair):
    pair = ready(curve_pair(make_pair))
    out: list[Any] = []
    pair.a.send_messages([[b"one"], [b"two", b"parts"]], out)
    pair.a_to_b(b"".join(bytes(b) for b in out))
    assert pair.b.events() == [Message([b"one"]), Message([b"two", b"parts"])]


def test_every_frame_travels_as_a_message_command_in_a_flagless_data_frame(make_pair):
    """libzmq 4.3 sends MESSAGE in ZMTP data frames with no flags and accepts nothing
    else; MORE travels inside the box. No payload appears in clear."""
    pair = ready(curve_pair(make_pair))
    pair.a_to_b(pair.a.send_message([b"visible?", b"no"]))
    pair.a_to_b(pair.a.send_ping(5, b"ctx"))
    traffic = frames_of(pair.wire_a)[2:]
    assert len(traffic) == 3
    for item in traffic:
        assert type(item) is Message and len(item) == 1
        assert item[0][:8] == b"\x07MESSAGE"
    raw = bytes(pair.wire_a)
    assert raw[-len(traffic[-1][0]) - 2] == 0x00  # flags octet of the last frame
    assert b"visible?" not in raw and b"PING" not in raw


def test_message_commands_in_command_frames_are_accepted_too(make_pair):
    """RFC 23 "Wire Analysis": encrypted data "SHALL be encoded as commands"; a peer
    that follows it sends MESSAGE in command frames."""
    pair = ready(curve_pair(make_pair))
    wire = pair.a.send_message([b"as", b"commands"])
    dec = FrameDecoder()
    dec.feed(wire)
    rewrapped = b"".join(encode_frame(item[0], command=True) for item in dec.read())
    pair.a_to_b(rewrapped)
    assert pair.b.events() == [Message([b"as", b"commands"])]


def test_ping_and_pong_travel_inside_message_boxes(make_pair):
    pair = ready(curve_pair(make_pair))
    pair.a_to_b(pair.a.send_ping(30, b"are-you-there"))
    assert pair.b.events() == [Ping(30, b"are-you-there")]
    pong = pair.b.data_to_send()
    assert pong[2:10] == b"\x07MESSAGE"
    pair.b_to_a(pong)
    assert pair.a.events() == [Pong(b"are-you-there")]


def test_subscribe_and_cancel_travel_as_commands_inside_message_boxes(make_pair):
    pair = ready(curve_pair(make_pair, client_type="SUB", server_type="PUB"))
    pair.a_to_b(pair.a.send_subscribe(b"weather"))
    pair.a_to_b(pair.a.send_cancel(b"weather"))
    assert pair.b.events() == [Subscribe(b"weather"), Cancel(b"weather")]
    assert b"SUBSCRIBE" not in bytes(pair.wire_a)


def test_zmtp30_subscription_messages_inside_boxes_are_subscriptions(make_pair):
    pair = ready(
        curve_pair(make_pair, client_type="SUB", server_type="PUB", server_conn={"version": (3, 0)})
    )
    pair.a_to_b(pair.a.send_subscribe(b"news"))
    assert pair.b.events() == [Subscribe(b"news")]


def test_unknown_commands_inside_boxes_are_reported(make_pair):
    pair = ready(curve_pair(make_pair))
    pair.a_to_b(pair.a.send_command(b"X-HELLO", b"data"))
    assert pair.b.events() == [UnknownCommand(b"X-HELLO", b"data")]


def test_a_command_between_frames_of_a_message_keeps_it_assembling(make_pair):
    client, server = fixed_pair()
    pair = ready(make_pair(client, server))
    key_frames = [
        client_message(b"\x01first", 3),
        client_message(b"\x02" + encode_ping(0, b"")[2:], 4),
        client_message(b"\x00last", 5),
    ]
    pair.a_to_b(b"".join(key_frames))
    assert pair.b.events() == [Ping(0, b""), Message([b"first", b"last"])]


# ---------------------------------------------------------------------------------------
# RFC 26 "The MESSAGE Command": what kills a connection


def traffic_pair(make_pair: Callable[..., Any]) -> Any:
    client, server = fixed_pair()
    return ready(make_pair(client, server))


def fails(conn: Connection, data: bytes) -> tuple[list[Any], ProtocolError]:
    conn.receive_data(data)
    events, error = drain_events(conn)
    assert isinstance(error, ProtocolError), (events, error)
    assert not isinstance(error, HandshakeError)
    assert conn.state is ConnectionState.FAILED
    # RFC 26: no ERROR in answer to an invalid MESSAGE.
    assert conn.data_to_send() == b""
    return events, error


def test_a_replayed_message_is_refused_after_the_original_is_delivered(make_pair):
    pair = traffic_pair(make_pair)
    wire = pair.a.send_message([b"once"])
    events, error = fails(pair.b, wire + wire)
    assert events == [Message([b"once"])]
    assert "replayed or reordered" in error.reason and error.rfc == 26


def test_reordered_messages_are_refused(make_pair):
    pair = traffic_pair(make_pair)
    first = pair.a.send_message([b"first"])
    second = pair.a.send_message([b"second"])
    events, error = fails(pair.b, second + first)
    assert events == [Message([b"second"])]
    assert "short nonce 3 does not exceed the previous one (4)" in error.reason


def test_gaps_in_short_nonces_are_allowed(make_pair):
    """Nonces must increase, not be consecutive (libzmq checks the same)."""
    pair = traffic_pair(make_pair)
    pair.a.send_message([b"never delivered"])
    pair.a_to_b(pair.a.send_message([b"later"]))
    assert pair.b.events() == [Message([b"later"])]


def test_first_message_nonce_must_exceed_the_handshakes(make_pair):
    """The client's INITIATE used nonce 2; a MESSAGE with nonce 2 replays it."""
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, client_message(b"\x00x", 2))
    assert "does not exceed the previous one (2)" in error.reason
    _, error = fails(pair.a, server_message(b"\x00x", 1))
    assert "does not exceed the previous one (1)" in error.reason


@pytest.mark.parametrize("at", [16, 20, 31, 40])
def test_a_corrupted_message_box_is_refused(make_pair, at):
    pair = traffic_pair(make_pair)
    wire = bytearray(pair.a.send_message([b"x" * 30]))
    wire[2 + at] ^= 0x80
    _, error = fails(pair.b, bytes(wire))
    assert "MESSAGE box does not open" in error.reason


def test_a_message_box_for_the_other_direction_is_refused(make_pair):
    """The prefixes differ by direction, so a reflected box does not open."""
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, client_message(b"\x00x", 3, prefix=b"CurveZMQMESSAGES"))
    assert "does not open" in error.reason


def test_a_message_shorter_than_33_octets_is_refused(make_pair):
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, encode_frame(b"\x07MESSAGE" + bytes(24)))
    assert "shorter than its 25-octet minimum" in error.reason


@pytest.mark.parametrize("flags", [0x03, 0x04, 0x80])
def test_reserved_payload_flag_bits_are_refused(make_pair, flags):
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, client_message(bytes((flags,)) + b"x", 3))
    assert f"0x{flags:02X}" in error.reason


def test_a_clear_text_command_after_the_handshake_is_refused(make_pair):
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, encode_ping(0, b""))
    assert "must be MESSAGE commands, got 'PING'" in error.reason


def test_an_outer_more_flag_is_refused(make_pair):
    pair = traffic_pair(make_pair)
    wire = pair.a.send_message([b"a"])
    dec = FrameDecoder()
    dec.feed(wire)
    body = dec.read()[0][0]
    _, error = fails(pair.b, encode_frame(body, more=True) + encode_frame(body))
    assert "carry no MORE flag" in error.reason


def test_clear_text_data_after_the_handshake_is_refused(make_pair):
    pair = traffic_pair(make_pair)
    _, error = fails(pair.b, encode_frame(b"plain text"))
    assert "must be MESSAGE commands" in error.reason


# ---------------------------------------------------------------------------------------
# Limits: maxmsgsize and max_frames under CURVE


def test_a_message_of_exactly_maxmsgsize_is_accepted(make_pair):
    pair = ready(curve_pair(make_pair, server_conn={"maxmsgsize": 5000}))
    pair.a_to_b(pair.a.send_message([b"x" * 3000, b"y" * 2000]))
    assert pair.b.events() == [Message([b"x" * 3000, b"y" * 2000])]


def test_a_box_beyond_maxmsgsize_is_refused_before_it_is_opened(make_pair, monkeypatch):
    pair = ready(curve_pair(make_pair, server_conn={"maxmsgsize": 5000}))
    wire = pair.a.send_message([b"x" * 3000, b"y" * 2001])
    opened: list[bytes] = []
    mech = pair.b.mechanism
    original = mech.decode_frame
    monkeypatch.setattr(mech, "decode_frame", lambda body: opened.append(body) or original(body))
    _, error = fails(pair.b, wire)
    assert len(opened) == 1  # the first frame only
    assert "exceed maxmsgsize 5000" in error.reason


def test_a_frame_size_claim_beyond_maxmsgsize_is_refused_from_its_header(make_pair):
    pair = ready(curve_pair(make_pair, server_conn={"maxmsgsize": 1000}))
    _, error = fails(pair.b, b"\x02" + struct.pack(">Q", 1 << 40))
    assert "exceeds maxmsgsize" in error.reason


def test_small_commands_pass_whatever_maxmsgsize_says(make_pair):
    pair = ready(curve_pair(make_pair, server_conn={"maxmsgsize": 0}))
    pair.a_to_b(pair.a.send_ping(1, b"c" * 16))
    assert pair.b.events() == [Ping(1, b"c" * 16)]


def test_max_frames_bounds_curve_messages(make_pair):
    pair = ready(curve_pair(make_pair, server_conn={"max_frames": 3}))
    pair.a_to_b(pair.a.send_message([b"1", b"2", b"3"]))
    assert pair.b.events() == [Message([b"1", b"2", b"3"])]
    _, error = fails(pair.b, pair.a.send_message([b"1", b"2", b"3", b"4"]))
    assert "more than 3 frames" in error.reason


# ---------------------------------------------------------------------------------------
# Known-answer vectors (specs/curve_vectors.json)


def test_vector_file_is_what_the_generator_builds():
    """The JSON is generated, never edited by hand: regenerating gives the same."""
    import make_curve_vectors  # tests/wire, next to this file

    assert make_curve_vectors.build() == VECTORS


def test_vector_keys_are_consistent_z85_and_curve25519():
    for value in VECTORS["keys"].values():
        assert z85.encode(bytes.fromhex(value["hex"])).decode() == value["z85"]
    for who in ("client", "server", "client_transient", "server_transient"):
        secret = KEYS[f"{who}_secret"]
        assert nacl.crypto_scalarmult_base(secret) == KEYS[f"{who}_public"]


def test_connections_with_fixed_keys_write_the_vector_handshake_and_traffic():
    """Given the vectors' keys, nonces and cookie key, a DEALER CurveClient and a
    ROUTER CurveServer produce every vector byte for byte, and read each other's."""
    handshake = {v["command"]: bytes.fromhex(v["hex"]) for v in VECTORS["handshake"]}
    traffic = {v["name"]: bytes.fromhex(v["hex"]) for v in VECTORS["traffic"]}
    client, server = fixed_pair()
    client_greeting, server_greeting = client.data_to_send(), server.data_to_send()

    client.receive_data(server_greeting)
    assert client.data_to_send() == handshake["HELLO"]
    server.receive_data(client_greeting + handshake["HELLO"])
    assert server.data_to_send() == handshake["WELCOME"]
    client.receive_data(handshake["WELCOME"])
    assert client.data_to_send() == handshake["INITIATE"]
    server.receive_data(handshake["INITIATE"])
    assert server.data_to_send() == handshake["READY"]
    client.receive_data(handshake["READY"])
    for conn in (client, server):
        events, error = drain_events(conn)
        assert error is None and isinstance(events[-1], HandshakeComplete)

    long_frame = bytes(range(256)) + bytes(44)
    assert client.send_message([b"hello"]) == traffic["client_single_frame_message"]
    assert client.send_message([b"multi", b"part"]) == (
        traffic["client_multipart_first_frame_has_more"] + traffic["client_multipart_last_frame"]
    )
    assert (
        client.send_message([long_frame]) == traffic["client_300_octet_frame_uses_long_outer_frame"]
    )
    assert client.send_ping(10, b"ctx") == traffic["client_ping_command_in_message_box"]
    assert server.send_message([b"world"]) == traffic["server_single_frame_message"]

    server.receive_data(b"".join(v for k, v in traffic.items() if k.startswith("client")))
    assert server.events() == [
        Message([b"hello"]),
        Message([b"multi", b"part"]),
        Message([long_frame]),
        Ping(10, b"ctx"),
    ]
    assert server.data_to_send() == traffic["server_pong_command_in_message_box"]
    client.receive_data(
        traffic["server_single_frame_message"] + traffic["server_pong_command_in_message_box"]
    )
    assert client.events() == [Message([b"world"]), Pong(b"ctx")]


def test_vector_metadata_is_what_the_connections_announce():
    client_meta = bytes.fromhex(VECTORS["client_metadata_hex"])
    server_meta = bytes.fromhex(VECTORS["server_metadata_hex"])
    client, server = fixed_pair()
    assert client.mechanism._local_metadata == client_meta  # type: ignore[attr-defined]
    assert server.mechanism._local_metadata == server_meta  # type: ignore[attr-defined]
