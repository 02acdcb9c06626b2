"""The NULL security mechanism (RFC 23 "The NULL Security Mechanism").

No authentication and no confidentiality: each side sends READY with its metadata and
waits for the peer's READY. Both sides send READY as soon as the peer's greeting has
been accepted (libzmq does the same, so neither side waits on the other), except a
server that must first ask an authenticator (ZAP, RFC 27): it holds its READY until
the decision arrives, and answers a refusal with an ERROR carrying the status code.

States (peer READY received x our READY sent)::

    start ──► our READY sent ──(peer READY)──► complete
      │                                           ▲
      └─► waiting for auth ──(accepted)──► our READY sent
                │
                └──(refused)──► AuthenticationFailed (ERROR "<status>" sent)

This file never touches a socket.
"""

from __future__ import annotations

from typing import ClassVar

from zmtp.errors import HandshakeError
from zmtp.wire.commands import READY, decode_metadata
from zmtp.wire.frames import encode_command_frame
from zmtp.wire.greeting import Greeting
from zmtp.wire.mechanisms.base import AuthDecision, AuthRequest, Mechanism

__all__ = ["NullMechanism"]


class NullMechanism(Mechanism):
    """NULL: metadata exchange only.

    ``as_server`` marks the binding side; it matters only when ``authenticate`` is
    true, in which case the server asks for an authentication decision (an empty
    :class:`AuthRequest`) before it admits the peer. The greeting's as-server octet
    is always zero for NULL (RFC 23).
    """

    name: ClassVar[bytes] = b"NULL"
    _rfc_section: ClassVar[str] = "The NULL Security Mechanism"

    def __init__(self, *, as_server: bool = False, authenticate: bool = False) -> None:
        super().__init__(as_server=as_server)
        self.authenticate = authenticate and as_server
        self._sent_ready = False
        self._got_ready = False

    @property
    def greeting_as_server(self) -> bool:
        return False

    def check_greeting(self, peer: Greeting) -> None:
        # RFC 23 says the as-server field MUST be zero with NULL; libzmq never checks
        # it, and refusing would only break peers that are otherwise fine.
        return

    def start(self) -> list[bytes]:
        if self.authenticate:
            self.auth_request = AuthRequest(self.name)
            return []
        return self._send_ready()

    def _send_ready(self) -> list[bytes]:
        self._sent_ready = True
        if self._got_ready:
            self.complete = True
        return [encode_command_frame(READY, self._local_metadata)]

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        self._check_peer_error(name, data)
        if name != READY:
            raise self._unexpected(name, "waiting for READY")
        if self._got_ready:
            raise HandshakeError(
                "peer sent READY twice", rfc=23, section="The NULL Security Mechanism"
            )
        meta = decode_metadata(data)
        self._validate(meta)
        self.peer_metadata = meta
        self._got_ready = True
        if self._sent_ready:
            self.complete = True
        return []

    def resolve_auth(self, decision: AuthDecision) -> list[bytes]:
        if self.auth_request is None:
            return super().resolve_auth(decision)
        self._take_decision(decision, "the peer (NULL)")
        self.user_id = decision.user_id
        self.auth_metadata = decision.metadata
        return self._send_ready()
