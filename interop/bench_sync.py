"""zmtp.sync next to pyzmq's blocking API, in the same run: ``python
interop/bench_sync.py`` (``nox -s bench`` runs it after bench.py).

The method is bench.py's (``PERF.md``), whose process machinery this script reuses:

* **PUSH → PULL throughput** over tcp (``--transports tcp,ipc`` adds ipc), receiver
  and sender in two processes (spawned); the receiver binds and times from the first
  message to the last, after a pilot that sizes the timed run to about ``--seconds``;
  msgs/s counts the ``n - 1`` intervals, MB = 10^6 bytes.
* **REQ/REP round trip** of 64-byte messages over tcp, client and server in two
  processes: p50 and p99 after a warm-up.

Implementations, each the same blocking program a user would write:

* ``pyzmq``: libzmq through pyzmq (bench.py's own programs);
* ``zmtp-sync``: ``import zmtp.sync as zmq``, the I/O on the context's I/O thread.

Each case runs ``--repeat`` times (3; 1 with ``--quick``), alternating the
implementations so that drift on a shared machine hits both alike: throughput reports
the median run, latency pools the samples. Output: Markdown tables with the ratios
that PERF.md's targets name (``--json PATH`` also writes every number).
"""

from __future__ import annotations

import argparse
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
    LATENCY_SIZE,
    PH_BIND,
    PH_CLOSE,
    PH_CONNECT,
    PH_MAIN,
    PH_PILOT,
    PH_WAIT,
    _bad,
    _bind_endpoint,
    _calibrate,
    _maxrss_kb,
    _payload,
    _pyzmq_recv_pilot,
    _pyzmq_recv_timed,
    _pyzmq_send_pilot,
    _pyzmq_send_timed,
    fmt_mb,
    fmt_rate,
    fmt_ratio,
    fmt_us,
    md_table,
    size_label,
)

SIZES = [16, 256, 4096, 65536, 1048576]
IMPLS = ["pyzmq", "zmtp-sync"]

#: (label, kind, transport, size, comparison, goal): PERF.md's zmtp.sync targets,
#: as zmtp-sync / pyzmq.
TARGETS = [
    ("tcp 16 B throughput", "thr", "tcp", 16, ">=", 0.3),
    ("tcp 64 KiB throughput", "thr", "tcp", 65536, ">=", 1.0),
]


# =====================================================================================
# Child processes: zmtp.sync's programs (pyzmq's are bench.py's)
# =====================================================================================


def _connect(sock: Any, endpoint: str, timeout: float) -> None:
    """Connect and wait for the ZMTP handshake (seen on the socket's monitor)."""
    import zmtp.sync as zmq

    with sock.monitor(zmq.Event.HANDSHAKE_SUCCEEDED) as monitor:
        sock.connect(endpoint)
        monitor.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=timeout * 1000)


def _sync_thr_receiver(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None = None,
    curve: Any = None,
) -> None:
    import zmtp.sync as zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    try:
        progress[0] = PH_BIND
        conn.send(("ready", str(sock.bind(_bind_endpoint(transport, ipc_dir)))))
        progress[0] = PH_PILOT
        recv = sock.recv
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


def _sync_thr_sender(
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: Any = None,
) -> None:
    import zmtp.sync as zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    try:
        progress[0] = PH_CONNECT
        _connect(sock, endpoint, p["handshake_timeout"])
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


def _sync_lat_server(conn: Connection, progress: Any, pattern: str) -> None:
    import zmtp.sync as zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REP if pattern == "reqrep" else zmq.DEALER)
    try:
        progress[0] = PH_BIND
        conn.send(("ready", str(sock.bind("tcp://127.0.0.1:*"))))
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


def _sync_lat_client(
    conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    import zmtp.sync as zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ if pattern == "reqrep" else zmq.DEALER)
    try:
        progress[0] = PH_CONNECT
        _connect(sock, endpoint, p["handshake_timeout"])
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


ROLES = {
    ("zmtp-sync", "receiver"): _sync_thr_receiver,
    ("zmtp-sync", "sender"): _sync_thr_sender,
    ("zmtp-sync", "server"): _sync_lat_server,
    ("zmtp-sync", "client"): _sync_lat_client,
}
# bench.py's Child starts the role it finds in bench.ROLES: make ours known there (in
# this process only; bench.py itself is not changed).
bench.ROLES.update(ROLES)


# =====================================================================================
# The parent
# =====================================================================================


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="zmtp.sync and pyzmq side by side: PUSH/PULL throughput and REQ/REP "
        "round trips, with PERF.md's zmtp.sync targets."
    )
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--repeat", type=int, help="runs of each case (default 3; quick 1)")
    ap.add_argument("--sizes", help="comma-separated sizes in bytes (default: all)")
    ap.add_argument("--transports", default="tcp", help="comma-separated: tcp, ipc (tcp)")
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
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SIZES
    transports = args.transports.split(",")

    import zmq

    import zmtp

    print("# zmtp.sync vs pyzmq (blocking)\n")
    print(
        f"Python {sys.version.split()[0]}, pyzmq {zmq.__version__} (libzmq "
        f"{zmq.zmq_version()}), zmtp {zmtp.__version__}; load average "
        f"{bench._loadavg()} at start. Throughput: PUSH→PULL, two processes, "
        f"receiver-timed, ~{args.seconds:g} s per run, median of {args.repeat}; "
        f"latency: REQ/REP {LATENCY_SIZE} B round trips over tcp, {args.round_trips} "
        f"per run, {args.repeat} run(s) pooled.\n",
        flush=True,
    )

    thr: dict[tuple[str, int, str], bench.ThrResult] = {}
    ratio = ("zmtp-sync", "pyzmq") if {"zmtp-sync", "pyzmq"} <= set(impls) else None
    header = ["case"]
    for impl in impls:
        header += [f"{impl} msgs/s", f"{impl} MB/s"]
    if ratio:
        header.append("zmtp-sync/pyzmq")
    print("## Throughput (PUSH → PULL)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    for transport in transports:
        for size in sizes:
            runs: dict[str, list[bench.ThrResult]] = {impl: [] for impl in impls}
            for rep in range(args.repeat):
                for impl in impls:
                    if runs[impl] and runs[impl][-1].error:
                        continue
                    r = bench.run_thr(mp, impl, transport, size, p)
                    runs[impl].append(r)
                    what = r.error or f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s"
                    bench._progress(f"{transport} {size_label(size)} {impl} #{rep + 1}: {what}")
            row = [f"{transport} {size_label(size)}"]
            for impl in impls:
                r = bench._median_thr(runs[impl])
                thr[transport, size, impl] = r
                row += ["error", ""] if r.error else [fmt_rate(r.msgs_per_s), fmt_mb(r.mb_per_s)]
            if ratio:
                ra, rb = thr[transport, size, ratio[0]], thr[transport, size, ratio[1]]
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
            base = lat.get("pyzmq")
            lat_ratio = None
            if base is not None and not base.error and not r.error:
                lat_ratio = bench._ratio(r.p50_us, base.p50_us)
            rows.append(
                [impl, "error", "", ""]
                if r.error
                else [impl, fmt_us(r.p50_us), fmt_us(r.p99_us), fmt_ratio(lat_ratio)]
            )
        print("## Round trip (REQ/REP 64 B, tcp; lower is better)\n")
        print(md_table(["implementation", "p50 µs", "p99 µs", "p50 / pyzmq"], rows) + "\n")

    rows = []
    summary = []
    for label, _kind, transport, size, cmp, goal in TARGETS:
        value = None
        a, b = thr.get((transport, size, "zmtp-sync")), thr.get((transport, size, "pyzmq"))
        if a is not None and b is not None and not a.error and not b.error:
            value = bench._ratio(a.msgs_per_s, b.msgs_per_s)
        if value is None:
            status = "not run"
        elif (value >= goal) if cmp == ">=" else (value <= goal):
            status = "met"
        else:
            status = "not met"
        sign = "≥" if cmp == ">=" else "≤"
        rows.append([label, f"zmtp-sync/pyzmq {sign} {goal:g}x", fmt_ratio(value), status])
        summary.append({"target": label, "goal": f"{cmp} {goal}x", "ratio": value})
    print("## PERF.md zmtp.sync targets (same run)\n")
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
