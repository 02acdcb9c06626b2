"""A closed connection's memory comes back at once, by reference counting alone.

With the cycle collector off, every object of a connection that ended (its engine, its
sans-IO Connection and mechanism, its pipe and queues) must be freed as soon as nothing
refers to it; a reference cycle would keep a hostile peer's buffers until the next
collection. (A fair queue remembers the pipe of the last message received, for that
message's properties, until a message from another pipe is received.)
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import anyio
import pytest
from engines import Engine

import zmtp

BIG = b"x" * 300_000


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


MECHANISMS = {
    "null": ({}, {}),
    "plain": ({"plain_server": True}, {"plain_username": b"u", "plain_password": b"p"}),
}


@pytest.mark.parametrize("mechanism", ["null", "plain", "curve"])
async def test_a_closed_connection_is_freed_without_the_cycle_collector(
    engine: Engine, no_gc: None, mechanism: str
) -> None:
    if mechanism == "curve":
        server_public, server_secret = zmtp.curve_keypair()
        client_public, client_secret = zmtp.curve_keypair()
        server_opts = {"curve_server": True, "curve_secretkey": server_secret}
        client_opts = {
            "curve_serverkey": server_public,
            "curve_publickey": client_public,
            "curve_secretkey": client_secret,
        }
    else:
        server_opts, client_opts = MECHANISMS[mechanism]
    freed: list[str] = []
    with anyio.fail_after(10):
        async with engine.Context() as ctx:
            if mechanism == "plain":
                auth = engine.Authenticator(ctx)
                await auth.start()
                auth.configure_plain(passwords={"u": "p"})
            pull = ctx.socket(zmtp.PULL, linger=0, **server_opts)
            ep = await pull.bind("tcp://127.0.0.1:*")
            push = ctx.socket(zmtp.PUSH, linger=0, **client_opts)
            await push.connect(ep)
            await push.send(BIG)
            assert await pull.recv() == BIG
            (live,) = engine.connections(pull)
            for name, obj in [
                ("engine", live),
                ("connection", live.conn),
                ("mechanism", live.conn.mechanism),
                ("pipe", live.pipe),
            ]:
                weakref.finalize(obj, freed.append, name)
            del live, obj
            async with pull.monitor(zmtp.Event.DISCONNECTED) as monitor:
                await push.close()
                await monitor.wait_for(zmtp.Event.DISCONNECTED)
            # Another peer's message moves the fair queue's "last pipe" on.
            other = ctx.socket(zmtp.PUSH, linger=0, **client_opts)
            await other.connect(ep)
            await other.send(b"next")
            assert await pull.recv() == b"next"
            assert sorted(freed) == ["connection", "engine", "mechanism", "pipe"]
            if mechanism == "plain":
                await auth.stop()
