"""Security decisions, engine-neutral: which mechanism a socket's options select, the
ZAP client's side of RFC 27, and the rules of zmtp's own ZAP handler.

:func:`new_connection` builds the sans-IO :class:`~zmtp.wire.Connection` for one peer,
with the mechanism the options ask for and libzmq's authentication policy:

======================  ==========================================================
options                 mechanism, and who decides on the peer
======================  ==========================================================
``curve_server``        CURVE server (RFC 26); a ZAP handler if one is bound,
                        otherwise any client key is admitted (libzmq's rule)
``curve_serverkey``     CURVE client
``plain_server``        PLAIN server (RFC 24); a ZAP handler if one is bound,
                        otherwise everyone is refused (libzmq's rule)
``plain_username`` ...  PLAIN client
(none)                  NULL; a bound ZAP handler decides on NULL clients when the
                        socket has a ``zap_domain``
======================  ==========================================================

"A ZAP handler decides" means the Connection reports an ``AuthRequest`` and waits for
the engine to :meth:`~zmtp.wire.Connection.resolve_auth` it. The engine asks the handler
over the wire format of RFC 27, which :class:`ZapClient` builds and reads; the engine
only carries the frames (over an inproc socket of its own kind) and waits.

:class:`ZapHandler` is the other side: the rules of ``zmtp.auth.Authenticator`` (an
allow/deny list of addresses, PLAIN passwords and CURVE keys per ZAP domain) and the
reply frames they give; each engine's ``Authenticator`` only serves them on a socket.

No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError, ZMTPValueError
from zmtp.options import Options
from zmtp.wire import (
    AuthDecision,
    Connection,
    CurveClient,
    CurveServer,
    NullMechanism,
    PlainClient,
    PlainServer,
    curve_public,
)
from zmtp.wire.commands import decode_metadata
from zmtp.wire.events import AuthRequest
from zmtp.wire.z85 import coerce_key
from zmtp.wire.z85 import encode as z85_encode

__all__ = ["CURVE_ALLOW_ANY", "ZAP_ENDPOINT", "ZapClient", "ZapHandler", "new_connection"]

#: Where a ZAP handler serves (RFC 27), in the socket's context.
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


def _admit(request: AuthRequest) -> bool:
    return True


def _defer(request: AuthRequest) -> None:
    return None  # the engine asks the ZAP handler


def new_connection(
    socket_type: SocketType, options: Options, *, as_server: bool, zap_handler: bool
) -> Connection:
    """A Connection for one peer of a socket with these options.

    ``zap_handler`` says whether a ZAP handler is bound in the socket's context.
    Raises :class:`~zmtp.errors.ZMTPValueError` when the options do not make a usable
    mechanism (a CURVE server without its secret key, ...), and
    :class:`~zmtp.errors.MechanismUnavailable` when CURVE is asked for without PyNaCl.
    """
    opts = options
    authenticator: Any = None
    mechanism: Any
    if opts.get("curve_server"):
        secret = opts.get("curve_secretkey")
        if not secret:
            raise ZMTPValueError("curve_server needs curve_secretkey (RFC 26)")
        public = opts.get("curve_publickey") or curve_public(secret)
        mechanism = CurveServer(public, secret)
        authenticator = _defer if zap_handler else _admit
    elif opts.get("curve_serverkey"):
        public, secret = opts.get("curve_publickey"), opts.get("curve_secretkey")
        if not (public and secret):
            raise ZMTPValueError(
                "a CURVE client needs curve_publickey and curve_secretkey (with curve_serverkey)"
            )
        mechanism = CurveClient(opts.get("curve_serverkey"), public, secret)
    elif opts.get("plain_server"):
        mechanism = PlainServer()
        authenticator = _defer if zap_handler else None
    elif opts.get("plain_username") or opts.get("plain_password"):
        mechanism = PlainClient(opts.get("plain_username"), opts.get("plain_password"))
    else:
        ask = bool(zap_handler and as_server and opts.get("zap_domain"))
        mechanism = NullMechanism(as_server=as_server, authenticate=ask)
        authenticator = _defer if ask else None
    parts = opts.get("maxmsgparts")
    return Connection(
        socket_type,
        mechanism=mechanism,
        routing_id=opts.get("routing_id"),
        maxmsgsize=opts.get("maxmsgsize"),
        max_frames=parts if parts >= 0 else None,
        authenticator=authenticator,
        handshake_max_command=opts.get("handshake_max_command"),
        min_version=divmod(opts.get("zmtp_min_version"), 10),
    )


class ZapClient:
    """The requesting side of RFC 27 (ZAP), as frames.

    ``request(...)`` gives the request id and the frames to send to the handler (over a
    DEALER, hence the empty delimiter first); ``answer(reply)`` matches a reply to the
    request it answers and turns it into an :class:`~zmtp.wire.AuthDecision`. A reply
    that answers no request we made is taken as the handler garbling the oldest one
    (a REP handler serves requests in order), which refuses that peer. A handler that
    does not answer well (wrong version, request id or status) counts as an internal
    error ("500"), which refuses the peer.
    """

    __slots__ = ("_seq", "waiting")

    def __init__(self) -> None:
        self._seq = 0
        #: Request ids we wait for, oldest first.
        self.waiting: dict[bytes, None] = {}

    def request(
        self, options: Options, peer_address: str, request: AuthRequest
    ) -> tuple[bytes, list[bytes]]:
        self._seq += 1
        rid = str(self._seq).encode()
        self.waiting[rid] = None
        frames = [
            b"",
            b"1.0",
            rid,
            options.get("zap_domain"),
            peer_address.encode(),
            options.get("routing_id"),
            request.mechanism,
            *request.credentials,
        ]
        return rid, frames

    def forget(self, rid: bytes) -> None:
        """Stop waiting for ``rid`` (its peer went away)."""
        self.waiting.pop(rid, None)

    def answer(self, reply: list[bytes]) -> tuple[bytes, AuthDecision] | None:
        """The request a reply answers and the decision it carries; None if we wait
        for nothing."""
        rid = reply[2] if len(reply) > 2 else b""
        if rid not in self.waiting:
            if not self.waiting:
                return None
            rid = next(iter(self.waiting))
            reply = []
        del self.waiting[rid]
        return rid, self.decision(reply)

    @staticmethod
    def decision(reply: list[bytes]) -> AuthDecision:
        """RFC 27's reply frames (after the DEALER's empty delimiter) as a decision."""
        if len(reply) != 7 or reply[0] or reply[1] != b"1.0" or len(reply[3]) != 3:
            return AuthDecision(False, "500", "malformed ZAP reply")
        status = reply[3].decode("ascii", "replace")
        try:
            metadata = decode_metadata(reply[6])
        except ProtocolError:
            return AuthDecision(False, "500", "malformed metadata in ZAP reply")
        return AuthDecision(
            status == "200", status, reply[4].decode("utf-8", "replace"), reply[5], metadata
        )


#: ``configure_curve(location=CURVE_ALLOW_ANY)``: admit any client key (still
#: encrypting the traffic).
CURVE_ALLOW_ANY = "*"

#: A handler's decision: status code, status text, user id.
Decision = tuple[bytes, str, bytes]


class ZapHandler:
    """The rules of zmtp's ZAP handler (RFC 27), as pyzmq's authenticators have them.

    In order:

    1. Addresses: with an allow list, only listed IP addresses pass; otherwise
       addresses on the deny list are refused. Refused peers get status "400".
    2. NULL: admitted (it has nothing else to check).
    3. PLAIN: the user name and password must match the passwords configured for the
       request's ZAP domain (or for ``"*"``). The User-Id is the user name.
    4. CURVE: the client's public key must be one configured for the domain (or
       ``"*"``), or the domain allows any key (``location=CURVE_ALLOW_ANY``). The
       User-Id is the client key in Z85.

    :meth:`reply` turns a request's frames into the reply's; engines serve it.
    """

    def __init__(self) -> None:
        self.allowed: set[str] = set()
        self.denied: set[str] = set()
        self.passwords: dict[str, dict[bytes, bytes]] = {}
        self.curve_keys: dict[str, set[bytes] | str] = {}

    # -- configuration -------------------------------------------------------------------

    def allow(self, *addresses: str) -> None:
        """Admit only these IP addresses (and others allowed later)."""
        self.allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse these IP addresses (ignored once an allow list exists)."""
        self.denied.update(addresses)

    def configure_plain(
        self, domain: str = "*", passwords: Mapping[str | bytes, str | bytes] | None = None
    ) -> None:
        """PLAIN users and passwords for a ZAP domain (``"*"``: every domain)."""
        self.passwords[domain] = {_b(user): _b(pw) for user, pw in (passwords or {}).items()}

    def configure_curve(
        self, domain: str = "*", location: str | Iterable[str | bytes] = CURVE_ALLOW_ANY
    ) -> None:
        """CURVE client public keys (Z85 or raw) admitted for a domain, or
        :data:`CURVE_ALLOW_ANY`. (pyzmq reads keys from certificate files; zmtp takes
        the keys themselves.)"""
        if isinstance(location, str) and location == CURVE_ALLOW_ANY:
            self.curve_keys[domain] = CURVE_ALLOW_ANY
        else:
            self.curve_keys[domain] = {coerce_key(k, "client public key") for k in location}

    # -- the decision --------------------------------------------------------------------

    def authenticate(
        self, domain: str, address: str, mechanism: bytes, credentials: list[bytes]
    ) -> Decision:
        """Decide on one request: ``(status code, status text, user id)``."""
        if self.allowed:
            if address not in self.allowed:
                return b"400", f"address {address} is not on the allow list", b""
        elif address in self.denied:
            return b"400", f"address {address} is denied", b""
        if mechanism == b"NULL":
            return b"200", "OK", b""
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                return b"500", "PLAIN request without user name and password", b""
            user, password = credentials
            table = self.passwords.get(domain, self.passwords.get("*"))
            if table is not None and table.get(user) == password:
                return b"200", "OK", user
            return b"400", "invalid user name or password", b""
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return b"500", "CURVE request without a client key", b""
            key = credentials[0]
            allowed = self.curve_keys.get(domain, self.curve_keys.get("*"))
            if allowed == CURVE_ALLOW_ANY or (isinstance(allowed, set) and key in allowed):
                return b"200", "OK", z85_encode(key)
            return b"400", "unknown client key", b""
        return b"400", f"mechanism {mechanism!r} is not supported", b""

    def reply(self, request: list[bytes]) -> list[bytes]:
        """The reply frames (RFC 27) to a request's frames, as a REP socket gets them."""
        if len(request) < 6 or request[0] != b"1.0":
            rid = request[1] if len(request) > 1 else b""
            return [b"1.0", rid, b"500", b"malformed ZAP request", b"", b""]
        _, rid, domain, address, _identity, mechanism, *credentials = request
        status, text, user_id = self.authenticate(
            domain.decode("utf-8", "replace"),
            address.decode("utf-8", "replace"),
            mechanism,
            credentials,
        )
        return [b"1.0", rid, status, text.encode(), user_id, b""]


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
