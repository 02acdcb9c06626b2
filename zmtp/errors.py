"""The one exception hierarchy of zmtp, with pyzmq's names and errno values.

Every error zmtp raises on purpose is a :class:`ZMTPError`, also reachable as
``zmtp.ZMQError`` so that pyzmq code ports as is::

    try:
        sock.recv_nowait()
    except zmtp.ZMQError as e:
        if e.errno == zmtp.EAGAIN:
            ...

The hierarchy separates *who* broke a rule, in the spirit of h11's local/remote split:

* the **peer** broke the protocol -> :class:`ProtocolError` (and its handshake-phase
  refinement :class:`HandshakeError`). The engine answers it by closing that one
  connection with the error's reason; the socket and the process carry on.
* the **user** asked for something the socket's rules forbid -> :class:`InvalidState`
  (e.g. two sends in a row on REQ), :class:`ZMTPValueError` (a bad option value or
  endpoint), :class:`ZMTPTypeError` (a value of the wrong type: :class:`FrameTypeError`
  for a frame that is not bytes), :class:`SocketClosed`.
* the **operating system** refused -> :class:`BindError` (also an ``OSError``).
* the operation could not complete **now** -> :class:`Again` (pyzmq's ``zmq.Again``).

Each class carries the errno pyzmq would report for the same situation (``errno``);
``str(e)`` is the sentence that names the rule. Anything else escaping from zmtp is a
bug in zmtp; please report it.

Errors kept on an object (a failed connection's ``error``) are stored *detached*
(:func:`detached`): a raised exception's traceback holds every frame it went through,
and those frames hold the objects that raised it, so keeping the raised object itself
would tie its owner into a reference cycle that only the cycle collector frees.

This module is sans-IO: it is imported by ``zmtp.wire`` and must never import trio.
"""

from __future__ import annotations

import copy
import enum
import errno as _errno
import os
from typing import TypeVar

__all__ = [
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EFAULT",
    "EFSM",
    "EHOSTUNREACH",
    "EINPROGRESS",
    "EINVAL",
    "EMSGSIZE",
    "EMTHREAD",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENOBUFS",
    "ENOCOMPATPROTO",
    "ENOTCONN",
    "ENOTSOCK",
    "ENOTSUP",
    "EPROTONOSUPPORT",
    "ETERM",
    "ETIMEDOUT",
    "Again",
    "AuthenticationFailed",
    "BindError",
    "ContextTerminated",
    "Errno",
    "FrameTypeError",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "PeerError",
    "ProtocolError",
    "SocketClosed",
    "WouldBlock",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMTPError",
    "ZMTPTypeError",
    "ZMTPValueError",
    "detached",
    "strerror",
]

# ---------------------------------------------------------------------------------------
# errno values, as libzmq (and so pyzmq) numbers them.
#
# libzmq uses the platform's errno where the platform defines one, and otherwise a value
# above a base of its own ("HAUSNUMERO"); its four errors of its own (EFSM and the next
# three) always live above that base.

_HAUSNUMERO = 156384712


def _os_or_zmq(name: str, offset: int) -> int:
    value: int = getattr(_errno, name, _HAUSNUMERO + offset)
    return value


class Errno(enum.IntEnum):
    """pyzmq's ``zmq.Errno``: the error numbers a ZeroMQ call may report."""

    EAGAIN = _errno.EAGAIN
    EFAULT = _errno.EFAULT
    EINVAL = _errno.EINVAL
    ENOTSUP = _os_or_zmq("ENOTSUP", 1)
    EPROTONOSUPPORT = _os_or_zmq("EPROTONOSUPPORT", 2)
    ENOBUFS = _os_or_zmq("ENOBUFS", 3)
    ENETDOWN = _os_or_zmq("ENETDOWN", 4)
    EADDRINUSE = _os_or_zmq("EADDRINUSE", 5)
    EADDRNOTAVAIL = _os_or_zmq("EADDRNOTAVAIL", 6)
    ECONNREFUSED = _os_or_zmq("ECONNREFUSED", 7)
    EINPROGRESS = _os_or_zmq("EINPROGRESS", 8)
    ENOTSOCK = _os_or_zmq("ENOTSOCK", 9)
    EMSGSIZE = _os_or_zmq("EMSGSIZE", 10)
    EAFNOSUPPORT = _os_or_zmq("EAFNOSUPPORT", 11)
    ENETUNREACH = _os_or_zmq("ENETUNREACH", 12)
    ECONNABORTED = _os_or_zmq("ECONNABORTED", 13)
    ECONNRESET = _os_or_zmq("ECONNRESET", 14)
    ENOTCONN = _os_or_zmq("ENOTCONN", 15)
    ETIMEDOUT = _os_or_zmq("ETIMEDOUT", 16)
    EHOSTUNREACH = _os_or_zmq("EHOSTUNREACH", 17)
    ENETRESET = _os_or_zmq("ENETRESET", 18)
    #: The operation is not allowed in the socket's current state (REQ's alternation).
    EFSM = _HAUSNUMERO + 51
    #: The peer's socket type cannot talk to ours.
    ENOCOMPATPROTO = _HAUSNUMERO + 52
    #: The context was terminated.
    ETERM = _HAUSNUMERO + 53
    #: No I/O thread is available (never raised by zmtp; kept for pyzmq code).
    EMTHREAD = _HAUSNUMERO + 54


EAGAIN = Errno.EAGAIN
EFAULT = Errno.EFAULT
EINVAL = Errno.EINVAL
ENOTSUP = Errno.ENOTSUP
EPROTONOSUPPORT = Errno.EPROTONOSUPPORT
ENOBUFS = Errno.ENOBUFS
ENETDOWN = Errno.ENETDOWN
EADDRINUSE = Errno.EADDRINUSE
EADDRNOTAVAIL = Errno.EADDRNOTAVAIL
ECONNREFUSED = Errno.ECONNREFUSED
EINPROGRESS = Errno.EINPROGRESS
ENOTSOCK = Errno.ENOTSOCK
EMSGSIZE = Errno.EMSGSIZE
EAFNOSUPPORT = Errno.EAFNOSUPPORT
ENETUNREACH = Errno.ENETUNREACH
ECONNABORTED = Errno.ECONNABORTED
ECONNRESET = Errno.ECONNRESET
ENOTCONN = Errno.ENOTCONN
ETIMEDOUT = Errno.ETIMEDOUT
EHOSTUNREACH = Errno.EHOSTUNREACH
ENETRESET = Errno.ENETRESET
EFSM = Errno.EFSM
ENOCOMPATPROTO = Errno.ENOCOMPATPROTO
ETERM = Errno.ETERM
EMTHREAD = Errno.EMTHREAD

_OWN_TEXT: dict[int, str] = {
    EFSM: "the operation is not allowed in the socket's current state",
    ENOCOMPATPROTO: "the peer's socket type is not compatible with this socket's",
    ETERM: "the context was terminated",
    EMTHREAD: "no I/O thread is available",
}

#: A protocol violation by the peer; not a ZeroMQ errno, the platform's "protocol error".
_EPROTO = getattr(_errno, "EPROTO", EINVAL)
_EACCES = getattr(_errno, "EACCES", EINVAL)


def strerror(errnum: int | None) -> str:
    """A short description of an errno value, ZeroMQ's own values included
    (pyzmq's ``zmq.strerror``)."""
    if errnum is None:
        return "zmtp error"
    own = _OWN_TEXT.get(errnum)
    if own is not None:
        return own
    return os.strerror(errnum)


# ---------------------------------------------------------------------------------------
# The hierarchy


class ZMTPError(Exception):
    """Base class of every error raised by zmtp on purpose (pyzmq's ``ZMQError``).

    Constructed as pyzmq's: ``ZMTPError("what went wrong")``, ``ZMTPError(errno)``
    (the message is then the errno's description) or ``ZMTPError(errno, "message")``.

    ``errno`` is pyzmq's error number for the situation (each subclass has its own;
    ``None`` on the base class when no number applies) and ``strerror`` the message;
    ``str(e)`` is the message.
    """

    errno: int | None = None
    strerror: str

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        first = args[0] if args else None
        if isinstance(first, int) and not isinstance(first, bool):
            self.errno = first
            self.strerror = str(args[1]) if len(args) > 1 else strerror(first)
        else:
            self.strerror = str(first) if args else strerror(self.errno)

    def __str__(self) -> str:
        return self.strerror


#: pyzmq's names for the base class.
ZMQError = ZMTPError
ZMQBaseError = ZMTPError


class ProtocolError(ZMTPError):
    """The peer sent bytes that break ZMTP (RFC 23 / RFC 37) or a mechanism's RFC.

    ``reason`` is a short sentence naming the broken rule, suitable for a log line or a
    monitor event. ``rfc`` and ``section`` locate the rule when one is known.
    """

    errno = _EPROTO

    def __init__(self, reason: str, *, rfc: int | None = None, section: str | None = None):
        self.reason = reason
        self.rfc = rfc
        self.section = section
        where = ""
        if rfc is not None:
            where = f" (RFC {rfc}" + (f" {section}" if section else "") + ")"
        super().__init__(reason + where)


class HandshakeError(ProtocolError):
    """The greeting or security handshake failed: version, mechanism, credentials,
    or an incompatible socket type. The connection is unusable."""


class AuthenticationFailed(HandshakeError):
    """The server refused the peer's credentials (PLAIN, CURVE or ZAP).

    ``status_code`` carries the ZAP status code text (e.g. ``"400"``) when known.
    """

    errno = _EACCES

    def __init__(
        self,
        reason: str,
        *,
        status_code: str | None = None,
        rfc: int | None = None,
        section: str | None = None,
    ):
        self.status_code = status_code
        super().__init__(reason, rfc=rfc, section=section)


class PeerError(HandshakeError):
    """The peer sent an ERROR command: it refuses this connection (RFC 23, Error Handling).

    ``peer_reason`` is the reason the peer gave (a ZAP status code such as ``"400"``
    when a server refused our credentials). The peer asks us not to reconnect with
    the same credentials.
    """

    def __init__(
        self,
        reason: str,
        *,
        peer_reason: str = "",
        rfc: int | None = None,
        section: str | None = None,
    ):
        self.peer_reason = peer_reason
        super().__init__(reason, rfc=rfc, section=section)


class ZMTPValueError(ZMTPError, ValueError):
    """A value given by the user breaks a rule (option range, endpoint syntax, ...).

    ``errno`` is ``EINVAL``, as libzmq reports a bad option value.
    """

    errno = EINVAL


class InvalidState(ZMTPError):
    """The call breaks the socket's state rules, e.g. REQ's strict send/recv alternation.

    The message names the rule; nothing was sent or received. ``errno`` is ``EFSM``.
    """

    errno = EFSM


class SocketClosed(ZMTPError):
    """The socket (or its context) is closed; no further operations are possible.

    ``errno`` is ``ENOTSOCK``, what pyzmq reports for a closed socket.
    """

    errno = ENOTSOCK


class ContextTerminated(SocketClosed):
    """The socket's context was terminated (pyzmq's ``zmq.ContextTerminated``).

    A :class:`SocketClosed` too, so code that stops on a closed socket stops on this.
    ``errno`` is ``ETERM``.
    """

    errno = ETERM


class Again(ZMTPError):
    """The operation would block: nothing was sent or received (pyzmq's ``zmq.Again``).

    Raised by the ``*_nowait`` methods, and when a ``sndtimeo``/``rcvtimeo`` expires.
    ``errno`` is ``EAGAIN``.
    """

    errno = EAGAIN


WouldBlock = Again


class HostUnreachable(ZMTPError):
    """A ROUTER with ``router_mandatory`` was asked to send to an unknown routing id.

    ``errno`` is ``EHOSTUNREACH``, as in libzmq.
    """

    errno = EHOSTUNREACH


class MechanismUnavailable(ZMTPError):
    """A security mechanism was requested whose optional dependency is missing.

    ``errno`` is ``ENOTSUP``, what libzmq reports for CURVE calls in a build without it.
    """

    errno = ENOTSUP


class ZMTPTypeError(ZMTPError, TypeError):
    """A value given by the user has the wrong type (a CURVE key that is neither
    bytes nor text, say). ``errno`` is ``EINVAL``."""

    errno = EINVAL


class FrameTypeError(ZMTPTypeError):
    """A message frame is not bytes-like (use ``send_string`` for text).

    ``errno`` is ``EINVAL``.
    """


class BindError(ZMTPError, OSError):  # type: ignore[misc]  # strerror: str, never None
    """``bind()`` failed: the operating system refused the address, or it is taken.

    Also an :class:`OSError`, with the system's ``errno`` (``EADDRINUSE``,
    ``EADDRNOTAVAIL``, ``EACCES``, ...) and ``strerror``; ``endpoint`` is the endpoint
    given to ``bind``. pyzmq reports the same situation as a ``ZMQError`` with that
    errno; ``zmtp.ZMQBindError`` (pyzmq's name for a failed ``bind_to_random_port``)
    is this class too.

    ``BindError(errno.EADDRINUSE, "address in use", endpoint="tcp://127.0.0.1:5555")``
    reads ``cannot bind tcp://127.0.0.1:5555: address in use``.
    """

    errno = EADDRINUSE

    def __init__(self, errno: int, reason: str, *, endpoint: str = "") -> None:
        self.endpoint = endpoint
        super().__init__(errno, f"cannot bind {endpoint}: {reason}" if endpoint else reason)


ZMQBindError = BindError

# ---------------------------------------------------------------------------------------
# Keeping errors on objects

_E = TypeVar("_E", bound=BaseException)


def detached(exc: _E) -> _E:
    """A copy of ``exc`` with no traceback, cause or context: safe to keep on an object.

    A raised exception's traceback holds the frames it went through, and each frame
    the objects it was working on; an object that keeps such an exception is in a
    reference cycle with it. Keep (and raise) copies instead, so a closed connection
    dies by reference counting alone.
    """
    new = copy.copy(exc)
    new.__traceback__ = None
    new.__cause__ = None
    new.__context__ = None
    return new
