"""The blocking face of a socket: send and receive over tcp, ipc and inproc, flags
(NOBLOCK, SNDMORE), timeouts, multipart, the convenience methods, bind and connect,
options and state, and what close and term do to calls, as pyzmq documents them."""

from __future__ import annotations

import asyncio
import errno
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sync_helpers import TIMEOUT_MS, Worker, connect_and_wait, connected_pair, free_tcp_port

import zmtp
import zmtp.sync as zmq

# -- messages ------------------------------------------------------------------------


def test_request_reply_round_trips_over_every_transport(
    ctx: zmq.Context, endpoint: Callable[[], str]
) -> None:
    rep, req = connected_pair(ctx, zmq.REP, zmq.REQ, endpoint())
    for i in range(20):
        req.send(b"Hello %d" % i)
        assert rep.recv() == b"Hello %d" % i
        rep.send(b"World %d" % i)
        assert req.recv() == b"World %d" % i


def test_a_pipeline_keeps_order_past_the_high_water_mark(
    ctx: zmq.Context, endpoint: Callable[[], str]
) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, endpoint(), sndhwm=10, rcvhwm=10)
    n = 5000
    sender = Worker(lambda: [push.send(b"%d" % i) for i in range(n)])
    got = [pull.recv() for _ in range(n)]
    sender.result()
    assert got == [b"%d" % i for i in range(n)]


def test_sndmore_frames_travel_as_one_message_and_rcvmore_tells_what_follows(
    ctx: zmq.Context, endpoint: Callable[[], str]
) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, endpoint())
    push.send(b"a", zmq.SNDMORE)
    push.send_string("b", zmq.SNDMORE)
    push.send(b"c")
    assert pull.recv() == b"a"
    assert pull.getsockopt(zmq.RCVMORE) == 1 and pull.rcvmore
    assert pull.recv() == b"b"
    assert pull.recv() == b"c"
    assert pull.getsockopt(zmq.RCVMORE) == 0 and not pull.rcvmore
    push.send_multipart([b"x", bytearray(b"y"), memoryview(b"z")])
    assert pull.recv_multipart() == [b"x", b"y", b"z"]


def test_recv_multipart_takes_the_rest_of_a_message_partly_read(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "inproc://rest")
    push.send_multipart([b"1", b"2", b"3"])
    assert pull.recv() == b"1"
    assert pull.recv_multipart() == [b"2", b"3"]


def test_noblock_raises_again_with_eagain_and_takes_nothing(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://nothing-yet")
    with pytest.raises(zmq.Again) as caught:
        pull.recv(zmq.NOBLOCK)
    assert caught.value.errno == zmq.EAGAIN == errno.EAGAIN
    assert isinstance(caught.value, zmq.ZMQError)
    with pytest.raises(zmq.Again):
        pull.recv_multipart(zmq.DONTWAIT)
    push = ctx.socket(zmq.PUSH)  # no peer: nobody can take a message
    with pytest.raises(zmq.Again):
        push.send(b"x", zmq.NOBLOCK)
    push.connect("inproc://nothing-yet")
    push.send(b"after", zmq.NOBLOCK)
    assert pull.recv(zmq.NOBLOCK) == b"after"


def test_rcvtimeo_and_sndtimeo_raise_again_after_their_time(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL, rcvtimeo=50)
    pull.bind("inproc://timeo")
    t0 = time.monotonic()
    with pytest.raises(zmq.Again, match="rcvtimeo"):
        pull.recv()
    assert time.monotonic() - t0 >= 0.05
    push = ctx.socket(zmq.PUSH)
    push.sndtimeo = 50
    t0 = time.monotonic()
    with pytest.raises(zmq.Again, match="sndtimeo"):
        push.send(b"nobody")
    assert time.monotonic() - t0 >= 0.05
    push.SNDTIMEO = 0  # pyzmq's upper-case attribute: 0 means do not wait
    with pytest.raises(zmq.Again):
        push.send(b"nobody")


def test_the_convenience_methods_round_trip_objects(
    ctx: zmq.Context, endpoint: Callable[[], str]
) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, endpoint())
    push.send_string("héllo")
    assert pull.recv_string() == "héllo"
    push.send_json({"a": [1, 2]})
    assert pull.recv_json() == {"a": [1, 2]}
    push.send_pyobj({"set": {1, 2}})
    assert pull.recv_pyobj() == {"set": {1, 2}}
    push.send_serialized({"k": 1}, lambda obj: [str(obj).encode(), b"tail"])
    assert pull.recv_serialized(lambda frames: [bytes(f) for f in frames]) == [
        b"{'k': 1}",
        b"tail",
    ]
    with pytest.raises(zmq.FrameTypeError):
        push.send("text")  # pyzmq refuses str frames too
    with pytest.raises(zmq.FrameTypeError):
        push.send_string(b"bytes")  # type: ignore[arg-type]


def test_copy_false_gives_frames_with_the_connections_properties(ctx: zmq.Context) -> None:
    pull, push = connected_pair(ctx, zmq.PULL, zmq.PUSH, "tcp://127.0.0.1:*")
    tracker = push.send(b"framed", copy=False, track=True)
    assert tracker is not None and tracker.done
    frame = pull.recv(copy=False)
    assert isinstance(frame, zmq.Frame)
    assert frame.bytes == b"framed" and not frame.more
    assert frame["Socket-Type"] == "PUSH"
    assert frame.get("Peer-Address") == "127.0.0.1"
    push.send_multipart([b"1", b"2"])
    frames = pull.recv_multipart(copy=False)
    assert [f.bytes for f in frames] == [b"1", b"2"] and frames[0].more


# -- bind and connect ----------------------------------------------------------------


def test_bind_returns_the_real_endpoint_which_is_also_pyzmqs_unbinding_context(
    ctx: zmq.Context,
) -> None:
    pull = ctx.socket(zmq.PULL)
    with pull.bind("tcp://127.0.0.1:*") as bound:
        assert bound is pull
        real = pull.last_endpoint
        assert isinstance(real, str) and not real.endswith(":*")
        push = ctx.socket(zmq.PUSH)
        connect_and_wait(push, real)
        push.send(b"while bound")
        assert pull.recv() == b"while bound"
    with pytest.raises(zmq.ZMTPValueError, match="not bound"):
        pull.unbind(real)  # the block already unbound it


def test_a_failed_bind_raises_bind_error_with_the_os_reason(ctx: zmq.Context) -> None:
    first = ctx.socket(zmq.PULL)
    real = first.bind("tcp://127.0.0.1:*")
    second = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.BindError) as caught:
        second.bind(real)
    assert caught.value.errno == errno.EADDRINUSE
    assert isinstance(caught.value, zmq.ZMQError)


def test_bind_to_random_port_returns_a_port_that_peers_reach(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=60000)
    assert 20000 <= port < 60000
    push = ctx.socket(zmq.PUSH)
    connect_and_wait(push, f"tcp://127.0.0.1:{port}")
    push.send(b"random")
    assert pull.recv() == b"random"


def test_connect_may_come_before_bind(ctx: zmq.Context) -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    push = ctx.socket(zmq.PUSH)
    push.connect(endpoint)
    push.send(b"queued before the peer exists")
    pull = ctx.socket(zmq.PULL)
    pull.bind(endpoint)
    assert pull.recv() == b"queued before the peer exists"


def test_disconnect_stops_sending_to_that_endpoint(ctx: zmq.Context) -> None:
    a, b = ctx.socket(zmq.PULL), ctx.socket(zmq.PULL)
    ea, eb = a.bind("tcp://127.0.0.1:*"), b.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    connect_and_wait(push, ea)
    connect_and_wait(push, eb)
    push.disconnect(ea)
    for i in range(4):
        push.send(b"%d" % i)
    assert [b.recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
    with pytest.raises(zmq.Again):
        a.recv(zmq.NOBLOCK)


# -- options and state -----------------------------------------------------------------


def test_options_by_constant_name_attribute_and_string(ctx: zmq.Context) -> None:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 250)
    assert sock.getsockopt(zmq.LINGER) == 250 == sock.linger
    sock.RCVHWM = 7
    assert sock.rcvhwm == 7 == sock.get(zmq.RCVHWM)
    sock.setsockopt_string(zmq.IDENTITY, "me")
    assert sock.getsockopt(zmq.IDENTITY) == b"me"
    assert sock.getsockopt_string(zmq.ROUTING_ID) == "me"
    assert sock.getsockopt(zmq.TYPE) == zmq.DEALER and sock.type == zmq.DEALER
    with pytest.raises(zmq.ZMTPValueError):
        sock.setsockopt(zmq.SNDHWM, -5)
    with pytest.raises(AttributeError):
        sock.sndhmw = 1  # type: ignore[attr-defined]


def test_context_defaults_apply_to_new_sockets(ctx: zmq.Context) -> None:
    ctx.linger = 123
    ctx.setsockopt(zmq.SNDHWM, 42)
    sock = ctx.socket(zmq.PUSH)
    assert (sock.linger, sock.sndhwm) == (123, 42)
    assert ctx.getsockopt(zmq.SNDHWM) == 42
    assert ctx.get(zmq.IO_THREADS) == 1


def test_subscriptions_filter_by_prefix(ctx: zmq.Context, endpoint: Callable[[], str]) -> None:
    pub = ctx.socket(zmq.PUB)
    real = pub.bind(endpoint())
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"weather")
    sub.setsockopt_string(zmq.SUBSCRIBE, "news ")
    connect_and_wait(sub, real)
    # A subscription reaches the publisher after the handshake: publish until the
    # first matching message arrives, then the rest in order.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not sub.poll(10):
        assert time.monotonic() < deadline, "the subscription never reached the publisher"
        pub.send(b"weather probe")
    assert sub.recv() == b"weather probe"
    while sub.poll(0):
        sub.recv()
    for topic in (b"sports 1", b"news 2", b"weather 3", b"newsy 4"):
        pub.send(topic)
    assert sub.recv() == b"news 2"
    assert sub.recv() == b"weather 3"
    with pytest.raises(zmq.Again):
        sub.recv(zmq.NOBLOCK)


# -- closing and terminating -----------------------------------------------------------


def test_close_returns_at_once_and_every_later_call_raises_socket_closed(
    ctx: zmq.Context,
) -> None:
    sock = ctx.socket(zmq.PUSH)
    sock.close()
    assert sock.closed
    with pytest.raises(zmq.SocketClosed) as caught:
        sock.send(b"x")
    assert caught.value.errno == zmq.ENOTSOCK
    with pytest.raises(zmq.SocketClosed):
        sock.connect("tcp://127.0.0.1:1")
    sock.close()  # idempotent


def test_closing_a_socket_wakes_a_thread_blocked_on_it(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL, rcvtimeo=-1)
    pull.bind("inproc://closing")
    started = threading.Event()

    def blocked() -> None:
        started.set()
        pull.recv()

    worker = Worker(blocked)
    started.wait()
    # The receiver may or may not be inside its wait yet: either way it must end.
    pull.close()
    with pytest.raises(zmq.SocketClosed):
        worker.result()


def test_term_raises_context_terminated_in_blocked_threads_and_closes_open_sockets() -> None:
    ctx = zmq.Context(linger=0)
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    entered = threading.Event()

    def blocked() -> None:
        entered.set()
        pull.recv()

    worker = Worker(blocked)
    entered.wait()
    ctx.term()
    with pytest.raises(zmq.ContextTerminated) as caught:
        worker.result()
    assert caught.value.errno == zmq.ETERM
    assert pull.closed and ctx.closed
    with pytest.raises(zmq.ContextTerminated):
        ctx.socket(zmq.PUSH)
    ctx.term()  # idempotent


def test_a_call_stranded_on_the_io_thread_by_term_raises_rather_than_hangs() -> None:
    """``bind`` waits for a coroutine on the I/O thread; should ``term()`` stop that
    thread first (a name still being resolved, say), the call ends with
    ContextTerminated. The runtime's bind is replaced by one that never finishes."""
    ctx = zmq.Context(linger=0)
    sock = ctx.socket(zmq.PULL)
    running = threading.Event()

    async def never_done(endpoint: str) -> str:
        running.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    sock._rt.bind = never_done  # type: ignore[method-assign]
    binding = Worker(lambda: sock.bind("tcp://127.0.0.1:*"))
    assert running.wait(TIMEOUT_MS / 1000)
    ctx.term()
    with pytest.raises(zmq.ContextTerminated):
        binding.result()


def test_a_call_whose_coroutine_starts_at_once_is_not_stranded_by_a_racing_term(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same, with the race forced: the coroutine has started, and term() is given
    room to stop the I/O thread, before ``bind``'s own thread goes on. The call must
    be one that term() ends (or that finds the thread gone), never one left waiting
    on a loop that stopped."""
    ctx = zmq.Context(linger=0)
    sock = ctx.socket(zmq.PULL)
    io = ctx.io_thread
    assert io is not None
    running, stopped = threading.Event(), threading.Event()

    async def never_done(endpoint: str) -> str:
        running.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    real_stop = io.stop

    def stop() -> None:
        real_stop()
        stopped.set()

    real_schedule = asyncio.run_coroutine_threadsafe
    calls = itertools.count()

    def schedule(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
        fut = real_schedule(coro, loop)
        if next(calls) == 0:  # bind's: the coroutine starts, term() gets its chance
            assert running.wait(TIMEOUT_MS / 1000)
            stopped.wait(0.2)  # pacing: room for term() to stop the loop, if it can
        return fut

    sock._rt.bind = never_done  # type: ignore[method-assign]
    monkeypatch.setattr(io, "stop", stop)
    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", schedule)
    binding = Worker(lambda: sock.bind("tcp://127.0.0.1:*"))
    assert running.wait(TIMEOUT_MS / 1000)
    ctx.term()
    with pytest.raises(zmq.ContextTerminated):
        binding.result()


def test_term_waits_for_lingering_messages_to_reach_a_late_peer() -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    sender_ctx = zmq.Context()
    push = sender_ctx.socket(zmq.PUSH)  # linger -1: deliver everything
    push.connect(endpoint)
    for i in range(10):
        push.send(b"%d" % i)
    push.close()  # returns at once; the I/O thread keeps trying
    with zmq.Context(rcvtimeo=TIMEOUT_MS) as receiver_ctx:
        pull = receiver_ctx.socket(zmq.PULL)
        pull.bind(endpoint)
        term = Worker(sender_ctx.term)  # returns once all ten are delivered
        assert [pull.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]
        term.result()
        assert push.dropped == 0
        pull.close()


def test_what_linger_drops_is_counted(ctx: zmq.Context) -> None:
    push = ctx.socket(zmq.PUSH, linger=30)
    push.connect(f"tcp://127.0.0.1:{free_tcp_port()}")  # nobody will ever listen
    for _ in range(5):
        push.send(b"lost")
    push.close(wait=True)  # lingers 30 ms, then drops
    assert push.dropped == 5


def test_the_context_manager_terminates_and_instance_is_shared() -> None:
    with zmq.Context() as ctx:
        sock = ctx.socket(zmq.PAIR)
    assert ctx.closed and sock.closed
    one = zmq.Context.instance()
    assert zmq.Context.instance() is one
    one.term()
    assert zmq.Context.instance() is not one
    zmq.Context.instance().term()


def test_socket_is_made_in_pyzmqs_order_or_zmtps(ctx: zmq.Context) -> None:
    a = zmq.Socket(ctx, zmq.PAIR)
    b = zmq.Socket(zmq.PAIR, context=ctx)
    assert a.context is ctx and b.context is ctx
    with pytest.raises(zmq.ZMTPTypeError):
        zmq.Socket(zmq.PAIR, zmq.PAIR)  # type: ignore[arg-type]


def test_the_monitor_reports_connection_events_and_ends_with_monitor_stopped(
    ctx: zmq.Context,
) -> None:
    pull = ctx.socket(zmq.PULL)
    monitor = pull.monitor()
    real = pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.connect(real)
    assert monitor.wait_for(zmq.Event.LISTENING, timeout=TIMEOUT_MS).endpoint == real
    monitor.wait_for(zmq.Event.ACCEPTED, timeout=TIMEOUT_MS)
    monitor.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=TIMEOUT_MS)
    with pytest.raises(zmq.Again):
        monitor.receive(timeout=0)
    pull.close()
    events = [ev.event for ev in monitor]  # iteration ends after MONITOR_STOPPED
    assert events[-1] == zmq.Event.MONITOR_STOPPED
    with pytest.raises(zmq.EndOfChannel):
        monitor.receive()


def test_monitor_poll_waits_for_an_event_without_taking_it(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    monitor = pull.monitor()
    assert monitor.poll(0) is False
    assert monitor.poll(1) is False  # the time ran out
    real = pull.bind("tcp://127.0.0.1:*")
    assert monitor.poll(TIMEOUT_MS) is True
    assert monitor.poll(0) is True, "polling took the event"
    listening = monitor.receive(timeout=0)
    assert (listening.event, listening.endpoint) == (zmq.Event.LISTENING, real)
    assert monitor.poll(0) is False
    pull.close()
    assert monitor.poll(TIMEOUT_MS) is True  # the monitor stopped: receive() won't wait
    assert [ev.event for ev in monitor][-1] == zmq.Event.MONITOR_STOPPED
    assert monitor.poll() is True  # stopped and empty: still no wait


def test_errors_and_versions_are_zmtps_under_pyzmqs_names() -> None:
    assert zmq.ZMQError is zmtp.ZMQError and zmq.Again is zmtp.Again
    assert zmq.ContextTerminated is zmtp.ContextTerminated
    assert zmq.zmq_version() == "4.3.5" and zmq.zmq_version_info() == (4, 3, 5)
    assert zmq.has("ipc") is True and zmq.has("pgm") is False
    assert zmq.strerror(zmq.EAGAIN)
