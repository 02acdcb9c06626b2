"""The largest command a peer may send before its handshake completes.

libzmq bounds handshake commands by ``maxmsgsize`` alone; zmtp refuses, by default,
any handshake command over 64 KiB (metadata, credentials and CURVE boxes are far
smaller), judged from the frame header before the body is buffered. The limit is
the ``handshake_max_command`` option; -1 leaves only ``maxmsgsize``, as in libzmq.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import zmtp
from zmtp.options import OPTIONS
from zmtp.wire import Connection, HandshakeComplete
from zmtp.wire.connection import HANDSHAKE_COMMAND_LIMIT

BIG = HANDSHAKE_COMMAND_LIMIT + 1000  # an X- property this large makes READY too large


def _handshake(receiver: Connection, drain: Callable[..., tuple[list[object], object]]) -> object:
    sender = Connection("DEALER", properties={"X-Big": b"x" * BIG})
    for _ in range(8):  # the greetings go in stages (version detection), then READY
        if out := sender.data_to_send():
            receiver.receive_data(out)
        if back := receiver.data_to_send():
            sender.receive_data(back)
        if not out and not back:
            break
    events, error = drain(receiver)
    if error is None:
        assert any(type(e) is HandshakeComplete for e in events), events
    return error


def test_a_handshake_command_over_64_kib_is_refused_by_default(
    drain: Callable[..., tuple[list[object], object]],
) -> None:
    error = _handshake(Connection("ROUTER"), drain)
    assert isinstance(error, zmtp.HandshakeError)
    assert str(HANDSHAKE_COMMAND_LIMIT) in str(error)


@pytest.mark.parametrize(
    ("limit", "maxmsgsize", "accepted"),
    [
        (BIG + 100, -1, True),
        (-1, -1, True),  # libzmq's behaviour: no limit but maxmsgsize
        (-1, BIG + 100, True),
        (-1, 1000, False),
        (BIG - 1, -1, False),
    ],
)
def test_the_limit_is_a_parameter(
    drain: Callable[..., tuple[list[object], object]], limit: int, maxmsgsize: int, accepted: bool
) -> None:
    receiver = Connection("ROUTER", handshake_max_command=limit, maxmsgsize=maxmsgsize)
    error = _handshake(receiver, drain)
    assert (error is None) is accepted, error


def test_the_option_sets_the_same_limit() -> None:
    assert OPTIONS["handshake_max_command"].default == HANDSHAKE_COMMAND_LIMIT
