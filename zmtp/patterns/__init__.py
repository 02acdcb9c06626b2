"""Socket types as sans-IO routing decisions, one module per type."""

from __future__ import annotations

from zmtp.constants import SocketType
from zmtp.patterns.base import Pattern
from zmtp.patterns.dealer import Dealer
from zmtp.patterns.pair import Pair
from zmtp.patterns.pull import Pull
from zmtp.patterns.push import Push
from zmtp.patterns.rep import Rep
from zmtp.patterns.req import Req
from zmtp.patterns.router import Router
from zmtp.patterns.stream import Stream
from zmtp.patterns.xpub import Pub, XPub
from zmtp.patterns.xsub import Sub, XSub

__all__ = ["PATTERNS", "Pattern", "pattern_for"]

PATTERNS: dict[SocketType, type[Pattern]] = {
    SocketType.PUSH: Push,
    SocketType.PULL: Pull,
    SocketType.PAIR: Pair,
    SocketType.DEALER: Dealer,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.ROUTER: Router,
    SocketType.PUB: Pub,
    SocketType.XPUB: XPub,
    SocketType.SUB: Sub,
    SocketType.XSUB: XSub,
    SocketType.STREAM: Stream,
}


def pattern_for(socket_type: SocketType) -> type[Pattern]:
    """The pattern class implementing ``socket_type``."""
    try:
        return PATTERNS[socket_type]
    except KeyError:
        from zmtp.errors import ZMTPValueError

        raise ZMTPValueError(f"socket type {socket_type.name} is not implemented yet") from None
