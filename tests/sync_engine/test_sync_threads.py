"""Threads: the I/O thread works while the application blocks, and sockets may be
handed from thread to thread (pyzmq's rule) or even shared, since every call holds
the context's lock.

The first test is the zguide ventilator's situation: a PUSH socket binds, the
application blocks (here on pyzmq's monitor of the workers, in the zguide on
``input()``) while workers connect; the connections must be completed in the
meantime, so that the tasks sent afterwards are spread over every worker, not all
sent to the first one that happened to be attached.
"""

from __future__ import annotations

import threading

import pytest
from sync_helpers import TIMEOUT_MS, Worker, connect_and_wait

import zmtp.sync as zmq


def test_a_ventilator_spreads_tasks_over_workers_that_connected_while_it_blocked(
    ctx: zmq.Context, pyctx: object
) -> None:
    import zmq as libzmq
    from zmq.utils.monitor import recv_monitor_message

    assert isinstance(pyctx, libzmq.Context)
    sender = ctx.socket(zmq.PUSH)
    ours = sender.monitor(zmq.Event.HANDSHAKE_SUCCEEDED)
    endpoint = sender.bind("tcp://127.0.0.1:*")
    workers = []
    for _ in range(4):
        w = pyctx.socket(libzmq.PULL)
        w.rcvtimeo = TIMEOUT_MS
        monitor = w.get_monitor_socket(libzmq.EVENT_HANDSHAKE_SUCCEEDED)
        monitor.rcvtimeo = TIMEOUT_MS
        w.connect(endpoint)
        workers.append((w, monitor))
    # This thread now blocks in libzmq calls, as the zguide's ventilator blocks in
    # input(): zmtp.sync's I/O thread alone completes the handshakes.
    for w, monitor in workers:
        assert recv_monitor_message(monitor)["event"] == libzmq.EVENT_HANDSHAKE_SUCCEEDED
        w.disable_monitor()
        monitor.close(linger=0)
    # libzmq's side is done when it has our READY, so zmtp's I/O thread did its part
    # of every handshake while this thread was blocked; ours is done when we have
    # their READY, which may still be on its way: our monitor has the last word.
    for _ in workers:
        ours.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=TIMEOUT_MS)
    for task in range(100):
        sender.send(b"%d" % task)
    counts = []
    for w, _ in workers:
        got = 0
        while got < 100 and w.poll(200 if got else TIMEOUT_MS):
            w.recv()
            got += 1
        counts.append(got)
    assert sum(counts) == 100
    assert counts == [25, 25, 25, 25], counts  # round robin over all four


def test_a_socket_made_in_one_thread_is_used_in_another_then_a_third(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    endpoint = pull.bind("tcp://127.0.0.1:*")
    push = Worker(lambda: ctx.socket(zmq.PUSH)).result()
    Worker(lambda: connect_and_wait(push, endpoint)).result()
    Worker(lambda: [push.send(b"%d" % i) for i in range(100)]).result()
    assert Worker(lambda: [pull.recv() for _ in range(100)]).result() == [
        b"%d" % i for i in range(100)
    ]
    Worker(push.close).result()
    assert push.closed


def test_two_threads_sending_on_one_socket_lose_and_mix_nothing(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL, rcvhwm=5)
    push = ctx.socket(zmq.PUSH, sndhwm=5)
    connect_and_wait(push, pull.bind("tcp://127.0.0.1:*"))
    n = 3000

    def send(tag: bytes) -> None:
        for i in range(n):
            push.send_multipart([tag, b"%d" % i])

    senders = [Worker(lambda t=t: send(t)) for t in (b"a", b"b")]  # type: ignore[misc]
    got: dict[bytes, list[bytes]] = {b"a": [], b"b": []}
    for _ in range(2 * n):
        tag, i = pull.recv_multipart()
        got[tag].append(i)
    for s in senders:
        s.result()
    assert got[b"a"] == got[b"b"] == [b"%d" % i for i in range(n)]


def test_a_thread_blocked_in_recv_does_not_hold_up_others_in_the_same_context(
    ctx: zmq.Context,
) -> None:
    idle = ctx.socket(zmq.PULL, rcvtimeo=-1)
    idle.bind("inproc://idle")
    entered = threading.Event()

    def wait_for_nothing() -> None:
        entered.set()
        idle.recv()

    blocked = Worker(wait_for_nothing)
    entered.wait()
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    connect_and_wait(push, pull.bind("tcp://127.0.0.1:*"))
    for i in range(200):
        push.send(b"%d" % i)
    assert [pull.recv() for _ in range(200)] == [b"%d" % i for i in range(200)]
    idle.close()
    with pytest.raises(zmq.SocketClosed):
        blocked.result()
