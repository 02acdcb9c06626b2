"""Messages cross every transport whole (RFC 23 "Framing": a message is one or more
frames, delivered atomically, in order), whichever side binds and whichever of bind
and connect comes first.

Every test runs over inproc, tcp (127.0.0.1) and ipc (a socket file), with the pairs
PUSH -> PULL (RFC 30), PAIR <-> PAIR (RFC 31) and DEALER <-> DEALER (RFC 28).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import anyio
import pytest
from engine_helpers import link

import zmtp

MIB = 1024 * 1024

#: (sender type, receiver type, whether the receiver can answer)
PAIRS = [
    pytest.param(zmtp.PUSH, zmtp.PULL, False, id="push-pull"),
    pytest.param(zmtp.PAIR, zmtp.PAIR, True, id="pair-pair"),
    pytest.param(zmtp.DEALER, zmtp.DEALER, True, id="dealer-dealer"),
]

MESSAGES = [
    [b"one frame"],
    [b"three", b"frames", b"here"],
    [b""],
    [b"", b"empty frames", b"", b""],
    [b"x" * MIB],
    [b"head", bytes(range(256)) * (MIB // 256), b"tail"],
]

ORDERS = [
    pytest.param(True, id="bind-then-connect"),
    pytest.param(False, id="connect-before-bind"),
]
SIDES = [
    pytest.param(True, id="sender-binds"),
    pytest.param(False, id="sender-connects"),
]


@pytest.mark.parametrize("bind_first", ORDERS)
@pytest.mark.parametrize("sender_binds", SIDES)
@pytest.mark.parametrize(("sender_type", "receiver_type", "answers"), PAIRS)
async def test_multipart_empty_and_1mib_messages_arrive_whole_and_in_order(
    make: Callable[..., zmtp.Socket],
    fixed_endpoint: Callable[[], str],
    sender_type: zmtp.SocketType,
    receiver_type: zmtp.SocketType,
    answers: bool,
    sender_binds: bool,
    bind_first: bool,
):
    with anyio.fail_after(10):
        sender = make(sender_type, reconnect_ivl=10)
        receiver = make(receiver_type, reconnect_ivl=10)
        binder, connecter = (sender, receiver) if sender_binds else (receiver, sender)
        await link(binder, connecter, fixed_endpoint(), bind_first=bind_first)

        for msg in MESSAGES:
            await sender.send_multipart(msg)
        for msg in MESSAGES:
            assert await receiver.recv_multipart() == msg
        if answers:
            for msg in reversed(MESSAGES):
                await receiver.send_multipart(msg)
            for msg in reversed(MESSAGES):
                assert await sender.recv_multipart() == msg


@pytest.mark.parametrize(("sender_type", "receiver_type", "answers"), PAIRS)
async def test_messages_sent_before_the_peer_exists_are_delivered_once_it_binds(
    make: Callable[..., zmtp.Socket],
    fixed_endpoint: Callable[[], str],
    sender_type: zmtp.SocketType,
    receiver_type: zmtp.SocketType,
    answers: bool,
):
    """Without ``immediate``, a connect makes a pipe at once: sends queue there until
    the peer appears (libzmq's behaviour)."""
    with anyio.fail_after(5):
        sender = make(sender_type, reconnect_ivl=10)
        receiver = make(receiver_type)
        ep = fixed_endpoint()
        await sender.connect(ep)
        for i in range(10):
            sender.send_multipart_nowait([b"early", b"%d" % i])
        await receiver.bind(ep)
        for i in range(10):
            assert await receiver.recv_multipart() == [b"early", b"%d" % i]


@pytest.mark.parametrize(("sender_type", "receiver_type", "answers"), PAIRS)
async def test_a_long_stream_from_one_peer_keeps_its_order(
    make: Callable[..., zmtp.Socket],
    endpoint: Callable[[], str],
    sender_type: zmtp.SocketType,
    receiver_type: zmtp.SocketType,
    answers: bool,
):
    n = 5000
    with anyio.fail_after(10):
        sender = make(sender_type)
        receiver = make(receiver_type)
        await link(receiver, sender, endpoint())

        async def produce() -> None:
            for i in range(n):
                await sender.send_multipart([b"%d" % i, b"x" * (i % 300)])

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            for i in range(n):
                assert await receiver.recv_multipart() == [b"%d" % i, b"x" * (i % 300)]


async def test_frames_may_be_bytearray_or_memoryview_and_arrive_as_bytes(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push, pull = make(zmtp.PUSH), make(zmtp.PULL)
        await link(pull, push, endpoint())
        await push.send_multipart([bytearray(b"ba"), memoryview(b"mv"), b"b"])
        msg = await pull.recv_multipart()
        assert msg == [b"ba", b"mv", b"b"]
        assert all(type(frame) is bytes for frame in msg)


@pytest.mark.skipif(sys.platform != "linux", reason="abstract sockets are Linux-only")
async def test_linux_abstract_ipc_endpoint_carries_messages(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        name = f"ipc://@zmtp-engine-test-{os.getpid()}-{id(pull)}"
        ep = await link(pull, push, name)
        assert ep == name
        await push.send_multipart([b"abstract", b""])
        assert await pull.recv_multipart() == [b"abstract", b""]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_a_bound_pair_refuses_a_second_peer_until_the_first_leaves(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    """RFC 31: a PAIR talks to one peer at a time; a newcomer is refused (its connection
    closed) while the first is connected, and is accepted once the first has gone."""
    with anyio.fail_after(5):
        pair, first, second = make(zmtp.PAIR), make(zmtp.PAIR), make(zmtp.PAIR, reconnect_ivl=10)
        async with pair.monitor(zmtp.Event.DISCONNECTED) as monitor:
            ep = await link(pair, first, endpoint())
            await second.connect(ep)
            refused = await monitor.receive()
            assert refused.endpoint == ep
            assert "refused" in refused.reason
            for _ in range(3):  # the second keeps retrying meanwhile
                await pair.send(b"to the first")
                assert await first.recv() == b"to the first"
                await first.send(b"from the first")
                assert await pair.recv() == b"from the first"

            await first.close()
            while "refused" in (await monitor.receive()).reason:
                pass  # the second's retries, until the first's connection is gone
        await pair.send(b"to the second")  # waits until the second is accepted
        assert await second.recv() == b"to the second"
        await second.send(b"from the second")
        assert await pair.recv() == b"from the second"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_a_message_over_maxmsgsize_closes_that_connection_naming_the_limit(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, maxmsgsize=100)
        push = make(zmtp.PUSH, reconnect_ivl=10)
        async with pull.monitor() as monitor:
            await link(pull, push, endpoint())
            await push.send(b"x" * 100)  # exactly the limit
            assert await pull.recv() == b"x" * 100
            await push.send_multipart([b"x" * 60, b"y" * 60])  # the whole message counts
            dropped = await monitor.wait_for(zmtp.Event.DISCONNECTED)
            assert "maxmsgsize" in dropped.reason
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)  # the PUSH reconnects
        await push.send(b"small again")
        assert await pull.recv() == b"small again"
