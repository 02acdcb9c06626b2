r"""The CURVE security mechanism (RFC 25/ZMTP-CURVE, RFC 26/CurveZMQ).

Authentication and confidentiality with Curve25519 boxes (NaCl ``crypto_box``, through
PyNaCl). Four key pairs take part: the long-term ("permanent") pairs of the client
(C, c) and the server (S, s), which the client must know S of beforehand, and a
transient pair per connection on each side (C', c' and S', s'), which give forward
secrecy. ``Box[X](A->B)`` is X encrypted and authenticated from A's secret key to B's
public key; every box is 16 octets longer than X (its MAC).

The handshake (command data shown after the command name; sizes in octets)::

    client                                                   server
      HELLO    version 1.0 (2), padding (72 zeros), C' (32),
               short nonce (8), Box[64 zeros](C'->S) (80)  ───►
                                                          ◄───  WELCOME
               long nonce (16), Box[S' (32) + cookie (96)](S->C') (144)
      INITIATE cookie (96), short nonce (8),
               Box[C (32) + vouch (96) + metadata](C'->S')  ───►
                                                 (the server asks its authenticator)
                                                          ◄───  READY   (or ERROR)
               short nonce (8), Box[metadata](S'->C')
      MESSAGE  short nonce (8), Box[flags (1) + frame](C'->S')  ◄──►  MESSAGE (S'->C')

    cookie = long nonce (16) + SecretBox[C' (32) + s' (32)](K) (80)
    vouch  = long nonce (16) + Box[C' (32) + S (32)](C->S') (80)

Each box's 24-octet nonce is a fixed prefix followed by the nonce sent with it:

    ========== ======================= ===========================================
    box        prefix                  sent part
    ========== ======================= ===========================================
    HELLO      ``CurveZMQHELLO---``    client short nonce (8, big-endian counter)
    WELCOME    ``WELCOME-``            server long nonce (16, random)
    cookie     ``COOKIE--``            server long nonce (16, random)
    INITIATE   ``CurveZMQINITIATE``    client short nonce
    vouch      ``VOUCH---``            client long nonce (16, random)
    READY      ``CurveZMQREADY---``    server short nonce
    MESSAGE    ``CurveZMQMESSAGEC``    client short nonce (client to server)
    MESSAGE    ``CurveZMQMESSAGES``    server short nonce (server to client)
    ========== ======================= ===========================================

Short nonces count up from 1 on each side (HELLO and INITIATE take the client's
first two, READY the server's first), as libzmq's do; every short nonce a peer sends
must be larger than its previous one (RFC 26 "The HELLO Command", "The READY
Command"), so a replayed, reordered or repeated box is refused before it is opened.

Traffic: once READY went through, **every** frame travels in a MESSAGE command whose
box holds one flags octet and the frame: data frames (MORE = 0x01) and traffic
commands alike (PING, PONG, SUBSCRIBE, CANCEL: COMMAND = 0x02, the command's whole
body after the flags, as libzmq 4.3 sends them). :meth:`encode_frame` and
:meth:`decode_frame` map these bits to and from :mod:`zmtp.wire.frames`' MORE and
COMMAND. Anything but a MESSAGE after the handshake, a box that does not open, or a
flags octet with other bits set breaks RFC 26 "The MESSAGE Command" and kills the
connection (without ERROR: RFC 26 forbids answering a bad MESSAGE with one).

The frame around a MESSAGE command is a deliberate difference from RFC 23 ("Wire
Analysis": encrypted data "SHALL be encoded as commands"). libzmq 4.3 writes each
MESSAGE as a ZMTP *data* frame with no flags and silently drops one that arrives in
a command frame, so we write flag-less data frames too::

    +-------+------+------------+-----------------+----------------------------------+
    | flags | size | 07 MESSAGE | short nonce (8) | Box[flags (1) + frame] (16+1+n)  |
    | 0x00  | (1)  |            |                 |                                  |
    +-------+------+------------+-----------------+----------------------------------+
      (flags 0x02 and an 8-octet size when the command exceeds 255 octets)

and read both forms (the connection hands :meth:`decode_frame` the body either way).

Statelessness: the server keeps its transient secret s' only inside the cookie,
sealed with a cookie key K made for this connection, and forgets s' once WELCOME is
written; INITIATE brings the cookie back, and s' comes out of it. K is discarded as
soon as INITIATE arrives (RFC 26 "The WELCOME Command"). Mechanisms have no clock, so
the 60-second expiry RFC 26 suggests is the transport's handshake timeout.

Authentication: after a valid INITIATE the server asks its authenticator about the
client's long-term key (``AuthRequest(b"CURVE", (client_public_key,))``, 32 raw
octets), exactly as PLAIN asks about credentials; a refusal becomes ERROR with the
ZAP status code. The client never sends ERROR (RFC 26 "General Design"): when it
refuses the server, it only closes.

Tests and known-answer vectors may fix the transient keys, the long nonces and the
cookie key through keyword arguments; real connections must leave them unset.

This file never touches a socket.
"""

from __future__ import annotations

import os
import struct
from typing import Any, ClassVar

from zmtp import _fastpaths
from zmtp.errors import HandshakeError, InvalidState, ProtocolError, ZMTPValueError
from zmtp.wire.commands import READY, decode_metadata, parse_command
from zmtp.wire.frames import COMMAND, MORE, encode_command_frame, frame_header
from zmtp.wire.greeting import Greeting
from zmtp.wire.mechanisms.base import AuthDecision, AuthRequest, Mechanism
from zmtp.wire.z85 import KEY_SIZE, coerce_key, encode, nacl_bindings

__all__ = ["CurveClient", "CurveServer"]

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
MESSAGE = b"MESSAGE"

# Nonce prefixes, RFC 26 "CurveZMQ Commands".
HELLO_PREFIX = b"CurveZMQHELLO---"
WELCOME_PREFIX = b"WELCOME-"
COOKIE_PREFIX = b"COOKIE--"
INITIATE_PREFIX = b"CurveZMQINITIATE"
VOUCH_PREFIX = b"VOUCH---"
READY_PREFIX = b"CurveZMQREADY---"
CLIENT_MESSAGE_PREFIX = b"CurveZMQMESSAGEC"
SERVER_MESSAGE_PREFIX = b"CurveZMQMESSAGES"

#: RFC 26 "The HELLO Command": CurveZMQ version 1.0 and 72 octets of padding, which
#: make HELLO (200 octets) larger than WELCOME (168) against amplification.
VERSION = b"\x01\x00"
HELLO_PADDING = 72
#: Sizes of command data (after the name), RFC 26 "High-level Grammar".
HELLO_SIZE = 2 + HELLO_PADDING + 32 + 8 + 80  # 194
WELCOME_SIZE = 16 + 144  # 160
COOKIE_SIZE = 16 + 80  # 96
VOUCH_SIZE = 16 + 80  # 96
INITIATE_MIN_SIZE = COOKIE_SIZE + 8 + 144  # 248
READY_MIN_SIZE = 8 + 16  # 24
MESSAGE_MIN_SIZE = 8 + 17  # 25: short nonce, MAC, flags
#: Octets of a box beyond its clear text (the Poly1305 MAC).
MAC_SIZE = 16
#: RFC 26 "The MESSAGE Command" payload flags (note: not RFC 23's frame flags).
CURVE_MORE = 0x01
CURVE_COMMAND = 0x02
#: A short nonce is 8 octets: at most 2^64 - 1 commands per direction.
_MAX_NONCE = (1 << 64) - 1

_MESSAGE_HEAD = bytes((len(MESSAGE),)) + MESSAGE  # b"\x07MESSAGE"
_pack_nonce = struct.Struct(">Q").pack
_FLAG_OCTET = tuple(bytes((i,)) for i in range(4))
#: frames.MORE/COMMAND (RFC 23) -> the CURVE payload flags octet.
_TO_CURVE = {
    0: _FLAG_OCTET[0],
    MORE: _FLAG_OCTET[CURVE_MORE],
    COMMAND: _FLAG_OCTET[CURVE_COMMAND],
}
#: CURVE payload flags -> frames.MORE/COMMAND; MORE and COMMAND together is refused.
_FROM_CURVE = {0: 0, CURVE_MORE: MORE, CURVE_COMMAND: COMMAND}

_codec: list[_fastpaths.BoxCodec] = []


def _box_codec() -> _fastpaths.BoxCodec:
    """How MESSAGE boxes are sealed and opened (chosen once, when PyNaCl is there)."""
    if not _codec:
        _codec.append(_fastpaths.box_codec())
    return _codec[0]


def _fixed(value: bytes | None, size: int, what: str) -> bytes | None:
    """A test-supplied key or nonce, checked for size."""
    if value is None:
        return None
    value = bytes(value)
    if len(value) != size:
        raise ZMTPValueError(f"{what} must be {size} octets, got {len(value)} (RFC 26)")
    return value


class _Curve(Mechanism):
    """What client and server share: nonces, the shared key, MESSAGE boxes."""

    name: ClassVar[bytes] = b"CURVE"
    transforms_traffic: ClassVar[bool] = True
    #: A MESSAGE command adds its name (8), short nonce (8), MAC (16) and flags (1).
    wrap_overhead: ClassVar[int] = len(_MESSAGE_HEAD) + 8 + MAC_SIZE + 1
    _rfc: ClassVar[int] = 26
    _rfc_section: ClassVar[str] = "CurveZMQ Commands"
    _send_prefix: ClassVar[bytes]
    _recv_prefix: ClassVar[bytes]

    def __init__(self, *, as_server: bool) -> None:
        super().__init__(as_server=as_server)
        nacl = nacl_bindings()
        from nacl.exceptions import CryptoError

        self._nacl: Any = nacl
        self._crypto_error: type[Exception] = CryptoError
        self._seal = nacl.crypto_box_easy_afternm
        self._unseal = nacl.crypto_box_open_easy_afternm
        self._boxes = _box_codec()
        #: The next short nonce we send (libzmq starts at 1 too).
        self._send_nonce = 1
        #: The peer's last short nonce (-1: none yet).
        self._recv_nonce = -1
        #: crypto_box_beforenm of the transient keys, once both are known.
        self._key: bytes | None = None

    def check_greeting(self, peer: Greeting) -> None:
        # RFC 25 names roles by the as-server octet, but libzmq writes 0 there even as
        # a CURVE server; roles come from each side's configuration (README).
        return

    # -- helpers -----------------------------------------------------------------------

    def _pair(self, secret: bytes | None) -> tuple[bytes, bytes]:
        """``(public, secret)`` of a fixed transient secret, or of a fresh pair."""
        if secret is None:
            public, secret = self._nacl.crypto_box_keypair()
            return bytes(public), bytes(secret)
        return bytes(self._nacl.crypto_scalarmult_base(secret)), secret

    def _check_pair(self, public: bytes, secret: bytes, whose: str) -> None:
        if bytes(self._nacl.crypto_scalarmult_base(secret)) != public:
            raise ZMTPValueError(
                f"the {whose} public key does not belong to the {whose} secret key "
                "(RFC 26: a key pair is a Curve25519 secret key and its public key)"
            )

    def _next_nonce(self) -> bytes:
        n = self._send_nonce
        if n > _MAX_NONCE:
            raise InvalidState(
                "CURVE short nonces are exhausted (2^64 - 1 commands); reconnect (RFC 26)"
            )
        self._send_nonce = n + 1
        return _pack_nonce(n)

    def _check_nonce(
        self, raw: bytes, command: str, section: str, error: type[ProtocolError]
    ) -> int:
        """The peer's short nonce, refused unless it exceeds the previous one. The
        caller records it (``_recv_nonce``) once the box it protects has opened."""
        n = int.from_bytes(raw, "big")
        if n <= self._recv_nonce:
            raise error(
                f"{command} short nonce {n} does not exceed the previous one "
                f"({self._recv_nonce}): the box is replayed or reordered",
                rfc=26,
                section=section,
            )
        return n

    def _box_open(
        self, box: bytes, nonce: bytes, public: bytes, secret: bytes, what: str, section: str
    ) -> bytes:
        try:
            return bytes(self._nacl.crypto_box_open(box, nonce, public, secret))
        except self._crypto_error:
            raise HandshakeError(
                f"{what} does not open (corrupted, or made for other keys)",
                rfc=26,
                section=section,
            ) from None

    def _open_afternm(
        self, box: bytes, nonce: bytes, what: str, section: str, error: type[ProtocolError]
    ) -> bytes:
        assert self._key is not None
        try:
            return bytes(self._unseal(box, nonce, self._key))
        except self._crypto_error:
            raise error(
                f"{what} does not open (corrupted, or made for other keys)",
                rfc=26,
                section=section,
            ) from None

    def _shared_key(self, public: bytes, secret: bytes, what: str, section: str) -> bytes:
        try:
            return bytes(self._nacl.crypto_box_beforenm(public, secret))
        except self._crypto_error:
            # libsodium refuses a low-order peer key (all-zero shared secret).
            raise HandshakeError(
                f"{what} is not a usable Curve25519 public key", rfc=26, section=section
            ) from None

    # -- traffic (RFC 26 "The MESSAGE Command") -----------------------------------------

    def encode_frame(self, flags: int, body: bytes) -> bytes:
        key = self._key
        if key is None or not self.complete:
            raise InvalidState("CURVE traffic before the handshake completed (RFC 26)")
        flag_octet = _TO_CURVE.get(flags & (MORE | COMMAND))
        if flag_octet is None:
            raise ZMTPValueError("a command frame cannot have the MORE flag (RFC 23 Framing)")
        short = self._next_nonce()
        # A data frame with no flags, as libzmq sends (and only accepts) MESSAGE. The
        # box is sealed straight into the frame (zmtp._fastpaths.box_codec).
        size = len(_MESSAGE_HEAD) + 8 + MAC_SIZE + 1 + len(body)
        head = frame_header(size, 0) + _MESSAGE_HEAD + short
        frame: bytes = self._boxes.seal(head, flag_octet[0], body, self._send_prefix + short, key)
        return frame

    def decode_frame(self, body: bytes) -> tuple[int, bytes]:
        section = "The MESSAGE Command"
        if body[:8] != _MESSAGE_HEAD:
            try:
                got = repr(parse_command(body)[0].decode("ascii", "replace"))
            except ProtocolError:
                got = f"a frame starting {body[:8]!r}"
            raise ProtocolError(
                f"CURVE traffic must be MESSAGE commands, got {got}", rfc=26, section=section
            )
        if len(body) < len(_MESSAGE_HEAD) + MESSAGE_MIN_SIZE:
            raise ProtocolError(
                f"MESSAGE data of {len(body) - 8} octets is shorter than its "
                f"{MESSAGE_MIN_SIZE}-octet minimum (nonce, MAC, flags)",
                rfc=26,
                section=section,
            )
        short = body[8:16]
        n = self._check_nonce(short, "MESSAGE", section, ProtocolError)
        assert self._key is not None
        opened = self._boxes.open(body, 16, self._recv_prefix + short, self._key)
        if opened is None:
            raise ProtocolError(
                "MESSAGE box does not open (corrupted, or made for other keys)",
                rfc=26,
                section=section,
            )
        self._recv_nonce = n
        flag, data = opened
        flags = _FROM_CURVE.get(flag)
        if flags is None:
            raise ProtocolError(
                f"MESSAGE flags 0x{flag:02X}: only MORE (0x01) or COMMAND (0x02) may "
                "be set, and not both",
                rfc=26,
                section=section,
            )
        return flags, data


class CurveClient(_Curve):
    """The client side of CURVE: knows the server's long-term public key.

    Parameters:
        server_public: the server's long-term public key S.
        public, secret: our long-term key pair (C, c). Keys are 40 Z85 characters
            (``str`` or ``bytes``, as pyzmq's ``curve_serverkey`` and friends) or 32
            raw octets.
        transient_secret: fixes our transient secret c' (tests only).
        vouch_nonce: fixes the 16-octet long nonce of the vouch (tests only).

    Raises :class:`~zmtp.errors.MechanismUnavailable` without PyNaCl, and
    :class:`~zmtp.errors.ZMTPValueError` (a ``ValueError``) for malformed keys or a
    public key that is not the secret key's.
    """

    _send_prefix: ClassVar[bytes] = CLIENT_MESSAGE_PREFIX
    _recv_prefix: ClassVar[bytes] = SERVER_MESSAGE_PREFIX
    #: RFC 26 "General Design": a client peer SHALL NOT send ERROR.
    sends_error: ClassVar[bool] = False

    def __init__(
        self,
        server_public: str | bytes,
        public: str | bytes,
        secret: str | bytes,
        *,
        transient_secret: bytes | None = None,
        vouch_nonce: bytes | None = None,
    ) -> None:
        super().__init__(as_server=False)
        self.server_public = coerce_key(server_public, "server public key")
        self.public_key = coerce_key(public, "client public key")
        self._secret = coerce_key(secret, "client secret key")
        self._check_pair(self.public_key, self._secret, "client")
        fixed = _fixed(transient_secret, KEY_SIZE, "transient_secret")
        self.transient_public, self._transient_secret = self._pair(fixed)
        self._vouch_nonce = _fixed(vouch_nonce, 16, "vouch_nonce")
        #: The server's transient public key S', once WELCOME has arrived.
        self.server_transient: bytes | None = None
        self._state = "start"

    def start(self) -> list[bytes]:
        self._state = "expect-welcome"
        return [self._hello()]

    def _hello(self) -> bytes:
        short = self._next_nonce()
        signature = self._nacl.crypto_box(
            bytes(64), HELLO_PREFIX + short, self.server_public, self._transient_secret
        )
        data = VERSION + bytes(HELLO_PADDING) + self.transient_public + short + signature
        return encode_command_frame(HELLO, data)

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        self._check_peer_error(name, data)
        if self._state == "expect-welcome":
            if name != WELCOME:
                raise self._unexpected(name, "waiting for WELCOME")
            cookie = self._on_welcome(data)
            self._state = "expect-ready"
            return [self._initiate(cookie)]
        if self._state == "expect-ready":
            if name != READY:
                raise self._unexpected(name, "waiting for READY")
            self._on_ready(data)
            self._state = "complete"
            self.complete = True
            return []
        raise self._unexpected(name, f"in state {self._state}")

    def _on_welcome(self, data: bytes) -> bytes:
        section = "The WELCOME Command"
        if len(data) != WELCOME_SIZE:
            raise HandshakeError(
                f"WELCOME data must be {WELCOME_SIZE} octets, got {len(data)}",
                rfc=26,
                section=section,
            )
        plain = self._box_open(
            data[16:],
            WELCOME_PREFIX + data[:16],
            self.server_public,
            self._transient_secret,
            "WELCOME box (wrong server key?)",
            section,
        )
        self.server_transient = plain[:32]
        self._key = self._shared_key(
            self.server_transient, self._transient_secret, "server transient key", section
        )
        return plain[32:]

    def _initiate(self, cookie: bytes) -> bytes:
        assert self.server_transient is not None and self._key is not None
        vouch_nonce = self._vouch_nonce or os.urandom(16)
        vouch = self._nacl.crypto_box(
            self.transient_public + self.server_public,
            VOUCH_PREFIX + vouch_nonce,
            self.server_transient,
            self._secret,
        )
        short = self._next_nonce()
        plain = self.public_key + vouch_nonce + vouch + self._local_metadata
        box = self._seal(plain, INITIATE_PREFIX + short, self._key)
        return encode_command_frame(INITIATE, cookie + short + box)

    def _on_ready(self, data: bytes) -> None:
        section = "The READY Command"
        if len(data) < READY_MIN_SIZE:
            raise HandshakeError(
                f"READY data must be at least {READY_MIN_SIZE} octets, got {len(data)}",
                rfc=26,
                section=section,
            )
        short = data[:8]
        n = self._check_nonce(short, "READY", section, HandshakeError)
        plain = self._open_afternm(
            data[8:], READY_PREFIX + short, "READY box", section, HandshakeError
        )
        self._recv_nonce = n
        meta = decode_metadata(plain)
        self._validate(meta)
        self.peer_metadata = meta


class CurveServer(_Curve):
    """The server side of CURVE: proves its long-term key, checks the client's.

    Parameters:
        public, secret: our long-term key pair (S, s), as 40 Z85 characters or 32 raw
            octets (pyzmq's ``curve_publickey``/``curve_secretkey``).
        transient_secret: fixes our transient secret s' (tests only).
        cookie_key: fixes the 32-octet cookie key K (tests only).
        welcome_nonce, cookie_nonce: fix the 16-octet long nonces (tests only).

    After INITIATE the connection's authenticator is asked about the client's
    long-term public key (``AuthRequest(b"CURVE", (key,))``, 32 raw octets, also in
    :attr:`client_public`). The ``user_id`` of an accepted client is the decision's,
    or else the key in Z85, as pyzmq's authenticators report it.
    """

    _send_prefix: ClassVar[bytes] = SERVER_MESSAGE_PREFIX
    _recv_prefix: ClassVar[bytes] = CLIENT_MESSAGE_PREFIX

    def __init__(
        self,
        public: str | bytes,
        secret: str | bytes,
        *,
        transient_secret: bytes | None = None,
        cookie_key: bytes | None = None,
        welcome_nonce: bytes | None = None,
        cookie_nonce: bytes | None = None,
    ) -> None:
        super().__init__(as_server=True)
        self.public_key = coerce_key(public, "server public key")
        self._secret = coerce_key(secret, "server secret key")
        self._check_pair(self.public_key, self._secret, "server")
        self._fixed_transient = _fixed(transient_secret, KEY_SIZE, "transient_secret")
        self._fixed_cookie_key = _fixed(cookie_key, KEY_SIZE, "cookie_key")
        self._welcome_nonce = _fixed(welcome_nonce, 16, "welcome_nonce")
        self._cookie_nonce = _fixed(cookie_nonce, 16, "cookie_nonce")
        #: The client's transient public key C', from HELLO.
        self.client_transient: bytes | None = None
        #: The client's long-term public key C (32 octets), from INITIATE.
        self.client_public: bytes | None = None
        self._cookie_key: bytes | None = None
        self._pending_metadata = b""
        self._state = "expect-hello"

    def on_command(self, name: bytes, data: bytes) -> list[bytes]:
        self._check_peer_error(name, data)
        if self._state == "expect-hello":
            if name != HELLO:
                raise self._unexpected(name, "waiting for HELLO")
            self._on_hello(data)
            self._state = "expect-initiate"
            return [self._welcome()]
        if self._state == "expect-initiate":
            if name != INITIATE:
                raise self._unexpected(name, "waiting for INITIATE")
            self._on_initiate(data)
            assert self.client_public is not None
            self.auth_request = AuthRequest(self.name, (self.client_public,))
            self._state = "auth-pending"
            return []
        raise self._unexpected(name, f"in state {self._state}")

    def _on_hello(self, data: bytes) -> None:
        section = "The HELLO Command"
        if len(data) != HELLO_SIZE:
            raise HandshakeError(
                f"HELLO data must be {HELLO_SIZE} octets, got {len(data)}",
                rfc=26,
                section=section,
            )
        if data[:2] != VERSION:
            raise HandshakeError(
                f"HELLO announces CurveZMQ {data[0]}.{data[1]}; only 1.0 is defined",
                rfc=26,
                section=section,
            )
        if any(data[2 : 2 + HELLO_PADDING]):
            raise HandshakeError(
                "HELLO anti-amplification padding must be all zero", rfc=26, section=section
            )
        at = 2 + HELLO_PADDING
        client_transient = data[at : at + 32]
        short = data[at + 32 : at + 40]
        n = self._check_nonce(short, "HELLO", section, HandshakeError)
        plain = self._box_open(
            data[at + 40 :],
            HELLO_PREFIX + short,
            client_transient,
            self._secret,
            "HELLO signature box (the client has the wrong server key?)",
            section,
        )
        if any(plain):
            raise HandshakeError(
                "HELLO signature box must hold 64 zero octets", rfc=26, section=section
            )
        self._recv_nonce = n
        self.client_transient = client_transient

    def _welcome(self) -> bytes:
        assert self.client_transient is not None
        transient_public, transient_secret = self._pair(self._fixed_transient)
        self._fixed_transient = None
        # The cookie is the only memory of s' past this point (RFC 26 WELCOME).
        self._cookie_key = self._fixed_cookie_key or os.urandom(KEY_SIZE)
        cookie_nonce = self._cookie_nonce or os.urandom(16)
        sealed = self._nacl.crypto_secretbox(
            self.client_transient + transient_secret,
            COOKIE_PREFIX + cookie_nonce,
            self._cookie_key,
        )
        welcome_nonce = self._welcome_nonce or os.urandom(16)
        box = self._nacl.crypto_box(
            transient_public + cookie_nonce + sealed,
            WELCOME_PREFIX + welcome_nonce,
            self.client_transient,
            self._secret,
        )
        return encode_command_frame(WELCOME, welcome_nonce + box)

    def _on_initiate(self, data: bytes) -> None:
        section = "The INITIATE Command"
        assert self.client_transient is not None and self._cookie_key is not None
        if len(data) < INITIATE_MIN_SIZE:
            raise HandshakeError(
                f"INITIATE data must be at least {INITIATE_MIN_SIZE} octets, got {len(data)}",
                rfc=26,
                section=section,
            )
        cookie_key, self._cookie_key = self._cookie_key, None  # used once, then gone
        try:
            cookie = bytes(
                self._nacl.crypto_secretbox_open(
                    data[16:COOKIE_SIZE], COOKIE_PREFIX + data[:16], cookie_key
                )
            )
        except self._crypto_error:
            raise HandshakeError(
                "INITIATE cookie does not open: it is not the one WELCOME sent",
                rfc=26,
                section=section,
            ) from None
        if cookie[:32] != self.client_transient:
            raise HandshakeError(
                "INITIATE cookie belongs to another client transient key",
                rfc=26,
                section=section,
            )
        transient_secret = cookie[32:]
        short = data[COOKIE_SIZE : COOKIE_SIZE + 8]
        n = self._check_nonce(short, "INITIATE", section, HandshakeError)
        self._key = self._shared_key(
            self.client_transient, transient_secret, "client transient key", section
        )
        plain = self._open_afternm(
            data[COOKIE_SIZE + 8 :],
            INITIATE_PREFIX + short,
            "INITIATE box",
            section,
            HandshakeError,
        )
        self._recv_nonce = n
        client_public = plain[:32]
        vouch_nonce = plain[32:48]
        vouched = self._box_open(
            plain[48:128],
            VOUCH_PREFIX + vouch_nonce,
            client_public,
            transient_secret,
            "INITIATE vouch box (it must come from the client's long-term key)",
            section,
        )
        if vouched[:32] != self.client_transient or vouched[32:] != self.public_key:
            raise HandshakeError(
                "INITIATE vouch must hold the client transient key and our long-term key",
                rfc=26,
                section=section,
            )
        # Malformed metadata fails now; the socket-type check waits for admission.
        decode_metadata(plain[128:])
        self._pending_metadata = plain[128:]
        self.client_public = client_public

    def resolve_auth(self, decision: AuthDecision) -> list[bytes]:
        if self._state != "auth-pending":
            return super().resolve_auth(decision)
        self._state = "refused"  # until the decision says otherwise
        self._take_decision(decision, "CURVE client key")
        assert self.client_public is not None
        meta = decode_metadata(self._pending_metadata)
        self._validate(meta)
        self.peer_metadata = meta
        self.user_id = decision.user_id or encode(self.client_public)
        self.auth_metadata = decision.metadata
        self._state = "complete"
        self.complete = True
        assert self._key is not None
        short = self._next_nonce()
        box = self._seal(self._local_metadata, READY_PREFIX + short, self._key)
        return [encode_command_frame(READY, short + box)]
