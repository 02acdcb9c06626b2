"""STREAM sockets on zmtp.sync (libzmq's ZMQ_STREAM): raw TCP peers, no ZMTP, through
the asyncio runtime's raw engine on the I/O thread.

Rules, as libzmq has them: each message is [routing id, data]; a peer's arrival and
departure are each [routing id, b""]; sending [routing id, b""] closes that peer; an
unknown id raises HostUnreachable. The raw peers are plain blocking OS sockets with
timeouts, so no call can hang the test.
"""

from __future__ import annotations

import socket

import pytest

import zmtp.sync as zmq


def raw_client(endpoint: str) -> socket.socket:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def test_a_stream_server_answers_a_plain_http_client(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.STREAM)
    server.bind("tcp://127.0.0.1:*")
    with raw_client(server.last_endpoint) as client:
        rid, hello = server.recv_multipart()
        assert hello == b"" and rid[:1] == b"\x00"  # the arrival
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            got_id, data = server.recv_multipart()
            assert got_id == rid
            request += data
        server.send_multipart([rid, b"HTTP/1.0 200 OK\r\n\r\nhello"])
        server.send_multipart([rid, b""])  # close that peer
        response = b""
        while chunk := client.recv(65536):
            response += chunk
        assert response == b"HTTP/1.0 200 OK\r\n\r\nhello"
    assert server.recv_multipart() == [rid, b""]  # the departure


def test_a_stream_client_talks_to_a_plain_tcp_server(ctx: zmq.Context) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        client = ctx.socket(zmq.STREAM)
        client.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(5)
            rid, hello = client.recv_multipart()
            assert hello == b""
            client.send(rid, zmq.SNDMORE)
            client.send(b"ping\n")
            assert peer.recv(100) == b"ping\n"
            peer.sendall(b"pong\n")
            assert client.recv_multipart() == [rid, b"pong\n"]
        assert client.recv_multipart() == [rid, b""]  # the peer left


def test_sending_to_an_unknown_peer_raises_host_unreachable(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.STREAM)
    server.bind("tcp://127.0.0.1:*")
    with pytest.raises(zmq.HostUnreachable, match="no peer with routing id"):
        server.send_multipart([b"\x00nope", b"data"])
