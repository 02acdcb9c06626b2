"""The engine registry and its adapter for the blocking engine (``tests/engines.py``).

The whole engine-level suite runs through the adapter on ``zmtp.sync``; what is
checked here is what that suite takes for granted: a blocking call leaves the event
loop free, ``*_nowait`` never waits and raises ``zmtp.Again``, and a wait the test
gives up on takes nothing that a later wait is owed.
"""

from __future__ import annotations

import asyncio
import contextlib

import anyio
import pytest
import trio
from engines import CAPABILITIES, ENABLED, ENGINES, Engine, SyncAdapter, load, settle

import zmtp
import zmtp.sync


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
    api = SyncAdapter(zmtp.sync)
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


@pytest.mark.trio_only(reason="checks the blocking adapter itself, on one event loop")
async def test_the_sync_adapter_takes_options_that_are_not_attributes_at_creation() -> None:
    api = SyncAdapter(zmtp.sync)
    with anyio.fail_after(5):
        async with api.Context() as ctx:
            pub = ctx.socket(zmtp.PUB, linger=0)
            sub = ctx.socket(zmtp.SUB, linger=0, subscribe=b"")  # a method on the socket
            await sub.connect(await pub.bind("inproc://adapter-options"))
            await pub.send(b"to every subscriber")
            assert await sub.recv() == b"to every subscriber"


@pytest.mark.trio_only(reason="checks the blocking adapter itself, on one event loop")
async def test_a_monitor_wait_given_up_on_takes_no_event_from_a_later_wait() -> None:
    api = SyncAdapter(zmtp.sync)
    with anyio.fail_after(5):
        async with api.Context() as ctx:
            pull = ctx.socket(zmtp.PULL, linger=0)
            async with pull.monitor(zmtp.Event.LISTENING) as monitor:
                with anyio.move_on_after(0.05) as gave_up:  # its worker thread waits on
                    await monitor.receive()
                assert gave_up.cancelled_caught
                endpoint = await pull.bind("tcp://127.0.0.1:*")
                listening = await monitor.receive()  # the abandoned waiter took nothing
            assert (listening.event, listening.endpoint) == (zmtp.Event.LISTENING, endpoint)


@pytest.mark.trio_only(reason="checks the blocking adapter itself, on one event loop")
async def test_settle_waits_for_the_io_thread_of_the_blocking_engine() -> None:
    api = SyncAdapter(zmtp.sync)
    with anyio.fail_after(5):
        async with api.Context() as ctx:
            # No task of the test's loop moves these bytes: only the context's I/O
            # thread does, and settle() must wait for it.
            pull = ctx.socket(zmtp.PULL, linger=0)
            push = ctx.socket(zmtp.PUSH, linger=0)
            async with pull.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
                await push.connect(await pull.bind("tcp://127.0.0.1:*"))
                await monitor.receive()
            for i in range(100):
                push.send_nowait(b"%d" % i)
            await settle(0)
            got = []
            with contextlib.suppress(zmtp.Again):
                while True:
                    got.append(pull.recv_nowait())
            assert got == [b"%d" % i for i in range(100)]


# ---------------------------------------------------------------------------------------
# What the registry refuses (each in a pytest run of its own)

INI = """
[pytest]
anyio_mode = auto
"""
CONFTEST = 'pytest_plugins = ["engines"]\n'


def _run(pytester: pytest.Pytester, test_file: str) -> pytest.RunResult:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_file)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q", "-rs")


def test_an_async_test_that_takes_no_engine_is_refused_at_collection(
    pytester: pytest.Pytester,
) -> None:
    result = _run(pytester, "async def test_forgot_the_engine():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*must take the `engine` fixture*trio_only*"])


@pytest.mark.parametrize(
    "marker, says",
    [
        ('engines("trio")', "needs engine names and a reason"),
        ('engines("no-such-engine", reason="x")', "unknown engines*no-such-engine"),
        ('needs("teleportation")', "unknown capabilities*teleportation"),
        ('trio_only(reason="x")', "not trio_only"),
    ],
)
def test_a_restriction_that_says_too_little_or_names_nothing_known_is_refused(
    pytester: pytest.Pytester, marker: str, says: str
) -> None:
    result = _run(
        pytester,
        f"import pytest\n@pytest.mark.{marker}\nasync def test_x(engine):\n    pass\n",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{says}*"])


def test_a_test_restricted_to_its_engine_runs_there_with_the_engine_id(
    pytester: pytest.Pytester,
) -> None:
    result = _run(
        pytester,
        "import pytest\n"
        '@pytest.mark.engines("trio", reason="x")\n'
        "async def test_x(engine):\n"
        '    assert engine.name == "trio"\n',
    )
    others = [name for name in ENABLED if name != "trio"]
    result.assert_outcomes(passed=1, skipped=len(others))
    result.stdout.fnmatch_lines([f"*not on {name}: x*" for name in others])
    result.stdout.no_fnmatch_line("*not on trio*")


def test_an_engine_that_lacks_a_capability_skips_the_tests_that_need_it_saying_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import engines

    lacking = dataclasses.replace(load("trio"), lacks={"cancel-in-flight": "a test reason"})
    monkeypatch.setitem(engines.ENGINES, "trio", lambda: lacking)
    engines.load.cache_clear()
    try:
        result = _run(
            pytester,
            "import pytest\n"
            '@pytest.mark.needs("cancel-in-flight")\n'
            "async def test_x(engine):\n"
            "    assert engine.name != 'trio', 'must not run on the engine that lacks it'\n"
            "async def test_y(engine):\n"
            "    pass\n",
        )
    finally:
        engines.load.cache_clear()
    lacking = ["trio"] + [
        name for name in ENABLED if name != "trio" and "cancel-in-flight" in load(name).lacks
    ]
    n = len(ENABLED)
    result.assert_outcomes(passed=(n - len(lacking)) + n, skipped=len(lacking))
    result.stdout.fnmatch_lines(["*not on trio: a test reason*"])
