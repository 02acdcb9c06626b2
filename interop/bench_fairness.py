"""Does one hostile peer stall the others? A good peer's round trip, with and without a
peer that streams huge multipart messages, zmtp and libzmq side by side.

The server is a ROUTER (libzmq through pyzmq, zmtp on trio, or zmtp.asyncio on the
default event loop) whose application echoes what the good peer sends and drops
everything else. The good peer is a libzmq
DEALER in its own process, timing round trips of 64 B for a few seconds. The hostile
peer, in a third process, completes a ZMTP handshake and then, a moment after the good
peer started timing, sends one message of 1,000,000 empty frames (2 MB on the wire, the
input that costs a decoder the most per byte).

Printed: p50, p99 and the worst of the good peer's round trips, quiet and under attack,
for each server. What the server's application does with a hostile message counts
too: pyzmq's ``recv_multipart`` builds a million frame objects, zmtp's hands over the
list its decoder built. Run with
``python interop/bench_fairness.py`` (also part of ``nox -s bench``);
``--servers zmtp_asyncio`` measures one server alone.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import socket
import statistics
import sys
import time
from typing import Any

FRAMES = 1_000_000
HOST = "127.0.0.1"
#: Seconds after the handshake before the hostile message goes.
DELAY = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- servers ---------------------------------------------------------------------------


async def _zmtp_serve(ctx: Any, port: int, ready: Any) -> None:
    """The server of both zmtp engines (their sockets await alike), in ``ctx``."""
    import zmtp

    router = ctx.socket(zmtp.ROUTER, linger=0)
    await router.bind(f"tcp://{HOST}:{port}")
    ready.set()
    while True:
        msg = await router.recv_multipart()
        if msg[0] == b"good":
            await router.send_multipart(msg)


def zmtp_server(port: int, ready: Any) -> None:
    import trio

    import zmtp

    async def main() -> None:
        async with zmtp.Context() as ctx:
            await _zmtp_serve(ctx, port, ready)

    trio.run(main)


def zmtp_asyncio_server(port: int, ready: Any) -> None:
    import asyncio

    import zmtp.asyncio

    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            await _zmtp_serve(ctx, port, ready)

    asyncio.run(main())


def pyzmq_server(port: int, ready: Any) -> None:
    import zmq

    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    router.bind(f"tcp://{HOST}:{port}")
    ready.set()
    while True:
        msg = router.recv_multipart()
        if msg[0] == b"good":
            router.send_multipart(msg)


# -- peers -----------------------------------------------------------------------------


def hostile_peer(port: int, started: Any) -> None:
    """Handshake as a DEALER, then send one 1M-frame message and stay connected."""
    from zmtp.constants import SocketType
    from zmtp.wire import Connection, HandshakeComplete

    sock = socket.create_connection((HOST, port))
    conn = Connection(SocketType.DEALER)
    sock.sendall(conn.data_to_send())
    done = False
    while not done:
        conn.receive_data(sock.recv(65536))
        for ev in conn.events():
            done = done or isinstance(ev, HandshakeComplete)
        sock.sendall(conn.data_to_send())
    # Frame flags 0x01 (MORE) and a one-octet size 0, then a last empty frame.
    message = b"\x01\x00" * (FRAMES - 1) + b"\x00\x00"
    sock.setblocking(True)
    started.set()
    time.sleep(DELAY)  # pacing: the good peer is timing round trips by then
    sock.sendall(message)
    time.sleep(3600)  # pacing: hold the connection open until killed


def good_peer(port: int, seconds: float, out: Any) -> None:
    import zmq

    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.identity = b"good"
    dealer.connect(f"tcp://{HOST}:{port}")
    payload = b"x" * 64
    for _ in range(200):  # warm-up
        dealer.send(payload)
        dealer.recv()
    samples = []
    end = time.perf_counter() + seconds
    while (t0 := time.perf_counter()) < end:
        dealer.send(payload)
        dealer.recv()
        samples.append(time.perf_counter() - t0)
    out.put(samples)
    ctx.destroy(linger=0)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(server: Any, seconds: float) -> dict[str, float]:
    port = _free_port()
    ready = mp.Event()
    srv = mp.Process(target=server, args=(port, ready), daemon=True)
    srv.start()
    if not ready.wait(10):
        raise RuntimeError("server did not start")
    results: dict[str, float] = {}
    try:
        for phase in ("quiet", "attacked"):
            hostile = None
            if phase == "attacked":
                started = mp.Event()
                hostile = mp.Process(target=hostile_peer, args=(port, started), daemon=True)
                hostile.start()
                if not started.wait(10):
                    raise RuntimeError("hostile peer did not complete its handshake")
            out: Any = mp.Queue()
            good = mp.Process(target=good_peer, args=(port, seconds, out), daemon=True)
            good.start()
            samples = out.get(timeout=seconds + 60)
            good.join(10)
            if hostile is not None:
                hostile.kill()
                hostile.join(10)
            results[f"{phase} p50"] = statistics.median(samples) * 1e6
            results[f"{phase} p99"] = _percentile(samples, 0.99) * 1e6
            results[f"{phase} max"] = max(samples) * 1e6
            results[f"{phase} n"] = len(samples)
    finally:
        srv.kill()
        srv.join(10)
    return results


#: The servers measured, by the name printed in their row.
SERVERS = {"pyzmq": pyzmq_server, "zmtp": zmtp_server, "zmtp_asyncio": zmtp_asyncio_server}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase")
    parser.add_argument(
        "--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS), help="rows"
    )
    args = parser.parse_args(argv)
    rows = {}
    for name in args.servers:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows[name] = run(SERVERS[name], args.seconds)
    print(
        "\n| server | quiet p50 µs | quiet p99 µs | attacked p50 µs | attacked p99 µs "
        "| attacked worst µs | round trips quiet / attacked |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['quiet p50']:.0f} | {r['quiet p99']:.0f} | "
            f"{r['attacked p50']:.0f} | {r['attacked p99']:.0f} | {r['attacked max']:.0f} "
            f"| {r['quiet n']:.0f} / {r['attacked n']:.0f} |"
        )
    p = rows.get("pyzmq")
    if p is not None:
        for name, r in rows.items():
            if name != "pyzmq":
                print(
                    f"\nattacked p99: {name} {r['attacked p99'] / 1000:.2f} ms, "
                    f"libzmq {p['attacked p99'] / 1000:.2f} ms "
                    f"({name}/libzmq {r['attacked p99'] / p['attacked p99']:.2f}x)"
                )
    return 0


if __name__ == "__main__":
    mp.set_start_method("spawn")
    sys.exit(main())
