"""``zmtp.asyncio.Poller`` and ``sock.poll()``: pyzmq's poller on asyncio (the default
loop and uvloop), over inproc, tcp and ipc.

A poll reports readiness (what a socket's core says ``poll_events`` is) and never takes
a message; when nothing is ready it waits for a core to say that something changed, up
to its timeout in milliseconds.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio

TRANSPORTS = ["inproc", "tcp", "ipc"]


@pytest.fixture(params=TRANSPORTS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Fresh endpoints to bind, for one transport (``where.pop()``)."""
    kind = str(request.param)
    if kind == "inproc":
        return [f"inproc://poll-{i}-{id(tmp_path)}" for i in range(4)]
    if kind == "tcp":
        return ["tcp://127.0.0.1:*"] * 4
    return [f"ipc://{tmp_path}/p{i}.sock" for i in range(4)]


async def linked(
    ctx: zmtp.asyncio.Context, endpoint: str, **pull_options: object
) -> tuple[zmtp.asyncio.Socket, zmtp.asyncio.Socket]:
    """A PUSH connected to a PULL, once the PUSH has a peer to send to."""
    pull = ctx.socket(zmtp.PULL, linger=0, **pull_options)
    push = ctx.socket(zmtp.PUSH, linger=0)
    async with push.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
        real = await pull.bind(endpoint)
        await push.connect(real)
        if not real.startswith("inproc://"):
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    return push, pull


def test_a_poller_reports_readable_sockets_without_taking_their_messages(
    run: Runner, where: list[str]
) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            pa, a = await linked(ctx, where.pop())
            pb, b = await linked(ctx, where.pop())
            poller = zmtp.asyncio.Poller()
            poller.register(a, zmtp.POLLIN)
            poller.register(b, zmtp.POLLIN)
            assert await poller.poll(0) == []
            await pb.send(b"to b")
            assert await poller.poll(2000) == [(b, zmtp.POLLIN)]
            assert await poller.poll(2000) == [(b, zmtp.POLLIN)], "polling took the message"
            assert await b.recv() == b"to b"
            assert await poller.poll(0) == []
            poller.unregister(b)
            await pb.send(b"unwatched")
            await pa.send(b"to a")
            assert await poller.poll(2000) == [(a, zmtp.POLLIN)]
            assert await a.recv() == b"to a"
            assert await b.recv() == b"unwatched"

    run(main)


def test_a_waiting_poll_wakes_when_a_message_arrives(run: Runner, where: list[str]) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked(ctx, where.pop())
            poller = zmtp.asyncio.Poller()
            poller.register(pull, zmtp.POLLIN)
            # The send runs once the poll, finding nothing, waits (a new task runs
            # only when the current one yields).
            sending = asyncio.ensure_future(push.send(b"wake up"))
            assert await poller.poll() == [(pull, zmtp.POLLIN)]  # no timeout: forever
            await sending
            assert pull.core.watchers == [], "the poll left its watcher behind"
            assert await pull.recv() == b"wake up"

    run(main)


def test_a_poll_times_out_with_an_empty_list(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            pull = ctx.socket(zmtp.PULL, linger=0)
            poller = zmtp.asyncio.Poller()
            poller.register(pull, zmtp.POLLIN)
            start = time.monotonic()
            assert await poller.poll(50) == []
            assert time.monotonic() - start >= 0.05
            assert pull.core.watchers == []

    run(main)


def test_a_cancelled_poll_leaves_no_watcher_and_took_nothing(run: Runner, where: list[str]) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked(ctx, where.pop())
            poller = zmtp.asyncio.Poller()
            poller.register(pull, zmtp.POLLIN)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(poller.poll(), 0.05)
            assert pull.core.watchers == []
            await push.send(b"after")
            assert await poller.poll(2000) == [(pull, zmtp.POLLIN)]
            assert await pull.recv() == b"after"

    run(main)


def test_pollout_says_when_a_send_would_not_wait(run: Runner, where: list[str]) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            push = ctx.socket(zmtp.PUSH, linger=0, sndhwm=1, immediate=True)
            poller = zmtp.asyncio.Poller()
            poller.register(push, zmtp.POLLOUT)
            assert await poller.poll(0) == []  # no peer yet
            pull = ctx.socket(zmtp.PULL, linger=0, rcvhwm=1)
            await push.connect(await pull.bind(where.pop()))
            assert await poller.poll(2000) == [(push, zmtp.POLLOUT)]
            assert await push.poll(0, zmtp.POLLOUT) == zmtp.POLLOUT

    run(main)


def test_modify_changes_the_events_and_zero_removes_the_socket(
    run: Runner, where: list[str]
) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            push, _pull = await linked(ctx, where.pop())
            poller = zmtp.asyncio.Poller()
            poller.register(push, zmtp.POLLIN)
            assert await poller.poll(0) == []  # a PUSH never receives
            poller.modify(push, zmtp.POLLIN | zmtp.POLLOUT)
            assert await poller.poll(2000) == [(push, zmtp.POLLOUT)]
            poller.modify(push, 0)
            assert poller.sockets == {}
            with pytest.raises(KeyError):
                poller.unregister(push)

    run(main)


def test_socket_poll_waits_for_input(run: Runner, where: list[str]) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked(ctx, where.pop())
            assert await pull.poll(0) == 0
            sending = asyncio.ensure_future(push.send(b"x"))
            assert await pull.poll(2000) == zmtp.POLLIN
            await sending
            assert pull.events & zmtp.POLLIN
            assert await pull.recv() == b"x"
            assert await pull.poll(0) == 0

    run(main)


def test_a_poller_refuses_what_is_not_a_zmtp_socket_or_a_poll_flag(run: Runner) -> None:
    with socket.socket() as raw, pytest.raises(zmtp.ZMTPValueError, match=r"loop\.add_reader"):
        zmtp.asyncio.Poller().register(raw, zmtp.POLLIN)  # type: ignore[arg-type]

    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            with pytest.raises(zmtp.ZMTPValueError, match=r"POLLIN and zmtp\.POLLOUT"):
                zmtp.asyncio.Poller().register(ctx.socket(zmtp.PULL), 8)

    run(main)
