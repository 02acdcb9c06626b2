"""The one exception hierarchy of zmtp.

Every error zmtp raises on purpose is a :class:`ZMTPError`. The hierarchy separates
*who* broke a rule, in the spirit of h11's local/remote split:

* the **peer** broke the protocol -> :class:`ProtocolError` (and its handshake-phase
  refinement :class:`HandshakeError`). The engine answers it by closing that one
  connection with the error's reason; the socket and the process carry on.
* the **user** asked for something the socket's rules forbid -> :class:`InvalidState`
  (e.g. two sends in a row on REQ), :class:`ZMTPValueError` (a bad option value or
  endpoint), :class:`SocketClosed`.
* the operation could not complete **now** -> :class:`Again` (pyzmq's ``zmq.Again``).

Anything else escaping from zmtp is a bug in zmtp; please report it.

This module is sans-IO: it is imported by ``zmtp.wire`` and must never import trio.
"""

from __future__ import annotations

__all__ = [
    "Again",
    "AuthenticationFailed",
    "FrameTypeError",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "PeerError",
    "ProtocolError",
    "SocketClosed",
    "WouldBlock",
    "ZMTPError",
    "ZMTPValueError",
]


class ZMTPError(Exception):
    """Base class of every error raised by zmtp on purpose."""


class ProtocolError(ZMTPError):
    """The peer sent bytes that break ZMTP (RFC 23 / RFC 37) or a mechanism's RFC.

    ``reason`` is a short sentence naming the broken rule, suitable for a log line or a
    monitor event. ``rfc`` and ``section`` locate the rule when one is known.
    """

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
    """A value given by the user breaks a rule (option range, endpoint syntax, ...)."""


class InvalidState(ZMTPError):
    """The call breaks the socket's state rules, e.g. REQ's strict send/recv alternation.

    The message names the rule; nothing was sent or received.
    """


class SocketClosed(ZMTPError):
    """The socket (or its context) is closed; no further operations are possible."""


class Again(ZMTPError):
    """The operation would block: nothing was sent or received (pyzmq's ``zmq.Again``).

    Raised by the ``*_nowait`` methods, and when a ``sndtimeo``/``rcvtimeo`` expires.
    """


WouldBlock = Again


class HostUnreachable(ZMTPError):
    """A ROUTER with ``router_mandatory`` was asked to send to an unknown routing id."""


class MechanismUnavailable(ZMTPError):
    """A security mechanism was requested whose optional dependency is missing."""


class FrameTypeError(ZMTPError, TypeError):
    """A message frame is not bytes-like (use ``send_string`` for text)."""
