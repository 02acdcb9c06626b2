"""A finished connection's memory comes back by reference counting alone.

Objects in a reference cycle wait for CPython's cycle collector, which runs when it
pleases; a connection that held megabytes of a peer's frames would keep them that long.
So nothing in ``zmtp.wire`` may build a cycle: the mechanism reaches its connection
only weakly, a failed connection keeps its error without the traceback (whose frames
hold the connection) and raises copies, and a large body is received through a plain
memoryview rather than a ctypes array type made for its size (every such type is a
cycle).

Each test runs with the collector off and watches the objects with weak references:
their callbacks must fire as the last reference goes, without ``gc.collect()``.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from zmtp.errors import AuthenticationFailed, PeerError, ProtocolError
from zmtp.wire import (
    Connection,
    CurveClient,
    CurveServer,
    NullMechanism,
    PlainClient,
    PlainServer,
    curve_keypair,
)
from zmtp.wire.frames import FrameDecoder, encode_message
from zmtp.wire.mechanisms import Mechanism

BIG = 300_000  # a body large enough to be received in place


def _null() -> tuple[Connection, Connection]:
    return (
        Connection("DEALER", mechanism=NullMechanism()),
        Connection("ROUTER", mechanism=NullMechanism(as_server=True)),
    )


def _plain() -> tuple[Connection, Connection]:
    return (
        Connection("DEALER", mechanism=PlainClient(b"user", b"secret")),
        Connection("ROUTER", mechanism=PlainServer(), authenticator=lambda request: True),
    )


def _curve() -> tuple[Connection, Connection]:
    server_public, server_secret = curve_keypair()
    client_public, client_secret = curve_keypair()
    return (
        Connection("DEALER", mechanism=CurveClient(server_public, client_public, client_secret)),
        Connection(
            "ROUTER",
            mechanism=CurveServer(server_public, server_secret),
            authenticator=lambda request: True,
        ),
    )


PAIRS = {"NULL": _null, "PLAIN": _plain, "CURVE": _curve}


def _pump(a: Connection, b: Connection) -> None:
    for _ in range(16):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return
        if out_a:
            b.receive_data(out_a)
        if out_b:
            a.receive_data(out_b)


def _drain(conn: Connection) -> ProtocolError | None:
    try:
        while conn.events():
            pass
    except ProtocolError as exc:
        return exc
    return None


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _watch(*objects: object) -> list[str]:
    """Weak references to ``objects``; the returned list fills as they die."""
    died: list[str] = []

    def ref(o: object) -> weakref.ref[object]:
        name = type(o).__name__
        return weakref.ref(o, lambda _: died.append(name))

    _watch.refs = [ref(o) for o in objects]  # type: ignore[attr-defined]
    return died


def _parts(a: Connection, b: Connection) -> list[object]:
    return [a, b, a.mechanism, b.mechanism, a._decoder, b._decoder]


@pytest.mark.parametrize("make", list(PAIRS.values()), ids=list(PAIRS))
def test_a_closed_connection_and_its_mechanism_die_by_reference_counting(
    make: Callable[[], tuple[Connection, Connection]], no_collector: None
) -> None:
    a, b = make()
    _pump(a, b)
    assert _drain(a) is None and _drain(b) is None
    b.receive_data(a.send_message([b"small", b"x" * BIG]))
    a.receive_data(b.send_message([b"reply"]))
    assert _drain(a) is None and _drain(b) is None
    a.receive_data(b"")
    b.receive_data(b"")
    died = _watch(*_parts(a, b))
    del a, b
    assert len(died) == 6, f"only {died} died without the cycle collector"


@pytest.mark.parametrize("make", list(PAIRS.values()), ids=list(PAIRS))
def test_a_connection_whose_handshake_failed_dies_by_reference_counting(
    make: Callable[[], tuple[Connection, Connection]], no_collector: None
) -> None:
    a, b = make()
    b.receive_data(a.data_to_send())
    b.receive_data(b"\xff" * 64)  # garbage where the handshake's commands belong
    first = _drain(b)
    again = _drain(b)  # the failure is sticky: raised again, as a copy
    assert isinstance(first, ProtocolError) and isinstance(again, ProtocolError)
    assert str(first) == str(again) == str(b.error)
    assert b.error is not None and b.error.__traceback__ is None
    # What we caught holds the frames it was raised through, and so the connection:
    # let go of it, as a transport does once it has closed the connection.
    del first, again
    died = _watch(*_parts(a, b))
    del a, b
    assert len(died) == 6, f"only {died} died without the cycle collector"


@pytest.mark.parametrize("make", list(PAIRS.values()), ids=list(PAIRS))
def test_a_connection_dropped_in_the_middle_of_a_message_dies_by_reference_counting(
    make: Callable[[], tuple[Connection, Connection]], no_collector: None
) -> None:
    a, b = make()
    _pump(a, b)
    assert _drain(a) is None and _drain(b) is None
    wire = a.send_message([b"head", b"x" * BIG, b"tail"])
    b.receive_data(wire[: len(wire) // 2])
    assert _drain(b) is None
    died = _watch(*_parts(a, b))
    del a, b, wire
    assert len(died) == 6, f"only {died} died without the cycle collector"


def _refusing(kind: str, decide: Callable[[object], object]) -> tuple[Connection, Connection]:
    """A client, and a server that asks ``decide`` about it (NULL asks through ZAP)."""
    server: Mechanism
    client: Mechanism
    if kind == "NULL":
        client, server = NullMechanism(), NullMechanism(as_server=True, authenticate=True)
    elif kind == "PLAIN":
        client, server = PlainClient(b"user", b"wrong"), PlainServer()
    else:
        server_public, server_secret = curve_keypair()
        client_public, client_secret = curve_keypair()
        client = CurveClient(server_public, client_public, client_secret)
        server = CurveServer(server_public, server_secret)
    return (
        Connection("DEALER", mechanism=client),
        Connection("ROUTER", mechanism=server, authenticator=decide),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("deferred", [False, True], ids=["at-once", "deferred"])
@pytest.mark.parametrize("kind", list(PAIRS))
def test_connections_whose_peer_was_refused_die_by_reference_counting(
    kind: str, deferred: bool, no_collector: None
) -> None:
    # The server refuses the client (RFC 27 status 400); the client reads ERROR.
    a, b = _refusing(kind, (lambda request: None) if deferred else (lambda request: False))
    _pump(a, b)
    if deferred:
        assert [type(e).__name__ for e in b.events()] == ["GreetingReceived", "AuthRequest"]
        b.resolve_auth(False)
        _pump(a, b)
    client_error, server_error = _drain(a), _drain(b)
    assert isinstance(client_error, PeerError) and client_error.peer_reason == "400"
    assert isinstance(server_error, AuthenticationFailed)
    del client_error, server_error
    died = _watch(*_parts(a, b))
    del a, b
    assert len(died) == 6, f"only {died} died without the cycle collector"


def test_a_connection_failed_mid_traffic_dies_by_reference_counting(
    no_collector: None,
) -> None:
    a, b = _null()
    _pump(a, b)
    assert _drain(a) is None and _drain(b) is None
    b.receive_data(a.send_message([b"fine"]) + b"\xf8\x00")  # reserved flag bits
    assert isinstance(_drain(b), ProtocolError)
    died = _watch(*_parts(a, b))
    del a, b
    assert len(died) == 6, f"only {died} died without the cycle collector"


def test_decoding_large_bodies_leaves_nothing_for_the_cycle_collector(
    no_collector: None,
) -> None:
    def decode(size: int) -> None:
        decoder = FrameDecoder()
        wire = encode_message([b"x" * size])
        decoder.feed(wire[:1000])  # the body is then assembled in a buffer of its own
        assert decoder.read() == [] and decoder.body_buffer() is not None
        decoder.feed(wire[1000:])
        assert [len(frame) for frame in decoder.read()[0]] == [size]  # type: ignore[union-attr]

    decode(BIG)  # warm-up: anything made once per process
    gc.collect()
    for size in range(BIG, BIG + 20):  # a size the decoder has not seen yet, each time
        decode(size)
    assert gc.collect() == 0, "decoding made reference cycles"
