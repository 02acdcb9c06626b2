"""Monitor events over a connection's life, with libzmq's names, values and order
(libzmq tests/test_monitoring.cpp is the reference for the order):

    connecter: [CONNECT_DELAYED] CONNECTED HANDSHAKE_SUCCEEDED ... DISCONNECTED
               CONNECT_RETRIED ...                 and MONITOR_STOPPED when it closes
    binder:    LISTENING ACCEPTED HANDSHAKE_SUCCEEDED ... DISCONNECTED ... CLOSED
                                                   and MONITOR_STOPPED when it closes

A failed handshake reports HANDSHAKE_FAILED_PROTOCOL with a reason naming the rule.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from engine_helpers import link
from engines import Engine, settle

import zmtp
from zmtp import Event

#: libzmq's ZMQ_EVENT_* values (zmq.h), which pyzmq exposes as zmq.EVENT_*.
LIBZMQ_EVENTS = {
    "CONNECTED": 0x0001,
    "CONNECT_DELAYED": 0x0002,
    "CONNECT_RETRIED": 0x0004,
    "LISTENING": 0x0008,
    "BIND_FAILED": 0x0010,
    "ACCEPTED": 0x0020,
    "ACCEPT_FAILED": 0x0040,
    "CLOSED": 0x0080,
    "CLOSE_FAILED": 0x0100,
    "DISCONNECTED": 0x0200,
    "MONITOR_STOPPED": 0x0400,
    "HANDSHAKE_FAILED_NO_DETAIL": 0x0800,
    "HANDSHAKE_SUCCEEDED": 0x1000,
    "HANDSHAKE_FAILED_PROTOCOL": 0x2000,
    "HANDSHAKE_FAILED_AUTH": 0x4000,
    "ALL": 0xFFFF,
}


def test_event_values_are_libzmqs():
    assert {name: Event[name].value for name in LIBZMQ_EVENTS} == LIBZMQ_EVENTS


async def recorded(monitor: zmtp.Monitor) -> list[Event]:
    """Every event of a stopped monitor, in order (ends with MONITOR_STOPPED)."""
    return [ev.event async for ev in monitor]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_connecter_life_connected_handshake_disconnected_retried_stopped(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        push = make(zmtp.PUSH, reconnect_ivl=60_000)
        record = push.monitor()
        async with push.monitor() as waits:
            ep = await link(pull, push, endpoint())
            await pull.close()
            await waits.wait_for(Event.CONNECT_RETRIED)
        await push.close()
        events = await recorded(record)
    if events[0] == Event.CONNECT_DELAYED:  # tcp's non-blocking connect, as in libzmq
        events.pop(0)
    assert events == [
        Event.CONNECTED,
        Event.HANDSHAKE_SUCCEEDED,
        Event.DISCONNECTED,
        Event.CONNECT_RETRIED,
        Event.MONITOR_STOPPED,
    ]
    assert ep


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_binder_life_listening_accepted_handshake_disconnected_closed_on_unbind(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        push = make(zmtp.PUSH)
        record = pull.monitor()
        async with pull.monitor() as waits:
            ep = await link(pull, push, endpoint())
            await push.close()
            await waits.wait_for(Event.DISCONNECTED)
            await pull.unbind(ep)
            closed = await waits.wait_for(Event.CLOSED)
        await pull.close()
        events = [ev async for ev in record]
    assert [ev.event for ev in events] == [
        Event.LISTENING,
        Event.ACCEPTED,
        Event.HANDSHAKE_SUCCEEDED,
        Event.DISCONNECTED,
        Event.CLOSED,
        Event.MONITOR_STOPPED,
    ]
    assert all(ev.endpoint == ep for ev in events[:-1])
    assert closed.endpoint == ep


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_a_connecter_closing_itself_sees_no_disconnected_only_monitor_stopped(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        record = push.monitor(~Event.CONNECT_DELAYED)
        await link(pull, push, endpoint())
        await push.close()
        assert await recorded(record) == [
            Event.CONNECTED,
            Event.HANDSHAKE_SUCCEEDED,
            Event.MONITOR_STOPPED,
        ]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_closing_a_bound_socket_reports_closed_before_monitor_stopped(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        record = pull.monitor()
        await pull.bind(endpoint())
        await pull.close()
        await settle(0)
        assert await recorded(record) == [
            Event.LISTENING,
            Event.CLOSED,
            Event.MONITOR_STOPPED,
        ]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_an_incompatible_peer_type_fails_the_handshake_naming_both_types(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pub = make(zmtp.PUB)
        push = make(zmtp.PUSH, reconnect_ivl=60_000)
        async with pub.monitor() as on_pub, push.monitor() as on_push:
            ep = await pub.bind(endpoint())
            await push.connect(ep)
            failures = [
                await on_push.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL | Event.HANDSHAKE_SUCCEEDED),
                await on_pub.wait_for(Event.HANDSHAKE_FAILED_PROTOCOL | Event.HANDSHAKE_SUCCEEDED),
            ]
        for failed in failures:
            assert failed.event == Event.HANDSHAKE_FAILED_PROTOCOL
            assert failed.endpoint == ep
            assert "PUSH" in failed.reason and "PUB" in failed.reason, failed.reason


@pytest.mark.parametrize("bind_first", [True, False], ids=["bind-first", "connect-first"])
async def test_inproc_reports_a_handshake_on_both_sides_when_they_are_linked(
    make: Callable[..., zmtp.Socket], bind_first: bool
):
    """libzmq reports nothing for inproc; zmtp reports the link as a handshake, so that
    waiting for HANDSHAKE_SUCCEEDED works the same on every transport."""
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        on_pull, on_push = pull.monitor(), push.monitor()
        name = f"inproc://monitor-link-{bind_first}"
        if bind_first:
            await pull.bind(name)
            await push.connect(name)
        else:
            await push.connect(name)
            await pull.bind(name)
        await pull.close()
        await push.close()
        pull_events = await recorded(on_pull)
        assert sorted(pull_events[:2]) == [Event.LISTENING, Event.HANDSHAKE_SUCCEEDED]
        assert pull_events[2:] == [Event.MONITOR_STOPPED]
        assert await recorded(on_push) == [Event.HANDSHAKE_SUCCEEDED, Event.MONITOR_STOPPED]


async def test_inproc_refuses_an_incompatible_peer_naming_both_types(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        pub = make(zmtp.PUB)
        await pub.bind("inproc://monitor-types")
        push = make(zmtp.PUSH)
        with pytest.raises(zmtp.ZMTPValueError, match=r"PUSH.*PUB"):
            await push.connect("inproc://monitor-types")

        early = make(zmtp.PUSH)
        async with early.monitor() as monitor:
            await early.connect("inproc://monitor-types-later")
            await make(zmtp.PUB).bind("inproc://monitor-types-later")
            failed = await monitor.wait_for(
                Event.HANDSHAKE_FAILED_PROTOCOL | Event.HANDSHAKE_SUCCEEDED
            )
        assert failed.event == Event.HANDSHAKE_FAILED_PROTOCOL
        assert "PUSH" in failed.reason and "PUB" in failed.reason


async def test_a_monitor_sees_only_the_events_it_asked_for(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        only = push.monitor(Event.HANDSHAKE_SUCCEEDED | Event.DISCONNECTED)
        await link(pull, push, "tcp://127.0.0.1:*")
        await pull.close()
        assert (await only.receive()).event == Event.HANDSHAKE_SUCCEEDED
        assert (await only.receive()).event == Event.DISCONNECTED
        await push.close()
        assert await recorded(only) == [Event.MONITOR_STOPPED]


async def test_a_closed_monitor_ends_with_monitor_stopped_and_leaves_the_socket_alone(
    engine: Engine, make: Callable[..., zmtp.Socket]
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        monitor = push.monitor()
        await monitor.aclose()
        assert (await monitor.receive()).event == Event.MONITOR_STOPPED
        with pytest.raises(engine.monitor_ended):
            await monitor.receive()
        with pytest.raises(engine.monitor_ended):
            await monitor.wait_for(Event.CONNECTED)
        await link(pull, push, "tcp://127.0.0.1:*")  # the socket still works
        await push.send(b"fine")
        assert await pull.recv() == b"fine"
