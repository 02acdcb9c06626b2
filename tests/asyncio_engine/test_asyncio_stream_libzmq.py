"""zmtp.asyncio's STREAM socket against libzmq's (through pyzmq), either side binding,
over tcp and ipc, on the default loop and uvloop.

Both speak raw bytes: what one writes, the other reads as [routing id, data], with the
empty arrival/departure notifications (stream_notify) on both sides and
[routing id, b""] closing a peer. libzmq's blocking calls run in worker threads with
timeouts, so none can hang the loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import zmq
from asyncio_helpers import Runner, in_thread, zsocket

import zmtp
import zmtp.asyncio

pytestmark = pytest.mark.interop


@pytest.fixture(params=["tcp", "ipc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def libzmq_recv_data(theirs: Any, expected: int) -> tuple[bytes, bytes]:
    """Gather ``expected`` octets from one peer of a libzmq STREAM socket."""
    rid, got = theirs.recv_multipart()
    while len(got) < expected:
        more_id, data = theirs.recv_multipart()
        assert more_id == rid
        got += data
    return rid, got


async def zmtp_recv_data(ours: zmtp.asyncio.Socket, expected: int) -> tuple[bytes, bytes]:
    got = b""
    rid = b""
    while len(got) < expected:
        rid, data = await ours.recv_multipart()
        got += data
    return rid, got


def test_zmtp_stream_binds_and_libzmq_stream_connects(
    run: Runner, zctx: Any, transport: str, tmp_path: Path
) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context(linger=0) as ctx:
            ours = ctx.socket(zmtp.STREAM)
            where = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/s.sock"
            endpoint = await ours.bind(where)
            theirs = zsocket(zctx, zmq.STREAM)
            theirs.connect(endpoint)
            # libzmq reports its connection first: an empty message with its id for us.
            their_id_for_us, hello = await in_thread(theirs.recv_multipart)
            assert hello == b""
            our_id_for_them, hello = await ours.recv_multipart()
            assert hello == b""
            await in_thread(theirs.send_multipart, [their_id_for_us, b"raw bytes from libzmq"])
            got = await zmtp_recv_data(ours, len(b"raw bytes from libzmq"))
            assert got == (our_id_for_them, b"raw bytes from libzmq")
            await ours.send_multipart([our_id_for_them, b"raw bytes from zmtp"])
            got = await in_thread(libzmq_recv_data, theirs, len(b"raw bytes from zmtp"))
            assert got == (their_id_for_us, b"raw bytes from zmtp")
            await ours.send_multipart([our_id_for_them, b""])  # we close that peer
            assert await in_thread(theirs.recv_multipart) == [their_id_for_us, b""]

    run(main, timeout=20)


def test_libzmq_stream_binds_and_zmtp_stream_connects(
    run: Runner, zctx: Any, transport: str, tmp_path: Path
) -> None:
    async def main() -> None:
        theirs = zsocket(zctx, zmq.STREAM)
        if transport == "tcp":
            endpoint = f"tcp://127.0.0.1:{theirs.bind_to_random_port('tcp://127.0.0.1')}"
        else:
            endpoint = f"ipc://{tmp_path}/s.sock"
            theirs.bind(endpoint)
        async with zmtp.asyncio.Context(linger=0) as ctx:
            ours = ctx.socket(zmtp.STREAM)
            await ours.connect(endpoint)
            our_id_for_them, hello = await ours.recv_multipart()
            assert hello == b""
            their_id_for_us, hello = await in_thread(theirs.recv_multipart)
            assert hello == b""
            payload = bytes(range(256)) * 400  # 100 KiB: arrives in several reads
            await ours.send_multipart([our_id_for_them, payload])
            got = await in_thread(libzmq_recv_data, theirs, len(payload))
            assert got == (their_id_for_us, payload)
            await in_thread(theirs.send_multipart, [their_id_for_us, b"answer"])
            assert await zmtp_recv_data(ours, 6) == (our_id_for_them, b"answer")
            await in_thread(theirs.send_multipart, [their_id_for_us, b""])  # libzmq closes us
            # libzmq carries the close out when its application thread next touches the
            # socket (it processes its commands then): poll it until we see the departure.
            departed = threading.Event()

            def poke() -> None:
                while not departed.is_set():
                    theirs.poll(20)

            poking = asyncio.get_running_loop().run_in_executor(None, poke)
            try:
                assert await ours.recv_multipart() == [our_id_for_them, b""]
            finally:
                departed.set()
                await poking

    run(main, timeout=20)
