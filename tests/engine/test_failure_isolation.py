"""One failing connection never takes its socket or its context down (issue: a bad
socket option or a bug hit by one peer used to end every socket of the context).

Failures are injected into one connection only: an OS refusing a tcp option as the
connection is set up, and an unexpected exception inside a live connection's engine.
Each time, that connection ends with a monitor event giving the reason, and the same
socket goes on serving another peer.
"""

from __future__ import annotations

import errno
from typing import Any

import anyio
import pytest

import zmtp
from zmtp.core.stream import StreamCore
from zmtp.transport import os_sockets


async def _serves(pull: zmtp.Socket, ep: str, ctx: zmtp.Context, text: bytes) -> None:
    push = ctx.socket(zmtp.PUSH, linger=0)
    await push.connect(ep)
    await push.send(text)
    assert await pull.recv() == text
    await push.close()


async def test_an_os_error_setting_a_tcp_option_ends_only_that_connection(
    ctx: zmtp.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_tune = os_sockets.tune_tcp
    failed = 0
    pull = ctx.socket(zmtp.PULL, linger=0)

    def tune_once_badly(sock, options):  # type: ignore[no-untyped-def]
        nonlocal failed
        if options is pull.options and not failed:  # the PULL's first accepted peer
            failed += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        real_tune(sock, options)

    monkeypatch.setattr(os_sockets, "tune_tcp", tune_once_badly)
    with anyio.fail_after(10):
        async with pull.monitor(zmtp.Event.HANDSHAKE_FAILED_NO_DETAIL) as monitor:
            ep = await pull.bind("tcp://127.0.0.1:*")
            bad = ctx.socket(zmtp.PUSH, linger=0, reconnect_ivl=-1)
            await bad.connect(ep)  # its accepted end fails to set up
            ev = await monitor.wait_for(zmtp.Event.HANDSHAKE_FAILED_NO_DETAIL)
        assert "Invalid argument" in ev.reason and "EINVAL" in ev.reason, ev.reason
        await _serves(pull, ep, ctx, b"still serving")
        assert not pull.closed


@pytest.mark.parametrize("where", ["reading", "writing"])
async def test_an_unexpected_exception_in_one_engine_ends_only_its_connection(
    ctx: zmtp.Context, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The failure is injected into what every engine's connection calls: its reader
    handing events over (``StreamCore.split``) or its writer encoding what it sends
    (``StreamCore.encode``), for the first peer of one socket only."""
    kind = zmtp.PULL if where == "reading" else zmtp.PUSH
    server = ctx.socket(kind, linger=0)
    broken: list[StreamCore] = []
    name = "split" if where == "reading" else "encode"
    real = getattr(StreamCore, name)

    def fail_for_the_first(self: StreamCore, *args: Any) -> Any:
        if self.host.options is server.options and (not broken or broken[0] is self):
            broken.append(self)
            raise RuntimeError("injected failure")
        return real(self, *args)

    monkeypatch.setattr(StreamCore, name, fail_for_the_first)
    peer_kind = zmtp.PUSH if kind == zmtp.PULL else zmtp.PULL
    with anyio.fail_after(10):
        async with server.monitor(zmtp.Event.DISCONNECTED) as monitor:
            ep = await server.bind("tcp://127.0.0.1:*")
            first = ctx.socket(peer_kind, linger=0, reconnect_ivl=-1)
            await first.connect(ep)
            if kind == zmtp.PUSH:
                await server.send(b"meets the broken writer")
            ev = await monitor.wait_for(zmtp.Event.DISCONNECTED)
        assert ev.reason == "internal error: RuntimeError: injected failure", ev.reason
        # The same socket serves the next peer.
        second = ctx.socket(peer_kind, linger=0)
        await second.connect(ep)
        if kind == zmtp.PULL:
            await second.send(b"the next peer is served")
            assert await server.recv() == b"the next peer is served"
        else:
            await server.send(b"the next peer is served")
            assert await second.recv() == b"the next peer is served"
        assert not server.closed
        # The context and its other sockets are unharmed.
        other = ctx.socket(zmtp.PULL, linger=0)
        await _serves(other, await other.bind("tcp://127.0.0.1:*"), ctx, b"elsewhere too")
