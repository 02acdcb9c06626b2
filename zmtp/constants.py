"""Socket types and their compatibility (RFC 37, "The Socket-Type Property").

:class:`SocketType` is an ``IntEnum`` whose values are libzmq's (and so pyzmq's)
integer constants, so ``zmtp.SocketType(zmq.PUSH)`` works, and whose names are the
strings that travel in the ``Socket-Type`` metadata property.

This module is sans-IO and must never import trio.
"""

from __future__ import annotations

import enum

from zmtp.errors import ZMTPValueError

__all__ = ["COMPATIBLE_PEERS", "DONTWAIT", "NOBLOCK", "SNDMORE", "SocketType", "compatible"]

#: pyzmq's send/recv flags: do not wait (raise ``Again`` instead), more frames follow.
DONTWAIT = NOBLOCK = 1
SNDMORE = 2


class SocketType(enum.IntEnum):
    """A ZeroMQ socket type. Values equal libzmq's ``ZMQ_*`` constants."""

    PAIR = 0  # RFC 31/EXPAIR
    PUB = 1  # RFC 29/PUBSUB
    SUB = 2
    REQ = 3  # RFC 28/REQREP
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7  # RFC 30/PIPELINE
    PUSH = 8
    XPUB = 9
    XSUB = 10
    # 11 is libzmq's STREAM, which speaks raw TCP rather than ZMTP.
    SERVER = 12  # RFC 41/CLIENTSERVER (draft in libzmq)
    CLIENT = 13
    RADIO = 14  # RFC 48/RADIODISH (draft)
    DISH = 15
    GATHER = 16  # RFC 49/SCATTERGATHER (draft)
    SCATTER = 17
    PEER = 19  # RFC 51/P2P (draft)
    CHANNEL = 20  # RFC 52/CHANNEL (draft)

    @property
    def wire_name(self) -> bytes:
        """The value of the ``Socket-Type`` property for this type, e.g. ``b"PUSH"``."""
        return self.name.encode("ascii")

    @classmethod
    def from_wire(cls, name: bytes) -> SocketType | None:
        """The socket type named by a ``Socket-Type`` property value, or None."""
        try:
            return cls[name.decode("ascii")]
        except (KeyError, UnicodeDecodeError):
            return None

    @classmethod
    def coerce(cls, value: SocketType | int | str) -> SocketType:
        """Accept a SocketType, a pyzmq integer constant, or a name like ``"push"``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ZMTPValueError(f"unknown socket type name {value!r}") from None
        try:
            return cls(value)
        except ValueError:
            raise ZMTPValueError(f"unknown socket type {value!r}") from None


_T = SocketType

#: RFC 37's table of legal socket-type combinations: each type maps to the set of
#: peer types it may talk to. The relation is symmetric.
COMPATIBLE_PEERS: dict[SocketType, frozenset[SocketType]] = {
    _T.REQ: frozenset({_T.REP, _T.ROUTER}),
    _T.REP: frozenset({_T.REQ, _T.DEALER}),
    _T.DEALER: frozenset({_T.REP, _T.DEALER, _T.ROUTER}),
    _T.ROUTER: frozenset({_T.REQ, _T.DEALER, _T.ROUTER}),
    _T.PUB: frozenset({_T.SUB, _T.XSUB}),
    _T.XPUB: frozenset({_T.SUB, _T.XSUB}),
    _T.SUB: frozenset({_T.PUB, _T.XPUB}),
    _T.XSUB: frozenset({_T.PUB, _T.XPUB}),
    _T.PUSH: frozenset({_T.PULL}),
    _T.PULL: frozenset({_T.PUSH}),
    _T.PAIR: frozenset({_T.PAIR}),
    _T.CLIENT: frozenset({_T.SERVER}),
    _T.SERVER: frozenset({_T.CLIENT}),
    _T.RADIO: frozenset({_T.DISH}),
    _T.DISH: frozenset({_T.RADIO}),
    _T.SCATTER: frozenset({_T.GATHER}),
    _T.GATHER: frozenset({_T.SCATTER}),
    _T.PEER: frozenset({_T.PEER}),
    _T.CHANNEL: frozenset({_T.CHANNEL}),
}


def compatible(ours: SocketType, theirs: SocketType) -> bool:
    """True when RFC 37's table lets a socket of type ``ours`` talk to ``theirs``."""
    return theirs in COMPATIBLE_PEERS[ours]
