"""``zmtp.auth``: an in-process ZAP handler (RFC 27/ZAP).

The server side of every security mechanism asks a ZAP handler whether to admit a
peer. Like libzmq, zmtp looks for one bound at ``inproc://zeromq.zap.01`` in the
server socket's context; this module provides one, with the rules of pyzmq's
authenticators::

    async with zmtp.Context() as ctx:
        async with zmtp.auth.Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")                                # optional
            auth.configure_plain(domain="*", passwords={"admin": "secret"})
            auth.configure_curve(domain="*", location=[client_public_z85])
            server = ctx.socket(zmtp.REP, plain_server=True)
            ...

Rules, in order:

1. Addresses: with an allow list, only listed IP addresses pass; otherwise addresses
   on the deny list are refused. Refused peers get status "400".
2. NULL: admitted (it has nothing else to check).
3. PLAIN: the user name and password must match the passwords configured for the
   request's ZAP domain (or for ``"*"``). The User-Id is the user name.
4. CURVE: the client's public key must be one configured for the domain (or ``"*"``),
   or the domain allows any key (``location=zmtp.auth.CURVE_ALLOW_ANY``). The
   User-Id is the client key in Z85.

Any application can serve ZAP itself instead: bind a REP (or ROUTER) socket at
``inproc://zeromq.zap.01`` in the context and answer the requests (RFC 27 frames:
version, request id, domain, address, identity, mechanism, credentials; the reply:
version, request id, status code, status text, user id, metadata).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from zmtp.constants import SocketType
from zmtp.errors import SocketClosed
from zmtp.wire.z85 import coerce_key
from zmtp.wire.z85 import encode as z85_encode

if TYPE_CHECKING:
    from zmtp._trio.context import Context
    from zmtp._trio.socket import Socket

__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]

#: ``configure_curve(location=CURVE_ALLOW_ANY)``: admit any client key (still
#: encrypting the traffic).
CURVE_ALLOW_ANY = "*"

Decision = tuple[bytes, str, bytes]  # status code, status text, user id


class Authenticator:
    """A ZAP handler serving one :class:`zmtp.Context`."""

    def __init__(self, context: Context | None = None) -> None:
        from zmtp._trio.context import Context

        self.context = context if context is not None else Context.instance()
        self.allowed: set[str] = set()
        self.denied: set[str] = set()
        self.passwords: dict[str, dict[bytes, bytes]] = {}
        self.curve_keys: dict[str, set[bytes] | str] = {}
        self._socket: Socket | None = None
        self._nursery_cm: Any = None

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

    def _reply(self, request: list[bytes]) -> list[bytes]:
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

    # -- serving ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind ``inproc://zeromq.zap.01`` and serve requests in the background.

        Inside an entered context the handler runs under it; otherwise use
        ``async with Authenticator(ctx)``, which owns the task.
        """
        from zmtp.core.security import ZAP_ENDPOINT

        if self._socket is not None:
            return
        context_nursery = self.context.nursery
        sock = self.context.socket(SocketType.REP, linger=0)
        if context_nursery is not None:
            nursery = context_nursery  # the context runs the socket already
        else:
            self._nursery_cm = trio.open_nursery()
            nursery = await self._nursery_cm.__aenter__()
            sock.run_in(nursery)
        await sock.bind(ZAP_ENDPOINT)
        self._socket = sock
        nursery.start_soon(self._serve, sock)

    async def _serve(self, sock: Socket) -> None:
        try:
            while True:
                request = await sock.recv_multipart()
                await sock.send_multipart(self._reply(request))
        except SocketClosed:
            return

    async def stop(self) -> None:
        """Stop serving; new handshakes then follow the no-handler rules."""
        if self._socket is not None:
            await self._socket.close()
            self._socket = None
        if self._nursery_cm is not None:
            cm, self._nursery_cm = self._nursery_cm, None
            await cm.__aexit__(None, None, None)

    async def __aenter__(self) -> Authenticator:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
