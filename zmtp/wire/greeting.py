r"""The ZMTP greeting (RFC 23 "The Greeting", RFC 37 "Version Negotiation").

Every connection opens with a fixed 64-octet greeting from each side::

    offset 0     1..8      9     10     11     12..31       32         33..63
         +-----+---------+-----+-----+-----+------------+-----------+----------+
         | FF  | padding | 7F  |major|minor| mechanism  | as-server | filler   |
         +-----+---------+-----+-----+-----+------------+-----------+----------+
          \____ signature ____/ \_version_/ 20, null-     0 or 1      31 zeros
                                            padded ASCII

The greeting is parsed **incrementally**: libzmq writes its signature, then waits for
ours before it writes the rest, and decides on our protocol version after reading 11
octets. We therefore send our whole greeting at once (RFC 37 allows a peer to send
all 64 octets up front) and judge the peer's greeting octet by octet as it arrives:

* octet 0 must be 0xFF and octet 9 must be 0x7F, else the peer is not a ZMTP 2.0+ peer;
* octet 10 is the major version: below 3 the peer speaks ZMTP 1.0/2.0, which we refuse
  for now. :class:`GreetingParser` reports the major version as soon as it is known
  (``peer_major``), which is the hook a later downgrade would use;
* the padding is never validated (libzmq puts 0x01 in its last octet for ZMTP 1.0 peers).

This file never touches a socket.
"""

from __future__ import annotations

import dataclasses
import re

from zmtp.errors import HandshakeError, ProtocolError, ZMTPValueError

__all__ = [
    "GREETING_SIZE",
    "SIGNATURE_SIZE",
    "Greeting",
    "GreetingParser",
    "encode_greeting",
]

GREETING_SIZE = 64
SIGNATURE_SIZE = 10
#: Octets needed to know the peer's major version (signature + major).
VERSION_DETECT_SIZE = 11

#: The protocols older peers announce in the version octet (RFC 37 "Backwards
#: Interoperability"): ZMTP 2.0 calls it the revision, 0x01.
_OLD_VERSIONS = {0: "ZMTP 1.0 (RFC 13)", 1: "ZMTP 2.0 (RFC 15)", 2: "an unknown ZMTP 2.x"}

_MECHANISM_SIZE = 20
_MECHANISM_CHARS = re.compile(rb"[A-Z0-9\-_.+]+")


@dataclasses.dataclass(frozen=True)
class Greeting:
    """A decoded greeting: what the peer announced."""

    major: int
    minor: int
    mechanism: bytes
    as_server: bool

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)


def encode_greeting(mechanism: bytes, as_server: bool, version: tuple[int, int] = (3, 1)) -> bytes:
    """The 64-octet greeting we send. Padding and filler are zeros, as RFC 37 advises for
    a peer that sends its whole greeting at once."""
    if not 0 < len(mechanism) <= _MECHANISM_SIZE or not _MECHANISM_CHARS.fullmatch(mechanism):
        raise ZMTPValueError(
            f"invalid mechanism name {mechanism!r}: 1..20 of A-Z 0-9 - _ . + (RFC 23 The Greeting)"
        )
    major, minor = version
    return b"".join(
        (
            b"\xff" + bytes(8) + b"\x7f",
            bytes((major, minor)),
            mechanism.ljust(_MECHANISM_SIZE, b"\x00"),
            b"\x01" if as_server else b"\x00",
            bytes(31),
        )
    )


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
    """Judges the peer's greeting as its octets arrive.

    Feed it the start of the byte stream with :meth:`feed`; it returns the number of
    octets it consumed (it never consumes past the 64th). ``peer_major`` becomes known
    after 11 octets; :attr:`greeting` after 64. The signature and the version are
    judged as their octets arrive (a wrong first octet fails after one octet); the
    mechanism and the as-server octet once the greeting is complete. Violations raise
    :class:`ProtocolError` (or :class:`HandshakeError`).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.peer_major: int | None = None
        self.greeting: Greeting | None = None

    @property
    def done(self) -> bool:
        return self.greeting is not None

    def feed(self, data: bytes | bytearray | memoryview) -> int:
        """Consume up to the rest of the greeting from ``data``; return octets consumed."""
        if self.greeting is not None:
            return 0
        take = min(len(data), GREETING_SIZE - len(self._buf))
        before = len(self._buf)
        self._buf += data[:take]
        self._check(before)
        return take

    def _check(self, before: int) -> None:
        buf = self._buf
        n = len(buf)
        if before < 1 <= n and buf[0] != 0xFF:
            raise ProtocolError(
                f"greeting signature must start with 0xFF, got 0x{buf[0]:02X} "
                "(the peer is not speaking ZMTP 2.0 or later)",
                rfc=23,
                section="The Greeting",
            )
        if before < SIGNATURE_SIZE <= n and buf[9] != 0x7F:
            raise ProtocolError(
                f"greeting signature must end with 0x7F at octet 9, got 0x{buf[9]:02X} "
                "(a ZMTP 1.0 peer, which is not supported)",
                rfc=23,
                section="The Greeting",
            )
        if before < VERSION_DETECT_SIZE <= n:
            major = buf[10]
            if major < 3:
                name = _OLD_VERSIONS.get(major, f"revision {major} of ZMTP")
                raise HandshakeError(
                    f"peer speaks {name}; zmtp supports ZMTP 3.0 and later",
                    rfc=37,
                    section="Version Negotiation",
                )
            self.peer_major = major
        if n == GREETING_SIZE:
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
