"""Helpers for the engine tests (imported as ``engine_helpers``; fixtures are in conftest).

* ``link(binder, connecter, ep)`` binds and connects (in either order) and returns once
  both sides report ``HANDSHAKE_SUCCEEDED`` (for inproc: once the two are linked);
* ``fill_until_again(sock, msg)`` measures how many messages a sender can queue towards
  a reader that never reads; ``fill_until_send_waits`` goes on until a ``send`` has
  been seen waiting (the kernel may still make room after every task is blocked);
* ``cancel_once_blocked(call)`` starts a call, cancels it once every task is blocked,
  and says whether it completed anyway;
* ``drain(sock)`` takes every message already received, without waiting.

Nothing here sleeps; every wait is for a monitor event or a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import zmtp


async def link(
    binder: zmtp.Socket,
    connecter: zmtp.Socket,
    endpoint: str,
    *,
    bind_first: bool = True,
) -> str:
    """Bind ``binder`` and connect ``connecter`` to it (``bind_first`` or not); return the
    bound endpoint once both sides have completed their handshake."""
    async with (
        binder.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as on_binder,
        connecter.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as on_connecter,
    ):
        if bind_first:
            endpoint = await binder.bind(endpoint)
            await connecter.connect(endpoint)
        else:
            assert not endpoint.endswith(":*"), "connect-before-bind needs a concrete port"
            await connecter.connect(endpoint)
            endpoint = await binder.bind(endpoint)
        await on_binder.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        await on_connecter.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    return endpoint


async def fill_until_again(sock: zmtp.Socket, msg: list[bytes]) -> int:
    """Send ``msg`` with ``send_multipart_nowait`` until it raises ``Again`` even after
    every other task (engines, peers) has run as far as it can; return how many were
    accepted. This is the steady-state capacity between a sender and a reader that
    never reads."""
    count = 0
    while True:
        try:
            sock.send_multipart_nowait(msg)
            count += 1
            continue
        except zmtp.Again:
            pass
        await anyio.wait_all_tasks_blocked()
        try:
            sock.send_multipart_nowait(msg)
            count += 1
        except zmtp.Again:
            return count


async def fill_until_send_waits(
    sock: zmtp.Socket, msg: list[bytes], *, patience: float = 0.1, attempts: int = 5
) -> int:
    """Queue ``msg`` until a ``send`` of it has waited ``patience`` seconds without
    completing; return how many were queued (a send that completed counts).

    Over tcp the kernel can still make room after every task is blocked (window
    updates and loopback delivery run outside the process, later under load), so a
    send that completes after all does not mean the HWM was ignored: filling resumes.
    A socket that never makes a send wait fails after ``attempts`` rounds."""
    queued = 0
    for _ in range(attempts):
        queued += await fill_until_again(sock, msg)
        with anyio.move_on_after(patience) as waited:
            await sock.send_multipart(msg)
        if waited.cancelled_caught:
            return queued
        queued += 1
    raise AssertionError(f"no send ever waited: {queued} messages queued and still room")


def drain(sock: zmtp.Socket) -> list[list[bytes]]:
    """Every message ``sock`` can receive right now."""
    out = []
    while True:
        try:
            out.append(sock.recv_multipart_nowait())
        except zmtp.Again:
            return out


async def cancel_once_blocked(call: Callable[[], Awaitable[Any]]) -> bool:
    """Run ``call()`` in a task, wait until everything is blocked, cancel the call;
    True if it completed before the cancellation reached it."""
    completed = False
    scope = anyio.CancelScope()

    async def run() -> None:
        nonlocal completed
        with scope:
            await call()
            completed = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
    return completed
