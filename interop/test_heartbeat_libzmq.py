"""Connection heartbeating between zmtp and libzmq 4.3 (RFC 37 "Connection Heartbeating").

* libzmq heartbeating a zmtp socket: zmtp answers every PING, so libzmq keeps the
  connection for many times its ``heartbeat_timeout``;
* zmtp heartbeating libzmq: libzmq answers, so zmtp keeps it; a libzmq process that
  freezes (SIGSTOP) stops answering and is dropped after ``heartbeat_timeout``, and
  zmtp reconnects once it thaws;
* the TTL in libzmq's PINGs (``heartbeat_ttl``, in tenths of a second on the wire)
  makes zmtp drop a libzmq peer that falls silent, though zmtp sends no PING itself.

The PINGs are counted by a tcp proxy between the two (``fault_helpers.Proxy``, whose
walker follows the connecting side's stream frame by frame), so "the connection stayed
up for N intervals" is waited for as N PINGs seen, never as time slept.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
import pytest
import zmq
from engines import CLOCK_GRAIN
from fault_helpers import Proxy, Session, libzmq_process
from libzmq_helpers import HOST, free_tcp_port, in_thread
from zmq.utils.monitor import parse_monitor_message

import zmtp
from zmtp import Event

pytestmark = pytest.mark.interop

#: Seconds one test may take.
TEST_TIMEOUT = 15
#: Heartbeat interval and timeout (ms) on whichever side heartbeats.
IVL, TIMEOUT = 50, 150
#: PINGs to see before the connection counts as kept: eight intervals, well past two
#: timeouts after the first.
PINGS = 8
#: Seconds a drop may come later than its rule allows (scheduling on a busy box).
SLACK = 1.0


def pings(session: Session) -> list[tuple[int, bytes]]:
    """``(ttl, context)`` of every PING the connecting side sent through ``session``."""
    return [
        (int.from_bytes(data[:2], "big"), data[2:])
        for name, data in session.walker.commands
        if name == b"PING"
    ]


def libzmq_events(monitor: zmq.Socket) -> list[int]:
    """The libzmq monitor's events so far (types), without waiting."""
    events = []
    while monitor.poll(0):
        events.append(parse_monitor_message(monitor.recv_multipart())["event"])
    return events


async def zmtp_events(monitor: zmtp.Monitor) -> list[zmtp.MonitorEvent]:
    """The zmtp monitor's events so far, without waiting."""
    seen = []
    with anyio.CancelScope() as scope:
        scope.cancel()  # receive() returns at once while events are buffered
        while True:
            seen.append(await monitor.receive())
    return seen


async def test_zmtp_answers_libzmq_pings_so_libzmq_keeps_the_connection(
    zctx: zmtp.Context, zsock: Callable[..., zmq.Socket], task_group: anyio.abc.TaskGroup
):
    # libzmq drops a peer that sends nothing within heartbeat_timeout of a PING; zmtp
    # has no heartbeat of its own here, so only its PONGs keep the connection.
    with anyio.fail_after(TEST_TIMEOUT):
        ours = zctx.socket(zmtp.DEALER, linger=0)
        endpoint = await ours.bind(f"tcp://{HOST}:*")
        proxy = Proxy(endpoint)
        await task_group.start(proxy.run)
        theirs = zsock(zmq.DEALER, heartbeat_ivl=IVL, heartbeat_timeout=TIMEOUT, heartbeat_ttl=2000)
        their_monitor = theirs.get_monitor_socket()
        async with ours.monitor(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED) as monitor:
            theirs.connect(proxy.endpoint)
            session = await proxy.session(0)
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            await session.wait(lambda: len(pings(session)) >= PINGS)
            assert set(pings(session)) == {(20, b"")}  # 2000 ms in tenths, no context
            assert await zmtp_events(monitor) == []
        assert zmq.EVENT_DISCONNECTED not in libzmq_events(their_monitor)
        assert len(proxy.sessions) == 1, "libzmq reconnected"
        await in_thread(theirs.send, b"still linked")
        assert await ours.recv() == b"still linked"
        await ours.send(b"both ways")
        assert await in_thread(theirs.recv) == b"both ways"


async def test_libzmq_answers_zmtp_pings_so_zmtp_keeps_the_connection(
    zctx: zmtp.Context, zsock: Callable[..., zmq.Socket], task_group: anyio.abc.TaskGroup
):
    with anyio.fail_after(TEST_TIMEOUT):
        theirs = zsock(zmq.DEALER)
        port = theirs.bind_to_random_port(f"tcp://{HOST}")
        proxy = Proxy(f"tcp://{HOST}:{port}")
        await task_group.start(proxy.run)
        ours = zctx.socket(
            zmtp.DEALER, linger=0, heartbeat_ivl=IVL, heartbeat_timeout=TIMEOUT, heartbeat_ttl=1000
        )
        async with ours.monitor(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED) as monitor:
            await ours.connect(proxy.endpoint)
            session = await proxy.session(0)
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            await session.wait(lambda: len(pings(session)) >= PINGS)
            assert set(pings(session)) == {(10, b"")}  # heartbeat_ttl 1000 ms: 10 tenths
            assert await zmtp_events(monitor) == [], "zmtp dropped an answering libzmq"
        assert len(proxy.sessions) == 1
        await ours.send(b"still linked")
        assert await in_thread(theirs.recv) == b"still linked"


async def test_zmtp_drops_a_frozen_libzmq_peer_after_heartbeat_timeout_and_reconnects(
    zctx: zmtp.Context,
):
    # SIGSTOP freezes libzmq's threads while its kernel keeps the tcp connection: only
    # heartbeats can tell. After SIGCONT it accepts zmtp's new connection.
    endpoint = f"tcp://{HOST}:{free_tcp_port()}"
    with anyio.fail_after(TEST_TIMEOUT):
        ours = zctx.socket(
            zmtp.DEALER, linger=0, heartbeat_ivl=IVL, heartbeat_timeout=TIMEOUT, reconnect_ivl=20
        )
        async with (
            libzmq_process("echo", "ROUTER", endpoint) as peer,
            ours.monitor(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED) as monitor,
        ):
            await ours.connect(endpoint)
            await ours.send(b"before")
            assert await ours.recv() == b"before"
            peer.proc.send_signal(signal.SIGSTOP)
            frozen = anyio.current_time()
            ev = await monitor.wait_for(Event.DISCONNECTED)
            dropped = anyio.current_time()
            peer.proc.send_signal(signal.SIGCONT)
            await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            await ours.send(b"after")
            assert await ours.recv() == b"after"
    assert ev.reason.startswith("heartbeat timeout"), ev.reason
    # The PING that goes unanswered left at most one interval before the freeze (the
    # one before it was answered), or within an interval after it; then the timeout.
    assert dropped - frozen >= (TIMEOUT - IVL) / 1000 - CLOCK_GRAIN
    assert dropped - frozen <= (IVL + TIMEOUT) / 1000 + SLACK


async def test_zmtp_honours_the_ttl_of_libzmq_pings_and_drops_a_frozen_libzmq_peer(
    zctx: zmtp.Context, task_group: anyio.abc.TaskGroup
):
    # zmtp heartbeats nothing here; libzmq asks, in each PING, to be dropped if it
    # says nothing for 300 ms (heartbeat_ttl), and its own timeout is long.
    ttl_ms = 300
    with anyio.fail_after(TEST_TIMEOUT):
        ours = zctx.socket(zmtp.DEALER, linger=0)
        endpoint = await ours.bind(f"tcp://{HOST}:*")
        proxy = Proxy(endpoint)
        await task_group.start(proxy.run)
        options = {"heartbeat_ivl": IVL, "heartbeat_ttl": ttl_ms, "heartbeat_timeout": 10_000}
        async with (
            ours.monitor(Event.DISCONNECTED) as monitor,
            libzmq_process("send", "DEALER", proxy.endpoint, 0, 0, 8, **options) as peer,
        ):
            await ours.recv_multipart()  # the one message it sends
            session = await proxy.session(0)
            await session.wait(lambda: len(pings(session)) >= 2)
            peer.proc.send_signal(signal.SIGSTOP)
            ev = await monitor.wait_for(Event.DISCONNECTED)
            dropped = anyio.current_time()
            last_traffic = session.command_times[-1]  # its last PING, just before zmtp read it
            peer.proc.send_signal(signal.SIGCONT)
    assert set(pings(session)) == {(ttl_ms // 100, b"")}
    assert "heartbeat TTL expired" in ev.reason, ev.reason
    assert dropped - last_traffic >= ttl_ms / 1000 - CLOCK_GRAIN
    assert dropped - last_traffic <= ttl_ms / 1000 + SLACK
