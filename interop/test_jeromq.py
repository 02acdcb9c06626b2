"""zmtp against JeroMQ 0.3.6, a ZMTP 2.0 peer (RFC 15), over tcp.

JeroMQ 0.3.6 is what Debian still ships (``libjeromq-java``); its greeting is
``ff 00..01 7f 01 <type>`` and its framing RFC 15's. Each test runs one JeroMQ socket
in a JVM (``jeromq/JeromqPeer.java``, compiled once per session) and a zmtp socket
through the public API of each engine, with either side binding: REQ/REP both ways,
DEALER/ROUTER both ways with identities, PUSH/PULL both ways with multipart messages,
PUB/SUB both ways with prefix filters and unsubscription, and PAIR.

Without java, javac or the JeroMQ jar the tests skip and say what to install; with
``ZMTP_REQUIRE_JEROMQ=1`` (set by CI once it installed them) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from engines import Engine
from jeromq_helpers import JeromqPeer, compile_peer, find_jeromq

import zmtp

pytestmark = pytest.mark.interop

#: Seconds one test may take: a JVM starts in well under one.
TIMEOUT = 20
BIND = "tcp://127.0.0.1:*"
#: A message with an empty frame, a long frame (RFC 15: 8-octet size) and binary octets.
MULTIPART = [b"", b"x" * 300, b"\x00\x01\xfe\xff", b"end"]


@pytest.fixture(scope="session")
def jeromq(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """``(java, classpath)`` with JeromqPeer compiled, or a skip saying what is missing."""
    found = find_jeromq()
    if isinstance(found, str):
        if os.environ.get("ZMTP_REQUIRE_JEROMQ"):
            pytest.fail(f"ZMTP_REQUIRE_JEROMQ is set, but {found}")
        pytest.skip(found)
    java, javac, jar = found
    out: Path = tmp_path_factory.mktemp("jeromq")
    compile_peer(javac, jar, out)
    return java, f"{jar}{os.pathsep}{out}"


@pytest.fixture
async def zctx(engine: Engine) -> AsyncIterator[zmtp.Context]:
    async with engine.Context() as context:
        yield context


Link = Callable[..., Any]


@pytest.fixture(params=["zmtp-binds", "jeromq-binds"])
def link(request: pytest.FixtureRequest, jeromq: tuple[str, str], zctx: zmtp.Context) -> Link:
    """``async with link(zmtp.REQ, "REP") as (sock, peer)``: a zmtp socket and a JeroMQ
    socket connected over tcp (either side binding), once zmtp's handshake is done."""
    java, classpath = jeromq

    @asynccontextmanager
    async def make(
        ours: zmtp.SocketType, theirs: str, *, identity: bytes | None = None, **options: Any
    ) -> AsyncIterator[tuple[zmtp.Socket, JeromqPeer]]:
        options.setdefault("linger", 0)
        sock = zctx.socket(ours, **options)
        async with sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            if request.param == "zmtp-binds":
                ep = await sock.bind(BIND)
                start = JeromqPeer.start(java, classpath, theirs, "connect", ep, identity)
            else:
                start = JeromqPeer.start(java, classpath, theirs, "bind", BIND, identity)
            async with start as peer:
                if request.param == "jeromq-binds":
                    await sock.connect(peer.endpoint)
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
                yield sock, peer
        await sock.close(linger=0)

    return make


# =======================================================================================
# Request-reply (RFC 28)


async def test_zmtp_req_to_jeromq_rep(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.REQ, "REP") as (req, rep):
            for i in range(3):
                await req.send_multipart([b"question %d" % i, b"more"])
                assert await rep.recv() == [b"question %d" % i, b"more"]
                await rep.send([b"answer %d" % i])
                assert await req.recv() == b"answer %d" % i


async def test_jeromq_req_to_zmtp_rep(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.REP, "REQ") as (rep, req):
            for i in range(3):
                await req.send([b"question %d" % i])
                assert await rep.recv() == b"question %d" % i
                await rep.send_multipart([b"answer %d" % i, b""])
                assert await req.recv() == [b"answer %d" % i, b""]


async def test_zmtp_router_addresses_a_jeromq_dealer_by_its_identity(link: Link):
    """RFC 15 "identity": JeroMQ's identity frame is its routing id at our ROUTER."""
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.ROUTER, "DEALER", identity=b"jeromq-dealer") as (router, dealer):
            await dealer.send(MULTIPART)
            assert await router.recv_multipart() == [b"jeromq-dealer", *MULTIPART]
            await router.send_multipart([b"jeromq-dealer", b"reply"])
            assert await dealer.recv() == [b"reply"]


async def test_jeromq_router_addresses_a_zmtp_dealer_by_its_routing_id(link: Link):
    """RFC 15 "identity": our routing id travels in our identity frame."""
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.DEALER, "ROUTER", routing_id=b"zmtp-dealer") as (dealer, router):
            await dealer.send_multipart(MULTIPART)
            assert await router.recv() == [b"zmtp-dealer", *MULTIPART]
            await router.send([b"zmtp-dealer", b"reply"])
            assert await dealer.recv() == b"reply"


# =======================================================================================
# Pipeline (RFC 30) and exclusive pair (RFC 31)


async def test_zmtp_push_to_jeromq_pull(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.PUSH, "PULL") as (push, pull):
            big = bytes(range(256)) * 400  # a 100 KiB frame
            for msg in (MULTIPART, [big], [b"last"]):
                await push.send_multipart(msg)
                assert await pull.recv() == msg


async def test_jeromq_push_to_zmtp_pull(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.PULL, "PUSH") as (pull, push):
            for msg in (MULTIPART, [b"y" * 70000], [b"last"]):
                await push.send(msg)
                assert await pull.recv_multipart() == msg


async def test_pair_with_jeromq_pair(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.PAIR, "PAIR") as (ours, theirs):
            await ours.send_multipart(MULTIPART)
            assert await theirs.recv() == MULTIPART
            await theirs.send([b"back", b"again"])
            assert await ours.recv_multipart() == [b"back", b"again"]


# =======================================================================================
# Publish-subscribe (RFC 29; RFC 15 "Publish-Subscribe")


async def _publish_until_received(
    send: Callable[[], Any], receive: Callable[[], Any], expected: list[bytes]
) -> None:
    """Publish again and again until the subscriber gets ``expected``: a subscription
    takes effect at the publisher some time after it was made, and nothing reports
    when."""
    while True:
        await send()
        got = await receive()
        if got is not None:
            assert got == expected
            return


async def test_zmtp_pub_to_jeromq_sub_filters_by_prefix_and_honours_unsubscribe(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.PUB, "SUB") as (pub, sub):
            await sub.subscribe(b"A")
            await _publish_until_received(
                lambda: pub.send(b"A-probe"),
                lambda: sub.recv(50),  # pacing: how long one attempt waits
                [b"A-probe"],
            )
            for topic in (b"B1", b"A1", b"AB2"):
                await pub.send(topic)
            got = [await sub.recv() for _ in range(2)]
            while got[0] == [b"A-probe"]:  # probes still in flight
                got = [got[1], await sub.recv()]
            assert got == [[b"A1"], [b"AB2"]]  # B1 was filtered out

            await sub.unsubscribe(b"A")
            await sub.subscribe(b"C")  # arrives after the unsubscription
            await _publish_until_received(
                lambda: pub.send(b"C-probe"), lambda: sub.recv(50), [b"C-probe"]
            )
            await pub.send(b"A2")
            await pub.send(b"C1")
            while (got_c := await sub.recv()) == [b"C-probe"]:
                pass
            assert got_c == [b"C1"]  # A2 was not sent: the unsubscription took


async def test_jeromq_pub_to_zmtp_sub_filters_by_prefix_and_honours_unsubscribe(link: Link):
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.SUB, "PUB", subscribe=b"A") as (sub, pub):

            async def recv_briefly() -> list[bytes] | None:
                # pacing: how long one attempt waits; a wait that times out takes nothing
                if await sub.poll(50):
                    return await sub.recv_multipart()
                return None

            await _publish_until_received(
                lambda: pub.send([b"A-probe", b"part"]), recv_briefly, [b"A-probe", b"part"]
            )
            for topic in (b"B1", b"A1"):
                await pub.send([topic])
            while (got := await sub.recv_multipart()) == [b"A-probe", b"part"]:
                pass
            assert got == [b"A1"]

            sub.unsubscribe(b"A")
            sub.subscribe(b"C")
            await _publish_until_received(
                lambda: pub.send([b"C-probe"]), recv_briefly, [b"C-probe"]
            )
            await pub.send([b"A2"])
            await pub.send([b"C1"])
            while (got := await sub.recv_multipart()) == [b"C-probe"]:
                pass
            assert got == [b"C1"]


async def test_jeromq_sub_subscriptions_reach_a_zmtp_xpub_as_messages(link: Link):
    """RFC 15 "Publish-Subscribe": JeroMQ's (un)subscriptions arrive as %x01 / %x00 plus
    the topic, which an XPUB hands to the application."""
    with anyio.fail_after(TIMEOUT):
        async with link(zmtp.XPUB, "SUB") as (xpub, sub):
            await sub.subscribe(b"weather")
            while not await xpub.poll(50):  # pacing: JeroMQ sends once poked
                await sub.poke()  # a bound SUB attaches us only when touched
            assert await xpub.recv() == b"\x01weather"
            await xpub.send(b"weather: sunny")
            assert await sub.recv() == [b"weather: sunny"]
            await sub.unsubscribe(b"weather")
            assert await xpub.recv() == b"\x00weather"
