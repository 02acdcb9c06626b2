"""Cancellation the asyncio way (``asyncio.wait_for``, ``asyncio.timeout``, ``task.cancel``):
a cancelled ``recv`` took nothing and a cancelled ``send`` sent nothing. Every test
counts messages end to end, so a message lost or duplicated by a cancellation fails it.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio

ENDPOINTS = ["inproc://cancel", "tcp://127.0.0.1:*", "ipc://*"]
#: A body that fills the kernel's socket buffers in a few dozen messages.
BIG = b"x" * 65536


async def linked_pair(
    ctx: zmtp.asyncio.Context, endpoint: str, **push_options: object
) -> tuple[zmtp.asyncio.Socket, zmtp.asyncio.Socket]:
    """A PUSH connected to a PULL, once both handshakes are done."""
    pull = ctx.socket(zmtp.PULL, linger=0)
    push = ctx.socket(zmtp.PUSH, linger=0, **push_options)
    async with pull.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as bound:
        real = await pull.bind(endpoint)
        async with push.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as connecting:
            await push.connect(real)
            if not real.startswith("inproc://"):
                await connecting.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
                await bound.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    return push, pull


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_recv_cancelled_by_wait_for_took_nothing(run: Runner, endpoint: str) -> None:
    async def main() -> list[bytes]:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, endpoint)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pull.recv(), 0.05)
            for i in range(3):
                await push.send(b"%d" % i)
            return [await pull.recv() for _ in range(3)]

    assert run(main) == [b"0", b"1", b"2"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in Python 3.11")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_recv_cancelled_by_asyncio_timeout_took_nothing(run: Runner, endpoint: str) -> None:
    async def main() -> list[list[bytes]]:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, endpoint)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):  # type: ignore[attr-defined]
                    await pull.recv_multipart()
            await push.send_multipart([b"a", b"b"])
            return [await pull.recv_multipart()]

    assert run(main) == [[b"a", b"b"]]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_recv_woken_and_cancelled_before_it_resumed_left_the_message(
    run: Runner, endpoint: str
) -> None:
    """The hard case: the message arrives (the waiting recv is woken) and the task is
    cancelled before it runs again. The message must still be there."""

    async def main() -> tuple[bool, list[bytes]]:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, endpoint)
            first = asyncio.ensure_future(pull.recv())
            second = asyncio.ensure_future(pull.recv())
            await asyncio.sleep(0)  # pacing: both recvs start waiting
            # One message wakes both waiters; cancel the first before it resumes.
            push.send_nowait(b"only one")
            while not pull.getsockopt("events") & 1:  # POLLIN: the message is in
                await asyncio.sleep(0)  # pacing: the reader callback runs
            first.cancel()
            got = await second
            rest = []
            while True:
                try:
                    rest.append(pull.recv_nowait())
                except zmtp.Again:
                    break
            return first.cancelled(), [got, *rest]

    cancelled, received = run(main)
    assert cancelled
    assert received == [b"only one"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_send_cancelled_at_the_hwm_sent_nothing(run: Runner, endpoint: str) -> None:
    async def main() -> tuple[int, int]:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, endpoint, sndhwm=2)
            pull.rcvhwm = 2
            sent = 0
            cancelled = 0
            # Fill until sends wait; each wait is cancelled by wait_for.
            while cancelled < 3:
                try:
                    await asyncio.wait_for(push.send(b"%08d" % sent + BIG), 0.05)
                    sent += 1
                except asyncio.TimeoutError:
                    cancelled += 1
            # Now read everything: exactly the sends that completed arrive.
            received = 0
            while received < sent:
                assert (await pull.recv())[:8] == b"%08d" % received
                received += 1
            with pytest.raises(zmtp.Again):
                pull.recv_nowait()
            return sent, received

    sent, received = run(main)
    assert sent >= 2
    assert received == sent


def test_a_send_woken_and_cancelled_before_it_resumed_sent_nothing(run: Runner) -> None:
    """Over inproc the receiver's ``recv`` wakes the waiting sender at once, so the
    order "woken, then cancelled before resuming" is exact. (Over tcp and ipc room
    comes back through the kernel: the test above cancels waiting sends there.)"""
    endpoint = "inproc://woken-send"

    async def main() -> list[bytes]:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, endpoint, sndhwm=1)
            pull.rcvhwm = 1
            sent: list[bytes] = []
            # Queue until a send has to wait.
            i = 0
            while True:
                try:
                    push.send_nowait(b"%d" % i)
                except zmtp.Again:
                    break
                sent.append(b"%d" % i)
                i += 1
            waiting = asyncio.ensure_future(push.send(b"cancelled"))
            await asyncio.sleep(0)  # pacing: the send starts waiting
            assert not waiting.done()
            first = await pull.recv()  # makes room: wakes the waiting send ...
            waiting.cancel()  # ... which is cancelled before it resumes
            with pytest.raises(asyncio.CancelledError):
                await waiting
            received = [first]
            while len(received) < len(sent):
                received.append(await pull.recv())
            await push.send(b"after")
            received.append(await pull.recv())
            return received

    received = run(main)
    assert b"cancelled" not in received
    assert received[-1] == b"after"
    assert received[:-1] == [b"%d" % i for i in range(len(received) - 1)]


def test_cancelling_a_task_blocked_in_recv_leaves_the_socket_usable(run: Runner) -> None:
    async def main() -> bytes:
        async with zmtp.asyncio.Context() as ctx:
            push, pull = await linked_pair(ctx, "tcp://127.0.0.1:*")
            task = asyncio.ensure_future(pull.recv())
            await asyncio.sleep(0)  # pacing: the recv starts waiting
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await push.send(b"still works")
            return await pull.recv()

    assert run(main) == b"still works"
