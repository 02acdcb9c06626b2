"""Engine-neutral rules that both engines' readers, writers and pollers use, driven
with numbers and no event loop: how much a reader asks of the kernel next (fairness),
how a partly taken ``sendmsg`` is carried on, and what a poll set reports."""

from __future__ import annotations

import pytest

import zmtp
from zmtp.core import ContextCore, SocketCore
from zmtp.core.poll import PollSet, timeout_seconds
from zmtp.core.stream import (
    FIRST_READ,
    MIN_READ,
    READ_SIZE,
    TURN,
    drop_written,
    next_read_size,
)

# -- fairness: the size of the next read ------------------------------------------------


def test_a_slow_read_halves_the_next_one_down_to_the_minimum() -> None:
    size = FIRST_READ
    sizes = []
    for _ in range(10):
        size = next_read_size(size, TURN * 3)
        sizes.append(size)
    assert sizes[:4] == [FIRST_READ // 2, FIRST_READ // 4, FIRST_READ // 8, FIRST_READ // 16]
    assert sizes[-1] == MIN_READ and min(sizes) == MIN_READ


def test_a_fast_read_doubles_the_next_one_up_to_the_maximum() -> None:
    size = MIN_READ
    for _ in range(20):
        size = next_read_size(size, 0.0)
    assert size == READ_SIZE
    assert next_read_size(FIRST_READ, TURN / 8) == FIRST_READ * 2


def test_a_read_neither_slow_nor_fast_keeps_its_size() -> None:
    """Between a quarter of the turn and the turn, the size holds (no oscillation)."""
    for took in (TURN / 4, TURN / 2, TURN):
        assert next_read_size(FIRST_READ, took) == FIRST_READ


# -- writes the kernel took only partly ----------------------------------------------


def test_drop_written_removes_what_the_kernel_took_across_buffers() -> None:
    views = [memoryview(b"abc"), memoryview(b"defgh"), memoryview(b"ij")]
    drop_written(views, 5)
    assert [bytes(v) for v in views] == [b"fgh", b"ij"]
    drop_written(views, 3)
    assert [bytes(v) for v in views] == [b"ij"]
    drop_written(views, 0)
    assert [bytes(v) for v in views] == [b"ij"]
    drop_written(views, 2)
    assert views == []


# -- poll sets ---------------------------------------------------------------------------


class _Face:
    """The least a poller needs of a socket: its core."""

    def __init__(self, core: SocketCore) -> None:
        self.core = core


class _Runtime:
    def wake_send(self) -> None:
        return None

    wake_recv = wake_drain = wake_send

    def close_connection(self, pipe: object) -> None:
        return None


def test_a_poll_set_reports_readiness_among_the_registered_events_in_order() -> None:
    context = ContextCore()
    pull = _Face(SocketCore(zmtp.PULL, context, _Runtime(), {}))
    push = _Face(SocketCore(zmtp.PUSH, context, _Runtime(), {}))
    polls = PollSet()
    polls.register(push, zmtp.POLLIN | zmtp.POLLOUT)
    polls.register(pull, zmtp.POLLIN)
    assert polls.ready() == []  # no peer: nothing to receive, nowhere to send
    pull.core.bind_inproc(pull.core.begin_bind("inproc://rules"))
    push.core.begin_connect("inproc://rules")
    assert polls.ready() == [(push, zmtp.POLLOUT)]
    assert push.core.try_send([b"hello"])
    assert polls.ready() == [(push, zmtp.POLLOUT), (pull, zmtp.POLLIN)]
    assert pull.core.try_recv() == [b"hello"]
    polls.modify(push, zmtp.POLLIN)
    assert polls.ready() == []
    polls.modify(push, 0)
    assert list(polls.sockets) == [pull]
    assert polls.cores == [pull.core]
    with pytest.raises(KeyError):
        polls.unregister(push)


def test_a_poll_set_refuses_other_objects_and_flags_naming_the_engine() -> None:
    class TrioLike(PollSet):
        public_name = "zmtp.Poller"
        not_a_socket_hint = "wait for a file descriptor another way"

    with pytest.raises(zmtp.ZMTPValueError, match=r"zmtp\.Poller polls zmtp sockets, got int"):
        TrioLike().register(3, zmtp.POLLIN)  # type: ignore[arg-type]
    with pytest.raises(zmtp.ZMTPValueError, match="another way"):
        TrioLike().register(object(), zmtp.POLLIN)  # type: ignore[arg-type]
    face = _Face(SocketCore(zmtp.PULL, ContextCore(), _Runtime(), {}))
    with pytest.raises(zmtp.ZMTPValueError, match=r"POLLIN and zmtp\.POLLOUT, got 4"):
        PollSet().register(face, 4)


def test_poll_timeouts_are_milliseconds_and_negative_or_none_waits_forever() -> None:
    assert timeout_seconds(250) == 0.25
    assert timeout_seconds(0) == 0
    assert timeout_seconds(None) == float("inf")
    assert timeout_seconds(-1) == float("inf")
