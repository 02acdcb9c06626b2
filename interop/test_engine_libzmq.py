"""zmtp's engines (each enabled one, ``tests/engines.py``) against libzmq 4.3 through pyzmq.

Where ``test_wire_libzmq.py`` checks the sans-IO core byte by byte, this module checks
what a user of the engine sees when the peer is libzmq: whole messages in order, the
RFC 30 routing policies (load-balancing PUSH, fair-queuing PULL), connect before bind,
reconnection after a peer's process dies, and the high-water mark that bounds memory.

Every test runs over tcp and ipc, and (unless the scenario fixes who binds) once with
zmtp binding and once with libzmq binding.

How the two sides meet without hanging or sleeping:

* libzmq never runs on the event loop's thread: its blocking calls go through
  ``anyio.to_thread.run_sync`` (or a subprocess), and every libzmq socket has a receive
  and send timeout, so a worker thread gives up within :data:`TIMEOUT` seconds;
* every test body runs under ``anyio.fail_after``;
* waits are on real events: zmtp's monitor (``HANDSHAKE_SUCCEEDED``,
  ``CONNECT_RETRIED``, ``DISCONNECTED``), libzmq's monitor, messages, and lines that a
  subprocess prints. The one quiescence wait is ``settle`` (``tests/engines.py``)
  in the HWM test, to let zmtp's writer run until the kernel refuses more.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
import zmq
from engines import settle
from libzmq_helpers import (
    LIBZMQ_BINDS,
    TIMEOUT,
    Lines,
    Msg,
    Process,
    echo_n,
    in_thread,
    join,
    ready_process,
    recv_n,
    send_all,
)

import zmtp

pytestmark = pytest.mark.interop

#: Seconds a whole test may take.
TEST_TIMEOUT = 20.0

MIB = bytes(range(256)) * 4096

#: Framing edges (empty frames, the largest short frame and the smallest long one,
#: 1 MiB frames), then numbered messages so that any reordering shows.
TRAFFIC: list[Msg] = [
    [b"hello"],
    [b""],
    [b"", b"", b""],
    [b"envelope", b"", b"body"],
    [b"a" * 255],
    [b"b" * 256],
    [MIB, b"after the big one"],
    *([b"%06d" % i, b"." * (i % 300)] for i in range(150)),
    [b"", MIB, b""],
    *([b"%06d" % i, b"", b"x" * i] for i in range(150, 300)),
]


# ---------------------------------------------------------------------------------------
# Helpers (the shared fixtures and helpers: conftest.py, libzmq_helpers.py)


async def zmtp_send_all(sock: zmtp.Socket, msgs: Sequence[Msg]) -> None:
    for msg in msgs:
        await sock.send_multipart(msg)


async def zmtp_recv_n(sock: zmtp.Socket, n: int) -> list[Msg]:
    return [await sock.recv_multipart() for _ in range(n)]


# ---------------------------------------------------------------------------------------
# Traffic: whole multipart messages, in order (RFC 23 framing; RFC 30, 31, 28 patterns)


async def test_zmtp_push_delivers_multipart_messages_in_order_to_libzmq_pull(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        push = zmtp_socket(zmtp.PUSH)
        pull = zsock(zmq.PULL)
        await join(push, [pull], binder, endpoints)
        async with anyio.create_task_group() as tg:
            tg.start_soon(zmtp_send_all, push, TRAFFIC)
            got = await in_thread(recv_n, pull, len(TRAFFIC))
        assert got == TRAFFIC


async def test_libzmq_push_delivers_multipart_messages_in_order_to_zmtp_pull(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        pull = zmtp_socket(zmtp.PULL)
        push = zsock(zmq.PUSH)
        await join(pull, [push], binder, endpoints)
        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, send_all, push, TRAFFIC)
            got = await zmtp_recv_n(pull, len(TRAFFIC))
        assert got == TRAFFIC


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(zmtp.PAIR, zmq.PAIR), (zmtp.DEALER, zmq.DEALER)],
    ids=["PAIR", "DEALER"],
)
async def test_multipart_messages_round_trip_through_libzmq_peer(
    zmtp_socket, zsock, endpoints, binder, ours, theirs
):
    # libzmq echoes every message back as it arrives, so each one crosses the
    # connection once in each direction, while zmtp keeps sending.
    with anyio.fail_after(TEST_TIMEOUT):
        sock = zmtp_socket(ours)
        peer = zsock(theirs)
        await join(sock, [peer], binder, endpoints)
        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, echo_n, peer, len(TRAFFIC))
            tg.start_soon(zmtp_send_all, sock, TRAFFIC)
            got = await zmtp_recv_n(sock, len(TRAFFIC))
        assert got == TRAFFIC


# ---------------------------------------------------------------------------------------
# Routing policies (RFC 30/PIPELINE): round-robin out, fair queuing in


def collect(pulls: Sequence[zmq.Socket], total: int) -> list[list[int]]:
    """Receive ``total`` numbered messages from whichever of ``pulls`` has one; the
    numbers each socket got, in arrival order."""
    poller = zmq.Poller()
    for pull in pulls:
        poller.register(pull, zmq.POLLIN)
    got: list[list[int]] = [[] for _ in pulls]
    remaining = total
    while remaining:
        ready = dict(poller.poll(int(TIMEOUT * 1000)))
        if not ready:
            raise TimeoutError(f"{remaining} of {total} messages missing; got {got}")
        for i, pull in enumerate(pulls):
            if pull in ready:
                got[i].append(int(pull.recv()))
                remaining -= 1
    return got


async def test_zmtp_push_round_robins_over_three_libzmq_pulls(
    zmtp_socket, zsock, endpoints, binder
):
    total = 300
    with anyio.fail_after(TEST_TIMEOUT):
        push = zmtp_socket(zmtp.PUSH)
        pulls = [zsock(zmq.PULL) for _ in range(3)]
        await join(push, pulls, binder, endpoints)
        for i in range(total):
            await push.send(b"%d" % i)
        got = await in_thread(collect, pulls, total)
    # No peer is ever full (sndhwm 1000), so the rotation is exact: each peer gets
    # every third message, in order.
    firsts = sorted(numbers[0] for numbers in got)
    assert firsts == [0, 1, 2], got
    for numbers in got:
        assert numbers == list(range(numbers[0], total, 3))


async def test_zmtp_pull_fair_queues_three_libzmq_pushes(zmtp_socket, endpoints, binder):
    # Fair queuing shows only when several peers have input at once, so every message
    # must be in zmtp before the test reads any. The pushers push everything and then
    # close with linger: libzmq's zmq_ctx_term returns only once every message went on
    # the wire, and zmtp reports DISCONNECTED for a connection only after it read the
    # stream to its end (below the rcvhwm, which nothing reaches here).
    per_peer = 100
    pushers_ctx = zmq.Context()
    try:
        pushers = []
        for _ in range(3):
            s = pushers_ctx.socket(zmq.PUSH)
            s.linger = int(TIMEOUT * 1000)
            s.sndtimeo = int(TIMEOUT * 1000)
            pushers.append(s)

        def push_everything_then_close() -> None:
            # One peer after the other: a queue served in arrival order would now
            # hand out all of peer 0's messages first.
            for k, s in enumerate(pushers):
                send_all(s, [[b"%d" % k, b"%d" % i] for i in range(per_peer)])
            for s in pushers:
                s.close()
            pushers_ctx.term()

        with anyio.fail_after(TEST_TIMEOUT):
            pull = zmtp_socket(zmtp.PULL)
            await join(pull, pushers, binder, endpoints)
            async with pull.monitor(zmtp.Event.DISCONNECTED) as monitor:
                await in_thread(push_everything_then_close)
                for _ in pushers:
                    await monitor.wait_for(zmtp.Event.DISCONNECTED)
            got = await zmtp_recv_n(pull, 3 * per_peer)
            with pytest.raises(zmtp.Again):
                pull.recv_multipart_nowait()
    finally:
        pushers_ctx.destroy(linger=0)

    peers = [int(peer) for peer, _ in got]
    # Every round of three receives takes one message from each peer.
    for r in range(per_peer):
        assert sorted(peers[3 * r : 3 * r + 3]) == [0, 1, 2], f"round {r}: {peers[:30]}..."
    for k in range(3):
        assert [int(seq) for peer, seq in got if int(peer) == k] == list(range(per_peer))


# ---------------------------------------------------------------------------------------
# Connect before bind (either side may come first; messages queue on the connecter)

EARLY: list[Msg] = [[b"early", b"%d" % i, b""] for i in range(50)]


async def test_messages_sent_before_the_peer_binds_arrive_once_it_does(
    zmtp_socket, zsock, monitor, endpoints, binder
):
    endpoint = endpoints.unused()
    with anyio.fail_after(TEST_TIMEOUT):
        if binder == LIBZMQ_BINDS:
            # zmtp connects and sends first; its connecter's pipe holds the messages.
            push = zmtp_socket(zmtp.PUSH)
            async with push.monitor(zmtp.Event.CONNECT_RETRIED) as events:
                await push.connect(endpoint)
                for msg in EARLY:
                    push.send_multipart_nowait(msg)
                await events.wait_for(zmtp.Event.CONNECT_RETRIED)  # nobody listened
            pull = zsock(zmq.PULL)
            pull.bind(endpoint)
            got = await in_thread(recv_n, pull, len(EARLY))
        else:
            # libzmq connects and sends first; zmtp binds later.
            push = zsock(zmq.PUSH)
            retried = monitor(push)
            push.connect(endpoint)
            await in_thread(send_all, push, EARLY)
            await in_thread(retried.wait_for, zmq.EVENT_CONNECT_RETRIED)
            pull = zmtp_socket(zmtp.PULL)
            await pull.bind(endpoint)
            got = await zmtp_recv_n(pull, len(EARLY))
        assert got == EARLY


# ---------------------------------------------------------------------------------------
# A libzmq peer whose process dies mid-stream and is started again

#: The libzmq peer run as a subprocess: ``role endpoint name first last size``.
#: ``pull`` binds and prints ``seq length crc32`` per message until ``seq == last``;
#: ``push`` connects, sends ``[name, seq, payload]`` for ``first..last`` (printing
#: ``sent <seq>`` after each), then stays connected until its stdin closes. Both print
#: ``ready`` first.
PEER_SCRIPT = """\
import sys, zlib, zmq

role, endpoint, name = sys.argv[1], sys.argv[2], sys.argv[3].encode()
first, last, size = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])

def payload(seq):
    return b"%07d," % seq * (size // 8)

ctx = zmq.Context()
if role == "pull":
    s = ctx.socket(zmq.PULL)
    s.linger = 0
    s.rcvtimeo = 10000
    s.bind(endpoint)
    print("ready", flush=True)
    while True:
        seq, body = s.recv_multipart()
        print(int(seq), len(body), zlib.crc32(body), flush=True)
        if int(seq) == last:
            break
else:
    s = ctx.socket(zmq.PUSH)
    s.linger = 0
    s.sndhwm = 4
    s.sndtimeo = 10000
    s.connect(endpoint)
    print("ready", flush=True)
    for seq in range(first, last + 1):
        s.send_multipart([name, b"%d" % seq, payload(seq)])
        print("sent", seq, flush=True)
    sys.stdin.read()
s.close()
ctx.term()
"""


def payload(seq: int, size: int) -> bytes:
    """The body PEER_SCRIPT sends and expects for message ``seq``."""
    return b"%07d," % seq * (size // 8)


def libzmq_process(
    *args: object,
) -> contextlib.AbstractAsyncContextManager[tuple[Process, Lines]]:
    """Run PEER_SCRIPT with ``args``; yields once it printed ``ready``. Killed on exit."""
    return ready_process(PEER_SCRIPT, *args)


async def test_zmtp_push_reconnects_to_restarted_libzmq_pull_and_continues(zmtp_socket, endpoints):
    # zmtp keeps at most `window` messages unconfirmed by the subprocess's output, so
    # the kill lands mid-stream with a bounded number of messages in flight. Between
    # the kill and the restart it sends `window` more, which can only wait in the
    # connecter's queue: every one of them must reach the new process.
    total, kill_after, window, size = 600, 200, 64, 512
    endpoint = endpoints.unused()
    first_run: list[int] = []
    second_run: list[int] = []
    sent = 0

    async def send_up_to(n: int) -> None:
        nonlocal sent
        while sent < min(n, total):
            await push.send_multipart([b"%d" % sent, payload(sent, size)])
            sent += 1

    async def confirmed(lines: Lines, log: list[int]) -> bool:
        """Record the subprocess's next line; False once it printed its last."""
        line = await lines.next()
        if line is None:
            return False
        seq, length, crc = map(int, line.split())
        body = payload(seq, size)
        assert (length, crc) == (len(body), zlib.crc32(body)), f"message {seq} corrupted"
        log.append(seq)
        return True

    with anyio.fail_after(TEST_TIMEOUT):
        push = zmtp_socket(zmtp.PUSH, reconnect_ivl=20)
        async with push.monitor(zmtp.Event.DISCONNECTED) as monitor:
            async with libzmq_process("pull", endpoint, "-", 0, total - 1, size) as (proc, out):
                await push.connect(endpoint)
                while len(first_run) < kill_after:
                    await send_up_to(len(first_run) + window)
                    assert await confirmed(out, first_run), "the first peer exited early"
                proc.kill()
                await proc.wait()
                while await confirmed(out, first_run):  # what it printed before dying
                    pass
            await monitor.wait_for(zmtp.Event.DISCONNECTED)
        during_outage = sent
        await send_up_to(during_outage + window)
        async with libzmq_process("pull", endpoint, "-", 0, total - 1, size) as (proc, out):
            while not second_run or second_run[-1] != total - 1:
                await send_up_to(sent + 1)
                assert await confirmed(out, second_run), "the second peer exited early"

    assert first_run == list(range(len(first_run)))
    assert second_run == list(range(second_run[0], total)), "the new peer missed some"
    # Lost: what was in flight to the killed process (its libzmq queue, the kernel's
    # buffers), never a duplicate, and nothing zmtp queued after the disconnection.
    # Observed with libzmq 4.3.5: 2 to 63 of the (at most) 64 in flight, most often 7.
    assert len(first_run) <= second_run[0] <= during_outage, (
        f"the first peer printed 0..{len(first_run) - 1}, the second started at "
        f"{second_run[0]}, and zmtp queued {during_outage}.. while disconnected"
    )


async def recv_unless(sock: zmtp.Socket, stop: anyio.Event) -> Msg | None:
    """The next message, or None if ``stop`` is set first (nothing is then taken: the
    wait is a poll, which takes nothing even on an engine whose waits cannot be
    cancelled)."""
    readable = False
    async with anyio.create_task_group() as tg:

        async def poll() -> None:
            nonlocal readable
            readable = bool(await sock.poll())
            tg.cancel_scope.cancel()

        async def until_stop() -> None:
            await stop.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(poll)
        tg.start_soon(until_stop)
    return sock.recv_multipart_nowait() if readable else None


async def test_zmtp_pull_keeps_complete_messages_of_a_killed_libzmq_push(zmtp_socket, endpoints):
    # The pusher sends 1 MiB messages and is killed once it is `ahead` messages past
    # what the test took, so its libzmq is busy writing. zmtp must deliver every
    # complete message it got (still readable after the DISCONNECTED event), drop a
    # cut one, and take the replacement's stream whole.
    # Observed with libzmq 4.3.5: over ipc, whose socket buffer (~208 KiB) is smaller
    # than a message, the stream was cut inside a frame in about 7 runs of 10 (reason
    # "peer closed in the middle of a message"); over tcp the kernel's larger buffers
    # took each 1 MiB write whole, and the cut always fell between messages.
    size, before_kill, ahead, second = 1 << 20, 20, 10, 30
    got: dict[bytes, list[int]] = {b"A": [], b"B": []}

    def take(msg: Msg) -> None:
        name, seq, body = msg
        assert body == payload(int(seq), size), f"{name!r} {int(seq)} corrupted"
        got[name].append(int(seq))

    with anyio.fail_after(TEST_TIMEOUT):
        pull = zmtp_socket(zmtp.PULL, rcvhwm=8)
        endpoint = await pull.bind(endpoints.to_bind())
        async with pull.monitor(zmtp.Event.DISCONNECTED) as monitor:
            async with libzmq_process("push", endpoint, "A", 0, 10**6, size) as (proc, out):
                while len(got[b"A"]) < before_kill:
                    take(await pull.recv_multipart())
                while (line := await out.next()) != f"sent {before_kill + ahead}":
                    assert line is not None, "the first pusher exited early"
                proc.kill()
                await proc.wait()

            gone = anyio.Event()

            async def watch() -> None:
                ended = await monitor.wait_for(zmtp.Event.DISCONNECTED)
                print("the killed pusher's connection ended:", ended.reason)
                gone.set()

            async with (
                libzmq_process("push", endpoint, "B", 0, second - 1, size),
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(watch)
                # Until the killed peer's connection is over, either a message or its
                # end may come next; after it, what it left is drained without waiting.
                while True:
                    if not gone.is_set():
                        msg = await recv_unless(pull, gone)
                    elif len(got[b"B"]) < second:
                        msg = await pull.recv_multipart()
                    else:
                        try:
                            msg = pull.recv_multipart_nowait()
                        except zmtp.Again:
                            break
                    if msg is not None:
                        take(msg)
    assert got[b"A"] == list(range(len(got[b"A"])))
    assert len(got[b"A"]) >= before_kill
    assert got[b"B"] == list(range(second))


# ---------------------------------------------------------------------------------------
# High-water marks: a peer that stops reading bounds what zmtp queues (RFC 30: PUSH
# SHALL block, not drop)

#: libzmq's SO_RCVBUF in the HWM test (Linux doubles it), so that the kernel's share of
#: the backlog is mostly zmtp's send buffer, which Linux caps at ``tcp_wmem``'s maximum.
LIBZMQ_RCVBUF = 4096


def largest_send_buffer() -> int:
    """The most octets Linux lets one stream socket's send buffer hold (tcp autotunes
    up to ``tcp_wmem``'s maximum; a unix socket's is at most ``wmem_max``)."""
    sizes = [4 * 1024 * 1024]
    for path, field in (
        ("/proc/sys/net/ipv4/tcp_wmem", 2),
        ("/proc/sys/net/core/wmem_max", 0),
    ):
        with contextlib.suppress(OSError, ValueError, IndexError):
            sizes.append(int(Path(path).read_text().split()[field]))
    return max(sizes)


def hwm_message(seq: int) -> Msg:
    return [b"%08d" % seq + bytes(1016)]  # 1 KiB


async def test_zmtp_push_hwm_bounds_what_a_stalled_libzmq_pull_can_make_it_queue(
    zmtp_socket, zsock, endpoints, binder
):
    hwm = 10
    # zmtp holds at most `hwm` messages; libzmq `hwm` plus one 8 KiB read batch; the
    # rest is in the two kernel buffers. Observed on Linux with libzmq 4.3.5: Again
    # after 2920 messages over tcp (the bound computes to 4096 with a 4 MiB tcp_wmem
    # maximum) and after 200 over ipc, whichever side binds.
    wire = len(hwm_message(0)[0]) + 9  # a long frame's header is 9 octets
    bound = 2 * hwm + (largest_send_buffer() + 2 * LIBZMQ_RCVBUF + 8192) // wire
    with anyio.fail_after(TEST_TIMEOUT):
        push = zmtp_socket(zmtp.PUSH, sndhwm=hwm)
        pull = zsock(zmq.PULL, rcvhwm=hwm, rcvbuf=LIBZMQ_RCVBUF)
        await join(push, [pull], binder, endpoints)

        # Each round sends until Again, then lets zmtp's writer move its queue into the
        # kernel until the kernel refuses more; a round that sends nothing ends it.
        sent = 0
        while sent <= bound:
            before = sent
            with contextlib.suppress(zmtp.Again):
                for _ in range(bound + 1):  # a runaway guard: sync code can't time out
                    push.send_multipart_nowait(hwm_message(sent))
                    sent += 1
            if sent == before:
                break
            await settle(0)
        assert hwm < sent <= bound, (
            f"send_nowait raised Again after {sent} messages ({sent * wire} octets); "
            f"the bound is {bound}"
        )
        with pytest.raises(zmtp.Again):
            push.send_multipart_nowait(hwm_message(sent))

        # A blocking send waits for room; once libzmq reads everything, it goes out
        # after the others, and the queue takes messages again.
        async with anyio.create_task_group() as tg:
            tg.start_soon(push.send_multipart, hwm_message(sent))
            got = await in_thread(recv_n, pull, sent + 1)
        assert got == [hwm_message(i) for i in range(sent + 1)]
        push.send_multipart_nowait(hwm_message(sent + 1))
        assert await in_thread(pull.recv_multipart) == hwm_message(sent + 1)
