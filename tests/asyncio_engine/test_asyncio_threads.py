"""The asyncio runtime driven from other threads, as ``zmtp.sync`` will drive it: the
loop runs in an :class:`~zmtp.asyncio.runtime.IOThread`, application threads call the
core holding ``context.lock``, and every wake-up crosses threads correctly.

* a blocking face made of a ``threading.Condition`` on the context's lock moves
  messages both ways over tcp and ipc; ``Condition.notify_all`` raises unless the
  notifying thread holds the lock, so the runtime calling the waker without the lock
  would fail the run;
* every pipe queue is watched: each change of its contents must happen with the lock
  held (the runtime's reads and writes, the application's sends and receives);
* the asyncio face, its monitor and the runtime's ``wake_drain`` and
  ``close_connection`` are woken from a foreign thread and hop to the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from asyncio_helpers import Runner, new_loop

import zmtp
import zmtp.asyncio
from zmtp.asyncio.runtime import IOThread, SocketRuntime
from zmtp.core import ContextCore, SocketCore
from zmtp.core.events import Event, MonitorQueue
from zmtp.routing import MsgQueue, Pipe

TIMEOUT = 10.0


class ConditionWaker:
    """A blocking face's waker: one condition on the context's lock."""

    def __init__(self, lock: Any) -> None:
        self.cond = threading.Condition(lock)

    def wake_send(self) -> None:
        self.cond.notify_all()  # RuntimeError unless this thread holds the lock

    def wake_recv(self) -> None:
        self.cond.notify_all()


def blocking_send(rt: SocketRuntime, waker: ConditionWaker, frames: list[bytes]) -> None:
    with waker.cond:
        while not rt.core.try_send(frames):
            assert waker.cond.wait(TIMEOUT), "send waited too long"


def blocking_recv(rt: SocketRuntime, waker: ConditionWaker) -> list[bytes]:
    with waker.cond:
        while True:
            msg = rt.core.try_recv()
            if msg is not None:
                return msg
            assert waker.cond.wait(TIMEOUT), "recv waited too long"


@pytest.fixture(params=["asyncio", "uvloop"])
def io(request: pytest.FixtureRequest) -> Iterator[IOThread]:
    kind = str(request.param)
    if kind == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed here; CI installs it")
    thread = IOThread(loop_factory=lambda: new_loop(kind))
    thread.start()
    yield thread
    thread.stop()


def wait_handshakes(io: IOThread, *queues: MonitorQueue) -> None:
    async def wait() -> None:
        for queue in queues:
            while True:
                ev = queue.pop()
                if ev is not None and ev.event == Event.HANDSHAKE_SUCCEEDED:
                    break
                if ev is None:
                    await asyncio.sleep(0.001)  # pacing: polling a bare queue

    io.run(asyncio.wait_for(wait(), TIMEOUT))


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:*", "ipc://*"])
def test_a_blocking_face_moves_messages_both_ways_from_application_threads(
    io: IOThread, endpoint: str
) -> None:
    ctx = ContextCore()
    waker_a, waker_b = ConditionWaker(ctx.lock), ConditionWaker(ctx.lock)
    a = SocketRuntime(
        ctx, zmtp.PAIR, {"linger": 0}, waker=waker_a, loop=io.loop, thread_id=io.thread_id
    )
    b = SocketRuntime(
        ctx,
        zmtp.PAIR,
        {"linger": 0, "sndhwm": 10, "rcvhwm": 10},
        waker=waker_b,
        loop=io.loop,
        thread_id=io.thread_id,
    )
    mon_a, mon_b = MonitorQueue(Event.HANDSHAKE_SUCCEEDED), MonitorQueue(Event.HANDSHAKE_SUCCEEDED)
    with ctx.lock:
        a.core.add_monitor(mon_a)
        b.core.add_monitor(mon_b)
    real = io.run(a.bind(endpoint))
    io.run(b.connect(real))
    wait_handshakes(io, mon_a, mon_b)

    n = 3000
    got_at_b: list[bytes] = []
    got_at_a: list[bytes] = []

    def a_sends() -> None:
        for i in range(n):
            blocking_send(a, waker_a, [b"%d" % i])

    def b_echoes() -> None:
        for _ in range(n):
            msg = blocking_recv(b, waker_b)
            got_at_b.append(msg[0])
            blocking_send(b, waker_b, msg)

    def a_receives() -> None:
        for _ in range(n):
            got_at_a.append(blocking_recv(a, waker_a)[0])

    threads = [threading.Thread(target=f) for f in (a_sends, b_echoes, a_receives)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    assert not any(t.is_alive() for t in threads)
    expected = [b"%d" % i for i in range(n)]
    assert got_at_b == expected
    assert got_at_a == expected
    io.run(a.close())
    io.run(b.close())
    assert a.core.closed and b.core.closed


class _WatchedDeque(deque):  # type: ignore[type-arg]
    """A pipe queue's contents that record any change made without the lock."""

    lock: Any = None
    violations: list[str] = []

    def _check(self, what: str) -> None:
        lock = type(self).lock
        if lock is not None and not lock._is_owned():
            type(self).violations.append(f"{what} in {threading.current_thread().name}")

    def append(self, x: Any) -> None:
        self._check("append")
        super().append(x)

    def appendleft(self, x: Any) -> None:
        self._check("appendleft")
        super().appendleft(x)

    def extend(self, xs: Any) -> None:
        self._check("extend")
        super().extend(xs)

    def extendleft(self, xs: Any) -> None:
        self._check("extendleft")
        super().extendleft(xs)

    def popleft(self) -> Any:
        self._check("popleft")
        return super().popleft()

    def clear(self) -> None:
        self._check("clear")
        super().clear()


class _WatchedQueue(MsgQueue):
    __slots__ = ()

    def __init__(self, hwm: int, *, conflate: bool = False) -> None:
        super().__init__(hwm, conflate=conflate)
        self.items = _WatchedDeque()


def test_every_change_to_a_pipe_happens_under_the_context_lock(
    io: IOThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = ContextCore()
    monkeypatch.setattr("zmtp.core.socket.MsgQueue", _WatchedQueue)
    monkeypatch.setattr(_WatchedDeque, "lock", ctx.lock)
    monkeypatch.setattr(_WatchedDeque, "violations", [])
    waker_push, waker_pull = ConditionWaker(ctx.lock), ConditionWaker(ctx.lock)
    push = SocketRuntime(
        ctx,
        zmtp.PUSH,
        {"linger": 0, "sndhwm": 5},
        waker=waker_push,
        loop=io.loop,
        thread_id=io.thread_id,
    )
    pull = SocketRuntime(
        ctx,
        zmtp.PULL,
        {"linger": 0, "rcvhwm": 5},
        waker=waker_pull,
        loop=io.loop,
        thread_id=io.thread_id,
    )
    real = io.run(pull.bind("tcp://127.0.0.1:*"))
    io.run(push.connect(real))
    n = 2000
    received: list[bytes] = []

    def consume() -> None:
        for _ in range(n):
            received.append(blocking_recv(pull, waker_pull)[0])

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(n):
        blocking_send(push, waker_push, [b"%d" % i, b"x" * (i % 300)])
    consumer.join(TIMEOUT * 3)
    assert not consumer.is_alive()
    assert received == [b"%d" % i for i in range(n)]
    pipes = [p for p in push.core.pipes | pull.core.pipes if isinstance(p.out_q, _WatchedQueue)]
    assert pipes, "the watched queues are the ones in use"
    io.run(push.close())
    io.run(pull.close())
    assert _WatchedDeque.violations == []


def test_the_asyncio_face_and_its_monitor_are_woken_from_a_foreign_thread(run: Runner) -> None:
    """A socket of the same context used from another thread (as a blocking face
    would) links to an asyncio PULL over inproc and sends: the PULL's waiting recv and
    its monitor are woken from that thread and hop to the loop."""

    async def main() -> tuple[list[bytes], Event]:
        async with zmtp.asyncio.Context() as ctx:
            pull = ctx.socket(zmtp.PULL)
            await pull.bind("inproc://from-a-thread")
            monitor = pull.monitor(Event.HANDSHAKE_SUCCEEDED)
            lock = ctx.core.lock
            waker = ConditionWaker(lock)
            foreign: list[SocketCore] = []

            def other_thread() -> None:
                runtime = _RecordingRuntime()
                with lock:
                    core = SocketCore(zmtp.PUSH, ctx.core, runtime, {"linger": 0})
                    foreign.append(core)
                    core.begin_connect("inproc://from-a-thread")
                    for i in range(3):
                        while not core.try_send([b"%d" % i]):
                            waker.cond.wait(TIMEOUT)

            waiting = asyncio.ensure_future(pull.recv())
            event = asyncio.ensure_future(monitor.receive())
            await asyncio.sleep(0)  # pacing: both start waiting before the thread runs
            thread = threading.Thread(target=other_thread)
            thread.start()
            got = [await waiting, await pull.recv(), await pull.recv()]
            ev = await event
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
            with lock:
                foreign[0].finish_close()
            return got, ev.event

    got, event = run(main)
    assert got == [b"0", b"1", b"2"]
    assert event == Event.HANDSHAKE_SUCCEEDED


class _RecordingRuntime:
    def wake_send(self) -> None:
        pass

    def wake_recv(self) -> None:
        pass

    def wake_drain(self) -> None:
        pass

    def close_connection(self, pipe: Pipe) -> None:
        pass


def test_wake_drain_and_close_connection_hop_to_the_loop(io: IOThread) -> None:
    ctx = ContextCore()
    a = SocketRuntime(ctx, zmtp.PAIR, {"linger": 0}, loop=io.loop, thread_id=io.thread_id)
    b = SocketRuntime(ctx, zmtp.PAIR, {"linger": 0}, loop=io.loop, thread_id=io.thread_id)
    events = MonitorQueue(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED)
    with ctx.lock:
        b.core.add_monitor(events)
    real = io.run(a.bind("tcp://127.0.0.1:*"))
    io.run(b.connect(real))
    wait_handshakes(io, events)

    # wake_drain from this (foreign) thread ends a wait on the loop.
    async def drained() -> bool:
        waiting = asyncio.ensure_future(a.wait_drain(None))
        await asyncio.sleep(0)  # pacing: the wait is registered
        threading.Thread(target=a.wake_drain).start()
        return await asyncio.wait_for(waiting, TIMEOUT)

    assert io.run(drained()) is True

    # close_connection from this thread ends the connection on the loop.
    [pipe] = [p for p in a.core.pipes]
    a.close_connection(pipe)

    async def disconnected() -> Event:
        while True:
            ev = events.pop()
            if ev is not None:
                return ev.event
            await asyncio.sleep(0.001)  # pacing: polling a bare queue

    assert io.run(asyncio.wait_for(disconnected(), TIMEOUT)) == Event.DISCONNECTED
    io.run(a.close())
    io.run(b.close())


def test_io_thread_run_refuses_to_deadlock_on_its_own_thread(io: IOThread) -> None:
    async def nothing() -> None:
        return None

    async def nested() -> None:
        with pytest.raises(zmtp.InvalidState, match="deadlock"):
            io.run(nothing())

    io.run(nested())
