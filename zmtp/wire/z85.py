"""Z85 (RFC 32/Z85) and CURVE key helpers.

Z85 writes binary data as printable ASCII: every 4 octets, read as one big-endian
32-bit number, become 5 characters of an 85-symbol alphabet (most significant digit
first). CURVE keys are 32 octets, so a key is 40 characters in Z85, the form libzmq,
pyzmq and every ZeroMQ configuration file use::

    raw   86 4F D2 6F  B5 59 F7 5B        (RFC 32's example)
    Z85   H e l l o    W o r l d

The length rules of RFC 32 "Formal Specification" are checked, never padded away:
the binary input of :func:`encode` is a multiple of 4 octets, the text input of
:func:`decode` a multiple of 5 characters. :func:`decode` also refuses characters
outside the alphabet and 5-character groups whose value exceeds 2^32 - 1 (such text
has no binary form, so accepting it would make two texts decode to the same key).

:func:`curve_keypair` and :func:`curve_public` mirror pyzmq's ``zmq.curve_keypair``
and ``zmq.curve_public`` (Z85 ``bytes`` in and out); they need PyNaCl, imported only
when called, so ``import zmtp.wire`` works without it. :func:`coerce_key` accepts a
key the way users hand them over: 40 Z85 characters (``str`` or ``bytes``) or 32 raw
octets.

This file never touches a socket.
"""

from __future__ import annotations

import struct
from typing import Any

from zmtp.errors import MechanismUnavailable, ZMTPTypeError, ZMTPValueError

__all__ = [
    "ALPHABET",
    "KEY_SIZE",
    "Z85_KEY_SIZE",
    "coerce_key",
    "curve_keypair",
    "curve_public",
    "decode",
    "encode",
]

#: RFC 32 "Formal Specification": the 85 characters, digit value = position.
ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
#: A CURVE key (Curve25519 public or secret key) in octets, and in Z85 characters.
KEY_SIZE = 32
Z85_KEY_SIZE = 40

_DIGIT = {c: i for i, c in enumerate(ALPHABET)}
_U32_MAX = 0xFFFFFFFF
_INSTALL_HINT = "CURVE needs PyNaCl: pip install zmtp[curve]"

Bytes = bytes | bytearray | memoryview


def encode(data: Bytes) -> bytes:
    """Z85 text of ``data``, whose length must be a multiple of 4 octets (RFC 32)."""
    n = len(data)
    if n % 4:
        raise ZMTPValueError(
            f"Z85 encodes a multiple of 4 octets, got {n} (RFC 32 Formal Specification)"
        )
    alphabet = ALPHABET
    out = bytearray()
    for (value,) in struct.iter_unpack(">I", data):
        # Five base-85 digits, most significant first.
        d4, value = value % 85, value // 85
        d3, value = value % 85, value // 85
        d2, value = value % 85, value // 85
        d1, d0 = value % 85, value // 85
        out += bytes((alphabet[d0], alphabet[d1], alphabet[d2], alphabet[d3], alphabet[d4]))
    return bytes(out)


def decode(text: str | Bytes) -> bytes:
    """The octets of Z85 ``text``, whose length must be a multiple of 5 (RFC 32)."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise ZMTPValueError("Z85 text is ASCII only (RFC 32 Formal Specification)") from None
    else:
        raw = bytes(text)
    n = len(raw)
    if n % 5:
        raise ZMTPValueError(
            f"Z85 decodes a multiple of 5 characters, got {n} (RFC 32 Formal Specification)"
        )
    digit = _DIGIT
    out = bytearray()
    for start in range(0, n, 5):
        value = 0
        for c in raw[start : start + 5]:
            d = digit.get(c)
            if d is None:
                raise ZMTPValueError(
                    f"{chr(c)!r} at offset {raw.index(c, start)} is not a Z85 character "
                    "(RFC 32 Formal Specification)"
                )
            value = value * 85 + d
        if value > _U32_MAX:
            raise ZMTPValueError(
                f"Z85 group {raw[start : start + 5].decode()!r} at offset {start} "
                "exceeds 2^32 - 1 (RFC 32 Formal Specification)"
            )
        out += value.to_bytes(4, "big")
    return bytes(out)


def coerce_key(key: str | Bytes, what: str = "CURVE key") -> bytes:
    """The 32 raw octets of a CURVE key given as 40 Z85 characters or 32 octets.

    ``what`` names the key in the error (``"server public key"``, ...).
    """
    if isinstance(key, str):
        if len(key) != Z85_KEY_SIZE:
            raise ZMTPValueError(
                f"{what} as text must be {Z85_KEY_SIZE} Z85 characters, got {len(key)} (RFC 32)"
            )
        return decode(key)
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise ZMTPTypeError(
            f"{what} must be bytes or str (RFC 32 Z85 text), not {type(key).__name__}"
        )
    raw = bytes(key)
    if len(raw) == KEY_SIZE:
        return raw
    if len(raw) == Z85_KEY_SIZE:
        return decode(raw)
    raise ZMTPValueError(
        f"{what} must be {KEY_SIZE} raw octets or {Z85_KEY_SIZE} Z85 characters, "
        f"got {len(raw)} octets (RFC 26, RFC 32)"
    )


def nacl_bindings() -> Any:
    """``nacl.bindings``, or :class:`MechanismUnavailable` when PyNaCl is missing."""
    try:
        import nacl.bindings
    except ImportError:
        raise MechanismUnavailable(_INSTALL_HINT) from None
    return nacl.bindings


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair as ``(public, secret)``, each 40 Z85 octets (as pyzmq)."""
    public, secret = nacl_bindings().crypto_box_keypair()
    return encode(public), encode(secret)


def curve_public(secret: str | Bytes) -> bytes:
    """The Z85 public key of a secret key (Z85 or raw), as ``zmq.curve_public``."""
    raw = coerce_key(secret, "secret key")
    return encode(nacl_bindings().crypto_scalarmult_base(raw))
