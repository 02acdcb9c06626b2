"""tcp_keepalive*, tcp_maxrt and TCP_NODELAY reach the operating-system sockets of
both accepted and connected tcp connections (libzmq's options, same units)."""

from __future__ import annotations

import socket

import anyio
import pytest
from engines import Engine

import zmtp

KEEPALIVE = {
    "tcp_keepalive": 1,
    "tcp_keepalive_idle": 30,
    "tcp_keepalive_intvl": 5,
    "tcp_keepalive_cnt": 4,
    "tcp_maxrt": 2500,
}


def _os_socket(engine: Engine, sock: zmtp.Socket) -> socket.socket:
    (connection,) = engine.connections(sock)  # the one live connection
    return connection.sock


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="needs Linux TCP options")
@pytest.mark.parametrize("side", ["connecter", "accepter"])
async def test_keepalive_and_maxrt_options_reach_the_tcp_socket(engine: Engine, side: str) -> None:
    async with engine.Context() as ctx:
        tuned = KEEPALIVE if side == "accepter" else {}
        pull = ctx.socket(zmtp.PULL, **tuned)
        push = ctx.socket(zmtp.PUSH, **(KEEPALIVE if side == "connecter" else {}))
        with anyio.fail_after(5):
            await push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await push.send(b"up")
            assert await pull.recv() == b"up"
        os_sock = _os_socket(engine, push if side == "connecter" else pull)
        assert os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert os_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert os_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert os_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
        assert os_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
        assert os_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_tcp_keepalive_zero_turns_keepalive_off(engine: Engine) -> None:
    async with engine.Context() as ctx:
        pull = ctx.socket(zmtp.PULL)
        push = ctx.socket(zmtp.PUSH, tcp_keepalive=0)
        with anyio.fail_after(5):
            await push.connect(await pull.bind("tcp://127.0.0.1:*"))
            await push.send(b"up")
            assert await pull.recv() == b"up"
        assert _os_socket(engine, push).getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
