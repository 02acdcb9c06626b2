"""zmtp.asyncio next to pyzmq's ``zmq.asyncio`` and pyzmq's blocking API, in the same
run: ``python interop/bench_asyncio.py`` (``nox -s bench`` runs it after bench.py).

The method is bench.py's (``PERF.md``), whose process machinery this script reuses:

* **PUSH → PULL throughput** over tcp, receiver and sender in two processes (spawned);
  the receiver binds and times from the first message to the last, after a pilot that
  sizes the timed run to about ``--seconds``; msgs/s counts the ``n - 1`` intervals,
  MB = 10^6 bytes.
* **REQ/REP round trip** of 64-byte messages over tcp, client and server in two
  processes: p50 and p99 after a warm-up.

Implementations, each a program a user would write:

* ``pyzmq``: libzmq's blocking API (bench.py's own programs);
* ``zmq.asyncio``: pyzmq's asyncio sockets, on the default event loop;
* ``zmtp-asyncio``: ``zmtp.asyncio`` on the default event loop;
* ``zmtp-uvloop``: ``zmtp.asyncio`` on uvloop (when uvloop is installed).

Each case runs ``--repeat`` times (3; 1 with ``--quick``), alternating the
implementations so that drift on a shared machine hits all alike: throughput reports
the median run, latency pools the samples. Output: Markdown tables with the ratios
that PERF.md's targets name (``--json PATH`` also writes every number).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench
from bench import (
    CHUNK,
    LATENCY_SIZE,
    PH_BIND,
    PH_CLOSE,
    PH_CONNECT,
    PH_MAIN,
    PH_PILOT,
    PH_WAIT,
    _bad,
    _calibrate,
    _maxrss_kb,
    _payload,
    fmt_mb,
    fmt_rate,
    fmt_ratio,
    fmt_us,
    md_table,
    size_label,
)

SIZES = [16, 256, 4096, 65536, 1048576]
IMPLS = ["pyzmq", "zmq.asyncio", "zmtp-asyncio", "zmtp-uvloop"]

#: (label, kind, size, numerator, denominator, comparison, goal): PERF.md's targets.
TARGETS = [
    ("tcp 16 B throughput", "thr", 16, "zmtp-asyncio", "zmq.asyncio", ">=", 5.0),
    ("tcp REQ/REP 64 B p50", "lat", LATENCY_SIZE, "zmtp-asyncio", "zmq.asyncio", "<=", 1.0),
    ("tcp 64 KiB throughput", "thr", 65536, "zmtp-asyncio", "pyzmq", ">=", 1.0),
    ("tcp 1 MiB throughput", "thr", 1048576, "zmtp-asyncio", "pyzmq", ">=", 1.0),
]


# =====================================================================================
# Child processes: the same programs on each asyncio library
# =====================================================================================


def _run_loop(main: Any, uvloop: bool) -> None:
    if uvloop:
        import uvloop as _uvloop

        loop = _uvloop.new_event_loop()
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


async def _recv_pilot(recv: Any, size: int) -> tuple[int, float]:
    msg = await recv()
    t0 = time.perf_counter()
    k = 0
    while len(msg):
        if len(msg) != size:
            raise _bad(msg, size)
        k += 1
        msg = await recv()
    return k, time.perf_counter() - t0


async def _recv_timed(recv: Any, size: int, n: int, progress: Any) -> float:
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


async def _send_pilot(send: Any, msg: bytes, seconds: float) -> int:
    t_end = time.perf_counter() + seconds
    k = 0
    while True:
        await send(msg)
        k += 1
        if not k & 63 and time.perf_counter() >= t_end:
            break
    await send(b"")
    return k


async def _send_timed(send: Any, msg: bytes, n: int, progress: Any) -> None:
    left = n
    while left:
        c = CHUNK if left > CHUNK else left
        for _ in range(c):
            await send(msg)
        left -= c
        progress[1] = n - left


class _Zmq:
    """pyzmq's zmq.asyncio, shaped like zmtp.asyncio for the programs below."""

    def __init__(self) -> None:
        import zmq
        import zmq.asyncio

        self.zmq = zmq
        self.ctx = zmq.asyncio.Context()

    def socket(self, kind: str) -> Any:
        return self.ctx.socket(getattr(self.zmq, kind))

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


class _Zmtp:
    """zmtp.asyncio for the programs below."""

    def __init__(self) -> None:
        import zmtp
        import zmtp.asyncio

        self.zmtp = zmtp
        self.ctx = zmtp.asyncio.Context()

    def socket(self, kind: str) -> Any:
        return self.ctx.socket(getattr(self.zmtp, kind))

    async def bind(self, sock: Any) -> str:
        return str(await sock.bind("tcp://127.0.0.1:*"))

    async def connect(self, sock: Any, endpoint: str, timeout: float) -> None:
        zmtp = self.zmtp
        async with sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            await sock.connect(endpoint)
            await asyncio.wait_for(monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED), timeout)

    async def close(self, sock: Any) -> None:
        await sock.close(linger=0)

    def term(self) -> None:
        pass


def _lib(impl: str) -> Any:
    return _Zmq() if impl == "zmq.asyncio" else _Zmtp()


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
    async def main() -> None:
        lib = _lib(impl)
        sock = lib.socket("PULL")
        try:
            progress[0] = PH_BIND
            conn.send(("ready", await lib.bind(sock)))
            progress[0] = PH_PILOT
            recv = sock.recv
            k, dt = await _recv_pilot(recv, size)
            n = _calibrate((k - 1) / dt if k > 1 and dt > 0 else 0.0, p)
            conn.send(("pilot", k, dt, n))
            progress[0] = PH_MAIN
            elapsed = await _recv_timed(recv, size, n, progress)
            progress[0] = PH_CLOSE
            conn.send(("result", n, elapsed, _maxrss_kb()))
        finally:
            await lib.close(sock)
            lib.term()

    _run_loop(main, impl == "zmtp-uvloop")


def _thr_sender(
    impl: str,
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: Any = None,
) -> None:
    async def main() -> None:
        lib = _lib(impl)
        sock = lib.socket("PUSH")
        try:
            progress[0] = PH_CONNECT
            await lib.connect(sock, endpoint, p["handshake_timeout"])
            conn.send(("connected",))
            progress[0] = PH_PILOT
            msg = _payload(size)
            send = sock.send
            k = await _send_pilot(send, msg, p["pilot"])
            conn.send(("pilot_sent", k))
            progress[0] = PH_WAIT
            cmd = await _arecv(conn)
            progress[0] = PH_MAIN
            await _send_timed(send, msg, cmd[1], progress)
            conn.send(("sent", cmd[1]))
            progress[0] = PH_WAIT
            await _arecv(conn)  # "exit": the receiver has everything
            progress[0] = PH_CLOSE
            conn.send(("closed", _maxrss_kb()))
        finally:
            await lib.close(sock)
            lib.term()

    _run_loop(main, impl == "zmtp-uvloop")


def _lat_server(impl: str, conn: Connection, progress: Any, pattern: str) -> None:
    async def main() -> None:
        lib = _lib(impl)
        sock = lib.socket("REP" if pattern == "reqrep" else "DEALER")
        try:
            progress[0] = PH_BIND
            conn.send(("ready", await lib.bind(sock)))
            progress[0] = PH_MAIN
            recv, send = sock.recv, sock.send
            while True:
                msg = await recv()
                await send(msg)
                if not msg:
                    break
            progress[0] = PH_CLOSE
            conn.send(("closed", _maxrss_kb()))
        finally:
            await lib.close(sock)
            lib.term()

    _run_loop(main, impl == "zmtp-uvloop")


def _lat_client(
    impl: str, conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    async def main() -> None:
        lib = _lib(impl)
        sock = lib.socket("REQ" if pattern == "reqrep" else "DEALER")
        try:
            progress[0] = PH_CONNECT
            await lib.connect(sock, endpoint, p["handshake_timeout"])
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
        finally:
            await lib.close(sock)
            lib.term()

    _run_loop(main, impl == "zmtp-uvloop")


# One module-level function per (implementation, role): what bench.py's Child starts.
def _zmq_asyncio_receiver(*args: Any) -> None:
    _thr_receiver("zmq.asyncio", *args)


def _zmq_asyncio_sender(*args: Any) -> None:
    _thr_sender("zmq.asyncio", *args)


def _zmq_asyncio_server(*args: Any) -> None:
    _lat_server("zmq.asyncio", *args)


def _zmq_asyncio_client(*args: Any) -> None:
    _lat_client("zmq.asyncio", *args)


def _zmtp_asyncio_receiver(*args: Any) -> None:
    _thr_receiver("zmtp-asyncio", *args)


def _zmtp_asyncio_sender(*args: Any) -> None:
    _thr_sender("zmtp-asyncio", *args)


def _zmtp_asyncio_server(*args: Any) -> None:
    _lat_server("zmtp-asyncio", *args)


def _zmtp_asyncio_client(*args: Any) -> None:
    _lat_client("zmtp-asyncio", *args)


def _zmtp_uvloop_receiver(*args: Any) -> None:
    _thr_receiver("zmtp-uvloop", *args)


def _zmtp_uvloop_sender(*args: Any) -> None:
    _thr_sender("zmtp-uvloop", *args)


def _zmtp_uvloop_server(*args: Any) -> None:
    _lat_server("zmtp-uvloop", *args)


def _zmtp_uvloop_client(*args: Any) -> None:
    _lat_client("zmtp-uvloop", *args)


ROLES = {
    ("zmq.asyncio", "receiver"): _zmq_asyncio_receiver,
    ("zmq.asyncio", "sender"): _zmq_asyncio_sender,
    ("zmq.asyncio", "server"): _zmq_asyncio_server,
    ("zmq.asyncio", "client"): _zmq_asyncio_client,
    ("zmtp-asyncio", "receiver"): _zmtp_asyncio_receiver,
    ("zmtp-asyncio", "sender"): _zmtp_asyncio_sender,
    ("zmtp-asyncio", "server"): _zmtp_asyncio_server,
    ("zmtp-asyncio", "client"): _zmtp_asyncio_client,
    ("zmtp-uvloop", "receiver"): _zmtp_uvloop_receiver,
    ("zmtp-uvloop", "sender"): _zmtp_uvloop_sender,
    ("zmtp-uvloop", "server"): _zmtp_uvloop_server,
    ("zmtp-uvloop", "client"): _zmtp_uvloop_client,
}
# bench.py's Child starts the role it finds in bench.ROLES: make ours known there (in
# this process only; bench.py itself is not changed).
bench.ROLES.update(ROLES)


# =====================================================================================
# The parent
# =====================================================================================


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="zmtp.asyncio, zmq.asyncio and pyzmq side by side: PUSH/PULL "
        "throughput and REQ/REP round trips over tcp, with PERF.md's asyncio targets."
    )
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--repeat", type=int, help="runs of each case (default 3; quick 1)")
    ap.add_argument("--sizes", help="comma-separated sizes in bytes (default: all)")
    ap.add_argument("--impls", help=f"comma-separated, of {', '.join(IMPLS)}")
    ap.add_argument("--no-latency", action="store_true", help="skip the round-trip case")
    ap.add_argument("--seconds", type=float, help="timed run length (default 1; quick 0.3)")
    ap.add_argument("--pilot", type=float, help="pilot length (default 0.25; quick 0.1)")
    ap.add_argument("--timeout", type=float, help="seconds before a run is killed (20)")
    ap.add_argument("--round-trips", type=int, help="timed round trips (5000; quick 1000)")
    ap.add_argument("--warmup", type=int, help="warm-up round trips (1000; quick 200)")
    ap.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    ns = ap.parse_args(argv)
    quick = ns.quick
    ns.repeat = ns.repeat or (1 if quick else 3)
    ns.seconds = ns.seconds or (0.3 if quick else 1.0)
    ns.pilot = ns.pilot or (0.1 if quick else 0.25)
    ns.timeout = ns.timeout or (10.0 if quick else 20.0)
    ns.round_trips = ns.round_trips or (1000 if quick else 5000)
    ns.warmup = ns.warmup or (200 if quick else 1000)
    return ns


def _have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    mp = multiprocessing.get_context("spawn")
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
    impls = args.impls.split(",") if args.impls else list(IMPLS)
    if "zmtp-uvloop" in impls and not _have_uvloop():
        impls.remove("zmtp-uvloop")
        bench._progress("zmtp-uvloop skipped: uvloop is not installed")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SIZES

    import zmq

    import zmtp

    print("# zmtp.asyncio vs zmq.asyncio and pyzmq\n")
    print(
        f"Python {sys.version.split()[0]}, pyzmq {zmq.__version__} (libzmq "
        f"{zmq.zmq_version()}), zmtp {zmtp.__version__}; load average "
        f"{bench._loadavg()} at start. Throughput: PUSH→PULL over tcp, two processes, "
        f"receiver-timed, ~{args.seconds:g} s per run, median of {args.repeat}; "
        f"latency: REQ/REP {LATENCY_SIZE} B round trips, {args.round_trips} per run, "
        f"{args.repeat} run(s) pooled.\n",
        flush=True,
    )

    thr: dict[tuple[int, str], bench.ThrResult] = {}
    header = ["size"]
    for impl in impls:
        header += [f"{impl} msgs/s", f"{impl} MB/s"]
    ratio_cols = [
        (a, b)
        for a, b in (
            ("zmtp-asyncio", "zmq.asyncio"),
            ("zmtp-asyncio", "pyzmq"),
            ("zmtp-uvloop", "zmq.asyncio"),
            ("zmtp-uvloop", "pyzmq"),
        )
        if a in impls and b in impls
    ]
    header += [f"{a}/{b}" for a, b in ratio_cols]
    print("## Throughput (PUSH → PULL, tcp)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    for size in sizes:
        runs: dict[str, list[bench.ThrResult]] = {impl: [] for impl in impls}
        for rep in range(args.repeat):
            for impl in impls:
                if runs[impl] and runs[impl][-1].error:
                    continue
                r = bench.run_thr(mp, impl, "tcp", size, p)
                runs[impl].append(r)
                what = r.error or f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s"
                bench._progress(f"tcp {size_label(size)} {impl} #{rep + 1}: {what}")
        row = [size_label(size)]
        for impl in impls:
            r = bench._median_thr(runs[impl])
            thr[size, impl] = r
            row += ["error", ""] if r.error else [fmt_rate(r.msgs_per_s), fmt_mb(r.mb_per_s)]
        for a, b in ratio_cols:
            ra, rb = thr[size, a], thr[size, b]
            ok = not ra.error and not rb.error
            row.append(fmt_ratio(bench._ratio(ra.msgs_per_s, rb.msgs_per_s) if ok else None))
        print("| " + " | ".join(row) + " |", flush=True)
    print()

    lat: dict[str, bench.LatResult] = {}
    if not args.no_latency:
        lat_runs: dict[str, list[bench.LatResult]] = {impl: [] for impl in impls}
        for rep in range(args.repeat):
            for impl in impls:
                if lat_runs[impl] and lat_runs[impl][-1].error:
                    continue
                r = bench.run_lat(mp, impl, "reqrep", p)
                lat_runs[impl].append(r)
                what = r.error or f"p50 {fmt_us(r.p50_us)} µs, p99 {fmt_us(r.p99_us)} µs"
                bench._progress(f"latency {impl} #{rep + 1}: {what}")
        for impl in impls:
            lat[impl] = bench._pool_lat(lat_runs[impl])
        rows = []
        for impl in impls:
            r = lat[impl]
            base = lat.get("zmq.asyncio")
            ratio = None
            if base is not None and not base.error and not r.error:
                ratio = bench._ratio(r.p50_us, base.p50_us)
            rows.append(
                [impl, "error", "", ""]
                if r.error
                else [impl, fmt_us(r.p50_us), fmt_us(r.p99_us), fmt_ratio(ratio)]
            )
        print("## Round trip (REQ/REP 64 B, tcp; lower is better)\n")
        print(md_table(["implementation", "p50 µs", "p99 µs", "p50 / zmq.asyncio"], rows) + "\n")

    rows = []
    summary = []
    for label, kind, size, num, den, cmp, goal in TARGETS:
        ratio = None
        if kind == "thr" and (size, num) in thr and (size, den) in thr:
            a, b = thr[size, num], thr[size, den]
            if not a.error and not b.error:
                ratio = bench._ratio(a.msgs_per_s, b.msgs_per_s)
        elif (
            kind == "lat"
            and num in lat
            and den in lat
            and not lat[num].error
            and not lat[den].error
        ):
            ratio = bench._ratio(lat[num].p50_us, lat[den].p50_us)
        if ratio is None:
            status = "not run"
        elif (ratio >= goal) if cmp == ">=" else (ratio <= goal):
            status = "met"
        else:
            status = "not met"
        sign = "≥" if cmp == ">=" else "≤"
        rows.append([label, f"{num}/{den} {sign} {goal:g}x", fmt_ratio(ratio), status])
        summary.append({"target": label, "goal": f"{cmp} {goal}x", "ratio": ratio})
    print("## PERF.md asyncio targets (same run)\n")
    print(md_table(["target", "goal", "ratio", "status"], rows) + "\n")
    print(
        f"Total time: {time.monotonic() - started:.1f} s "
        f"(load average {bench._loadavg()} at the end).",
        flush=True,
    )
    if args.json:
        doc = {
            "throughput": [asdict(r) for r in thr.values()],
            "latency": [r.to_json() for r in lat.values()],
            "targets": summary,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
