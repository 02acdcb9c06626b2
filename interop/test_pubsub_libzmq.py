"""Publish-subscribe between zmtp and libzmq 4.3 (through pyzmq), RFC 29/PUBSUB: prefix
filtering on the publisher's side, subscriptions in both wire forms (ZMTP 3.1
SUBSCRIBE/CANCEL commands, ZMTP 3.0 messages starting with octet 1 or 0), XPUB's
reports, XSUB's upstream messages, libzmq's proxy between zmtp peers, a publisher
process that dies and comes back, and a subscriber that stops reading.

Every test runs over tcp and ipc and, unless the scenario fixes who binds, once with
zmtp binding and once with libzmq binding.

How the tests wait without sleeping (see ``pubsub_helpers``):

* a publisher that reports subscriptions (XPUB) is read: the report is the proof;
* a PUB reports nothing, so numbered probes are published under the topic until the
  subscriber receives one (:func:`pubsub_helpers.probe_until_delivered`);
* a *bound* libzmq socket attaches a new peer only when its application thread
  touches it (see ``conftest.py``), so while zmtp waits for a libzmq subscriber's
  subscription, the libzmq sockets are touched every few milliseconds (pacing, not
  synchronization: the wait ends on the subscription);
* libzmq's blocking calls run in worker threads, every libzmq socket has 5 s timeouts,
  and every test body runs under ``anyio.fail_after``.
"""

from __future__ import annotations

import contextlib
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import pytest
import zmq
from libzmq_helpers import (
    ZMTP_BINDS,
    Endpoints,
    Lines,
    Msg,
    Process,
    in_thread,
    join,
    python_process,
    recv_n,
)
from pubsub_helpers import RawPeer, probe_until_delivered, raw_peer_accepting, zmtp_within

import zmtp
from zmtp.constants import SocketType
from zmtp.core.stream import BATCH_BYTES, READ_SIZE
from zmtp.wire import Cancel, Subscribe, encode_message

pytestmark = pytest.mark.interop

#: Seconds a whole test may take.
TEST_TIMEOUT = 20.0

WEATHER_TRAFFIC: list[Msg] = [
    [b"sports", b"weather"],  # only the first frame is compared
    [b"weather"],
    [b"weath"],
    [b"weather.today", b"sunny"],
    [b"Weather"],  # binary comparison: case matters
    [b"\x01weather"],
    [b"weatherman", b"", b"last"],  # matching, and sent last
]
WEATHER_MATCHING = [m for m in WEATHER_TRAFFIC if m[0].startswith(b"weather")]
NOT_MATCHING = [m for m in WEATHER_TRAFFIC if not m[0].startswith(b"weather")]


# ---------------------------------------------------------------------------------------
# Helpers (the shared fixtures and helpers: conftest.py, libzmq_helpers.py)


def libzmq_within(zsocket: zmq.Socket) -> Callable[[float], Any]:
    """``recv_within(seconds)`` for :func:`probe_until_delivered`, from a libzmq socket."""

    def poll_recv(seconds: float) -> Msg | None:
        if zsocket.poll(int(seconds * 1000) + 1):
            return zsocket.recv_multipart()
        return None

    return lambda seconds: in_thread(poll_recv, seconds)


async def recv_touching(sock: zmtp.Socket, touched: Sequence[zmq.Socket]) -> bytes:
    """``sock.recv()``, touching the libzmq sockets meanwhile so that a bound one
    attaches its new peers (and sends its subscriptions)."""
    got: list[bytes] = []
    async with anyio.create_task_group() as tg:

        async def receive() -> None:
            got.append(await sock.recv())
            tg.cancel_scope.cancel()

        tg.start_soon(receive)
        while True:
            for zsocket in touched:
                zsocket.getsockopt(zmq.EVENTS)  # never blocks
            await anyio.sleep(0.005)  # pacing: the wait ends on the received report
    return got[0]


# ---------------------------------------------------------------------------------------
# zmtp publishes, libzmq (or a raw peer) subscribes


async def test_zmtp_pub_delivers_only_matching_messages_to_libzmq_sub(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        pub = zmtp_socket(zmtp.PUB)
        sub = zsock(zmq.SUB)
        sub.subscribe(b"weather")
        await join(pub, [sub], binder, endpoints)
        await probe_until_delivered(
            lambda f: pub.send_multipart_nowait([f]), libzmq_within(sub), b"weather"
        )
        for msg in WEATHER_TRAFFIC:
            await pub.send_multipart(msg)
        assert await in_thread(recv_n, sub, len(WEATHER_MATCHING)) == WEATHER_MATCHING


@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["zmtp30", "zmtp31"])
async def test_zmtp_pub_filters_before_sending_so_the_wire_carries_only_matches(
    zmtp_socket, transport, tmp_path, binder, version
):
    """A raw subscriber that filters nothing records every message the zmtp PUB put on
    its connection: only those matching its subscription of the moment, whether it
    subscribed with ZMTP 3.1 commands or ZMTP 3.0 messages."""
    with anyio.fail_after(TEST_TIMEOUT):
        pub = zmtp_socket(zmtp.PUB)
        if binder == ZMTP_BINDS:
            ep = await pub.bind(Endpoints(transport, tmp_path).to_bind())
            peer = await RawPeer.connect(ep, version=version)
        else:  # zmtp connects to the raw peer's listener
            peer = await raw_peer_accepting(transport, tmp_path, pub.connect, version=version)
        async with peer.stream:
            assert (await peer.handshake()).version == version
            await peer.subscribe(b"weather")
            await probe_until_delivered(
                lambda f: pub.send_multipart_nowait([f]), peer.recv_within, b"weather"
            )
            for msg in WEATHER_TRAFFIC:
                await pub.send_multipart(msg)
            assert [await peer.recv() for _ in WEATHER_MATCHING] == WEATHER_MATCHING

            await peer.cancel(b"weather")
            await peer.subscribe(b"Z")  # applied after the CANCEL, on one connection
            await probe_until_delivered(
                lambda f: pub.send_multipart_nowait([f]), peer.recv_within, b"Z"
            )
            await pub.send(b"weather after the cancel")
            await pub.send(b"Z marks the end")
            assert await peer.recv() == [b"Z marks the end"]

        assert all(m[0].startswith((b"weather", b"Z")) for m in peer.messages)
        for msg in [*NOT_MATCHING, [b"weather after the cancel"]]:
            assert encode_message(msg) not in peer.wire, f"{msg!r} crossed the wire"


@pytest.mark.parametrize("version", [(3, 0), (3, 1)], ids=["zmtp30", "zmtp31"])
async def test_zmtp_sub_subscribes_in_the_form_the_publishers_version_wants(
    zmtp_socket, transport, tmp_path, version
):
    """RFC 37: a 3.1 peer talking to a 3.0 peer uses 3.0 rules (subscriptions as
    messages). A raw PUB announcing ``version`` records what the zmtp SUB sent."""
    subscribe_wire, cancel_wire = {
        (3, 0): (b"\x00\x08\x01weather", b"\x00\x08\x00weather"),
        (3, 1): (b"\x04\x11\x09SUBSCRIBEweather", b"\x04\x0e\x06CANCELweather"),
    }[version]
    with anyio.fail_after(TEST_TIMEOUT):
        sub = zmtp_socket(zmtp.SUB, subscribe=b"weather")
        ep = await sub.bind(Endpoints(transport, tmp_path).to_bind())
        peer = await RawPeer.connect(ep, SocketType.PUB, version)
        async with peer.stream:
            assert (await peer.handshake()).version == version
            assert await peer.next_event() == Subscribe(b"weather")
            assert subscribe_wire in peer.wire
            await peer.stream.send(peer.conn.send_message([b"weather", b"report"]))
            assert await sub.recv_multipart() == [b"weather", b"report"]
            sub.unsubscribe(b"weather")
            assert await peer.next_event() == Cancel(b"weather")
            assert cancel_wire in peer.wire


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
async def test_zmtp_xpub_hears_libzmq_subscribers_once_per_topic_unless_verbose(
    zmtp_socket, zsock, endpoints, binder, verbose
):
    """libzmq's SUB sends every SUBSCRIBE but only one CANCEL, when its own count of a
    topic drops to zero; zmtp's XPUB counts a topic once per peer (README: deliberate
    differences), so that one CANCEL ends it."""
    with anyio.fail_after(TEST_TIMEOUT):
        xpub = zmtp_socket(zmtp.XPUB, xpub_verbose=verbose)
        s1, s2 = zsock(zmq.SUB), zsock(zmq.SUB)
        await join(xpub, [s1, s2], binder, endpoints)

        async def report() -> bytes:
            return await recv_touching(xpub, [s1, s2])

        s1.subscribe(b"A")
        assert await report() == b"\x01A"
        s2.subscribe(b"A")  # a second subscriber of A
        s1.subscribe(b"A")  # a repeated subscription: libzmq sends it again
        s2.subscribe(b"B")
        s1.subscribe(b"B")
        # The two connections race, so verbose reports come in any order; quiet, the
        # first B is the only news, and any other report would show up below.
        expected = [b"\x01A", b"\x01A", b"\x01B", b"\x01B"] if verbose else [b"\x01B"]
        assert sorted([await report() for _ in expected]) == expected

        s1.unsubscribe(b"A")
        s1.unsubscribe(b"A")  # libzmq's count reaches zero: one CANCEL
        s2.unsubscribe(b"A")  # the last subscriber of A leaves
        assert await report() == b"\x00A"
        s2.unsubscribe(b"B")  # s1 still wants B: reported in neither mode
        s1.unsubscribe(b"B")
        assert await report() == b"\x00B"


@pytest.mark.parametrize("binder", [ZMTP_BINDS])
async def test_zmtp_xpub_reports_the_unsubscriptions_of_a_libzmq_subscriber_that_leaves(
    zmtp_socket, zsock, endpoints, binder
):
    """RFC 29 XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a
    suitable unsubscribe request". Only for a subscriber that connected: when the XPUB
    connected, it "SHALL maintain the double queue whether or not the connection is
    established", so the subscriptions stay with the queue (as in libzmq, whose
    connecting XPUB reports nothing either)."""
    with anyio.fail_after(TEST_TIMEOUT):
        xpub = zmtp_socket(zmtp.XPUB)
        sub = zsock(zmq.SUB)
        await join(xpub, [sub], binder, endpoints)
        sub.subscribe(b"A")
        assert await recv_touching(xpub, [sub]) == b"\x01A"
        async with xpub.monitor(zmtp.Event.DISCONNECTED) as monitor:
            sub.close(linger=0)
            await monitor.wait_for(zmtp.Event.DISCONNECTED)
        assert await xpub.recv() == b"\x00A"


async def test_zmtp_xsub_sends_subscriptions_and_upstream_messages_to_libzmq_xpub(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        xsub = zmtp_socket(zmtp.XSUB)
        xpub = zsock(zmq.XPUB)
        await join(xsub, [xpub], binder, endpoints)
        await xsub.send(b"\x01A")
        assert await in_thread(xpub.recv) == b"\x01A"
        await xsub.send_multipart([b"upstream", b"message"])
        assert await in_thread(xpub.recv_multipart) == [b"upstream", b"message"]
        xpub.send_multipart([b"A", b"down"])
        assert await xsub.recv_multipart() == [b"A", b"down"]
        await xsub.send(b"\x00A")
        assert await in_thread(xpub.recv) == b"\x00A"


# ---------------------------------------------------------------------------------------
# libzmq publishes, zmtp subscribes


async def test_libzmq_pub_delivers_only_matching_messages_to_zmtp_sub(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        sub = zmtp_socket(zmtp.SUB, subscribe=b"weather")
        pub = zsock(zmq.PUB)
        await join(sub, [pub], binder, endpoints)
        # libzmq's PUB never blocks on send: calling it here cannot stall the event loop.
        await probe_until_delivered(lambda f: pub.send(f), zmtp_within(sub), b"weather")
        for msg in WEATHER_TRAFFIC:
            pub.send_multipart(msg)
        assert [await sub.recv_multipart() for _ in WEATHER_MATCHING] == WEATHER_MATCHING

        sub.unsubscribe(b"weather")
        sub.subscribe(b"Z")
        await probe_until_delivered(lambda f: pub.send(f), zmtp_within(sub), b"Z")
        pub.send(b"weather after the unsubscription")
        pub.send(b"Z marks the end")
        assert await sub.recv() == b"Z marks the end"


async def test_zmtp_sub_receives_everything_from_three_libzmq_pubs(
    zmtp_socket, zsock, endpoints, binder
):
    per_pub = 50
    with anyio.fail_after(TEST_TIMEOUT):
        sub = zmtp_socket(zmtp.SUB, subscribe=b"")
        pubs = [zsock(zmq.PUB) for _ in range(3)]
        await join(sub, pubs, binder, endpoints)
        for pub in pubs:
            await probe_until_delivered(lambda f: pub.send(f), zmtp_within(sub), b"")  # noqa: B023
        for i, pub in enumerate(pubs):
            for j in range(per_pub):
                pub.send_multipart([b"%d" % i, b"%d" % j])
        seen: dict[bytes, list[int]] = {b"0": [], b"1": [], b"2": []}
        for _ in range(3 * per_pub):
            src, seq = await sub.recv_multipart()
            seen[src].append(int(seq))
        assert all(seqs == list(range(per_pub)) for seqs in seen.values()), seen


# ---------------------------------------------------------------------------------------
# libzmq's forwarder between zmtp peers


async def test_libzmq_proxy_forwards_subscriptions_up_and_messages_down_between_zmtp_peers(
    zmtp_socket, zsock, ctx, endpoints
):
    frontend, backend = zsock(zmq.XSUB), zsock(zmq.XPUB)
    frontend.bind(endpoints.to_bind())
    backend.bind(endpoints.to_bind())
    control = ctx.socket(zmq.PAIR)
    control.bind("inproc://proxy-control")
    steer = ctx.socket(zmq.PAIR)
    steer.connect("inproc://proxy-control")
    proxy = threading.Thread(
        target=zmq.proxy_steerable, args=(frontend, backend, None, steer), daemon=True
    )
    proxy.start()
    try:
        with anyio.fail_after(TEST_TIMEOUT):
            publisher = zmtp_socket(zmtp.XPUB)  # an XPUB, to see the subscription arrive
            subscriber = zmtp_socket(zmtp.SUB)
            await publisher.connect(frontend.last_endpoint.decode())
            await subscriber.connect(backend.last_endpoint.decode())
            subscriber.subscribe(b"A")
            # zmtp SUB -> libzmq XPUB -> proxy -> libzmq XSUB -> zmtp XPUB
            assert await publisher.recv() == b"\x01A"
            await publisher.send_multipart([b"B", b"not wanted"])
            await publisher.send_multipart([b"A", b"forwarded"])
            assert await subscriber.recv_multipart() == [b"A", b"forwarded"]
            subscriber.unsubscribe(b"A")
            assert await publisher.recv() == b"\x00A"
    finally:
        control.send(b"TERMINATE")
        await in_thread(proxy.join, 5)
        control.close(linger=0)
    assert not proxy.is_alive()


# ---------------------------------------------------------------------------------------
# A libzmq publisher whose process dies and comes back

#: ``endpoint name``: binds a PUB, prints ``ready``, then publishes ``A name n`` and
#: ``B name n`` every few milliseconds until its stdin closes.
PUBLISHER_SCRIPT = """\
import sys, threading, time, zmq

endpoint, name = sys.argv[1], sys.argv[2].encode()
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.linger = 0
pub.bind(endpoint)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("ready", flush=True)
n = 0
while not stop.is_set():
    pub.send(b"A %s %d" % (name, n))
    pub.send(b"B %s %d" % (name, n))
    n += 1
    time.sleep(0.002)  # pacing: a publisher that keeps publishing
pub.close()
ctx.term()
"""


@contextlib.asynccontextmanager
async def libzmq_publisher(endpoint: str, name: str) -> AsyncIterator[Process]:
    """Run PUBLISHER_SCRIPT; yields once it printed ``ready``. Killed on exit."""
    async with python_process(PUBLISHER_SCRIPT, endpoint, name) as proc:
        assert proc.stdout is not None
        line = await Lines(proc.stdout).next()
        assert line == "ready", f"the publisher exited before it was ready ({line!r})"
        yield proc


async def test_zmtp_sub_subscribes_again_to_a_restarted_libzmq_publisher_process(
    zmtp_socket, endpoints
):
    endpoint = endpoints.unused()
    with anyio.fail_after(TEST_TIMEOUT):
        sub = zmtp_socket(zmtp.SUB, subscribe=b"A ", reconnect_ivl=20)
        async with sub.monitor(zmtp.Event.DISCONNECTED) as monitor:
            await sub.connect(endpoint)
            async with libzmq_publisher(endpoint, "first") as proc:
                first = [await sub.recv() for _ in range(5)]
                proc.kill()
            await monitor.wait_for(zmtp.Event.DISCONNECTED)
        async with libzmq_publisher(endpoint, "second"):
            second = await sub.recv()
            while not second.startswith(b"A second"):  # what the first left in the queue
                assert second.startswith(b"A first")
                second = await sub.recv()
        assert all(m.startswith(b"A first") for m in first)


# ---------------------------------------------------------------------------------------
# A libzmq subscriber that stops reading (RFC 29 PUB: "SHALL silently drop the message if
# the queue for a subscriber is full"; "SHALL NOT block on sending")

SLOW_HWM = 20
SLOW_MSG_SIZE = 16 * 1024
SLOW_ROUNDS, SLOW_BATCH = 100, 10  # 1000 messages, 16 MB published


async def test_a_stalled_libzmq_subscriber_slows_neither_the_zmtp_pub_nor_the_others(
    zmtp_socket, zsock, endpoints, binder
):
    """The zmtp publisher sends in rounds that a fast libzmq subscriber keeps up with,
    while a second one (``rcvhwm`` 20, a 4 KiB socket buffer) never reads. No send
    waits or fails, the fast subscriber gets every message, and zmtp's memory stays
    bounded: its pipes (``2 * SLOW_HWM`` messages), one read and one write batch, twice
    over: ``2 * (2 * 20 * 16 KiB + 256 KiB + 1 MiB)`` ~ 3.8 MiB, against 16 MB published
    (tracemalloc, which also counts the bytes pyzmq hands the fast reader's thread).
    Observed: 0.84 MB, with 770 to 940 of the 1000 messages dropped for the stalled one."""
    bound = 2 * (2 * SLOW_HWM * SLOW_MSG_SIZE + READ_SIZE + BATCH_BYTES)
    with anyio.fail_after(TEST_TIMEOUT):
        xpub = zmtp_socket(zmtp.XPUB, sndhwm=SLOW_HWM, xpub_verbose=True)
        fast = zsock(zmq.SUB)
        slow = zsock(zmq.SUB, rcvhwm=SLOW_HWM, rcvbuf=4096)
        for sub in (fast, slow):
            sub.subscribe(b"")
        await join(xpub, [fast, slow], binder, endpoints)
        for _ in range(2):
            assert await recv_touching(xpub, [fast, slow]) == b"\x01"

        body = b"." * (SLOW_MSG_SIZE - 8)
        got: list[int] = []

        def recv_seqs(n: int) -> list[int]:
            return [int(fast.recv()[:8]) for _ in range(n)]

        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            for r in range(SLOW_ROUNDS):
                for i in range(r * SLOW_BATCH, (r + 1) * SLOW_BATCH):
                    xpub.send_multipart_nowait([b"%08d" % i + body[:-1] + b"!"])
                got += await in_thread(recv_seqs, SLOW_BATCH)
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert got == list(range(SLOW_ROUNDS * SLOW_BATCH))
        assert peak < bound, f"{peak} bytes held by zmtp"
        assert xpub._core.pattern.dist.dropped > 0, "the stalled subscriber's path held everything"
