"""Endpoint strings (zmtp/transport/endpoint.py): a typo fails at the call that made it,
with a message naming what is wrong, instead of a socket that silently never connects.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

import zmtp
from zmtp.transport.endpoint import Endpoint, parse_endpoint

BAD_FOR_BOTH = [
    ("127.0.0.1:5555", "has no transport"),
    ("udp://127.0.0.1:5555", "unknown transport 'udp'"),
    ("TCP://127.0.0.1:5555", "unknown transport 'TCP'"),
    ("tcp://", "empty address"),
    ("tcp://127.0.0.1", "has no port"),
    ("tcp://:5555", "has no host"),
    ("tcp://127.0.0.1:http", "port 'http' is not a number"),
    ("tcp://127.0.0.1:65536", "out of range"),
    ("tcp://127.0.0.1:-1", "out of range"),
    ("tcp://::1:5555", "write IPv6 as"),
    ("tcp://[::1:5555", "write IPv6 as"),
    ("tcp://[::1]5555", "write IPv6 as"),
    ("ipc://", "empty address"),
    ("inproc://", "empty address"),
]

BAD_FOR_CONNECT = [
    ("tcp://*:5555", "'*' as a host is for bind only"),
    ("tcp://127.0.0.1:*", "a connect needs a real port"),
    ("tcp://127.0.0.1:0", "a connect needs a real port"),
    ("ipc://*", "'ipc://*' is for bind only"),
    ("tcp://;127.0.0.1:5555", "empty source address"),
    ("tcp://127.0.0.1:x;127.0.0.1:5555", "source port 'x' is not a number"),
]

BAD_FOR_BIND = [
    ("tcp://127.0.0.1:0;127.0.0.1:5555", "a source address ('src;dst') is for connect only"),
]


@pytest.mark.parametrize(("endpoint", "says"), BAD_FOR_BOTH + BAD_FOR_CONNECT)
def test_a_malformed_connect_endpoint_is_refused_saying_why(endpoint: str, says: str):
    with pytest.raises(zmtp.ZMTPValueError) as refused:
        parse_endpoint(endpoint, bind=False)
    assert says in str(refused.value)
    assert repr(endpoint) in str(refused.value), "the message names the endpoint"


@pytest.mark.parametrize(("endpoint", "says"), BAD_FOR_BOTH + BAD_FOR_BIND)
def test_a_malformed_bind_endpoint_is_refused_saying_why(endpoint: str, says: str):
    with pytest.raises(zmtp.ZMTPValueError) as refused:
        parse_endpoint(endpoint, bind=True)
    assert says in str(refused.value)
    assert repr(endpoint) in str(refused.value), "the message names the endpoint"


def test_an_endpoint_must_be_a_str():
    with pytest.raises(zmtp.ZMTPValueError, match="must be a str"):
        parse_endpoint(b"tcp://127.0.0.1:5555", bind=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("endpoint", "bind", "parsed"),
    [
        ("tcp://127.0.0.1:5555", False, Endpoint("tcp", "127.0.0.1:5555", "127.0.0.1", 5555)),
        ("tcp://localhost:1", False, Endpoint("tcp", "localhost:1", "localhost", 1)),
        ("tcp://[::1]:5555", False, Endpoint("tcp", "[::1]:5555", "::1", 5555)),
        ("tcp://*:5555", True, Endpoint("tcp", "*:5555", "*", 5555)),
        ("tcp://127.0.0.1:*", True, Endpoint("tcp", "127.0.0.1:*", "127.0.0.1", 0)),
        ("tcp://127.0.0.1:65535", False, Endpoint("tcp", "127.0.0.1:65535", "127.0.0.1", 65535)),
        ("ipc:///tmp/x.sock", False, Endpoint("ipc", "/tmp/x.sock")),
        ("ipc://@abstract", False, Endpoint("ipc", "@abstract")),
        ("ipc://*", True, Endpoint("ipc", "*")),
        ("inproc://a-name", False, Endpoint("inproc", "a-name")),
        (
            "tcp://127.0.0.2;127.0.0.1:5555",
            False,
            Endpoint("tcp", "127.0.0.2;127.0.0.1:5555", "127.0.0.1", 5555, "127.0.0.2", 0),
        ),
        (
            "tcp://[::1]:6000;[::1]:5555",
            False,
            Endpoint("tcp", "[::1]:6000;[::1]:5555", "::1", 5555, "::1", 6000),
        ),
    ],
)
def test_well_formed_endpoints_parse_into_their_parts(endpoint: str, bind: bool, parsed: Endpoint):
    assert parse_endpoint(endpoint, bind=bind) == parsed
    assert str(parsed) == endpoint


@pytest.mark.parametrize(("endpoint", "says"), BAD_FOR_CONNECT[:2] + BAD_FOR_BOTH[:3])
async def test_socket_connect_and_bind_refuse_malformed_endpoints_before_any_io(
    make: Callable[..., zmtp.Socket], endpoint: str, says: str
):
    with anyio.fail_after(5):
        sock = make(zmtp.PUSH)
        with pytest.raises(zmtp.ZMTPValueError, match=says):
            await sock.connect(endpoint)
        if (endpoint, says) in BAD_FOR_BOTH:
            with pytest.raises(zmtp.ZMTPValueError, match=says):
                await sock.bind(endpoint)
        assert sock.last_endpoint == ""


async def test_binding_ipc_wildcard_makes_a_fresh_socket_file(make: Callable[..., zmtp.Socket]):
    with anyio.fail_after(5):
        pull, push = make(zmtp.PULL), make(zmtp.PUSH)
        ep = await pull.bind("ipc://*")
        assert ep.startswith("ipc:///") and ep != "ipc://*"
        await push.connect(ep)
        await push.send(b"through a fresh file")
        assert await pull.recv() == b"through a fresh file"
