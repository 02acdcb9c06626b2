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
    # It runs on trio, and every other enabled engine skips it, saying why.
    others = len(ENABLED) - 1
    result.assert_outcomes(passed=1, skipped=others)
    if not others:
        result.stdout.no_fnmatch_line("*SKIPPED*")


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
    n = len(ENABLED)
    result.assert_outcomes(passed=(n - 1) + n, skipped=1)
    result.stdout.fnmatch_lines(["*not on trio: a test reason*"])
