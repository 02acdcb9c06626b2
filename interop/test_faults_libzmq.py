"""Fault injection between zmtp and libzmq 4.3, with every message accounted for.

Streams of numbered, checksummed messages (``fault_helpers.message``) cross a tcp
connection that then breaks: the libzmq process is killed (and started again), the
connection is reset (a proxy aborts both sides with SO_LINGER 0), or it is half-closed
in the middle of a frame (the proxy forwards part of a frame, then shuts down writing).
For PUSH/PULL and DEALER/ROUTER, with zmtp as the connecting sender and (through the
proxy) as the bound receiver, the receiver must see:

* no corrupted message (each carries the CRC-32 of its body) and no duplicate;
* the messages before the fault, then a gap, then every message after it, in order;
* a gap (lost in flight) no larger than what the fault could destroy: what sat in the
  kernel's buffers, in the proxy, and in the sender's engine at that moment, measured
  there (``SIOCOUTQ``/``FIONREAD``) or bounded by the options set here;
* every message still queued on the connecting side when the fault hit, delivered
  after the reconnect (the pipe of a connect outlives its connections, RFC 30/28 and
  libzmq's session).

What libzmq itself drops in the same faults (4.3, ``stream_engine_base.cpp`` and
``session_base.cpp``), and what zmtp drops instead:

* as the **sender**, libzmq loses what its engine already took from the pipe: its
  encoder's batch (``out_batch_size``, 8 KiB, plus the rest of a multipart message
  that was half read, which ``clean_pipes`` discards) and whatever the kernel held.
  Messages still in the pipe survive for the next connection of a connecting socket.
  zmtp's writer takes a bigger batch from its queue (up to 256 messages or 1 MiB, see
  ``zmtp.core.stream``), so it may lose more in flight, never more than that batch
  plus the kernel's share, and never a message still queued;
* as the **receiver**, libzmq loses what its process held when it died (messages in its
  pipe, up to ``rcvhwm``, and its decoder's 8 KiB batch) and drops a message cut short
  by EOF or a reset; zmtp delivers every complete message it read and drops the cut one.

Nothing sleeps: waits are for lines the libzmq process prints, messages, monitor
events and the proxy's progress; every test runs under ``anyio.fail_after``.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from engines import settle
from fault_helpers import Peer, Proxy, check, libzmq_process, message, unsent_octets
from libzmq_helpers import HOST, free_tcp_port

import zmtp
from zmtp import Event
from zmtp.core.stream import BATCH_BYTES, BATCH_MESSAGES

pytestmark = pytest.mark.interop

#: Seconds one test may take.
TEST_TIMEOUT = 30
#: Body octets of each message: big enough that a cut lands inside a body.
SIZE = 16 * 1024
#: Octets one message takes on the wire: three frames (seq, crc, body), the body's
#: with a 9-octet header.
WIRE = 2 + 6 + 2 + 8 + 9 + SIZE
#: Messages the sender may have unconfirmed while streaming (by the receiver's lines).
WINDOW = 32
#: Messages confirmed before the fault.
BEFORE = 100
#: Messages sent after the fault, beyond what was sent before it.
AFTER = 100
#: zmtp's send HWM, and the libzmq peer's HWM and kernel buffer sizes.
HWM = 50
LIBZMQ_HWM = 10
LIBZMQ_BUF = 64 * 1024
#: SO_RCVBUF of the proxy's client-side sockets.
PROXY_RCVBUF = 64 * 1024
#: libzmq's encoder and decoder batch (``out_batch_size``/``in_batch_size``).
LIBZMQ_BATCH = 8192
#: What zmtp's writer may have taken from its queue (and lose with the connection):
#: one batch, which can never hold more than the queue did.
WRITER_BATCH = min(HWM, BATCH_MESSAGES, BATCH_BYTES // SIZE + 1)

PAIRS = pytest.mark.parametrize(
    ("ours", "theirs"),
    [(zmtp.PUSH, "PULL"), (zmtp.DEALER, "ROUTER")],
    ids=["PUSH-PULL", "DEALER-ROUTER"],
)
RECEIVING = pytest.mark.parametrize(
    ("ours", "theirs"),
    [(zmtp.PULL, "PUSH"), (zmtp.ROUTER, "DEALER")],
    ids=["PUSH-PULL", "DEALER-ROUTER"],
)


def messages_for(octets: int) -> int:
    """The most messages ``octets`` of buffer can hold, whole or in part."""
    return math.ceil(octets / WIRE) + 1


def gap(delivered: list[int], total: int) -> tuple[int, int]:
    """``(a, b)`` such that ``delivered`` is exactly ``0..a-1`` then ``b..total-1``: no
    duplicate, nothing out of order, one gap at most."""
    assert len(delivered) == len(set(delivered)), "a message was delivered twice"
    a = next((i for i, seq in enumerate(delivered) if seq != i), len(delivered))
    b = delivered[a] if a < len(delivered) else total
    assert delivered == [*range(a), *range(b, total)], f"not one gap: {delivered}"
    return a, b


class Sender:
    """zmtp sending numbered messages, paced by what the receiver confirmed."""

    def __init__(self, sock: zmtp.Socket) -> None:
        self.sock = sock
        self.sent = 0

    async def send_up_to(self, n: int) -> None:
        while self.sent < n:
            await self.sock.send_multipart(message(self.sent, SIZE))
            self.sent += 1

    async def stream(self, peer: Peer, last: int, floor: int = 0) -> None:
        """Send up to message ``last`` while at most WINDOW are unconfirmed, counting
        from what ``peer`` confirmed or ``floor``, whichever is later (after a fault,
        what was sent is delivered or lost: ``floor`` says how far that goes); return
        once ``peer`` confirmed ``last``."""
        while not peer.seen or peer.seen[-1] < last:
            confirmed = max(peer.seen[-1] + 1 if peer.seen else 0, floor)
            await self.send_up_to(min(last + 1, confirmed + WINDOW))
            assert await peer.take_line(), "the libzmq peer exited"

    async def fill(self) -> int:
        """Queue messages until Again even after every task ran as far as it could (the
        receiver reads nothing now); return how many were sent in all."""
        while True:
            try:
                for _ in range(10_000):  # a runaway guard: sync code cannot time out
                    self.sock.send_multipart_nowait(message(self.sent, SIZE))
                    self.sent += 1
                raise AssertionError("10,000 messages queued and still room")
            except zmtp.Again:
                before = self.sent
            await settle(0)
            try:
                self.sock.send_multipart_nowait(message(self.sent, SIZE))
                self.sent += 1
            except zmtp.Again:
                if self.sent == before:
                    return self.sent


def report(what: str, **numbers: Any) -> None:
    """The accounting, printed for the record (``pytest -s``)."""
    print(f"\n[faults] {what}: " + ", ".join(f"{k} {v}" for k, v in numbers.items()))


# ---------------------------------------------------------------------------------------
# zmtp connects and sends; the libzmq peer's process is killed, then started again


@PAIRS
async def test_a_killed_libzmq_receiver_loses_only_what_was_in_flight_and_queued_ones_follow(
    zctx: zmtp.Context, ours: zmtp.SocketType, theirs: str
):
    # The receiver is stopped (SIGSTOP) so that zmtp's queue fills to its HWM and the
    # kernel's buffers fill behind it; then it is killed. What the kill destroys: the
    # receiver's kernel buffer and its libzmq's pipe and decoder batch, zmtp's send
    # buffer, zmtp's writer batch. What it must not destroy: zmtp's queue.
    endpoint = f"tcp://{HOST}:{free_tcp_port()}"
    options = {"rcvhwm": LIBZMQ_HWM, "rcvbuf": LIBZMQ_BUF}
    with anyio.fail_after(TEST_TIMEOUT):
        sock = zctx.socket(ours, sndhwm=HWM, reconnect_ivl=20, linger=0)
        sender = Sender(sock)
        async with sock.monitor(Event.CONNECTED | Event.DISCONNECTED) as monitor:
            async with libzmq_process("recv", theirs, endpoint, size=SIZE, **options) as first:
                await sock.connect(endpoint)
                fd = (await monitor.wait_for(Event.CONNECTED)).value
                await sender.stream(first, BEFORE - 1)
                first.proc.send_signal(signal.SIGSTOP)
                at_fault = await sender.fill()
                in_zmtp_kernel = unsent_octets(fd)
                await first.kill()
            lost_connection = await monitor.wait_for(Event.DISCONNECTED)
        total = at_fault + AFTER
        async with libzmq_process("recv", theirs, endpoint, size=SIZE, **options) as second:
            await sender.stream(second, total - 1, floor=at_fault)

    a, b = gap(first.seen + second.seen, total)
    assert first.seen == list(range(a)) and second.seen == list(range(b, total))
    queued = range(at_fault - HWM, at_fault)  # zmtp's queue was full when Again came
    bound = (
        WRITER_BATCH
        + messages_for(in_zmtp_kernel)
        + messages_for(2 * LIBZMQ_BUF + LIBZMQ_BATCH)  # Linux doubles SO_RCVBUF
        + LIBZMQ_HWM
    )
    report(
        f"kill {ours.name}->{theirs}",
        sent=total,
        delivered=total - (b - a),
        lost_in_flight=b - a,
        bound=bound,
        sent_at_fault=at_fault,
        zmtp_kernel_octets=in_zmtp_kernel,
        reason=repr(lost_connection.reason),
    )
    assert b <= queued.start, f"messages {a}..{b - 1} lost, but {queued.start}.. were queued"
    assert b - a <= bound


# ---------------------------------------------------------------------------------------
# Through the proxy: a reset, and a half-close in the middle of a frame


@PAIRS
async def test_a_reset_loses_only_what_the_kernels_and_zmtp_writer_held_and_queued_ones_follow(
    zctx: zmtp.Context, task_group: anyio.abc.TaskGroup, ours: zmtp.SocketType, theirs: str
):
    # The proxy stops reading from zmtp (zmtp's queue and the kernel fill), the libzmq
    # receiver gets everything the proxy forwarded, then both connections are reset.
    # Lost: exactly what sat in zmtp's send buffer, the proxy's receive buffer, and
    # zmtp's writer batch; delivered after the reconnect: everything still queued.
    upstream = f"tcp://{HOST}:{free_tcp_port()}"
    with anyio.fail_after(TEST_TIMEOUT):
        async with libzmq_process("recv", theirs, upstream, size=SIZE) as peer:
            proxy = Proxy(upstream, rcvbuf=PROXY_RCVBUF)
            await task_group.start(proxy.run)
            sock = zctx.socket(ours, sndhwm=HWM, reconnect_ivl=20, linger=0)
            sender = Sender(sock)
            async with sock.monitor(Event.CONNECTED | Event.DISCONNECTED) as monitor:
                await sock.connect(proxy.endpoint)
                fd = (await monitor.wait_for(Event.CONNECTED)).value
                session = await proxy.session(0)
                await sender.stream(peer, BEFORE - 1)
                await session.pause()
                await peer.until(len(session.forwarded))  # all it forwarded arrived
                at_fault = await sender.fill()
                in_zmtp_kernel = unsent_octets(fd)
                await session.reset()
                in_proxy_kernel = session.unread_at_fault
                reset = await monitor.wait_for(Event.DISCONNECTED)
            total = at_fault + AFTER
            await sender.stream(peer, total - 1, floor=at_fault)

    a, b = gap(peer.seen, total)
    assert a == len(session.forwarded), "libzmq missed a message the proxy forwarded whole"
    queued = range(at_fault - HWM, at_fault)
    bound = WRITER_BATCH + messages_for(in_zmtp_kernel) + messages_for(in_proxy_kernel)
    report(
        f"reset {ours.name}->{theirs}",
        sent=total,
        delivered=len(peer.seen),
        lost_in_flight=b - a,
        bound=bound,
        sent_at_fault=at_fault,
        zmtp_kernel_octets=in_zmtp_kernel,
        proxy_kernel_octets=in_proxy_kernel,
        reason=repr(reset.reason),
    )
    assert "reset" in reset.reason or "closed" in reset.reason, reset.reason
    assert b <= queued.start, f"messages {a}..{b - 1} lost, but {queued.start}.. were queued"
    assert b - a <= bound


@PAIRS
async def test_a_half_close_mid_frame_loses_the_cut_message_and_no_more_than_the_window(
    zctx: zmtp.Context, task_group: anyio.abc.TaskGroup, ours: zmtp.SocketType, theirs: str
):
    # With every message so far confirmed, the proxy is told to cut, and zmtp sends
    # WINDOW more: the proxy forwards part of a frame body and shuts down writing.
    # libzmq must deliver every message before the cut and drop the cut one; zmtp,
    # its connection closed, must reconnect and carry on. At most the WINDOW messages
    # sent after the cut was armed were in flight.
    upstream = f"tcp://{HOST}:{free_tcp_port()}"
    total = BEFORE + WINDOW + AFTER
    with anyio.fail_after(TEST_TIMEOUT):
        async with libzmq_process("recv", theirs, upstream, size=SIZE) as peer:
            proxy = Proxy(upstream, rcvbuf=PROXY_RCVBUF)
            await task_group.start(proxy.run)
            sock = zctx.socket(ours, sndhwm=HWM, reconnect_ivl=20, linger=0)
            sender = Sender(sock)
            quiet = Event.DISCONNECTED | Event.HANDSHAKE_SUCCEEDED
            async with sock.monitor(quiet) as monitor:
                await sock.connect(proxy.endpoint)
                await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
                session = await proxy.session(0)
                await sender.stream(peer, BEFORE - 1)
                await peer.until(sender.sent)  # nothing unconfirmed
                async with anyio.create_task_group() as cutting:
                    cutting.start_soon(session.half_close_mid_frame)
                    await sender.send_up_to(sender.sent + WINDOW)
                closed = await monitor.wait_for(Event.DISCONNECTED)
                await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)  # reconnected
            # Whatever was sent so far was delivered or lost: a fresh window.
            await sender.stream(peer, total - 1, floor=sender.sent)

    a, b = gap(peer.seen, total)
    cut = session.cut_message
    assert cut is not None
    assert a == len(session.forwarded), "libzmq missed a message the proxy forwarded whole"
    assert int(cut) == a, "the message cut short is not the one after the whole ones"
    assert a < b, "the message cut short was delivered"
    report(
        f"half-close {ours.name}->{theirs}",
        sent=total,
        delivered=len(peer.seen),
        lost_in_flight=b - a,
        bound=WINDOW,
        cut_message=a,
        reason=repr(closed.reason),
    )
    assert b - a <= WINDOW


# ---------------------------------------------------------------------------------------
# zmtp binds and receives; libzmq connects and sends through the proxy


async def receive_until(sock: zmtp.Socket, got: list[int], done: Callable[[], bool]) -> None:
    """Receive checked messages into ``got`` until ``done()``."""
    while not done():
        frames = await sock.recv_multipart()
        if sock.type == zmtp.ROUTER:
            frames = frames[1:]
        got.append(check(frames, SIZE))


@RECEIVING
@pytest.mark.parametrize("fault", ["reset", "half-close"])
async def test_zmtp_receiver_delivers_every_whole_message_once_across_a_fault(
    zctx: zmtp.Context,
    task_group: anyio.abc.TaskGroup,
    ours: zmtp.SocketType,
    theirs: str,
    fault: str,
):
    # libzmq sends 0..total-1 through the proxy. Reset: the proxy stops reading, zmtp
    # receives everything it forwarded, then both sides are reset. Half-close: the proxy
    # forwards part of a frame and shuts down writing. Either way zmtp must deliver
    # exactly the messages the proxy forwarded whole, never the cut one, and then what
    # libzmq sends over its new connection; libzmq may lose what its engine and the
    # kernel held (see the module's docstring).
    total = 400
    libzmq_sndbuf = 64 * 1024
    got: list[int] = []
    with anyio.fail_after(TEST_TIMEOUT):
        sock = zctx.socket(ours, linger=0)
        endpoint = await sock.bind(f"tcp://{HOST}:*")
        proxy = Proxy(endpoint, rcvbuf=PROXY_RCVBUF)
        await task_group.start(proxy.run)
        options = {"sndhwm": LIBZMQ_HWM, "sndbuf": libzmq_sndbuf, "reconnect_ivl": 20}
        async with (
            sock.monitor(Event.DISCONNECTED) as monitor,
            libzmq_process("send", theirs, proxy.endpoint, 0, total - 1, SIZE, **options),
        ):
            session = await proxy.session(0)
            await receive_until(sock, got, lambda: len(got) >= BEFORE)
            if fault == "reset":
                await session.pause()
                await receive_until(sock, got, lambda: len(got) == len(session.forwarded))
                await session.reset()
            else:
                async with anyio.create_task_group() as cutting:
                    cutting.start_soon(session.half_close_mid_frame)
                    await receive_until(sock, got, lambda: session.cut_message is not None)
                # The whole messages forwarded before the cut are on their way to zmtp
                # (an engine whose I/O runs in a thread of its own may not have them yet).
                await receive_until(sock, got, lambda: len(got) >= len(session.forwarded))
            closed = await monitor.wait_for(Event.DISCONNECTED)
            await receive_until(sock, got, lambda: got[-1] == total - 1)

    # What zmtp parsed before the fault may still sit in its queue at DISCONNECTED, so
    # the order of delivery is the check: exactly the whole forwarded messages, then
    # (after a gap) what the new connection carried.
    a, b = gap(got, total)
    # Any gap starts right after the last message forwarded whole; a reset may find
    # nothing in flight (libzmq's engine idle, its kernel and the proxy's empty): no gap.
    assert a == len(session.forwarded) or (fault == "reset" and a == b == total), (
        f"messages {a}..{b - 1} lost, but the proxy forwarded 0..{len(session.forwarded) - 1}"
    )
    if fault == "half-close":
        assert closed.reason == "peer closed in the middle of a message"
        assert session.cut_message is not None and int(session.cut_message) == a
        assert a < b, "the message cut short was delivered"
    else:
        assert "reset" in closed.reason, closed.reason
    # libzmq's engine batch and send buffer (Linux doubles SO_SNDBUF), what the proxy
    # had not read, and what it read but did not forward.
    in_proxy = session.unread_at_fault + session.dropped_at_fault
    bound = messages_for(2 * libzmq_sndbuf + LIBZMQ_BATCH) + messages_for(in_proxy)
    report(
        f"{fault} {theirs}->{ours.name}",
        sent=total,
        delivered=len(got),
        lost_in_flight=b - a,
        bound=bound,
        forwarded_whole=a,
        proxy_octets=in_proxy,
        reason=repr(closed.reason),
    )
    assert b - a <= bound
