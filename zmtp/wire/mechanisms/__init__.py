"""Security mechanisms: NULL (RFC 23), PLAIN (RFC 24) and CURVE (RFC 25/26) behind one
interface. CURVE imports PyNaCl only when a CurveClient or CurveServer is made."""

from zmtp.wire.mechanisms.base import AuthDecision, Authenticator, AuthRequest, Mechanism
from zmtp.wire.mechanisms.curve import CurveClient, CurveServer
from zmtp.wire.mechanisms.null import NullMechanism
from zmtp.wire.mechanisms.plain import PlainClient, PlainServer

__all__ = [
    "AuthDecision",
    "AuthRequest",
    "Authenticator",
    "CurveClient",
    "CurveServer",
    "Mechanism",
    "NullMechanism",
    "PlainClient",
    "PlainServer",
]
