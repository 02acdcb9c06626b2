"""Security in the engine: CURVE (RFC 25/26), PLAIN (RFC 24) and ZAP (RFC 27), zmtp to zmtp.

The sans-IO mechanisms are tested byte by byte in ``tests/wire``; here two
:class:`zmtp.Socket`\\s meet over tcp and ipc and the tests check what an application
sees: messages that cross (or do not), monitor events on both sides, and the
properties a receiver reads from ``recv_multipart(copy=False)`` frames.

Who decides on a client, as in libzmq (``Socket._new_connection``):

* a ZAP handler bound at ``inproc://zeromq.zap.01`` in the server's context decides on
  PLAIN and CURVE clients, and on NULL clients when the server sets ``zap_domain``:
  :class:`zmtp.auth.Authenticator`, or any REP socket the application binds there;
* without one, a PLAIN server refuses everyone ("500") and a CURVE server admits any
  client key;
* inproc links sockets without a handshake, so no mechanism and no ZAP handler take
  part there, whatever the options say (libzmq's inproc has no security either).

A refused client receives ERROR with the ZAP status code, reports
HANDSHAKE_FAILED_AUTH with that code as the event's value, and does not reconnect with
the same credentials (RFC 23 "Error Handling"); a "300" (temporary) is retried.

Nothing sleeps: tests wait for monitor events and messages. The one bounded window
(``QUIET``) checks that an event does *not* come: a refused client that kept
reconnecting every 10 ms would show within it many times over.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import anyio
import pytest
from engine_helpers import link
from engines import Engine

import zmtp
from zmtp import Event
from zmtp.wire import z85
from zmtp.wire.commands import encode_metadata

try:
    import nacl.bindings  # noqa: F401

    HAVE_NACL = True
except ImportError:  # pragma: no cover - PyNaCl is in the test extras
    HAVE_NACL = False

#: Seconds any one test may take (each needs a few handshakes: milliseconds).
TIMEOUT = 5
#: Seconds in which a refused client must show no sign of reconnecting.
QUIET = 0.2

MIB = bytes(range(256)) * 4096

#: Multipart messages on the framing edges and 1 MiB frames, as they travel in boxes.
MESSAGES: list[list[bytes]] = [
    [b"hello"],
    [b""],
    [b"", b"", b""],
    [b"envelope", b"", b"body"],
    [b"a" * 255, b"b" * 256],
    [MIB, b"after the 1 MiB frame"],
    [b"", MIB, b""],
    *([b"%04d" % i, b"." * i] for i in range(50)),
]

OUTCOME = (
    Event.HANDSHAKE_SUCCEEDED
    | Event.HANDSHAKE_FAILED_NO_DETAIL
    | Event.HANDSHAKE_FAILED_PROTOCOL
    | Event.HANDSHAKE_FAILED_AUTH
)
FAILED = OUTCOME & ~Event.HANDSHAKE_SUCCEEDED


class KeyPair(NamedTuple):
    public: bytes
    secret: bytes


def _pair() -> KeyPair:
    return KeyPair(*zmtp.curve_keypair()) if HAVE_NACL else KeyPair(b"", b"")


SERVER, CLIENT, STRANGER, IMPOSTOR = _pair(), _pair(), _pair(), _pair()

needs_nacl = pytest.mark.skipif(not HAVE_NACL, reason="CURVE needs PyNaCl: pip install zmtp[curve]")


def curve_server(keys: KeyPair = SERVER, **options: Any) -> dict[str, Any]:
    return {"curve_server": True, "curve_secretkey": keys.secret, **options}


def curve_client(
    server_public: bytes = SERVER.public, keys: KeyPair = CLIENT, **options: Any
) -> dict[str, Any]:
    return {
        "curve_serverkey": server_public,
        "curve_publickey": keys.public,
        "curve_secretkey": keys.secret,
        **options,
    }


def plain_client(user: str, password: str, **options: Any) -> dict[str, Any]:
    return {"plain_username": user, "plain_password": password, **options}


Make = Callable[..., zmtp.Socket]


@pytest.fixture
async def auth(engine: Engine, ctx: zmtp.Context):
    """zmtp's ZAP handler serving ``ctx`` (started before any server socket exists)."""
    async with engine.Authenticator(ctx) as authenticator:
        yield authenticator


async def attempt(
    server: zmtp.Socket, client: zmtp.Socket, endpoint: str, *, then_send: bytes | None = None
) -> tuple[Any, Any]:
    """Connect ``client`` to ``server`` (already bound at ``endpoint``), queue
    ``then_send`` while the handshake runs, and return the first handshake outcome each
    side reports, as ``(server_event, client_event)``."""
    async with server.monitor(OUTCOME) as on_server, client.monitor(OUTCOME) as on_client:
        await client.connect(endpoint)
        if then_send is not None:
            await client.send(then_send)  # waits in the connecter's pipe
        return await on_server.wait_for(OUTCOME), await on_client.wait_for(OUTCOME)


async def assert_refused(
    server: zmtp.Socket, client: zmtp.Socket, endpoint: str, status: int
) -> None:
    """``client`` is refused with ZAP status ``status`` on both sides, delivers nothing
    of what it queued, and stops: its connecter reports CLOSED and never connects again
    (RFC 23 "Error Handling")."""
    record = client.monitor()
    async with client.monitor() as waits:
        on_server_ev, on_client_ev = await attempt(
            server, client, endpoint, then_send=b"must never arrive"
        )
        assert (on_server_ev.event, on_server_ev.value) == (Event.HANDSHAKE_FAILED_AUTH, status)
        assert (on_client_ev.event, on_client_ev.value) == (Event.HANDSHAKE_FAILED_AUTH, status)
        after = await waits.wait_for(Event.CLOSED | Event.CONNECT_RETRIED)
        assert after.event == Event.CLOSED, f"a refused client must not reconnect: {after}"
        with anyio.move_on_after(QUIET):
            again = await waits.wait_for(Event.CONNECTED | Event.CONNECT_RETRIED)
            raise AssertionError(f"a refused client came back: {again}")
    await record.aclose()
    events = [ev.event async for ev in record]
    assert events[-3:] == [Event.HANDSHAKE_FAILED_AUTH, Event.CLOSED, Event.MONITOR_STOPPED]
    assert events.count(Event.CONNECTED) == 1
    with pytest.raises(zmtp.Again):
        server.recv_multipart_nowait()


async def recv_with_properties(sock: zmtp.Socket) -> tuple[list[bytes], zmtp.Frame]:
    frames = await sock.recv_multipart(copy=False)
    return [f.bytes for f in frames], frames[-1]


# ---------------------------------------------------------------------------------------
# RFC 26 CurveZMQ: traffic in boxes, over tcp and ipc


@needs_nacl
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_curve_dealer_router_carry_multipart_and_1mib_messages_both_ways(
    make: Make, endpoint: Callable[[], str]
):
    with anyio.fail_after(TIMEOUT):
        router = make(zmtp.ROUTER, **curve_server())
        dealer = make(zmtp.DEALER, **curve_client())
        await link(router, dealer, endpoint())
        got_there = []
        for msg in MESSAGES:
            await dealer.send_multipart(msg)
        for _ in MESSAGES:
            routing_id, *msg = await router.recv_multipart()
            got_there.append(msg)
            await router.send_multipart([routing_id, *msg])
        assert got_there == MESSAGES
        assert [await dealer.recv_multipart() for _ in MESSAGES] == MESSAGES


@needs_nacl
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_curve_pub_sub_delivers_only_subscribed_messages_in_boxes(
    make: Make, endpoint: Callable[[], str]
):
    with anyio.fail_after(TIMEOUT):
        pub = make(zmtp.PUB, **curve_server())
        sub = make(zmtp.SUB, subscribe=b"weather", **curve_client())
        await link(pub, sub, endpoint())
        # The subscription travels inside a box after the handshake: publish probes
        # until one arrives, so that it has reached the publisher.
        probe = [b"weather", b"probe"]
        while True:
            await pub.send_multipart(probe)
            if await sub.poll(50):  # pacing; a wait that times out takes nothing
                assert await sub.recv_multipart() == probe
                break
        wanted = [[b"weather", *msg] for msg in MESSAGES]
        for msg in wanted:
            await pub.send_multipart([b"sports", b"not subscribed"])
            await pub.send_multipart(msg)
        await pub.send_multipart([b"weather", b"end"])
        got = []
        while (msg := await sub.recv_multipart()) != [b"weather", b"end"]:
            if msg != probe:
                got.append(msg)
        assert got == wanted


@needs_nacl
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_a_wrong_server_key_fails_on_both_sides_and_the_server_keeps_serving(
    make: Make, endpoint: Callable[[], str]
):
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.ROUTER, **curve_server())
        ep = await server.bind(endpoint())
        impostor_key = make(zmtp.DEALER, **curve_client(server_public=IMPOSTOR.public))
        on_server, on_client = await attempt(
            server, impostor_key, ep, then_send=b"must never arrive"
        )
        # RFC 26 "The HELLO Command": the server cannot open the HELLO box.
        assert on_server.event == Event.HANDSHAKE_FAILED_PROTOCOL
        assert "HELLO" in on_server.reason
        assert on_client.event in FAILED
        good = make(zmtp.DEALER, **curve_client())
        on_server, on_client = await attempt(server, good, ep)
        assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
        await good.send(b"from the right key")
        _, body = await server.recv_multipart()
        assert body == b"from the right key"
        with pytest.raises(zmtp.Again):
            server.recv_multipart_nowait()


# ---------------------------------------------------------------------------------------
# RFC 27 ZAP through zmtp.auth.Authenticator


@pytest.mark.parametrize(
    ("rule", "addresses", "admitted"),
    [
        ("allow", ["127.0.0.1"], True),
        ("allow", ["192.0.2.1"], False),  # an allow list that leaves 127.0.0.1 out
        ("deny", ["127.0.0.1"], False),
        ("deny", ["192.0.2.1"], True),
    ],
)
async def test_authenticator_filters_clients_by_ip_address(
    make: Make, auth: zmtp.auth.Authenticator, rule: str, addresses: list[str], admitted: bool
):
    getattr(auth, rule)(*addresses)
    auth.configure_plain(passwords={"admin": "secret"})
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, plain_server=True)
        client = make(zmtp.PUSH, **plain_client("admin", "secret"))
        ep = await server.bind("tcp://127.0.0.1:*")
        if admitted:
            on_server, on_client = await attempt(server, client, ep)
            assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
            await client.send(b"in")
            msg, frame = await recv_with_properties(server)
            assert msg == [b"in"]
            assert frame.get("Peer-Address") == "127.0.0.1"
        else:
            await assert_refused(server, client, ep, 400)


async def test_plain_right_password_admits_and_the_user_name_is_the_user_id(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.configure_plain(passwords={"admin": "secret"})
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, plain_server=True)
        client = make(zmtp.PUSH, **plain_client("admin", "secret"))
        await link(server, client, "tcp://127.0.0.1:*")
        await client.send_multipart([b"two", b"frames"])
        msg, frame = await recv_with_properties(server)
        assert msg == [b"two", b"frames"]
        assert frame.get("User-Id") == "admin"
        assert frame.get("user-id") == "admin", "property names are case-insensitive"
        assert frame.get("Peer-Address") == "127.0.0.1"
        assert frame.get("Socket-Type") == "PUSH"


async def test_plain_wrong_password_is_refused_with_400_and_the_client_does_not_retry(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.configure_plain(passwords={"admin": "secret"})
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, plain_server=True)
        # A client that kept reconnecting would do so every 10 ms.
        client = make(zmtp.PUSH, reconnect_ivl=10, **plain_client("admin", "guess"))
        async with server.monitor(Event.ACCEPTED) as accepted:
            ep = await server.bind("tcp://127.0.0.1:*")
            await assert_refused(server, client, ep, 400)
            await accepted.aclose()
            assert [ev.event async for ev in accepted] == [Event.ACCEPTED, Event.MONITOR_STOPPED]


@needs_nacl
async def test_curve_allow_list_admits_listed_keys_and_refuses_others_with_400(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.configure_curve(location=[CLIENT.public])
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.ROUTER, **curve_server())
        ep = await server.bind("tcp://127.0.0.1:*")
        stranger = make(zmtp.DEALER, **curve_client(keys=STRANGER))
        await assert_refused(server, stranger, ep, 400)
        listed = make(zmtp.DEALER, **curve_client(keys=CLIENT))
        on_server, on_client = await attempt(server, listed, ep)
        assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
        await listed.send(b"listed")
        msg, frame = await recv_with_properties(server)
        assert msg[1:] == [b"listed"]
        assert frame.get("User-Id") == CLIENT.public.decode()


@needs_nacl
async def test_curve_allow_any_admits_every_key_with_its_z85_as_user_id(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.configure_curve(location=zmtp.auth.CURVE_ALLOW_ANY)
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, **curve_server())
        ep = await server.bind("tcp://127.0.0.1:*")
        seen = set()
        for keys in (CLIENT, STRANGER):
            client = make(zmtp.PUSH, **curve_client(keys=keys))
            on_server, on_client = await attempt(server, client, ep)
            assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
            await client.send(b"any key")
            _, frame = await recv_with_properties(server)
            seen.add(frame.get("User-Id"))
        assert seen == {CLIENT.public.decode(), STRANGER.public.decode()}


@needs_nacl
async def test_zap_domain_selects_the_authenticators_configuration(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.configure_plain(domain="staff", passwords={"admin": "secret"})
    auth.configure_curve(domain="vault", location=[CLIENT.public])
    with anyio.fail_after(TIMEOUT):
        staff = make(zmtp.PULL, plain_server=True, zap_domain=b"staff")
        guests = make(zmtp.PULL, plain_server=True, zap_domain="guests")  # not configured
        vault = make(zmtp.PULL, **curve_server(zap_domain="vault"))
        lobby = make(zmtp.PULL, **curve_server(zap_domain="lobby"))  # not configured
        for server, client_options, admitted in [
            (staff, plain_client("admin", "secret"), True),
            (guests, plain_client("admin", "secret"), False),
            (vault, curve_client(), True),
            (lobby, curve_client(), False),
        ]:
            ep = await server.bind("tcp://127.0.0.1:*")
            client = make(zmtp.PUSH, **client_options)
            if admitted:
                on_server, on_client = await attempt(server, client, ep)
                assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
            else:
                await assert_refused(server, client, ep, 400)


async def test_null_clients_are_asked_about_only_when_the_server_sets_zap_domain(
    make: Make, auth: zmtp.auth.Authenticator
):
    auth.deny("127.0.0.1")
    with anyio.fail_after(TIMEOUT):
        guarded = make(zmtp.PULL, zap_domain="guarded")
        ep = await guarded.bind("tcp://127.0.0.1:*")
        await assert_refused(guarded, make(zmtp.PUSH), ep, 400)
        open_door = make(zmtp.PULL)  # no zap_domain: NULL asks nobody (libzmq 4.3)
        client = make(zmtp.PUSH)
        await link(open_door, client, "tcp://127.0.0.1:*")
        await client.send(b"unchecked")
        assert await open_door.recv() == b"unchecked"


# ---------------------------------------------------------------------------------------
# RFC 27 ZAP served by the application


async def serve_zap(handler: zmtp.Socket, decide: Callable[[list[bytes]], list[bytes]]) -> None:
    while True:
        request = await handler.recv_multipart()
        await handler.send_multipart(decide(request))


async def test_an_application_zap_handler_decides_and_its_user_id_and_metadata_reach_the_receiver(
    make: Make,
):
    requests: list[list[bytes]] = []

    def decide(request: list[bytes]) -> list[bytes]:
        requests.append(request)
        _version, rid, _domain, _address, _identity, _mechanism, user, _password = request
        if user == b"alice":
            meta = encode_metadata({"X-Role": b"auditor"})
            return [b"1.0", rid, b"200", b"OK", b"app:alice", meta]
        return [b"1.0", rid, b"400", b"not alice", b"", b""]

    with anyio.fail_after(TIMEOUT):
        handler = make(zmtp.REP)
        await handler.bind("inproc://zeromq.zap.01")
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_zap, handler, decide)
            server = make(zmtp.PULL, plain_server=True, zap_domain="app", routing_id=b"srv")
            ep = await server.bind("tcp://127.0.0.1:*")
            await assert_refused(server, make(zmtp.PUSH, **plain_client("bob", "pw")), ep, 400)
            alice = make(zmtp.PUSH, **plain_client("alice", "pw"))
            on_server, on_client = await attempt(server, alice, ep)
            assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
            await alice.send(b"signed")
            msg, frame = await recv_with_properties(server)
            tg.cancel_scope.cancel()
    assert msg == [b"signed"]
    assert frame.get("User-Id") == "app:alice"
    assert frame.get("X-Role") == "auditor"
    # RFC 27 "Request": version, request id, domain, address, identity, mechanism,
    # credentials; every request id distinct.
    assert [r[:1] + r[2:] for r in requests] == [
        [b"1.0", b"app", b"127.0.0.1", b"srv", b"PLAIN", b"bob", b"pw"],
        [b"1.0", b"app", b"127.0.0.1", b"srv", b"PLAIN", b"alice", b"pw"],
    ]
    assert requests[0][1] != requests[1][1]


async def test_a_zap_300_is_temporary_so_the_client_retries_and_gets_in(make: Make):
    answers = iter([b"300", b"200"])

    def decide(request: list[bytes]) -> list[bytes]:
        return [b"1.0", request[1], next(answers), b"", b"", b""]

    with anyio.fail_after(TIMEOUT):
        handler = make(zmtp.REP)
        await handler.bind("inproc://zeromq.zap.01")
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_zap, handler, decide)
            server = make(zmtp.PULL, plain_server=True)
            client = make(zmtp.PUSH, reconnect_ivl=10, **plain_client("u", "p"))
            async with client.monitor() as events:
                ep = await server.bind("tcp://127.0.0.1:*")
                await client.connect(ep)
                failed = await events.wait_for(OUTCOME)
                assert (failed.event, failed.value) == (Event.HANDSHAKE_FAILED_AUTH, 300)
                await events.wait_for(Event.CONNECT_RETRIED)
                await events.wait_for(Event.HANDSHAKE_SUCCEEDED)
            await client.send(b"second time lucky")
            assert await server.recv() == b"second time lucky"
            tg.cancel_scope.cancel()


async def test_a_zap_reply_with_a_wrong_version_refuses_the_client_with_500(make: Make):
    def decide(request: list[bytes]) -> list[bytes]:
        return [b"2.0", request[1], b"200", b"OK", b"", b""]

    with anyio.fail_after(TIMEOUT):
        handler = make(zmtp.REP)
        await handler.bind("inproc://zeromq.zap.01")
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_zap, handler, decide)
            server = make(zmtp.PULL, plain_server=True)
            ep = await server.bind("tcp://127.0.0.1:*")
            await assert_refused(server, make(zmtp.PUSH, **plain_client("u", "p")), ep, 500)
            tg.cancel_scope.cancel()


async def test_a_zap_reply_with_a_wrong_request_id_refuses_the_client_at_once(make: Make):
    def decide(request: list[bytes]) -> list[bytes]:
        return [b"1.0", request[1] + b"-other", b"200", b"OK", b"", b""]

    with anyio.fail_after(TIMEOUT):
        handler = make(zmtp.REP)
        await handler.bind("inproc://zeromq.zap.01")
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_zap, handler, decide)
            # handshake_ivl bounds how long the bug keeps the client waiting.
            server = make(zmtp.PULL, plain_server=True, handshake_ivl=1000)
            ep = await server.bind("tcp://127.0.0.1:*")
            await assert_refused(server, make(zmtp.PUSH, **plain_client("u", "p")), ep, 500)
            tg.cancel_scope.cancel()


# ---------------------------------------------------------------------------------------
# No ZAP handler: libzmq's policy


async def test_a_plain_server_without_a_zap_handler_refuses_everyone_with_500(make: Make):
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, plain_server=True)
        ep = await server.bind("tcp://127.0.0.1:*")
        await assert_refused(server, make(zmtp.PUSH, **plain_client("admin", "secret")), ep, 500)


@needs_nacl
async def test_a_curve_server_without_a_zap_handler_admits_any_client_key(make: Make):
    with anyio.fail_after(TIMEOUT):
        server = make(zmtp.PULL, **curve_server())
        ep = await server.bind("tcp://127.0.0.1:*")
        for keys in (CLIENT, STRANGER):
            client = make(zmtp.PUSH, **curve_client(keys=keys))
            on_server, on_client = await attempt(server, client, ep)
            assert on_server.event == on_client.event == Event.HANDSHAKE_SUCCEEDED
            await client.send(keys.public)
            assert await server.recv() == keys.public


# ---------------------------------------------------------------------------------------
# inproc: no handshake, so no mechanism


@needs_nacl
@pytest.mark.parametrize(
    "server_options",
    [curve_server(), {"plain_server": True}, {"zap_domain": "guarded"}],
    ids=["curve_server", "plain_server", "zap_domain"],
)
async def test_inproc_has_no_security_handshake_so_no_keys_and_no_zap_request(
    make: Make, server_options: dict[str, Any]
):
    with anyio.fail_after(TIMEOUT):
        handler = make(zmtp.REP)  # would see any ZAP request
        await handler.bind("inproc://zeromq.zap.01")
        server = make(zmtp.PULL, **server_options)
        client = make(zmtp.PUSH)  # no credentials at all
        await link(server, client, "inproc://guarded-by-options-only")
        await client.send(b"in without a handshake")
        frames = await server.recv_multipart(copy=False)
        assert frames == [b"in without a handshake"]
        with pytest.raises(KeyError):  # no handshake, no properties (as libzmq)
            frames[0].get("User-Id")
        with pytest.raises(zmtp.Again):
            handler.recv_multipart_nowait()


# ---------------------------------------------------------------------------------------
# Keys (RFC 32 Z85) and option checks


def key_as(form: str, key: bytes) -> Any:
    if form == "z85-bytes":
        return key
    if form == "z85-str":
        return key.decode()
    return z85.decode(key)  # 32 raw octets


@needs_nacl
@pytest.mark.parametrize("form", ["z85-bytes", "z85-str", "raw"])
async def test_curve_keys_are_accepted_as_z85_text_or_raw_octets(
    make: Make, auth: zmtp.auth.Authenticator, form: str
):
    auth.configure_curve(location=[key_as(form, CLIENT.public)])
    with anyio.fail_after(TIMEOUT):
        server = make(
            zmtp.PULL,
            curve_server=True,
            curve_publickey=key_as(form, SERVER.public),
            curve_secretkey=key_as(form, SERVER.secret),
        )
        client = make(
            zmtp.PUSH,
            curve_serverkey=key_as(form, SERVER.public),
            curve_publickey=key_as(form, CLIENT.public),
            curve_secretkey=key_as(form, CLIENT.secret),
        )
        await link(server, client, "tcp://127.0.0.1:*")
        await client.send(b"keyed")
        msg, frame = await recv_with_properties(server)
        assert msg == [b"keyed"]
        assert frame.get("User-Id") == CLIENT.public.decode()


@needs_nacl
def test_curve_keypair_gives_z85_keys_and_curve_public_derives_the_public_key():
    public, secret = zmtp.curve_keypair()
    assert isinstance(public, bytes) and isinstance(secret, bytes)
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32
    assert zmtp.curve_public(secret) == public
    assert zmtp.curve_public(secret.decode()) == public
    assert zmtp.curve_public(z85.decode(secret)) == public
    assert zmtp.curve_keypair()[1] != secret, "every pair is new"


@pytest.mark.parametrize("option", ["curve_serverkey", "curve_publickey", "curve_secretkey"])
@pytest.mark.parametrize("length", [31, 33, 39, 41])
async def test_a_curve_key_of_the_wrong_length_raises_naming_the_option(
    ctx: zmtp.Context, option: str, length: int
):
    with pytest.raises(zmtp.ZMTPValueError, match=option):
        ctx.socket(zmtp.DEALER, **{option: b"k" * length})


@pytest.mark.parametrize("option", ["curve_serverkey", "curve_publickey", "curve_secretkey"])
async def test_a_40_character_curve_key_that_is_not_z85_raises_naming_the_option(
    ctx: zmtp.Context, option: str
):
    with pytest.raises(zmtp.ZMTPValueError, match=option):
        ctx.socket(zmtp.DEALER, **{option: "~" * 40})


MISSING_KEYS = [
    pytest.param("bind", {"curve_server": True}, "curve_secretkey", id="server-no-secretkey"),
    pytest.param(
        "connect",
        {"curve_serverkey": SERVER.public, "curve_publickey": CLIENT.public},
        "curve_secretkey",
        id="client-no-secretkey",
    ),
    pytest.param(
        "connect",
        {"curve_serverkey": SERVER.public, "curve_secretkey": CLIENT.secret},
        "curve_publickey",
        id="client-no-publickey",
    ),
]


@needs_nacl
@pytest.mark.parametrize(("call", "options", "missing"), MISSING_KEYS)
async def test_missing_curve_keys_raise_at_bind_or_connect_naming_the_option(
    make: Make, call: str, options: dict[str, Any], missing: str
):
    # Nobody listens at the connect address and nobody connects to the bind, so the
    # bug's late check never runs: without the fix, bind/connect simply succeed.
    with anyio.fail_after(TIMEOUT), pytest.raises(zmtp.ZMTPValueError, match=missing):
        sock = make(zmtp.DEALER, **options)
        if call == "bind":
            await sock.bind("tcp://127.0.0.1:*")
        else:
            await sock.connect(f"tcp://127.0.0.1:{unused_port()}")


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------
# Without PyNaCl


@pytest.fixture
def no_nacl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import nacl.bindings`` fail, as on a system without PyNaCl: the CURVE code
    imports it only through ``zmtp.wire.z85.nacl_bindings()``, when first needed."""
    monkeypatch.setitem(sys.modules, "nacl", None)
    monkeypatch.setitem(sys.modules, "nacl.bindings", None)
    monkeypatch.setitem(sys.modules, "nacl.exceptions", None)


def test_without_pynacl_key_helpers_and_curve_mechanisms_say_what_to_install(no_nacl: None):
    from zmtp.wire import CurveClient, CurveServer

    attempts: list[Callable[[], Any]] = [
        zmtp.curve_keypair,
        lambda: zmtp.curve_public(b"0" * 40),
        lambda: CurveServer(b"0" * 40, b"0" * 40),
        lambda: CurveClient(b"0" * 40, b"0" * 40, b"0" * 40),
    ]
    for call in attempts:
        with pytest.raises(zmtp.MechanismUnavailable) as info:
            call()
        assert "PyNaCl" in str(info.value)
        assert "pip install zmtp[curve]" in str(info.value)


@pytest.mark.parametrize("call", ["bind", "connect"])
async def test_without_pynacl_a_curve_socket_raises_mechanism_unavailable_at_bind_or_connect(
    make: Make, no_nacl: None, call: str
):
    keys = KeyPair(b"0" * 40, b"0" * 40)  # any well-formed Z85 (curve_keypair needs PyNaCl)
    options = (
        curve_server(keys, curve_publickey=keys.public)
        if call == "bind"
        else curve_client(keys.public, keys)
    )
    with anyio.fail_after(TIMEOUT), pytest.raises(zmtp.MechanismUnavailable, match="PyNaCl"):
        sock = make(zmtp.DEALER, **options)
        if call == "bind":
            await sock.bind("tcp://127.0.0.1:*")
        else:
            await sock.connect(f"tcp://127.0.0.1:{unused_port()}")
