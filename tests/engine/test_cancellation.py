"""Cancellation safety (the rule for every zmtp call that waits, on every engine): a
cancelled ``send`` sent nothing; a cancelled ``recv`` took nothing. And at the edge, when
the wake-up and the cancellation meet, the call either completed (the message went / was
returned) or did not happen at all, never half of each.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from engine_helpers import (
    cancel_once_blocked,
    drain,
    fill_until_again,
    fill_until_send_waits,
    link,
)

import zmtp

#: Every test here cancels a send or recv while it waits.
pytestmark = pytest.mark.needs("cancel-in-flight")


async def test_a_send_cancelled_while_waiting_for_room_sends_nothing(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, rcvhwm=2)
        push = make(zmtp.PUSH, sndhwm=2)
        await link(pull, push, endpoint())
        msg = [b"q" * 65536]
        expected = [msg] * await fill_until_send_waits(push, msg)
        for attempt in range(5):
            ghost = [b"ghost", b"%d" % attempt]
            if not await cancel_once_blocked(lambda ghost=ghost: push.send_multipart(ghost)):
                break  # cancelled while waiting: this one must never arrive
            # Over tcp the kernel made room after all: the ghost went, in order.
            expected += [ghost] + [msg] * await fill_until_again(push, msg)
        else:
            raise AssertionError("no send was ever cancelled while waiting for room")

        async with anyio.create_task_group() as tg:
            tg.start_soon(push.send, b"after")
            received = [await pull.recv_multipart() for _ in range(len(expected) + 1)]
        assert received == [*expected, [b"after"]]
        await anyio.wait_all_tasks_blocked()
        assert drain(pull) == [], "the cancelled message arrived after all"


async def test_a_recv_cancelled_while_waiting_loses_nothing(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await link(pull, push, endpoint())
        for recv in (pull.recv, pull.recv_multipart, pull.recv_string):
            assert not await cancel_once_blocked(recv), "received from an idle peer"
        await push.send_multipart([b"first", b"message"])
        assert await pull.recv_multipart() == [b"first", b"message"]


async def test_a_recv_cancelled_as_its_message_arrives_returns_it_or_leaves_it(
    make: Callable[..., zmtp.Socket],
):
    """The message that wakes a recv whose scope is cancelled in the same instant is
    either returned by that recv or received by the next one: exactly once."""
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await link(pull, push, "inproc://cancel-race-recv")
        got: list[bytes] = []
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def racing_recv() -> None:
                with scope:
                    got.append(await pull.recv())

            tg.start_soon(racing_recv)
            await anyio.wait_all_tasks_blocked()
            push.send_nowait(b"contested")  # wakes the parked recv ...
            scope.cancel()  # ... and cancels it before it runs again
        got.extend(drain_frames(pull))
        assert got == [b"contested"]


async def test_a_send_cancelled_as_room_appears_either_sent_or_not(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, rcvhwm=1)
        push = make(zmtp.PUSH, sndhwm=1)
        await link(pull, push, "inproc://cancel-race-send")
        assert await fill_until_again(push, [b"old"]) == 2
        completed = False
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def racing_send() -> None:
                nonlocal completed
                with scope:
                    await push.send(b"contested")
                    completed = True

            tg.start_soon(racing_send)
            await anyio.wait_all_tasks_blocked()
            assert pull.recv_nowait() == b"old"  # makes room: wakes the parked send ...
            scope.cancel()  # ... and cancels it before it runs again
        rest = drain_frames(pull)
        assert rest == ([b"old", b"contested"] if completed else [b"old"])


def drain_frames(sock: zmtp.Socket) -> list[bytes]:
    return [frame for msg in drain(sock) for frame in msg]
