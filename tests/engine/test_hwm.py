"""High-water marks: a PUSH whose PULL never reads can queue only a bounded number of
messages; then ``send_nowait`` raises ``Again`` and ``send`` waits (RFC 30: PUSH
"SHALL NOT discard messages that it cannot queue" and blocks instead).

Where the messages wait:

* inproc: the two sockets share one queue whose limit is the sender's ``sndhwm`` plus
  the receiver's ``rcvhwm`` (libzmq's rule), so the bound is exact;
* tcp / ipc: the sender's pipe (``sndhwm``), the kernel's socket buffers on both sides,
  the receiver's pipe (``rcvhwm``), plus what the two engines hold in hand (the
  writer's current batch, at most ``BATCH_BYTES``, and the reader's last read, at most
  ``READ_SIZE``). Observed on Linux with 64 KiB messages, ``sndhwm=5``, ``rcvhwm=7``:
  about 75 over tcp and 20 over ipc; the tests assert the bound computed from the
  kernel's maximum buffer sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from engine_helpers import fill_until_again, fill_until_send_waits, link
from engines import settle

import zmtp
from zmtp.core.stream import BATCH_BYTES, READ_SIZE

SNDHWM, RCVHWM = 5, 7
#: Big enough that the kernel's buffers hold few of them (tcp buffers autotune to MBs).
MSG = [b"h" * 65536]


def _proc_int(path: str, field: int = 0) -> int | None:
    try:
        return int(Path(path).read_text().split()[field])
    except (OSError, ValueError, IndexError):
        return None


def kernel_buffer_bytes(transport: str) -> int:
    """The most the kernel may buffer between two connected sockets (both sides)."""
    if transport == "tcp":
        parts = [_proc_int("/proc/sys/net/ipv4/tcp_wmem", 2)]
        parts.append(_proc_int("/proc/sys/net/ipv4/tcp_rmem", 2))
    else:
        parts = [_proc_int("/proc/sys/net/core/wmem_max")]
        parts.append(_proc_int("/proc/sys/net/core/rmem_max"))
    if None in parts:
        return 64 * 1024 * 1024  # not Linux: a generous stand-in
    return sum(p for p in parts if p is not None)


def capacity_bound(transport: str) -> int:
    if transport == "inproc":
        return SNDHWM + RCVHWM
    in_flight = kernel_buffer_bytes(transport) + BATCH_BYTES + READ_SIZE
    return SNDHWM + RCVHWM + -(-in_flight // len(MSG[0])) + 2


async def pair_with_idle_reader(
    make: Callable[..., zmtp.Socket], endpoint: str
) -> tuple[zmtp.Socket, zmtp.Socket]:
    pull = make(zmtp.PULL, rcvhwm=RCVHWM)
    push = make(zmtp.PUSH, sndhwm=SNDHWM)
    await link(pull, push, endpoint)
    return push, pull


async def test_inproc_queues_exactly_sndhwm_plus_rcvhwm(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        push, _ = await pair_with_idle_reader(make, "inproc://hwm-exact")
        assert await fill_until_again(push, [b"m"]) == SNDHWM + RCVHWM
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"one more")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_stream_transports_refuse_after_a_bounded_count(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        push, _ = await pair_with_idle_reader(make, endpoint())
        count = await fill_until_again(push, MSG)
        print(f"{transport}: {count} messages of {len(MSG[0])} octets queued before Again")
        assert SNDHWM + RCVHWM <= count <= capacity_bound(transport)
        with pytest.raises(zmtp.Again):
            push.send_multipart_nowait(MSG)


@pytest.mark.needs("cancel-in-flight")
async def test_send_waits_at_the_hwm_and_completes_once_the_reader_reads(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        push, pull = await pair_with_idle_reader(make, endpoint())
        # Fills to the HWM, then checks that a send waits there (and, being
        # cancelled, sends nothing).
        queued = await fill_until_send_waits(push, MSG)
        if transport == "inproc":
            assert queued == SNDHWM + RCVHWM

        sent = anyio.Event()

        async def blocked_send() -> None:
            await push.send(b"last")
            sent.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(blocked_send)
            await anyio.wait_all_tasks_blocked()
            if transport == "inproc":  # (over tcp the kernel may have made room by now)
                assert not sent.is_set()
            reads = 0
            while not sent.is_set():
                assert await pull.recv_multipart() == MSG
                reads += 1
                await settle(0)
            if transport == "inproc":
                assert reads == 1, "one read makes room for exactly one message"
        rest = [await pull.recv_multipart() for _ in range(queued - reads + 1)]
        assert rest[:-1] == [MSG] * (queued - reads)
        assert rest[-1] == [b"last"], "a cancelled send must not have been delivered"


async def test_zero_hwm_means_no_limit(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, rcvhwm=0)
        push = make(zmtp.PUSH, sndhwm=0)
        await link(pull, push, "inproc://hwm-zero")
        for i in range(20000):
            push.send_nowait(b"%d" % i)
        assert await pull.recv() == b"0"


async def test_hwm_option_sets_both_directions(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, hwm=2)
        push = make(zmtp.PUSH, hwm=3)
        assert (push.sndhwm, push.rcvhwm, pull.sndhwm, pull.rcvhwm) == (3, 3, 2, 2)
        await link(pull, push, "inproc://hwm-both")
        assert await fill_until_again(push, [b"m"]) == 3 + 2
