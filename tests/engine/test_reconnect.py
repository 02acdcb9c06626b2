"""Reconnection (libzmq's connecter): a connected endpoint whose peer goes away is
retried every ``reconnect_ivl`` ms, doubling up to ``reconnect_ivl_max``; the pipe of
a connect outlives its connections, so messages queued while the peer is down are
delivered once it is back.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
from engine_helpers import link

import zmtp

pytestmark = pytest.mark.parametrize("transport", ["tcp", "ipc"])


@pytest.fixture
def refusing_endpoint(transport: str, tmp_path: Path) -> Iterator[str]:
    """An endpoint where every connect is refused at once."""
    if transport == "ipc":
        yield f"ipc://{tmp_path}/nobody.sock"
        return
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))  # bound but never listening: refuses
        yield f"tcp://127.0.0.1:{placeholder.getsockname()[1]}"


async def test_a_push_delivers_again_to_a_pull_rebound_on_the_same_endpoint(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=10)
        first = make(zmtp.PULL)
        async with push.monitor() as monitor:
            ep = await link(first, push, endpoint())
            await push.send(b"to the first")
            assert await first.recv() == b"to the first"

            await first.close()
            await monitor.wait_for(zmtp.Event.DISCONNECTED, ep)
            second = make(zmtp.PULL)
            assert await second.bind(ep) == ep
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED, ep)
        await push.send(b"to the second")
        assert await second.recv() == b"to the second"


async def test_messages_queued_while_the_peer_is_down_arrive_after_the_reconnect(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=10)
        first = make(zmtp.PULL)
        async with push.monitor() as monitor:
            ep = await link(first, push, endpoint())
            await first.close()
            await monitor.wait_for(zmtp.Event.DISCONNECTED, ep)
            for i in range(50):
                await push.send_multipart([b"queued", b"%d" % i])
            second = make(zmtp.PULL)
            await second.bind(ep)
        for i in range(50):
            assert await second.recv_multipart() == [b"queued", b"%d" % i]


async def test_reconnect_back_off_starts_at_reconnect_ivl_and_doubles_up_to_the_max(
    make: Callable[..., zmtp.Socket], refusing_endpoint: str
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=5, reconnect_ivl_max=40)
        async with push.monitor(zmtp.Event.CONNECT_RETRIED) as monitor:
            await push.connect(refusing_endpoint)
            intervals = [(await monitor.receive()).value for _ in range(6)]
        assert intervals == [5, 10, 20, 40, 40, 40]


async def test_without_reconnect_ivl_max_the_interval_stays_constant(
    make: Callable[..., zmtp.Socket], refusing_endpoint: str
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=5)
        async with push.monitor(zmtp.Event.CONNECT_RETRIED) as monitor:
            await push.connect(refusing_endpoint)
            assert [(await monitor.receive()).value for _ in range(4)] == [5] * 4


async def test_reconnect_ivl_minus_one_gives_up_after_the_first_loss(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=-1)
        pull = make(zmtp.PULL)
        async with push.monitor() as monitor:
            ep = await link(pull, push, endpoint())
            await pull.close()
            await monitor.wait_for(zmtp.Event.DISCONNECTED, ep)
            closed = await monitor.wait_for(zmtp.Event.CLOSED | zmtp.Event.CONNECT_RETRIED)
        assert closed.event == zmtp.Event.CLOSED
        assert "reconnect" in closed.reason
