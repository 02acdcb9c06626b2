"""What the side-by-side benchmarks share: ``zmtp bench`` (:mod:`zmtp.bench`, zmtp on
trio), ``interop/bench_asyncio.py`` (zmtp.asyncio) and ``interop/bench_sync.py``
(zmtp.sync), each measured beside pyzmq in the same run.

A *case* (one throughput or round-trip measurement of one implementation) runs in
child processes, *programs*, which the parent starts by role (``receiver``, ``sender``,
``inproc``, ``server``, ``client``, ``publisher``, ``subscribers``) from a mapping
``(implementation, role) -> program`` that each benchmark assembles (``Roles``). Parent
and children talk over a pipe; a throughput case, in order::

    receiver -> parent   ("ready", endpoint)           bound
    sender   -> parent   ("connected",)                handshake done
    receiver -> parent   ("pilot", k, dt, n)           k messages in dt s: n to time
    sender   -> parent   ("pilot_sent", k)
    parent   -> sender   ("go", n)
    receiver -> parent   ("result", n, seconds, rss)   the timed run
    sender   -> parent   ("sent", n)
    parent   -> sender   ("exit",)                     the receiver has everything
    sender   -> parent   ("closed", rss)
    any child -> parent  ("error", text)               then it exits

A fan-out case is the same with the publisher as the sender (``"subscribed"`` once
every subscription is in) and the subscribers as the receiver; inproc is a receiver
and its sender in one process. A round trip: the server's ``"ready"``, the client's
``("result", samples, rss)``, the server's ``"closed"``. The pilot (about
``p["pilot"]`` seconds of messages, then an empty marker) sizes the timed run to about
``p["seconds"]``. A child also publishes its phase and message count in a shared array,
so that a case that times out says where each process was.

This module owns what does not depend on the library under test, and pyzmq's side,
which every benchmark measures against: the message loops (they take ``send``/``recv``
callables), the child's steps of the exchange above, pyzmq's programs (or those of any
library with pyzmq's blocking API), the parent's process handling and deadlines, the
statistics, the tables and ratios, and the whole of the two scripts that measure
several implementations of one API (``SideBySide``). It never imports trio, asyncio or
pyzmq at module level: each program imports its own library, so a benchmark runs
without pyzmq installed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from typing import Any, Protocol, TypeVar

LATENCY_SIZE = 64

#: What a child process reports as its phase (kept in a shared array, so that a
#: timeout can tell where each process was).
PHASES = ["starting", "binding", "connecting", "pilot", "waiting", "timed run", "closing", "done"]
(PH_START, PH_BIND, PH_CONNECT, PH_PILOT, PH_WAIT, PH_MAIN, PH_CLOSE, PH_DONE) = range(8)
#: Progress is published once per this many messages (outside the innermost loop).
CHUNK = 1024

#: A program: ``program(conn, progress, *args)`` in a child process.
Program = Callable[..., None]
#: The programs of a benchmark, by (implementation, role).
Roles = Mapping[tuple[str, str], Program]


def size_label(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} B"


def progress_line(text: str) -> None:
    """A line of progress (stderr: stdout carries the tables)."""
    print(text, file=sys.stderr, flush=True)


def loadavg() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


# =====================================================================================
# Child processes: their frame, and the steps of the exchange with the parent
# =====================================================================================


class BadMessage(Exception):
    pass


def bad(msg: Any, size: int) -> BadMessage:
    return BadMessage(f"received a message of {len(msg)} bytes, expected {size}")


def _leaf_exceptions(exc: BaseException) -> list[BaseException]:
    subs = getattr(exc, "exceptions", None)
    if isinstance(subs, (list, tuple)):
        out: list[BaseException] = []
        for sub in subs:
            out.extend(_leaf_exceptions(sub))
        return out
    return [exc]


def describe(exc: BaseException) -> str:
    """One line: the innermost exception(s) and where they were raised."""
    parts = []
    for leaf in _leaf_exceptions(exc)[:3]:
        where = ""
        tb = traceback.extract_tb(leaf.__traceback__)
        if tb:
            frame = tb[-1]
            where = f" at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
        parts.append(f"{type(leaf).__name__}: {leaf}{where}")
    return "; ".join(parts)


def _child_main(
    alarm: int, target: Program, conn: Connection, progress: Any, args: tuple[Any, ...]
) -> None:
    # Should the parent die without killing us, SIGALRM's default action ends us.
    signal.alarm(alarm)
    try:
        target(conn, progress, *args)
        progress[0] = PH_DONE
    except BaseException as exc:
        traceback.print_exc()
        try:
            conn.send(("error", describe(exc)))
        except Exception:
            pass
        sys.exit(1)


def calibrate(rate: float, p: dict[str, Any]) -> int:
    if not rate > 0 or math.isinf(rate):
        return int(p["min_count"])
    return int(min(p["max_count"], max(p["min_count"], rate * p["seconds"])))


def payload(size: int) -> bytes:
    return b"\x55" * size


def maxrss_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def bind_endpoint(transport: str, ipc_dir: str | None) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    assert ipc_dir is not None
    return f"ipc://{ipc_dir}/bench.sock"


def socket_names(pattern: str) -> tuple[str, str]:
    """The (client, server) socket types of a round-trip ``pattern``, by name (the same
    in every library)."""
    return ("REQ", "REP") if pattern == "reqrep" else ("DEALER", "DEALER")


def report_pilot(conn: Connection, progress: Any, k: int, dt: float, p: dict[str, Any]) -> int:
    """Tell the parent how the pilot went and the count of the timed run; its phase."""
    n = calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
    conn.send(("pilot", k, dt, n))
    progress[0] = PH_MAIN
    return n


def report_result(conn: Connection, n: int, elapsed: float) -> None:
    conn.send(("result", n, elapsed, maxrss_kb()))


# -- the loops and steps, twice -------------------------------------------------------
#
# Each loop and step comes twice, for blocking code and for coroutines (trio's and
# asyncio's alike): the bodies are the same but for ``await``. One body for both would
# put a call or an await per message inside the timed region. Keep each pair in step.

SyncLoop = Callable[..., Any]
AsyncLoop = Callable[..., Awaitable[Any]]


def recv_pilot(recv: Any, size: int) -> tuple[int, float]:
    """Receive the pilot up to its empty marker: (data messages, seconds)."""
    msg = recv()
    t0 = time.perf_counter()
    k = 0
    while len(msg):
        if len(msg) != size:
            raise bad(msg, size)
        k += 1
        msg = recv()
    return k, time.perf_counter() - t0


async def arecv_pilot(recv: Any, size: int) -> tuple[int, float]:
    msg = await recv()
    t0 = time.perf_counter()
    k = 0
    while len(msg):
        if len(msg) != size:
            raise bad(msg, size)
        k += 1
        msg = await recv()
    return k, time.perf_counter() - t0


def recv_timed(recv: Any, size: int, n: int, progress: Any) -> float:
    """Receive ``n`` messages: seconds from the first to the last."""
    msg = recv()
    t0 = time.perf_counter()
    if len(msg) != size:
        raise bad(msg, size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            msg = recv()
            if len(msg) != size:
                raise bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


async def arecv_timed(recv: Any, size: int, n: int, progress: Any) -> float:
    msg = await recv()
    t0 = time.perf_counter()
    if len(msg) != size:
        raise bad(msg, size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            msg = await recv()
            if len(msg) != size:
                raise bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


def send_pilot(send: Any, msg: bytes, seconds: float) -> int:
    """Send ``msg`` for about ``seconds``, then the empty marker: the messages sent."""
    t_end = time.perf_counter() + seconds
    k = 0
    while True:
        send(msg)
        k += 1
        if not k & 63 and time.perf_counter() >= t_end:
            break
    send(b"")
    return k


async def asend_pilot(send: Any, msg: bytes, seconds: float) -> int:
    t_end = time.perf_counter() + seconds
    k = 0
    while True:
        await send(msg)
        k += 1
        if not k & 63 and time.perf_counter() >= t_end:
            break
    await send(b"")
    return k


def send_timed(send: Any, msg: bytes, n: int, progress: Any, slot: int = 1) -> None:
    left = n
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            send(msg)
        left -= c
        progress[slot] = n - left


async def asend_timed(send: Any, msg: bytes, n: int, progress: Any, slot: int = 1) -> None:
    left = n
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            await send(msg)
        left -= c
        progress[slot] = n - left


# The fan-out subscribers read the stream from each of their sockets in turn: message
# i on every socket, then message i + 1; timed from the first message on the first
# socket to the last message on the last.


def fanout_pilot(recvs: list[Any], size: int) -> tuple[int, float]:
    """The pilot, up to its empty marker (on every socket)."""
    first, rest = recvs[0], recvs[1:]
    msg = first()
    t0 = time.perf_counter()
    k = 0
    while True:
        for recv in rest:
            if len(recv()) != len(msg):
                raise BadMessage("the subscribers disagree on the stream")
        if not len(msg):
            break
        _fanout_check(msg, size)
        k += 1
        msg = first()
    return k, time.perf_counter() - t0


async def afanout_pilot(recvs: list[Any], size: int) -> tuple[int, float]:
    first, rest = recvs[0], recvs[1:]
    msg = await first()
    t0 = time.perf_counter()
    k = 0
    while True:
        for recv in rest:
            if len(await recv()) != len(msg):
                raise BadMessage("the subscribers disagree on the stream")
        if not len(msg):
            break
        _fanout_check(msg, size)
        k += 1
        msg = await first()
    return k, time.perf_counter() - t0


def fanout_timed(recvs: list[Any], size: int, n: int, progress: Any) -> float:
    first, rest = recvs[0], recvs[1:]
    msg = first()
    t0 = time.perf_counter()
    _fanout_check(msg, size)
    for recv in rest:
        _fanout_check(recv(), size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            for recv in recvs:
                msg = recv()
                if len(msg) != size:
                    raise bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


async def afanout_timed(recvs: list[Any], size: int, n: int, progress: Any) -> float:
    first, rest = recvs[0], recvs[1:]
    msg = await first()
    t0 = time.perf_counter()
    _fanout_check(msg, size)
    for recv in rest:
        _fanout_check(await recv(), size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            for recv in recvs:
                msg = await recv()
                if len(msg) != size:
                    raise bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


def _fanout_check(msg: Any, size: int) -> None:
    if len(msg) != size:
        raise bad(msg, size)


def recv_case(
    conn: Connection,
    progress: Any,
    recv: Any,
    size: int,
    p: dict[str, Any],
    loops: tuple[SyncLoop, SyncLoop] = (recv_pilot, recv_timed),
    started: Callable[[int], None] | None = None,
) -> tuple[int, float]:
    """The receiving side of a throughput case: the pilot and its report, then the
    timed run (``started(n)`` between the two): (messages, seconds). ``loops`` are the
    pilot and timed loops, those of one socket or (with a list of ``recv``) fan-out's."""
    pilot, timed = loops
    progress[0] = PH_PILOT
    k, dt = pilot(recv, size)
    n = report_pilot(conn, progress, k, dt, p)
    if started is not None:
        started(n)
    elapsed = timed(recv, size, n, progress)
    progress[0] = PH_CLOSE
    return n, elapsed


async def arecv_case(
    conn: Connection,
    progress: Any,
    recv: Any,
    size: int,
    p: dict[str, Any],
    loops: tuple[AsyncLoop, AsyncLoop] = (arecv_pilot, arecv_timed),
    started: Callable[[int], None] | None = None,
) -> tuple[int, float]:
    pilot, timed = loops
    progress[0] = PH_PILOT
    k, dt = await pilot(recv, size)
    n = report_pilot(conn, progress, k, dt, p)
    if started is not None:
        started(n)
    elapsed = await timed(recv, size, n, progress)
    progress[0] = PH_CLOSE
    return n, elapsed


def send_case(conn: Connection, progress: Any, send: Any, size: int, p: dict[str, Any]) -> None:
    """The sending side of a throughput case: the pilot, the count of the timed run
    from the parent, the timed run, then the parent's word that the receiver has
    everything."""
    progress[0] = PH_PILOT
    msg = payload(size)
    conn.send(("pilot_sent", send_pilot(send, msg, p["pilot"])))
    progress[0] = PH_WAIT
    n = conn.recv()[1]
    progress[0] = PH_MAIN
    send_timed(send, msg, n, progress)
    conn.send(("sent", n))
    progress[0] = PH_WAIT
    conn.recv()  # "exit": the receiver has everything
    progress[0] = PH_CLOSE


async def asend_case(
    conn: Connection,
    progress: Any,
    send: Any,
    size: int,
    p: dict[str, Any],
    wait: Callable[[Connection], Awaitable[Any]],
) -> None:
    """``wait(conn)`` is ``conn.recv()`` that lets the event loop run meanwhile."""
    progress[0] = PH_PILOT
    msg = payload(size)
    conn.send(("pilot_sent", await asend_pilot(send, msg, p["pilot"])))
    progress[0] = PH_WAIT
    n = (await wait(conn))[1]
    progress[0] = PH_MAIN
    await asend_timed(send, msg, n, progress)
    conn.send(("sent", n))
    progress[0] = PH_WAIT
    await wait(conn)  # "exit": the receiver has everything
    progress[0] = PH_CLOSE


def echo(recv: Any, send: Any) -> None:
    """The round-trip server: send back every message, up to an empty one."""
    while True:
        msg = recv()
        send(msg)
        if not msg:
            break


async def aecho(recv: Any, send: Any) -> None:
    while True:
        msg = await recv()
        await send(msg)
        if not msg:
            break


def round_trips(send: Any, recv: Any, p: dict[str, Any], progress: Any) -> list[int]:
    """The round-trip client: a warm-up, then the timed round trips (ns each), then
    the empty message that ends the server."""
    msg = payload(LATENCY_SIZE)
    progress[0] = PH_PILOT
    for _ in range(p["warmup"]):
        send(msg)
        recv()
    progress[0] = PH_MAIN
    clock = time.perf_counter_ns
    samples = []
    t_end = time.perf_counter() + p["lat_max_seconds"]
    for i in range(p["round_trips"]):
        t0 = clock()
        send(msg)
        reply = recv()
        samples.append(clock() - t0)
        if len(reply) != LATENCY_SIZE:
            raise bad(reply, LATENCY_SIZE)
        if not i & 255:
            progress[1] = i
            if time.perf_counter() > t_end:
                break
    progress[0] = PH_CLOSE
    send(b"")
    recv()
    return samples


async def around_trips(send: Any, recv: Any, p: dict[str, Any], progress: Any) -> list[int]:
    msg = payload(LATENCY_SIZE)
    progress[0] = PH_PILOT
    for _ in range(p["warmup"]):
        await send(msg)
        await recv()
    progress[0] = PH_MAIN
    clock = time.perf_counter_ns
    samples = []
    t_end = time.perf_counter() + p["lat_max_seconds"]
    for i in range(p["round_trips"]):
        t0 = clock()
        await send(msg)
        reply = await recv()
        samples.append(clock() - t0)
        if len(reply) != LATENCY_SIZE:
            raise bad(reply, LATENCY_SIZE)
        if not i & 255:
            progress[1] = i
            if time.perf_counter() > t_end:
                break
    progress[0] = PH_CLOSE
    await send(b"")
    await recv()
    return samples


# =====================================================================================
# pyzmq's programs: blocking code written against pyzmq's API
# =====================================================================================
#
# ``lib`` names the library: pyzmq here, or another with the same blocking API (a
# subclass of Blocking says what differs: how to learn the bound endpoint, how to see
# the handshake). Every program is what a user of that API would write.
#
# The fan-out publisher is an XPUB with xpub_verbose (it hears every subscriber's
# subscription, so the pilot starts only once all N are subscribed) and xpub_nodrop (it
# waits at a full subscriber instead of dropping, so every subscriber receives every
# message and the count is exact). It binds; one subscriber process connects N SUB
# sockets, each subscribed to b"", and reads them in turn (``fanout_pilot``).


class Blocking:
    """pyzmq's blocking API: the library behind the programs below."""

    #: The implementation's name in the roles, and the module to import as ``zmq``.
    name = "pyzmq"
    module = "zmq"

    def zmq(self) -> Any:
        return importlib.import_module(self.module)

    def bind(self, sock: Any, endpoint: str) -> str:
        """Bind; the endpoint actually bound."""
        sock.bind(endpoint)
        return str(sock.getsockopt_string(self.zmq().LAST_ENDPOINT))

    def connect(self, sock: Any, endpoint: str, timeout: float) -> None:
        """Connect and wait for the ZMTP handshake (seen on libzmq's socket monitor)."""
        zmq = self.zmq()
        from zmq.utils.monitor import recv_monitor_message

        mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        try:
            sock.connect(endpoint)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not mon.poll(int(left * 1000) + 1):
                    raise TimeoutError(f"no handshake within {timeout} s")
                ev = recv_monitor_message(mon)
                if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return
        finally:
            sock.disable_monitor()
            mon.close(linger=0)


PYZMQ = Blocking()


def _pyzmq_curve(sock: Any, curve: dict[str, bytes] | None, server: bool) -> None:
    """Make ``sock`` the CURVE server or a CURVE client with the run's keys (before
    bind or connect); ``curve`` None leaves it on NULL security."""
    if curve is None:
        return
    if server:
        sock.curve_server = True
        sock.curve_secretkey = curve["server_secret"]
    else:
        sock.curve_serverkey = curve["server_public"]
        sock.curve_publickey = curve["client_public"]
        sock.curve_secretkey = curve["client_secret"]


def _recv_fn(sock: Any, p: dict[str, Any]) -> Any:
    """``sock.recv`` (bytes, as a user gets them) or, with ``--pyzmq-zerocopy``, a recv
    that returns ``zmq.Frame`` objects without copying the body out of libzmq."""
    return functools.partial(sock.recv, copy=False) if p["pyzmq_zerocopy"] else sock.recv


@contextlib.contextmanager
def _one_socket(lib: Blocking, kind: str, linger: int = 0) -> Iterator[tuple[Any, Any]]:
    """``lib``'s module and a socket of ``kind`` (a name: ``"PULL"``) in a context of
    its own; the socket closed with ``linger`` and the context ended after."""
    zmq = lib.zmq()
    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, kind))
    try:
        yield zmq, sock
    finally:
        sock.close(linger=linger)
        ctx.term()


def blocking_receiver(
    lib: Blocking,
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None = None,
    curve: dict[str, bytes] | None = None,
) -> None:
    with _one_socket(lib, "PULL") as (_, sock):
        _pyzmq_curve(sock, curve, server=True)
        progress[0] = PH_BIND
        conn.send(("ready", lib.bind(sock, bind_endpoint(transport, ipc_dir))))
        n, elapsed = recv_case(conn, progress, _recv_fn(sock, p), size, p)
        report_result(conn, n, elapsed)


def blocking_sender(
    lib: Blocking,
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> None:
    with _one_socket(lib, "PUSH") as (_, sock):
        _pyzmq_curve(sock, curve, server=False)
        progress[0] = PH_CONNECT
        lib.connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        send_case(conn, progress, sock.send, size, p)
        conn.send(("closed", maxrss_kb()))


def blocking_inproc(
    lib: Blocking, conn: Connection, progress: Any, size: int, p: dict[str, Any]
) -> None:
    """Both ends in one process: the receiver here, the sender on a thread."""
    import threading

    zmq = lib.zmq()
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://bench")
    go = threading.Event()
    count: list[int] = []
    failed: list[BaseException] = []

    def sender() -> None:
        push = ctx.socket(zmq.PUSH)
        try:
            push.connect("inproc://bench")
            msg = payload(size)
            send = push.send
            send_pilot(send, msg, p["pilot"])
            if not go.wait(p["handshake_timeout"] + 60):
                raise TimeoutError("the receiver never finished the pilot")
            send_timed(send, msg, count[0], progress, 2)
        except BaseException as exc:
            failed.append(exc)
            try:
                conn.send(("error", "sender thread: " + describe(exc)))
            except Exception:
                pass
        finally:
            push.close(linger=0)

    def started(n: int) -> None:
        count.append(n)
        go.set()

    thread = threading.Thread(target=sender, daemon=True)
    try:
        thread.start()
        n, elapsed = recv_case(conn, progress, _recv_fn(pull, p), size, p, started=started)
        thread.join(10)
        if failed:
            raise failed[0]
        report_result(conn, n, elapsed)
    finally:
        pull.close(linger=0)
        if not thread.is_alive():
            ctx.term()


def blocking_server(lib: Blocking, conn: Connection, progress: Any, pattern: str) -> None:
    with _one_socket(lib, socket_names(pattern)[1], linger=1000) as (_, sock):
        progress[0] = PH_BIND
        conn.send(("ready", lib.bind(sock, "tcp://127.0.0.1:*")))
        progress[0] = PH_MAIN
        echo(sock.recv, sock.send)
        progress[0] = PH_CLOSE
        conn.send(("closed", maxrss_kb()))


def blocking_client(
    lib: Blocking, conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    with _one_socket(lib, socket_names(pattern)[0]) as (_, sock):
        progress[0] = PH_CONNECT
        lib.connect(sock, endpoint, p["handshake_timeout"])
        samples = round_trips(sock.send, sock.recv, p, progress)
        conn.send(("result", samples, maxrss_kb()))


def blocking_publisher(
    lib: Blocking,
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    nsubs: int,
    p: dict[str, Any],
    ipc_dir: str | None,
) -> None:
    with _one_socket(lib, "XPUB") as (zmq, sock):
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        sock.setsockopt(zmq.XPUB_NODROP, 1)
        progress[0] = PH_BIND
        conn.send(("ready", lib.bind(sock, bind_endpoint(transport, ipc_dir))))
        progress[0] = PH_CONNECT
        sock.rcvtimeo = int(p["handshake_timeout"] * 1000)
        for _ in range(nsubs):
            if sock.recv()[:1] != b"\x01":
                raise BadMessage("expected a subscription")
        conn.send(("subscribed",))
        send_case(conn, progress, sock.send, size, p)
        conn.send(("closed", maxrss_kb()))


def blocking_subscribers(
    lib: Blocking,
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    nsubs: int,
    p: dict[str, Any],
) -> None:
    zmq = lib.zmq()
    ctx = zmq.Context()
    socks = [ctx.socket(zmq.SUB) for _ in range(nsubs)]
    try:
        progress[0] = PH_CONNECT
        for sock in socks:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
            lib.connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        recvs = [_recv_fn(sock, p) for sock in socks]
        loops = (fanout_pilot, fanout_timed)
        n, elapsed = recv_case(conn, progress, recvs, size, p, loops)
        report_result(conn, n, elapsed)
    finally:
        for sock in socks:
            sock.close(linger=0)
        ctx.term()


_BLOCKING_PROGRAMS: dict[str, Callable[..., None]] = {
    "receiver": blocking_receiver,
    "sender": blocking_sender,
    "inproc": blocking_inproc,
    "server": blocking_server,
    "client": blocking_client,
    "publisher": blocking_publisher,
    "subscribers": blocking_subscribers,
}


def blocking_roles(lib: Blocking) -> dict[tuple[str, str], Program]:
    """The programs of ``lib`` by (its name, role)."""
    return {
        (lib.name, role): functools.partial(program, lib)
        for role, program in _BLOCKING_PROGRAMS.items()
    }


# =====================================================================================
# The parent: running cases with deadlines
# =====================================================================================


class CaseError(Exception):
    pass


class Child:
    """One child process, its pipe and its shared progress counters."""

    def __init__(
        self, mp: Any, name: str, program: Program, alarm: int, args: tuple[Any, ...]
    ) -> None:
        self.name = name
        self.conn, child_conn = mp.Pipe()
        # [phase, messages done, messages done by an in-process sender]
        self.progress = mp.Array("q", 3, lock=False)
        self.proc = mp.Process(
            target=_child_main,
            args=(alarm, program, child_conn, self.progress, args),
            name=self.name,
            daemon=True,
        )
        self.proc.start()
        child_conn.close()
        self.inbox: list[tuple[Any, ...]] = []
        self.dead = False

    def state(self) -> str:
        phase = self.progress[0]
        name = PHASES[phase] if 0 <= phase < len(PHASES) else str(phase)
        text = f"{self.name}: {name}"
        if self.progress[1]:
            text += f", {self.progress[1]} msgs"
        if self.progress[2]:
            text += f" (sender thread/task {self.progress[2]} msgs)"
        if self.proc.exitcode is not None:
            text += f", exited {self.proc.exitcode}"
        return text

    def _pull(self) -> None:
        """Move whatever the child sent into the inbox; raise on a reported error."""
        while not self.dead:
            try:
                if not self.conn.poll():
                    break
                msg = self.conn.recv()
            except (EOFError, OSError):
                self.dead = True
                break
            if msg[0] == "error":
                raise CaseError(f"{self.name}: {msg[1]}")
            self.inbox.append(msg)

    def stop(self, grace: float) -> bool:
        """Wait up to ``grace`` s for the process to end, then kill it. True if it
        ended on its own."""
        self.proc.join(grace)
        ended = not self.proc.is_alive()
        if not ended:
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()
        return ended


class Session:
    """The children of one case of one implementation, waited on together against
    one deadline (``seconds`` from now; each child's alarm 30 s after it)."""

    def __init__(self, mp: Any, roles: Roles, impl: str, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.alarm = int(seconds) + 30
        self.mp, self.roles, self.impl = mp, roles, impl
        self.children: list[Child] = []

    def start(self, role: str, *args: Any) -> Child:
        """Start the implementation's program for ``role`` with ``args``."""
        program = self.roles[self.impl, role]
        child = Child(self.mp, f"{self.impl} {role}", program, self.alarm, args)
        self.children.append(child)
        return child

    def expect(self, child: Child, tag: str) -> tuple[Any, ...]:
        while True:
            exited = [c for c in self.children if c.proc.exitcode is not None]
            for c in self.children:
                c._pull()
            for i, msg in enumerate(child.inbox):
                if msg[0] == tag:
                    del child.inbox[i]
                    return msg
            for c in exited:
                if c is child or c.proc.exitcode != 0:
                    raise CaseError(
                        f"{c.name} exited with code {c.proc.exitcode} "
                        f"before {tag!r} ({self.states()})"
                    )
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CaseError(f"timeout waiting for {child.name} {tag!r} ({self.states()})")
            waitables: list[Any] = []
            for c in self.children:
                if not c.dead:
                    waitables.append(c.conn)
                if c.proc.exitcode is None:
                    waitables.append(c.proc.sentinel)
            mp_wait(waitables, min(left, 0.5))

    def states(self) -> str:
        return "; ".join(c.state() for c in self.children)

    def close(self, grace: float) -> list[str]:
        """Stop every child; the names of those that had to be killed."""
        killed = []
        for c in self.children:
            if not c.stop(grace):
                killed.append(c.state())
        return killed


@dataclass
class ThrResult:
    transport: str
    size: int
    impl: str
    count: int = 0
    seconds: float = 0.0
    msgs_per_s: float = 0.0
    mb_per_s: float = 0.0
    pilot_count: int = 0
    pilot_msgs_per_s: float = 0.0
    maxrss_kb: dict[str, int] = field(default_factory=dict)
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    #: msgs/s of every repetition (the figures above are those of the median one).
    runs: list[float] = field(default_factory=list)


@dataclass
class LatResult:
    pattern: str
    impl: str
    round_trips: int = 0
    p50_us: float = 0.0
    p99_us: float = 0.0
    min_us: float = 0.0
    mean_us: float = 0.0
    maxrss_kb: dict[str, int] = field(default_factory=dict)
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    #: p50 of every repetition (the figures above pool the samples of all of them).
    runs: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list, repr=False)

    def compute(self) -> None:
        samples = sorted(self.samples)
        self.round_trips = len(samples)
        self.p50_us = _percentile(samples, 50)
        self.p99_us = _percentile(samples, 99)
        self.min_us = samples[0] / 1000
        self.mean_us = sum(samples) / len(samples) / 1000

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        del doc["samples"]
        return doc


@dataclass
class FanoutResult(ThrResult):
    """A fan-out case: ``msgs_per_s`` is the rate at which every one of ``subscribers``
    received the stream; ``deliveries_per_s`` counts each subscriber's copy."""

    subscribers: int = 1
    deliveries_per_s: float = 0.0


class _Result(Protocol):
    impl: str
    error: str
    warnings: list[str]


Res = TypeVar("Res", bound=_Result)
T = TypeVar("T", bound=ThrResult)


def _run_case(
    mp: Any,
    roles: Roles,
    res: Res,
    seconds: float,
    case: Callable[[Session, str | None], None],
    transport: str = "tcp",
) -> Res:
    """Run ``case(session, ipc_dir)`` for ``res.impl``; what goes wrong becomes
    ``res.error`` (children that do not end in time, ``res.warnings``)."""
    session = Session(mp, roles, res.impl, seconds)
    ipc_dir = tempfile.mkdtemp(prefix="zmtp-bench-") if transport == "ipc" else None
    grace = 10.0
    try:
        case(session, ipc_dir)
    except CaseError as exc:
        res.error = str(exc)
        grace = 0.5
    except Exception as exc:  # a bug of this script: report it in the row, go on
        res.error = f"benchmark: {describe(exc)}"
        grace = 0.5
    finally:
        for state in session.close(grace):
            if not res.error:
                res.warnings.append(f"killed, it did not exit: {state}")
        if ipc_dir is not None:
            shutil.rmtree(ipc_dir, ignore_errors=True)
    return res


def _fill_thr(
    res: ThrResult, pilot: tuple[Any, ...], result: tuple[Any, ...], role: str = "receiver"
) -> None:
    _, k, dt, _ = pilot
    _, n, elapsed, rss = result
    res.pilot_count = k
    res.pilot_msgs_per_s = (k - 1) / dt if k > 1 and dt > 0 else 0.0
    res.count = n
    res.seconds = elapsed
    res.msgs_per_s = (n - 1) / elapsed if elapsed > 0 else 0.0
    res.mb_per_s = res.msgs_per_s * res.size / 1e6
    res.runs.append(res.msgs_per_s)
    res.maxrss_kb[role] = rss
    if isinstance(res, FanoutResult):
        res.deliveries_per_s = res.msgs_per_s * res.subscribers


def _timed_run(
    session: Session, res: ThrResult, receiver: Child, sender: Child, roles: tuple[str, str]
) -> None:
    """The pilot, the timed run and the sender's end, once the sender is started;
    ``roles`` name the two in ``res.maxrss_kb``."""
    pilot = session.expect(receiver, "pilot")
    session.expect(sender, "pilot_sent")
    sender.conn.send(("go", pilot[3]))
    _fill_thr(res, pilot, session.expect(receiver, "result"), roles[0])
    session.expect(sender, "sent")
    sender.conn.send(("exit",))
    session.deadline = max(session.deadline, time.monotonic() + 10)
    _closed(session, res, sender, roles[1])


def _closed(session: Session, res: ThrResult | LatResult, child: Child, role: str) -> None:
    """The child's peak memory as it ends; not ending in time is only a warning."""
    try:
        res.maxrss_kb[role] = session.expect(child, "closed")[1]
    except CaseError as exc:
        res.warnings.append(f"after the timed run: {exc}")


def run_thr(
    mp: Any,
    roles: Roles,
    impl: str,
    transport: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> ThrResult:
    """One run of a throughput case; with ``curve`` (the keys of ``curve_keys``), over
    CURVE, the receiver being the server (tcp and ipc only)."""

    def case(session: Session, ipc_dir: str | None) -> None:
        if transport == "inproc":
            child = session.start("inproc", size, p)
            pilot = session.expect(child, "pilot")
            _fill_thr(res, pilot, session.expect(child, "result"))
            return
        receiver = session.start("receiver", transport, size, p, ipc_dir, curve)
        _, endpoint = session.expect(receiver, "ready")
        sender = session.start("sender", endpoint, size, p, curve)
        _timed_run(session, res, receiver, sender, ("receiver", "sender"))

    res = ThrResult(transport, size, impl)
    return _run_case(mp, roles, res, p["timeout"], case, transport)


def run_lat(mp: Any, roles: Roles, impl: str, pattern: str, p: dict[str, Any]) -> LatResult:
    """One run of the round-trip case."""

    def case(session: Session, _ipc_dir: str | None) -> None:
        server = session.start("server", pattern)
        _, endpoint = session.expect(server, "ready")
        client = session.start("client", pattern, endpoint, p)
        _, samples, rss = session.expect(client, "result")
        res.samples = samples
        res.compute()
        res.runs.append(res.p50_us)
        res.maxrss_kb["client"] = rss
        _closed(session, res, server, "server")

    res = LatResult(pattern, impl)
    return _run_case(mp, roles, res, p["timeout"] + p["lat_max_seconds"], case)


def run_fanout(
    mp: Any, roles: Roles, impl: str, transport: str, size: int, nsubs: int, p: dict[str, Any]
) -> FanoutResult:
    """One run of a fan-out case: one publisher, ``nsubs`` subscribers."""

    def case(session: Session, ipc_dir: str | None) -> None:
        publisher = session.start("publisher", transport, size, nsubs, p, ipc_dir)
        _, endpoint = session.expect(publisher, "ready")
        subscribers = session.start("subscribers", endpoint, size, nsubs, p)
        session.expect(publisher, "subscribed")
        _timed_run(session, res, subscribers, publisher, ("subscribers", "publisher"))

    res = FanoutResult(transport, size, impl, subscribers=nsubs)
    return _run_case(mp, roles, res, p["timeout"], case, transport)


def _percentile(sorted_ns: list[int], pct: float) -> float:
    """Nearest-rank percentile, in µs."""
    idx = max(0, math.ceil(pct / 100 * len(sorted_ns)) - 1)
    return sorted_ns[idx] / 1000


def alternate(
    impls: list[str],
    repeat: int,
    run: Callable[[str], Res],
    report: Callable[[str, int, Res, float], None],
) -> dict[str, list[Res]]:
    """``repeat`` runs of each implementation, alternating them so that drift on a
    shared machine hits all alike; an implementation that failed is not run again.
    ``report(impl, rep, result, seconds)`` after each run."""
    runs: dict[str, list[Res]] = {impl: [] for impl in impls}
    for rep in range(repeat):
        for impl in impls:
            if runs[impl] and runs[impl][-1].error:
                continue
            t0 = time.monotonic()
            r = run(impl)
            runs[impl].append(r)
            report(impl, rep, r, time.monotonic() - t0)
    return runs


def median_thr(runs: list[T]) -> T:
    """The repetition with the median rate (the lower middle one of an even number);
    the failed one, if any failed."""
    if runs[-1].error:
        failed = runs[-1]
        failed.runs = [r.msgs_per_s for r in runs[:-1]]
        return failed
    ordered = sorted(runs, key=lambda r: r.msgs_per_s)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.runs = [r.msgs_per_s for r in runs]
    chosen.warnings = [w for r in runs for w in r.warnings]
    return chosen


def pool_lat(runs: list[LatResult]) -> LatResult:
    """All repetitions' samples pooled into one result; the failed one, if any failed."""
    if runs[-1].error:
        failed = runs[-1]
        failed.runs = [r.p50_us for r in runs[:-1]]
        return failed
    pooled = LatResult(runs[0].pattern, runs[0].impl)
    for r in runs:
        pooled.samples.extend(r.samples)
        pooled.runs.extend(r.runs)
        pooled.warnings.extend(r.warnings)
        for role, kb in r.maxrss_kb.items():
            pooled.maxrss_kb[role] = max(kb, pooled.maxrss_kb.get(role, 0))
    pooled.compute()
    return pooled


# =====================================================================================
# Output
# =====================================================================================


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e4:
        return f"{x / 1e3:.1f} k"
    return f"{x:,.0f}"


def fmt_mb(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_us(x: float) -> str:
    return f"{x:,.1f}"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def ratio(a: float, b: float) -> float | None:
    return a / b if a > 0 and b > 0 else None


def compare(a: Any, b: Any, attr: str) -> float | None:
    """``a.attr / b.attr`` of two results; None if either is missing or failed."""
    if a is None or b is None or a.error or b.error:
        return None
    return ratio(getattr(a, attr), getattr(b, attr))


def cells(r: Any, values: Callable[[Any], list[str]], error: Callable[[str], str]) -> list[str]:
    """A result's two cells in a table row: ``values(r)``; ``error(text), ""`` for a
    failed one; ``-`` twice for one not run."""
    if r is None:
        return ["-", "-"]
    if r.error:
        return [error(r.error), ""]
    return values(r)


def thr_values(r: ThrResult) -> list[str]:
    return [fmt_rate(r.msgs_per_s), fmt_mb(r.mb_per_s)]


def lat_values(r: LatResult) -> list[str]:
    return [fmt_us(r.p50_us), fmt_us(r.p99_us)]


def md_row(row: list[str]) -> str:
    return "| " + " | ".join(row) + " |"


def md_head(header: list[str]) -> str:
    return md_row(header) + "\n|" + "---|" * len(header)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([md_head(header)] + [md_row(row) for row in rows])


def goal_text(cmp: str, goal: float) -> str:
    return f"{'≥' if cmp == '>=' else '≤'} {goal:g}x"


def met(value: float, cmp: str, goal: float) -> str:
    return "met" if ((value >= goal) if cmp == ">=" else (value <= goal)) else "not met"


def total_time(started: float) -> float:
    """Print the closing line; the seconds since ``started``."""
    elapsed = time.monotonic() - started
    print(f"Total time: {elapsed:.1f} s (load average {loadavg()} at the end).", flush=True)
    return elapsed


def write_json(path: str, doc: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


# =====================================================================================
# Several implementations of one API beside pyzmq: the asyncio and blocking scripts
# =====================================================================================


#: Settings with a different default for ``--quick``: name -> (quick, full).
QUICK_DEFAULTS: dict[str, tuple[float, float]] = {
    "seconds": (0.3, 1.0),
    "pilot": (0.1, 0.25),
    "timeout": (10.0, 20.0),
    "round_trips": (1000, 5000),
    "warmup": (200, 1000),
}


@dataclass(frozen=True)
class Target:
    """A PERF.md target: ``num``/``den`` of a tcp case's msgs/s (``thr``) or p50
    (``lat``), compared (``>=`` or ``<=``) with ``goal``."""

    label: str
    kind: str
    size: int
    num: str
    den: str
    cmp: str
    goal: float


@dataclass(frozen=True)
class SideBySide:
    """A benchmark of implementations of one API (pyzmq's first) with the same report:
    PUSH → PULL throughput per size (and per transport where ``--transports`` is
    offered, else over tcp), REQ/REP round trips over tcp, then the targets."""

    title: str
    description: str
    impls: list[str]
    #: The throughput ratio columns, (numerator, denominator), where both run.
    ratios: list[tuple[str, str]]
    #: The denominator of the round-trip ratio.
    lat_base: str
    targets: list[Target]
    targets_title: str
    transports_option: bool = False
    sizes: tuple[int, ...] = (16, 256, 4096, 65536, 1048576)


def parse_side_by_side(spec: SideBySide, argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=spec.description)
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--repeat", type=int, help="runs of each case (default 3; quick 1)")
    ap.add_argument("--sizes", help="comma-separated sizes in bytes (default: all)")
    if spec.transports_option:
        ap.add_argument("--transports", default="tcp", help="comma-separated: tcp, ipc (tcp)")
    ap.add_argument("--impls", help=f"comma-separated, of {', '.join(spec.impls)}")
    ap.add_argument("--no-latency", action="store_true", help="skip the round-trip case")
    ap.add_argument("--seconds", type=float, help="timed run length (default 1; quick 0.3)")
    ap.add_argument("--pilot", type=float, help="pilot length (default 0.25; quick 0.1)")
    ap.add_argument("--timeout", type=float, help="seconds before a run is killed (20)")
    ap.add_argument("--round-trips", type=int, help="timed round trips (5000; quick 1000)")
    ap.add_argument("--warmup", type=int, help="warm-up round trips (1000; quick 200)")
    ap.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    ns = ap.parse_args(argv)
    ns.repeat = ns.repeat or (1 if ns.quick else 3)
    fill_quick_defaults(ns, zero_is_unset=True)
    ns.impls = ns.impls.split(",") if ns.impls else list(spec.impls)
    ns.sizes = [int(s) for s in ns.sizes.split(",")] if ns.sizes else list(spec.sizes)
    ns.transports = ns.transports.split(",") if spec.transports_option else ["tcp"]
    return ns


def fill_quick_defaults(ns: argparse.Namespace, zero_is_unset: bool = False) -> None:
    """The defaults of QUICK_DEFAULTS for the settings not given (or given as 0, with
    ``zero_is_unset``)."""
    for name, (quick, full) in QUICK_DEFAULTS.items():
        value = getattr(ns, name)
        if value is None or (zero_is_unset and not value):
            setattr(ns, name, type(full)(quick if ns.quick else full))


def run_side_by_side(spec: SideBySide, args: argparse.Namespace, roles: Roles) -> int:
    """Measure ``args.impls`` with the programs of ``roles``; print the report."""
    started = time.monotonic()
    mp = multiprocessing.get_context("spawn")
    impls = args.impls
    p = {
        "seconds": args.seconds,
        "pilot": args.pilot,
        "min_count": 20,
        "max_count": 5_000_000,
        "timeout": args.timeout,
        "handshake_timeout": 10.0,
        "round_trips": args.round_trips,
        "warmup": args.warmup,
        "pyzmq_zerocopy": False,
        "lat_max_seconds": 20.0,
    }
    # Where --transports is offered, the throughput rows name their transport.
    by_transport = spec.transports_option

    import zmq

    import zmtp

    print(f"# {spec.title}\n")
    print(
        f"Python {sys.version.split()[0]}, pyzmq {zmq.__version__} (libzmq "
        f"{zmq.zmq_version()}), zmtp {zmtp.__version__}; load average "
        f"{loadavg()} at start. Throughput: PUSH→PULL{'' if by_transport else ' over tcp'}, "
        f"two processes, receiver-timed, ~{args.seconds:g} s per run, median of "
        f"{args.repeat}; latency: REQ/REP {LATENCY_SIZE} B round trips"
        f"{' over tcp' if by_transport else ''}, {args.round_trips} per run, "
        f"{args.repeat} run(s) pooled.\n",
        flush=True,
    )

    def what(r: ThrResult | LatResult) -> str:
        if r.error:
            return r.error
        if isinstance(r, ThrResult):
            return f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s"
        return f"p50 {fmt_us(r.p50_us)} µs, p99 {fmt_us(r.p99_us)} µs"

    def reporter(name: str) -> Callable[[str, int, Any, float], None]:
        def report(impl: str, rep: int, r: Any, _took: float) -> None:
            progress_line(f"{name} {impl} #{rep + 1}: {what(r)}")

        return report

    def error_cell(_text: str) -> str:
        return "error"

    thr: dict[tuple[str, int, str], ThrResult] = {}
    ratio_cols = [(a, b) for a, b in spec.ratios if a in impls and b in impls]
    header = ["case" if by_transport else "size"]
    for impl in impls:
        header += [f"{impl} msgs/s", f"{impl} MB/s"]
    header += [f"{a}/{b}" for a, b in ratio_cols]
    print(f"## Throughput (PUSH → PULL{'' if by_transport else ', tcp'})\n")
    print(md_head(header), flush=True)
    for transport in args.transports:
        for size in args.sizes:
            name = f"{transport} {size_label(size)}"
            run = functools.partial(run_thr, mp, roles, transport=transport, size=size, p=p)
            runs = alternate(impls, args.repeat, run, reporter(name))
            row = [name if by_transport else size_label(size)]
            for impl in impls:
                r = thr[transport, size, impl] = median_thr(runs[impl])
                row += cells(r, thr_values, error_cell)
            for a, b in ratio_cols:
                row.append(
                    fmt_ratio(
                        compare(thr[transport, size, a], thr[transport, size, b], "msgs_per_s")
                    )
                )
            print(md_row(row), flush=True)
    print()

    lat: dict[str, LatResult] = {}
    if not args.no_latency:
        run_one = functools.partial(run_lat, mp, roles, pattern="reqrep", p=p)
        lat_runs = alternate(impls, args.repeat, run_one, reporter("latency"))
        lat = {impl: pool_lat(lat_runs[impl]) for impl in impls}
        base = lat.get(spec.lat_base)
        rows = [
            [impl, "error", "", ""]
            if r.error
            else [impl, *lat_values(r), fmt_ratio(compare(r, base, "p50_us"))]
            for impl, r in lat.items()
        ]
        print("## Round trip (REQ/REP 64 B, tcp; lower is better)\n")
        header = ["implementation", "p50 µs", "p99 µs", f"p50 / {spec.lat_base}"]
        print(md_table(header, rows) + "\n")

    rows = []
    summary = []
    for t in spec.targets:
        if t.kind == "thr":
            value = compare(
                thr.get(("tcp", t.size, t.num)), thr.get(("tcp", t.size, t.den)), "msgs_per_s"
            )
        else:
            value = compare(lat.get(t.num), lat.get(t.den), "p50_us")
        status = "not run" if value is None else met(value, t.cmp, t.goal)
        rows.append(
            [t.label, f"{t.num}/{t.den} {goal_text(t.cmp, t.goal)}", fmt_ratio(value), status]
        )
        summary.append({"target": t.label, "goal": f"{t.cmp} {t.goal}x", "ratio": value})
    print(f"## {spec.targets_title}\n")
    print(md_table(["target", "goal", "ratio", "status"], rows) + "\n")
    total_time(started)
    if args.json:
        doc = {
            "throughput": [asdict(r) for r in thr.values()],
            "latency": [r.to_json() for r in lat.values()],
            "targets": summary,
        }
        write_json(args.json, doc)
    return 0
