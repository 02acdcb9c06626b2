"""zmtp's STREAM socket against libzmq's, either side binding, over tcp (and ipc).

Both speak raw bytes: what one writes, the other reads as [routing id, data], with the
empty connect/disconnect notifications (stream_notify) on both sides and
[routing id, b""] closing a peer.
"""

from __future__ import annotations

import anyio
import pytest
import zmq
from libzmq_helpers import in_thread

import zmtp

pytestmark = pytest.mark.interop

TIMEOUT = 10


def libzmq_recv_data(zsocket: zmq.Socket, expected: int) -> tuple[bytes, bytes]:
    """Skip the arrival notification, then gather ``expected`` octets from one peer."""
    rid, data = zsocket.recv_multipart()
    got = data
    while len(got) < expected:
        more_id, data = zsocket.recv_multipart()
        assert more_id == rid
        got += data
    return rid, got


async def zmtp_recv_data(sock: zmtp.Socket, expected: int) -> tuple[bytes, bytes]:
    got = b""
    rid = b""
    while len(got) < expected:
        rid, data = await sock.recv_multipart()
        got += data
    return rid, got


@pytest.fixture(params=["tcp", "ipc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_zmtp_stream_binds_and_libzmq_stream_connects(
    zmtp_socket, zsock, transport: str, tmp_path
) -> None:
    with anyio.fail_after(TIMEOUT):
        ours = zmtp_socket(zmtp.STREAM)
        where = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/s.sock"
        ep = await ours.bind(where)
        theirs = zsock(zmq.STREAM)
        theirs.connect(ep)
        # libzmq reports its connection first: an empty message with our id for it.
        their_id_for_us, hello = await in_thread(theirs.recv_multipart)
        assert hello == b""
        our_id_for_them, hello = await ours.recv_multipart()
        assert hello == b""
        await in_thread(theirs.send_multipart, [their_id_for_us, b"raw bytes from libzmq"])
        rid, data = await zmtp_recv_data(ours, len(b"raw bytes from libzmq"))
        assert (rid, data) == (our_id_for_them, b"raw bytes from libzmq")
        await ours.send_multipart([our_id_for_them, b"raw bytes from zmtp"])
        got_id, got = await in_thread(libzmq_recv_data, theirs, len(b"raw bytes from zmtp"))
        assert (got_id, got) == (their_id_for_us, b"raw bytes from zmtp")
        await ours.send_multipart([our_id_for_them, b""])  # we close that peer
        assert await in_thread(theirs.recv_multipart) == [their_id_for_us, b""]


async def test_libzmq_stream_binds_and_zmtp_stream_connects(
    zmtp_socket, zsock, transport: str, tmp_path
) -> None:
    with anyio.fail_after(TIMEOUT):
        theirs = zsock(zmq.STREAM)
        if transport == "tcp":
            port = theirs.bind_to_random_port("tcp://127.0.0.1")
            ep = f"tcp://127.0.0.1:{port}"
        else:
            ep = f"ipc://{tmp_path}/s.sock"
            theirs.bind(ep)
        ours = zmtp_socket(zmtp.STREAM)
        await ours.connect(ep)
        our_id_for_them, hello = await ours.recv_multipart()
        assert hello == b""
        their_id_for_us, hello = await in_thread(theirs.recv_multipart)
        assert hello == b""
        payload = bytes(range(256)) * 400  # 100 KiB: arrives in several reads
        await ours.send_multipart([our_id_for_them, payload])
        got_id, got = await in_thread(libzmq_recv_data, theirs, len(payload))
        assert (got_id, got) == (their_id_for_us, payload)
        await in_thread(theirs.send_multipart, [their_id_for_us, b"answer"])
        assert await zmtp_recv_data(ours, 6) == (our_id_for_them, b"answer")
        await in_thread(theirs.send_multipart, [their_id_for_us, b""])  # libzmq closes us
        # libzmq carries the close out when its application thread next touches the
        # socket (it processes its commands then): poll it until we see the departure.
        departed = anyio.Event()

        def poke() -> None:
            while not departed.is_set():
                theirs.poll(20)

        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, poke)
            try:
                assert await ours.recv_multipart() == [our_id_for_them, b""]
            finally:
                departed.set()
