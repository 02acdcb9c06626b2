"""The application ``zmtp conform`` expects of a peer, written on zmtp's own sockets.

:func:`running` starts one bound zmtp socket of a given type and its application
(echo, request loop, publisher, ...) in a trio loop on a thread of its own, so a
blocking probe can test it from the calling thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import trio

import zmtp
from zmtp import SocketType

T = SocketType


async def _app(
    sock: zmtp.Socket, kind: SocketType, ctx: zmtp.Context, feedback: str | None
) -> None:
    if kind in (T.REP, T.ROUTER, T.DEALER, T.PAIR):
        while True:
            await sock.send_multipart(await sock.recv_multipart())
    elif kind == T.REQ:
        body: list[bytes] = [b"conform-start"]
        while True:
            await sock.send_multipart(body)
            with trio.move_on_after(1):
                body = await sock.recv_multipart()
    elif kind in (T.PUSH, T.PUB, T.XPUB):
        topics = (b"alpha", b"beta", b"gamma")
        n = 0
        while True:
            n += 1
            await sock.send(topics[n % 3] + b" %d" % n)
            if n % 20 == 0:
                await trio.sleep(0.001)  # pacing: a steady stream, not a busy loop
    elif kind in (T.SUB, T.XSUB):
        if kind == T.SUB:
            sock.subscribe(b"alpha")
        else:
            await sock.send(b"\x01alpha")
        while True:
            await sock.recv_multipart()
    elif kind == T.PULL:
        forward = None
        if feedback is not None:
            forward = ctx.socket(T.PUSH, linger=0)
            await forward.connect(feedback)
        while True:
            msg = await sock.recv_multipart()
            if forward is not None:
                await forward.send_multipart(msg)


@contextlib.contextmanager
def running(kind: SocketType, *, feedback: str | None = None, **options: Any) -> Iterator[str]:
    """Run a bound zmtp ``kind`` socket and its application; yields its endpoint."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with zmtp.Context() as ctx:
            if kind == T.REQ:
                options.setdefault("req_relaxed", True)
            sock = ctx.socket(kind, linger=0, **options)
            box["endpoint"] = await sock.bind("tcp://127.0.0.1:*")
            with trio.CancelScope() as scope:
                box["scope"] = scope
                box["token"] = trio.lowlevel.current_trio_token()
                ready.set()
                await _app(sock, kind, ctx, feedback)

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported to the test thread
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True, name=f"zmtp-{kind.name}")
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the zmtp application did not start")
    if "error" in box:
        raise box["error"]
    try:
        yield box["endpoint"]
    finally:
        with contextlib.suppress(trio.RunFinishedError):  # it may have ended on its own
            trio.from_thread.run_sync(box["scope"].cancel, trio_token=box["token"])
        thread.join(10)
    if "error" in box:
        raise box["error"]
