"""The pyzmq surface that ported programs reach for (issue: every zguide-style program
first hit a missing name): a poller, object helpers, bind_to_random_port, interface
names and source addresses in endpoints, Frame indexing, tracked sends, BindError."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Callable

import anyio
import pytest
from engines import CLOCK_GRAIN, Engine

import zmtp


async def test_poller_reports_readable_sockets_without_taking_their_messages(
    engine: Engine, make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> None:
    with anyio.fail_after(5):
        a, b = make(zmtp.PULL), make(zmtp.PULL)
        pa, pb = make(zmtp.PUSH), make(zmtp.PUSH)
        await pa.connect(await a.bind(endpoint()))
        await pb.connect(await b.bind(endpoint()))
        poller = engine.Poller()
        poller.register(a, zmtp.POLLIN)
        poller.register(b, zmtp.POLLIN)
        assert await poller.poll(0) == []
        await pb.send(b"to b")
        assert await poller.poll(2000) == [(b, zmtp.POLLIN)]
        assert await poller.poll(2000) == [(b, zmtp.POLLIN)], "polling took the message"
        assert await b.recv() == b"to b"
        assert await poller.poll(0) == []
        poller.unregister(b)
        await pb.send(b"unwatched")
        await pa.send(b"to a")
        assert await poller.poll(2000) == [(a, zmtp.POLLIN)]


async def test_poller_times_out_with_an_empty_list(
    engine: Engine, make: Callable[..., zmtp.Socket]
) -> None:
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        poller = engine.Poller()
        poller.register(pull, zmtp.POLLIN)
        start = anyio.current_time()
        assert await poller.poll(50) == []
        assert anyio.current_time() - start >= 0.05 - CLOCK_GRAIN


async def test_pollout_says_when_a_send_would_not_wait(
    engine: Engine, make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> None:
    with anyio.fail_after(5):
        push = make(zmtp.PUSH, sndhwm=1, immediate=True)
        poller = engine.Poller()
        poller.register(push, zmtp.POLLOUT)
        assert await poller.poll(0) == []  # no peer yet
        pull = make(zmtp.PULL, rcvhwm=1)
        await push.connect(await pull.bind(endpoint()))
        assert await poller.poll(2000) == [(push, zmtp.POLLOUT)]
        assert await push.poll(0, zmtp.POLLOUT) == zmtp.POLLOUT


async def test_socket_poll_waits_for_input(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> None:
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await push.connect(await pull.bind(endpoint()))
        assert await pull.poll(0) == 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(push.send, b"x")
            assert await pull.poll(2000) == zmtp.POLLIN
        assert pull.events & zmtp.POLLIN
        assert await pull.recv() == b"x"


@pytest.mark.engines(
    "trio",
    "asyncio",
    "uvloop",
    reason="zmtp.sync's Poller, like pyzmq's, also polls files and OS sockets",
)
def test_a_poller_refuses_what_is_not_a_zmtp_socket(engine: Engine) -> None:
    with pytest.raises(zmtp.ZMTPValueError, match="polls zmtp sockets"):
        engine.Poller().register(socket.socket(), zmtp.POLLIN)  # type: ignore[arg-type]


async def test_json_pyobj_and_serialized_round_trip(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> None:
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await push.connect(await pull.bind(endpoint()))
        await push.send_json({"a": [1, 2.5, None]}, sort_keys=True)
        assert await pull.recv() == json.dumps({"a": [1, 2.5, None]}, sort_keys=True).encode()
        await push.send_json({"b": "é"})
        assert await pull.recv_json() == {"b": "é"}
        await push.send_pyobj({"set": {1, 2}})
        assert await pull.recv_pyobj() == {"set": {1, 2}}
        await push.send_serialized({"k": 1}, lambda o: [b"H", json.dumps(o).encode()])
        assert await pull.recv_serialized(lambda fs: (fs[0], json.loads(fs[1]))) == (
            b"H",
            {"k": 1},
        )


async def test_send_json_of_what_json_cannot_encode_names_the_problem(
    make: Callable[..., zmtp.Socket],
) -> None:
    push = make(zmtp.PUSH)
    with pytest.raises(zmtp.ZMTPValueError, match="not JSON-serialisable"):
        await push.send_json({1, 2})


async def test_bind_to_random_port_returns_a_bound_port(make: Callable[..., zmtp.Socket]) -> None:
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        port = await pull.bind_to_random_port("tcp://127.0.0.1", 40000, 60000)
        assert 40000 <= port < 60000
        await push.connect(f"tcp://127.0.0.1:{port}")
        await push.send(b"here")
        assert await pull.recv() == b"here"


async def test_bind_to_random_port_gives_up_with_a_bind_error(
    make: Callable[..., zmtp.Socket],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pull = make(zmtp.PULL)
        with pytest.raises(zmtp.BindError, match="no free port") as info:
            await pull.bind_to_random_port("tcp://127.0.0.1", port, port + 1, max_tries=3)
        assert info.value.errno == errno.EADDRINUSE
        assert isinstance(info.value, zmtp.ZMQError)


async def test_a_failed_bind_raises_bind_error_with_the_os_reason(
    make: Callable[..., zmtp.Socket],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(zmtp.BindError) as info:
            await make(zmtp.PULL).bind(f"tcp://127.0.0.1:{port}")
    assert info.value.errno == errno.EADDRINUSE
    assert isinstance(info.value, OSError)
    assert f"tcp://127.0.0.1:{port}" in str(info.value)


async def test_bind_to_an_interface_name(make: Callable[..., zmtp.Socket]) -> None:
    names = {n for _, n in socket.if_nameindex()}
    if "lo" not in names:
        pytest.skip("this machine has no interface called 'lo' (the loopback name on Linux)")
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        ep = await pull.bind("tcp://lo:*")
        assert ep.startswith("tcp://127.0.0.1:"), ep
        await push.connect(ep)
        await push.send(b"via lo")
        assert await pull.recv() == b"via lo"


async def test_connect_from_a_source_address(make: Callable[..., zmtp.Socket]) -> None:
    with anyio.fail_after(5):
        router, dealer = make(zmtp.ROUTER), make(zmtp.DEALER)
        ep = await router.bind("tcp://127.0.0.1:*")
        await dealer.connect(f"tcp://127.0.0.2:0;{ep[len('tcp://') :]}")
        await dealer.send(b"from .2")
        frames = await router.recv_multipart(copy=False)
        assert frames[1].bytes == b"from .2"
        assert frames[1]["Peer-Address"] == "127.0.0.2"
        assert frames[1].get("peer-address") == "127.0.0.2"


async def test_track_returns_a_tracker_that_is_done(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
) -> None:
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await push.connect(await pull.bind(endpoint()))
        tracker = await push.send(bytearray(b"tracked"), copy=False, track=True)
        assert tracker is not None and tracker.done
        tracker.wait()
        assert await push.send(b"untracked") is None
        assert await pull.recv_multipart() == [b"tracked"]


def test_version_and_capabilities_answer_for_zmtp() -> None:
    import importlib.util

    assert zmtp.zmq_version_info() == (4, 3, 5)
    assert zmtp.zmq_version() == "4.3.5"
    assert zmtp.has("curve") == (importlib.util.find_spec("nacl") is not None)
    assert zmtp.has("ipc")
    for missing in ("pgm", "tipc", "norm", "gssapi", "draft", "no such thing"):
        assert zmtp.has(missing) is False
    assert zmtp.__version__.count(".") == 2


async def test_string_options_and_pyzmq_short_names(make: Callable[..., zmtp.Socket]) -> None:
    sub = make(zmtp.SUB)
    sub.setsockopt_string(zmtp.IDENTITY, "reader-é")
    assert sub.getsockopt_string(zmtp.IDENTITY) == "reader-é"
    assert sub.getsockopt(zmtp.ROUTING_ID) == "reader-é".encode()
    sub.set_string(zmtp.SUBSCRIBE, "weather")
    sub.set(zmtp.RCVHWM, 7)
    assert sub.get(zmtp.RCVHWM) == sub.RCVHWM == sub.rcvhwm == 7
    sub.RCVTIMEO = 2000
    assert sub.getsockopt("rcvtimeo") == 2000
    assert sub.getsockopt(zmtp.RCVMORE) == 0
    assert sub.getsockopt(zmtp.TYPE) == zmtp.SUB
    with pytest.raises(zmtp.ZMTPTypeError, match="takes a str"):
        sub.setsockopt_string(zmtp.SUBSCRIBE, b"bytes")  # type: ignore[arg-type]
    with pytest.raises(zmtp.ZMTPTypeError, match="not a bytes or text option"):
        sub.getsockopt_string(zmtp.RCVHWM)


async def test_options_of_a_closed_socket_are_refused(make: Callable[..., zmtp.Socket]) -> None:
    push = make(zmtp.PUSH)
    await push.close()
    with pytest.raises(zmtp.SocketClosed):
        push.sndhwm = 5
    with pytest.raises(zmtp.SocketClosed):
        push.setsockopt(zmtp.LINGER, 0)


async def test_context_options_as_pyzmq_sets_and_gets_them(ctx: zmtp.Context) -> None:
    # Socket options on a context are defaults for the sockets made afterwards;
    # IO_THREADS and MAX_SOCKETS are recorded (one loop serves every socket).
    ctx.set(zmtp.SNDHWM, 42)
    ctx.linger = 123
    assert ctx.get(zmtp.SNDHWM) == ctx.getsockopt("sndhwm") == 42
    sock = ctx.socket(zmtp.PUSH)
    try:
        assert (sock.sndhwm, sock.linger) == (42, 123)
    finally:
        await sock.close(linger=0)
    assert ctx.get(zmtp.IO_THREADS) == 1
    ctx.set(zmtp.MAX_SOCKETS, 50)
    assert ctx.get(zmtp.MAX_SOCKETS) == 50
    assert ctx.get(zmtp.SOCKET_LIMIT) == 65535
    with pytest.raises(zmtp.ZMTPValueError, match="int >= 0"):
        ctx.set(zmtp.IO_THREADS, -1)
    with pytest.raises(zmtp.ZMTPValueError):
        ctx.set(zmtp.SNDHWM, -5)
