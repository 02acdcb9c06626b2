r"""A scripted ZMTP peer: one connection, driven step by step, that can break rules.

:class:`RawPeer` owns one blocking socket (tcp or ipc) and speaks ZMTP through
pieces of the sans-IO core (:mod:`zmtp.wire`): greetings, frames, commands,
metadata and the security mechanisms. Unlike :class:`zmtp.wire.Connection`, it
judges nothing and hides nothing: it reads exactly what arrives (a greeting as 64
octets, a frame as its flags, size and body), so a test or a conformance probe can
say precisely what a peer did wrong, and it writes exactly what it is told, so it
can be made to misbehave::

    peer = RawPeer.connect("tcp://127.0.0.1:5555")
    peer.handshake("DEALER")               # greeting, NULL READY both ways
    peer.send_message([b"hello"])
    print(peer.recv_message())             # what the peer sent back, frame by frame
    peer.send_raw(b"\x80\x01x")            # a frame with a reserved flag bit set
    print(peer.wait_closed())              # did the peer hang up on us?

Two levels, freely mixed:

* **octets**: :meth:`~RawPeer.send_raw` (optionally one octet at a time),
  :meth:`~RawPeer.recv_exactly`, :meth:`~RawPeer.wait_closed`;
* **protocol**: :meth:`~RawPeer.send_greeting` / :meth:`~RawPeer.recv_greeting`,
  :meth:`~RawPeer.handshake` (NULL, or any :class:`zmtp.wire.Mechanism` such as
  :class:`~zmtp.wire.PlainClient` or :class:`~zmtp.wire.CurveClient`), then
  :meth:`~RawPeer.send_message`, :meth:`~RawPeer.send_command`,
  :meth:`~RawPeer.ping`, :meth:`~RawPeer.subscribe` and :meth:`~RawPeer.recv_event`.
  Under CURVE every frame is boxed and unboxed by the mechanism.

:class:`Misbehaviour` switches make the protocol level break rules on its own (a
misspelt Socket-Type, one-octet sizes for long bodies, PONG without the context,
...): that is how the deliberately broken peers of zmtp's own conformance tests are
built. :class:`RawListener` accepts connections as RawPeers, for scripted servers.

Every wait has a deadline (``timeout`` seconds, 2 by default): a peer that stays
silent raises :class:`Silence`, one that hangs up raises :class:`PeerClosed`; both
carry the octets that did arrive.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError, ZMTPValueError
from zmtp.wire.commands import Metadata
from zmtp.wire.frames import COMMAND, LONG, MORE
from zmtp.wire.mechanisms import AuthDecision, Mechanism, NullMechanism

__all__ = [
    "Command",
    "Misbehaviour",
    "PeerClosed",
    "RawFrame",
    "RawGreeting",
    "RawListener",
    "RawPeer",
    "Silence",
    "encode_properties",
    "greeting_bytes",
    "parse_endpoint",
    "zmtp20_greeting_bytes",
]

_long_size = struct.Struct(">Q")
#: The types that announce an Identity property (as libzmq does).
_SENDS_IDENTITY = frozenset({SocketType.REQ, SocketType.DEALER, SocketType.ROUTER})


class PeerClosed(ConnectionError):
    """The peer ended the connection (``how`` is ``"closed"`` for an orderly FIN or
    ``"reset"``); ``received`` holds the octets that arrived before, unparsed."""

    def __init__(self, how: str, received: bytes = b"") -> None:
        self.how = how
        self.received = received
        super().__init__(f"the peer {how} the connection")


class Silence(TimeoutError):
    """Nothing (or not enough) arrived before the deadline; ``received`` holds the
    octets that did arrive, unparsed."""

    def __init__(self, what: str, received: bytes = b"") -> None:
        self.received = received
        super().__init__(f"no {what} before the deadline")


# ---------------------------------------------------------------------------------------
# Endpoints


def parse_endpoint(endpoint: str) -> tuple[int, str | tuple[str, int]]:
    """``(address family, address)`` of a ``tcp://host:port`` or ``ipc://path`` endpoint.

    ``tcp://[::1]:5555`` is IPv6; ``*`` as the host means every interface and ``*``
    (or 0) as the port a free port, for listeners.
    """
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        raise ZMTPValueError(f"endpoint {endpoint!r} has no scheme (tcp://host:port or ipc://path)")
    if scheme == "ipc":
        if not rest:
            raise ZMTPValueError(f"endpoint {endpoint!r} names no path")
        if not hasattr(socket, "AF_UNIX"):
            raise ZMTPValueError("ipc:// endpoints need Unix domain sockets")
        return socket.AF_UNIX, rest
    if scheme != "tcp":
        raise ZMTPValueError(f"endpoint {endpoint!r}: only tcp:// and ipc:// are supported")
    host, colon, port_text = rest.rpartition(":")
    if not colon or not host:
        raise ZMTPValueError(f"endpoint {endpoint!r} needs host:port")
    if port_text == "*":
        port = 0
    else:
        try:
            port = int(port_text)
        except ValueError:
            raise ZMTPValueError(
                f"endpoint {endpoint!r}: port {port_text!r} is not a number"
            ) from None
        if not 0 <= port <= 65535:
            raise ZMTPValueError(f"endpoint {endpoint!r}: port {port} is out of range")
    family = socket.AF_INET
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        family = socket.AF_INET6
    elif host == "*":
        host = "0.0.0.0"
    elif ":" in host:
        family = socket.AF_INET6
    return family, (host, port)


def _endpoint_of(sock: socket.socket) -> str:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return f"ipc://{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"tcp://{host}:{port}"


# ---------------------------------------------------------------------------------------
# What arrives, as it arrived


@dataclasses.dataclass(frozen=True)
class RawGreeting:
    """The 64 octets of a peer's greeting, with its fields (RFC 23 "The Greeting")
    read as they are, valid or not."""

    raw: bytes

    @property
    def signature_ok(self) -> bool:
        """Octet 0 is 0xFF and octet 9 is 0x7F."""
        return self.raw[0] == 0xFF and self.raw[9] == 0x7F

    @property
    def padding(self) -> bytes:
        return self.raw[1:9]

    @property
    def version(self) -> tuple[int, int]:
        return (self.raw[10], self.raw[11])

    @property
    def mechanism_field(self) -> bytes:
        """The 20-octet mechanism field, padding included."""
        return self.raw[12:32]

    @property
    def mechanism(self) -> bytes:
        """The mechanism name with its null padding stripped."""
        return self.raw[12:32].rstrip(b"\x00")

    @property
    def as_server(self) -> int:
        return self.raw[32]

    @property
    def filler(self) -> bytes:
        return self.raw[33:64]


@dataclasses.dataclass(frozen=True)
class RawFrame:
    """One frame as it came off the wire (RFC 23 "Framing"): the header octets as sent
    and the body. Under CURVE, :meth:`RawPeer.recv_frame` returns the unboxed frame and
    ``header`` is that of the MESSAGE frame that carried it."""

    flags: int
    body: bytes
    header: bytes

    @property
    def more(self) -> bool:
        return bool(self.flags & MORE)

    @property
    def long(self) -> bool:
        return bool(self.flags & LONG)

    @property
    def command(self) -> bool:
        return bool(self.flags & COMMAND)

    @property
    def reserved_bits(self) -> int:
        return self.flags & 0xF8

    def hex(self, limit: int = 24) -> str:
        """The header and the start of the body in hex, for reports."""
        body = self.body[:limit].hex(" ")
        more = f" ... ({len(self.body)} octets)" if len(self.body) > limit else ""
        return f"{self.header.hex(' ')} | {body}{more}".rstrip(" |")


@dataclasses.dataclass(frozen=True)
class Command:
    """A command frame split into name and data (RFC 23 "Commands").

    ``quirk`` names a known departure in how the name was written, such as libzmq
    4.3's ERROR command from its PLAIN/CURVE servers, whose name-size octet is 0x5E.
    """

    name: bytes
    data: bytes
    frame: RawFrame
    quirk: str = ""


def split_command(body: bytes) -> tuple[bytes, bytes, str] | None:
    """``(name, data, quirk)`` of a command body, or None when it is malformed."""
    if not body:
        return None
    n = body[0]
    if n == 0x5E and body[1:5] == b"RROR":
        return (
            b"ERROR",
            body[5:],
            "the name size is 0x5E followed by 'RROR' (libzmq 4.3 writes the ERROR of "
            'its PLAIN and CURVE servers from the C literal "\\x05ERROR")',
        )
    if n == 0 or len(body) < 1 + n:
        return None
    return body[1 : 1 + n], body[1 + n :], ""


# ---------------------------------------------------------------------------------------
# What we send


def greeting_bytes(
    version: tuple[int, int] = (3, 1),
    mechanism: bytes = b"NULL",
    as_server: bool | int = False,
    *,
    padding: bytes = bytes(8),
    filler: bytes = bytes(31),
) -> bytes:
    """A 64-octet greeting with any field values, valid or not (RFC 23 "The Greeting")."""
    major, minor = version
    if len(padding) != 8 or len(filler) != 31 or len(mechanism) > 20:
        raise ZMTPValueError("padding is 8 octets, filler 31, the mechanism at most 20")
    return b"".join(
        (
            b"\xff",
            padding,
            b"\x7f",
            bytes((major, minor)),
            mechanism.ljust(20, b"\x00"),
            bytes((int(as_server),)),
            filler,
        )
    )


def zmtp20_greeting_bytes(socket_type: SocketType | str, identity: bytes = b"") -> bytes:
    """What a ZMTP 2.0 peer (RFC 15) sends first: the signature, revision 0x01, its
    socket type octet, then its identity as a short final frame."""
    st = SocketType.coerce(socket_type)
    return b"\xff" + bytes(8) + b"\x7f" + bytes((1, int(st), 0, len(identity))) + identity


def encode_properties(props: Iterable[tuple[str | bytes, bytes]]) -> bytes:
    """Metadata properties as given, names unchecked (RFC 23 "The NULL Security
    Mechanism" layout: name size, name, 4-octet value size, value)."""
    out = []
    for name, value in props:
        raw = name.encode("ascii") if isinstance(name, str) else bytes(name)
        out.append(bytes((len(raw) & 0xFF,)) + raw + struct.pack(">I", len(value)) + bytes(value))
    return b"".join(out)


@dataclasses.dataclass
class Misbehaviour:
    """Rules a :class:`RawPeer` breaks on its own when asked to (all off by default).

    Attributes:
        socket_type: the value sent as our Socket-Type (``None``: the real name).
        socket_type_name: how the property name is spelt.
        send_socket_type: False leaves the Socket-Type property out of READY.
        identity: an Identity property value to send whatever our type.
        size_octets: ``"auto"`` (one octet up to 255, else eight), ``"short"`` (always
            one octet: a longer body gets its size modulo 256, a lie), ``"long"``
            (always eight octets).
        reserved_flags: OR-ed into the flags of every frame we send.
        answer_ping: False never answers a PING.
        pong_context: False answers PING with a PONG that drops the context.
        version: the version our greeting announces (``None``: what the caller asks).
    """

    socket_type: bytes | None = None
    socket_type_name: str = "Socket-Type"
    send_socket_type: bool = True
    identity: bytes | None = None
    size_octets: str = "auto"
    reserved_flags: int = 0
    answer_ping: bool = True
    pong_context: bool = True
    version: tuple[int, int] | None = None


# ---------------------------------------------------------------------------------------
# The peer


class RawPeer:
    """One ZMTP connection under script control (see the module docstring).

    Parameters:
        sock: a connected stream socket; the RawPeer owns it from now on.
        timeout: default seconds any single wait may take.
        misbehaviour: rules to break (see :class:`Misbehaviour`).
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        timeout: float = 2.0,
        misbehaviour: Misbehaviour | None = None,
    ) -> None:
        sock.setblocking(True)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.timeout = timeout
        self.misbehaviour = misbehaviour or Misbehaviour()
        self._buf = bytearray()
        self._eof: str | None = None
        #: The peer's greeting, once read.
        self.peer_greeting: RawGreeting | None = None
        #: The version our greeting announced, once sent.
        self.local_version: tuple[int, int] | None = None
        #: The peer's metadata (READY, or the mechanism's), once the handshake is done.
        self.peer_metadata: Metadata | None = None
        #: Every frame the peer sent during the handshake, as it arrived.
        self.handshake_frames: list[RawFrame] = []
        #: The mechanism of the handshake; under CURVE it boxes all later traffic.
        self.mechanism: Mechanism | None = None
        #: PINGs answered automatically by recv_event, and PONGs seen.
        self.pings_answered = 0
        self._partial: list[bytes] = []
        self._partial_headers: list[bytes] = []
        #: The frame headers of the last message :meth:`recv_event` returned (under
        #: CURVE, those of the MESSAGE frames that carried them) and the frames' flags.
        self.last_headers: list[bytes] = []
        self.last_flags: list[int] = []
        self._partial_flags: list[int] = []
        #: Octets :meth:`wait_closed` read before the peer closed.
        self.trailing = b""
        #: Free for the owner's bookkeeping (the conformance probe marks connections
        #: it may hand to the next check).
        self.reusable = False
        #: A message the owner has read but not dealt with yet (the conformance probe
        #: keeps a REQ peer's unanswered request here).
        self.held: list[bytes] | None = None

    # -- making connections ----------------------------------------------------------

    @classmethod
    def connect(
        cls,
        endpoint: str,
        *,
        timeout: float = 2.0,
        misbehaviour: Misbehaviour | None = None,
    ) -> RawPeer:
        """Connect to ``endpoint`` (``tcp://host:port`` or ``ipc://path``).

        Raises ``OSError`` (e.g. ``ConnectionRefusedError``) when nobody listens."""
        family, address = parse_endpoint(endpoint)
        if family != getattr(socket, "AF_UNIX", None):
            assert isinstance(address, tuple)
            sock = socket.create_connection(address, timeout=timeout)
        else:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
            except OSError:
                sock.close()
                raise
        return cls(sock, timeout=timeout, misbehaviour=misbehaviour)

    # -- octets ------------------------------------------------------------------------

    def send_raw(self, data: bytes, *, octet_by_octet: bool = False, pause: float = 0.0) -> None:
        """Write ``data`` as is; ``octet_by_octet`` writes one octet per system call,
        ``pause`` seconds apart (TCP_NODELAY is on, so each tends to travel alone)."""
        try:
            if not octet_by_octet:
                self.sock.settimeout(self.timeout)
                self.sock.sendall(data)
                return
            for i in range(len(data)):
                self.sock.settimeout(self.timeout)
                self.sock.sendall(data[i : i + 1])
                if pause:
                    time.sleep(pause)  # pacing: the point is to arrive slowly
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise PeerClosed(
                "reset" if isinstance(exc, ConnectionResetError) else "closed"
            ) from None
        except TimeoutError:
            raise Silence("room in the peer's receive window") from None

    def _fill(self, deadline: float, what: str) -> None:
        """Receive at least one more octet, or raise."""
        if self._eof is not None:
            raise PeerClosed(self._eof, bytes(self._buf))
        left = deadline - time.monotonic()
        if left <= 0:
            raise Silence(what, bytes(self._buf))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise Silence(what, bytes(self._buf)) from None
        except (ConnectionResetError, ConnectionAbortedError):
            self._eof = "reset"
            raise PeerClosed("reset", bytes(self._buf)) from None
        if not data:
            self._eof = "closed"
            raise PeerClosed("closed", bytes(self._buf))
        self._buf += data

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def recv_exactly(self, n: int, timeout: float | None = None, *, what: str = "") -> bytes:
        """The next ``n`` octets the peer sends."""
        deadline = self._deadline(timeout)
        while len(self._buf) < n:
            self._fill(deadline, what or f"{n} octets")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def recv_available(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` seconds (possibly nothing); stops early
        when the peer closes. Never raises for silence or a close."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline, "octets")
            except (Silence, PeerClosed):
                break
        out = bytes(self._buf)
        self._buf.clear()
        return out

    @property
    def closed_by_peer(self) -> str | None:
        """``"closed"`` or ``"reset"`` once the peer was seen ending the connection."""
        return self._eof

    def wait_closed(self, timeout: float | None = None, keep: int = 4096) -> bool:
        """Read, discarding, until the peer ends the connection (True) or the deadline
        passes (False). The first ``keep`` octets read meanwhile go to ``trailing``."""
        deadline = self._deadline(timeout)
        self.trailing = bytes(self._buf[:keep])
        self._buf.clear()
        while True:
            try:
                self._fill(deadline, "close")
            except PeerClosed:
                return True
            except Silence:
                return False
            finally:
                if len(self.trailing) < keep:
                    self.trailing += bytes(self._buf[: keep - len(self.trailing)])
                self._buf.clear()

    def close(self) -> None:
        """Close our side (an orderly FIN)."""
        try:
            self.sock.close()
        except OSError:  # pragma: no cover - closing never matters
            pass

    def abort(self) -> None:
        """Reset the connection (SO_LINGER 0): the peer sees an RST, not a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - ipc has no linger to set
            pass
        self.close()

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- greeting ---------------------------------------------------------------------

    def send_greeting(
        self,
        version: tuple[int, int] = (3, 1),
        mechanism: bytes = b"NULL",
        as_server: bool = False,
        *,
        octet_by_octet: bool = False,
        pause: float = 0.0,
    ) -> None:
        """Send a whole greeting (RFC 23), announcing ``version`` unless the
        misbehaviour says otherwise."""
        version = self.misbehaviour.version or version
        self.local_version = version
        self.send_raw(
            greeting_bytes(version, mechanism, as_server),
            octet_by_octet=octet_by_octet,
            pause=pause,
        )

    def recv_greeting(self, timeout: float | None = None) -> RawGreeting:
        """The peer's 64-octet greeting. A first octet other than 0xFF is not waited
        upon: :class:`Silence` or :class:`PeerClosed` carry what did arrive."""
        deadline = self._deadline(timeout)
        while len(self._buf) < 64:
            if self._buf and self._buf[0] != 0xFF:
                raise ProtocolError(
                    f"greeting starts with 0x{self._buf[0]:02X}, not 0xFF",
                    rfc=23,
                    section="The Greeting",
                )
            self._fill(deadline, "greeting")
        greeting = RawGreeting(self.recv_exactly(64))
        self.peer_greeting = greeting
        return greeting

    @property
    def version(self) -> tuple[int, int]:
        """The version this connection speaks: the lower of both greetings (RFC 37)."""
        ours = self.local_version or (3, 1)
        if self.peer_greeting is None:
            return ours
        return min(ours, self.peer_greeting.version)

    # -- frames -----------------------------------------------------------------------

    def frame_bytes(self, body: bytes, flags: int = 0) -> bytes:
        """One frame as our misbehaviour writes it (header, then body)."""
        mode = self.misbehaviour.size_octets
        flags |= self.misbehaviour.reserved_flags
        size = len(body)
        if mode == "long" or (mode == "auto" and size > 255):
            return bytes((flags | LONG,)) + _long_size.pack(size) + body
        return bytes((flags & ~LONG, size & 0xFF)) + body

    def send_frame(self, body: bytes, *, more: bool = False, command: bool = False) -> None:
        """One frame, unboxed whatever the mechanism (for handshake commands and raw
        tests); see :meth:`send_message` for traffic."""
        self.send_raw(self.frame_bytes(body, (MORE if more else 0) | (COMMAND if command else 0)))

    def _boxed(self) -> bool:
        mech = self.mechanism
        return mech is not None and mech.transforms_traffic and mech.complete

    def message_bytes(self, frames: Sequence[bytes]) -> bytes:
        """The wire form of a message (boxed under CURVE)."""
        if not frames:
            raise ZMTPValueError("a message has at least one frame (RFC 23 Framing)")
        last = len(frames) - 1
        if self._boxed():
            assert self.mechanism is not None
            return b"".join(
                self.mechanism.encode_frame(MORE if i < last else 0, bytes(f))
                for i, f in enumerate(frames)
            )
        return b"".join(
            self.frame_bytes(bytes(f), MORE if i < last else 0) for i, f in enumerate(frames)
        )

    def send_message(self, frames: Sequence[bytes]) -> None:
        """A message: MORE on every frame but the last."""
        self.send_raw(self.message_bytes(frames))

    def command_bytes(self, name: bytes, data: bytes = b"") -> bytes:
        body = bytes((len(name),)) + name + data
        if self._boxed():
            assert self.mechanism is not None
            return self.mechanism.encode_frame(COMMAND, body)
        return self.frame_bytes(body, COMMAND)

    def send_command(self, name: bytes, data: bytes = b"") -> None:
        """A command frame ``name`` + ``data`` (boxed under CURVE after the handshake)."""
        self.send_raw(self.command_bytes(name, data))

    def ping(self, ttl: int = 0, context: bytes = b"") -> None:
        """A PING (RFC 37 "Connection Heartbeating"); ``ttl`` in tenths of a second."""
        self.send_command(b"PING", ttl.to_bytes(2, "big") + context)

    def subscribe(self, topic: bytes, *, form: str = "auto") -> None:
        """Subscribe: a SUBSCRIBE command on ZMTP 3.1, a message ``0x01 + topic`` on 3.0
        (``form`` ``"command"`` or ``"message"`` forces one)."""
        if form == "command" or (form == "auto" and self.version >= (3, 1)):
            self.send_command(b"SUBSCRIBE", topic)
        else:
            self.send_message([b"\x01" + topic])

    def cancel(self, topic: bytes, *, form: str = "auto") -> None:
        """Cancel one subscription (CANCEL on 3.1, ``0x00 + topic`` on 3.0)."""
        if form == "command" or (form == "auto" and self.version >= (3, 1)):
            self.send_command(b"CANCEL", topic)
        else:
            self.send_message([b"\x00" + topic])

    def recv_wire_frame(self, timeout: float | None = None, *, max_size: int = 1 << 26) -> RawFrame:
        """The next frame exactly as it is on the wire (never unboxed).

        A size above ``max_size`` is not read: :class:`ProtocolError` says so."""
        deadline = self._deadline(timeout)
        while len(self._buf) < 2:
            self._fill(deadline, "frame")
        flags = self._buf[0]
        if flags & LONG:
            while len(self._buf) < 9:
                self._fill(deadline, "frame size")
            header = bytes(self._buf[:9])
            (size,) = _long_size.unpack_from(header, 1)
        else:
            header = bytes(self._buf[:2])
            size = header[1]
        if size > max_size:
            raise ProtocolError(
                f"frame announces {size} octets (header {header.hex(' ')}), more than the "
                f"{max_size} this reader accepts",
                rfc=23,
                section="Framing",
            )
        need = len(header) + size
        while len(self._buf) < need:
            self._fill(deadline, f"frame body of {size} octets")
        body = bytes(self._buf[len(header) : need])
        del self._buf[:need]
        return RawFrame(flags, body, header)

    def recv_frame(self, timeout: float | None = None) -> RawFrame:
        """The next frame, unboxed under CURVE (``flags`` are then the boxed ones)."""
        frame = self.recv_wire_frame(timeout)
        if not self._boxed():
            return frame
        assert self.mechanism is not None
        flags, body = self.mechanism.decode_frame(frame.body)
        return RawFrame(flags, body, frame.header)

    # -- events -------------------------------------------------------------------------

    def recv_event(
        self, timeout: float | None = None, *, answer_ping: bool = True
    ) -> list[bytes] | Command:
        """The next whole message (the list of its frames) or command.

        A command arriving between the frames of a message is returned first; the
        message keeps assembling. A PING is answered with a PONG (as the misbehaviour
        allows) and returned too. A malformed command raises :class:`ProtocolError`.
        """
        deadline = self._deadline(timeout)
        while True:
            frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if frame.command:
                parts = split_command(frame.body)
                if parts is None:
                    raise ProtocolError(
                        f"malformed command frame {frame.hex()}", rfc=23, section="Commands"
                    )
                name, data, quirk = parts
                if name == b"PING" and answer_ping and self.misbehaviour.answer_ping:
                    context = data[2:] if self.misbehaviour.pong_context else b""
                    self.send_command(b"PONG", context)
                    self.pings_answered += 1
                return Command(name, data, frame, quirk)
            self._partial.append(frame.body)
            self._partial_headers.append(frame.header)
            self._partial_flags.append(frame.flags)
            if not frame.more:
                message = self._partial
                self._partial = []
                self.last_headers, self._partial_headers = self._partial_headers, []
                self.last_flags, self._partial_flags = self._partial_flags, []
                return message

    @property
    def has_partial_message(self) -> bool:
        """Some frames of a message arrived, not its last one."""
        return bool(self._partial)

    def recv_message(self, timeout: float | None = None) -> list[bytes]:
        """The next whole message, answering PINGs and skipping other commands."""
        deadline = self._deadline(timeout)
        while True:
            ev = self.recv_event(max(0.0, deadline - time.monotonic()))
            if isinstance(ev, list):
                return ev

    def recv_command(self, name: bytes | None = None, timeout: float | None = None) -> Command:
        """The next command (named ``name``, if given), skipping messages and others."""
        deadline = self._deadline(timeout)
        what = f"{name.decode()} command" if name else "command"
        while True:
            try:
                ev = self.recv_event(max(0.0, deadline - time.monotonic()))
            except Silence as exc:
                raise Silence(what, exc.received) from None
            if isinstance(ev, Command) and (name is None or ev.name == name):
                return ev

    def collect(self, duration: float) -> list[list[bytes] | Command]:
        """Every event within ``duration`` seconds (stops early if the peer closes)."""
        deadline = time.monotonic() + duration
        out: list[list[bytes] | Command] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                out.append(self.recv_event(left))
            except (Silence, PeerClosed):
                return out

    # -- handshake ------------------------------------------------------------------------

    def ready_properties(
        self,
        socket_type: SocketType | str,
        routing_id: bytes = b"",
        properties: Mapping[str, bytes] | None = None,
    ) -> list[tuple[str | bytes, bytes]]:
        """The metadata we announce, misbehaviour applied."""
        st = SocketType.coerce(socket_type)
        bad = self.misbehaviour
        props: list[tuple[str | bytes, bytes]] = []
        if bad.send_socket_type:
            props.append((bad.socket_type_name, bad.socket_type or st.wire_name))
        if bad.identity is not None:
            props.append(("Identity", bad.identity))
        elif st in _SENDS_IDENTITY:
            props.append(("Identity", routing_id))
        props.extend((properties or {}).items())
        return props

    def handshake(
        self,
        socket_type: SocketType | str,
        *,
        mechanism: Mechanism | None = None,
        version: tuple[int, int] = (3, 1),
        routing_id: bytes = b"",
        properties: Mapping[str, bytes] | None = None,
        octet_by_octet: bool = False,
        authenticator: Callable[[object], AuthDecision | bool] | None = None,
        timeout: float | None = None,
        send_greeting: bool = True,
    ) -> Metadata:
        """Greeting and security handshake as ``socket_type``; returns the peer's
        metadata (also in :attr:`peer_metadata`).

        ``mechanism`` defaults to NULL; pass a :class:`~zmtp.wire.PlainClient`,
        :class:`~zmtp.wire.CurveClient` (or their server sides, with
        ``authenticator`` deciding on the client). The peer's metadata is not judged:
        inspect it. Raises :class:`~zmtp.errors.HandshakeError` (its
        :class:`~zmtp.errors.PeerError` when the peer sent ERROR),
        :class:`PeerClosed` or :class:`Silence`.
        """
        mech = mechanism or NullMechanism()
        self.mechanism = mech
        deadline = self._deadline(timeout)
        if send_greeting:
            self.send_greeting(
                version, mech.name, mech.greeting_as_server, octet_by_octet=octet_by_octet
            )
        if self.peer_greeting is None:
            self.recv_greeting(max(0.0, deadline - time.monotonic()))
        props = self.ready_properties(socket_type, routing_id, properties)
        mech.bind(encode_properties(props), lambda meta: None)
        for out in mech.start():
            self.send_raw(self._rewrite_command(out))
        while not mech.complete:
            if mech.auth_request is not None:
                decision = authenticator(mech.auth_request) if authenticator else True
                if not isinstance(decision, AuthDecision):
                    decision = AuthDecision(bool(decision))
                for out in mech.resolve_auth(decision):
                    self.send_raw(self._rewrite_command(out))
                continue
            frame = self.recv_wire_frame(max(0.0, deadline - time.monotonic()))
            self.handshake_frames.append(frame)
            if not frame.command:
                raise ProtocolError(
                    f"peer sent a message frame during the handshake: {frame.hex()}",
                    rfc=23,
                    section="Overall Behavior",
                )
            parts = split_command(frame.body)
            if parts is None:
                raise ProtocolError(
                    f"malformed command during the handshake: {frame.hex()}",
                    rfc=23,
                    section="Commands",
                )
            for out in mech.on_command(parts[0], parts[1]):
                self.send_raw(self._rewrite_command(out))
        self.peer_metadata = mech.peer_metadata or Metadata()
        return self.peer_metadata

    def _rewrite_command(self, frame: bytes) -> bytes:
        """A handshake command frame from a mechanism, re-encoded as our misbehaviour
        writes frames."""
        bad = self.misbehaviour
        if bad.size_octets == "auto" and not bad.reserved_flags:
            return frame
        body = frame[9:] if frame[0] & LONG else frame[2:]
        return self.frame_bytes(body, COMMAND)


class RawListener:
    """A listening socket whose connections become :class:`RawPeer` objects.

    ``endpoint`` is where it really listens (the port filled in for ``tcp://...:*``).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 2.0,
        misbehaviour: Misbehaviour | None = None,
        backlog: int = 64,
    ) -> None:
        family, address = parse_endpoint(endpoint)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self._path: str | None = None
        try:
            if family == getattr(socket, "AF_UNIX", None):
                assert isinstance(address, str)
                if os.path.exists(address):
                    os.unlink(address)
                self._path = address
            else:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(address)
            self.sock.listen(backlog)
        except OSError:
            self.sock.close()
            raise
        self.timeout = timeout
        self.misbehaviour = misbehaviour
        self.endpoint = _endpoint_of(self.sock)

    def accept(self, timeout: float | None = None) -> RawPeer:
        """The next connection; :class:`Silence` if none comes in time."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            raise Silence("connection") from None
        return RawPeer(
            conn,
            timeout=self.timeout,
            misbehaviour=dataclasses.replace(self.misbehaviour) if self.misbehaviour else None,
        )

    def close(self) -> None:
        self.sock.close()
        if self._path is not None:
            try:
                os.unlink(self._path)
            except OSError:
                pass

    def __enter__(self) -> RawListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
