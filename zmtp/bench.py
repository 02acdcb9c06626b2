"""zmtp next to pyzmq (libzmq), measured in the same run: ``zmtp bench`` (also
``nox -s bench`` and ``python interop/bench.py``).

Without pyzmq installed, zmtp runs alone and the report says so (no ratios).

What is measured (the method of ``PERF.md``):

* **PUSH → PULL throughput** for 16 B, 256 B, 4 KiB, 64 KiB and 1 MiB messages over
  tcp, ipc and inproc. For tcp and ipc the receiver and the sender are two processes
  (``multiprocessing`` with the *spawn* start method): the receiver binds, reports its
  endpoint, and times from the first message to the last, like libzmq's
  ``local_thr``. inproc runs in one process: zmtp as two tasks of one trio run, pyzmq
  with a sender thread. msgs/s counts the ``n - 1`` intervals between the first and
  the last of ``n`` messages; MB = 10^6 bytes.
* **PUB → SUB fan-out** to 1 and 10 subscribers of 16 B and 4 KiB messages over tcp:
  an XPUB publisher (``xpub_verbose``, to start once all are subscribed, and
  ``xpub_nodrop``, so that every subscriber receives every message) in one process, N
  SUB sockets subscribed to everything in another, read in turn; timed by the
  subscribers from the first message to the last copy of the last one. msgs/s is the
  rate each subscriber got the stream at; deliveries/s = N * msgs/s.
* **PUSH → PULL throughput with CURVE** (RFC 26) over tcp for 16 B, 4 KiB, 64 KiB and
  1 MiB messages, two processes as above: the receiver is the CURVE server
  (``curve_server``, ``curve_secretkey``), the sender the client (``curve_serverkey``,
  ``curve_publickey``, ``curve_secretkey``). The keys are made once per run, by each
  implementation's own ``curve_keypair()``; no ZAP handler on either side, so the
  server admits the client's key (libzmq's default, and zmtp's). Every message is
  encrypted by the sender and decrypted by the receiver.
* **Round-trip latency** of 64-byte messages over tcp, client and server in two
  processes: p50 and p99 after a warm-up. REQ/REP when zmtp implements it, else
  DEALER↔DEALER (the same wire traffic, minus REQ's empty delimiter frame); see
  ``--latency-pattern``.

How long a case runs: each implementation first sends a *pilot* (``--pilot`` seconds
of messages, then an empty marker message); the receiver turns the pilot's rate into
the message count of the timed run, so that it lasts about ``--seconds`` (1 s), within
``--min-count``/``--max-count``. The pilot also warms the connection up. Both sides
use the same settings: default HWMs (1000), no socket buffer tuning, the same message
objects; pyzmq's blocking API is used as a user would (``recv()`` returns ``bytes``).

Each case runs ``--repeat`` times (3; 1 with ``--quick``), alternating pyzmq and zmtp
so that drift on a shared machine hits both alike: throughput reports the median run,
latency pools the samples of all runs. The CURVE cases run ``CURVE_REPEAT`` times (2;
1 with ``--quick``) unless ``--repeat`` is given, to keep the full run short.

Robustness: each child process has a deadline (``--timeout`` per run, and an alarm
that ends it should the parent vanish); a case that fails prints ``error: ...`` in its
row, with where each process was (phase, messages so far), and the benchmark goes on.

Output: Markdown tables on stdout (progress on stderr); ``--json PATH`` also writes
every number. ``--quick`` is a ~30 s smoke run; ``--only tcp,16`` picks cases
(``--only fanout`` or ``--only 10subs`` the fan-out ones, ``--only curve`` the CURVE
ones).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from typing import Any

SIZES = [16, 256, 4096, 65536, 1048576]
TRANSPORTS = ["tcp", "ipc", "inproc"]
IMPLS = ["pyzmq", "zmtp"]
LATENCY_SIZE = 64
#: PUB -> SUB fan-out: subscriber counts and message sizes (tcp, two processes).
FANOUT_SUBS = [1, 10]
FANOUT_SIZES = [16, 4096]
#: PUSH -> PULL with CURVE security: message sizes (tcp, two processes), and the runs
#: of each case unless ``--repeat`` is given (fewer than 3 keeps the full run short).
CURVE_SIZES = [16, 4096, 65536, 1048576]
CURVE_REPEAT = 2

#: (label, kind, transport, size, comparison, goal) — the targets of PERF.md.
TARGETS = [
    ("tcp 16 B throughput", "thr", "tcp", 16, ">=", 0.5),
    ("tcp 64 KiB throughput", "thr", "tcp", 65536, ">=", 1.0),
    ("tcp 1 MiB throughput", "thr", "tcp", 1048576, ">=", 1.5),
    ("inproc 16 B throughput", "thr", "inproc", 16, ">=", 1.0),
    ("tcp REQ/REP 64 B p50", "lat", "tcp", LATENCY_SIZE, "<=", 1.0),
]

#: What a child process reports as its phase (kept in a shared array, so that a
#: timeout can tell where each process was).
PHASES = ["starting", "binding", "connecting", "pilot", "waiting", "timed run", "closing", "done"]
(PH_START, PH_BIND, PH_CONNECT, PH_PILOT, PH_WAIT, PH_MAIN, PH_CLOSE, PH_DONE) = range(8)
#: Progress is published once per this many messages (outside the innermost loop).
CHUNK = 1024


def size_label(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} B"


# =====================================================================================
# Child processes
# =====================================================================================


def _leaf_exceptions(exc: BaseException) -> list[BaseException]:
    subs = getattr(exc, "exceptions", None)
    if isinstance(subs, (list, tuple)):
        out: list[BaseException] = []
        for sub in subs:
            out.extend(_leaf_exceptions(sub))
        return out
    return [exc]


def _describe(exc: BaseException) -> str:
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
    alarm: int, target: Any, conn: Connection, progress: Any, args: tuple[Any, ...]
) -> None:
    # Should the parent die without killing us, SIGALRM's default action ends us.
    signal.alarm(alarm)
    try:
        target(conn, progress, *args)
        progress[0] = PH_DONE
    except BaseException as exc:
        traceback.print_exc()
        try:
            conn.send(("error", _describe(exc)))
        except Exception:
            pass
        sys.exit(1)


def _calibrate(rate: float, p: dict[str, Any]) -> int:
    if not rate > 0 or math.isinf(rate):
        return int(p["min_count"])
    return int(min(p["max_count"], max(p["min_count"], rate * p["seconds"])))


def _payload(size: int) -> bytes:
    return b"\x55" * size


def _maxrss_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _bind_endpoint(transport: str, ipc_dir: str | None) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    assert ipc_dir is not None
    return f"ipc://{ipc_dir}/bench.sock"


class BadMessage(Exception):
    pass


def _bad(msg: Any, size: int) -> BadMessage:
    return BadMessage(f"received a message of {len(msg)} bytes, expected {size}")


# -- pyzmq ----------------------------------------------------------------------------


def _pyzmq_connect(sock: Any, endpoint: str, timeout: float) -> None:
    """Connect and wait for the ZMTP handshake (seen on libzmq's socket monitor)."""
    import zmq
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


def _pyzmq_recv_fn(sock: Any, p: dict[str, Any]) -> Any:
    """``sock.recv`` (bytes, as a user gets them) or, with ``--pyzmq-zerocopy``, a recv
    that returns ``zmq.Frame`` objects without copying the body out of libzmq."""
    return functools.partial(sock.recv, copy=False) if p["pyzmq_zerocopy"] else sock.recv


def _pyzmq_recv_pilot(recv: Any, size: int) -> tuple[int, float]:
    """Receive the pilot up to its empty marker: (data messages, seconds)."""
    msg = recv()
    t0 = time.perf_counter()
    k = 0
    while len(msg):
        if len(msg) != size:
            raise _bad(msg, size)
        k += 1
        msg = recv()
    return k, time.perf_counter() - t0


def _pyzmq_recv_timed(recv: Any, size: int, n: int, progress: Any) -> float:
    msg = recv()
    t0 = time.perf_counter()
    if len(msg) != size:
        raise _bad(msg, size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            msg = recv()
            if len(msg) != size:
                raise _bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


def _pyzmq_send_pilot(send: Any, msg: bytes, seconds: float) -> int:
    t_end = time.perf_counter() + seconds
    k = 0
    while True:
        send(msg)
        k += 1
        if not k & 63 and time.perf_counter() >= t_end:
            break
    send(b"")
    return k


def _pyzmq_send_timed(send: Any, msg: bytes, n: int, progress: Any, slot: int = 1) -> None:
    left = n
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            send(msg)
        left -= c
        progress[slot] = n - left


def _pyzmq_thr_receiver(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None,
    curve: dict[str, bytes] | None = None,
) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    try:
        _pyzmq_curve(sock, curve, server=True)
        progress[0] = PH_BIND
        sock.bind(_bind_endpoint(transport, ipc_dir))
        conn.send(("ready", sock.getsockopt_string(zmq.LAST_ENDPOINT)))
        progress[0] = PH_PILOT
        recv = _pyzmq_recv_fn(sock, p)
        k, dt = _pyzmq_recv_pilot(recv, size)
        n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
        conn.send(("pilot", k, dt, n))
        progress[0] = PH_MAIN
        elapsed = _pyzmq_recv_timed(recv, size, n, progress)
        progress[0] = PH_CLOSE
        conn.send(("result", n, elapsed, _maxrss_kb()))
    finally:
        sock.close(linger=0)
        ctx.term()


def _pyzmq_thr_sender(
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    try:
        _pyzmq_curve(sock, curve, server=False)
        progress[0] = PH_CONNECT
        _pyzmq_connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        progress[0] = PH_PILOT
        msg = _payload(size)
        send = sock.send
        k = _pyzmq_send_pilot(send, msg, p["pilot"])
        conn.send(("pilot_sent", k))
        progress[0] = PH_WAIT
        cmd = conn.recv()
        progress[0] = PH_MAIN
        _pyzmq_send_timed(send, msg, cmd[1], progress)
        conn.send(("sent", cmd[1]))
        progress[0] = PH_WAIT
        conn.recv()  # "exit": the receiver has everything
        progress[0] = PH_CLOSE
        conn.send(("closed", _maxrss_kb()))
    finally:
        sock.close(linger=0)
        ctx.term()


def _pyzmq_inproc(conn: Connection, progress: Any, size: int, p: dict[str, Any]) -> None:
    import zmq

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
            msg = _payload(size)
            send = push.send
            _pyzmq_send_pilot(send, msg, p["pilot"])
            if not go.wait(p["handshake_timeout"] + 60):
                raise TimeoutError("the receiver never finished the pilot")
            _pyzmq_send_timed(send, msg, count[0], progress, 2)
        except BaseException as exc:
            failed.append(exc)
            try:
                conn.send(("error", "sender thread: " + _describe(exc)))
            except Exception:
                pass
        finally:
            push.close(linger=0)

    thread = threading.Thread(target=sender, daemon=True)
    try:
        progress[0] = PH_PILOT
        thread.start()
        recv = _pyzmq_recv_fn(pull, p)
        k, dt = _pyzmq_recv_pilot(recv, size)
        n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
        conn.send(("pilot", k, dt, n))
        count.append(n)
        go.set()
        progress[0] = PH_MAIN
        elapsed = _pyzmq_recv_timed(recv, size, n, progress)
        progress[0] = PH_CLOSE
        thread.join(10)
        if failed:
            raise failed[0]
        conn.send(("result", n, elapsed, _maxrss_kb()))
    finally:
        pull.close(linger=0)
        if not thread.is_alive():
            ctx.term()


def _pyzmq_socket_types(pattern: str) -> tuple[int, int]:
    import zmq

    return (zmq.REQ, zmq.REP) if pattern == "reqrep" else (zmq.DEALER, zmq.DEALER)


def _pyzmq_lat_server(conn: Connection, progress: Any, pattern: str) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(_pyzmq_socket_types(pattern)[1])
    try:
        progress[0] = PH_BIND
        sock.bind("tcp://127.0.0.1:*")
        conn.send(("ready", sock.getsockopt_string(zmq.LAST_ENDPOINT)))
        progress[0] = PH_MAIN
        recv, send = sock.recv, sock.send
        while True:
            msg = recv()
            send(msg)
            if not msg:
                break
        progress[0] = PH_CLOSE
        conn.send(("closed", _maxrss_kb()))
    finally:
        sock.close(linger=1000)
        ctx.term()


def _pyzmq_lat_client(
    conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(_pyzmq_socket_types(pattern)[0])
    try:
        progress[0] = PH_CONNECT
        _pyzmq_connect(sock, endpoint, p["handshake_timeout"])
        msg = _payload(LATENCY_SIZE)
        recv, send = sock.recv, sock.send
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
                raise _bad(reply, LATENCY_SIZE)
            if not i & 255:
                progress[1] = i
                if time.perf_counter() > t_end:
                    break
        progress[0] = PH_CLOSE
        send(b"")
        recv()
        conn.send(("result", samples, _maxrss_kb()))
    finally:
        sock.close(linger=0)
        ctx.term()


# -- zmtp -----------------------------------------------------------------------------


async def _arecv(conn: Connection) -> Any:
    """``conn.recv()`` without blocking the trio run (the engine keeps flushing)."""
    import trio

    while not conn.poll():
        await trio.lowlevel.wait_readable(conn.fileno())
    return conn.recv()


async def _zmtp_wait_handshake(monitor: Any, timeout: float) -> None:
    import trio

    import zmtp

    with trio.fail_after(timeout):
        await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    await monitor.aclose()


def _zmtp_curve(curve: dict[str, bytes] | None, server: bool) -> dict[str, Any]:
    """The socket options of the CURVE server or a CURVE client with the run's keys;
    none (NULL security) when ``curve`` is None."""
    if curve is None:
        return {}
    if server:
        return {"curve_server": True, "curve_secretkey": curve["server_secret"]}
    return {
        "curve_serverkey": curve["server_public"],
        "curve_publickey": curve["client_public"],
        "curve_secretkey": curve["client_secret"],
    }


async def _zmtp_recv_pilot(recv: Any, size: int) -> tuple[int, float]:
    msg = await recv()
    t0 = time.perf_counter()
    k = 0
    while len(msg):
        if len(msg) != size:
            raise _bad(msg, size)
        k += 1
        msg = await recv()
    return k, time.perf_counter() - t0


async def _zmtp_recv_timed(recv: Any, size: int, n: int, progress: Any) -> float:
    msg = await recv()
    t0 = time.perf_counter()
    if len(msg) != size:
        raise _bad(msg, size)
    left = n - 1
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            msg = await recv()
            if len(msg) != size:
                raise _bad(msg, size)
        left -= c
        progress[1] = n - left
    return time.perf_counter() - t0


async def _zmtp_send_pilot(send: Any, msg: bytes, seconds: float) -> int:
    t_end = time.perf_counter() + seconds
    k = 0
    while True:
        await send(msg)
        k += 1
        if not k & 63 and time.perf_counter() >= t_end:
            break
    await send(b"")
    return k


async def _zmtp_send_timed(send: Any, msg: bytes, n: int, progress: Any, slot: int = 1) -> None:
    left = n
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            await send(msg)
        left -= c
        progress[slot] = n - left


def _zmtp_thr_receiver(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None,
    curve: dict[str, bytes] | None = None,
) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            sock = ctx.socket(zmtp.PULL, **_zmtp_curve(curve, server=True))
            progress[0] = PH_BIND
            endpoint = await sock.bind(_bind_endpoint(transport, ipc_dir))
            conn.send(("ready", endpoint))
            progress[0] = PH_PILOT
            recv = sock.recv
            k, dt = await _zmtp_recv_pilot(recv, size)
            n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
            conn.send(("pilot", k, dt, n))
            progress[0] = PH_MAIN
            elapsed = await _zmtp_recv_timed(recv, size, n, progress)
            progress[0] = PH_CLOSE
            conn.send(("result", n, elapsed, _maxrss_kb()))
            await sock.close(linger=0)

    trio.run(main)


def _zmtp_thr_sender(
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            sock = ctx.socket(zmtp.PUSH, **_zmtp_curve(curve, server=False))
            progress[0] = PH_CONNECT
            monitor = sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED)
            await sock.connect(endpoint)
            await _zmtp_wait_handshake(monitor, p["handshake_timeout"])
            conn.send(("connected",))
            progress[0] = PH_PILOT
            msg = _payload(size)
            send = sock.send
            k = await _zmtp_send_pilot(send, msg, p["pilot"])
            conn.send(("pilot_sent", k))
            progress[0] = PH_WAIT
            cmd = await _arecv(conn)
            progress[0] = PH_MAIN
            await _zmtp_send_timed(send, msg, cmd[1], progress)
            conn.send(("sent", cmd[1]))
            progress[0] = PH_WAIT
            await _arecv(conn)  # "exit": the receiver has everything
            progress[0] = PH_CLOSE
            await sock.close(linger=0)
            conn.send(("closed", _maxrss_kb()))

    trio.run(main)


def _zmtp_inproc(conn: Connection, progress: Any, size: int, p: dict[str, Any]) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            pull = ctx.socket(zmtp.PULL)
            push = ctx.socket(zmtp.PUSH)
            await pull.bind("inproc://bench")
            await push.connect("inproc://bench")
            go = trio.Event()
            count: list[int] = []

            async def sender() -> None:
                msg = _payload(size)
                send = push.send
                await _zmtp_send_pilot(send, msg, p["pilot"])
                await go.wait()
                await _zmtp_send_timed(send, msg, count[0], progress, 2)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(sender)
                progress[0] = PH_PILOT
                recv = pull.recv
                k, dt = await _zmtp_recv_pilot(recv, size)
                n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
                conn.send(("pilot", k, dt, n))
                count.append(n)
                go.set()
                progress[0] = PH_MAIN
                elapsed = await _zmtp_recv_timed(recv, size, n, progress)
                progress[0] = PH_CLOSE
            conn.send(("result", n, elapsed, _maxrss_kb()))
            await push.close(linger=0)
            await pull.close(linger=0)

    trio.run(main)


def _zmtp_socket_types(pattern: str) -> tuple[Any, Any]:
    import zmtp

    return (zmtp.REQ, zmtp.REP) if pattern == "reqrep" else (zmtp.DEALER, zmtp.DEALER)


def _zmtp_lat_server(conn: Connection, progress: Any, pattern: str) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            sock = ctx.socket(_zmtp_socket_types(pattern)[1])
            progress[0] = PH_BIND
            endpoint = await sock.bind("tcp://127.0.0.1:*")
            conn.send(("ready", endpoint))
            progress[0] = PH_MAIN
            recv, send = sock.recv, sock.send
            while True:
                msg = await recv()
                await send(msg)
                if not msg:
                    break
            progress[0] = PH_CLOSE
            with trio.move_on_after(1):
                await sock.close()
            conn.send(("closed", _maxrss_kb()))

    trio.run(main)


def _zmtp_lat_client(
    conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            sock = ctx.socket(_zmtp_socket_types(pattern)[0])
            progress[0] = PH_CONNECT
            monitor = sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED)
            await sock.connect(endpoint)
            await _zmtp_wait_handshake(monitor, p["handshake_timeout"])
            msg = _payload(LATENCY_SIZE)
            recv, send = sock.recv, sock.send
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
                    raise _bad(reply, LATENCY_SIZE)
                if not i & 255:
                    progress[1] = i
                    if time.perf_counter() > t_end:
                        break
            progress[0] = PH_CLOSE
            await send(b"")
            await recv()
            conn.send(("result", samples, _maxrss_kb()))
            await sock.close(linger=0)

    trio.run(main)


# -- PUB -> SUB fan-out (both implementations) ----------------------------------------
#
# The publisher is an XPUB with xpub_verbose (it hears every subscriber's subscription,
# so the pilot starts only once all N are subscribed) and xpub_nodrop (it waits at a
# full subscriber instead of dropping, so every subscriber receives every message and
# the count is exact). It binds; one subscriber process connects N SUB sockets, each
# subscribed to b"", and reads the stream from each in turn: message i on every socket,
# then message i + 1. It times from the first message on the first socket to the last
# message on the last socket.


def _fanout_check(msg: Any, size: int) -> None:
    if len(msg) != size:
        raise _bad(msg, size)


def _pyzmq_fanout_publisher(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    nsubs: int,
    p: dict[str, Any],
    ipc_dir: str | None,
) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    try:
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        sock.setsockopt(zmq.XPUB_NODROP, 1)
        progress[0] = PH_BIND
        sock.bind(_bind_endpoint(transport, ipc_dir))
        conn.send(("ready", sock.getsockopt_string(zmq.LAST_ENDPOINT)))
        progress[0] = PH_CONNECT
        sock.rcvtimeo = int(p["handshake_timeout"] * 1000)
        for _ in range(nsubs):
            if sock.recv()[:1] != b"\x01":
                raise BadMessage("expected a subscription")
        conn.send(("subscribed",))
        progress[0] = PH_PILOT
        msg = _payload(size)
        send = sock.send
        k = _pyzmq_send_pilot(send, msg, p["pilot"])
        conn.send(("pilot_sent", k))
        progress[0] = PH_WAIT
        cmd = conn.recv()
        progress[0] = PH_MAIN
        _pyzmq_send_timed(send, msg, cmd[1], progress)
        conn.send(("sent", cmd[1]))
        progress[0] = PH_WAIT
        conn.recv()  # "exit": the subscribers have everything
        progress[0] = PH_CLOSE
        conn.send(("closed", _maxrss_kb()))
    finally:
        sock.close(linger=0)
        ctx.term()


def _pyzmq_fanout_subscribers(
    conn: Connection, progress: Any, endpoint: str, size: int, nsubs: int, p: dict[str, Any]
) -> None:
    import zmq

    ctx = zmq.Context()
    socks = [ctx.socket(zmq.SUB) for _ in range(nsubs)]
    try:
        progress[0] = PH_CONNECT
        for sock in socks:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
            _pyzmq_connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        progress[0] = PH_PILOT
        recvs = [_pyzmq_recv_fn(sock, p) for sock in socks]
        first, rest = recvs[0], recvs[1:]
        # The pilot, up to its empty marker (on every socket).
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
        dt = time.perf_counter() - t0
        n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
        conn.send(("pilot", k, dt, n))
        progress[0] = PH_MAIN
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
                        raise _bad(msg, size)
            left -= c
            progress[1] = n - left
        elapsed = time.perf_counter() - t0
        progress[0] = PH_CLOSE
        conn.send(("result", n, elapsed, _maxrss_kb()))
    finally:
        for sock in socks:
            sock.close(linger=0)
        ctx.term()


def _zmtp_fanout_publisher(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    nsubs: int,
    p: dict[str, Any],
    ipc_dir: str | None,
) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            sock = ctx.socket(zmtp.XPUB, xpub_verbose=True, xpub_nodrop=True)
            progress[0] = PH_BIND
            endpoint = await sock.bind(_bind_endpoint(transport, ipc_dir))
            conn.send(("ready", endpoint))
            progress[0] = PH_CONNECT
            with trio.fail_after(p["handshake_timeout"]):
                for _ in range(nsubs):
                    if (await sock.recv())[:1] != b"\x01":
                        raise BadMessage("expected a subscription")
            conn.send(("subscribed",))
            progress[0] = PH_PILOT
            msg = _payload(size)
            send = sock.send
            k = await _zmtp_send_pilot(send, msg, p["pilot"])
            conn.send(("pilot_sent", k))
            progress[0] = PH_WAIT
            cmd = await _arecv(conn)
            progress[0] = PH_MAIN
            await _zmtp_send_timed(send, msg, cmd[1], progress)
            conn.send(("sent", cmd[1]))
            progress[0] = PH_WAIT
            await _arecv(conn)  # "exit": the subscribers have everything
            progress[0] = PH_CLOSE
            await sock.close(linger=0)
            conn.send(("closed", _maxrss_kb()))

    trio.run(main)


def _zmtp_fanout_subscribers(
    conn: Connection, progress: Any, endpoint: str, size: int, nsubs: int, p: dict[str, Any]
) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            socks = [ctx.socket(zmtp.SUB, subscribe=b"") for _ in range(nsubs)]
            progress[0] = PH_CONNECT
            for sock in socks:
                monitor = sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED)
                await sock.connect(endpoint)
                await _zmtp_wait_handshake(monitor, p["handshake_timeout"])
            conn.send(("connected",))
            progress[0] = PH_PILOT
            recvs = [sock.recv for sock in socks]
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
            dt = time.perf_counter() - t0
            n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
            conn.send(("pilot", k, dt, n))
            progress[0] = PH_MAIN
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
                            raise _bad(msg, size)
                left -= c
                progress[1] = n - left
            elapsed = time.perf_counter() - t0
            progress[0] = PH_CLOSE
            conn.send(("result", n, elapsed, _maxrss_kb()))
            for sock in socks:
                await sock.close(linger=0)

    trio.run(main)


ROLES = {
    ("pyzmq", "receiver"): _pyzmq_thr_receiver,
    ("pyzmq", "sender"): _pyzmq_thr_sender,
    ("pyzmq", "inproc"): _pyzmq_inproc,
    ("pyzmq", "server"): _pyzmq_lat_server,
    ("pyzmq", "client"): _pyzmq_lat_client,
    ("zmtp", "receiver"): _zmtp_thr_receiver,
    ("zmtp", "sender"): _zmtp_thr_sender,
    ("zmtp", "inproc"): _zmtp_inproc,
    ("zmtp", "server"): _zmtp_lat_server,
    ("zmtp", "client"): _zmtp_lat_client,
    ("pyzmq", "publisher"): _pyzmq_fanout_publisher,
    ("pyzmq", "subscribers"): _pyzmq_fanout_subscribers,
    ("zmtp", "publisher"): _zmtp_fanout_publisher,
    ("zmtp", "subscribers"): _zmtp_fanout_subscribers,
}


# =====================================================================================
# The parent: running cases with deadlines
# =====================================================================================


class CaseError(Exception):
    pass


class Child:
    """One child process, its pipe and its shared progress counters."""

    def __init__(self, mp: Any, impl: str, role: str, alarm: int, args: tuple[Any, ...]) -> None:
        self.name = f"{impl} {role}"
        self.conn, child_conn = mp.Pipe()
        # [phase, messages done, messages done by an in-process sender]
        self.progress = mp.Array("q", 3, lock=False)
        self.proc = mp.Process(
            target=_child_main,
            args=(alarm, ROLES[impl, role], child_conn, self.progress, args),
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
    """The children of one case, waited on together against one deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.children: list[Child] = []

    def add(self, child: Child) -> Child:
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


def _fill_thr(res: ThrResult, pilot: tuple[Any, ...], result: tuple[Any, ...]) -> None:
    _, k, dt, _ = pilot
    _, n, elapsed, rss = result
    res.pilot_count = k
    res.pilot_msgs_per_s = (k - 1) / dt if k > 1 and dt > 0 else 0.0
    res.count = n
    res.seconds = elapsed
    res.msgs_per_s = (n - 1) / elapsed if elapsed > 0 else 0.0
    res.mb_per_s = res.msgs_per_s * res.size / 1e6
    res.runs.append(res.msgs_per_s)
    res.maxrss_kb["receiver"] = rss


def run_thr(
    mp: Any,
    impl: str,
    transport: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> ThrResult:
    """One run of a throughput case; with ``curve`` (the keys of :func:`curve_keys`),
    over CURVE, the receiver being the server (tcp and ipc only)."""
    res = ThrResult(transport, size, impl)
    session = Session(time.monotonic() + p["timeout"])
    alarm = int(p["timeout"]) + 30
    ipc_dir = tempfile.mkdtemp(prefix="zmtp-bench-") if transport == "ipc" else None
    grace = 10.0
    try:
        if transport == "inproc":
            child = session.add(Child(mp, impl, "inproc", alarm, (size, p)))
            pilot = session.expect(child, "pilot")
            _fill_thr(res, pilot, session.expect(child, "result"))
        else:
            receiver = session.add(
                Child(mp, impl, "receiver", alarm, (transport, size, p, ipc_dir, curve))
            )
            _, endpoint = session.expect(receiver, "ready")
            sender = session.add(Child(mp, impl, "sender", alarm, (endpoint, size, p, curve)))
            pilot = session.expect(receiver, "pilot")
            session.expect(sender, "pilot_sent")
            sender.conn.send(("go", pilot[3]))
            result = session.expect(receiver, "result")
            _fill_thr(res, pilot, result)
            session.expect(sender, "sent")
            sender.conn.send(("exit",))
            session.deadline = max(session.deadline, time.monotonic() + 10)
            try:
                res.maxrss_kb["sender"] = session.expect(sender, "closed")[1]
            except CaseError as exc:
                res.warnings.append(f"after the timed run: {exc}")
    except CaseError as exc:
        res.error = str(exc)
        grace = 0.5
    except Exception as exc:  # a bug of this script: report it in the row, go on
        res.error = f"benchmark: {_describe(exc)}"
        grace = 0.5
    finally:
        for state in session.close(grace):
            if not res.error:
                res.warnings.append(f"killed, it did not exit: {state}")
        if ipc_dir is not None:
            shutil.rmtree(ipc_dir, ignore_errors=True)
    return res


def curve_keys(impl: str) -> dict[str, bytes]:
    """The CURVE keys of a run: a server and a client key pair (Z85), each made by
    ``impl``'s own ``curve_keypair()``."""
    if impl == "pyzmq":
        import zmq

        keypair = zmq.curve_keypair
    else:
        import zmtp

        keypair = zmtp.curve_keypair
    server_public, server_secret = keypair()
    client_public, client_secret = keypair()
    return {
        "server_public": server_public,
        "server_secret": server_secret,
        "client_public": client_public,
        "client_secret": client_secret,
    }


def _percentile(sorted_ns: list[int], pct: float) -> float:
    """Nearest-rank percentile, in µs."""
    idx = max(0, math.ceil(pct / 100 * len(sorted_ns)) - 1)
    return sorted_ns[idx] / 1000


def run_lat(mp: Any, impl: str, pattern: str, p: dict[str, Any]) -> LatResult:
    res = LatResult(pattern, impl)
    session = Session(time.monotonic() + p["timeout"] + p["lat_max_seconds"])
    alarm = int(p["timeout"] + p["lat_max_seconds"]) + 30
    grace = 10.0
    try:
        server = session.add(Child(mp, impl, "server", alarm, (pattern,)))
        _, endpoint = session.expect(server, "ready")
        client = session.add(Child(mp, impl, "client", alarm, (pattern, endpoint, p)))
        _, samples, rss = session.expect(client, "result")
        res.samples = samples
        res.compute()
        res.runs.append(res.p50_us)
        res.maxrss_kb["client"] = rss
        try:
            res.maxrss_kb["server"] = session.expect(server, "closed")[1]
        except CaseError as exc:
            res.warnings.append(f"after the timed run: {exc}")
    except CaseError as exc:
        res.error = str(exc)
        grace = 0.5
    except Exception as exc:
        res.error = f"benchmark: {_describe(exc)}"
        grace = 0.5
    finally:
        for state in session.close(grace):
            if not res.error:
                res.warnings.append(f"killed, it did not exit: {state}")
    return res


@dataclass
class FanoutResult(ThrResult):
    """A fan-out case: ``msgs_per_s`` is the rate at which every one of ``subscribers``
    received the stream; ``deliveries_per_s`` counts each subscriber's copy."""

    subscribers: int = 1
    deliveries_per_s: float = 0.0


def run_fanout(
    mp: Any, impl: str, transport: str, size: int, nsubs: int, p: dict[str, Any]
) -> FanoutResult:
    res = FanoutResult(transport, size, impl, subscribers=nsubs)
    session = Session(time.monotonic() + p["timeout"])
    alarm = int(p["timeout"]) + 30
    ipc_dir = tempfile.mkdtemp(prefix="zmtp-bench-") if transport == "ipc" else None
    grace = 10.0
    try:
        publisher = session.add(
            Child(mp, impl, "publisher", alarm, (transport, size, nsubs, p, ipc_dir))
        )
        _, endpoint = session.expect(publisher, "ready")
        subscribers = session.add(Child(mp, impl, "subscribers", alarm, (endpoint, size, nsubs, p)))
        session.expect(publisher, "subscribed")
        pilot = session.expect(subscribers, "pilot")
        session.expect(publisher, "pilot_sent")
        publisher.conn.send(("go", pilot[3]))
        result = session.expect(subscribers, "result")
        _fill_thr(res, pilot, result)
        res.deliveries_per_s = res.msgs_per_s * nsubs
        res.maxrss_kb["subscribers"] = res.maxrss_kb.pop("receiver")
        session.expect(publisher, "sent")
        publisher.conn.send(("exit",))
        session.deadline = max(session.deadline, time.monotonic() + 10)
        try:
            res.maxrss_kb["publisher"] = session.expect(publisher, "closed")[1]
        except CaseError as exc:
            res.warnings.append(f"after the timed run: {exc}")
    except CaseError as exc:
        res.error = str(exc)
        grace = 0.5
    except Exception as exc:  # a bug of this script: report it in the row, go on
        res.error = f"benchmark: {_describe(exc)}"
        grace = 0.5
    finally:
        for state in session.close(grace):
            if not res.error:
                res.warnings.append(f"killed, it did not exit: {state}")
        if ipc_dir is not None:
            shutil.rmtree(ipc_dir, ignore_errors=True)
    return res


def _median_thr(runs: list[ThrResult]) -> ThrResult:
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


def _pool_lat(runs: list[LatResult]) -> LatResult:
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


def zmtp_has_reqrep() -> bool:
    """True once zmtp implements REQ and REP: a socket of each can be made and closed
    in a trio run. Why not, if not, goes to stderr."""
    try:
        import trio

        import zmtp

        async def probe() -> None:
            async with zmtp.Context() as ctx:
                for kind in (zmtp.REQ, zmtp.REP):
                    await ctx.socket(kind).close()

        trio.run(probe)
    except Exception as exc:
        _progress(f"latency falls back to DEALER↔DEALER: zmtp REQ/REP: {_describe(exc)}")
        return False
    return True


# =====================================================================================
# Case selection and output
# =====================================================================================


def _parse_size(token: str) -> int | None:
    t = token.lower().replace(" ", "")
    for suffix, mult in (("mib", 1 << 20), ("kib", 1 << 10), ("m", 1 << 20), ("k", 1 << 10)):
        if t.endswith(suffix) and t[: -len(suffix)].isdigit():
            return int(t[: -len(suffix)]) * mult
    if t.endswith("b") and t[:-1].isdigit():
        t = t[:-1]
    return int(t) if t.isdigit() else None


def _parse_subs(token: str) -> int | None:
    """``10subs`` / ``1sub``: a fan-out case's subscriber count."""
    for suffix in ("subs", "sub"):
        if token.endswith(suffix) and token[: -len(suffix)].isdigit():
            return int(token[: -len(suffix)])
    return None


class Filter:
    """``--only`` tokens: transports (tcp, ipc, inproc), sizes (16, 4k, 64KiB, 1m),
    kinds (thr, lat, fanout, curve), implementations (pyzmq, zmtp), fan-out subscriber
    counts (1sub, 10subs; they imply fanout). Tokens of one kind are OR'ed, kinds are
    AND'ed; several ``--only`` options are OR'ed."""

    KINDS = {
        "thr": "thr",
        "throughput": "thr",
        "lat": "lat",
        "latency": "lat",
        "fanout": "fanout",
        "fan-out": "fanout",
        "pubsub": "fanout",
        "curve": "curve",
    }

    def __init__(self, specs: list[str] | None) -> None:
        self.groups: list[dict[str, set[Any]]] = []
        for spec in specs or []:
            group: dict[str, set[Any]] = {}
            for raw in spec.split(","):
                token = raw.strip().lower()
                if not token:
                    continue
                if token in TRANSPORTS:
                    group.setdefault("transport", set()).add(token)
                elif token in self.KINDS:
                    group.setdefault("kind", set()).add(self.KINDS[token])
                elif token in IMPLS:
                    group.setdefault("impl", set()).add(token)
                elif (subs := _parse_subs(token)) is not None:
                    group.setdefault("subs", set()).add(subs)
                    group.setdefault("kind", set()).add("fanout")
                elif (size := _parse_size(token)) is not None:
                    group.setdefault("size", set()).add(size)
                else:
                    raise SystemExit(f"--only: unknown token {raw!r}")
            self.groups.append(group)

    def match(self, **attrs: Any) -> bool:
        if not self.groups:
            return True
        return any(
            all(attrs[key] in values for key, values in group.items() if key in attrs)
            for group in self.groups
        )


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


def _cell_error(text: str, limit: int) -> str:
    text = "error: " + text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ratio(a: float, b: float) -> float | None:
    return a / b if a > 0 and b > 0 else None


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def thr_row(
    transport: str, size: int, results: dict[str, ThrResult], limit: int
) -> tuple[list[str], float | None]:
    row = [transport, size_label(size)]
    for impl in IMPLS:
        r = results.get(impl)
        if r is None:
            row += ["-", "-"]
        elif r.error:
            row += [_cell_error(r.error, limit), ""]
        else:
            row += [fmt_rate(r.msgs_per_s), fmt_mb(r.mb_per_s)]
    a, b = results.get("zmtp"), results.get("pyzmq")
    ratio = None
    if a is not None and b is not None and not a.error and not b.error:
        ratio = _ratio(a.msgs_per_s, b.msgs_per_s)
    row.append(fmt_ratio(ratio))
    return row, ratio


THR_HEADER = [
    "transport",
    "size",
    "pyzmq msgs/s",
    "pyzmq MB/s",
    "zmtp msgs/s",
    "zmtp MB/s",
    "zmtp/pyzmq",
]
LAT_HEADER = [
    "pattern",
    "size",
    "pyzmq p50 µs",
    "pyzmq p99 µs",
    "zmtp p50 µs",
    "zmtp p99 µs",
    "p50 zmtp/pyzmq",
    "p99 zmtp/pyzmq",
]


FANOUT_HEADER = [
    "subscribers",
    "size",
    "pyzmq msgs/s",
    "pyzmq deliveries/s",
    "zmtp msgs/s",
    "zmtp deliveries/s",
    "zmtp/pyzmq",
]


def fanout_row(
    nsubs: int, size: int, results: dict[str, ThrResult], limit: int
) -> tuple[list[str], float | None]:
    row = [str(nsubs), size_label(size)]
    for impl in IMPLS:
        r = results.get(impl)
        if r is None:
            row += ["-", "-"]
        elif r.error:
            row += [_cell_error(r.error, limit), ""]
        else:
            row += [fmt_rate(r.msgs_per_s), fmt_rate(r.msgs_per_s * nsubs)]
    a, b = results.get("zmtp"), results.get("pyzmq")
    ratio = None
    if a is not None and b is not None and not a.error and not b.error:
        ratio = _ratio(a.msgs_per_s, b.msgs_per_s)
    row.append(fmt_ratio(ratio))
    return row, ratio


def _pattern_label(pattern: str) -> str:
    return "REQ/REP" if pattern == "reqrep" else "DEALER↔DEALER"


def lat_row(
    pattern: str, results: dict[str, LatResult], limit: int
) -> tuple[list[str], float | None]:
    row = [f"tcp {_pattern_label(pattern)}", f"{LATENCY_SIZE} B"]
    for impl in IMPLS:
        r = results.get(impl)
        if r is None:
            row += ["-", "-"]
        elif r.error:
            row += [_cell_error(r.error, limit), ""]
        else:
            row += [fmt_us(r.p50_us), fmt_us(r.p99_us)]
    a, b = results.get("zmtp"), results.get("pyzmq")
    r50 = r99 = None
    if a is not None and b is not None and not a.error and not b.error:
        r50, r99 = _ratio(a.p50_us, b.p50_us), _ratio(a.p99_us, b.p99_us)
    row += [fmt_ratio(r50), fmt_ratio(r99)]
    return row, r50


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _source_of(module_file: str | None) -> str:
    """Where zmtp was imported from, with the git commit of that checkout if any."""
    import subprocess

    where = os.path.dirname(os.path.dirname(os.path.abspath(module_file or ".")))
    try:
        out = subprocess.run(
            ["git", "-C", where, "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        commit = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{where} @ {commit}" if commit else where


def have_pyzmq() -> bool:
    """Whether pyzmq can be imported (without it, zmtp is measured alone)."""
    try:
        import zmq  # noqa: F401
    except ImportError:
        return False
    return True


def _versions() -> dict[str, str]:
    import trio

    import zmtp

    if have_pyzmq():
        import zmq

        pyzmq, libzmq = zmq.__version__, zmq.zmq_version()
    else:
        pyzmq = libzmq = "not installed"
    return {
        "python": platform.python_version(),
        "pyzmq": pyzmq,
        "libzmq": libzmq,
        "trio": trio.__version__,
        "zmtp": zmtp.__version__,
        "zmtp_source": _source_of(zmtp.__file__),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def _loadavg() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=prog,
        description="zmtp and pyzmq side by side: PUSH/PULL throughput, PUB/SUB "
        "fan-out and round-trip latency, with the zmtp/pyzmq ratios and PERF.md's "
        "targets.",
    )
    ap.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    ap.add_argument(
        "--only",
        action="append",
        metavar="TOKENS",
        help="comma-separated case filter, e.g. 'tcp,16' or 'inproc,64k' or 'lat' or "
        "'fanout,10subs' or 'curve,1m' (transports, sizes, thr/lat/fanout/curve, "
        "pyzmq/zmtp, 1sub/10subs); may be repeated",
    )
    ap.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    ap.add_argument(
        "--repeat",
        type=int,
        help="runs of each case, alternating pyzmq and zmtp; throughput reports the "
        "median run, latency pools the samples (default 3, CURVE cases "
        f"{CURVE_REPEAT}; quick 1)",
    )
    ap.add_argument(
        "--pyzmq-zerocopy",
        action="store_true",
        help="pyzmq receives zmq.Frame objects (recv(copy=False)) instead of bytes",
    )
    ap.add_argument(
        "--seconds", type=float, help="length of a timed throughput run (default 1; quick 0.3)"
    )
    ap.add_argument(
        "--pilot", type=float, help="length of the calibrating pilot (default 0.25; quick 0.1)"
    )
    ap.add_argument("--min-count", type=int, default=20, help="fewest messages in a timed run")
    ap.add_argument("--max-count", type=int, default=5_000_000, help="most messages in a timed run")
    ap.add_argument(
        "--timeout", type=float, help="seconds before a run is killed (default 20; quick 10)"
    )
    ap.add_argument(
        "--round-trips", type=int, help="timed latency round trips (default 5000; quick 1000)"
    )
    ap.add_argument("--warmup", type=int, help="warm-up round trips (default 1000; quick 200)")
    ap.add_argument(
        "--latency-pattern",
        choices=["auto", "reqrep", "dealer"],
        default="auto",
        help="REQ/REP or DEALER↔DEALER; auto: REQ/REP once zmtp implements it",
    )
    ns = ap.parse_args(argv)
    quick = ns.quick
    if ns.seconds is None:
        ns.seconds = 0.3 if quick else 1.0
    if ns.pilot is None:
        ns.pilot = 0.1 if quick else 0.25
    if ns.timeout is None:
        ns.timeout = 10.0 if quick else 20.0
    if ns.round_trips is None:
        ns.round_trips = 1000 if quick else 5000
    if ns.warmup is None:
        ns.warmup = 200 if quick else 1000
    ns.curve_repeat = ns.repeat
    if ns.repeat is None:
        ns.repeat = 1 if quick else 3
        ns.curve_repeat = 1 if quick else CURVE_REPEAT
    if ns.repeat < 1:
        ap.error("--repeat must be at least 1")
    return ns


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    started = time.monotonic()
    available = IMPLS if have_pyzmq() else ["zmtp"]
    mp = multiprocessing.get_context("spawn")
    only = Filter(args.only)
    p = {
        "seconds": args.seconds,
        "pilot": args.pilot,
        "min_count": args.min_count,
        "max_count": args.max_count,
        "timeout": args.timeout,
        "handshake_timeout": 10.0,
        "round_trips": args.round_trips,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "curve_repeat": args.curve_repeat,
        "pyzmq_zerocopy": args.pyzmq_zerocopy,
        "lat_max_seconds": 20.0,
    }
    pattern = args.latency_pattern
    if pattern == "auto":
        pattern = "reqrep" if zmtp_has_reqrep() else "dealer"

    versions = _versions()
    load_start = _loadavg()
    print("# zmtp vs pyzmq benchmark\n")
    if "pyzmq" not in available:
        print(
            "pyzmq is not installed: zmtp is measured alone, with no ratios "
            "(pip install pyzmq for the side-by-side comparison).\n",
            flush=True,
        )
        _progress("pyzmq is not installed: measuring zmtp alone")
    print(
        f"{versions['machine']} (load average {load_start} at start); Python "
        f"{versions['python']}, pyzmq {versions['pyzmq']} (libzmq {versions['libzmq']}), "
        f"trio {versions['trio']}, zmtp {versions['zmtp']} ({versions['zmtp_source']})."
    )
    runs_text = "1 run" if args.repeat == 1 else f"median of {args.repeat} runs"
    pyzmq_recv = "recv(copy=False) → zmq.Frame" if args.pyzmq_zerocopy else "recv() → bytes"
    print(
        f"Throughput: PUSH→PULL, receiver-timed first→last message, ~{args.seconds:g} s per "
        f"run after a {args.pilot:g} s pilot, {runs_text}; tcp/ipc in two processes, inproc "
        f"in one; pyzmq blocking API, {pyzmq_recv}; default HWM (1000) on both. "
        f"MB = 10^6 bytes. Latency: {_pattern_label(pattern)} round trips of "
        f"{LATENCY_SIZE} B over tcp, two processes, {args.round_trips} timed after "
        f"{args.warmup} warm-up per run, {args.repeat} run(s) pooled.\n",
        flush=True,
    )

    # (transport, size) -> the implementations to run; ("lat", 64) for latency.
    cases: dict[tuple[str, int], list[str]] = {}
    for t in TRANSPORTS:
        for s in SIZES:
            chosen = [i for i in available if only.match(kind="thr", transport=t, size=s, impl=i)]
            if chosen:
                cases[t, s] = chosen
    lat_impls = [
        i for i in available if only.match(kind="lat", transport="tcp", size=LATENCY_SIZE, impl=i)
    ]
    run_latency = bool(lat_impls)
    # (subscribers, size) -> the implementations to run (PUB -> SUB fan-out over tcp).
    fanout_cases: dict[tuple[int, int], list[str]] = {}
    for nsubs in FANOUT_SUBS:
        for s in FANOUT_SIZES:
            chosen = [
                i
                for i in available
                if only.match(kind="fanout", transport="tcp", size=s, impl=i, subs=nsubs)
            ]
            if chosen:
                fanout_cases[nsubs, s] = chosen
    # size -> the implementations to run (PUSH -> PULL over tcp with CURVE).
    curve_cases: dict[int, list[str]] = {}
    for s in CURVE_SIZES:
        chosen = [i for i in available if only.match(kind="curve", transport="tcp", size=s, impl=i)]
        if chosen:
            curve_cases[s] = chosen
    runs_per_repeat = sum(map(len, cases.values())) + len(lat_impls)
    total = (runs_per_repeat + sum(map(len, fanout_cases.values()))) * args.repeat
    total += sum(map(len, curve_cases.values())) * args.curve_repeat
    step = 0
    limit = 60

    thr_results: list[ThrResult] = []
    ratios: dict[tuple[str, str, int], float | None] = {}
    failed: dict[tuple[str, str, int], bool] = {}
    if cases:
        print("## Throughput (PUSH → PULL)\n")
        print("| " + " | ".join(THR_HEADER) + " |")
        print("|" + "---|" * len(THR_HEADER), flush=True)
    for (transport, size), impls in cases.items():
        runs: dict[str, list[ThrResult]] = {impl: [] for impl in impls}
        # Repetitions alternate the implementations, so drift hits both alike; an
        # implementation that failed once is not run again for this case.
        for rep in range(args.repeat):
            for impl in impls:
                if runs[impl] and runs[impl][-1].error:
                    continue
                step += 1
                t0 = time.monotonic()
                r = run_thr(mp, impl, transport, size, p)
                runs[impl].append(r)
                took = time.monotonic() - t0
                what = (
                    f"error: {r.error}"
                    if r.error
                    else f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s "
                    f"({r.count} msgs in {r.seconds:.2f} s)"
                )
                _progress(
                    f"[{step}/{total}] {transport} {size_label(size)} {impl} "
                    f"#{rep + 1}: {what} [{took:.1f} s]"
                )
                for w in r.warnings:
                    _progress(f"    warning: {w}")
        by_impl = {impl: _median_thr(rs) for impl, rs in runs.items()}
        thr_results.extend(by_impl.values())
        row, ratio = thr_row(transport, size, by_impl, limit)
        ratios["thr", transport, size] = ratio
        failed["thr", transport, size] = any(r.error for r in by_impl.values())
        print("| " + " | ".join(row) + " |", flush=True)
    if cases:
        print()
        if any(t == "inproc" and s >= 65536 for t, s in cases):
            print(
                "inproc ≥ 64 KiB: zmtp hands the sender's bytes object to the receiver "
                "(no copy at all); pyzmq copies each body out of libzmq into a new bytes "
                "on recv(). Those rows compare that, not the engines.\n"
            )

    curve_results: list[ThrResult] = []
    if curve_cases:
        # The keys of this run, made once by each implementation (a failure becomes
        # that implementation's error rows).
        keys: dict[str, dict[str, bytes] | str] = {}
        for impl in available:
            if any(impl in chosen for chosen in curve_cases.values()):
                try:
                    keys[impl] = curve_keys(impl)
                except Exception as exc:
                    keys[impl] = f"benchmark: curve_keypair: {_describe(exc)}"
        print("## Throughput with CURVE (PUSH → PULL, tcp, two processes)\n")
        print("| " + " | ".join(THR_HEADER) + " |")
        print("|" + "---|" * len(THR_HEADER), flush=True)
    for size, impls in curve_cases.items():
        cruns: dict[str, list[ThrResult]] = {impl: [] for impl in impls}
        for rep in range(args.curve_repeat):
            for impl in impls:
                if cruns[impl] and cruns[impl][-1].error:
                    continue
                step += 1
                t0 = time.monotonic()
                k = keys[impl]
                if isinstance(k, str):
                    r = ThrResult("tcp", size, impl, error=k)
                else:
                    r = run_thr(mp, impl, "tcp", size, p, curve=k)
                cruns[impl].append(r)
                took = time.monotonic() - t0
                what = (
                    f"error: {r.error}"
                    if r.error
                    else f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s "
                    f"({r.count} msgs in {r.seconds:.2f} s)"
                )
                _progress(
                    f"[{step}/{total}] CURVE tcp {size_label(size)} {impl} "
                    f"#{rep + 1}: {what} [{took:.1f} s]"
                )
                for w in r.warnings:
                    _progress(f"    warning: {w}")
        by_impl = {impl: _median_thr(rs) for impl, rs in cruns.items()}
        curve_results.extend(by_impl.values())
        row, _ = thr_row("tcp", size, by_impl, limit)
        print("| " + " | ".join(row) + " |", flush=True)
    if curve_cases:
        n = args.curve_repeat
        print(
            "\nThe receiver is the CURVE server, the sender the client; no ZAP handler, "
            "so the server admits the client's key. Every message is encrypted and "
            "authenticated (crypto_box) by the sender and checked and decrypted by the "
            "receiver: zmtp through PyNaCl, pyzmq inside libzmq, both on libsodium. "
            f"{'One run' if n == 1 else f'Median of {n} runs'} per case.\n"
        )

    lat_results: list[LatResult] = []
    if run_latency:
        lat_runs: dict[str, list[LatResult]] = {impl: [] for impl in lat_impls}
        for rep in range(args.repeat):
            for impl in lat_impls:
                if lat_runs[impl] and lat_runs[impl][-1].error:
                    continue
                step += 1
                t0 = time.monotonic()
                lr = run_lat(mp, impl, pattern, p)
                lat_runs[impl].append(lr)
                took = time.monotonic() - t0
                what = (
                    f"error: {lr.error}"
                    if lr.error
                    else f"p50 {fmt_us(lr.p50_us)} µs, p99 {fmt_us(lr.p99_us)} µs "
                    f"({lr.round_trips} round trips)"
                )
                _progress(
                    f"[{step}/{total}] latency {_pattern_label(pattern)} {impl} "
                    f"#{rep + 1}: {what} [{took:.1f} s]"
                )
                for w in lr.warnings:
                    _progress(f"    warning: {w}")
        by_impl_lat = {impl: _pool_lat(rs) for impl, rs in lat_runs.items()}
        lat_results.extend(by_impl_lat.values())
        print("## Round-trip latency (tcp, two processes; lower is better)\n")
        row, r50 = lat_row(pattern, by_impl_lat, limit)
        ratios["lat", "tcp", LATENCY_SIZE] = r50
        failed["lat", "tcp", LATENCY_SIZE] = any(r.error for r in by_impl_lat.values())
        print(md_table(LAT_HEADER, [row]) + "\n", flush=True)

    fanout_results: list[FanoutResult] = []
    if fanout_cases:
        print("## Fan-out throughput (XPUB → N SUBs, tcp, two processes)\n")
        print("| " + " | ".join(FANOUT_HEADER) + " |")
        print("|" + "---|" * len(FANOUT_HEADER), flush=True)
    for (nsubs, size), impls in fanout_cases.items():
        fruns: dict[str, list[ThrResult]] = {impl: [] for impl in impls}
        for rep in range(args.repeat):
            for impl in impls:
                if fruns[impl] and fruns[impl][-1].error:
                    continue
                step += 1
                t0 = time.monotonic()
                fr = run_fanout(mp, impl, "tcp", size, nsubs, p)
                fruns[impl].append(fr)
                took = time.monotonic() - t0
                what = (
                    f"error: {fr.error}"
                    if fr.error
                    else f"{fmt_rate(fr.msgs_per_s)} msgs/s to each, "
                    f"{fmt_rate(fr.deliveries_per_s)} deliveries/s "
                    f"({fr.count} msgs in {fr.seconds:.2f} s)"
                )
                _progress(
                    f"[{step}/{total}] fan-out {nsubs} sub(s) {size_label(size)} {impl} "
                    f"#{rep + 1}: {what} [{took:.1f} s]"
                )
                for w in fr.warnings:
                    _progress(f"    warning: {w}")
        by_impl_f = {impl: _median_thr(rs) for impl, rs in fruns.items()}
        fanout_results.extend(r for r in by_impl_f.values() if isinstance(r, FanoutResult))
        row, _ = fanout_row(nsubs, size, by_impl_f, limit)
        print("| " + " | ".join(row) + " |", flush=True)
    if fanout_cases:
        print(
            "\nThe publisher waits at a full subscriber (xpub_nodrop) so that every "
            "subscriber gets every message; msgs/s is the rate each of them received "
            "the stream at, deliveries/s counts every copy. The N subscribers share one "
            "process and are read in turn.\n"
        )

    summary = []
    rows = []
    for label, kind, transport, size, cmp, goal in TARGETS:
        if kind == "lat" and pattern != "reqrep":
            label += f" ({_pattern_label(pattern)} stand-in)"
        if (kind, transport, size) not in ratios:
            status = "not run"
            ratio = None
        else:
            ratio = ratios[kind, transport, size]
            if ratio is None:
                status = "n/a (error)" if failed[kind, transport, size] else "n/a (one side only)"
            elif (ratio >= goal) if cmp == ">=" else (ratio <= goal):
                status = "met"
            else:
                status = "not met"
        summary.append(
            {"target": label, "goal": f"{cmp} {goal}x", "ratio": ratio, "status": status}
        )
        rows.append([label, f"{'≥' if cmp == '>=' else '≤'} {goal:g}x", fmt_ratio(ratio), status])
    print("## PERF.md targets (zmtp/pyzmq, same run)\n")
    print(md_table(["target", "goal", "ratio", "status"], rows) + "\n")

    notes = []
    curve_ids = {id(r) for r in curve_results}
    everything: list[ThrResult | LatResult] = [
        *thr_results,
        *curve_results,
        *lat_results,
        *fanout_results,
    ]
    for res in everything:
        if id(res) in curve_ids:
            assert isinstance(res, ThrResult)
            name = f"CURVE tcp {size_label(res.size)} {res.impl}"
        elif isinstance(res, FanoutResult):
            name = f"fan-out {res.subscribers} sub(s) {size_label(res.size)} {res.impl}"
        elif isinstance(res, ThrResult):
            name = f"{res.transport} {size_label(res.size)} {res.impl}"
        else:
            name = f"latency {res.impl}"
        if res.error and len(_cell_error(res.error, 10_000)) > limit:
            notes.append(f"- {name}: error: {res.error}")
        for w in res.warnings:
            notes.append(f"- {name}: warning: {w}")
    if notes:
        print("Notes:\n")
        print("\n".join(notes) + "\n")

    elapsed = time.monotonic() - started
    print(f"Total time: {elapsed:.1f} s (load average {_loadavg()} at the end).", flush=True)

    if args.json:
        doc = {
            "versions": versions,
            "settings": {**p, "latency_pattern": pattern, "quick": args.quick},
            "throughput": [asdict(r) for r in thr_results],
            "curve": [asdict(r) for r in curve_results],
            "fanout": [asdict(r) for r in fanout_results],
            "latency": [r.to_json() for r in lat_results],
            "targets": summary,
            "elapsed_s": elapsed,
            "load_average": {"start": load_start, "end": _loadavg()},
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
