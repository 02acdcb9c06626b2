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

The pieces every side-by-side benchmark shares (the message loops, pyzmq's programs,
the process handling, the statistics and the tables) are in ``zmtp._bench_common``;
this module adds zmtp's programs on trio, the fan-out and CURVE cases and the report.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from zmtp._bench_common import (
    LATENCY_SIZE,
    PH_BIND,
    PH_CLOSE,
    PH_CONNECT,
    PH_MAIN,
    PYZMQ,
    BadMessage,
    FanoutResult,
    LatResult,
    Program,
    Res,
    ThrResult,
    aecho,
    afanout_pilot,
    afanout_timed,
    alternate,
    arecv_case,
    around_trips,
    asend_case,
    asend_pilot,
    asend_timed,
    bind_endpoint,
    blocking_roles,
    cells,
    compare,
    describe,
    fill_quick_defaults,
    fmt_mb,
    fmt_rate,
    fmt_ratio,
    fmt_us,
    goal_text,
    lat_values,
    loadavg,
    maxrss_kb,
    md_head,
    md_row,
    md_table,
    median_thr,
    met,
    payload,
    pool_lat,
    progress_line,
    report_result,
    run_fanout,
    run_lat,
    run_thr,
    size_label,
    socket_names,
    thr_values,
    total_time,
    write_json,
)

SIZES = [16, 256, 4096, 65536, 1048576]
TRANSPORTS = ["tcp", "ipc", "inproc"]
IMPLS = ["pyzmq", "zmtp"]
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


# =====================================================================================
# zmtp's programs, on trio (pyzmq's are zmtp._bench_common's)
# =====================================================================================


async def _arecv(conn: Connection) -> Any:
    """``conn.recv()`` without blocking the trio run (the engine keeps flushing)."""
    import trio

    while not conn.poll():
        await trio.lowlevel.wait_readable(conn.fileno())
    return conn.recv()


async def _zmtp_connect(sock: Any, endpoint: str, timeout: float) -> None:
    """Connect and wait for the ZMTP handshake (seen on the socket's monitor)."""
    import trio

    import zmtp

    monitor = sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED)
    await sock.connect(endpoint)
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


def _trio(body: Callable[[Any], Awaitable[None]]) -> None:
    """A program's frame: ``body(ctx)`` in a trio run, with a zmtp context that closes
    what is left open when it ends."""
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            await body(ctx)

    trio.run(main)


def _zmtp_thr_receiver(
    conn: Connection,
    progress: Any,
    transport: str,
    size: int,
    p: dict[str, Any],
    ipc_dir: str | None,
    curve: dict[str, bytes] | None = None,
) -> None:
    import zmtp

    async def body(ctx: Any) -> None:
        sock = ctx.socket(zmtp.PULL, **_zmtp_curve(curve, server=True))
        progress[0] = PH_BIND
        conn.send(("ready", await sock.bind(bind_endpoint(transport, ipc_dir))))
        n, elapsed = await arecv_case(conn, progress, sock.recv, size, p)
        report_result(conn, n, elapsed)
        await sock.close(linger=0)

    _trio(body)


def _zmtp_thr_sender(
    conn: Connection,
    progress: Any,
    endpoint: str,
    size: int,
    p: dict[str, Any],
    curve: dict[str, bytes] | None = None,
) -> None:
    import zmtp

    async def body(ctx: Any) -> None:
        sock = ctx.socket(zmtp.PUSH, **_zmtp_curve(curve, server=False))
        progress[0] = PH_CONNECT
        await _zmtp_connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        await asend_case(conn, progress, sock.send, size, p, _arecv)
        await sock.close(linger=0)
        conn.send(("closed", maxrss_kb()))

    _trio(body)


def _zmtp_inproc(conn: Connection, progress: Any, size: int, p: dict[str, Any]) -> None:
    """Both ends in one process: the receiver here, the sender in a task."""
    import trio

    import zmtp

    async def body(ctx: Any) -> None:
        pull = ctx.socket(zmtp.PULL)
        push = ctx.socket(zmtp.PUSH)
        await pull.bind("inproc://bench")
        await push.connect("inproc://bench")
        go = trio.Event()
        count: list[int] = []

        async def sender() -> None:
            msg = payload(size)
            send = push.send
            await asend_pilot(send, msg, p["pilot"])
            await go.wait()
            await asend_timed(send, msg, count[0], progress, 2)

        def started(n: int) -> None:
            count.append(n)
            go.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            n, elapsed = await arecv_case(conn, progress, pull.recv, size, p, started=started)
        report_result(conn, n, elapsed)
        await push.close(linger=0)
        await pull.close(linger=0)

    _trio(body)


def _zmtp_lat_server(conn: Connection, progress: Any, pattern: str) -> None:
    import trio

    import zmtp

    async def body(ctx: Any) -> None:
        sock = ctx.socket(getattr(zmtp, socket_names(pattern)[1]))
        progress[0] = PH_BIND
        conn.send(("ready", await sock.bind("tcp://127.0.0.1:*")))
        progress[0] = PH_MAIN
        await aecho(sock.recv, sock.send)
        progress[0] = PH_CLOSE
        with trio.move_on_after(1):
            await sock.close()
        conn.send(("closed", maxrss_kb()))

    _trio(body)


def _zmtp_lat_client(
    conn: Connection, progress: Any, pattern: str, endpoint: str, p: dict[str, Any]
) -> None:
    import zmtp

    async def body(ctx: Any) -> None:
        sock = ctx.socket(getattr(zmtp, socket_names(pattern)[0]))
        progress[0] = PH_CONNECT
        await _zmtp_connect(sock, endpoint, p["handshake_timeout"])
        samples = await around_trips(sock.send, sock.recv, p, progress)
        conn.send(("result", samples, maxrss_kb()))
        await sock.close(linger=0)

    _trio(body)


# The fan-out programs: an XPUB publisher and N SUB sockets in one subscriber process;
# zmtp._bench_common says how pyzmq's do it, and these do the same.


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

    async def body(ctx: Any) -> None:
        sock = ctx.socket(zmtp.XPUB, xpub_verbose=True, xpub_nodrop=True)
        progress[0] = PH_BIND
        conn.send(("ready", await sock.bind(bind_endpoint(transport, ipc_dir))))
        progress[0] = PH_CONNECT
        with trio.fail_after(p["handshake_timeout"]):
            for _ in range(nsubs):
                if (await sock.recv())[:1] != b"\x01":
                    raise BadMessage("expected a subscription")
        conn.send(("subscribed",))
        await asend_case(conn, progress, sock.send, size, p, _arecv)
        await sock.close(linger=0)
        conn.send(("closed", maxrss_kb()))

    _trio(body)


def _zmtp_fanout_subscribers(
    conn: Connection, progress: Any, endpoint: str, size: int, nsubs: int, p: dict[str, Any]
) -> None:
    import zmtp

    async def body(ctx: Any) -> None:
        socks = [ctx.socket(zmtp.SUB, subscribe=b"") for _ in range(nsubs)]
        progress[0] = PH_CONNECT
        for sock in socks:
            await _zmtp_connect(sock, endpoint, p["handshake_timeout"])
        conn.send(("connected",))
        recvs = [sock.recv for sock in socks]
        loops = (afanout_pilot, afanout_timed)
        n, elapsed = await arecv_case(conn, progress, recvs, size, p, loops)
        report_result(conn, n, elapsed)
        for sock in socks:
            await sock.close(linger=0)

    _trio(body)


ROLES: dict[tuple[str, str], Program] = {
    **blocking_roles(PYZMQ),
    ("zmtp", "receiver"): _zmtp_thr_receiver,
    ("zmtp", "sender"): _zmtp_thr_sender,
    ("zmtp", "inproc"): _zmtp_inproc,
    ("zmtp", "server"): _zmtp_lat_server,
    ("zmtp", "client"): _zmtp_lat_client,
    ("zmtp", "publisher"): _zmtp_fanout_publisher,
    ("zmtp", "subscribers"): _zmtp_fanout_subscribers,
}


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
        progress_line(f"latency falls back to DEALER↔DEALER: zmtp REQ/REP: {describe(exc)}")
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


def _cell_error(text: str, limit: int) -> str:
    text = "error: " + text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def side_row(
    lead: list[str],
    results: dict[str, Any],
    values: Callable[[Any], list[str]],
    limit: int,
    attrs: tuple[str, ...] = ("msgs_per_s",),
) -> tuple[list[str], float | None]:
    """A table row: ``lead``, then pyzmq's and zmtp's cells (``values`` of each
    result), then the zmtp/pyzmq ratio of each of ``attrs``; and the first ratio."""
    row = list(lead)
    for impl in IMPLS:
        row += cells(results.get(impl), values, lambda text: _cell_error(text, limit))
    a, b = results.get("zmtp"), results.get("pyzmq")
    ratios = [compare(a, b, attr) for attr in attrs]
    row += [fmt_ratio(r) for r in ratios]
    return row, ratios[0]


def _fanout_values(r: FanoutResult) -> list[str]:
    return [fmt_rate(r.msgs_per_s), fmt_rate(r.deliveries_per_s)]


def _what_thr(r: ThrResult) -> str:
    return (
        f"{fmt_rate(r.msgs_per_s)} msgs/s, {fmt_mb(r.mb_per_s)} MB/s "
        f"({r.count} msgs in {r.seconds:.2f} s)"
    )


def _what_lat(r: LatResult) -> str:
    return f"p50 {fmt_us(r.p50_us)} µs, p99 {fmt_us(r.p99_us)} µs ({r.round_trips} round trips)"


def _what_fanout(r: FanoutResult) -> str:
    return (
        f"{fmt_rate(r.msgs_per_s)} msgs/s to each, {fmt_rate(r.deliveries_per_s)} "
        f"deliveries/s ({r.count} msgs in {r.seconds:.2f} s)"
    )


class _Steps:
    """Runs cases, numbering them in the progress lines (``[step/total]``)."""

    def __init__(self, total: int) -> None:
        self.step = 0
        self.total = total

    def measure(
        self,
        impls: list[str],
        repeat: int,
        run: Callable[[str], Res],
        name: str,
        what: Callable[[Res], str],
        combine: Callable[[list[Res]], Res],
    ) -> dict[str, Res]:
        """The runs of each implementation (see ``alternate``), combined into one."""

        def report(impl: str, rep: int, r: Res, took: float) -> None:
            self.step += 1
            text = f"error: {r.error}" if r.error else what(r)
            progress_line(
                f"[{self.step}/{self.total}] {name} {impl} #{rep + 1}: {text} [{took:.1f} s]"
            )
            for w in r.warnings:
                progress_line(f"    warning: {w}")

        runs = alternate(impls, repeat, run, report)
        return {impl: combine(rs) for impl, rs in runs.items()}


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


def _pattern_label(pattern: str) -> str:
    return "REQ/REP" if pattern == "reqrep" else "DEALER↔DEALER"


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
    fill_quick_defaults(ns)
    ns.curve_repeat = ns.repeat
    if ns.repeat is None:
        ns.repeat = 1 if ns.quick else 3
        ns.curve_repeat = 1 if ns.quick else CURVE_REPEAT
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
    load_start = loadavg()
    print("# zmtp vs pyzmq benchmark\n")
    if "pyzmq" not in available:
        print(
            "pyzmq is not installed: zmtp is measured alone, with no ratios "
            "(pip install pyzmq for the side-by-side comparison).\n",
            flush=True,
        )
        progress_line("pyzmq is not installed: measuring zmtp alone")
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

    def chosen(**case: Any) -> list[str]:
        return [i for i in available if only.match(impl=i, **case)]

    # (transport, size) -> the implementations to run.
    cases: dict[tuple[str, int], list[str]] = {}
    for t in TRANSPORTS:
        for s in SIZES:
            if impls := chosen(kind="thr", transport=t, size=s):
                cases[t, s] = impls
    lat_impls = chosen(kind="lat", transport="tcp", size=LATENCY_SIZE)
    # (subscribers, size) -> the implementations to run (PUB -> SUB fan-out over tcp).
    fanout_cases: dict[tuple[int, int], list[str]] = {}
    for nsubs in FANOUT_SUBS:
        for s in FANOUT_SIZES:
            if impls := chosen(kind="fanout", transport="tcp", size=s, subs=nsubs):
                fanout_cases[nsubs, s] = impls
    # size -> the implementations to run (PUSH -> PULL over tcp with CURVE).
    curve_cases: dict[int, list[str]] = {}
    for s in CURVE_SIZES:
        if impls := chosen(kind="curve", transport="tcp", size=s):
            curve_cases[s] = impls
    runs_per_repeat = sum(map(len, cases.values())) + len(lat_impls)
    total = (runs_per_repeat + sum(map(len, fanout_cases.values()))) * args.repeat
    total += sum(map(len, curve_cases.values())) * args.curve_repeat
    steps = _Steps(total)
    limit = 60

    thr_results: list[ThrResult] = []
    ratios: dict[tuple[str, str, int], float | None] = {}
    failed: dict[tuple[str, str, int], bool] = {}
    if cases:
        print("## Throughput (PUSH → PULL)\n")
        print(md_head(THR_HEADER), flush=True)
    for (transport, size), impls in cases.items():
        run = functools.partial(run_thr, mp, ROLES, transport=transport, size=size, p=p)
        name = f"{transport} {size_label(size)}"
        by_impl = steps.measure(impls, args.repeat, run, name, _what_thr, median_thr)
        thr_results.extend(by_impl.values())
        row, ratio = side_row([transport, size_label(size)], by_impl, thr_values, limit)
        ratios["thr", transport, size] = ratio
        failed["thr", transport, size] = any(r.error for r in by_impl.values())
        print(md_row(row), flush=True)
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
            if any(impl in impls for impls in curve_cases.values()):
                try:
                    keys[impl] = curve_keys(impl)
                except Exception as exc:
                    keys[impl] = f"benchmark: curve_keypair: {describe(exc)}"
        print("## Throughput with CURVE (PUSH → PULL, tcp, two processes)\n")
        print(md_head(THR_HEADER), flush=True)

        def run_curve(impl: str, size: int) -> ThrResult:
            k = keys[impl]
            if isinstance(k, str):
                return ThrResult("tcp", size, impl, error=k)
            return run_thr(mp, ROLES, impl, "tcp", size, p, curve=k)

    for size, impls in curve_cases.items():
        run = functools.partial(run_curve, size=size)
        name = f"CURVE tcp {size_label(size)}"
        by_impl = steps.measure(impls, args.curve_repeat, run, name, _what_thr, median_thr)
        curve_results.extend(by_impl.values())
        row, _ = side_row(["tcp", size_label(size)], by_impl, thr_values, limit)
        print(md_row(row), flush=True)
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
    if lat_impls:
        run_l = functools.partial(run_lat, mp, ROLES, pattern=pattern, p=p)
        name = f"latency {_pattern_label(pattern)}"
        by_impl_lat = steps.measure(lat_impls, args.repeat, run_l, name, _what_lat, pool_lat)
        lat_results.extend(by_impl_lat.values())
        print("## Round-trip latency (tcp, two processes; lower is better)\n")
        lead = [f"tcp {_pattern_label(pattern)}", f"{LATENCY_SIZE} B"]
        row, r50 = side_row(lead, by_impl_lat, lat_values, limit, ("p50_us", "p99_us"))
        ratios["lat", "tcp", LATENCY_SIZE] = r50
        failed["lat", "tcp", LATENCY_SIZE] = any(r.error for r in by_impl_lat.values())
        print(md_table(LAT_HEADER, [row]) + "\n", flush=True)

    fanout_results: list[FanoutResult] = []
    if fanout_cases:
        print("## Fan-out throughput (XPUB → N SUBs, tcp, two processes)\n")
        print(md_head(FANOUT_HEADER), flush=True)
    for (nsubs, size), impls in fanout_cases.items():
        run_f = functools.partial(
            run_fanout, mp, ROLES, transport="tcp", size=size, nsubs=nsubs, p=p
        )
        name = f"fan-out {nsubs} sub(s) {size_label(size)}"
        by_impl_f = steps.measure(impls, args.repeat, run_f, name, _what_fanout, median_thr)
        fanout_results.extend(by_impl_f.values())
        row, _ = side_row([str(nsubs), size_label(size)], by_impl_f, _fanout_values, limit)
        print(md_row(row), flush=True)
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
            else:
                status = met(ratio, cmp, goal)
        summary.append(
            {"target": label, "goal": f"{cmp} {goal}x", "ratio": ratio, "status": status}
        )
        rows.append([label, goal_text(cmp, goal), fmt_ratio(ratio), status])
    print("## PERF.md targets (zmtp/pyzmq, same run)\n")
    print(md_table(["target", "goal", "ratio", "status"], rows) + "\n")

    notes = []
    named: list[tuple[str, ThrResult | LatResult]] = [
        *((f"{r.transport} {size_label(r.size)} {r.impl}", r) for r in thr_results),
        *((f"CURVE tcp {size_label(r.size)} {r.impl}", r) for r in curve_results),
        *((f"latency {r.impl}", r) for r in lat_results),
        *(
            (f"fan-out {r.subscribers} sub(s) {size_label(r.size)} {r.impl}", r)
            for r in fanout_results
        ),
    ]
    for name, res in named:
        if res.error and len(_cell_error(res.error, 10_000)) > limit:
            notes.append(f"- {name}: error: {res.error}")
        for w in res.warnings:
            notes.append(f"- {name}: warning: {w}")
    if notes:
        print("Notes:\n")
        print("\n".join(notes) + "\n")

    elapsed = total_time(started)

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
            "load_average": {"start": load_start, "end": loadavg()},
        }
        write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
