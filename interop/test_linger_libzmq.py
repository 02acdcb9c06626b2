"""Linger against libzmq: a zmtp PUSH connects, sends and closes before a libzmq PULL
exists; the PULL, started afterwards in another process, receives every message.

This is the shape of most zguide senders (connect, send, exit). libzmq delivers; so
must zmtp, for as long as ``linger`` allows (default -1: until delivered). With a
linger that expires first, the messages are dropped and counted, not lost silently.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from engines import Engine
from libzmq_helpers import HOST, free_tcp_port, ready_process

import zmtp

pytestmark = pytest.mark.interop

N = 200

#: A libzmq PULL that binds argv[1], says "ready", then prints each of the argv[2]
#: messages it gets, waiting at most argv[3] ms for each.
PULL_SCRIPT = """
import sys, zmq
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
pull.linger = 0
pull.rcvtimeo = int(sys.argv[3])
pull.bind(sys.argv[1])
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    print(pull.recv().decode(), flush=True)
ctx.destroy(linger=0)
"""


@pytest.fixture(params=["tcp", "ipc"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "tcp":
        return f"tcp://{HOST}:{free_tcp_port()}"
    return f"ipc://{tmp_path}/linger.sock"


@pytest.mark.parametrize("linger", [-1, 10000], ids=["default-linger", "linger10s"])
async def test_a_libzmq_pull_started_after_our_close_began_receives_everything(
    engine: Engine, endpoint: str, linger: int
) -> None:
    sent = [f"message {i}" for i in range(N)]
    with anyio.fail_after(30):
        async with engine.Context() as ctx, anyio.create_task_group() as tg:
            push = ctx.socket(zmtp.PUSH, **({} if linger == -1 else {"linger": linger}))
            await push.connect(endpoint)
            for text in sent:
                await push.send_string(text)
            closed = anyio.Event()

            async def close() -> None:
                await push.close()
                closed.set()

            tg.start_soon(close)
            await anyio.wait_all_tasks_blocked()
            assert not closed.is_set(), "close returned with messages still queued"
            async with ready_process(PULL_SCRIPT, endpoint, N, 10000) as (proc, lines):
                got = [await lines.next() for _ in range(N)]
                await proc.wait()
            await closed.wait()
    assert got == sent
    assert push.dropped == 0


async def test_a_linger_that_expires_before_libzmq_comes_drops_and_counts(
    engine: Engine, endpoint: str
) -> None:
    with anyio.fail_after(30):
        async with engine.Context() as ctx:
            push = ctx.socket(zmtp.PUSH, linger=100)
            await push.connect(endpoint)
            for i in range(N):
                await push.send_string(f"message {i}")
            await push.close()
            assert push.dropped == N
        # The PULL that comes afterwards gets nothing: its first recv times out
        # (after 500 ms, far more than a connect and a write take on loopback).
        async with ready_process(PULL_SCRIPT, endpoint, 1, 500) as (proc, lines):
            assert await lines.next() is None
            assert await proc.wait() != 0
