"""The security mechanism interface (RFC 23 "Authentication and Confidentiality").

A mechanism owns the part of a connection between the greeting and traffic: it
exchanges commands with the peer until both sides have exchanged metadata, and for
mechanisms that protect traffic (CURVE) it transforms every frame afterwards.

The :class:`~zmtp.wire.connection.Connection` drives a mechanism with four calls and
reads its state between them::

    frames = mech.start()                      # right after the peer's greeting
    frames = mech.on_command(name, data)       # each handshake command from the peer
    frames = mech.resolve_auth(decision)       # when the server's auth decision is in
    mech.auth_request   # set while a server waits for an authentication decision
    mech.complete       # True once metadata went both ways; mech.peer_metadata is set

Each call returns the encoded command frames to send, in order. A mechanism refuses a
peer by raising :class:`HandshakeError` (the connection sends an ERROR command with
the reason, unless ``sends_error`` is false) or :class:`AuthenticationFailed`; a
peer's ERROR command becomes :class:`PeerError`.

A mechanism whose ``transforms_traffic`` is true (CURVE) wraps every frame after the
handshake: ``encode_frame(flags, body)`` returns the wire bytes of one data frame or
command body (``flags`` are :mod:`zmtp.wire.frames`' MORE/COMMAND), and
``decode_frame(body)`` turns the body of one received wrapping frame back into
``(flags, body)``. ``wrap_overhead`` lets the connection judge sizes before unwrapping.

Before a server-side mechanism sends the command that would admit the peer, it calls
``validate(peer_metadata)`` (given to :meth:`Mechanism.bind`), which is where the
connection checks the socket-type table; an incompatible peer is refused there.

Mechanisms never touch sockets nor clocks; ZAP (RFC 27) plugs in through the
authentication decision, which may arrive later than the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import ClassVar

from zmtp.errors import AuthenticationFailed, HandshakeError, PeerError, ProtocolError
from zmtp.wire.commands import ERROR, Metadata, parse_error
from zmtp.wire.events import AuthRequest
from zmtp.wire.greeting import Greeting

__all__ = ["AuthDecision", "AuthRequest", "Authenticator", "Mechanism"]


@dataclasses.dataclass(frozen=True)
class AuthDecision:
    """The answer to an :class:`AuthRequest`.

    ``status_code`` follows RFC 27 ("200" success, "300" temporary error, "400"
    authentication failure, "500" internal error); a refusal travels to the peer in
    an ERROR command whose reason is the status code, as libzmq does.
    """

    accepted: bool
    status_code: str = ""
    reason: str = ""
    user_id: bytes = b""
    metadata: Mapping[str, bytes] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.status_code:
            object.__setattr__(self, "status_code", "200" if self.accepted else "400")


ACCEPT = AuthDecision(True)

#: Decides on a request at once (returning a decision or a bool), or returns None to
#: answer later through ``Connection.resolve_auth``.
Authenticator = Callable[[AuthRequest], AuthDecision | bool | None]


class Mechanism:
    """Base class of security mechanisms; see the module docstring for the protocol."""

    #: The name announced in the greeting, e.g. ``b"PLAIN"``.
    name: ClassVar[bytes]
    #: True for mechanisms (CURVE) that transform every frame after the handshake.
    transforms_traffic: ClassVar[bool] = False
    #: Octets a transformed frame adds to its payload on the wire (name, nonce, MAC,
    #: flags), so that the connection can judge a frame's size before unwrapping it.
    wrap_overhead: ClassVar[int] = 0
    #: Whether this side answers a broken handshake with an ERROR command. RFC 26
    #: forbids it to a CURVE client, which only closes the connection.
    sends_error: ClassVar[bool] = True

    def __init__(self, *, as_server: bool = False) -> None:
        self.as_server = as_server
        self.complete = False
        self.peer_metadata: Metadata | None = None
        self.auth_request: AuthRequest | None = None
        #: Set by the server from the authentication decision (RFC 27 User-Id).
        self.user_id = b""
        #: Extra properties from the authentication decision (RFC 27 metadata).
        self.auth_metadata: Mapping[str, bytes] = {}
        self._local_metadata = b""
        self._validate: Callable[[Metadata], None] = lambda meta: None

    @property
    def greeting_as_server(self) -> bool:
        """The as-server octet of our greeting."""
        return self.as_server

    # -- wiring (called by the connection) ----------------------------------------------

    def bind(self, local_metadata: bytes, validate: Callable[[Metadata], None]) -> None:
        """Give the mechanism our encoded metadata and the peer metadata check."""
        self._local_metadata = local_metadata
        self._validate = validate

    def check_greeting(self, peer: Greeting) -> None:
        """Refuse a peer greeting this mechanism cannot work with (roles, mainly)."""

    def start(self) -> list[bytes]:
        """Frames to send once the peer's greeting has been accepted."""
        return []

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        """Handle one handshake command from the peer."""
        raise NotImplementedError

    def resolve_auth(self, decision: AuthDecision) -> list[bytes]:
        """Continue after the authentication decision for ``auth_request``."""
        raise ProtocolError(f"{self.name.decode()} mechanism is not waiting for a decision")

    # -- traffic transformation (CURVE) -------------------------------------------------

    def encode_frame(self, flags: int, body: bytes) -> bytes:
        """Wrap one outgoing frame (data or command) for the wire."""
        raise NotImplementedError

    def decode_frame(self, body: bytes) -> tuple[int, bytes]:
        """Unwrap one incoming command frame body into ``(flags, body)``."""
        raise NotImplementedError

    # -- helpers for subclasses --------------------------------------------------------

    def _take_decision(self, decision: AuthDecision, refused: str) -> None:
        """Clear the pending request; raise :class:`AuthenticationFailed` (ERROR with
        the ZAP status code) if ``decision`` refuses the peer. ``refused`` names what
        was refused, e.g. ``"PLAIN credentials"``."""
        self.auth_request = None
        if not decision.accepted:
            why = f"{decision.status_code} {decision.reason}".strip()
            raise AuthenticationFailed(
                f"{refused} refused: {why}", status_code=decision.status_code, rfc=27
            )

    def _check_peer_error(self, name: bytes, data: bytes) -> None:
        """Raise PeerError if the command is ERROR (RFC 23 Error Handling).

        Raised here rather than returned: an exception kept in a local variable of a
        frame it is raised through is in a reference cycle with that frame (and so
        with everything the frame holds, the connection included).
        """
        if name != ERROR:
            return
        reason = parse_error(data)
        raise PeerError(
            f"peer refused the handshake: {reason!r}",
            peer_reason=reason,
            rfc=23,
            section="Error Handling",
        )

    def _unexpected(self, name: bytes, state: str) -> HandshakeError:
        return HandshakeError(
            f"{self.name.decode()} {'server' if self.as_server else 'client'} "
            f"received {name.decode('ascii', 'replace')!r} while {state}",
            rfc=self._rfc,
            section=self._rfc_section,
        )

    _rfc: ClassVar[int] = 23
    _rfc_section: ClassVar[str] = "Authentication and Confidentiality"


def coerce_decision(result: AuthDecision | bool) -> AuthDecision:
    """Turn an authenticator's bool into a decision."""
    if isinstance(result, AuthDecision):
        return result
    return ACCEPT if result else AuthDecision(False)
