"""The fast paths that lean on implementation details, kept in one place.

zmtp is portable Python, but three of its hot paths are much cheaper when they may look
behind an interface:

* **uninitialised ``bytes`` for large bodies** (CPython only): a frame body of 64 KiB
  or more is received straight into the ``bytes`` object the application gets, through
  ``ctypes`` and CPython's object layout. Without it the body is received into a
  ``bytearray`` (zero-filled) and copied into ``bytes`` once complete: about 70 µs more
  per MiB.
* **trio's cancel status** (trio engine): ``send``/``recv`` fast paths ask on every call
  whether the calling task is cancelled. Reading trio's private ``_cancel_status`` takes
  a third of the time of the public ``trio.current_effective_deadline()``.

* **CURVE boxes in place** (PyNaCl's compiled libsodium binding, private to PyNaCl):
  a MESSAGE frame is sealed and opened with one copy of the body instead of four and
  three (see :func:`sodium_box_codec`).

Each has a portable fallback that is always correct. Set ``ZMTP_PORTABLE=1`` in the
environment (before zmtp is imported) to use only the fallbacks; the test suite runs
once that way in CI, and the unit tests of this module exercise both variants on every
interpreter. Each fast path also checks itself once and falls back when the check fails
(another interpreter, a trio without the private attribute).

This module never imports trio at import time: :mod:`zmtp.wire` uses it and must stay
free of I/O libraries.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "PORTABLE",
    "BodyFactory",
    "BoxCodec",
    "box_codec",
    "bytearray_body",
    "cpython_body_factory",
    "new_body",
    "portable_cancel_probe",
    "public_box_codec",
    "sodium_box_codec",
    "trio_cancel_probe",
]

#: True when ``ZMTP_PORTABLE`` asks for the portable fallbacks only.
PORTABLE = os.environ.get("ZMTP_PORTABLE", "").strip() not in ("", "0")

#: ``factory(size) -> (body, writable view of its storage)``.
BodyFactory = Callable[[int], "tuple[bytes | bytearray, memoryview]"]


# -- large bodies, received in place ---------------------------------------------------


def bytearray_body(size: int) -> tuple[bytes | bytearray, memoryview]:
    """The portable body: a zero-filled ``bytearray`` (the decoder turns it into
    ``bytes`` when the last octet has arrived)."""
    body = bytearray(size)
    return body, memoryview(body)


def cpython_body_factory() -> BodyFactory | None:
    """On CPython, a factory of *uninitialised* ``bytes`` objects plus a writable view of
    their storage, or None where that cannot be done safely.

    A fresh ``bytes`` object is private to the decoder until its last octet is written:
    nothing can hash, share or read it before. The factory proves itself once on a
    probe object before it is used.
    """
    if sys.implementation.name != "cpython":
        return None
    try:
        import ctypes

        new = ctypes.pythonapi.PyBytes_FromStringAndSize
        new.restype = ctypes.py_object
        new.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
        # A view straight over memory: no ctypes array type per size (such a type is
        # a reference cycle, so it would wait for the cycle collector after each body).
        view_of = ctypes.pythonapi.PyMemoryView_FromMemory
        view_of.restype = ctypes.py_object
        view_of.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
        writable = 0x200  # PyBUF_WRITE
        offset = sys.getsizeof(b"") - 1  # where a bytes object's octets start

        def factory(size: int) -> tuple[bytes | bytearray, memoryview]:
            body = new(None, size)
            view: memoryview = view_of(id(body) + offset, size, writable)
            return body, view

        probe, view = factory(8)
        view[:] = b"zmtp-ok!"
        if probe != b"zmtp-ok!" or hash(probe) != hash(b"zmtp-ok!"):
            return None
        return factory
    except Exception:  # any surprise: the portable path
        return None


#: The body factory the frame decoder uses.
new_body: BodyFactory = (None if PORTABLE else cpython_body_factory()) or bytearray_body


# -- "is the calling trio task cancelled?" ---------------------------------------------


def portable_cancel_probe() -> Callable[[], bool]:
    """The public way: a task whose effective deadline is in the past is cancelled
    (trio sets it to -inf when an enclosing scope is cancelled)."""
    import trio

    deadline = trio.current_effective_deadline

    def cancel_requested() -> bool:
        return deadline() == -math.inf

    return cancel_requested


def trio_cancel_probe() -> Callable[[], bool]:
    """The fast way, through trio's private cancel status; the portable probe where
    this trio does not have it (checked when first called, inside a task)."""
    import trio

    current_task = trio.lowlevel.current_task
    fallback = portable_cancel_probe()

    def cancel_requested() -> bool:
        try:
            return bool(current_task()._cancel_status.effectively_cancelled)
        except AttributeError:
            return fallback()

    return cancel_requested


def cancel_probe() -> Callable[[], bool]:
    """The probe the trio engine uses (portable when ``ZMTP_PORTABLE`` is set)."""
    return portable_cancel_probe() if PORTABLE else trio_cancel_probe()


# -- CURVE MESSAGE boxes with fewer copies ----------------------------------------------
#
# A MESSAGE frame is ``header | short nonce | Box[flags + body]`` (RFC 26). PyNaCl's
# public functions take and return ``bytes``: sealing one frame copies the body into
# the plaintext, libsodium encrypts into a C buffer, PyNaCl copies that into ``bytes``,
# and the frame is joined: four copies. With PyNaCl's compiled binding to libsodium
# (``nacl._sodium``, private to PyNaCl) the plaintext is laid out once in the frame's
# own buffer and encrypted there, in place (libsodium allows it): one copy. Opening a
# box likewise decrypts from the received frame into one buffer, and the body is taken
# from it with one copy.


class BoxCodec:
    """``seal(head, flag, body, nonce, key)`` -> the whole frame (``head`` first);
    ``open(frame, offset, nonce, key)`` -> ``(flag, body)`` of the box at ``offset``
    in ``frame``, or None if it does not open."""

    def __init__(self, seal: Callable[..., Any], open_: Callable[..., Any]) -> None:
        self.seal = seal
        self.open = open_


def public_box_codec() -> BoxCodec:
    """Through PyNaCl's public functions (``bytes`` in, ``bytes`` out)."""
    from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
    from nacl.exceptions import CryptoError

    def seal(head: bytes, flag: int, body: Any, nonce: bytes, key: bytes) -> bytes:
        box = crypto_box_easy_afternm(bytes((flag,)) + bytes(body), nonce, key)
        return b"".join((head, box))

    def open_(frame: bytes, offset: int, nonce: bytes, key: bytes) -> tuple[int, bytes] | None:
        try:
            plain = crypto_box_open_easy_afternm(bytes(frame[offset:]), nonce, key)
        except CryptoError:
            return None
        return plain[0], plain[1:]

    return BoxCodec(seal, open_)


def sodium_box_codec() -> BoxCodec | None:
    """In place, through PyNaCl's compiled libsodium binding; None where that binding
    is not there (or does not behave: checked once against the public functions)."""
    try:
        from nacl._sodium import ffi, lib  # type: ignore[import-not-found]

        mac = int(lib.crypto_box_macbytes())
        seal_afternm = lib.crypto_box_easy_afternm
        open_afternm = lib.crypto_box_open_easy_afternm
        from_buffer = ffi.from_buffer

        def seal(head: bytes, flag: int, body: Any, nonce: bytes, key: bytes) -> bytearray:
            start = len(head)
            n = len(body)
            out = bytearray(start + mac + 1 + n)
            out[:start] = head
            out[start + mac] = flag
            out[start + mac + 1 :] = body
            buf = from_buffer(out)
            # The plaintext sits MACBYTES after where the box starts: libsodium writes
            # the tag in front of the ciphertext, over it, in place.
            if seal_afternm(buf + start, buf + start + mac, n + 1, nonce, key) != 0:
                raise RuntimeError("crypto_box_easy_afternm failed")
            return out

        def open_(frame: bytes, offset: int, nonce: bytes, key: bytes) -> tuple[int, bytes] | None:
            clen = len(frame) - offset
            if clen < mac + 1:
                return None
            plain = bytearray(clen - mac)
            if open_afternm(from_buffer(plain), from_buffer(frame) + offset, clen, nonce, key):
                return None
            return plain[0], bytes(memoryview(plain)[1:])

        codec = BoxCodec(seal, open_)
        # Prove it once against the public functions.
        check = public_box_codec()
        key, nonce = bytes(range(32)), bytes(range(24))
        frame = codec.seal(b"head", 1, b"zmtp-check", nonce, key)
        if bytes(frame) != check.seal(b"head", 1, b"zmtp-check", nonce, key):
            return None
        if codec.open(bytes(frame), 4, nonce, key) != (1, b"zmtp-check"):
            return None
        return codec
    except Exception:  # no such binding, or any surprise: the public functions
        return None


def box_codec() -> BoxCodec:
    """The codec CURVE uses (the public one when ``ZMTP_PORTABLE`` is set)."""
    return (None if PORTABLE else sodium_box_codec()) or public_box_codec()
