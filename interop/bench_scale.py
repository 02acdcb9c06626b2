"""zmtp next to pyzmq (libzmq) at scale, in the same run: ``python interop/bench_scale.py``
(or ``nox -s bench_scale``).

What is measured, each for zmtp and for pyzmq (libzmq) with the same peers:

* **ROUTER with 10,000 connected peers** (``router``). The server (a ROUTER, in its
  own process) binds; a peer process opens the connections and speaks raw ZMTP 3.0
  as DEALERs named ``p00000``… (one ``selectors`` loop, at most ``--window``
  handshakes in flight so that neither server's listen backlog overflows). Then:
  *accept*: from the first ``connect()`` to the last peer's handshake done;
  *burst*: one request on every connection at once, the server echoes each, until
  the last reply; *round trip*: the server sends to a random peer, which echoes,
  p50/p99 of the server's send-to-receive time; *after mass disconnect*: the peers
  close all connections but one, then send a request on the survivor: the time from
  the first close to its reply. *Memory per connection*: the server's RSS growth
  from bound to all peers answered, divided by the peers.
* **XPUB to 1,000 SUBs** (``fanout``): 1,000 raw ZMTP 3.0 SUB connections subscribe
  to everything; the publisher (``xpub_verbose``, to know when all are in, and a
  send HWM that holds the whole run, so nothing is dropped) sends 1,000 messages of
  100 B. *Publish loop*: from the first send to the moment every subscriber had
  every message (the peers count octets; both processes read the same monotonic
  clock); the publisher's own send loop is shown beside it. *Memory per
  subscriber*: RSS growth with the connections; peak RSS.
* **XPUB with 100,000 subscriptions of 1,000 distinct lengths** (``lengths``): one
  subscriber connection subscribes to ``chr(j) + F[:L-1]`` for L = 1…1,000 and
  j = 1…100 (``F`` a fixed pseudo-random string: 100 nested chains, in shuffled
  order). *Per send*: the mean cost of a publisher's ``send`` of a 4 KiB message
  whose topic matches (``chr(7) + F + …``) and of one that matches nothing (first
  octet 200), over ``--sends`` sends, median of 5 loops; the subscriber drains.
* **100,000 same-length subscriptions** (``samelen``): ``topic.%010d``; the
  publisher's RSS growth per subscription. Beside it, zmtp's trie alone measured
  with ``tracemalloc`` in this process (that topic set and 100k random 16-octet
  topics).
* **REQ/REP round trip 64 B, PUB → 10 SUBs 16 B, CURVE tcp 16 B / 4 KiB / 1 MiB**
  (``reqrep``, ``fanout10``, ``curve``): run by ``interop/bench.py`` (its
  ``--only``/``--json``), and quoted here.

Runs alternate pyzmq and zmtp ``--repeat`` times (2; 1 with ``--quick``) and each
cell quotes the range over the runs. Ratios are zmtp/pyzmq: for times and memory
lower is better, for throughput higher is better.

Robustness: every child has an alarm (it ends should the parent vanish) and checks
its parent; every wait has a deadline (``--timeout`` per scenario); children are
stopped and, if need be, killed at the end of each scenario; a scenario that fails
reports ``error: ...`` in its cells and the run goes on.

Options: ``--only router,fanout,lengths,samelen,reqrep,fanout10,curve,pyzmq,zmtp``;
``--quick`` (2,000 peers, 200 subscribers, 20,000 subscriptions, one run);
``--json PATH``; ``--profile DIR`` writes a cProfile of each phase of each zmtp server.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import multiprocessing
import os
import platform
import random
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from typing import Any

IMPLS = ["pyzmq", "zmtp"]
SCENARIOS = ["router", "fanout", "lengths", "samelen", "reqrep", "fanout10", "curve"]
#: The scenarios quoted from interop/bench.py, and its --only filter for each.
BENCH_PY_ONLY = {
    "reqrep": ["lat"],
    "fanout10": ["fanout,10subs,16"],
    "curve": ["curve,16", "curve,4k", "curve,1m"],
}
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# =====================================================================================
# Shared helpers
# =====================================================================================


def rss_bytes() -> int:
    """The resident set size of this process now."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def raise_nofile(want: int) -> int:
    """Raise the soft descriptor limit to ``want`` (or as far as the hard one allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def peer_id(i: int) -> bytes:
    return b"p%05d" % i


def nested_topics(lengths: int, per_length: int) -> tuple[list[bytes], bytes]:
    """``per_length`` chains of nested subscriptions, every length 1..``lengths``:
    ``chr(j) + F[:L-1]``, shuffled; and ``F``."""
    fill = hashlib.shake_128(b"zmtp bench_scale").digest(max(lengths, 1))
    topics = [
        bytes([j + 1]) + fill[: n - 1] for n in range(1, lengths + 1) for j in range(per_length)
    ]
    random.Random(7).shuffle(topics)
    return topics, fill


def same_length_topics(n: int) -> list[bytes]:
    return [b"topic.%010d" % i for i in range(n)]


def random_topics(n: int) -> list[bytes]:
    rnd = random.Random(11)
    return [rnd.randbytes(16) for _ in range(n)]


def describe(exc: BaseException) -> str:
    subs = getattr(exc, "exceptions", None)
    if isinstance(subs, (list, tuple)) and subs:
        return "; ".join(describe(e) for e in subs)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if str(exc) else text


def child_main(
    alarm: int, target: Callable[..., None], conn: Connection, args: tuple[Any, ...]
) -> None:
    """Every child process runs this: an alarm as the last resort, errors reported."""
    signal.alarm(alarm)
    try:
        target(conn, *args)
    except BaseException as exc:
        traceback.print_exc()
        with contextlib.suppress(Exception):
            conn.send(("error", describe(exc)))
        sys.exit(1)


# =====================================================================================
# The peers: raw ZMTP 3.0 clients in one selectors loop
# =====================================================================================

#: A ZMTP 3.0 greeting (RFC 23): signature, version 3.0, NULL, as-server 0, filler.
GREETING = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
assert len(GREETING) == 64


def frame(body: bytes, *, more: bool = False, command: bool = False) -> bytes:
    """One ZMTP frame (RFC 23 §2.3): flags, a 1- or 8-octet size, the body."""
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    n = len(body)
    if n < 256:
        return bytes((flags, n)) + body
    return bytes((flags | 0x02,)) + n.to_bytes(8, "big") + body


def ready_command(socket_type: bytes, identity: bytes = b"") -> bytes:
    def prop(name: bytes, value: bytes) -> bytes:
        return bytes((len(name),)) + name + len(value).to_bytes(4, "big") + value

    body = b"\x05READY" + prop(b"Socket-Type", socket_type)
    if identity:
        body += prop(b"Identity", identity)
    return frame(body, command=True)


class Peer:
    """One raw connection. ``counting`` peers (SUB) count the octets that follow the
    handshake; the others (DEALER) parse frames and answer."""

    __slots__ = ("closed", "count", "index", "key", "rbuf", "replies", "sock", "state", "wbuf")

    def __init__(self, index: int, sock: socket.socket) -> None:
        self.index = index
        self.sock = sock
        self.state = "connecting"  # connecting, greeting, ready, traffic, failed
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.count = 0
        self.replies = 0
        self.closed = False
        self.key: Any = None


class PeerLoop:
    """Many raw ZMTP connections and one control pipe, driven by one selector."""

    def __init__(self, conn: Connection) -> None:
        self.ctrl = conn
        self.sel = selectors.DefaultSelector()
        self.sel.register(conn.fileno(), selectors.EVENT_READ, None)
        self.peers: list[Peer] = []
        self.parent = os.getppid()
        self.counting = False
        self.socket_type = b"DEALER"
        self.addr: tuple[str, int] = ("127.0.0.1", 0)
        # Operation in progress: a check called after every batch of events, which
        # returns the reply to send when the operation is complete.
        self.op: Callable[[], tuple[Any, ...] | None] | None = None
        self.deadline = 0.0
        self.handshaken = 0
        self.failed = 0
        self.expect = 0
        self.reached = 0
        self.t_reached = 0.0
        self.replies = 0
        self.t_reply = 0.0

    # -- connections ---------------------------------------------------------------

    def open(self, index: int) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex(self.addr)
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.failed += 1
            return
        p = Peer(index, s)
        self.peers.append(p)
        p.key = self.sel.register(s, selectors.EVENT_WRITE, p)

    def fail(self, p: Peer) -> None:
        if p.state != "traffic":
            self.failed += 1
        p.state = "failed"
        self.close(p)

    def close(self, p: Peer) -> None:
        if p.closed:
            return
        p.closed = True
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(p.sock)
        p.sock.close()

    def write(self, p: Peer, data: bytes) -> None:
        if p.closed:
            return
        if p.wbuf:
            p.wbuf += data
            return
        try:
            n = p.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.fail(p)
            return
        if n < len(data):
            p.wbuf += data[n:]
            self.sel.modify(p.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, p)

    def on_writable(self, p: Peer) -> None:
        if p.state == "connecting":
            if p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.fail(p)
                return
            p.state = "greeting"
            self.sel.modify(p.sock, selectors.EVENT_READ, p)
            ident = peer_id(p.index) if self.socket_type == b"DEALER" else b""
            self.write(p, GREETING + ready_command(self.socket_type, ident))
            return
        if p.wbuf:
            try:
                n = p.sock.send(p.wbuf)
            except BlockingIOError:
                return
            except OSError:
                self.fail(p)
                return
            del p.wbuf[:n]
        if not p.wbuf and not p.closed:
            self.sel.modify(p.sock, selectors.EVENT_READ, p)

    def on_readable(self, p: Peer) -> None:
        try:
            data = p.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            self.fail(p)
            return
        if not data:
            self.fail(p)
            return
        if p.state == "traffic" and self.counting:
            self.counted(p, len(data))
            return
        p.rbuf += data
        if p.state == "greeting":
            if len(p.rbuf) < 64:
                return
            if p.rbuf[0] != 0xFF or p.rbuf[9] != 0x7F:
                self.fail(p)
                return
            del p.rbuf[:64]
            p.state = "ready"
        if p.state == "ready":
            got = self.take_frame(p)
            if got is None:
                return
            flags, body = got
            if not flags & 0x04 or not body.startswith(b"\x05READY"):
                self.fail(p)  # an ERROR command, or garbage
                return
            p.state = "traffic"
            self.handshaken += 1
            if self.counting:
                left = len(p.rbuf)
                p.rbuf.clear()
                if left:
                    self.counted(p, left)
                return
        if p.state == "traffic":
            while (got := self.take_frame(p)) is not None:
                flags, body = got
                if flags & 0x04:
                    continue  # a command (none is expected from a 3.0 server)
                if body[:1] == b"P":  # the server's round trip: echo it
                    self.write(p, frame(b"E" + body[1:]))
                elif body[:1] == b"R":  # a reply to one of our requests
                    p.replies += 1
                    self.replies += 1
                    self.t_reply = time.monotonic()

    @staticmethod
    def take_frame(p: Peer) -> tuple[int, bytes] | None:
        buf = p.rbuf
        if len(buf) < 2:
            return None
        flags = buf[0]
        if flags & 0x02:
            if len(buf) < 9:
                return None
            size = int.from_bytes(buf[1:9], "big")
            head = 9
        else:
            size = buf[1]
            head = 2
        if len(buf) < head + size:
            return None
        body = bytes(buf[head : head + size])
        del buf[: head + size]
        return flags, body

    def counted(self, p: Peer, n: int) -> None:
        before = p.count
        p.count += n
        if self.expect and before < self.expect <= p.count:
            self.reached += 1
            self.t_reached = time.monotonic()

    # -- operations ------------------------------------------------------------------

    def cmd_connect(
        self, endpoint: str, n: int, socket_type: str, window: int, timeout: float
    ) -> None:
        host, port = endpoint.rsplit("//", 1)[1].rsplit(":", 1)
        self.addr = (host, int(port))
        self.socket_type = socket_type.encode()
        self.counting = socket_type == "SUB"
        raise_nofile(n + 256)
        t0 = time.monotonic()
        self.deadline = t0 + timeout
        launched = 0

        def check() -> tuple[Any, ...] | None:
            nonlocal launched
            while launched < n and launched - self.handshaken - self.failed < window:
                self.open(launched)
                launched += 1
            if self.handshaken + self.failed >= n:
                return ("connected", time.monotonic() - t0, self.handshaken, self.failed)
            return None

        self.op = check

    def cmd_subscribe(self, spec: tuple[Any, ...]) -> None:
        """Subscribe every connection (ZMTP 3.0: a message whose first octet is 1)."""
        kind = spec[0]
        if kind == "all":
            topics = [b""]
        elif kind == "nested":
            topics = nested_topics(spec[1], spec[2])[0]
        elif kind == "same":
            topics = same_length_topics(spec[1])
        else:
            raise ValueError(f"unknown subscription set {kind!r}")
        data = b"".join(frame(b"\x01" + t) for t in topics)
        for p in self.peers:
            if p.state == "traffic":
                self.write(p, data)
        self.ctrl.send(("subscribed", len(topics)))

    def cmd_expect(self, octets: int) -> None:
        """Count from now on: the time when every connection has ``octets`` more."""
        for p in self.peers:
            p.count = 0
        self.expect = octets
        self.reached = 0
        self.ctrl.send(("expecting",))

    def cmd_wait_expected(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        live = sum(1 for p in self.peers if p.state == "traffic")

        def check() -> tuple[Any, ...] | None:
            if self.reached >= live:
                return ("reached", self.t_reached, self.reached)
            return None

        self.op = check

    def cmd_burst(self, timeout: float) -> None:
        live = [p for p in self.peers if p.state == "traffic"]
        start = self.replies
        t0 = time.monotonic()
        self.deadline = t0 + timeout
        for p in live:
            self.write(p, frame(b"Q%d" % p.index))

        def check() -> tuple[Any, ...] | None:
            if self.replies - start >= len(live):
                return ("burst", self.t_reply - t0, len(live))
            return None

        self.op = check

    def cmd_drop(self, keep: int, timeout: float) -> None:
        """Close every connection but ``keep``, then ask on that one."""
        survivor = self.peers[keep]
        start = survivor.replies
        t0 = time.monotonic()
        self.deadline = t0 + timeout
        for p in self.peers:
            if p is not survivor:
                self.close(p)
        t_closed = time.monotonic()
        self.write(survivor, frame(b"Q-last"))

        def check() -> tuple[Any, ...] | None:
            if survivor.replies > start:
                return ("dropped", self.t_reply - t0, t_closed - t0)
            return None

        self.op = check

    def describe(self) -> str:
        states: dict[str, int] = {}
        for p in self.peers:
            states[p.state] = states.get(p.state, 0) + 1
        return f"peers {states}, handshaken {self.handshaken}, failed {self.failed}"

    def run(self) -> None:
        handlers = {
            "connect": self.cmd_connect,
            "subscribe": self.cmd_subscribe,
            "expect": self.cmd_expect,
            "wait_expected": self.cmd_wait_expected,
            "burst": self.cmd_burst,
            "drop": self.cmd_drop,
        }
        while True:
            if os.getppid() != self.parent:
                return
            for key, mask in self.sel.select(0.2 if self.op is None else 0.05):
                p = key.data
                if p is None:
                    msg = self.ctrl.recv()
                    if msg[0] == "close":
                        return
                    handlers[msg[0]](*msg[1:])
                    continue
                if mask & selectors.EVENT_WRITE:
                    self.on_writable(p)
                if mask & selectors.EVENT_READ and not p.closed:
                    self.on_readable(p)
            if self.op is not None:
                reply = self.op()
                if reply is not None:
                    self.op = None
                    self.ctrl.send(reply)
                elif time.monotonic() > self.deadline:
                    self.op = None
                    self.ctrl.send(("error", f"timeout ({self.describe()})"))


def peers_main(conn: Connection) -> None:
    loop = PeerLoop(conn)
    conn.send(("ready",))
    loop.run()


# =====================================================================================
# The servers: one command set, two implementations
# =====================================================================================


def pyzmq_server_main(conn: Connection, kind: str, p: dict[str, Any]) -> None:
    import zmq

    raise_nofile(p["peers"] + 256)
    ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 0)
    sock = ctx.socket(zmq.ROUTER if kind == "router" else zmq.XPUB)
    sock.setsockopt(zmq.RCVTIMEO, int(p["timeout"] * 1000))
    sock.setsockopt(zmq.SNDTIMEO, int(p["timeout"] * 1000))
    if kind == "xpub":
        sock.setsockopt(zmq.XPUB_VERBOSE, 1 if p.get("verbose") else 0)
        sock.setsockopt(zmq.SNDHWM, p["hwm"])
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    conn.send(("bound", f"tcp://127.0.0.1:{port}", rss_bytes()))
    rnd = random.Random(3)
    try:
        while True:
            msg = conn.recv()
            cmd = msg[0]
            if cmd == "close":
                conn.send(("closing", rss_bytes(), peak_rss_bytes()))
                return
            if cmd == "rss":
                conn.send(("rss", rss_bytes(), peak_rss_bytes()))
            elif cmd == "gc":
                conn.send(("gc", {}))
            elif cmd == "serve":
                t0 = time.monotonic()
                for _ in range(msg[1]):
                    rid, body = sock.recv_multipart()
                    sock.send_multipart([rid, b"R" + body[1:]])
                conn.send(("served", time.monotonic() - t0))
            elif cmd == "rt":
                _, count, warmup, npeers = msg
                payload = b"P" + b"\x55" * 63
                lat = []
                for i in range(warmup + count):
                    rid = peer_id(rnd.randrange(npeers))
                    t0 = time.perf_counter_ns()
                    sock.send_multipart([rid, payload])
                    back, body = sock.recv_multipart()
                    t1 = time.perf_counter_ns()
                    if back != rid or body[:1] != b"E":
                        raise RuntimeError(f"round trip: {rid!r} answered by {back!r}")
                    if i >= warmup:
                        lat.append(t1 - t0)
                conn.send(("rt", lat))
            elif cmd == "await_subs":
                t0 = time.monotonic()
                for _ in range(msg[1]):
                    sock.recv()
                conn.send(("subs", time.monotonic() - t0))
            elif cmd == "publish":
                _, count, size = msg
                payload = b"\x55" * size
                t0 = time.monotonic()
                for _ in range(count):
                    sock.send(payload)
                conn.send(("published", t0, time.monotonic()))
            elif cmd == "send_cost":
                _, topic, count, loops = msg
                per = []
                for _ in range(loops):
                    t0 = time.perf_counter()
                    for _ in range(count):
                        sock.send(topic)
                    per.append((time.perf_counter() - t0) / count)
                conn.send(("cost", per))
            else:
                raise ValueError(f"unknown command {cmd!r}")
    finally:
        sock.close(0)
        ctx.term()


async def _arecv(conn: Connection) -> Any:
    """``conn.recv()`` without blocking the trio run (the engine keeps going)."""
    import trio

    while not conn.poll():
        await trio.lowlevel.wait_readable(conn.fileno())
    return conn.recv()


async def _zmtp_server(conn: Connection, kind: str, p: dict[str, Any]) -> None:
    import trio

    import zmtp

    parent = os.getppid()
    timeout = p["timeout"]
    opts: dict[str, Any] = {"linger": 0}
    if kind == "xpub":
        opts["xpub_verbose"] = 1 if p.get("verbose") else 0
        opts["sndhwm"] = p["hwm"]
    rnd = random.Random(3)
    profiler = Phases(p.get("profile"))
    gc_clock = GcClock()
    async with zmtp.Context() as ctx, trio.open_nursery() as nursery:

        async def orphan_watch() -> None:
            while os.getppid() == parent:
                await trio.sleep(0.5)  # pacing
            nursery.cancel_scope.cancel()

        nursery.start_soon(orphan_watch)
        sock = ctx.socket(zmtp.ROUTER if kind == "router" else zmtp.XPUB, **opts)
        async with sock:
            endpoint = await sock.bind("tcp://127.0.0.1:*")
            conn.send(("bound", endpoint, rss_bytes()))
            profiler.next("listening")
            while True:
                msg = await _arecv(conn)
                cmd = msg[0]
                profiler.next(cmd)
                if cmd == "close":
                    conn.send(("closing", rss_bytes(), peak_rss_bytes()))
                    break
                with trio.fail_after(timeout):
                    if cmd == "rss":
                        conn.send(("rss", rss_bytes(), peak_rss_bytes()))
                    elif cmd == "gc":
                        conn.send(("gc", gc_clock.report()))
                    elif cmd == "serve":
                        t0 = time.monotonic()
                        for _ in range(msg[1]):
                            rid, body = await sock.recv_multipart()
                            await sock.send_multipart([rid, b"R" + body[1:]])
                        conn.send(("served", time.monotonic() - t0))
                    elif cmd == "rt":
                        _, count, warmup, npeers = msg
                        payload = b"P" + b"\x55" * 63
                        lat = []
                        for i in range(warmup + count):
                            rid = peer_id(rnd.randrange(npeers))
                            t0n = time.perf_counter_ns()
                            await sock.send_multipart([rid, payload])
                            back, body = await sock.recv_multipart()
                            t1n = time.perf_counter_ns()
                            if back != rid or body[:1] != b"E":
                                raise RuntimeError(f"round trip: {rid!r} answered by {back!r}")
                            if i >= warmup:
                                lat.append(t1n - t0n)
                        conn.send(("rt", lat))
                    elif cmd == "await_subs":
                        t0 = time.monotonic()
                        for _ in range(msg[1]):
                            await sock.recv()
                        conn.send(("subs", time.monotonic() - t0))
                    elif cmd == "publish":
                        _, count, size = msg
                        payload = b"\x55" * size
                        t0 = time.monotonic()
                        for _ in range(count):
                            await sock.send(payload)
                        conn.send(("published", t0, time.monotonic()))
                    elif cmd == "send_cost":
                        _, topic, count, loops = msg
                        per = []
                        for _ in range(loops):
                            t0 = time.perf_counter()
                            for _ in range(count):
                                await sock.send(topic)
                            per.append((time.perf_counter() - t0) / count)
                        conn.send(("cost", per))
                    else:
                        raise ValueError(f"unknown command {cmd!r}")
        nursery.cancel_scope.cancel()


class GcClock:
    """Time this process spends in the cyclic garbage collector, per generation
    (``gc.callbacks``); zmtp's cost at 10k connections is largely there."""

    def __init__(self) -> None:
        import gc

        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._t0 = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            g = info.get("generation", 2)
            self.seconds[g] += time.perf_counter() - self._t0
            self.count[g] += 1

    def report(self) -> dict[str, float]:
        import gc

        return {
            "gc_s": sum(self.seconds),
            "gc2_s": self.seconds[2],
            "gc2_n": self.count[2],
            "gc_objects_k": len(gc.get_objects()) / 1000,
        }


class Phases:
    """With a path prefix: one cProfile per phase of a server (the time between two
    commands), written as ``<prefix>-<n>-<phase>.prof``; without: nothing."""

    def __init__(self, prefix: str | None) -> None:
        self.prefix = prefix
        self.prof: Any = None
        self.name = ""
        self.n = 0

    def next(self, name: str) -> None:
        if not self.prefix:
            return
        import cProfile

        if self.prof is not None:
            self.prof.disable()
            self.prof.dump_stats(f"{self.prefix}-{self.n:02d}-{self.name}.prof")
            self.n += 1
        self.name = name
        self.prof = cProfile.Profile()
        self.prof.enable()


def zmtp_server_main(conn: Connection, kind: str, p: dict[str, Any]) -> None:
    import trio

    raise_nofile(p["peers"] + 256)
    trio.run(_zmtp_server, conn, kind, p)


SERVERS: dict[str, Callable[..., None]] = {"pyzmq": pyzmq_server_main, "zmtp": zmtp_server_main}

# =====================================================================================
# The parent: children with deadlines
# =====================================================================================


class ScenarioError(Exception):
    pass


class Child:
    def __init__(
        self, mp: Any, name: str, alarm: int, target: Callable[..., None], args: tuple[Any, ...]
    ) -> None:
        self.name = name
        self.conn, theirs = mp.Pipe()
        self.proc = mp.Process(
            target=child_main, args=(alarm, target, theirs, args), name=name, daemon=True
        )
        self.proc.start()
        theirs.close()

    def send(self, *msg: Any) -> None:
        try:
            self.conn.send(msg)
        except OSError as exc:
            raise ScenarioError(f"{self.name} is gone ({describe(exc)})") from None

    def expect(self, tag: str, deadline: float) -> tuple[Any, ...]:
        """The child's next message, which must be ``tag``; waits until ``deadline``."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScenarioError(f"timeout waiting for {self.name} ({tag})")
            ready = mp_wait([self.conn, self.proc.sentinel], min(left, 1.0))
            if self.conn in ready:
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):
                    raise ScenarioError(f"{self.name} exited (code {self.proc.exitcode})") from None
                if msg[0] == "error":
                    raise ScenarioError(f"{self.name}: {msg[1]}")
                if msg[0] != tag:
                    raise ScenarioError(f"{self.name}: expected {tag!r}, got {msg[0]!r}")
                return msg
            if self.proc.sentinel in ready and not self.conn.poll():
                raise ScenarioError(
                    f"{self.name} exited (code {self.proc.exitcode}) before {tag!r}"
                )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(("close",))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


@contextlib.contextmanager
def children(mp: Any) -> Iterator[list[Child]]:
    """Children started inside are always stopped (and reaped) on the way out."""
    kids: list[Child] = []
    try:
        yield kids
    finally:
        for c in reversed(kids):
            c.stop()


@dataclass
class Run:
    """One scenario, one implementation, one repetition: named numbers."""

    scenario: str
    impl: str
    values: dict[str, float] = field(default_factory=dict)
    error: str = ""


def _server(mp: Any, kids: list[Child], impl: str, kind: str, p: dict[str, Any], tag: str) -> Child:
    alarm = int(p["timeout"] * 6 + 60)
    sp = dict(p)
    if impl == "zmtp" and p.get("profile_dir"):
        sp["profile"] = os.path.join(p["profile_dir"], f"zmtp-{tag}")
    server = Child(mp, f"{impl} {kind}", alarm, SERVERS[impl], (kind, sp))
    kids.append(server)
    return server


def _peers(mp: Any, kids: list[Child], p: dict[str, Any]) -> Child:
    peers = Child(mp, "peers", int(p["timeout"] * 6 + 60), peers_main, ())
    kids.append(peers)
    return peers


def _gc(server: Child, run: Run, timeout: float) -> None:
    """The server's time in the cyclic GC so far (zmtp only)."""
    server.send("gc")
    _, stats = server.expect("gc", time.monotonic() + timeout)
    run.values.update(stats)


def _start(
    mp: Any,
    kids: list[Child],
    impl: str,
    kind: str,
    sp: dict[str, Any],
    tag: str,
    p: dict[str, Any],
    conns: tuple[int, str, int],
) -> tuple[Child, Child, int]:
    """A scenario's start: its server (``kind``, settings ``sp``) and the peer process;
    then the peers asked for ``conns`` (how many connections, of which socket type,
    how many handshakes at a time). (server, peers, the server's RSS once bound.)"""
    timeout = p["timeout"]
    server = _server(mp, kids, impl, kind, sp, tag)
    peers = _peers(mp, kids, p)
    dl = time.monotonic() + timeout
    _, endpoint, rss0 = server.expect("bound", dl)
    peers.expect("ready", dl)
    peers.send("connect", endpoint, *conns, timeout)
    return server, peers, rss0


def _accepted(peers: Child, n: int, timeout: float) -> float:
    """Seconds until all ``n`` connections were made; a failed one ends the scenario."""
    _, took, _ok, failed = peers.expect("connected", time.monotonic() + timeout + 5)
    if failed:
        raise ScenarioError(f"{failed} of {n} connections failed")
    return float(took)


def _rss(server: Child, timeout: float) -> tuple[int, int]:
    """The server's RSS and peak RSS, now."""
    server.send("rss")
    _, rss, peak = server.expect("rss", time.monotonic() + timeout)
    return rss, peak


def run_router(mp: Any, impl: str, p: dict[str, Any]) -> Run:
    run = Run("router", impl)
    n, timeout = p["peers"], p["timeout"]
    with children(mp) as kids:
        server, peers, rss0 = _start(
            mp, kids, impl, "router", p, "router", p, (n, "DEALER", p["window"])
        )
        run.values["accept_s"] = _accepted(peers, n, timeout)
        # Every peer asks once at the same moment; the server answers each.
        server.send("serve", n)
        peers.send("burst", timeout)
        _, took, _count = peers.expect("burst", time.monotonic() + timeout + 5)
        server.expect("served", time.monotonic() + timeout)
        run.values["burst_s"] = took
        rss1, _peak = _rss(server, timeout)
        run.values["per_conn_kb"] = (rss1 - rss0) / n / 1024
        run.values["rss_mib"] = rss1 / 2**20
        # Round trips to random peers, the server's clock.
        server.send("rt", p["round_trips"], p["warmup"], n)
        _, lat = server.expect("rt", time.monotonic() + timeout)
        lat.sort()
        run.values["rt_p50_us"] = lat[len(lat) // 2] / 1000
        run.values["rt_p99_us"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000
        # All but one leave; the survivor's request.
        server.send("serve", 1)
        peers.send("drop", n // 2, timeout)
        _, took, closing = peers.expect("dropped", time.monotonic() + timeout + 5)
        server.expect("served", time.monotonic() + timeout)
        run.values["after_drop_s"] = took
        run.values["closing_s"] = closing
        _gc(server, run, timeout)
    return run


def run_fanout(mp: Any, impl: str, p: dict[str, Any]) -> Run:
    run = Run("fanout", impl)
    n, timeout, count, size = p["subscribers"], p["timeout"], p["messages"], p["size"]
    with children(mp) as kids:
        sp = {**p, "verbose": True, "hwm": count * 2}
        server, peers, rss0 = _start(
            mp, kids, impl, "xpub", sp, "fanout", p, (n, "SUB", p["window"])
        )
        run.values["accept_s"] = _accepted(peers, n, timeout)
        server.send("await_subs", n)
        peers.send("subscribe", ("all",))
        peers.expect("subscribed", time.monotonic() + timeout)
        server.expect("subs", time.monotonic() + timeout)
        rss1, _ = _rss(server, timeout)
        run.values["per_sub_kb"] = (rss1 - rss0) / n / 1024
        frame_size = len(frame(b"\x55" * size))
        peers.send("expect", count * frame_size)
        peers.expect("expecting", time.monotonic() + timeout)
        server.send("publish", count, size)
        _, t0, t1 = server.expect("published", time.monotonic() + timeout)
        peers.send("wait_expected", timeout)
        _, t_all, _reached = peers.expect("reached", time.monotonic() + timeout + 5)
        run.values["send_loop_s"] = t1 - t0
        run.values["delivered_s"] = t_all - t0
        _, peak = _rss(server, timeout)
        run.values["peak_rss_mib"] = peak / 2**20
        _gc(server, run, timeout)
    return run


def run_lengths(mp: Any, impl: str, p: dict[str, Any]) -> Run:
    run = Run("lengths", impl)
    timeout = p["timeout"]
    lengths, per = p["lengths"], p["per_length"]
    total = lengths * per
    _, fill = nested_topics(lengths, 1)
    rest = 4096 - 1 - len(fill)
    matching = bytes([7]) + fill + b"\x33" * rest
    missing = bytes([200]) + fill + b"\x33" * rest
    with children(mp) as kids:
        sp = {**p, "hwm": p["sends"] * 2}
        server, peers, rss0 = _start(mp, kids, impl, "xpub", sp, "lengths", p, (1, "SUB", 1))
        peers.expect("connected", time.monotonic() + timeout)
        server.send("await_subs", total)
        peers.send("subscribe", ("nested", lengths, per))
        peers.expect("subscribed", time.monotonic() + timeout)
        _, took = server.expect("subs", time.monotonic() + timeout * 3)
        run.values["absorb_s"] = took
        rss1, _ = _rss(server, timeout)
        run.values["per_sub_b"] = (rss1 - rss0) / total
        for name, topic in (("match", matching), ("nomatch", missing)):
            server.send("send_cost", topic, p["sends"], 5)
            _, per_send = server.expect("cost", time.monotonic() + timeout)
            run.values[f"{name}_us"] = statistics.median(per_send) * 1e6
        _gc(server, run, timeout)
    return run


def run_samelen(mp: Any, impl: str, p: dict[str, Any]) -> Run:
    run = Run("samelen", impl)
    timeout, total = p["timeout"], p["subscriptions"]
    with children(mp) as kids:
        sp = {**p, "hwm": 1000}
        server, peers, _ = _start(mp, kids, impl, "xpub", sp, "samelen", p, (1, "SUB", 1))
        peers.expect("connected", time.monotonic() + timeout)
        rss0, _ = _rss(server, timeout)
        server.send("await_subs", total)
        peers.send("subscribe", ("same", total))
        peers.expect("subscribed", time.monotonic() + timeout)
        _, took = server.expect("subs", time.monotonic() + timeout * 3)
        run.values["absorb_s"] = took
        rss1, _ = _rss(server, timeout)
        run.values["rss_mib"] = (rss1 - rss0) / 2**20
        run.values["per_sub_b"] = (rss1 - rss0) / total
        _gc(server, run, timeout)
    return run


RUNNERS: dict[str, Callable[[Any, str, dict[str, Any]], Run]] = {
    "router": run_router,
    "fanout": run_fanout,
    "lengths": run_lengths,
    "samelen": run_samelen,
}


def trie_tracemalloc(total: int, lengths: int, per_length: int) -> dict[str, float]:
    """zmtp's subscription trie alone: bytes per subscription, by tracemalloc."""
    import gc
    import tracemalloc

    from zmtp.routing import SubscriptionTrie

    class Key:
        pass

    key = Key()
    out = {}
    sets: list[tuple[str, Callable[[], list[bytes]]]] = [
        ("same", lambda: same_length_topics(total)),
        ("random", lambda: random_topics(total)),
        ("nested", lambda: nested_topics(lengths, per_length)[0]),
    ]
    for name, make in sets:
        topics = make()
        gc.collect()
        tracemalloc.start()
        trie: SubscriptionTrie[Key] = SubscriptionTrie()
        for t in topics:
            trie.add(bytes(bytearray(t)), key)  # a copy: count what the trie keeps
        used, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[name] = used / len(topics)
        del trie
    return out


def run_bench_py(p: dict[str, Any], scenarios: list[str], impls: list[str]) -> dict[str, Any]:
    """Run interop/bench.py for the rows it measures; its JSON document."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [sys.executable, script, "--json", out]
        for s in scenarios:
            for only in BENCH_PY_ONLY[s]:
                for impl in impls:
                    cmd += ["--only", f"{only},{impl}"]
        if p["quick"]:
            cmd.append("--quick")
        if p.get("bench_repeat"):
            cmd += ["--repeat", str(p["bench_repeat"])]
        progress(f"running: {' '.join(cmd[1:])}")
        done = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=sys.stderr, timeout=p["bench_timeout"], check=False
        )
        if done.returncode != 0 or not os.path.exists(out):
            raise ScenarioError(f"interop/bench.py exited with {done.returncode}")
        with open(out, encoding="utf-8") as f:
            return dict(json.load(f))


# =====================================================================================
# Reporting
# =====================================================================================

#: (scenario, value name, label, unit, lower is better, target ratio or None)
ROWS: list[tuple[str, str, str, str, bool, float | None]] = [
    ("router", "accept_s", "ROUTER, {peers:,} peers: accept and handshake all", "s", True, 2.0),
    (
        "router",
        "burst_s",
        "ROUTER, {peers:,} peers: {peers:,} simultaneous requests answered",
        "s",
        True,
        None,
    ),
    (
        "router",
        "rt_p50_us",
        "ROUTER, {peers:,} peers: round trip to a random peer, p50",
        "µs",
        True,
        1.5,
    ),
    (
        "router",
        "rt_p99_us",
        "ROUTER, {peers:,} peers: round trip to a random peer, p99",
        "µs",
        True,
        None,
    ),
    (
        "router",
        "after_drop_s",
        "ROUTER: first reply after {dropped:,} of {peers:,} peers disconnect",
        "s",
        True,
        2.0,
    ),
    ("router", "per_conn_kb", "ROUTER: memory per connection", "kB", True, 1.0),
    (
        "fanout",
        "delivered_s",
        "XPUB → {subscribers:,} SUBs, {messages:,} x {size} B: publish until delivered",
        "s",
        True,
        2.0,
    ),
    (
        "fanout",
        "send_loop_s",
        "XPUB → {subscribers:,} SUBs: the publisher's send loop alone",
        "s",
        True,
        None,
    ),
    ("fanout", "peak_rss_mib", "XPUB → {subscribers:,} SUBs: peak RSS", "MiB", True, None),
    ("fanout", "per_sub_kb", "XPUB → {subscribers:,} SUBs: memory per subscriber", "kB", True, 1.5),
    (
        "lengths",
        "match_us",
        "XPUB, {lengths_total:,} subs of {lengths:,} lengths: send, 4 KiB topic that matches",
        "µs",
        True,
        2.0,
    ),
    (
        "lengths",
        "nomatch_us",
        "XPUB, {lengths_total:,} subs of {lengths:,} lengths: send, 4 KiB topic matching none",
        "µs",
        True,
        2.0,
    ),
    (
        "lengths",
        "absorb_s",
        "XPUB: taking in those {lengths_total:,} subscriptions",
        "s",
        True,
        None,
    ),
    ("lengths", "per_sub_b", "XPUB: RSS per subscription (nested set)", "B", True, None),
    (
        "samelen",
        "rss_mib",
        "XPUB, {subscriptions:,} same-length subscriptions: RSS growth",
        "MiB",
        True,
        1.0,
    ),
    (
        "samelen",
        "per_sub_b",
        "XPUB, same-length subscriptions: RSS per subscription",
        "B",
        True,
        1.0,
    ),
    (
        "samelen",
        "absorb_s",
        "XPUB: taking in those {subscriptions:,} subscriptions",
        "s",
        True,
        None,
    ),
]


def fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def span(values: list[float]) -> str:
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}-{fmt(hi)}"


def ratio_span(z: list[float], y: list[float]) -> tuple[str, float | None]:
    """The ratio of the medians, and the range of pairwise ratios (runs in order)."""
    if not z or not y or not all(v > 0 for v in y):
        return "n/a", None
    pairs = [a / b for a, b in zip(z, y, strict=False)]
    mid = statistics.median(z) / statistics.median(y)
    text = f"{mid:.2f}x"
    if len(pairs) > 1 and f"{min(pairs):.2f}" != f"{max(pairs):.2f}":
        text += f" ({min(pairs):.2f}-{max(pairs):.2f})"
    return text, mid


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def bench_py_rows(doc: dict[str, Any]) -> list[list[str]]:
    """The quoted rows (interop/bench.py's numbers): case, zmtp, pyzmq, ratio, target.
    Cells give the range over its repetitions where it reports them."""
    rows = []

    def by_impl(items: list[dict[str, Any]], **match: Any) -> dict[str, dict[str, Any]]:
        return {
            str(it.get("impl")): it
            for it in items
            if not it.get("error") and all(it.get(k) == v for k, v in match.items())
        }

    def row(label: str, got: dict[str, dict[str, Any]], key: str, unit: str, goal: str) -> None:
        def values(impl: str) -> list[float]:
            it = got.get(impl, {})
            runs = it.get("runs") if key in ("msgs_per_s", "p50_us") else None
            vals = runs or ([it[key]] if it.get(key) else [])
            return [float(v) for v in vals if isinstance(v, (int, float)) and v > 0]

        z, y = values("zmtp"), values("pyzmq")
        ratio = statistics.median(z) / statistics.median(y) if z and y else None
        status = ""
        if ratio is not None:
            want = float(goal.split()[1].rstrip("x"))
            ok = ratio <= want if goal.startswith("≤") else ratio >= want
            status = " met" if ok else " not met"
        rows.append(
            [
                f"{label} (bench.py)",
                f"{span(z)} {unit}".strip() if z else "n/a",
                f"{span(y)} {unit}".strip() if y else "n/a",
                f"{ratio:.2f}x" if ratio is not None else "n/a",
                goal + status,
            ]
        )

    lat = by_impl(doc.get("latency", []))
    if lat:
        row("REQ/REP round trip 64 B, p50", lat, "p50_us", "µs", "≤ 1x")
        row("REQ/REP round trip 64 B, p99", lat, "p99_us", "µs", "≤ 1.5x")
    fan = by_impl(doc.get("fanout", []), subscribers=10, size=16)
    if fan:
        row("PUB → 10 SUBs, 16 B, msgs/s to each", fan, "msgs_per_s", "", "≥ 1x")
    for size, label, goal in (
        (16, "16 B", "≥ 0.5x"),
        (4096, "4 KiB", "≥ 1x"),
        (1 << 20, "1 MiB", "≥ 1x"),
    ):
        cur = by_impl(doc.get("curve", []), size=size)
        if cur:
            row(f"CURVE tcp {label}, msgs/s", cur, "msgs_per_s", "", goal)
    return rows


# =====================================================================================
# Main
# =====================================================================================


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="smaller counts, one run (~2 min)")
    ap.add_argument(
        "--only",
        action="append",
        metavar="TOKENS",
        help=f"comma-separated scenarios ({', '.join(SCENARIOS)}) and implementations "
        "(pyzmq, zmtp)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write every number as JSON")
    ap.add_argument("--repeat", type=int, help="runs per scenario and implementation (2; quick 1)")
    ap.add_argument("--peers", type=int, help="ROUTER peers (10,000; quick 2,000)")
    ap.add_argument("--subscribers", type=int, help="SUB connections (1,000; quick 200)")
    ap.add_argument("--messages", type=int, default=1000, help="messages published to them (1,000)")
    ap.add_argument("--size", type=int, default=100, help="their size in octets (100)")
    ap.add_argument(
        "--lengths", type=int, default=1000, help="distinct subscription lengths (1,000)"
    )
    ap.add_argument("--per-length", type=int, help="subscriptions per length (100; quick 20)")
    ap.add_argument(
        "--subscriptions", type=int, help="same-length subscriptions (100,000; quick 20,000)"
    )
    ap.add_argument("--sends", type=int, default=1000, help="sends per timed loop (1,000)")
    ap.add_argument("--round-trips", type=int, help="timed round trips (2,000; quick 500)")
    ap.add_argument("--warmup", type=int, default=200, help="warm-up round trips (200)")
    ap.add_argument("--window", type=int, default=64, help="handshakes in flight at once (64)")
    ap.add_argument(
        "--timeout", type=float, help="seconds for one step of a scenario (60; quick 30)"
    )
    ap.add_argument("--bench-repeat", type=int, help="--repeat passed to interop/bench.py")
    ap.add_argument("--profile", metavar="DIR", help="write a cProfile of each zmtp server to DIR")
    ns = ap.parse_args(argv)
    q = ns.quick
    ns.repeat = ns.repeat or (1 if q else 2)
    ns.peers = ns.peers or (2000 if q else 10_000)
    ns.subscribers = ns.subscribers or (200 if q else 1000)
    ns.per_length = ns.per_length or (20 if q else 100)
    ns.subscriptions = ns.subscriptions or (20_000 if q else 100_000)
    ns.round_trips = ns.round_trips or (500 if q else 2000)
    ns.timeout = ns.timeout or (30.0 if q else 60.0)
    return ns


def selected(only: list[str] | None) -> tuple[list[str], list[str]]:
    scen: set[str] = set()
    impls: set[str] = set()
    for spec in only or []:
        for raw in spec.split(","):
            t = raw.strip().lower()
            if not t:
                continue
            if t in SCENARIOS:
                scen.add(t)
            elif t in IMPLS:
                impls.add(t)
            else:
                raise SystemExit(
                    f"--only: unknown token {raw!r} (scenarios: {', '.join(SCENARIOS)})"
                )
    return [s for s in SCENARIOS if not scen or s in scen], [
        i for i in IMPLS if not impls or i in impls
    ]


def versions() -> dict[str, str]:
    out = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    with contextlib.suppress(Exception):
        import zmq

        out["pyzmq"], out["libzmq"] = zmq.__version__, zmq.zmq_version()
    with contextlib.suppress(Exception):
        import trio

        out["trio"] = trio.__version__
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios, impls = selected(args.only)
    mp = multiprocessing.get_context("spawn")
    p: dict[str, Any] = {
        "peers": args.peers,
        "subscribers": args.subscribers,
        "messages": args.messages,
        "size": args.size,
        "lengths": args.lengths,
        "per_length": args.per_length,
        "subscriptions": args.subscriptions,
        "sends": args.sends,
        "round_trips": args.round_trips,
        "warmup": args.warmup,
        "window": args.window,
        "timeout": args.timeout,
        "quick": args.quick,
        "bench_repeat": args.bench_repeat,
        "bench_timeout": 1800,
        "profile_dir": os.path.abspath(args.profile) if args.profile else None,
    }
    if p["profile_dir"]:
        os.makedirs(p["profile_dir"], exist_ok=True)
    raise_nofile(max(args.peers, args.subscribers) + 256)
    started = time.monotonic()
    ver = versions()
    print("# zmtp vs pyzmq at scale\n")
    print(
        f"{ver.get('machine')}, load average {os.getloadavg()[0]:.2f} at start; Python "
        f"{ver.get('python')}, pyzmq {ver.get('pyzmq')} (libzmq {ver.get('libzmq')}), trio "
        f"{ver.get('trio')}. Peers are raw ZMTP 3.0 clients in another process; "
        f"{args.repeat} run(s) per implementation, alternating; ranges over the runs, "
        f"ratio of the medians (zmtp/pyzmq).\n",
        flush=True,
    )
    runs: dict[tuple[str, str], list[Run]] = {}
    local = [s for s in scenarios if s in RUNNERS]
    for scen in local:
        for rep in range(args.repeat):
            for impl in impls:
                t0 = time.monotonic()
                try:
                    run = RUNNERS[scen](mp, impl, p)
                except ScenarioError as exc:
                    run = Run(scen, impl, error=str(exc))
                except Exception as exc:  # a bug in the benchmark itself: say it, go on
                    traceback.print_exc()
                    run = Run(scen, impl, error=f"benchmark: {describe(exc)}")
                runs.setdefault((scen, impl), []).append(run)
                what = run.error or ", ".join(f"{k} {fmt(v)}" for k, v in run.values.items())
                progress(f"{scen} {impl} #{rep + 1}: {what} [{time.monotonic() - t0:.1f} s]")
    names = {
        "peers": args.peers,
        "dropped": args.peers - 1,
        "subscribers": args.subscribers,
        "messages": args.messages,
        "size": args.size,
        "lengths": args.lengths,
        "lengths_total": args.lengths * args.per_length,
        "subscriptions": args.subscriptions,
    }
    table = []
    summary = []
    for scen, key, label, unit, _lower, goal in ROWS:
        if scen not in local:
            continue
        cells = {}
        vals = {}
        for impl in IMPLS:
            rs = runs.get((scen, impl), [])
            errs = [r.error for r in rs if r.error]
            vals[impl] = [r.values[key] for r in rs if not r.error and key in r.values]
            if vals[impl]:
                cells[impl] = f"{span(vals[impl])} {unit}"
            elif errs:
                cells[impl] = f"error: {errs[0][:80]}"
            else:
                cells[impl] = "n/a"
        rtext, ratio = ratio_span(vals["zmtp"], vals["pyzmq"])
        target = f"≤ {goal:g}x" if goal is not None else ""
        status = ""
        if goal is not None and ratio is not None:
            status = " met" if ratio <= goal else " not met"
        table.append([label.format(**names), cells["zmtp"], cells["pyzmq"], rtext, target + status])
        summary.append(
            {
                "row": label.format(**names),
                "zmtp": vals["zmtp"],
                "pyzmq": vals["pyzmq"],
                "ratio": ratio,
                "goal": goal,
            }
        )
    trie_mem: dict[str, float] = {}
    if "samelen" in local and "zmtp" in impls:
        trie_mem = trie_tracemalloc(args.subscriptions, args.lengths, args.per_length)
    bench_doc: dict[str, Any] = {}
    quoted = [s for s in scenarios if s in BENCH_PY_ONLY]
    bench_error = ""
    if quoted:
        try:
            bench_doc = run_bench_py(p, quoted, impls)
        except (ScenarioError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
            bench_error = describe(exc)
        table += bench_py_rows(bench_doc)
    print(md_table(["case", "zmtp", "pyzmq (libzmq)", "zmtp/pyzmq", "target"], table) + "\n")
    gc_notes = []
    for scen in local:
        zr = [r for r in runs.get((scen, "zmtp"), []) if not r.error and "gc_s" in r.values]
        if zr:
            gc_notes.append(
                f"{scen} {span([r.values['gc_s'] for r in zr])} s "
                f"({span([r.values['gc2_n'] for r in zr])} full collections, "
                f"{span([r.values['gc_objects_k'] for r in zr])}k objects tracked at the end)"
            )
    if gc_notes:
        print("Time the zmtp server spent in Python's cyclic GC: " + "; ".join(gc_notes) + ".\n")
    if trie_mem:
        print(
            f"zmtp's subscription trie alone (tracemalloc, one key), per subscription: "
            f"{trie_mem['same']:.0f} B for {args.subscriptions:,} `topic.%010d`, "
            f"{trie_mem['random']:.0f} B for as many random 16-octet topics, "
            f"{trie_mem['nested']:.0f} B for the {args.lengths * args.per_length:,} nested ones "
            "(the RSS rows also hold what the server has freed but kept: the notices "
            "and frames of subscriptions read and reported).\n"
        )
    if bench_error:
        print(f"interop/bench.py rows: error: {bench_error}\n")
    errors = [(k, r.error) for k, rs in runs.items() for r in rs if r.error]
    if errors:
        print("Errors:\n")
        for (scen, impl), err in errors:
            print(f"- {scen} {impl}: {err}")
        print()
    elapsed = time.monotonic() - started
    print(f"Total time: {elapsed:.0f} s (load average {os.getloadavg()[0]:.2f} at the end).")
    if args.json:
        doc = {
            "versions": ver,
            "settings": {k: v for k, v in p.items() if k != "profile_dir"},
            "runs": [
                {"scenario": r.scenario, "impl": r.impl, "values": r.values, "error": r.error}
                for rs in runs.values()
                for r in rs
            ],
            "rows": summary,
            "trie_tracemalloc_bytes_per_sub": trie_mem,
            "bench_py": bench_doc,
            "elapsed_s": elapsed,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 1 if errors or bench_error else 0


if __name__ == "__main__":
    sys.exit(main())
