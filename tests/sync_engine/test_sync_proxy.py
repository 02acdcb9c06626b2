"""``zmtp.sync.proxy`` and ``zmtp.sync.device``: the queue, forwarder and streamer
devices, blocking as pyzmq's, ended by terminating the context."""

from __future__ import annotations

import time

import pytest
from sync_helpers import TIMEOUT, TIMEOUT_MS, Worker, connect_and_wait

import zmtp.sync as zmq


def _run_device(ctx: zmq.Context, fn: object) -> Worker:
    def run() -> None:
        fn()  # type: ignore[operator]

    return Worker(run)


def test_the_queue_broker_serves_clients_through_workers_and_ends_at_term() -> None:
    ctx = zmq.Context(linger=0, rcvtimeo=TIMEOUT_MS, sndtimeo=TIMEOUT_MS)
    frontend, backend = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    front, back = frontend.bind("tcp://127.0.0.1:*"), backend.bind("tcp://127.0.0.1:*")
    capture = ctx.socket(zmq.PUSH, sndhwm=0)
    captured = ctx.socket(zmq.PULL)
    capture.connect(captured.bind("inproc://capture"))
    device = _run_device(ctx, lambda: zmq.proxy(frontend, backend, capture))
    workers = [ctx.socket(zmq.REP) for _ in range(2)]
    for w in workers:
        connect_and_wait(w, back)
    clients = [ctx.socket(zmq.REQ) for _ in range(3)]
    for c in clients:
        connect_and_wait(c, front)

    def serve(worker: zmq.Socket, n: int) -> list[bytes]:
        seen = []
        for _ in range(n):
            request = worker.recv()
            seen.append(request)
            worker.send(request.upper())
        return seen

    # Requests are load-balanced over the two workers: three each.
    servers = [Worker(lambda w=w: serve(w, 3)) for w in workers]  # type: ignore[misc]
    for round_ in range(2):
        for i, c in enumerate(clients):
            c.send(b"req %d.%d" % (round_, i))
        for i, c in enumerate(clients):
            assert c.recv() == b"REQ %d.%d" % (round_, i)
    assert sorted(len(s.result()) for s in servers) == [3, 3]
    copies = [captured.recv_multipart() for _ in range(12)]  # 6 requests, 6 replies
    assert sum(1 for m in copies if m[-1].startswith(b"req")) == 6
    ctx.term()
    with pytest.raises(zmq.ContextTerminated):
        device.result()


def test_device_streamer_moves_a_pipeline_and_refuses_unknown_types(ctx: zmq.Context) -> None:
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    pull.bind("inproc://stream-in")
    push.bind("inproc://stream-out")
    source, sink = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    source.connect("inproc://stream-in")
    sink.connect("inproc://stream-out")
    device = _run_device(ctx, lambda: zmq.device(zmq.STREAMER, pull, push))
    for i in range(500):
        source.send(b"%d" % i)
    assert [sink.recv() for _ in range(500)] == [b"%d" % i for i in range(500)]
    pull.close()
    with pytest.raises(zmq.SocketClosed):
        device.result()
    with pytest.raises(zmq.ZMTPValueError, match="QUEUE"):
        zmq.device(99, push, sink)


def test_the_forwarder_carries_subscriptions_upstream(ctx: zmq.Context) -> None:
    xsub, xpub = ctx.socket(zmq.XSUB), ctx.socket(zmq.XPUB)
    xsub_ep, xpub_ep = xsub.bind("tcp://127.0.0.1:*"), xpub.bind("tcp://127.0.0.1:*")
    device = _run_device(ctx, lambda: zmq.proxy(xsub, xpub))
    pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    connect_and_wait(pub, xsub_ep)
    sub.subscribe(b"keep")
    connect_and_wait(sub, xpub_ep)
    deadline = time.monotonic() + TIMEOUT
    while not sub.poll(10):  # the subscription travels up through the proxy
        assert time.monotonic() < deadline, "the subscription never reached the publisher"
        pub.send(b"drop this")
        pub.send(b"keep probe")
    assert sub.recv() == b"keep probe"
    while sub.poll(0):
        assert sub.recv() == b"keep probe"
    pub.send(b"drop again")
    pub.send(b"keep last")
    assert sub.recv() == b"keep last"
    ctx.term()
    with pytest.raises(zmq.ContextTerminated):
        device.result()
