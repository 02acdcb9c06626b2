"""ZMTP commands and metadata (RFC 23 "Commands", "The NULL Security Mechanism",
"Connection Metadata"; RFC 37 "The Publish-Subscribe Pattern", "Connection Heartbeating").

A command is one frame with the COMMAND flag whose body is::

    +-----------+------------------+----------------+
    | name size | name (ALPHA)     | command data   |
    | 1 octet   | 1..255 octets    | rest of frame  |
    +-----------+------------------+----------------+

Metadata (READY, INITIATE) is a sequence of properties::

    +-----------+---------------+---------------------+---------------+
    | name size | name          | value size          | value         |
    | 1 octet   | 1..255 octets | 4 octets, network   | 0..2^31-1     |
    +-----------+---------------+---------------------+---------------+

Property names are case-insensitive (RFC 23); :class:`Metadata` looks them up in any
case but keeps the spelling it was given, and we emit ``Socket-Type`` and ``Identity``
spelt exactly so, because libzmq looks them up by that spelling.

The parsers here raise :class:`ProtocolError` naming what is malformed; they never
trust a length field beyond the octets actually present. This file never touches a
socket.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator, Mapping

from zmtp.errors import ProtocolError, ZMTPValueError
from zmtp.wire.frames import encode_command_frame

__all__ = [
    "Metadata",
    "decode_metadata",
    "encode_cancel",
    "encode_error",
    "encode_metadata",
    "encode_ping",
    "encode_pong",
    "encode_ready",
    "encode_subscribe",
    "parse_command",
    "parse_error",
    "parse_ping",
    "parse_pong",
]

# Command names (RFC 23, RFC 37).
READY = b"READY"
ERROR = b"ERROR"
SUBSCRIBE = b"SUBSCRIBE"
CANCEL = b"CANCEL"
PING = b"PING"
PONG = b"PONG"

#: RFC 37: the PING context is 0..16 octets.
MAX_PING_CONTEXT = 16
#: RFC 37: the PING TTL is 16 bits of tenths of a second.
MAX_PING_TTL = 0xFFFF

_NAME_CHARS = re.compile(rb"[A-Za-z0-9\-_.+]+")
_u32 = struct.Struct(">I")


def parse_command(body: bytes) -> tuple[bytes, bytes]:
    """Split a command frame body into ``(name, data)``."""
    if not body:
        raise ProtocolError("empty command frame: no command name", rfc=23, section="Commands")
    n = body[0]
    if n == 0x5E and body[1:5] == b"RROR":
        # libzmq 4.3 writes the ERROR command of its PLAIN/CURVE servers from the C
        # literal "\x05ERROR", where the hex escape swallows the 'E': the name arrives
        # as size 0x5E then "RROR". Read it as the ERROR it means to be.
        return ERROR, body[5:]
    if n == 0:
        raise ProtocolError("command name is empty", rfc=23, section="Commands")
    if len(body) < 1 + n:
        raise ProtocolError(
            f"command name announced {n} octets but the frame holds {len(body) - 1}",
            rfc=23,
            section="Commands",
        )
    return body[1 : 1 + n], body[1 + n :]


class Metadata(Mapping[str, bytes]):
    """Connection metadata: a read-only mapping with case-insensitive names.

    ``meta["socket-type"]`` and ``meta["Socket-Type"]`` are the same property;
    iteration yields names as the peer spelt them.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, bytes]] | Mapping[str, bytes] = ()):
        if isinstance(items, Mapping):
            items = items.items()
        self._items: dict[str, tuple[str, bytes]] = {}
        for name, value in items:
            self._items[name.lower()] = (name, bytes(value))

    def __getitem__(self, name: str) -> bytes:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (spelt for spelt, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Metadata({dict(self.items())!r})"


def encode_metadata(props: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """Encode properties in order. Names must be 1..255 of ``A-Za-z0-9-_.+``."""
    items = props.items() if isinstance(props, Mapping) else props
    out = []
    for name, value in items:
        raw = name.encode("ascii")
        if not 0 < len(raw) < 256 or not _NAME_CHARS.fullmatch(raw):
            raise ZMTPValueError(
                f"invalid metadata property name {name!r}: 1..255 octets of letters, digits "
                "and - _ . + (RFC 23 Connection Metadata)"
            )
        value = bytes(value)
        if len(value) > 0x7FFFFFFF:
            raise ZMTPValueError(
                f"metadata property {name!r} value exceeds 2^31-1 octets "
                "(RFC 23 Connection Metadata: a 4-octet length)"
            )
        out.append(bytes((len(raw),)) + raw + _u32.pack(len(value)) + value)
    return b"".join(out)


def decode_metadata(data: bytes) -> Metadata:
    """Decode a property list; any truncation or bad name is a ProtocolError."""
    items: list[tuple[str, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        n = data[pos]
        pos += 1
        if n == 0:
            raise ProtocolError(
                "metadata property name is empty", rfc=23, section="The NULL Security Mechanism"
            )
        if pos + n > end:
            raise ProtocolError(
                f"metadata property name announced {n} octets, only {end - pos} remain",
                rfc=23,
                section="The NULL Security Mechanism",
            )
        raw = data[pos : pos + n]
        pos += n
        if not _NAME_CHARS.fullmatch(raw):
            raise ProtocolError(
                f"metadata property name {raw!r} has characters outside A-Z a-z 0-9 - _ . +",
                rfc=23,
                section="The NULL Security Mechanism",
            )
        if pos + 4 > end:
            raise ProtocolError(
                f"metadata property {raw.decode()!r} has a truncated value size",
                rfc=23,
                section="The NULL Security Mechanism",
            )
        (size,) = _u32.unpack_from(data, pos)
        pos += 4
        if size > 0x7FFFFFFF:
            raise ProtocolError(
                f"metadata property {raw.decode()!r} value size {size} exceeds 2^31-1",
                rfc=23,
                section="The NULL Security Mechanism",
            )
        if pos + size > end:
            raise ProtocolError(
                f"metadata property {raw.decode()!r} value announced {size} octets, "
                f"only {end - pos} remain",
                rfc=23,
                section="The NULL Security Mechanism",
            )
        items.append((raw.decode("ascii"), data[pos : pos + size]))
        pos += size
    return Metadata(items)


def encode_ready(props: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """A READY command frame carrying ``props``."""
    return encode_command_frame(READY, encode_metadata(props))


def encode_error(reason: str | bytes) -> bytes:
    """An ERROR command frame. The reason is cut to 255 octets (RFC 23)."""
    raw = reason.encode("utf-8", "replace") if isinstance(reason, str) else bytes(reason)
    raw = raw[:255]
    return encode_command_frame(ERROR, bytes((len(raw),)) + raw)


def parse_error(data: bytes) -> str:
    """The reason carried by an ERROR command's data."""
    if not data:
        raise ProtocolError(
            "ERROR command has no reason size", rfc=23, section="The NULL Security Mechanism"
        )
    n = data[0]
    if len(data) < 1 + n:
        raise ProtocolError(
            f"ERROR reason announced {n} octets, only {len(data) - 1} present",
            rfc=23,
            section="The NULL Security Mechanism",
        )
    return data[1 : 1 + n].decode("utf-8", "replace")


def encode_subscribe(topic: bytes) -> bytes:
    """A ZMTP 3.1 SUBSCRIBE command frame."""
    return encode_command_frame(SUBSCRIBE, topic)


def encode_cancel(topic: bytes) -> bytes:
    """A ZMTP 3.1 CANCEL command frame."""
    return encode_command_frame(CANCEL, topic)


def encode_ping(ttl: int = 0, context: bytes = b"") -> bytes:
    """A PING command frame. ``ttl`` is in tenths of a second (RFC 37)."""
    if not 0 <= ttl <= MAX_PING_TTL:
        raise ZMTPValueError(
            f"PING TTL must be 0..{MAX_PING_TTL} tenths of a second, got {ttl} "
            "(RFC 37 Connection Heartbeating)"
        )
    if len(context) > MAX_PING_CONTEXT:
        raise ZMTPValueError(
            f"PING context must be at most {MAX_PING_CONTEXT} octets "
            "(RFC 37 Connection Heartbeating)"
        )
    return encode_command_frame(PING, ttl.to_bytes(2, "big") + context)


def encode_pong(context: bytes = b"") -> bytes:
    """A PONG command frame echoing a PING's context."""
    if len(context) > MAX_PING_CONTEXT:
        raise ZMTPValueError(
            f"PONG context must be at most {MAX_PING_CONTEXT} octets "
            "(RFC 37 Connection Heartbeating)"
        )
    return encode_command_frame(PONG, context)


def parse_ping(data: bytes) -> tuple[int, bytes]:
    """``(ttl, context)`` of a PING command's data."""
    if len(data) < 2:
        raise ProtocolError(
            f"PING needs a 2-octet TTL, got {len(data)} octets",
            rfc=37,
            section="Connection Heartbeating",
        )
    context = data[2:]
    if len(context) > MAX_PING_CONTEXT:
        raise ProtocolError(
            f"PING context of {len(context)} octets exceeds {MAX_PING_CONTEXT}",
            rfc=37,
            section="Connection Heartbeating",
        )
    return int.from_bytes(data[:2], "big"), context


def parse_pong(data: bytes) -> bytes:
    """The context of a PONG command's data."""
    if len(data) > MAX_PING_CONTEXT:
        raise ProtocolError(
            f"PONG context of {len(data)} octets exceeds {MAX_PING_CONTEXT}",
            rfc=37,
            section="Connection Heartbeating",
        )
    return data
