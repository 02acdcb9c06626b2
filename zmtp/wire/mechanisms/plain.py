"""The PLAIN security mechanism (RFC 24/ZMTP-PLAIN).

Clear-text user name and password, checked by the server. The client is the peer
whose greeting says as-server 0; exactly one side must be the server::

    client                                   server
      HELLO  (username, password)  ───────►
                                   ◄───────  WELCOME      (or ERROR "<status>")
      INITIATE (metadata)          ───────►
                                   ◄───────  READY (metadata)   (or ERROR)

Wire layout of HELLO's data: ``username-size (1) username password-size (1) password``.

The server asks its authenticator (ZAP, RFC 27) about the credentials when it
receives HELLO; with no authenticator the connection refuses everyone, as libzmq's
PLAIN server does when no ZAP handler is installed. PLAIN protects nothing on the
wire: use it on trusted networks only.

This file never touches a socket.
"""

from __future__ import annotations

from typing import ClassVar

from zmtp.errors import HandshakeError, ZMTPValueError
from zmtp.wire.commands import READY, decode_metadata
from zmtp.wire.frames import encode_command_frame
from zmtp.wire.greeting import Greeting
from zmtp.wire.mechanisms.base import AuthDecision, AuthRequest, Mechanism

__all__ = ["PlainClient", "PlainServer", "decode_hello", "encode_hello"]

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"


def encode_hello(username: bytes, password: bytes) -> bytes:
    """The HELLO command frame (RFC 24)."""
    if len(username) > 255 or len(password) > 255:
        raise ZMTPValueError(
            "PLAIN user name and password are at most 255 octets each (RFC 24 The HELLO Command)"
        )
    data = bytes((len(username),)) + username + bytes((len(password),)) + password
    return encode_command_frame(HELLO, data)


def decode_hello(data: bytes) -> tuple[bytes, bytes]:
    """``(username, password)`` from HELLO's data; anything malformed is refused."""
    if not data:
        raise HandshakeError("HELLO has no username size", rfc=24, section="Formal Grammar")
    n = data[0]
    if len(data) < 1 + n + 1:
        raise HandshakeError(
            f"HELLO username announced {n} octets and the password size is missing",
            rfc=24,
            section="Formal Grammar",
        )
    username = data[1 : 1 + n]
    m = data[1 + n]
    password = data[2 + n : 2 + n + m]
    if len(password) != m or len(data) != 2 + n + m:
        raise HandshakeError(
            f"HELLO password announced {m} octets but {len(data) - 2 - n} follow",
            rfc=24,
            section="Formal Grammar",
        )
    return username, password


class _Plain(Mechanism):
    name: ClassVar[bytes] = b"PLAIN"
    _rfc: ClassVar[int] = 24
    _rfc_section: ClassVar[str] = "Formal Grammar"

    def check_greeting(self, peer: Greeting) -> None:
        # The roles come from each side's own configuration. RFC 23 has the server
        # announce itself with as-server 1, but libzmq always sends 0 there, so the
        # peer's octet is not checked (a deliberate leniency, see README).
        return


class PlainClient(_Plain):
    """The client side of PLAIN: sends the credentials."""

    def __init__(self, username: bytes, password: bytes) -> None:
        super().__init__(as_server=False)
        self.username = bytes(username)
        self.password = bytes(password)
        self._state = "start"

    def start(self) -> list[bytes]:
        self._state = "expect-welcome"
        return [encode_hello(self.username, self.password)]

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        self._check_peer_error(name, data)
        if self._state == "expect-welcome":
            if name != WELCOME:
                raise self._unexpected(name, "waiting for WELCOME")
            if data:
                raise HandshakeError("WELCOME carries no data", rfc=24, section="Formal Grammar")
            self._state = "expect-ready"
            return [encode_command_frame(INITIATE, self._local_metadata)]
        if self._state == "expect-ready":
            if name != READY:
                raise self._unexpected(name, "waiting for READY")
            meta = decode_metadata(data)
            self._validate(meta)
            self.peer_metadata = meta
            self._state = "complete"
            self.complete = True
            return []
        raise self._unexpected(name, f"in state {self._state}")


class PlainServer(_Plain):
    """The server side of PLAIN: checks the credentials through the authenticator."""

    def __init__(self) -> None:
        super().__init__(as_server=True)
        self._state = "expect-hello"
        #: The credentials the client presented, once HELLO has arrived.
        self.username: bytes | None = None

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        self._check_peer_error(name, data)
        if self._state == "expect-hello":
            if name != HELLO:
                raise self._unexpected(name, "waiting for HELLO")
            username, password = decode_hello(data)
            self.username = username
            self.auth_request = AuthRequest(self.name, (username, password))
            self._state = "auth-pending"
            return []
        if self._state == "expect-initiate":
            if name != INITIATE:
                raise self._unexpected(name, "waiting for INITIATE")
            meta = decode_metadata(data)
            self._validate(meta)
            self.peer_metadata = meta
            self._state = "complete"
            self.complete = True
            return [encode_command_frame(READY, self._local_metadata)]
        raise self._unexpected(name, f"in state {self._state}")

    def resolve_auth(self, decision: AuthDecision) -> list[bytes]:
        if self._state != "auth-pending":
            return super().resolve_auth(decision)
        self._state = "refused"  # until the decision says otherwise
        self._take_decision(decision, "PLAIN credentials")
        self.user_id = decision.user_id or (self.username or b"")
        self.auth_metadata = decision.metadata
        self._state = "expect-initiate"
        return [encode_command_frame(WELCOME)]
