"""The two fast paths that lean on implementation details, kept in one place.

zmtp is portable Python, but two of its hot paths are much cheaper when they may look
behind an interface:

* **uninitialised ``bytes`` for large bodies** (CPython only): a frame body of 64 KiB
  or more is received straight into the ``bytes`` object the application gets, through
  ``ctypes`` and CPython's object layout. Without it the body is received into a
  ``bytearray`` (zero-filled) and copied into ``bytes`` once complete: about 70 µs more
  per MiB.
* **trio's cancel status** (trio engine): ``send``/``recv`` fast paths ask on every call
  whether the calling task is cancelled. Reading trio's private ``_cancel_status`` takes
  a third of the time of the public ``trio.current_effective_deadline()``.

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

__all__ = [
    "PORTABLE",
    "BodyFactory",
    "bytearray_body",
    "cpython_body_factory",
    "new_body",
    "portable_cancel_probe",
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
