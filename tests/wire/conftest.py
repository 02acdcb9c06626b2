"""Shared fixtures for the zmtp.wire tests.

Three things live here, so that test modules import nothing but zmtp and pytest:

* **spec vectors**: ``load_spec(name)`` reads ``specs/<name>`` (found relative to this
  file), and :func:`pytest_generate_tests` parametrizes any test that asks for one of
  the argument names in :data:`_VECTOR_PARAMS` with every matching vector, using the
  vector's ``name`` as the test id (so a failure names the rule, not an index);
* **ConnectionPair**: two :class:`~zmtp.wire.Connection` objects wired back to back
  with bytes alone (in the spirit of h11's ``tests/helpers.py``). ``pump()`` moves
  ``data_to_send()`` of each side into the other until both are quiet, and records
  everything each side wrote, so a test can inspect the wire;
* small helpers exposed as fixtures: ``drain`` (collect events up to the connection's
  error), ``decode_stream`` (split recorded bytes into commands and messages).

Nothing here sleeps or touches a socket.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zmtp.errors import ProtocolError
from zmtp.wire import Connection, Event, HandshakeComplete
from zmtp.wire.commands import parse_command
from zmtp.wire.frames import CommandFrame, FrameDecoder
from zmtp.wire.greeting import GREETING_SIZE

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"


@functools.cache
def load_spec(name: str) -> Any:
    """The parsed JSON of ``specs/<name>`` (cached; treat it as read-only)."""
    with open(SPECS_DIR / name, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def spec() -> Callable[[str], Any]:
    """``spec("socket_types.json")`` -> the parsed file."""
    return load_spec


# ---------------------------------------------------------------------------------------
# Parametrization from the spec files


def _vectors(name: str) -> list[dict[str, Any]]:
    return list(load_spec(name)["vectors"])


def _is_long_form_of_short_body(vector: dict[str, Any]) -> bool:
    """A vector that uses the 8-octet size for a body under 256 octets: legal to
    receive, but an encoder always writes the short form (RFC 23 Framing)."""
    raw = bytes.fromhex(vector["hex"])
    return bool(raw[0] & 0x02) and len(raw) - 9 < 256


def _socket_types() -> list[str]:
    return list(load_spec("socket_types.json")["types"])


def _compatible_pairs() -> list[tuple[str, str]]:
    table = load_spec("socket_types.json")["compatible"]
    return [(ours, theirs) for ours in table for theirs in table[ours]]


def _incompatible_sample() -> list[tuple[str, str]]:
    """For every socket type, one type it must refuse: itself when RFC 37 forbids that,
    else the first forbidden type in the spec's order."""
    types = _socket_types()
    table = load_spec("socket_types.json")["compatible"]
    sample = []
    for ours in types:
        if ours not in table[ours]:
            sample.append((ours, ours))
            continue
        theirs = next(t for t in types if t not in table[ours])
        sample.append((ours, theirs))
    return sample


def _captures(mechanism: str) -> list[dict[str, Any]]:
    return [
        c
        for c in load_spec("libzmq_captures.json")["captures"]
        if c["mechanism"] == mechanism and c["libzmq_bytes_hex"]
    ]


def _pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


#: argument name -> (values, id of one value)
_VECTOR_PARAMS: dict[str, tuple[Callable[[], list[Any]], Callable[[Any], str]]] = {
    "valid_greeting_vector": (
        lambda: [v for v in _vectors("greetings.json") if v["valid"]],
        lambda v: v["name"],
    ),
    "zero_padded_greeting_vector": (
        lambda: [
            v
            for v in _vectors("greetings.json")
            if v["valid"] and bytes.fromhex(v["hex"])[1:9] == bytes(8)
        ],
        lambda v: v["name"],
    ),
    "invalid_greeting_vector": (
        lambda: [v for v in _vectors("greetings.json") if not v["valid"]],
        lambda v: v["name"],
    ),
    "valid_frame_vector": (
        lambda: [v for v in _vectors("frames.json") if v["valid"]],
        lambda v: v["name"],
    ),
    "invalid_frame_vector": (
        lambda: [v for v in _vectors("frames.json") if not v["valid"]],
        lambda v: v["name"],
    ),
    "too_large_frame_vector": (
        lambda: [v for v in _vectors("frames.json") if v.get("error") == "frame_too_large"],
        lambda v: v["name"],
    ),
    "valid_command_vector": (
        lambda: [v for v in _vectors("commands.json") if v["valid"]],
        lambda v: v["name"],
    ),
    "encodable_command_vector": (
        lambda: [
            v
            for v in _vectors("commands.json")
            if v["valid"] and not _is_long_form_of_short_body(v)
        ],
        lambda v: v["name"],
    ),
    "invalid_command_vector": (
        lambda: [v for v in _vectors("commands.json") if not v["valid"]],
        lambda v: v["name"],
    ),
    "old_greeting_vector": (
        lambda: [v for v in _vectors("old_greetings.json") if v["valid"]],
        lambda v: v["name"],
    ),
    "invalid_old_greeting_vector": (
        lambda: [v for v in _vectors("old_greetings.json") if not v["valid"]],
        lambda v: v["name"],
    ),
    "old_frame_vector": (
        lambda: [v for v in _vectors("old_frames.json") if v["valid"]],
        lambda v: v["name"],
    ),
    "encodable_old_frame_vector": (
        lambda: [v for v in _vectors("old_frames.json") if v["valid"] and v.get("canonical", True)],
        lambda v: v["name"],
    ),
    "invalid_old_frame_vector": (
        lambda: [v for v in _vectors("old_frames.json") if not v["valid"]],
        lambda v: v["name"],
    ),
    "compatible_pair": (_compatible_pairs, _pair_id),
    "incompatible_pair": (_incompatible_sample, _pair_id),
    "null_capture": (lambda: _captures("NULL"), lambda c: c["name"]),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argname, (values, ident) in _VECTOR_PARAMS.items():
        if argname in metafunc.fixturenames:
            items = values()
            metafunc.parametrize(argname, items, ids=[ident(v) for v in items])


# ---------------------------------------------------------------------------------------
# Connections back to back


class ConnectionPair:
    """Two connections that talk to each other through bytes alone.

    ``a`` is conventionally the connecting side and ``b`` the binding side, but the
    protocol is symmetric under NULL. ``wire_a`` / ``wire_b`` accumulate every octet
    each side wrote, greeting included.
    """

    def __init__(self, a: Connection, b: Connection) -> None:
        self.a = a
        self.b = b
        self.wire_a = bytearray()
        self.wire_b = bytearray()

    def pump(self, max_rounds: int = 32) -> None:
        """Deliver ``data_to_send()`` of each side to the other until both are quiet.

        Never delivers ``b""``: to a Connection that means the peer closed.
        """
        for _ in range(max_rounds):
            out_a = self.a.data_to_send()
            out_b = self.b.data_to_send()
            if not out_a and not out_b:
                return
            self.wire_a += out_a
            self.wire_b += out_b
            if out_a:
                self.b.receive_data(out_a)
            if out_b:
                self.a.receive_data(out_b)
        raise AssertionError(f"connections still talking after {max_rounds} rounds")

    def a_to_b(self, data: bytes) -> None:
        """Deliver bytes produced by ``a`` (e.g. ``a.send_message(...)``) to ``b``."""
        self.wire_a += data
        self.b.receive_data(data)

    def b_to_a(self, data: bytes) -> None:
        self.wire_b += data
        self.a.receive_data(data)


def drain_events(conn: Connection) -> tuple[list[Event], ProtocolError | None]:
    """Every pending event, then the connection's error if it failed (else None)."""
    events: list[Event] = []
    try:
        while True:
            batch = conn.events()
            if not batch:
                return events, None
            events += batch
    except ProtocolError as exc:
        return events, exc


@pytest.fixture
def drain() -> Callable[[Connection], tuple[list[Event], ProtocolError | None]]:
    """``events, error = drain(conn)``: pending events and the error raised after them."""
    return drain_events


@pytest.fixture
def make_pair() -> Callable[..., ConnectionPair]:
    """``make_pair(a, b)``: wire two connections (or socket type names) back to back."""

    def make(a: Connection | str, b: Connection | str) -> ConnectionPair:
        conn_a = a if isinstance(a, Connection) else Connection(a)
        conn_b = b if isinstance(b, Connection) else Connection(b)
        return ConnectionPair(conn_a, conn_b)

    return make


@pytest.fixture
def ready_pair(make_pair: Callable[..., ConnectionPair]) -> Callable[..., ConnectionPair]:
    """``ready_pair(a, b)``: a pair whose handshake completed, with events drained."""

    def make(a: Connection | str, b: Connection | str) -> ConnectionPair:
        pair = make_pair(a, b)
        pair.pump()
        for side in (pair.a, pair.b):
            events, error = drain_events(side)
            assert error is None, f"handshake failed: {error!r}"
            assert any(type(e) is HandshakeComplete for e in events), events
        return pair

    return make


def _decode(data: bytes | bytearray) -> list[tuple[bytes, bytes] | list[bytes]]:
    """Split a byte stream (optionally starting with a greeting) into items: a command
    as ``(name, data)``, a message as its list of frame bodies."""
    data = bytes(data)
    if data[:1] == b"\xff":
        data = data[GREETING_SIZE:]
    dec = FrameDecoder()
    dec.feed(data)
    items: list[tuple[bytes, bytes] | list[bytes]] = []
    for item in dec.read():
        if isinstance(item, CommandFrame):
            items.append(parse_command(item.body))
        else:
            items.append(item)
    assert not dec.mid_message, "stream ends inside a frame"
    return items


@pytest.fixture
def decode_stream() -> Callable[[bytes | bytearray], list[tuple[bytes, bytes] | list[bytes]]]:
    """``decode_stream(wire)`` -> ``[(b"READY", data), [b"frame", ...], ...]``."""
    return _decode
