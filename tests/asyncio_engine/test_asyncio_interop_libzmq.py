"""zmtp.asyncio against libzmq (through pyzmq), over tcp and ipc, with either side
binding: PUSH/PULL, REQ/REP, DEALER/ROUTER and publish-subscribe with a filter.

libzmq runs its blocking calls in worker threads (``run_in_executor``) with receive
and send timeouts, so no call can hang the loop or the test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import zmq
from asyncio_helpers import Runner, in_thread, zsocket

import zmtp
import zmtp.asyncio

pytestmark = pytest.mark.interop


@pytest.fixture(params=["tcp", "ipc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["zmtp-binds", "libzmq-binds"])
def binder(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def join(
    ours: zmtp.asyncio.Socket, theirs: Any, binder: str, transport: str, tmp: Path
) -> None:
    """Bind one side and connect the other; return once zmtp saw the handshake."""
    async with ours.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
        if binder == "zmtp-binds":
            endpoint = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp}/zmtp.sock"
            theirs.connect(await ours.bind(endpoint))
        else:
            if transport == "tcp":
                port = theirs.bind_to_random_port("tcp://127.0.0.1")
                endpoint = f"tcp://127.0.0.1:{port}"
            else:
                endpoint = f"ipc://{tmp}/libzmq.sock"
                theirs.bind(endpoint)
            await ours.connect(endpoint)
        await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)


def test_push_to_libzmq_pull_and_back(
    run: Runner, zctx: Any, transport: str, binder: str, tmp_path: Path
) -> None:
    n = 200

    async def main() -> tuple[list[bytes], list[bytes]]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            push, pull = ctx.socket(zmtp.PUSH), ctx.socket(zmtp.PULL)
            zpull, zpush = zsocket(zctx, zmq.PULL), zsocket(zctx, zmq.PUSH)
            await join(push, zpull, binder, transport, tmp_path / "a")
            await join(pull, zpush, binder, transport, tmp_path / "b")
            for i in range(n):
                await push.send_multipart([b"%d" % i, b"x" * (i * 37 % 5000)])
            theirs = [(await in_thread(zpull.recv_multipart))[0] for _ in range(n)]
            await in_thread(lambda: [zpush.send(b"%d" % i) for i in range(n)])
            ours = [await pull.recv() for _ in range(n)]
            return theirs, ours

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    theirs, ours = run(main)
    assert theirs == ours == [b"%d" % i for i in range(n)]


@pytest.mark.parametrize("zmtp_side", ["REQ", "REP"])
def test_request_reply_with_libzmq(
    run: Runner, zctx: Any, transport: str, binder: str, tmp_path: Path, zmtp_side: str
) -> None:
    async def main() -> list[bytes]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            if zmtp_side == "REQ":
                ours, theirs = ctx.socket(zmtp.REQ), zsocket(zctx, zmq.REP)
            else:
                ours, theirs = ctx.socket(zmtp.REP), zsocket(zctx, zmq.REQ)
            await join(ours, theirs, binder, transport, tmp_path)
            replies = []
            for i in range(10):
                if zmtp_side == "REQ":
                    await ours.send(b"req %d" % i)
                    request = await in_thread(theirs.recv)
                    await in_thread(theirs.send, request.upper())
                    replies.append(await ours.recv())
                else:
                    await in_thread(theirs.send, b"req %d" % i)
                    request = await ours.recv()
                    await ours.send(request.upper())
                    replies.append(await in_thread(theirs.recv))
            return replies

    assert run(main) == [b"REQ %d" % i for i in range(10)]


def test_dealer_to_libzmq_router_keeps_the_envelope(
    run: Runner, zctx: Any, transport: str, binder: str, tmp_path: Path
) -> None:
    async def main() -> tuple[list[bytes], list[bytes]]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            dealer = ctx.socket(zmtp.DEALER, routing_id=b"asyncio-dealer")
            router = zsocket(zctx, zmq.ROUTER)
            await join(dealer, router, binder, transport, tmp_path)
            await dealer.send_multipart([b"", b"hello"])
            at_router = await in_thread(router.recv_multipart)
            await in_thread(router.send_multipart, [at_router[0], b"", b"world"])
            return at_router, await dealer.recv_multipart()

    at_router, at_dealer = run(main)
    assert at_router == [b"asyncio-dealer", b"", b"hello"]
    assert at_dealer == [b"", b"world"]


def test_libzmq_publisher_filters_for_a_zmtp_subscriber(
    run: Runner, zctx: Any, transport: str, binder: str, tmp_path: Path
) -> None:
    async def main() -> list[bytes]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            sub = ctx.socket(zmtp.SUB, subscribe=b"a")
            pub = zsocket(zctx, zmq.XPUB)
            await join(sub, pub, binder, transport, tmp_path)
            # The subscription reaches libzmq (XPUB shows it); then publish.
            assert await in_thread(pub.recv) == b"\x01a"
            for i in range(5):
                await in_thread(pub.send, b"b%d" % i)
                await in_thread(pub.send, b"a%d" % i)
            return [await sub.recv() for _ in range(5)]

    assert run(main) == [b"a%d" % i for i in range(5)]


def test_zmtp_publisher_filters_for_a_libzmq_subscriber(
    run: Runner, zctx: Any, transport: str, binder: str, tmp_path: Path
) -> None:
    async def main() -> tuple[bytes, list[bytes]]:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            pub = ctx.socket(zmtp.XPUB)
            sub = zsocket(zctx, zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b"a")
            await join(pub, sub, binder, transport, tmp_path)
            # A bound libzmq socket takes in a new peer (and so sends it the
            # subscription) only when its application touches it: poke it meanwhile.
            while True:
                sub.getsockopt(zmq.EVENTS)
                try:
                    subscription = await asyncio.wait_for(pub.recv(), 0.05)
                    break
                except asyncio.TimeoutError:
                    continue
            for i in range(5):
                await pub.send(b"b%d" % i)
                await pub.send(b"a%d" % i)
            return subscription, [await in_thread(sub.recv) for _ in range(5)]

    subscription, received = run(main)
    assert subscription == b"\x01a"
    assert received == [b"a%d" % i for i in range(5)]
