"""tcp endpoints beyond 127.0.0.1: every interface (``*``), host names, and IPv6
(``tcp://[::1]:port`` with the ``ipv6`` option, as in libzmq)."""

from __future__ import annotations

import socket

import anyio
import pytest
from engines import Engine

import zmtp


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


async def _exchange(push: zmtp.Socket, pull: zmtp.Socket) -> None:
    await push.send_multipart([b"over", b"tcp"])
    assert await pull.recv_multipart() == [b"over", b"tcp"]


async def test_binding_every_interface_accepts_a_connection_on_loopback(engine: Engine) -> None:
    async with engine.Context() as ctx:
        pull, push = ctx.socket(zmtp.PULL), ctx.socket(zmtp.PUSH)
        with anyio.fail_after(5):
            bound = await pull.bind("tcp://*:*")
            assert bound.startswith("tcp://0.0.0.0:")
            port = int(bound.rsplit(":", 1)[1])
            await push.connect(f"tcp://127.0.0.1:{port}")
            await _exchange(push, pull)


async def test_a_host_name_is_resolved_when_connecting(engine: Engine) -> None:
    async with engine.Context() as ctx:
        pull, push = ctx.socket(zmtp.PULL), ctx.socket(zmtp.PUSH)
        with anyio.fail_after(5):
            port = int((await pull.bind("tcp://127.0.0.1:*")).rsplit(":", 1)[1])
            await push.connect(f"tcp://localhost:{port}")
            await _exchange(push, pull)


@needs_ipv6
async def test_ipv6_loopback_with_the_ipv6_option(engine: Engine) -> None:
    async with engine.Context() as ctx:
        pull, push = ctx.socket(zmtp.PULL, ipv6=True), ctx.socket(zmtp.PUSH, ipv6=True)
        with anyio.fail_after(5):
            bound = await pull.bind("tcp://[::1]:*")
            assert bound.startswith("tcp://[::1]:")
            await push.connect(bound)
            await _exchange(push, pull)


async def test_connecting_to_a_name_that_does_not_resolve_retries_and_reports_why(
    engine: Engine,
) -> None:
    async with engine.Context() as ctx:
        push = ctx.socket(zmtp.PUSH, reconnect_ivl=20)
        async with push.monitor() as events:
            with anyio.fail_after(10):
                await push.connect("tcp://no-such-host.invalid:5555")
                closed = await events.wait_for(zmtp.Event.CLOSED)
                assert "resolve" in closed.reason
                retried = await events.wait_for(zmtp.Event.CONNECT_RETRIED)
                assert retried.value == 20
