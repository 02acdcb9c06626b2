"""STREAM sockets on asyncio (libzmq's ZMQ_STREAM): raw TCP peers, no ZMTP, on the
default loop and on uvloop.

Rules, as libzmq has them: each message is [routing id, data]; with stream_notify (the
default) a peer's arrival and departure are each [routing id, b""]; sending
[routing id, b""] closes that peer; an unknown id raises HostUnreachable; a peer that
floods is bounded by the receive HWM. The raw peers here are asyncio's own streams.
"""

from __future__ import annotations

import asyncio
import socket
import tracemalloc

import pytest
from asyncio_helpers import Runner

import zmtp
import zmtp.asyncio


async def connect_raw(endpoint: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def recv_data(sock: zmtp.asyncio.Socket, rid: bytes, until: bytes) -> bytes:
    """Gather what peer ``rid`` sends until it ends with ``until``."""
    got = b""
    while not got.endswith(until):
        got_id, data = await sock.recv_multipart()
        assert got_id == rid
        got += data
    return got


def test_a_stream_server_answers_a_plain_http_client(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0)
            reader, writer = await connect_raw(await server.bind("tcp://127.0.0.1:*"))
            rid, hello = await server.recv_multipart()
            assert hello == b"" and rid[:1] == b"\x00" and len(rid) == 5  # the arrival
            writer.write(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
            request = await recv_data(server, rid, b"\r\n\r\n")
            assert request.startswith(b"GET /index.html HTTP/1.0\r\n")
            body = b"<h1>hello</h1>"
            await server.send_multipart(
                [rid, b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]
            )
            await server.send_multipart([rid, b""])  # close that peer
            response = await reader.read()  # until EOF
            assert response.startswith(b"HTTP/1.0 200 OK\r\n")
            assert response.endswith(b"\r\n\r\n" + body)
            assert await server.recv_multipart() == [rid, b""]  # the departure
            writer.close()

    run(main)


def test_a_stream_client_talks_to_a_plain_tcp_server(run: Runner) -> None:
    async def main() -> None:
        accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        accepted = asyncio.Queue()

        async def on_client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await accepted.put((r, w))

        listener = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with zmtp.asyncio.Context() as ctx:
            client = ctx.socket(zmtp.STREAM, linger=0)
            await client.connect(f"tcp://127.0.0.1:{port}")
            reader, writer = await accepted.get()
            rid, hello = await client.recv_multipart()
            assert hello == b""
            await client.send(rid, zmtp.SNDMORE)
            await client.send(b"ping\n")
            assert await reader.readexactly(5) == b"ping\n"
            writer.write(b"pong\n")
            assert await client.recv_multipart() == [rid, b"pong\n"]
            writer.close()
            assert await client.recv_multipart() == [rid, b""]  # the peer left
        listener.close()
        await listener.wait_closed()

    run(main)


def test_sending_to_an_unknown_peer_raises_host_unreachable(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0)
            await server.bind("tcp://127.0.0.1:*")
            with pytest.raises(zmtp.HostUnreachable, match="no peer with routing id"):
                await server.send_multipart([b"\x00nope", b"data"])
            with pytest.raises(zmtp.FrameTypeError, match=r"\[routing id, data\]"):
                await server.send_multipart([b"\x00nope"])

    run(main)


def test_without_stream_notify_no_empty_messages_arrive(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0, stream_notify=False)
            async with server.monitor(zmtp.Event.DISCONNECTED) as monitor:
                _, writer = await connect_raw(await server.bind("tcp://127.0.0.1:*"))
                writer.write(b"first")
                rid, data = await server.recv_multipart()
                assert data == b"first" and rid[:1] == b"\x00"
                writer.close()
                await monitor.wait_for(zmtp.Event.DISCONNECTED)
            # The peer is gone and no departure message was queued for it.
            assert await server.poll(0) == 0
            with pytest.raises(zmtp.Again):
                server.recv_multipart_nowait()

    run(main)


def test_connect_routing_id_names_the_peer_of_a_connect(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0)
            endpoint = await server.bind("tcp://127.0.0.1:*")
            client = ctx.socket(zmtp.STREAM, linger=0, connect_routing_id=b"upstream")
            await client.connect(endpoint)
            assert await client.recv_multipart() == [b"upstream", b""]
            await client.send_multipart([b"upstream", b"hi"])
            rid, arrival = await server.recv_multipart()
            assert arrival == b""
            assert await recv_data(server, rid, b"hi") == b"hi"

    run(main)


def test_closing_a_stream_socket_lingers_until_its_data_is_written(run: Runner) -> None:
    """libzmq's linger: what was queued for a raw peer goes out before the socket
    closes (4 MB: more than the kernel's buffers, so the writer must wait for room)."""
    payload = bytes(range(256)) * 16384

    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM)  # linger -1: until everything is sent
            reader, writer = await connect_raw(await server.bind("tcp://127.0.0.1:*"))
            rid, _ = await server.recv_multipart()
            await server.send_multipart([rid, payload])
            reading = asyncio.ensure_future(reader.read())  # until EOF
            await server.close()
            assert server.dropped == 0
            assert await reading == payload
            writer.close()

    run(main)


def test_a_flooding_peer_is_bounded_by_the_receive_hwm(run: Runner) -> None:
    """The application does not read; the peer writes up to 64 MB. zmtp keeps at most
    rcvhwm reads of it (the kernel buffers the rest, then the peer's writes fail with
    EAGAIN), and everything arrives, in order, once the application reads."""
    hwm = 4
    bound = (hwm + 2) * 256 * 1024 + 1024 * 1024

    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0, rcvhwm=hwm)
            endpoint = await server.bind("tcp://127.0.0.1:*")
            host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
            tracemalloc.start()
            try:
                baseline = tracemalloc.get_traced_memory()[0]
                raw = socket.create_connection((host, int(port)))
                raw.setblocking(False)
                chunk = b"f" * 65536
                sent = stalled = 0
                while sent < 64 * 1024 * 1024 and stalled < 20:
                    try:
                        sent += raw.send(chunk)
                        stalled = 0
                    except BlockingIOError:
                        stalled += 1
                        await asyncio.sleep(0)  # pacing: one loop pass, so the server reads
                peak = tracemalloc.get_traced_memory()[1] - baseline
            finally:
                tracemalloc.stop()
            assert sent < 64 * 1024 * 1024, "the flood was never pushed back"
            assert peak < bound, f"{peak} octets held for a peer that floods (bound {bound})"
            rid, _ = await server.recv_multipart()  # the arrival
            raw.shutdown(socket.SHUT_WR)  # the end of the flood, after what is buffered
            total = 0
            while True:
                got_id, data = await server.recv_multipart()
                assert got_id == rid
                if not data:
                    break
                assert data == b"f" * len(data)
                total += len(data)
            raw.close()
            assert total == sent

    run(main, timeout=30)


def test_stream_sockets_refuse_inproc(run: Runner) -> None:
    async def main() -> None:
        async with zmtp.asyncio.Context() as ctx:
            server = ctx.socket(zmtp.STREAM, linger=0)
            with pytest.raises(zmtp.ZMTPValueError, match="raw bytes over tcp or ipc"):
                await server.bind("inproc://raw")
            with pytest.raises(zmtp.ZMTPValueError, match="raw bytes over tcp or ipc"):
                await server.connect("inproc://raw")

    run(main)
