"""The engine registry and its adapter for blocking engines (``tests/engines.py``).

The blocking adapter is checked against pyzmq, the module whose shape ``zmtp.sync``
copies: what it must do is the same for both (blocking calls in a worker thread,
``*_nowait`` never waiting and raising ``zmtp.Again``).
"""

from __future__ import annotations

import asyncio

import anyio
import pytest
import trio
import zmq
from engines import CAPABILITIES, ENABLED, ENGINES, Engine, SyncAdapter, load

import zmtp


def test_every_enabled_engine_loads_and_lacks_only_known_capabilities() -> None:
    assert ENABLED, "no engine is enabled: the engine-level suites would run nothing"
    for name in ENABLED:
        engine = load(name)
        assert isinstance(engine, Engine) and engine.name == name
        assert set(engine.lacks) <= set(CAPABILITIES)
    assert set(ENABLED) <= set(ENGINES)


def test_the_engine_fixture_gives_the_engine_of_its_parameter(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    assert engine.name == request.node.callspec.params["engine"]


async def test_the_test_body_runs_on_the_backend_of_its_engine(engine: Engine) -> None:
    expected = engine.backend if isinstance(engine.backend, str) else engine.backend[0]
    running = asyncio.get_running_loop() if expected == "asyncio" else trio.lowlevel.current_task()
    assert running is not None


@pytest.mark.trio_only(reason="checks the blocking adapter itself, on one event loop")
async def test_the_sync_adapter_runs_blocking_calls_off_the_event_loop() -> None:
    api = SyncAdapter(zmq)
    with anyio.fail_after(5):
        async with api.Context() as ctx:
            pull = ctx.socket(zmtp.PULL, linger=0, rcvtimeo=5000)
            push = ctx.socket(zmtp.PUSH, linger=0, sndtimeo=5000)
            endpoint = await pull.bind("tcp://127.0.0.1:*")
            assert endpoint.startswith("tcp://127.0.0.1:")
            assert pull.linger == 0, "options pass through"
            with pytest.raises(zmtp.Again):
                pull.recv_nowait()
            got: list[list[bytes]] = []
            async with anyio.create_task_group() as tg:
                # A recv blocked in its worker thread leaves the loop free to send.
                async def receive() -> None:
                    got.append(await pull.recv_multipart())

                tg.start_soon(receive)
                await anyio.wait_all_tasks_blocked()
                await push.connect(endpoint)
                await push.send_multipart([b"a", b"b"])
            assert got == [[b"a", b"b"]]
            push.send_nowait(b"c")
            assert await pull.recv() == b"c"
            await push.close()
            await pull.close()
            assert push.closed and pull.closed
