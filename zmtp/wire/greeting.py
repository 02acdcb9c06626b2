r"""The greeting and version detection (RFC 23 "The Greeting" and "Version Negotiation",
RFC 37, and the older greetings of RFC 15 and RFC 13).

A ZMTP 3.x connection opens with a fixed 64-octet greeting from each side::

    offset 0     1..8      9     10     11     12..31       32         33..63
         +-----+---------+-----+-----+-----+------------+-----------+----------+
         | FF  | padding | 7F  |major|minor| mechanism  | as-server | filler   |
         +-----+---------+-----+-----+-----+------------+-----------+----------+
          \____ signature ____/ \_version_/ 20, null-     0 or 1      31 zeros
                                            padded ASCII

A ZMTP 2.0 peer (RFC 15) sends 12 octets instead: the same signature, a revision
octet (0x01) and a socket-type octet. A ZMTP 1.0 peer (RFC 13) sends no greeting at
all: its first octets are its identity frame (a size, a flags octet, the identity).

Version detection, as RFC 15 "Backwards Interoperability" describes it and libzmq
does it, judges the peer's octets as they arrive:

* octet 0 is not 0xFF: a ZMTP 1.0 peer (those octets began its identity frame);
* octet 9 has its low bit clear: a ZMTP 1.0 peer whose identity frame uses the long
  size form (0xFF, 8 size octets, a flags octet);
* otherwise octet 9 must be 0x7F (the grammar of RFC 15 and RFC 23) and octet 10 is
  the version: 0x01 is ZMTP 2.0 (RFC 15's revision), 0x00 a ZMTP 1.0 peer that sends
  the 2.0 greeting (libzmq handles it with ZMTP 1.0 framing), 3 or more is ZMTP 3.x
  (RFC 23: a higher version is valid). 2 was never defined and is refused.

Because the answer decides what we may send, a peer that talks to older versions
sends its greeting in stages (RFC 23 "Version Negotiation"; libzmq does the same):
the signature at once; the major version octet once the peer's signature showed a
versioned peer; the rest (3.x: minor, mechanism, as-server, filler; 2.0: the socket
type) once the peer's version octet arrived. :class:`GreetingParser` reports each
step (``versioned``, ``peer_major``, ``greeting``) so the connection can do that.

The padding is never validated. When we detect older peers, ours holds our identity
size plus one (RFC 15), so that a ZMTP 1.0 peer reads our signature as the header of
our identity frame; a peer that only talks 3.x sends zeros (RFC 23).

This file never touches a socket.
"""

from __future__ import annotations

import dataclasses
import re
import struct

from zmtp.errors import HandshakeError, ProtocolError, ZMTPValueError

__all__ = [
    "GREETING_SIZE",
    "OLD_GREETING_SIZE",
    "SIGNATURE_SIZE",
    "Greeting",
    "GreetingParser",
    "encode_greeting",
    "encode_old_greeting",
]

GREETING_SIZE = 64
#: RFC 15: signature (10), revision (1), socket type (1).
OLD_GREETING_SIZE = 12
SIGNATURE_SIZE = 10
#: Octets needed to know the peer's major version (signature + major).
VERSION_DETECT_SIZE = 11

#: RFC 15 "Backwards Interoperability": ZMTP 2.0 is revision 1 of the protocol.
REVISION_ZMTP_20 = 0x01
#: The revision octet libzmq reads as a ZMTP 1.0 peer sending a 2.0-style greeting.
REVISION_ZMTP_10 = 0x00

_MECHANISM_SIZE = 20
_MECHANISM_CHARS = re.compile(rb"[A-Z0-9\-_.+]+")
_pack_padding = struct.Struct(">Q").pack


@dataclasses.dataclass(frozen=True)
class Greeting:
    """A decoded greeting: what the peer announced.

    For a ZMTP 3.x peer every field comes from its 64 octets. For an older peer
    ``major``/``minor`` are the protocol it speaks ((2, 0) or (1, 0)), ``mechanism``
    is empty (those versions have none) and ``socket_type`` is the RFC 15 socket-type
    octet, or None for a ZMTP 1.0 peer that sent no greeting at all.
    """

    major: int
    minor: int
    mechanism: bytes
    as_server: bool
    socket_type: int | None = None

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)


def encode_greeting(
    mechanism: bytes,
    as_server: bool,
    version: tuple[int, int] = (3, 1),
    *,
    padding: int = 0,
) -> bytes:
    """The 64-octet ZMTP 3.x greeting. ``padding`` is the big-endian number written in
    octets 1-8: 0 when we send the whole greeting at once (RFC 23), our identity size
    plus one when we also detect ZMTP 1.0 peers (RFC 15)."""
    if not 0 < len(mechanism) <= _MECHANISM_SIZE or not _MECHANISM_CHARS.fullmatch(mechanism):
        raise ZMTPValueError(
            f"invalid mechanism name {mechanism!r}: 1..20 of A-Z 0-9 - _ . + (RFC 23 The Greeting)"
        )
    major, minor = version
    return b"".join(
        (
            b"\xff" + _pack_padding(padding) + b"\x7f",
            bytes((major, minor)),
            mechanism.ljust(_MECHANISM_SIZE, b"\x00"),
            b"\x01" if as_server else b"\x00",
            bytes(31),
        )
    )


def encode_old_greeting(socket_type: int, *, padding: int = 1, revision: int = 1) -> bytes:
    """The 12-octet ZMTP 2.0 greeting (RFC 15 "Formal Grammar"): signature, revision,
    socket type. ``padding`` as in :func:`encode_greeting` (RFC 15 puts the identity
    size plus one there)."""
    if not 0 <= socket_type <= 0xFF:
        raise ZMTPValueError(f"socket-type octet must be 0..255, got {socket_type}")
    return b"\xff" + _pack_padding(padding) + b"\x7f" + bytes((revision, socket_type))


def _parse_mechanism(raw: bytes) -> bytes:
    """Strip the null padding of the mechanism field, refusing names RFC 23 forbids."""
    name = raw.rstrip(b"\x00")
    if not name or not _MECHANISM_CHARS.fullmatch(name):
        raise HandshakeError(
            f"greeting mechanism field {raw!r} is not a null-padded name of "
            "A-Z, 0-9, '-', '_', '.', '+'",
            rfc=23,
            section="Authentication and Confidentiality",
        )
    return name


class GreetingParser:
    """Judges the peer's greeting as its octets arrive, and detects its version.

    Feed it the start of the byte stream with :meth:`feed`; it returns the number of
    octets it consumed, never more than the greeting. As octets arrive it sets:

    * ``versioned`` (after 10 octets): the signature announced ZMTP 2.0 or later;
    * ``peer_major`` (after 11 octets): the protocol's major version, 1, 2 or 3+;
    * ``greeting`` (after 64 octets for 3.x, 12 for 2.0): the whole greeting.

    A ZMTP 1.0 peer that sent no greeting is recognised at its first octet or its
    tenth: ``unversioned`` becomes True, ``greeting`` is set with version (1, 0), and
    ``replay`` holds the octets consumed so far, which began the peer's identity
    frame and belong to the frame decoder.

    ``old_only`` makes the greeting 12 octets whatever the peer's version, as a
    ZMTP 2.0 peer reads it (RFC 15: the revision and the socket type); a later peer
    that downgrades sends its socket type there.

    Violations raise :class:`ProtocolError` (or :class:`HandshakeError`) at the very
    octet that shows them.
    """

    def __init__(self, *, old_only: bool = False) -> None:
        self._buf = bytearray()
        self._old_only = old_only
        self._size = GREETING_SIZE
        self.versioned = False
        self.unversioned = False
        self.peer_major: int | None = None
        self.greeting: Greeting | None = None
        self.replay = b""

    @property
    def done(self) -> bool:
        return self.greeting is not None

    def feed(self, data: bytes | bytearray | memoryview) -> int:
        """Consume up to the rest of the greeting from ``data``; return octets consumed."""
        pos = 0
        n = len(data)
        while pos < n and self.greeting is None:
            have = len(self._buf)
            stop = self._next_stop(have)
            take = min(stop - have, n - pos)
            self._buf += data[pos : pos + take]
            pos += take
            if len(self._buf) == stop:
                self._judge(stop)
        return pos

    def _next_stop(self, have: int) -> int:
        """The next octet count at which something can be decided."""
        if have < 1:
            return 1
        if have < SIGNATURE_SIZE:
            return SIGNATURE_SIZE
        if have < VERSION_DETECT_SIZE:
            return VERSION_DETECT_SIZE
        return self._size

    def _judge(self, n: int) -> None:
        buf = self._buf
        if n == 1:
            if buf[0] != 0xFF:
                self._zmtp_10_without_greeting()
        elif n == SIGNATURE_SIZE:
            last = buf[9]
            if not last & 0x01:
                self._zmtp_10_without_greeting()
            elif last != 0x7F:
                raise ProtocolError(
                    f"greeting signature must end with 0x7F at octet 9, got 0x{last:02X}",
                    rfc=23,
                    section="The Greeting",
                )
            else:
                self.versioned = True
        elif n == VERSION_DETECT_SIZE:
            self._judge_version(buf[10])
        elif n == OLD_GREETING_SIZE and self._size == OLD_GREETING_SIZE:
            major = self.peer_major
            assert major is not None
            self.greeting = Greeting(
                major=major, minor=0, mechanism=b"", as_server=False, socket_type=buf[11]
            )
            self._buf = bytearray()
        elif n == GREETING_SIZE:
            as_server = buf[32]
            if as_server > 1:
                raise HandshakeError(
                    f"greeting as-server octet must be 0 or 1, got {as_server}",
                    rfc=23,
                    section="The Greeting",
                )
            self.greeting = Greeting(
                major=buf[10],
                minor=buf[11],
                mechanism=_parse_mechanism(bytes(buf[12:32])),
                as_server=bool(as_server),
            )
            self._buf = bytearray()

    def _judge_version(self, octet: int) -> None:
        if octet == REVISION_ZMTP_20:
            major = 2
        elif octet == REVISION_ZMTP_10:
            major = 1
        elif octet >= 3:
            major = octet  # RFC 23: higher versions are valid
        elif self._old_only:
            major = octet
        else:
            raise HandshakeError(
                f"peer announced version octet {octet}, which no ZMTP version uses "
                "(0x01 is ZMTP 2.0, 3 and above ZMTP 3.x)",
                rfc=23,
                section="Version Negotiation",
            )
        self.peer_major = major
        if major < 3 or self._old_only:
            self._size = OLD_GREETING_SIZE

    def _zmtp_10_without_greeting(self) -> None:
        self.unversioned = True
        self.peer_major = 1
        self.replay = bytes(self._buf)
        self._buf = bytearray()
        self.greeting = Greeting(major=1, minor=0, mechanism=b"", as_server=False)
