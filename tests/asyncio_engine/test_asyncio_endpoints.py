"""Endpoints on asyncio as pyzmq writes them: ``tcp://source;destination`` connects
from a chosen local address (and port), on the default loop and uvloop."""

from __future__ import annotations

from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio


def test_connect_from_a_source_address(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            router, dealer = ctx.socket(zmtp.ROUTER), ctx.socket(zmtp.DEALER)
            endpoint = await router.bind("tcp://127.0.0.1:*")
            await dealer.connect(f"tcp://127.0.0.2:0;{endpoint.removeprefix('tcp://')}")
            await dealer.send(b"from .2")
            frames = await router.recv_multipart(copy=False)
            assert frames[1].bytes == b"from .2"
            assert frames[1]["Peer-Address"] == "127.0.0.2"

    run(main)


def test_a_source_address_that_cannot_be_bound_is_reported_and_retried(run: Runner) -> None:
    """The connect fails (the monitor says why) and the connecter keeps trying, as for
    any other failed attempt; the socket itself is unharmed."""

    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            router = ctx.socket(zmtp.ROUTER)
            endpoint = await router.bind("tcp://127.0.0.1:*")
            dealer = ctx.socket(zmtp.DEALER, reconnect_ivl=10)
            async with dealer.monitor(zmtp.Event.CLOSED | zmtp.Event.CONNECT_RETRIED) as events:
                # 192.0.2.1 (TEST-NET-1, RFC 5737) is no address of this machine.
                await dealer.connect(f"tcp://192.0.2.1:0;{endpoint.removeprefix('tcp://')}")
                closed = await events.wait_for(zmtp.Event.CLOSED)
                assert "connect failed" in closed.reason
                await events.wait_for(zmtp.Event.CONNECT_RETRIED)

    run(main)
