"""zmtp.sync against libzmq (through pyzmq), in both directions, over tcp and ipc:
request-reply, pipeline, publish-subscribe with a filter, and DEALER/ROUTER
envelopes. libzmq's sockets run in this process with their own I/O threads; every
blocking call on either side is bounded by a receive or send timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import TIMEOUT, TIMEOUT_MS, connect_and_wait

import zmtp.sync as zmq

pytestmark = pytest.mark.interop

libzmq = pytest.importorskip("zmq", reason="pyzmq is not installed (pip install pyzmq)")


@pytest.fixture(params=["tcp", "ipc"])
def bind_at(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """``bind_at()`` -> a fresh endpoint to bind on the transport under test."""
    names = iter(range(1000))
    if request.param == "tcp":
        return lambda: "tcp://127.0.0.1:*"
    return lambda: f"ipc://{tmp_path}/i{next(names)}.sock"


def _libzmq_socket(pyctx: Any, kind: int, **opts: Any) -> Any:
    sock = pyctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    for name, value in opts.items():
        setattr(sock, name, value)
    return sock


def _libzmq_bind(sock: Any, endpoint: str) -> str:
    sock.bind(endpoint)
    return str(sock.last_endpoint.decode())


Pair = Callable[[int, int], tuple[Any, Any]]


@pytest.fixture(params=["zmtp binds", "libzmq binds"])
def pair(
    request: pytest.FixtureRequest, ctx: zmq.Context, pyctx: Any, bind_at: Callable[[], str]
) -> Pair:
    """``pair(ours, theirs)`` -> (zmtp.sync socket, libzmq socket), connected, with
    either side binding; the connecting zmtp side waits for its handshake."""

    def make(ours: int, theirs: int) -> tuple[Any, Any]:
        mine = ctx.socket(ours)
        other = _libzmq_socket(pyctx, theirs)
        if request.param == "zmtp binds":
            other.connect(mine.bind(bind_at()))
        else:
            connect_and_wait(mine, _libzmq_bind(other, bind_at()))
        return mine, other

    return make


def test_request_reply_both_ways(pair: Pair) -> None:
    req, rep = pair(zmq.REQ, libzmq.REP)
    for i in range(10):
        req.send(b"ask %d" % i)
        assert rep.recv() == b"ask %d" % i
        rep.send_multipart([b"answer", b"%d" % i])
        assert req.recv_multipart() == [b"answer", b"%d" % i]
    rep2, req2 = pair(zmq.REP, libzmq.REQ)
    req2.send(b"hello")
    assert rep2.recv() == b"hello"
    rep2.send_string("world")
    assert req2.recv_string() == "world"


def test_a_pipeline_both_ways_keeps_order_and_sizes(pair: Pair) -> None:
    push, pull = pair(zmq.PUSH, libzmq.PULL)
    sizes = [0, 1, 255, 256, 70_000]
    for n in sizes * 20:
        push.send(b"x" * n)
    assert [len(pull.recv()) for _ in range(len(sizes) * 20)] == sizes * 20
    pull2, push2 = pair(zmq.PULL, libzmq.PUSH)
    for i in range(1000):
        push2.send(b"%d" % i)
    assert [pull2.recv() for _ in range(1000)] == [b"%d" % i for i in range(1000)]


def test_publish_subscribe_filters_on_the_publishers_side(pair: Pair) -> None:
    sub, pub = pair(zmq.SUB, libzmq.PUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"10001 ")
    deadline = time.monotonic() + TIMEOUT
    while not sub.poll(10):  # until the subscription reached libzmq
        assert time.monotonic() < deadline, "the subscription never reached libzmq"
        pub.send(b"10001 probe")
    while sub.poll(0):
        sub.recv()
    for zipcode in (b"10002", b"10001", b"100010", b"10001"):
        pub.send(zipcode + b" 21 40")
    assert sub.recv() == b"10001 21 40"
    assert sub.recv() == b"10001 21 40"
    assert sub.poll(50) == 0


def test_a_libzmq_subscriber_gets_only_its_topic_from_us(pair: Pair) -> None:
    pub, sub = pair(zmq.PUB, libzmq.SUB)
    sub.subscribe(b"B")
    deadline = time.monotonic() + TIMEOUT
    while not sub.poll(10):
        assert time.monotonic() < deadline, "the subscription never reached zmtp"
        pub.send(b"B probe")
    while sub.poll(0):
        sub.recv()
    pub.send(b"A 1")
    pub.send(b"B 2")
    assert sub.recv() == b"B 2"


def test_dealer_and_router_envelopes_both_ways(pair: Pair) -> None:
    dealer, router = pair(zmq.DEALER, libzmq.ROUTER)
    dealer.send_multipart([b"", b"job"])
    peer, empty, body = router.recv_multipart()
    assert (empty, body) == (b"", b"job")
    router.send_multipart([peer, b"", b"done"])
    assert dealer.recv_multipart() == [b"", b"done"]
    router2, dealer2 = pair(zmq.ROUTER, libzmq.DEALER)
    dealer2.send(b"hi")
    peer2, body2 = router2.recv_multipart()
    assert body2 == b"hi"
    router2.send_multipart([peer2, b"back"])
    assert dealer2.recv() == b"back"
