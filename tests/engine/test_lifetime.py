"""Socket lifetime: a socket runs under its own ``async with`` or under an entered
Context; without either it refuses I/O with ``InvalidState``; once closed every
operation raises ``SocketClosed``. A peer that sends garbage loses its own connection
and nothing else (DESIGN.md: "Bad input from a peer closes that one connection with a
clear reason (and a monitor event), never the socket and never the process").
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc
import pytest
from engine_helpers import drain, link
from engines import Engine, settle

import zmtp
import zmtp.demo
from zmtp.wire import Connection, HandshakeComplete

# ---------------------------------------------------------------------------------------
# Running


async def test_a_standalone_socket_runs_under_its_own_async_with(engine: Engine):
    with anyio.fail_after(5):
        async with engine.Socket(zmtp.PULL) as pull, engine.Socket(zmtp.PUSH) as push:
            ep = await pull.bind("tcp://127.0.0.1:*")
            await push.connect(ep)
            await push.send(b"standalone")
            assert await pull.recv() == b"standalone"
        assert pull.closed and push.closed


async def test_sockets_of_an_entered_context_run_without_their_own_async_with(engine: Engine):
    with anyio.fail_after(5):
        async with engine.Context() as ctx:
            pull = ctx.socket(zmtp.PULL)
            push = ctx.socket(zmtp.PUSH)
            ep = await pull.bind("tcp://127.0.0.1:*")
            await push.connect(ep)
            await push.send(b"hosted")
            assert await pull.recv() == b"hosted"
            async with ctx.socket(zmtp.PUSH) as scoped:  # async with is allowed too
                await scoped.connect(ep)
                await scoped.send(b"scoped")
                assert await pull.recv() == b"scoped"
            assert scoped.closed and not pull.closed
        assert pull.closed and push.closed, "leaving the context closes its sockets"


async def test_a_context_may_be_used_for_inproc_between_standalone_sockets(engine: Engine):
    with anyio.fail_after(5):
        ctx = engine.Context()
        async with ctx.socket(zmtp.PAIR) as a, ctx.socket(zmtp.PAIR) as b:
            await a.bind("inproc://standalone-pair")
            await b.connect("inproc://standalone-pair")
            await a.send(b"ping")
            assert await b.recv() == b"ping"
        await ctx.term()


async def test_a_closed_context_makes_no_more_sockets(engine: Engine):
    with anyio.fail_after(5):
        async with engine.Context() as ctx:
            pass
        with pytest.raises(zmtp.ZMTPError, match=r"closed|terminated"):
            ctx.socket(zmtp.PUSH)


@pytest.mark.parametrize("owner", ["socket", "context"])
async def test_an_error_inside_async_with_propagates_unwrapped(engine: Engine, owner: str):
    with anyio.fail_after(5), pytest.raises(zmtp.Again):
        if owner == "socket":
            async with engine.Socket(zmtp.PULL) as pull:
                await pull.recv(zmtp.DONTWAIT)
        else:
            async with engine.Context() as ctx:
                await ctx.socket(zmtp.PULL).recv(zmtp.DONTWAIT)


@pytest.mark.engines(
    "trio",
    reason="only a trio socket needs a nursery to run; an asyncio socket runs on the loop "
    "it is first used on, a zmtp.sync socket on its context's I/O thread (as libzmq's)",
)
@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:*", "ipc://*"])
async def test_a_socket_with_no_running_nursery_refuses_io_with_invalid_state(
    engine: Engine, endpoint: str
):
    sock = engine.Socket(zmtp.PUSH)
    with anyio.fail_after(5):
        try:
            with pytest.raises(zmtp.InvalidState, match="async with"):
                await sock.bind(endpoint)
            with pytest.raises(zmtp.InvalidState, match="async with"):
                await sock.connect("tcp://127.0.0.1:5555")
        finally:
            await sock.close()


# ---------------------------------------------------------------------------------------
# Leaving a context
#
# These run in a child interpreter: the failures they guard against corrupt the event
# loop's cancellation state (trio's cancel-scope stack, for one) or hang, which must not
# take the test process with them. The child runs the engine under test, on its loop.

_FILL = """
async def fill(push):
    while True:
        try:
            push.send_nowait(b"x" * 65536)
        except zmtp.Again:
            await settle(0)
            try:
                push.send_nowait(b"x" * 65536)
            except zmtp.Again:
                return
"""


async def run_child(engine: Engine, body: str) -> tuple[int, str]:
    """Run ``body`` in a child interpreter, where ``Context`` is the engine's and
    ``run(main)`` runs ``main`` on the engine's event loop."""
    backend, options = (engine.backend, {}) if isinstance(engine.backend, str) else engine.backend
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        f"import anyio, functools, zmtp\nfrom engines import settle\n{engine.imports}\n"
        f"run = functools.partial(anyio.run, backend={backend!r}, backend_options={options!r})\n"
        + _FILL
        + textwrap.dedent(body)
    )
    with anyio.fail_after(20):
        done = await anyio.run_process([sys.executable, "-c", code], check=False)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


@pytest.mark.needs("cancel-in-flight")  # leaving the context waits in a blocking term()
async def test_a_timeout_while_leaving_a_context_cancels_cleanly(engine: Engine):
    returncode, output = await run_child(
        engine,
        """
        async def main():
            async with Context() as other:
                pull = other.socket(zmtp.PULL, rcvhwm=1, linger=0)  # never reads
                ep = await pull.bind("tcp://127.0.0.1:*")
                with anyio.move_on_after(0.3) as scope:
                    async with Context() as ctx:
                        push = ctx.socket(zmtp.PUSH, sndhwm=1)  # linger -1
                        async with push.monitor() as monitor:
                            await push.connect(ep)
                            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
                        await fill(push)
                    # leaving waits for the PUSH to flush, until the timeout
                assert scope.cancelled_caught
            print("clean")

        run(main)
    """,
    )
    assert (returncode, output.strip()) == (0, "clean")


async def test_leaving_a_context_does_not_wait_on_messages_for_its_own_closing_sockets(
    engine: Engine,
):
    returncode, output = await run_child(
        engine,
        """
        async def main():
            with anyio.move_on_after(2) as scope:
                async with Context() as ctx:
                    push = ctx.socket(zmtp.PUSH, sndhwm=1)  # linger -1; closes first
                    pull = ctx.socket(zmtp.PULL, rcvhwm=1)
                    ep = await pull.bind("tcp://127.0.0.1:*")
                    async with push.monitor() as monitor:
                        await push.connect(ep)
                        await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
                    await fill(push)
            print("hung" if scope.cancelled_caught else "left")

        run(main)
    """,
    )
    assert (returncode, output.strip()) == (0, "left")


# ---------------------------------------------------------------------------------------
# Closing


async def test_every_operation_after_close_raises_socket_closed(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        sock = make(zmtp.DEALER)
        await sock.close()
        await sock.close()  # idempotent
        assert sock.closed
        for call in (
            lambda: sock.send(b"x"),
            lambda: sock.send(b"x", more=True),
            lambda: sock.send_multipart([b"x"]),
            lambda: sock.send_string("x"),
            lambda: sock.recv(),
            lambda: sock.recv_multipart(),
            lambda: sock.recv_string(),
            lambda: sock.bind("tcp://127.0.0.1:*"),
            lambda: sock.connect("tcp://127.0.0.1:5555"),
            lambda: sock.unbind("tcp://127.0.0.1:5555"),
            lambda: sock.disconnect("tcp://127.0.0.1:5555"),
        ):
            with pytest.raises(zmtp.SocketClosed):
                await call()
        for sync_call in (
            lambda: sock.send_nowait(b"x"),
            lambda: sock.send_multipart_nowait([b"x"]),
            lambda: sock.recv_nowait(),
            lambda: sock.recv_multipart_nowait(),
            lambda: sock.monitor(),
        ):
            with pytest.raises(zmtp.SocketClosed):
                sync_call()


async def test_closing_wakes_blocked_calls_with_socket_closed(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL)
        push = make(zmtp.PUSH)  # no peer: send waits
        outcomes: list[type[BaseException]] = []

        async def expect_closed(call: Callable[[], object]) -> None:
            with pytest.raises(zmtp.SocketClosed) as closed:
                await call()  # type: ignore[misc]
            outcomes.append(closed.type)

        async with anyio.create_task_group() as tg:
            tg.start_soon(expect_closed, pull.recv)
            tg.start_soon(expect_closed, lambda: push.send(b"x"))
            await anyio.wait_all_tasks_blocked()
            await pull.close()
            await push.close()
        assert outcomes == [zmtp.SocketClosed, zmtp.SocketClosed]


async def test_a_peer_still_reads_what_a_closed_inproc_peer_sent(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        await link(pull, push, "inproc://closed-sender")
        for i in range(3):
            await push.send(b"%d" % i)
        await push.close()
        assert [await pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]


@pytest.mark.parametrize("leave", ["close", "disconnect"])
async def test_a_sender_leaving_while_blocked_at_the_hwm_leaves_its_messages_readable(
    make: Callable[..., zmtp.Socket], leave: str
):
    with anyio.fail_after(5):
        pull = make(zmtp.PULL, rcvhwm=1)
        push = make(zmtp.PUSH, sndhwm=1)
        ep = await link(pull, push, f"inproc://leaving-{leave}")
        push.send_nowait(b"1")
        push.send_nowait(b"2")
        with pytest.raises(zmtp.Again):
            push.send_nowait(b"3")  # the sender now waits for room
        if leave == "close":
            await push.close()
        else:
            await push.disconnect(ep)
        assert pull.recv_nowait() == b"1"
        assert pull.recv_nowait() == b"2"


# ---------------------------------------------------------------------------------------
# A misbehaving peer


async def open_raw(endpoint: str) -> anyio.abc.ByteStream:
    if endpoint.startswith("tcp://"):
        host, port = endpoint[len("tcp://") :].rsplit(":", 1)
        return await anyio.connect_tcp(host, int(port))
    return await anyio.connect_unix(endpoint[len("ipc://") :])


async def read_until_eof(stream: anyio.abc.ByteStream) -> bytes:
    data = b""
    with contextlib.suppress(anyio.EndOfStream):
        while True:
            data += await stream.receive()
    return data


async def good_peer_and_monitor(
    make: Callable[..., zmtp.Socket], endpoint: str
) -> tuple[zmtp.Socket, zmtp.Socket, str]:
    pull, good = make(zmtp.PULL), make(zmtp.PUSH)
    ep = await link(pull, good, endpoint)
    await good.send(b"before")
    assert await pull.recv() == b"before"
    return pull, good, ep


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize(
    "junk",
    [
        # Not ZMTP at all (a first octet other than 0xFF would be read as a ZMTP 1.0
        # identity frame, RFC 15): 0xFF, then text whose tenth octet is not 0x7F.
        b"\xffHTTP/1.1\r\nHost: example\r\n\r\n",
        # ZMTP 2.0 with socket type PAIR, which a PULL cannot talk to (RFC 15).
        b"\xff" + b"\x00" * 8 + b"\x7f\x01\x00" + b"NULL" + b"\x00" * 60,
        # A ZMTP 1.0 identity frame whose long length is 0 (RFC 13).
        b"\xff" + b"\x00" * 8 + b"\x00" + b"\x03\x01" + b"\x00" * 52,
    ],
    ids=["not-zmtp", "zmtp-2.0-revision", "signature-without-0x7f"],
)
async def test_a_peer_sending_a_garbage_greeting_loses_only_its_connection(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str], junk: bytes
):
    with anyio.fail_after(5):
        pull, good, ep = await good_peer_and_monitor(make, endpoint())
        async with pull.monitor() as monitor:
            raw = await open_raw(ep)
            await raw.send(junk)
            failed = await monitor.wait_for(
                zmtp.Event.HANDSHAKE_FAILED_PROTOCOL | zmtp.Event.HANDSHAKE_FAILED_NO_DETAIL
            )
            await read_until_eof(raw)  # the connection is closed by the socket
            await raw.aclose()
        assert failed.event == zmtp.Event.HANDSHAKE_FAILED_PROTOCOL
        assert failed.reason
        await good.send(b"after")
        assert await pull.recv() == b"after"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_a_peer_breaking_framing_after_the_handshake_loses_only_its_connection(
    make: Callable[..., zmtp.Socket], endpoint: Callable[[], str]
):
    with anyio.fail_after(5):
        pull, good, ep = await good_peer_and_monitor(make, endpoint())
        async with pull.monitor() as monitor:
            raw = await open_raw(ep)
            peer = Connection(zmtp.PUSH)  # the sans-IO core plays a well-behaved PUSH ...
            await raw.send(peer.data_to_send())
            while not any(isinstance(ev, HandshakeComplete) for ev in peer.events()):
                peer.receive_data(await raw.receive())
                await raw.send(peer.data_to_send())
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
            await raw.send(peer.send_message([b"from the raw peer"]))
            await raw.send(b"\x06\xff" + b"\x00" * 16)  # ... then reserved flag bits
            lost = await monitor.wait_for(zmtp.Event.DISCONNECTED)
            await read_until_eof(raw)
            await raw.aclose()
        assert lost.reason, "the monitor must say why the connection was closed"
        assert await pull.recv() == b"from the raw peer", "what came before is kept"
        await good.send(b"after")
        assert await pull.recv() == b"after"
        await settle(0)
        assert drain(pull) == []


async def test_a_security_mechanism_mismatch_fails_the_handshake_at_once(
    make: Callable[..., zmtp.Socket],
):
    with anyio.fail_after(1):  # a working engine fails it in milliseconds
        null_server = make(zmtp.PULL)
        plain_client = make(zmtp.PUSH, plain_username=b"user", plain_password=b"secret")
        async with null_server.monitor() as on_server, plain_client.monitor() as on_client:
            ep = await null_server.bind("tcp://127.0.0.1:*")
            await plain_client.connect(ep)
            for monitor in (on_server, on_client):
                failed = await monitor.wait_for(
                    zmtp.Event.HANDSHAKE_FAILED_PROTOCOL
                    | zmtp.Event.HANDSHAKE_FAILED_NO_DETAIL
                    | zmtp.Event.HANDSHAKE_FAILED_AUTH
                )
                assert failed.event == zmtp.Event.HANDSHAKE_FAILED_PROTOCOL
                assert "mechanism" in failed.reason


# ---------------------------------------------------------------------------------------
# The demo


@pytest.mark.engines("trio", reason="zmtp.demo is written for the trio engine")
async def test_the_pipeline_demo_accounts_for_every_task(
    engine: Engine, capsys: pytest.CaptureFixture[str]
):
    with anyio.fail_after(10):
        figures = await zmtp.demo.pipeline(workers=2, tasks=10)
    out = capsys.readouterr().out
    per_worker = {
        line.split(":")[0].strip(): int(line.split(":")[1].split()[0])
        for line in out.splitlines()
        if line.strip().startswith("worker-")
    }
    assert set(per_worker) <= {"worker-1", "worker-2"}
    assert sum(per_worker.values()) == 10, out
    assert figures["elapsed"] > 0 and figures["total"] > 0
