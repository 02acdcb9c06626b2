"""IPv6 against libzmq: a zmtp socket bound on ``tcp://[::1]:*`` with the ``ipv6``
option talks to a libzmq peer, both ways."""

from __future__ import annotations

import socket

import anyio
import pytest
import zmq
from engines import Engine

import zmtp

pytestmark = pytest.mark.interop


def _have_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(
    not _have_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)"
)


@needs_ipv6
async def test_ipv6_interop_with_libzmq_in_both_directions(engine: Engine) -> None:
    zctx = zmq.Context()
    peer = zctx.socket(zmq.PAIR)
    peer.linger = 0
    peer.ipv6 = True
    peer.rcvtimeo = peer.sndtimeo = 5000
    try:
        async with engine.Context() as ctx:
            ours = ctx.socket(zmtp.PAIR, ipv6=True)
            with anyio.fail_after(10):
                bound = await ours.bind("tcp://[::1]:*")
                peer.connect(bound)
                await anyio.to_thread.run_sync(peer.send, b"from libzmq")
                assert await ours.recv() == b"from libzmq"
                await ours.send(b"from zmtp")
                assert await anyio.to_thread.run_sync(peer.recv) == b"from zmtp"
    finally:
        peer.close()
        zctx.term()
