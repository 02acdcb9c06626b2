"""Socket options with pyzmq's names (keyword arguments, attributes, setsockopt), their
validation, and the options that change the engine's behaviour: ``last_endpoint``,
``immediate``, ``linger``; plus ``bind`` with a wildcard port, ``unbind`` and
``disconnect``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import anyio
import pytest
from engine_helpers import drain, link
from engines import settle

import zmtp

# ---------------------------------------------------------------------------------------
# Names and values


async def test_options_are_keyword_arguments_and_attributes_with_pyzmq_names(
    make: Callable[..., zmtp.Socket],
):
    sock = make(zmtp.DEALER, sndhwm=10, rcvhwm=20, identity=b"me", reconnect_ivl=50)
    assert (sock.sndhwm, sock.rcvhwm, sock.reconnect_ivl) == (10, 20, 50)
    assert sock.routing_id == sock.identity == b"me"
    sock.sndhwm = 11
    sock.routing_id = "text is encoded"
    sock.immediate = 1
    assert sock.sndhwm == 11
    assert sock.routing_id == b"text is encoded"
    assert sock.immediate is True
    sock.setsockopt("SNDHWM", 12)  # case-insensitive, as pyzmq's constant names
    assert sock.getsockopt("sndhwm") == 12
    sock.hwm = 7
    assert (sock.sndhwm, sock.rcvhwm, sock.hwm) == (7, 7, 7)


async def test_socket_type_may_be_given_as_a_pyzmq_integer_or_a_name(
    make: Callable[..., zmtp.Socket],
):
    assert make(8).type is zmtp.PUSH  # zmq.PUSH == 8
    assert make("pull").type is zmtp.PULL


async def test_an_unknown_socket_type_is_a_zmtp_value_error(ctx: zmtp.Context):
    with pytest.raises(zmtp.ZMTPValueError, match="pushh"):
        ctx.socket("pushh")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("sndhwm", -1, ">= 0"),
        ("rcvhwm", "10", "takes an int"),
        ("linger", True, "takes an int"),
        ("linger", 1.5, "takes an int"),
        ("reconnect_ivl", -2, ">= -1"),
        ("reconnect_ivl_max", -1, ">= 0"),
        ("maxmsgsize", -5, ">= -1"),
        ("immediate", "yes", "takes a bool"),
        ("routing_id", b"\x00reserved", "zero octet"),
        ("routing_id", b"x" * 256, "at most 255"),
        ("routing_id", 5, "takes bytes"),
        ("backlog", 0, ">= 1"),
    ],
)
async def test_a_bad_option_value_raises_naming_the_option_and_the_rule(
    make: Callable[..., zmtp.Socket], name: str, value: object, says: str
):
    pattern = rf"{re.escape(repr(name))}.*{re.escape(says)}"
    with pytest.raises(zmtp.ZMTPValueError, match=pattern):
        make(zmtp.DEALER, **{name: value})
    sock = make(zmtp.DEALER)
    before = sock.getsockopt(name)
    with pytest.raises(zmtp.ZMTPValueError, match=pattern):
        setattr(sock, name, value)
    with pytest.raises(ValueError):  # ZMTPValueError is a ValueError
        sock.setsockopt(name, value)
    assert sock.getsockopt(name) == before, "a refused value was kept"


async def test_an_unknown_option_name_is_refused_by_name(make: Callable[..., zmtp.Socket]):
    with pytest.raises(zmtp.ZMTPValueError, match="'sndhmw'"):
        make(zmtp.PUSH, sndhmw=5)
    sock = make(zmtp.PUSH)
    with pytest.raises(zmtp.ZMTPValueError, match="'sndhmw'"):
        sock.setsockopt("sndhmw", 5)
    with pytest.raises(zmtp.ZMTPValueError, match="'sndhmw'"):
        sock.getsockopt("sndhmw")


async def test_a_misspelt_option_attribute_is_refused(make: Callable[..., zmtp.Socket]):
    sock = make(zmtp.PUSH)
    with pytest.raises(AttributeError, match=r"(?i)sndhmw"):
        sock.sndhmw = 5


async def test_last_endpoint_is_read_only_and_reports_the_last_bind_or_connect(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        assert pull.last_endpoint == ""
        ep = await pull.bind(endpoint())
        assert pull.last_endpoint == ep
        await push.connect(ep)
        assert push.last_endpoint == ep
        with pytest.raises(zmtp.ZMTPValueError, match="read-only"):
            push.setsockopt("last_endpoint", "tcp://x:1")
        with pytest.raises((AttributeError, zmtp.ZMTPValueError)):
            push.last_endpoint = "tcp://x:1"


# ---------------------------------------------------------------------------------------
# bind / unbind / disconnect


@pytest.mark.parametrize("wildcard", ["tcp://127.0.0.1:*", "tcp://127.0.0.1:0"])
async def test_binding_a_wildcard_tcp_port_returns_the_real_port(
    make: Callable[..., zmtp.Socket], wildcard: str
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        ep = await pull.bind(wildcard)
        port = re.fullmatch(r"tcp://127\.0\.0\.1:(\d+)", ep)
        assert port is not None and 0 < int(port.group(1)) < 65536, ep
        assert pull.last_endpoint == ep
        await push.connect(ep)
        await push.send(b"via the real port")
        assert await pull.recv() == b"via the real port"


async def test_binding_an_endpoint_in_use_raises_and_reports_bind_failed(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        first, second = make(zmtp.PULL), make(zmtp.PULL)
        ep = await first.bind(endpoint())
        async with second.monitor() as monitor:
            with pytest.raises(zmtp.ZMTPError, match=re.escape(ep.split("://")[1])):
                await second.bind(ep)
            if not ep.startswith("inproc://"):
                failed = await monitor.wait_for(zmtp.Event.BIND_FAILED)
                assert failed.endpoint == ep


async def test_after_unbind_the_endpoint_takes_no_new_peer_and_can_be_bound_again(
    make: Callable[..., zmtp.Socket], fixed_endpoint: Callable[[], str], transport: str
):
    with anyio.fail_after(5):
        first = make(zmtp.PULL)
        ep = await first.bind(fixed_endpoint())
        await first.unbind(ep)
        with pytest.raises(zmtp.ZMTPValueError, match="not bound"):
            await first.unbind(ep)
        late = make(zmtp.PUSH, reconnect_ivl=10)
        if transport != "inproc":
            async with late.monitor() as monitor:
                await late.connect(ep)
                await monitor.wait_for(zmtp.Event.CONNECT_RETRIED)
        else:
            await late.connect(ep)
        await late.send(b"for whoever binds next")
        second = make(zmtp.PULL)
        assert await second.bind(ep) == ep
        assert await second.recv() == b"for whoever binds next"
        await settle(0)
        assert drain(first) == []


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_unbind_closes_the_connections_accepted_through_the_endpoint(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH, reconnect_ivl=10)
        async with push.monitor() as on_push, pull.monitor() as on_pull:
            ep = await link(pull, push, endpoint())
            await pull.unbind(ep)
            await on_push.wait_for(zmtp.Event.DISCONNECTED, ep)
            closed = await on_pull.wait_for(zmtp.Event.CLOSED)
            assert closed.endpoint == ep


async def test_disconnect_stops_routing_to_that_peer(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH)
        kept, dropped = make(zmtp.PULL), make(zmtp.PULL)
        kept_ep = await link(kept, push, endpoint())
        dropped_ep = await link(dropped, push, endpoint())
        await push.disconnect(dropped_ep)
        with pytest.raises(zmtp.ZMTPValueError, match="not connected"):
            await push.disconnect(dropped_ep)
        for i in range(10):
            await push.send(b"%d" % i)
        assert [await kept.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]
        await settle(0)
        assert drain(dropped) == []
        assert push.last_endpoint in (kept_ep, dropped_ep)


async def test_connecting_twice_to_one_endpoint_is_refused(
    make: Callable[..., zmtp.Socket], fixed_endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH)
        ep = fixed_endpoint()
        await push.connect(ep)
        with pytest.raises(zmtp.ZMTPValueError, match="already connected"):
            await push.connect(ep)


# ---------------------------------------------------------------------------------------
# immediate


async def test_without_immediate_a_connect_queues_before_the_peer_exists(
    make: Callable[..., zmtp.Socket], fixed_endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, reconnect_ivl=10)
        await push.connect(fixed_endpoint())
        push.send_nowait(b"queued at once")


async def test_with_immediate_nothing_queues_until_the_peer_is_connected(
    make: Callable[..., zmtp.Socket], fixed_endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, immediate=True, reconnect_ivl=10)
        ep = fixed_endpoint()
        await push.connect(ep)
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"no pipe yet")
        pull = make(zmtp.PULL)
        async with push.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            await pull.bind(ep)
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        push.send_nowait(b"now")
        assert await pull.recv() == b"now"


async def test_with_immediate_messages_go_only_to_connected_peers(
    make: Callable[..., zmtp.Socket],
    endpoint: Callable[[], str],
    fixed_endpoint: Callable[[], str],
):
    with anyio.fail_after(5):
        for immediate in (False, True):
            push = make(zmtp.PUSH, immediate=immediate, reconnect_ivl=10)
            live = make(zmtp.PULL)
            await push.connect(fixed_endpoint())  # nobody there
            await link(live, push, endpoint())
            for i in range(10):
                push.send_nowait(b"%d" % i)
            expected = 10 if immediate else 5  # else half wait for the absent peer
            got = [int(await live.recv()) for _ in range(expected)]
            assert got == sorted(got)
            await settle(0)
            assert drain(live) == [], f"immediate={immediate}"


# ---------------------------------------------------------------------------------------
# linger


async def _flood_then_close(
    make: Callable[..., zmtp.Socket], endpoint: str, **close: int
) -> tuple[int, int]:
    """Queue many messages to a live, reading peer, close at once; return (sent, got)."""
    pull = make(zmtp.PULL, rcvhwm=0)  # reads everything the wire brings
    push = make(zmtp.PUSH, sndhwm=0)
    n = 3000
    async with pull.monitor() as monitor:
        await link(pull, push, endpoint)
        for _ in range(n):
            push.send_nowait(b"L" * 1000)  # all queued; no task switch in between
        await push.close(**close)
        await monitor.wait_for(zmtp.Event.DISCONNECTED)
    return n, len(drain(pull))


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.needs("io-only-while-awaiting")  # what close() drops must still be queued
async def test_close_with_linger_zero_returns_at_once_and_drops_what_is_queued(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        sent, got = await _flood_then_close(make, endpoint(), linger=0)
    assert got < sent


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_close_with_linger_flushes_what_is_queued_to_a_live_peer(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        sent, got = await _flood_then_close(make, endpoint(), linger=3000)
    assert got == sent


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_the_linger_option_is_what_close_uses_by_default(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, rcvhwm=0)
        push = make(zmtp.PUSH, sndhwm=0, linger=3000)
        async with pull.monitor() as monitor:
            await link(pull, push, endpoint())
            for _ in range(3000):
                push.send_nowait(b"L" * 1000)
            await push.close()
            await monitor.wait_for(zmtp.Event.DISCONNECTED)
        assert len(drain(pull)) == 3000
