"""Engine-neutral verbs of the socket core, driven with numbers and no event loop:
what a connecter does after an attempt (libzmq's reconnect rules), how a failed bind
and a connection that could not be set up are reported, and numeric name resolution.
"""

from __future__ import annotations

import errno
import socket

import pytest

import zmtp
from zmtp.core import ContextCore, MonitorQueue, SocketCore
from zmtp.core.events import Event
from zmtp.routing import Pipe
from zmtp.transport.os_sockets import resolve_numeric


class RecordingRuntime:
    """A SocketRuntime that records the wake-ups the core asks for."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def wake_send(self) -> None:
        self.calls.append("send")

    def wake_recv(self) -> None:
        self.calls.append("recv")

    def wake_drain(self) -> None:
        self.calls.append("drain")

    def close_connection(self, pipe: Pipe) -> None:
        self.calls.append("close")


def core_with_monitor(**options: object) -> tuple[SocketCore, MonitorQueue]:
    core = SocketCore(zmtp.DEALER, ContextCore(), RecordingRuntime(), dict(options))
    queue = MonitorQueue()
    core.add_monitor(queue)
    return core, queue


def events_of(queue: MonitorQueue) -> list[tuple[Event, int, str]]:
    out = []
    while (ev := queue.pop()) is not None:
        out.append((ev.event, ev.value, ev.reason))
    return out


def test_reconnect_waits_double_from_reconnect_ivl_up_to_reconnect_ivl_max() -> None:
    core, queue = core_with_monitor(reconnect_ivl=100, reconnect_ivl_max=700)
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    waits = [core.reconnect_after(conn, handshake_done=False) for _ in range(5)]
    assert waits == [100, 200, 400, 700, 700]
    retried = [value for event, value, _ in events_of(queue) if event == Event.CONNECT_RETRIED]
    assert retried == waits


def test_a_completed_handshake_starts_the_back_off_again() -> None:
    core, _ = core_with_monitor(reconnect_ivl=100, reconnect_ivl_max=1000)
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    assert [core.reconnect_after(conn, handshake_done=False) for _ in range(3)] == [100, 200, 400]
    assert core.reconnect_after(conn, handshake_done=True) == 100
    assert core.reconnect_after(conn, handshake_done=False) == 200


def test_without_reconnect_ivl_max_the_wait_stays_at_reconnect_ivl() -> None:
    core, _ = core_with_monitor(reconnect_ivl=50)
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    assert [core.reconnect_after(conn, handshake_done=False) for _ in range(3)] == [50, 50, 50]


def test_a_peer_that_refused_us_is_not_tried_again_rfc23_error_handling() -> None:
    core, queue = core_with_monitor()
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    assert core.reconnect_after(conn, handshake_done=False, refused="400 denied") is None
    [(event, _, reason)] = events_of(queue)
    assert event == Event.CLOSED
    assert "refused us (400 denied)" in reason and "not reconnecting" in reason


def test_reconnect_ivl_minus_one_stops_after_the_first_loss() -> None:
    core, queue = core_with_monitor(reconnect_ivl=-1)
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    assert core.reconnect_after(conn, handshake_done=True) is None
    [(event, _, reason)] = events_of(queue)
    assert event == Event.CLOSED and "reconnect_ivl is -1" in reason


def test_a_closed_socket_stops_reconnecting_silently() -> None:
    core, queue = core_with_monitor()
    _, conn = core.begin_connect("tcp://127.0.0.1:5555")
    core.finish_close()
    assert core.reconnect_after(conn, handshake_done=False) is None
    assert events_of(queue) == []


def test_a_failed_bind_is_reported_and_returned_as_a_zmtp_error() -> None:
    core, queue = core_with_monitor()
    error = core.bind_failed("tcp://127.0.0.1:1", OSError(errno.EACCES, "Permission denied"))
    assert isinstance(error, zmtp.ZMTPError)
    assert "cannot bind tcp://127.0.0.1:1: Permission denied" in str(error)
    [(event, value, _)] = events_of(queue)
    assert (event, value) == (Event.BIND_FAILED, errno.EACCES)


def test_a_connection_not_set_up_is_a_handshake_failure_with_its_reason() -> None:
    core, queue = core_with_monitor()
    core.setup_failed("tcp://127.0.0.1:5555", "Invalid argument (EINVAL)")
    [(event, _, reason)] = events_of(queue)
    assert event == Event.HANDSHAKE_FAILED_NO_DETAIL
    assert reason == "connection not set up: Invalid argument (EINVAL)"


@pytest.mark.parametrize(
    ("host", "family", "expected"),
    [
        ("127.0.0.1", socket.AF_INET, ("127.0.0.1", 5555)),
        ("::1", socket.AF_INET6, ("::1", 5555, 0, 0)),
    ],
)
def test_numeric_hosts_resolve_without_a_name_service(
    host: str, family: socket.AddressFamily, expected: tuple[object, ...]
) -> None:
    infos = resolve_numeric(host, 5555, family)
    assert infos is not None
    assert infos[0][4] == expected


def test_a_host_name_is_left_to_the_engines_resolver() -> None:
    assert resolve_numeric("localhost", 5555, socket.AF_INET) is None
