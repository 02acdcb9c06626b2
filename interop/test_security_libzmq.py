"""Security between zmtp's engine and libzmq 4.3 (through pyzmq), over tcp: CURVE
(RFC 25/26), PLAIN (RFC 24) and ZAP (RFC 27) in both directions.

``test_curve_libzmq.py`` checks the sans-IO CURVE core against libzmq byte by byte;
this module checks what users of ``zmtp.Socket`` see when the peer is libzmq: traffic
in boxes (DEALER/ROUTER, PUB/SUB, multipart, 1 MiB), refusals reported on both sides'
monitors, each side's ZAP handler refusing the other's clients (``zmtp.auth`` and
pyzmq's ``ThreadAuthenticator``), and the User-Id a handler gives a client, read on
the other side through ``recv_multipart(copy=False)`` frames.

What libzmq 4.3.5 was seen doing (no RFC promises these):

* a CURVE HELLO it cannot open (wrong server key) closes the connection without ERROR
  and reports HANDSHAKE_FAILED_PROTOCOL / PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC; zmtp's
  client then sees the peer close mid-handshake and retries, as a libzmq client would;
* zmtp's CURVE server answers the same fault with ERROR; libzmq's client then reports
  only DISCONNECTED (no HANDSHAKE_FAILED event) and does not reconnect;
* a ZAP refusal ("400") reaches libzmq's CURVE client as HANDSHAKE_FAILED_AUTH 400,
  and zmtp's clients report it the same way and stop;
* libzmq's PLAIN client does not recognise the (correctly spelt) ERROR of zmtp's PLAIN
  server: it reports HANDSHAKE_FAILED_PROTOCOL (ZMTP_UNEXPECTED_COMMAND) instead of
  HANDSHAKE_FAILED_AUTH (see the README's differences from libzmq);
* a ZAP handler (zmtp's or pyzmq's) gives a CURVE client its key in Z85 as User-Id,
  and a PLAIN client its user name.

libzmq runs in worker threads (``anyio.to_thread``) with 5 s socket timeouts; every test
body runs under ``anyio.fail_after``. Nothing sleeps: waits are on monitors (zmtp's and
libzmq's) and messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import zmq
import zmq.auth
from engines import Engine
from libzmq_helpers import HOST, echo_n, in_thread
from zmq.auth.thread import ThreadAuthenticator

import zmtp
from zmtp import Event

pytestmark = pytest.mark.interop

try:
    import nacl.bindings  # noqa: F401

    HAVE_CURVE = zmq.has("curve")
except ImportError:  # pragma: no cover - PyNaCl is in the test extras
    HAVE_CURVE = False

needs_curve = pytest.mark.skipif(
    not HAVE_CURVE, reason="needs PyNaCl (pip install zmtp[curve]) and a libzmq with CURVE"
)

#: Seconds a whole test may take.
TEST_TIMEOUT = 15

MIB = bytes(range(256)) * 4096
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
LIBZMQ_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
)

# Keys made by pyzmq and by zmtp, so that each side uses the other's too.
if HAVE_CURVE:
    SERVER = zmq.curve_keypair()
    CLIENT = zmtp.curve_keypair()
    STRANGER = zmq.curve_keypair()
    IMPOSTOR = zmtp.curve_keypair()
else:  # pragma: no cover
    SERVER = CLIENT = STRANGER = IMPOSTOR = (b"", b"")


def curve_server(keys: tuple[bytes, bytes] = SERVER) -> dict[str, Any]:
    return {"curve_server": True, "curve_secretkey": keys[1]}


def curve_client(
    server_public: bytes = SERVER[0], keys: tuple[bytes, bytes] = CLIENT
) -> dict[str, Any]:
    return {
        "curve_serverkey": server_public,
        "curve_publickey": keys[0],
        "curve_secretkey": keys[1],
    }


def plain_client(user: str, password: str) -> dict[str, Any]:
    return {"plain_username": user.encode(), "plain_password": password.encode()}


# ---------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
async def zmtp_auth(engine: Engine, zctx: zmtp.Context) -> AsyncIterator[zmtp.auth.Authenticator]:
    async with engine.Authenticator(zctx) as authenticator:
        yield authenticator


def libzmq_bind(zsocket: zmq.Socket) -> str:
    port = zsocket.bind_to_random_port(f"tcp://{HOST}")
    return f"tcp://{HOST}:{port}"


async def zmtp_connect(sock: zmtp.Socket, endpoint: str, *, then_send: bytes | None = None):
    """Connect ``sock`` to a libzmq server; the first handshake outcome it reports."""
    async with sock.monitor(OUTCOME) as outcome:
        await sock.connect(endpoint)
        if then_send is not None:
            await sock.send(then_send)  # waits in the connecter's pipe
        return await outcome.wait_for(OUTCOME)


async def libzmq_connect(
    server: zmtp.Socket, endpoint: str, client: zmq.Socket, *, then_send: bytes | None = None
):
    """Connect a libzmq ``client`` to a zmtp ``server`` (queueing ``then_send`` while the
    handshake runs); the server's first handshake outcome."""
    async with server.monitor(OUTCOME) as outcome:
        client.connect(endpoint)
        if then_send is not None:
            client.send(then_send, zmq.NOBLOCK)  # libzmq made the pipe in connect()
        return await outcome.wait_for(OUTCOME)


def recv_until(zsocket: zmq.Socket, last: list[bytes], skip: list[bytes]) -> list[list[bytes]]:
    """Messages up to (not including) ``last``, leaving out copies of ``skip``."""
    got = []
    while (msg := zsocket.recv_multipart()) != last:
        if msg != skip:
            got.append(msg)
    return got


def poll_recv(zsocket: zmq.Socket, ms: int) -> list[bytes] | None:
    return zsocket.recv_multipart() if zsocket.poll(ms) else None


def send_all_then_recv(zsocket: zmq.Socket, msgs: list[list[bytes]]) -> list[list[bytes]]:
    for msg in msgs:
        zsocket.send_multipart(msg)
    return [zsocket.recv_multipart() for _ in msgs]


def frames_with_properties(zsocket: zmq.Socket) -> list[zmq.Frame]:
    return zsocket.recv_multipart(copy=False)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------
# CURVE traffic (RFC 26 "The MESSAGE Command")


@needs_curve
@pytest.mark.parametrize("zmtp_role", ["zmtp-client", "zmtp-server"])
async def test_curve_dealer_router_exchange_multipart_and_1mib_messages_with_libzmq(
    zmtp_socket, zsock, zmtp_role
):
    with anyio.fail_after(TEST_TIMEOUT):
        if zmtp_role == "zmtp-client":
            router = zsock(zmq.ROUTER, **curve_server())
            dealer = zmtp_socket(zmtp.DEALER, **curve_client())
            outcome = await zmtp_connect(dealer, libzmq_bind(router))
            assert outcome.event == Event.HANDSHAKE_SUCCEEDED
            async with anyio.create_task_group() as tg:
                tg.start_soon(in_thread, echo_n, router, len(MESSAGES))
                for msg in MESSAGES:
                    await dealer.send_multipart(msg)
                got = [await dealer.recv_multipart() for _ in MESSAGES]
        else:
            router = zmtp_socket(zmtp.ROUTER, **curve_server())
            ep = await router.bind(f"tcp://{HOST}:*")
            dealer = zsock(zmq.DEALER, **curve_client())
            outcome = await libzmq_connect(router, ep, dealer)
            assert outcome.event == Event.HANDSHAKE_SUCCEEDED

            async def echo() -> None:
                for _ in MESSAGES:
                    await router.send_multipart(await router.recv_multipart())

            async with anyio.create_task_group() as tg:
                tg.start_soon(echo)
                got = await in_thread(send_all_then_recv, dealer, MESSAGES)
        assert got == MESSAGES


@needs_curve
@pytest.mark.parametrize("zmtp_role", ["zmtp-pub-server", "zmtp-sub-client"])
async def test_curve_pub_sub_with_libzmq_delivers_only_subscribed_messages(
    zmtp_socket, zsock, zmtp_role
):
    probe = [b"weather", b"probe"]
    end = [b"weather", b"end"]
    traffic = []
    for msg in MESSAGES:
        traffic += [[b"sports", b"not subscribed"], [b"weather", *msg]]
    wanted = [msg for msg in traffic if msg[0] == b"weather"]
    with anyio.fail_after(TEST_TIMEOUT):
        if zmtp_role == "zmtp-pub-server":
            pub = zmtp_socket(zmtp.PUB, **curve_server())
            ep = await pub.bind(f"tcp://{HOST}:*")
            sub = zsock(zmq.SUB, **curve_client())
            sub.subscribe(b"weather")
            assert (await libzmq_connect(pub, ep, sub)).event == Event.HANDSHAKE_SUCCEEDED
            # The subscription crosses in a box after the handshake: probe until one
            # arrives, so that the publisher has it.
            while True:
                await pub.send_multipart(probe)
                if await in_thread(poll_recv, sub, 50) is not None:
                    break
            for msg in [*traffic, end]:
                await pub.send_multipart(msg)
            got = await in_thread(recv_until, sub, end, probe)
        else:
            pub = zsock(zmq.PUB, **curve_server())
            sub = zmtp_socket(zmtp.SUB, subscribe=b"weather", **curve_client())
            outcome = await zmtp_connect(sub, libzmq_bind(pub))
            assert outcome.event == Event.HANDSHAKE_SUCCEEDED
            while True:
                await in_thread(pub.send_multipart, probe)
                if await sub.poll(50):  # pacing; a wait that times out takes nothing
                    await sub.recv_multipart()
                    break

            def publish() -> None:
                for msg in [*traffic, end]:
                    pub.send_multipart(msg)

            await in_thread(publish)
            got = []
            while (msg := await sub.recv_multipart()) != end:
                if msg != probe:
                    got.append(msg)
        assert got == wanted


# ---------------------------------------------------------------------------------------
# CURVE refusals: the wrong server key, a client key the ZAP handler does not know


@needs_curve
async def test_a_zmtp_client_with_the_wrong_server_key_fails_against_libzmq(
    zmtp_socket, zsock, monitor
):
    with anyio.fail_after(TEST_TIMEOUT):
        router = zsock(zmq.ROUTER, **curve_server())
        on_libzmq = monitor(router)
        dealer = zmtp_socket(
            zmtp.DEALER, reconnect_ivl=60_000, **curve_client(server_public=IMPOSTOR[0])
        )
        outcome = await zmtp_connect(dealer, libzmq_bind(router), then_send=b"never")
        assert outcome.event in FAILED
        failed = await in_thread(on_libzmq.wait_for, *LIBZMQ_FAILED)
        assert failed["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        assert failed["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in [e["event"] for e in on_libzmq.seen]
        assert router.poll(0) == 0, "nothing may arrive without a handshake"


@needs_curve
async def test_a_libzmq_client_with_the_wrong_server_key_fails_against_zmtp(
    zmtp_socket, zsock, monitor
):
    with anyio.fail_after(TEST_TIMEOUT):
        router = zmtp_socket(zmtp.ROUTER, **curve_server())
        ep = await router.bind(f"tcp://{HOST}:*")
        dealer = zsock(zmq.DEALER, **curve_client(server_public=IMPOSTOR[0]))
        on_libzmq = monitor(dealer)
        outcome = await libzmq_connect(router, ep, dealer, then_send=b"never")
        assert outcome.event == Event.HANDSHAKE_FAILED_PROTOCOL
        assert "HELLO" in outcome.reason
        await in_thread(on_libzmq.wait_for, zmq.EVENT_DISCONNECTED, *LIBZMQ_FAILED)
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in [e["event"] for e in on_libzmq.seen]
        with pytest.raises(zmtp.Again):
            router.recv_multipart_nowait()


@needs_curve
async def test_zmtp_authenticator_refuses_a_libzmq_client_key_not_on_its_allow_list(
    zmtp_socket, zsock, monitor, zmtp_auth
):
    zmtp_auth.configure_curve(location=[CLIENT[0]])
    with anyio.fail_after(TEST_TIMEOUT):
        router = zmtp_socket(zmtp.ROUTER, **curve_server())
        ep = await router.bind(f"tcp://{HOST}:*")
        stranger = zsock(zmq.DEALER, **curve_client(keys=STRANGER))
        on_stranger = monitor(stranger)
        refused = await libzmq_connect(router, ep, stranger, then_send=b"never")
        assert (refused.event, refused.value) == (Event.HANDSHAKE_FAILED_AUTH, 400)
        failed = await in_thread(on_stranger.wait_for, *LIBZMQ_FAILED)
        assert (failed["event"], failed["value"]) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
        # A listed libzmq client gets in, and its key is its User-Id.
        listed = zsock(zmq.DEALER, **curve_client(keys=CLIENT))
        assert (await libzmq_connect(router, ep, listed)).event == Event.HANDSHAKE_SUCCEEDED
        listed.send_multipart([b"listed", MIB])
        frames = await router.recv_multipart(copy=False)
        assert [f.bytes for f in frames[1:]] == [b"listed", MIB]
        assert frames[1].get("User-Id") == CLIENT[0].decode()
        with pytest.raises(zmtp.Again):
            router.recv_multipart_nowait()


@needs_curve
async def test_pyzmq_authenticator_refuses_a_zmtp_client_key_not_on_its_allow_list(
    ctx, zmtp_socket, zsock, monitor, tmp_path: Path
):
    _, secret_file = zmq.auth.create_certificates(tmp_path, "listed")
    listed_keys = zmq.auth.load_certificate(secret_file)
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=tmp_path)  # the public .key files
        with anyio.fail_after(TEST_TIMEOUT):
            router = zsock(zmq.ROUTER, **curve_server())
            on_libzmq = monitor(router)
            ep = libzmq_bind(router)
            stranger = zmtp_socket(zmtp.DEALER, **curve_client(keys=STRANGER))
            async with stranger.monitor() as on_stranger:
                refused = await zmtp_connect(stranger, ep, then_send=b"never")
                assert (refused.event, refused.value) == (Event.HANDSHAKE_FAILED_AUTH, 400)
                after = await on_stranger.wait_for(Event.CLOSED | Event.CONNECT_RETRIED)
                assert after.event == Event.CLOSED, "a refused client does not come back"
            failed = await in_thread(on_libzmq.wait_for, *LIBZMQ_FAILED)
            assert (failed["event"], failed["value"]) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
            listed = zmtp_socket(zmtp.DEALER, **curve_client(keys=listed_keys))
            assert (await zmtp_connect(listed, ep)).event == Event.HANDSHAKE_SUCCEEDED
            await listed.send_multipart([b"listed", MIB])
            frames = await in_thread(frames_with_properties, router)
            assert [f.bytes for f in frames[1:]] == [b"listed", MIB]
            assert frames[1].get("User-Id") == listed_keys[0].decode()
            assert router.poll(0) == 0, "the stranger's message never arrives"
    finally:
        auth.stop()


# ---------------------------------------------------------------------------------------
# PLAIN with ZAP (RFC 24, RFC 27) in both directions


@pytest.mark.parametrize("password", ["secret", "wrong"])
async def test_zmtp_plain_server_with_zap_judges_a_libzmq_client(
    zmtp_socket, zsock, monitor, zmtp_auth, password
):
    zmtp_auth.configure_plain(passwords={"admin": "secret"})
    with anyio.fail_after(TEST_TIMEOUT):
        pull = zmtp_socket(zmtp.PULL, plain_server=True)
        ep = await pull.bind(f"tcp://{HOST}:*")
        push = zsock(zmq.PUSH, **plain_client("admin", password))
        on_libzmq = monitor(push)
        outcome = await libzmq_connect(pull, ep, push, then_send=b"plain text")
        if password == "secret":
            assert outcome.event == Event.HANDSHAKE_SUCCEEDED
            frames = await pull.recv_multipart(copy=False)
            assert frames == [b"plain text"]
            assert frames[0].get("User-Id") == "admin"
            assert frames[0].get("Peer-Address") == HOST
            assert frames[0].get("Socket-Type") == "PUSH"
        else:
            assert (outcome.event, outcome.value) == (Event.HANDSHAKE_FAILED_AUTH, 400)
            # libzmq 4.3.5 reads our ERROR as a protocol error, not an auth failure.
            await in_thread(on_libzmq.wait_for, *LIBZMQ_FAILED)
            assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in [e["event"] for e in on_libzmq.seen]
            with pytest.raises(zmtp.Again):
                pull.recv_multipart_nowait()


@pytest.mark.parametrize("password", ["secret", "wrong"])
async def test_libzmq_plain_server_with_zap_judges_a_zmtp_client(
    zmtp_socket, zsock, monitor, zap, password
):
    # ``zap``: pyzmq's ThreadAuthenticator admitting admin / secret (interop/conftest.py).
    with anyio.fail_after(TEST_TIMEOUT):
        pull = zsock(zmq.PULL, plain_server=True)
        on_libzmq = monitor(pull)
        ep = libzmq_bind(pull)
        push = zmtp_socket(zmtp.PUSH, **plain_client("admin", password))
        async with push.monitor() as on_zmtp:
            outcome = await zmtp_connect(push, ep, then_send=b"plain text")
            if password == "secret":
                assert outcome.event == Event.HANDSHAKE_SUCCEEDED
                frames = await in_thread(frames_with_properties, pull)
                assert [f.bytes for f in frames] == [b"plain text"]
                assert frames[0].get("User-Id") == "admin"
                return
            assert (outcome.event, outcome.value) == (Event.HANDSHAKE_FAILED_AUTH, 400)
            after = await on_zmtp.wait_for(Event.CLOSED | Event.CONNECT_RETRIED)
            assert after.event == Event.CLOSED, "a refused client does not come back"
        failed = await in_thread(on_libzmq.wait_for, *LIBZMQ_FAILED)
        assert (failed["event"], failed["value"]) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
        assert pull.poll(0) == 0


# ---------------------------------------------------------------------------------------
# Keys (RFC 32 Z85)


@needs_curve
def test_zmtp_and_pyzmq_derive_the_same_public_keys():
    theirs, ours = zmq.curve_keypair(), zmtp.curve_keypair()
    assert zmtp.curve_public(theirs[1]) == theirs[0]
    assert zmq.curve_public(ours[1]) == ours[0]
