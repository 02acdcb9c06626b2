"""``zmtp.sync.Poller``, ``Socket.poll`` and ``zmtp.sync.select``: readiness of
sockets and plain files, waited for without taking anything out of a socket."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from sync_helpers import TIMEOUT_MS, Worker, connected_pair

import zmtp.sync as zmq


def test_poll_reports_pollin_without_taking_the_message(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "tcp://127.0.0.1:*")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    assert poller.poll(0) == []
    push.send(b"one")
    assert poller.poll(TIMEOUT_MS) == [(pull, zmq.POLLIN)]
    assert poller.poll(0) == [(pull, zmq.POLLIN)]  # still there: polling took nothing
    assert pull.recv() == b"one"
    assert poller.poll(0) == []


def test_poll_waits_for_a_message_sent_later_from_another_thread(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://later")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    waiting = Worker(lambda: poller.poll(TIMEOUT_MS))
    push.send(b"wake")
    assert waiting.result() == [(pull, zmq.POLLIN)]


def test_poll_times_out_with_an_empty_list(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://quiet")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    assert poller.poll(20) == []
    assert pull.poll(20) == 0


def test_pollout_and_register_modify_unregister(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://out", sndhwm=1, rcvhwm=1)
    poller = zmq.Poller()
    poller.register(push, zmq.POLLOUT)
    assert poller.poll(0) == [(push, zmq.POLLOUT)]
    while push.poll(0, zmq.POLLOUT):  # fill the queues up to the high-water marks
        push.send(b"fill")
    assert poller.poll(0) == []
    poller.register(pull)  # both flags by default
    assert poller.poll(0) == [(pull, zmq.POLLIN)]
    poller.modify(pull, zmq.POLLOUT)  # a PULL never sends
    assert poller.poll(0) == []
    pull.recv()
    assert poller.poll(TIMEOUT_MS) == [(push, zmq.POLLOUT)]
    poller.unregister(push)
    poller.register(pull, 0)  # 0 removes, as in pyzmq
    assert poller.sockets == {}
    with pytest.raises(KeyError):
        poller.unregister(push)
    with pytest.raises(zmq.ZMTPValueError):
        poller.register(pull, 64)
    with pytest.raises(zmq.ZMTPValueError):
        poller.register("not a socket", zmq.POLLIN)


def test_several_sockets_report_each_what_is_ready(ctx: zmq.Context) -> None:
    a, push_a = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://a")
    b, push_b = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://b")
    poller = zmq.Poller()
    poller.register(a, zmq.POLLIN)
    poller.register(b, zmq.POLLIN)
    push_b.send(b"b")
    assert poller.poll(TIMEOUT_MS) == [(b, zmq.POLLIN)]
    push_a.send(b"a")
    assert dict(poller.poll(TIMEOUT_MS)) == {a: zmq.POLLIN, b: zmq.POLLIN}


def test_files_and_descriptors_are_polled_beside_sockets(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "tcp://127.0.0.1:*")
    r, w = os.pipe()
    left, right = socket.socketpair()  # an object with fileno(), as sys.stdin
    try:
        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(r, zmq.POLLIN)
        poller.register(left, zmq.POLLIN)
        assert poller.poll(0) == []
        os.write(w, b"!")
        assert poller.poll(TIMEOUT_MS) == [(r, zmq.POLLIN)]
        os.read(r, 1)
        right.send(b"?")
        assert poller.poll(TIMEOUT_MS) == [(left, zmq.POLLIN)]
        left.recv(1)
        # A socket that becomes ready wakes a wait that also watches files.
        waiting = Worker(lambda: poller.poll(TIMEOUT_MS))
        push.send(b"socket")
        assert waiting.result() == [(pull, zmq.POLLIN)]
        assert pull.recv() == b"socket"
        assert poller.poll(10) == []
    finally:
        os.close(r)
        os.close(w)
        left.close()
        right.close()


def test_select_is_pyzmqs_select(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://select")
    assert zmq.select([pull], [push], [], 0) == ([], [push], [])
    push.send(b"x")
    assert zmq.select([pull], [], [], TIMEOUT_MS / 1000) == ([pull], [], [])


def test_polling_a_socket_closed_meanwhile_raises_rather_than_waiting_forever(
    ctx: zmq.Context,
) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://closed-while-polled")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    started = threading.Event()

    def wait_forever() -> object:
        started.set()
        return poller.poll()

    waiting = Worker(wait_forever)
    started.wait()
    pull.close()
    with pytest.raises(zmq.SocketClosed):
        waiting.result()
