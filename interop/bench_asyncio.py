"""zmtp.asyncio next to pyzmq's ``zmq.asyncio`` and pyzmq's blocking API, in the same
run: ``python interop/bench_asyncio.py`` (``nox -s bench`` runs it after bench.py).

The method is bench.py's (``PERF.md``), whose process machinery, pyzmq programs and
report this script share (``zmtp._bench_common``):

* **PUSH → PULL throughput** over tcp, receiver and sender in two processes (spawned);
  the receiver binds and times from the first message to the last, after a pilot that
  sizes the timed run to about ``--seconds``; msgs/s counts the ``n - 1`` intervals,
  MB = 10^6 bytes.
* **REQ/REP round trip** of 64-byte messages over tcp, client and server in two
  processes: p50 and p99 after a warm-up.

Implementations, each a program a user would write:

* ``pyzmq``: libzmq's blocking API (the pyzmq programs of bench.py);
* ``zmq.asyncio``: pyzmq's asyncio sockets, on the default event loop;
* ``zmtp-asyncio``: ``zmtp.asyncio`` on the default event loop;
* ``zmtp-uvloop``: ``zmtp.asyncio`` on uvloop (when uvloop is installed).

Each case runs ``--repeat`` times (3; 1 with ``--quick``), alternating the
implementations so that drift on a shared machine hits all alike: throughput reports
the median run, latency pools the samples. Output: Markdown tables with the ratios
that PERF.md's targets name (``--json PATH`` also writes every number).
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

from zmtp._bench_common import (
    LATENCY_SIZE,
    PH_BIND,
    PH_CLOSE,
    PH_CONNECT,
    PH_MAIN,
    PYZMQ,
    Program,
    SideBySide,
    Target,
    aecho,
    arecv_case,
    around_trips,
    asend_case,
    blocking_roles,
    maxrss_kb,
    parse_side_by_side,
    progress_line,
    report_result,
    run_side_by_side,
    socket_names,
)

SPEC = SideBySide(
    title="zmtp.asyncio vs zmq.asyncio and pyzmq",
    description="zmtp.asyncio, zmq.asyncio and pyzmq side by side: PUSH/PULL "
    "throughput and REQ/REP round trips over tcp, with PERF.md's asyncio targets.",
    impls=["pyzmq", "zmq.asyncio", "zmtp-asyncio", "zmtp-uvloop"],
    ratios=[
        ("zmtp-asyncio", "zmq.asyncio"),
        ("zmtp-asyncio", "pyzmq"),
        ("zmtp-uvloop", "zmq.asyncio"),
        ("zmtp-uvloop", "pyzmq"),
    ],
    lat_base="zmq.asyncio",
    # PERF.md's targets.
    targets=[
        Target("tcp 16 B throughput", "thr", 16, "zmtp-asyncio", "zmq.asyncio", ">=", 5.0),
        Target(
            "tcp REQ/REP 64 B p50", "lat", LATENCY_SIZE, "zmtp-asyncio", "zmq.asyncio", "<=", 1.0
        ),
        Target("tcp 64 KiB throughput", "thr", 65536, "zmtp-asyncio", "pyzmq", ">=", 1.0),
        Target("tcp 1 MiB throughput", "thr", 1048576, "zmtp-asyncio", "pyzmq", ">=", 1.0),
    ],
    targets_title="PERF.md asyncio targets (same run)",
)


# =====================================================================================
# Child processes: the same programs on each asyncio library
# =====================================================================================


def _run_loop(main: Any, uvloop: bool) -> None:
    if uvloop:
        import uvloop as _uvloop

        loop: asyncio.AbstractEventLoop = _uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _arecv(conn: Connection) -> Any:
    """``conn.recv()`` without blocking the loop (the sockets keep flushing)."""
    loop = asyncio.get_running_loop()
    while not conn.poll():
        fut: asyncio.Future[None] = loop.create_future()
        loop.add_reader(conn.fileno(), _set_done, fut)
        try:
            await fut
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


class _Lib:
    """An asyncio library (its module, as ``zmq``, and a context), as the programs
    below use it."""

    def __init__(self, zmq: Any, ctx: Any) -> None:
        self.zmq = zmq
        self.ctx = ctx

    def socket(self, kind: str) -> Any:
        return self.ctx.socket(getattr(self.zmq, kind))


class _Zmq(_Lib):
    """pyzmq's zmq.asyncio, shaped like zmtp.asyncio for the programs below."""

    def __init__(self) -> None:
        import zmq
        import zmq.asyncio

        super().__init__(zmq, zmq.asyncio.Context())

    async def bind(self, sock: Any) -> str:
        sock.bind("tcp://127.0.0.1:*")
        return str(sock.getsockopt_string(self.zmq.LAST_ENDPOINT))

    async def connect(self, sock: Any, endpoint: str, timeout: float) -> None:
        from zmq.utils.monitor import parse_monitor_message

        mon = sock.get_monitor_socket(self.zmq.EVENT_HANDSHAKE_SUCCEEDED)
        sock.connect(endpoint)
        while True:
            frames = await asyncio.wait_for(mon.recv_multipart(), timeout)
            if parse_monitor_message(frames)["event"] == self.zmq.EVENT_HANDSHAKE_SUCCEEDED:
                break
        sock.disable_monitor()
        mon.close(linger=0)

    async def close(self, sock: Any) -> None:
        sock.close(linger=0)

    def term(self) -> None:
        self.ctx.destroy(linger=0)


class _Zmtp(_Lib):
    """zmtp.asyncio for the programs below."""

    def __init__(self) -> None:
        import zmtp
        import zmtp.asyncio

        super().__init__(zmtp, zmtp.asyncio.Context())

    async def bind(self, sock: Any) -> str:
        return str(await sock.bind("tcp://127.0.0.1:*"))

    async def connect(self, sock: Any, endpoint: str, timeout: float) -> None:
        zmtp = self.zmq
        async with sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            await sock.connect(endpoint)
            await asyncio.wait_for(monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED), timeout)

    async def close(self, sock: Any) -> None:
        await sock.close(linger=0)

    def term(self) -> None:
        pass


def _run(impl: str, kind: str, body: Callable[[Any, Any], Awaitable[None]]) -> None:
    """``body(lib, sock)`` on ``impl``'s event loop, with a socket of ``kind``, closed
    (and the context ended) after it."""

    async def main() -> None:
        lib = _Zmq() if impl == "zmq.asyncio" else _Zmtp()
        sock = lib.socket(kind)
        try:
            await body(lib, sock)
        finally:
            await lib.close(sock)
            lib.term()

    _run_loop(main, impl == "zmtp-uvloop")


def _thr_receiver(
    impl: str,
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None = None,
    curve: Any = None,
) -> None:
    async def body(lib: Any, sock: Any) -> None:
        progress[0] = PH_BIND
        conn.send(("ready", await lib.bind(sock)))
        n, elapsed = await arecv_case(conn, progress, sock.recv, size, p)
        report_result(conn, n, elapsed)

    _run(impl, "PULL", body)


def _thr_sender(
    impl: str,
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: Any = None,
) -> None:
    async def body(lib: Any, sock: Any) -> None:
        progress[0] = PH_CONNECT
        await lib.connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        await asend_case(conn, progress, sock.send, size, p, _arecv)
        conn.send(("closed", maxrss_kb()))

    _run(impl, "PUSH", body)


def _lat_server(impl: str, conn: Connection, progress: Any, pattern: str) -> None:
    async def body(lib: Any, sock: Any) -> None:
        progress[0] = PH_BIND
        conn.send(("ready", await lib.bind(sock)))
        progress[0] = PH_MAIN
        await aecho(sock.recv, sock.send)
        progress[0] = PH_CLOSE
        conn.send(("closed", maxrss_kb()))

    _run(impl, socket_names(pattern)[1], body)


def _lat_client(
    impl: str, conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    async def body(lib: Any, sock: Any) -> None:
        progress[0] = PH_CONNECT
        await lib.connect(sock, endpoint, p["handshake_timeout"])
        samples = await around_trips(sock.send, sock.recv, p, progress)
        conn.send(("result", samples, maxrss_kb()))

    _run(impl, socket_names(pattern)[0], body)


_PROGRAMS: dict[str, Callable[..., None]] = {
    "receiver": _thr_receiver,
    "sender": _thr_sender,
    "server": _lat_server,
    "client": _lat_client,
}
#: pyzmq's programs, and ours for each asyncio implementation.
ROLES: dict[tuple[str, str], Program] = {
    **blocking_roles(PYZMQ),
    **{
        (impl, role): functools.partial(program, impl)
        for impl in ("zmq.asyncio", "zmtp-asyncio", "zmtp-uvloop")
        for role, program in _PROGRAMS.items()
    },
}


# =====================================================================================
# The parent
# =====================================================================================


def _have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_side_by_side(SPEC, argv)
    if "zmtp-uvloop" in args.impls and not _have_uvloop():
        args.impls.remove("zmtp-uvloop")
        progress_line("zmtp-uvloop skipped: uvloop is not installed")
    return run_side_by_side(SPEC, args, ROLES)


if __name__ == "__main__":
    sys.exit(main())
