"""The engines that the engine-level suites run against, and the ``engine`` fixture.

zmtp has one socket core and several engines that drive it (trio and the blocking,
pyzmq-shaped ``zmtp.sync`` today, asyncio next). Every test that exercises sockets,
in ``tests/engine``, ``tests/hostile`` and ``interop``, is written once and runs once
per enabled engine:

* the test body is async and uses anyio (``anyio.fail_after``,
  ``anyio.create_task_group``, ``anyio.Event``, ``anyio.connect_tcp`` ...), so the
  same body runs on trio and on asyncio, and drives ``zmtp.sync`` through
  :class:`SyncAdapter` (its blocking calls wait in worker threads);
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

import asyncio
import contextlib
import dataclasses
import functools
import importlib.util
import inspect
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
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
    #: run a program in a child interpreter, with ``tests/`` on its path).
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
    "io-only-while-awaiting": "sockets that do their I/O on the test's own event loop, "
    "so that what a test queues without awaiting is all still queued",
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
    "sync": lambda: _sync(),  # zmtp.sync through SyncAdapter (below), on trio
}

#: How far short of a timer's length an engine's clock may see it fire: uvloop's clock
#: moves in whole milliseconds, read at the start of a loop pass. Durations measured
#: with ``anyio.current_time()`` allow for it.
CLOCK_GRAIN = 0.002

#: The engines every engine-level test runs against (uvloop where it is installed:
#: the test extra installs it wherever it has a wheel).
ENABLED: list[str] = (
    ["trio", "asyncio"]
    + (["uvloop"] if importlib.util.find_spec("uvloop") is not None else [])
    + ["sync"]
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


@pytest.fixture(autouse=True)
def _settle_this_tests_contexts_only() -> None:
    """:func:`settle` waits for the I/O threads of the zmtp.sync contexts the current
    test made (or wrapped), not for those that earlier tests left running (the
    process-wide ``Context.instance()``, for one)."""
    _sync_contexts.clear()


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
    between two moments at which every task is blocked. zmtp.sync's I/O threads run
    event loops of their own, which a test's loop cannot see: each is asked the same
    question on its own loop.
    """
    if _running_on_trio():
        import trio.testing

        await trio.testing.wait_all_tasks_blocked(cushion)
        if _sync_contexts:
            # zmtp.sync's I/O threads, which trio cannot see, then the test's side again
            await _settle_sync_contexts(cushion)
            await trio.testing.wait_all_tasks_blocked()
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
#
# zmtp.sync's calls block their thread; the test bodies are async and run on trio, with
# their peers (libzmq's, raw ones) beside them. The adapter below gives zmtp.sync the
# awaitable face of the other engines. Its one rule: whatever waits, waits in a worker
# thread, and nothing a test can give up on (a cancelled await, a timeout) is left
# behind holding something the test still expects.
#
# * A call that may block (``send``, ``recv_multipart``, ``bind``, ``close`` ...) first
#   tries at once, on the test's own thread, with ``NOBLOCK``: when the socket is ready
#   that is the whole call. Otherwise the blocking call runs in a worker thread, the
#   engine's own waiting (its conditions, ``sndtimeo``/``rcvtimeo``, wake-up on close
#   and term). A worker thread cannot be interrupted: a cancelled ``await sock.recv()``
#   stops waiting but the thread's ``recv`` goes on and may still take a message, which
#   is why the entry lacks ``cancel-in-flight``.
# * Waiting that takes nothing (a monitor, ``poll``) waits in a worker thread until
#   something is *available*, then takes it on the test's side: an abandoned waiter can
#   never swallow an event or a message the test waits for.
# * ``*_nowait`` calls the blocking method with ``NOBLOCK`` on the test's thread.
# * Options and other attributes pass straight through to the zmtp.sync socket.

#: Worker threads a test may have at once (waiters given up on included, until the
#: socket or monitor they wait on closes); anyio's default of 40 is too few for the
#: tests that block hundreds of calls.
_SYNC_THREADS = 1000
_sync_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar(
    "zmtp_sync_threads"
)
#: How long (ms) one wait of a monitor's waiter lasts, so that a waiter given up on
#: ends soon even if its monitor is never closed.
_MONITOR_SLICE_MS = 1000
#: How long (s) :func:`settle` waits at most for an I/O thread's idle pass: a loop
#: that never idles (constant traffic) must not hang a test.
_IDLE_PATIENCE = 2.0
#: The contexts of the blocking engine the adapter made for the current test:
#: :func:`settle` waits for their I/O threads too.
_sync_contexts: weakref.WeakSet[Any] = weakref.WeakSet()


def _limiter() -> anyio.CapacityLimiter:
    try:
        return _sync_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(_SYNC_THREADS)
        _sync_limiter.set(limiter)
        return limiter


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread; a cancelled await abandons it."""
    await anyio.lowlevel.checkpoint_if_cancelled()
    return await anyio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), abandon_on_cancel=True, limiter=_limiter()
    )


async def _idle_pass() -> None:
    """On an asyncio loop: return after a full pass of the loop that ran nothing but
    this coroutine: no callback or task was ready, no I/O event and no timer came.

    asyncio runs, in one pass, the handles that were ready when it began (a task's
    next step is one), after adding those that I/O events and due timers make ready.
    This coroutine's own step is queued last when it yields, so finding the ready
    queue empty at its step means nothing came after it in this pass; finding it so
    at two steps in a row means nothing ran before it in the second pass either.
    (The ready queue is CPython's ``_ready``; a loop without one gets a cushion.)"""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:  # pragma: no cover  (not CPython's loop)
        await anyio.wait_all_tasks_blocked()
        await asyncio.sleep(0.02)  # pacing: no way to see the loop's queue
        return
    deadline = loop.time() + _IDLE_PATIENCE
    quiet = 0
    while quiet < 2 and loop.time() < deadline:
        await asyncio.sleep(0)  # pacing: one pass of the loop, then look at its queue
        quiet = quiet + 1 if not ready else 0


async def _io_thread_quiet(cushion: float) -> None:
    """On a zmtp.sync I/O thread's event loop: an idle pass, and if ``cushion``, another
    one after that long (for what the kernel does meanwhile, which nothing announces)."""
    await _idle_pass()
    if cushion:
        await asyncio.sleep(cushion)  # pacing: the kernel's share
        await _idle_pass()


async def _settle_sync_contexts(cushion: float) -> None:
    for ctx in list(_sync_contexts):
        io = None if ctx.closed else ctx.io_thread
        if io is None:
            continue
        with contextlib.suppress(zmtp.ContextTerminated):
            await _in_thread(ctx.run, _io_thread_quiet(cushion))


class SyncAdapter:
    """An async face over :mod:`zmtp.sync`, so that the same async test bodies drive
    it (its registry entry wraps ``zmtp.sync`` with this; see the rules above)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def Context(self, **defaults: Any) -> AsyncContext:
        return AsyncContext(self.module, self.module.Context(**defaults))

    def Socket(self, socket_type: Any, context: Any = None, **options: Any) -> AsyncSocket:
        if context is None:
            context = AsyncContext(self.module, self.module.Context.instance())
        return context.socket(socket_type, **options)  # type: ignore[no-any-return]

    async def proxy(self, frontend: AsyncSocket, backend: AsyncSocket, capture: Any = None) -> None:
        """The blocking proxy in a worker thread; when the test cancels it, it goes on
        until one of its sockets closes (as a blocking ``zmq.proxy`` does)."""
        await _in_thread(
            self.module.proxy,
            frontend.sync,
            backend.sync,
            None if capture is None else capture.sync,
        )

    def Poller(self) -> AsyncPoller:
        return AsyncPoller(self.module.Poller())

    def Authenticator(self, context: AsyncContext | None = None) -> AsyncAuthenticator:
        from zmtp.sync.auth import Authenticator

        sync_ctx = None if context is None else context.sync
        return AsyncAuthenticator(Authenticator(sync_ctx), context)


class AsyncContext:
    """A blocking context as an async one (see :class:`SyncAdapter`)."""

    def __init__(self, module: ModuleType, sync: Any) -> None:
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "sync", sync)
        _sync_contexts.add(sync)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.sync, name, value)

    def socket(self, socket_type: Any, **options: Any) -> AsyncSocket:
        return AsyncSocket(self, self.sync.socket(socket_type, **options))

    async def term(self) -> None:
        await _in_thread(self.sync.term)

    async def destroy(self, linger: int | None = None) -> None:
        await _in_thread(self.sync.destroy, linger)

    async def __aenter__(self) -> AsyncContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.term()


class AsyncSocket:
    """A blocking socket as an async one (see :class:`SyncAdapter`)."""

    def __init__(self, context: AsyncContext, sync: Any) -> None:
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "sync", sync)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.sync, name, value)

    def __repr__(self) -> str:
        return f"<async face of {self.sync!r}>"

    # -- calls that may block ------------------------------------------------------------

    async def _io(self, method: str, *args: Any, flags: int = 0, **kwargs: Any) -> Any:
        """``method`` at once if it does not wait, else blocking in a worker thread."""
        fn = getattr(self.sync, method)
        await anyio.lowlevel.checkpoint_if_cancelled()
        if flags & zmtp.DONTWAIT or (flags & zmtp.SNDMORE and method.startswith("send")):
            result = fn(*args, flags=flags, **kwargs)  # never waits
        else:
            try:
                result = fn(*args, flags=flags | zmtp.DONTWAIT, **kwargs)
            except zmtp.Again:
                return await _in_thread(fn, *args, flags=flags, **kwargs)
        await anyio.lowlevel.cancel_shielded_checkpoint()
        return result

    async def bind(self, endpoint: str) -> str:
        return str(await _in_thread(self.sync.bind, endpoint))

    async def connect(self, endpoint: str) -> None:
        await _in_thread(self.sync.connect, endpoint)

    async def unbind(self, endpoint: str) -> None:
        await _in_thread(self.sync.unbind, endpoint)

    async def disconnect(self, endpoint: str) -> None:
        await _in_thread(self.sync.disconnect, endpoint)

    async def bind_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        return int(await _in_thread(self.sync.bind_to_random_port, addr, *args, **kwargs))

    async def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        *,
        more: bool = False,
    ) -> Any:
        flags |= zmtp.SNDMORE if more else 0
        return await self._io("send", data, flags=flags, copy=copy, track=track)

    async def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False
    ) -> Any:
        return await self._io("send_multipart", msg_parts, flags=flags, copy=copy, track=track)

    async def send_string(self, text: str, flags: int = 0, encoding: str = "utf-8") -> None:
        await self._io("send_string", text, flags=flags, encoding=encoding)

    async def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        await self._io("send_json", obj, flags=flags, **kwargs)

    async def send_pyobj(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        await self._io("send_pyobj", obj, flags=flags, **kwargs)

    async def send_serialized(self, msg: Any, serialize: Any, flags: int = 0, **kw: Any) -> None:
        await self._io("send_serialized", msg, serialize, flags=flags, **kw)

    async def recv(self, flags: int = 0, *, copy: bool = True) -> Any:
        return await self._io("recv", flags=flags, copy=copy)

    async def recv_multipart(self, flags: int = 0, *, copy: bool = True) -> list[Any]:
        return await self._io("recv_multipart", flags=flags, copy=copy)  # type: ignore[no-any-return]

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        return await self._io("recv_string", flags=flags, encoding=encoding)  # type: ignore[no-any-return]

    async def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return await self._io("recv_json", flags=flags, **kwargs)

    async def recv_pyobj(self, flags: int = 0) -> Any:
        return await self._io("recv_pyobj", flags=flags)

    async def recv_serialized(self, deserialize: Any, flags: int = 0, copy: bool = True) -> Any:
        return await self._io("recv_serialized", deserialize, flags=flags, copy=copy)

    async def poll(self, timeout: float | None = None, flags: int = zmtp.POLLIN) -> int:
        if timeout == 0:
            await anyio.lowlevel.checkpoint()
            return int(self.sync.poll(0, flags))
        return int(await _in_thread(self.sync.poll, timeout, flags))

    # -- calls that never wait -----------------------------------------------------------

    def send_nowait(self, data: Any, *, more: bool = False) -> None:
        self.sync.send(data, zmtp.DONTWAIT | (zmtp.SNDMORE if more else 0))

    def send_multipart_nowait(self, msg_parts: Sequence[Any]) -> None:
        self.sync.send_multipart(msg_parts, zmtp.DONTWAIT)

    def send_string_nowait(self, text: str, encoding: str = "utf-8") -> None:
        self.sync.send_string(text, zmtp.DONTWAIT, encoding=encoding)

    def recv_nowait(self) -> bytes:
        return self.sync.recv(zmtp.DONTWAIT)  # type: ignore[no-any-return]

    def recv_multipart_nowait(self) -> list[bytes]:
        return self.sync.recv_multipart(zmtp.DONTWAIT)  # type: ignore[no-any-return]

    def recv_string_nowait(self, encoding: str = "utf-8") -> str:
        return self.sync.recv_string(zmtp.DONTWAIT, encoding)  # type: ignore[no-any-return]

    def monitor(self, events: zmtp.Event = zmtp.Event.ALL) -> AsyncMonitor:
        return AsyncMonitor(self.sync.monitor(events))

    # -- lifetime ------------------------------------------------------------------------

    async def close(self, linger: int | None = None) -> None:
        """Close and wait for the lingering to end, as the other engines' ``close``
        does (zmtp.sync's ``close`` returns at once, as pyzmq's)."""
        await _in_thread(self.sync.close, linger, wait=True)

    async def __aenter__(self) -> AsyncSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncSocket:
        return self

    async def __anext__(self) -> list[bytes]:
        try:
            return await self.recv_multipart()
        except zmtp.SocketClosed:
            raise StopAsyncIteration from None


class AsyncMonitor:
    """A blocking monitor as an async one: a worker thread waits until an event is
    available (``Monitor.poll``), and the event is taken on the test's side."""

    def __init__(self, sync: Any) -> None:
        from zmtp.sync import EndOfChannel

        self.sync = sync
        self.ended = EndOfChannel

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    async def receive(self) -> zmtp.MonitorEvent:
        while True:
            try:
                return self.sync.receive(0)  # type: ignore[no-any-return]
            except zmtp.Again:
                pass
            await _in_thread(self.sync.poll, _MONITOR_SLICE_MS)

    def __aiter__(self) -> AsyncMonitor:
        return self

    async def __anext__(self) -> zmtp.MonitorEvent:
        try:
            return await self.receive()
        except self.ended:
            raise StopAsyncIteration from None

    async def wait_for(self, event: zmtp.Event, endpoint: str | None = None) -> zmtp.MonitorEvent:
        async for ev in self:
            if ev.event & event and (endpoint is None or ev.endpoint == endpoint):
                return ev
        raise self.ended(f"monitor stopped before {event!r}")

    async def aclose(self) -> None:
        self.sync.close()
        await anyio.lowlevel.checkpoint()

    async def __aenter__(self) -> AsyncMonitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncPoller:
    """zmtp.sync's Poller as an async one: it polls the adapter's sockets and answers
    with them."""

    def __init__(self, sync: Any) -> None:
        self.sync = sync
        self.faces: dict[Any, Any] = {}

    def register(self, sock: Any, flags: int = zmtp.POLLIN | zmtp.POLLOUT) -> None:
        target = sock.sync if isinstance(sock, AsyncSocket) else sock
        self.faces[target] = sock
        self.sync.register(target, flags)

    def unregister(self, sock: Any) -> None:
        target = sock.sync if isinstance(sock, AsyncSocket) else sock
        self.sync.unregister(target)
        del self.faces[target]

    async def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout == 0:
            await anyio.lowlevel.checkpoint()
            ready = self.sync.poll(0)
        else:
            ready = await _in_thread(self.sync.poll, timeout)
        return [(self.faces[target], events) for target, events in ready]


class AsyncAuthenticator:
    """zmtp.sync's thread authenticator as an async one (configuration passes
    through)."""

    def __init__(self, sync: Any, context: AsyncContext | None) -> None:
        object.__setattr__(self, "sync", sync)
        object.__setattr__(self, "context", context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    async def start(self) -> None:
        await _in_thread(self.sync.start)

    async def stop(self) -> None:
        await _in_thread(self.sync.stop)

    async def __aenter__(self) -> AsyncAuthenticator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _sync() -> Engine:
    import zmtp.asyncio.stream
    import zmtp.sync

    api = SyncAdapter(zmtp.sync)
    return Engine(
        name="sync",
        backend="trio",
        imports=(  # the adapter: tests/ is on the path of such programs
            "import zmtp.sync\nfrom engines import SyncAdapter\n"
            "Context = SyncAdapter(zmtp.sync).Context\nSocket = SyncAdapter(zmtp.sync).Socket"
        ),
        Context=api.Context,
        Socket=api.Socket,
        proxy=api.proxy,
        Authenticator=api.Authenticator,
        Poller=api.Poller,
        monitor_ended=zmtp.sync.EndOfChannel,
        connection_type=zmtp.asyncio.stream.StreamEngine,
        connections=lambda sock: list(sock.sync._rt.engines),
        lacks={
            "cancel-in-flight": "zmtp.sync's calls block a thread, which nothing but "
            "closing the socket or terminating the context interrupts (as in pyzmq): a "
            "cancelled wait may still send or take a message afterwards",
            "io-only-while-awaiting": "zmtp.sync's I/O thread runs beside the test, as "
            "libzmq's does: what a test queues may all be sent before its next call",
        },
    )
