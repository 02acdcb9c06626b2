"""The engines that the engine-level suites run against, and the ``engine`` fixture.

zmtp has one socket core and several engines that drive it (trio today; asyncio and
a blocking, pyzmq-shaped one are the next). Every test that exercises sockets, in
``tests/engine``, ``tests/hostile`` and ``interop``, is written once and runs once per
enabled engine:

* the test body is async and uses anyio (``anyio.fail_after``,
  ``anyio.create_task_group``, ``anyio.Event``, ``anyio.connect_tcp`` ...), so the
  same body runs on trio and on asyncio;
* it takes the ``engine`` fixture (directly, or through ``ctx``, ``make``,
  ``zctx`` ...) and makes sockets with ``engine.Context()`` / ``engine.Socket(...)``;
  everything that is the same for every engine (socket types, ``zmtp.Event``,
  errors, ``zmtp.wire``) still comes from ``zmtp``;
* anyio's pytest plugin runs the body on the backend its engine lives on: the
  ``anyio_backend`` fixture follows ``engine``.

Turning an engine on is adding its name to :data:`ENABLED`. Its entry in
:data:`ENGINES` says how to load its public API and which anyio backend it runs on.

A test restricts itself where an engine genuinely differs, and says why (the reason
is what a skipped run prints)::

    @pytest.mark.engines("trio", reason="the pipeline demo is written for trio")

    @pytest.mark.needs("cancel-in-flight")   # a capability some engine lacks

An engine lists the capabilities it lacks, each with the sentence a user reads when a
test that needs it is skipped (:attr:`Engine.lacks`); :data:`CAPABILITIES` names every
capability a test may ask for.

Async tests that exercise no engine (the trio fast paths, for one) are marked
``@pytest.mark.trio_only(reason=...)`` and run on trio. An async test that does
neither is refused at collection, so that no socket test silently runs on one engine
only.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import anyio
import pytest

import zmtp

# ---------------------------------------------------------------------------------------
# What a test sees of one engine


@dataclasses.dataclass(frozen=True)
class Engine:
    """One engine as the tests see it: its public API, its anyio backend, and the few
    white-box hooks that tests of its internals need.

    ``Context``, ``Socket``, ``proxy`` and ``Authenticator`` have the same shape on
    every engine (the trio engine's ``zmtp.Context`` and ``zmtp.Socket`` are the
    reference; annotations in the tests name them for that reason).
    """

    name: str
    #: What ``anyio_backend`` is for tests of this engine: ``"trio"``, ``"asyncio"``,
    #: or ``("asyncio", {"use_uvloop": True})``.
    backend: str | tuple[str, dict[str, Any]]
    #: How a program imports this engine's ``Context`` and ``Socket`` (for tests that
    #: run a program in a child interpreter).
    imports: str
    Context: Any
    Socket: Any
    proxy: Callable[..., Awaitable[Any]]
    Authenticator: Any
    #: pyzmq's Poller for this engine's sockets (None where the engine has none yet).
    Poller: Any
    #: What ``await monitor.receive()`` raises after the monitor stopped.
    monitor_ended: type[BaseException]
    #: The engine's per-connection object (a leak check counts live ones).
    connection_type: type
    #: A zmtp socket's live tcp/ipc connections, as the engine's per-connection
    #: objects; tests read three attributes of them: ``sock`` (the OS socket),
    #: ``conn`` (the sans-IO :class:`zmtp.wire.Connection`) and ``pipe``.
    connections: Callable[[Any], list[Any]]
    #: Capabilities this engine lacks, each with the reason a skipped test prints.
    lacks: dict[str, str] = dataclasses.field(default_factory=dict)


#: Every capability a test may ask for with ``@pytest.mark.needs(...)``.
CAPABILITIES = {
    "cancel-in-flight": "cancelling a send or recv that is waiting, and finding that it "
    "took or sent nothing",
}


def _trio() -> Engine:
    import trio

    from zmtp._trio.stream import StreamEngine

    return Engine(
        name="trio",
        backend="trio",
        imports="from zmtp import Context, Socket",
        Context=zmtp.Context,
        Socket=zmtp.Socket,
        proxy=zmtp.proxy,
        Authenticator=zmtp.auth.Authenticator,
        Poller=zmtp.Poller,
        monitor_ended=trio.EndOfChannel,
        connection_type=StreamEngine,
        connections=lambda sock: list(sock._rt.engines),
    )


def _asyncio(backend: str | tuple[str, dict[str, Any]] = "asyncio") -> Engine:
    import zmtp.asyncio
    import zmtp.asyncio.auth
    import zmtp.asyncio.stream

    return Engine(
        name="asyncio" if backend == "asyncio" else "uvloop",
        backend=backend,
        imports="from zmtp.asyncio import Context, Socket",
        Context=zmtp.asyncio.Context,
        Socket=zmtp.asyncio.Socket,
        proxy=zmtp.asyncio.proxy,
        Authenticator=zmtp.asyncio.auth.Authenticator,
        Poller=getattr(zmtp.asyncio, "Poller", None),
        monitor_ended=zmtp.asyncio.EndOfChannel,
        connection_type=zmtp.asyncio.stream.StreamEngine,
        connections=lambda sock: list(sock._rt.engines),
    )


#: Every engine the suites know, by name: a function that loads it (only an enabled
#: engine is ever loaded, so an entry may name a module still being written).
ENGINES: dict[str, Callable[[], Engine]] = {
    "trio": _trio,
    "asyncio": _asyncio,
    "uvloop": functools.partial(_asyncio, ("asyncio", {"use_uvloop": True})),
    # "sync": zmtp.sync through SyncAdapter (below), on the "trio" backend, lacking
    # cancel-in-flight: its entry comes with the zmtp.sync module.
}

#: How far short of a timer's length an engine's clock may see it fire: uvloop's clock
#: moves in whole milliseconds, read at the start of a loop pass. Durations measured
#: with ``anyio.current_time()`` allow for it.
CLOCK_GRAIN = 0.002

#: The engines every engine-level test runs against (uvloop where it is installed:
#: the test extra installs it wherever it has a wheel).
ENABLED: list[str] = ["trio", "asyncio"] + (
    ["uvloop"] if importlib.util.find_spec("uvloop") is not None else []
)


@functools.cache
def load(name: str) -> Engine:
    return ENGINES[name]()


# ---------------------------------------------------------------------------------------
# Fixtures and markers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engines(*names, reason): run only on these engines; the others skip with the reason",
    )
    config.addinivalue_line(
        "markers", "needs(*capabilities): skip on an engine that lacks one (engines.py)"
    )
    config.addinivalue_line("markers", "trio_only(reason): an async test of no engine, run on trio")


def _restrictions(node: pytest.Item) -> Iterator[tuple[Sequence[str], str]]:
    """(engines allowed, reason) for each ``engines`` marker of ``node``."""
    for marker in node.iter_markers("engines"):
        reason = marker.kwargs.get("reason")
        if not marker.args or not reason:
            raise pytest.UsageError(
                f"{node.nodeid}: @pytest.mark.engines needs engine names and a reason"
            )
        unknown = set(marker.args) - set(ENGINES)
        if unknown:
            raise pytest.UsageError(f"{node.nodeid}: unknown engines {sorted(unknown)}")
        yield marker.args, reason


def _needs(node: pytest.Item) -> list[str]:
    needed = [cap for marker in node.iter_markers("needs") for cap in marker.args]
    unknown = set(needed) - set(CAPABILITIES)
    if unknown:
        raise pytest.UsageError(f"{node.nodeid}: unknown capabilities {sorted(unknown)}")
    return needed


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse an async test that takes no engine and is not marked ``trio_only``, and a
    restriction that leaves a test no enabled engine to run on."""
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        fn = getattr(item.obj, "hypothesis", None)
        fn = fn.inner_test if fn is not None else item.obj
        trio_only = item.get_closest_marker("trio_only")
        if "engine" in item.fixturenames:
            allowed = set(ENABLED)
            for names, _ in _restrictions(item):
                allowed &= set(names)
            _needs(item)
            if not allowed:
                raise pytest.UsageError(
                    f"{item.nodeid}: restricted to engines none of which is enabled "
                    f"({ENABLED}); it would run nowhere"
                )
            if trio_only is not None:
                raise pytest.UsageError(
                    f"{item.nodeid}: takes an engine, so it is not trio_only; restrict it "
                    '@pytest.mark.engines("trio", reason=...) instead'
                )
        elif _is_async(fn) and trio_only is None:
            raise pytest.UsageError(
                f"{item.nodeid}: an async test must take the `engine` fixture (directly or "
                "through ctx/make/zctx/...) or be marked @pytest.mark.trio_only(reason=...)"
            )
        elif trio_only is not None and not trio_only.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.trio_only needs a reason")


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


@pytest.fixture(params=ENABLED)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine under test (parametrized over :data:`ENABLED`)."""
    name = str(request.param)
    for names, reason in _restrictions(request.node):
        if name not in names:
            pytest.skip(f"not on {name}: {reason}")
    chosen = load(name)
    for capability in _needs(request.node):
        if capability in chosen.lacks:
            pytest.skip(f"not on {name}: {chosen.lacks[capability]}")
    return chosen


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> str | tuple[str, dict[str, Any]]:
    """The backend a test body runs on: its engine's, or trio for ``trio_only`` tests."""
    if "engine" in request.fixturenames:
        chosen: Engine = request.getfixturevalue("engine")
        return chosen.backend
    return "trio"


# ---------------------------------------------------------------------------------------
# Waiting, the same way on every backend


async def settle(cushion: float) -> None:
    """Return once every task has been blocked for ``cushion`` seconds in a row.

    For bytes that the kernel moves outside the process (loopback delivery, window
    updates), which no event in the process announces: the one wait in these suites
    that is not for an event. Trio answers it exactly; elsewhere the cushion is waited
    between two moments at which every task is blocked.
    """
    if _running_on_trio():
        import trio.testing

        await trio.testing.wait_all_tasks_blocked(cushion)
        return
    await anyio.wait_all_tasks_blocked()
    await anyio.sleep(cushion)  # pacing: the kernel's share, which nothing announces
    await anyio.wait_all_tasks_blocked()


async def pending(monitor: Any) -> list[Any]:
    """The events ``monitor`` holds now, taken without waiting for more: a monitor
    returns a buffered event without waiting, and a cancelled scope ends the first
    wait."""
    seen = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        while True:
            seen.append(await monitor.receive())
    return seen


def _running_on_trio() -> bool:
    try:
        import trio
    except ImportError:  # pragma: no cover
        return False
    return trio.lowlevel.in_trio_run()


# ---------------------------------------------------------------------------------------
# The blocking engine, seen through async test bodies


class SyncAdapter:
    """An async face over a blocking, pyzmq-shaped module, so that the same async test
    bodies drive it (its registry entry wraps ``zmtp.sync`` with this).

    * a call that may block (``bind``, ``send``, ``recv_multipart``, ``close`` ...)
      runs in a worker thread with :func:`anyio.to_thread.run_sync`, so the event loop
      that runs the test (and its libzmq or raw peers) keeps going meanwhile;
    * ``*_nowait`` calls the blocking method with ``NOBLOCK`` on the test's own
      thread: it never waits, and raises :class:`zmtp.Again` as every engine does;
    * options and other attributes pass straight through.

    A worker thread cannot be interrupted: a cancelled ``await sock.recv()`` stops
    waiting, but the thread's ``recv`` goes on and may still take a message. Hence the
    engine lacks ``cancel-in-flight``; ``abandon_on_cancel`` keeps a timeout
    (``anyio.fail_after``) from hanging on such a thread.
    """

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def Context(self, **defaults: Any) -> AsyncContext:
        return AsyncContext(self.module, self.module.Context(**defaults))

    def Socket(self, socket_type: Any, context: Any = None, **options: Any) -> AsyncSocket:
        ctx = context.sync if isinstance(context, AsyncContext) else self.module.Context.instance()
        return AsyncContext(self.module, ctx).socket(socket_type, **options)


async def _blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await anyio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), abandon_on_cancel=True
    )


class AsyncContext:
    """A blocking context as an async one (see :class:`SyncAdapter`)."""

    def __init__(self, module: ModuleType, sync: Any) -> None:
        self.module = module
        self.sync = sync

    def socket(self, socket_type: Any, **options: Any) -> AsyncSocket:
        sock = self.sync.socket(int(socket_type))
        for name, value in options.items():
            setattr(sock, name, value)
        return AsyncSocket(self.module, sock)

    async def term(self) -> None:
        await _blocking(self.sync.term)

    async def __aenter__(self) -> AsyncContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await _blocking(self.sync.destroy)


class AsyncSocket:
    """A blocking socket as an async one (see :class:`SyncAdapter`)."""

    def __init__(self, module: ModuleType, sync: Any) -> None:
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "sync", sync)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.sync, name, value)

    async def bind(self, endpoint: str) -> str:
        await _blocking(self.sync.bind, endpoint)
        last = self.sync.last_endpoint
        return last.decode() if isinstance(last, bytes) else str(last)

    async def connect(self, endpoint: str) -> None:
        await _blocking(self.sync.connect, endpoint)

    async def send(self, frame: bytes, flags: int = 0) -> None:
        await _blocking(self.sync.send, frame, flags)

    async def send_multipart(self, frames: Sequence[bytes]) -> None:
        await _blocking(self.sync.send_multipart, frames)

    async def send_string(self, text: str) -> None:
        await _blocking(self.sync.send_string, text)

    async def recv(self, flags: int = 0) -> bytes:
        return bytes(await _blocking(self.sync.recv, flags))

    async def recv_multipart(self) -> list[bytes]:
        return [bytes(f) for f in await _blocking(self.sync.recv_multipart)]

    async def recv_string(self) -> str:
        return str(await _blocking(self.sync.recv_string))

    def send_nowait(self, frame: bytes) -> None:
        self._nowait(self.sync.send, frame, self.module.NOBLOCK)

    def send_multipart_nowait(self, frames: Sequence[bytes]) -> None:
        self._nowait(self.sync.send_multipart, frames, self.module.NOBLOCK)

    def recv_nowait(self) -> bytes:
        return bytes(self._nowait(self.sync.recv, self.module.NOBLOCK))

    def recv_multipart_nowait(self) -> list[bytes]:
        return [bytes(f) for f in self._nowait(self.sync.recv_multipart, self.module.NOBLOCK)]

    def _nowait(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except self.module.Again as again:
            raise zmtp.Again(str(again)) from None

    async def close(self, linger: int | None = None) -> None:
        await _blocking(self.sync.close, linger)

    async def __aenter__(self) -> AsyncSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
