"""STREAM sockets (libzmq's ZMQ_STREAM): raw TCP peers, no ZMTP.

Rules, as libzmq has them: each message is [routing id, data]; with stream_notify (the
default) a peer's arrival and departure are each [routing id, b""]; sending
[routing id, b""] closes that peer; an unknown id raises HostUnreachable; a peer that
floods is bounded by the receive HWM.
"""

from __future__ import annotations

import contextlib
import socket
import tracemalloc
from collections.abc import Callable

import anyio
import anyio.abc
import pytest
from engines import settle

import zmtp

Make = Callable[..., zmtp.Socket]


async def _connect_raw(ep: str) -> anyio.abc.SocketStream:
    host, port = ep[len("tcp://") :].rsplit(":", 1)
    return await anyio.connect_tcp(host, int(port))


async def _read_until_eof(stream: anyio.abc.SocketStream) -> bytes:
    got = b""
    with contextlib.suppress(anyio.EndOfStream):
        while True:
            got += await stream.receive(65536)
    return got


async def test_a_stream_server_answers_a_plain_http_client(make: Make) -> None:
    with anyio.fail_after(5):
        server = make(zmtp.STREAM)
        ep = await server.bind("tcp://127.0.0.1:*")
        client = await _connect_raw(ep)
        rid, hello = await server.recv_multipart()
        assert hello == b"" and rid[:1] == b"\x00" and len(rid) == 5  # the arrival
        await client.send(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
        request = b""
        while b"\r\n\r\n" not in request:
            got_id, data = await server.recv_multipart()
            assert got_id == rid
            request += data
        assert request.startswith(b"GET /index.html HTTP/1.0\r\n")
        body = b"<h1>hello</h1>"
        await server.send_multipart(
            [rid, b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]
        )
        await server.send_multipart([rid, b""])  # close that peer
        response = await _read_until_eof(client)
        assert response.endswith(b"\r\n\r\n" + body)
        assert response.startswith(b"HTTP/1.0 200 OK\r\n")
        assert await server.recv_multipart() == [rid, b""]  # the departure
        await client.aclose()


async def test_a_stream_client_talks_to_a_plain_tcp_server(make: Make) -> None:
    with anyio.fail_after(5):
        listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        client = make(zmtp.STREAM)
        await client.connect(f"tcp://127.0.0.1:{port}")
        server_side = await listener.accept()
        rid, hello = await client.recv_multipart()
        assert hello == b""
        await client.send(rid, zmtp.SNDMORE)
        await client.send(b"ping\n")
        assert await server_side.receive(100) == b"ping\n"
        await server_side.send(b"pong\n")
        assert await client.recv_multipart() == [rid, b"pong\n"]
        await server_side.aclose()
        assert await client.recv_multipart() == [rid, b""]  # the peer left
        await listener.aclose()


async def test_sending_to_an_unknown_peer_raises_host_unreachable(make: Make) -> None:
    server = make(zmtp.STREAM)
    await server.bind("tcp://127.0.0.1:*")
    with pytest.raises(zmtp.HostUnreachable, match="no peer with routing id"):
        await server.send_multipart([b"\x00nope", b"data"])
    with pytest.raises(zmtp.FrameTypeError, match=r"\[routing id, data\]"):
        await server.send_multipart([b"\x00nope"])


async def test_without_stream_notify_no_empty_messages_arrive(make: Make) -> None:
    with anyio.fail_after(5):
        server = make(zmtp.STREAM, stream_notify=False)
        ep = await server.bind("tcp://127.0.0.1:*")
        client = await _connect_raw(ep)
        await client.send(b"first")
        rid, data = await server.recv_multipart()
        assert data == b"first"
        await client.aclose()
        assert rid[:1] == b"\x00"
        # pacing: nothing more must arrive (no departure message); a poll takes nothing
        assert await server.poll(200) == 0, "a departure was reported with stream_notify off"


async def test_connect_routing_id_names_the_peer_of_a_connect(make: Make) -> None:
    with anyio.fail_after(5):
        server = make(zmtp.STREAM)
        ep = await server.bind("tcp://127.0.0.1:*")
        client = make(zmtp.STREAM, connect_routing_id=b"upstream")
        await client.connect(ep)
        assert await client.recv_multipart() == [b"upstream", b""]
        await client.send_multipart([b"upstream", b"hi"])
        rid, arrival = await server.recv_multipart()
        assert arrival == b""
        data = b""
        while data != b"hi":
            got_id, chunk = await server.recv_multipart()
            assert got_id == rid
            data += chunk


async def test_a_flooding_peer_is_bounded_by_the_receive_hwm(make: Make) -> None:
    """The application does not read; the peer writes 64 MB. zmtp keeps at most rcvhwm
    reads of it (the kernel buffers the rest, then the peer's writes block)."""
    hwm = 4
    bound = (hwm + 2) * 256 * 1024 + 1024 * 1024
    with anyio.fail_after(20):
        server = make(zmtp.STREAM, rcvhwm=hwm)
        ep = await server.bind("tcp://127.0.0.1:*")
        host, port = ep[len("tcp://") :].rsplit(":", 1)
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            raw = socket.create_connection((host, int(port)))
            raw.setblocking(False)
            chunk = b"f" * 65536
            sent = 0
            stalled = 0
            while sent < 64 * 1024 * 1024 and stalled < 20:
                try:
                    sent += raw.send(chunk)
                    stalled = 0
                except BlockingIOError:
                    stalled += 1
                    await settle(0)  # the engine reads what it may
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert sent < 64 * 1024 * 1024, "the flood was never pushed back"
        assert peak < bound, f"{peak} octets held for a peer that floods (bound {bound})"
        # Reading resumes the flow: everything the peer wrote arrives, in order.
        total = 0
        rid, _ = await server.recv_multipart()
        raw.setblocking(True)
        raw.shutdown(socket.SHUT_WR)
        while True:
            got_id, data = await server.recv_multipart()
            assert got_id == rid
            if not data:
                break
            total += len(data)
        raw.close()
        assert total == sent


async def test_stream_sockets_refuse_inproc(make: Make) -> None:
    server = make(zmtp.STREAM)
    with pytest.raises(zmtp.ZMTPValueError, match="raw bytes over tcp or ipc"):
        await server.bind("inproc://raw")


def test_no_zmtp_socket_type_may_talk_to_a_stream_socket() -> None:
    """A ZMTP peer announcing STREAM is refused: STREAM peers speak raw bytes."""
    for kind in zmtp.SocketType:
        assert not zmtp.constants.compatible(kind, zmtp.STREAM), kind
        assert not zmtp.constants.compatible(zmtp.STREAM, kind), kind
