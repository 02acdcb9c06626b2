"""The send/recv surface a pyzmq user expects: timeouts (``sndtimeo``/``rcvtimeo``) and
``DONTWAIT`` raise ``Again``; ``more=True``/``SNDMORE`` build one message frame by
frame; ``recv`` returns one frame at a time with ``rcvmore``; strings; ``async for``.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from engine_helpers import link
from engines import CLOCK_GRAIN, settle

import zmtp


@pytest.fixture
async def push_pull(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> tuple[zmtp.Socket, zmtp.Socket]:
    push, pull = make(zmtp.PUSH), make(zmtp.PULL)
    await link(pull, push, endpoint())
    return push, pull


async def test_rcvtimeo_raises_again_after_the_timeout(push_pull):
    _, pull = push_pull
    pull.rcvtimeo = 50
    with anyio.fail_after(5):
        start = anyio.current_time()
        with pytest.raises(zmtp.Again, match="rcvtimeo"):
            await pull.recv()
        assert anyio.current_time() - start >= 0.05 - CLOCK_GRAIN
        with pytest.raises(zmtp.Again):
            await pull.recv_multipart()


async def test_sndtimeo_raises_again_when_no_peer_takes_the_message(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, sndtimeo=50)  # no peer at all
        start = anyio.current_time()
        with pytest.raises(zmtp.Again, match="sndtimeo"):
            await push.send(b"nobody")
        assert anyio.current_time() - start >= 0.05 - CLOCK_GRAIN


async def test_sndtimeo_zero_behaves_like_dontwait(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, sndtimeo=0)
        with pytest.raises(zmtp.Again):
            await push.send_multipart([b"nobody"])


async def test_dontwait_raises_again_at_once_instead_of_waiting(push_pull):
    push, pull = push_pull
    with anyio.fail_after(1):
        with pytest.raises(zmtp.Again):
            await pull.recv(zmtp.DONTWAIT)
        with pytest.raises(zmtp.Again):
            await pull.recv_multipart(flags=zmtp.NOBLOCK)
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()
        lonely = push.context.socket(zmtp.PUSH, linger=0)
        with pytest.raises(zmtp.Again):
            await lonely.send(b"x", zmtp.DONTWAIT)
        with pytest.raises(zmtp.Again):
            lonely.send_nowait(b"x")
        await push.send_multipart([b"y", b"z"], flags=zmtp.DONTWAIT)
        assert await pull.recv() == b"y"
        assert await pull.recv(zmtp.DONTWAIT) == b"z"  # the rest of a message is there


async def test_dontwait_takes_a_message_that_is_already_there(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        push, pull = make(zmtp.PUSH), make(zmtp.PULL)
        await link(pull, push, "inproc://dontwait-there")  # inproc delivers at once
        push.send_nowait(b"one")
        push.send_multipart_nowait([b"two", b"frames"])
        assert await pull.recv(zmtp.DONTWAIT) == b"one"
        assert pull.recv_multipart_nowait() == [b"two", b"frames"]


async def test_send_with_more_holds_frames_until_the_last_one(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        await push.send(b"a", more=True)
        await push.send(b"b", zmtp.SNDMORE)
        push.send_nowait(b"c", more=True)
        await settle(0)
        with pytest.raises(zmtp.Again):
            pull.recv_nowait()  # nothing travels before the last frame
        await push.send(b"d")
        assert await pull.recv_multipart() == [b"a", b"b", b"c", b"d"]
        await push.send(b"head", more=True)
        await push.send_multipart([b"rest", b"of it"])
        assert await pull.recv_multipart() == [b"head", b"rest", b"of it"]


async def test_recv_returns_one_frame_at_a_time_with_rcvmore(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        await push.send_multipart([b"1", b"", b"3"])
        await push.send(b"next")
        assert not pull.rcvmore
        frames = [await pull.recv()]
        while pull.rcvmore:
            frames.append(await pull.recv())
        assert frames == [b"1", b"", b"3"]
        assert await pull.recv() == b"next"
        assert not pull.rcvmore


async def test_recv_multipart_after_a_partial_recv_returns_the_rest(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        await push.send_multipart([b"1", b"2", b"3"])
        assert await pull.recv() == b"1"
        assert pull.rcvmore
        assert await pull.recv_multipart() == [b"2", b"3"]
        assert not pull.rcvmore


async def test_strings_are_sent_and_received_encoded(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        await push.send_string("héllo ✓")
        assert await pull.recv() == "héllo ✓".encode()
        await push.send_string("latin-1 é", encoding="latin-1")
        assert await pull.recv_string(encoding="latin-1") == "latin-1 é"
        push.send_string_nowait("now")
        assert await pull.recv_string() == "now"
        await push.send_multipart([b"head", "tail ✓".encode()])
        assert await pull.recv() == b"head"
        assert pull.recv_string_nowait() == "tail ✓"


async def test_a_str_frame_is_refused_with_a_hint_and_nothing_is_sent(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        with pytest.raises(zmtp.FrameTypeError, match="send_string"):
            await push.send("text")
        with pytest.raises(zmtp.FrameTypeError):
            await push.send_multipart([b"ok", 42])
        with pytest.raises(TypeError):  # FrameTypeError is a TypeError, as in pyzmq
            push.send_nowait("text")
        with pytest.raises(zmtp.ZMTPValueError, match="at least one frame"):
            await push.send_multipart([])
        await push.send(b"only this")
        assert await pull.recv_multipart() == [b"only this"]


async def test_async_for_yields_whole_messages_until_the_socket_closes(push_pull):
    push, pull = push_pull
    with anyio.fail_after(5):
        got = []
        three = anyio.Event()

        async def consume() -> None:
            async for msg in pull:
                got.append(msg)
                if len(got) == 3:
                    three.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            for i in range(3):
                await push.send_multipart([b"%d" % i, b"x"])
            await three.wait()
            await pull.close()  # ends the loop
        assert got == [[b"0", b"x"], [b"1", b"x"], [b"2", b"x"]]


async def test_a_pull_cannot_send_and_a_push_cannot_receive(push_pull):
    with anyio.fail_after(5):
        push, pull = push_pull
        with pytest.raises(zmtp.InvalidState, match="PULL"):
            await pull.send(b"x")
        with pytest.raises(zmtp.InvalidState, match="PUSH"):
            await push.recv()
