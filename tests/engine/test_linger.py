"""Linger (libzmq's ZMQ_LINGER): what a socket does with its queued messages at close.

The rules, as in libzmq:

* on close, queued messages keep going out for up to ``linger`` ms: over live
  connections, and over connections still being made or remade (the peer may bind
  after our close began); ``-1`` waits until everything is sent, ``0`` drops at once;
* what is dropped (linger expired, linger 0) is counted in ``sock.dropped``, never
  silent;
* inproc: a connecter that closes before anyone bound leaves its messages in the
  context; a socket that binds the name later (within the linger) receives them;
* a context's close waits for its sockets' lingering the same way; a default linger
  for its sockets is set with ``Context(linger=...)``.

Every message is counted. Nothing sleeps to synchronise: a close that must wait runs in
a task, and the test waits for the messages it must deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from engines import Engine, settle

import zmtp

N = 50


def messages(n: int = N) -> list[bytes]:
    return [b"msg %03d" % i for i in range(n)]


async def recv_all(sock: zmtp.Socket, n: int) -> list[bytes]:
    return [await sock.recv() for _ in range(n)]


@pytest.mark.parametrize("linger", [-1, 5000], ids=["linger-1", "linger5000"])
async def test_messages_sent_before_the_peer_exists_are_delivered_after_close(
    ctx: zmtp.Context, fixed_endpoint: Callable[[], str], linger: int
) -> None:
    """The zguide sender's shape: connect, send, close; the receiver binds later."""
    ep = fixed_endpoint()
    with anyio.fail_after(10):
        push = ctx.socket(zmtp.PUSH, linger=linger)
        await push.connect(ep)
        for m in messages():
            await push.send(m)
        closed = anyio.Event()

        async def close() -> None:
            await push.close()
            closed.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(close)
            pull = ctx.socket(zmtp.PULL, linger=0)
            await pull.bind(ep)
            assert await recv_all(pull, N) == messages()
            await closed.wait()
        assert push.closed
        assert push.dropped == 0
        await pull.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])  # inproc peers never reconnect
async def test_close_waits_for_a_connection_that_is_remade(
    ctx: zmtp.Context, fixed_endpoint: Callable[[], str], transport: str
) -> None:
    """Messages queued while the peer is away go out when it comes back, even if the
    socket began closing meanwhile (linger -1)."""
    ep = fixed_endpoint()
    with anyio.fail_after(10):
        push = ctx.socket(zmtp.PUSH, reconnect_ivl=10)
        first = ctx.socket(zmtp.PULL, linger=0)
        async with push.monitor(zmtp.Event.DISCONNECTED | zmtp.Event.HANDSHAKE_SUCCEEDED) as mon:
            await first.bind(ep)
            await push.connect(ep)
            await mon.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
            await push.send(b"before")
            assert await first.recv() == b"before"
            await first.close()
            await mon.wait_for(zmtp.Event.DISCONNECTED)
        for m in messages():
            await push.send(m)
        async with anyio.create_task_group() as tg:
            tg.start_soon(push.close)
            second = ctx.socket(zmtp.PULL, linger=0)
            await second.bind(ep)
            assert await recv_all(second, N) == messages()
        assert push.closed and push.dropped == 0


@pytest.mark.parametrize("transport", ["tcp", "ipc"])  # inproc: see the tests below
async def test_linger_that_expires_drops_and_counts_what_is_left(
    ctx: zmtp.Context, fixed_endpoint: Callable[[], str], transport: str
) -> None:
    with anyio.fail_after(10):
        push = ctx.socket(zmtp.PUSH, linger=50)
        await push.connect(fixed_endpoint())
        for m in messages():
            await push.send(m)
        await push.close()  # nobody ever binds: returns once the 50 ms are over
        assert push.closed
        assert push.dropped == N


@pytest.mark.parametrize("how", ["option", "argument", "context default"])
async def test_linger_zero_drops_at_once_and_counts(
    engine: Engine, fixed_endpoint: Callable[[], str], how: str
) -> None:
    async with engine.Context(**({"linger": 0} if how == "context default" else {})) as ctx:
        with anyio.fail_after(5):
            push = ctx.socket(zmtp.PUSH, **({"linger": 0} if how == "option" else {}))
            await push.connect(fixed_endpoint())
            for m in messages():
                await push.send(m)
            await push.close(**({"linger": 0} if how == "argument" else {}))
            assert push.closed
            assert push.dropped == N


async def test_linger_waits_for_the_kernel_to_take_a_large_backlog(
    ctx: zmtp.Context, endpoint: Callable[[], str]
) -> None:
    """Everything queued on a live connection is written before close returns."""
    with anyio.fail_after(20):
        pull = ctx.socket(zmtp.PULL, linger=0, rcvhwm=10)
        push = ctx.socket(zmtp.PUSH, sndhwm=0)  # no HWM: queue it all
        ep = await pull.bind(endpoint())
        await push.connect(ep)
        big = [b"%06d" % i + b"." * 4000 for i in range(2000)]
        for m in big:
            push.send_nowait(m)
        async with anyio.create_task_group() as tg:
            tg.start_soon(push.close)
            got = await recv_all(pull, len(big))
        assert got == big
        assert push.dropped == 0


# -- inproc -------------------------------------------------------------------------


async def test_inproc_connect_send_close_then_bind_delivers(ctx: zmtp.Context) -> None:
    """libzmq delivers these: the closed connecter's messages wait in the context."""
    with anyio.fail_after(5):
        push = ctx.socket(zmtp.PUSH)  # default linger
        await push.connect("inproc://later")
        for m in messages():
            await push.send(m)
        await push.close()  # returns at once: nothing to do but leave them in the context
        pull = ctx.socket(zmtp.PULL, linger=0)
        await pull.bind("inproc://later")
        assert await recv_all(pull, N) == messages()
        assert push.dropped == 0
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()


async def test_inproc_linger_zero_drops_the_messages_of_a_closed_connecter(
    ctx: zmtp.Context,
) -> None:
    with anyio.fail_after(5):
        push = ctx.socket(zmtp.PUSH, linger=0)
        await push.connect("inproc://never-mind")
        for m in messages():
            await push.send(m)
        await push.close()
        assert push.dropped == N
        pull = ctx.socket(zmtp.PULL, linger=0)
        await pull.bind("inproc://never-mind")
        await settle(0)
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()


async def test_inproc_a_bind_after_the_linger_expired_gets_nothing(ctx: zmtp.Context) -> None:
    with anyio.fail_after(5):
        push = ctx.socket(zmtp.PUSH, linger=1)
        await push.connect("inproc://too-late")
        for m in messages():
            await push.send(m)
        await push.close()
        await anyio.sleep(0.02)  # pacing: the bind must come after the 1 ms linger
        pull = ctx.socket(zmtp.PULL, linger=0)
        await pull.bind("inproc://too-late")
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()
        assert push.dropped == N


async def test_inproc_messages_nobody_bound_for_are_counted_when_the_context_closes(
    engine: Engine,
) -> None:
    with anyio.fail_after(5):
        async with engine.Context() as ctx:
            push = ctx.socket(zmtp.PUSH)
            await push.connect("inproc://nobody")
            for m in messages():
                await push.send(m)
            await push.close()
            assert push.dropped == 0  # a binder may still come
        assert push.dropped == N


# -- contexts ------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "ipc"])  # an inproc peer closes with the context
async def test_leaving_a_context_waits_for_its_sockets_lingering(
    engine: Engine, fixed_endpoint: Callable[[], str], transport: str
) -> None:
    ep = fixed_endpoint()
    got: list[bytes] = []
    with anyio.fail_after(10):
        async with engine.Context() as receiving, anyio.create_task_group() as tg:
            pull = receiving.socket(zmtp.PULL, linger=0)
            leaving = anyio.Event()
            sender_left = anyio.Event()
            retries: Any = None

            async def sender() -> None:
                nonlocal retries
                async with engine.Context() as ctx:
                    push = ctx.socket(zmtp.PUSH, reconnect_ivl=10)
                    retries = push.monitor(zmtp.Event.CONNECT_RETRIED)
                    await push.connect(ep)
                    for m in messages():
                        await push.send(m)
                    leaving.set()
                sender_left.set()  # only once the messages went out

            tg.start_soon(sender)
            await leaving.wait()
            # The context is being left: its PUSH keeps retrying the absent peer.
            for _ in range(3):
                await retries.wait_for(zmtp.Event.CONNECT_RETRIED)
            assert not sender_left.is_set(), "the context left with messages still queued"
            await pull.bind(ep)
            got = await recv_all(pull, N)
            await sender_left.wait()
    assert got == messages()
