"""Security mechanisms: NULL (RFC 23) and PLAIN (RFC 24) behind one interface."""

from zmtp.wire.mechanisms.base import AuthDecision, Authenticator, AuthRequest, Mechanism
from zmtp.wire.mechanisms.null import NullMechanism
from zmtp.wire.mechanisms.plain import PlainClient, PlainServer

__all__ = [
    "AuthDecision",
    "AuthRequest",
    "Authenticator",
    "Mechanism",
    "NullMechanism",
    "PlainClient",
    "PlainServer",
]
