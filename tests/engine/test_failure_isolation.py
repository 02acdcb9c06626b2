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
from zmtp._trio import stream as trio_stream
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


@pytest.mark.engines("trio", reason="injects the failure into the trio engine's reader and writer")
@pytest.mark.parametrize("where", ["_reader", "_writer"])
async def test_an_unexpected_exception_in_one_engine_ends_only_its_connection(
    ctx: zmtp.Context, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    broken: list[trio_stream.StreamEngine] = []
    real = getattr(trio_stream.StreamEngine, where)
    pull = ctx.socket(zmtp.PULL, linger=0)

    async def fail_for_the_first(self: trio_stream.StreamEngine, scope: Any) -> Any:
        if self.host.options is pull.options and not broken:  # the PULL's first peer
            broken.append(self)
            raise RuntimeError("injected failure")
        return await real(self, scope)

    monkeypatch.setattr(trio_stream.StreamEngine, where, fail_for_the_first)
    with anyio.fail_after(10):
        async with pull.monitor(zmtp.Event.DISCONNECTED) as monitor:
            ep = await pull.bind("tcp://127.0.0.1:*")
            first = ctx.socket(zmtp.PUSH, linger=0, reconnect_ivl=-1)
            await first.connect(ep)
            ev = await monitor.wait_for(zmtp.Event.DISCONNECTED)
        assert ev.reason == "internal error: RuntimeError: injected failure", ev.reason
        await _serves(pull, ep, ctx, b"the next peer is served")
        assert not pull.closed
        # The context and its other sockets are unharmed.
        other = ctx.socket(zmtp.PULL, linger=0)
        await _serves(other, await other.bind("tcp://127.0.0.1:*"), ctx, b"elsewhere too")
