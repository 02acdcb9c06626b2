"""Hypothesis strategies for ZMTP: valid traffic, and corrupted variants of it.

These are the strategies zmtp's own fuzzers use, public and stable, for anyone who
tests a ZMTP implementation (or a part of one: a frame decoder, a greeting parser, a
metadata reader). They need hypothesis (``pip install zmtp[testing]``).

What there is:

* **octets and bodies**: :func:`pattern_bytes` (cheap, reproducible pseudo-random
  bodies that print as the call that made them), :data:`bodies` sized on the codec's
  boundaries (0, 1, 255/256, 64 KiB), :func:`messages` (multipart messages);
* **frames**: :func:`frame_streams` (messages with commands between and inside them,
  as one byte stream, with what a correct decoder must return), :func:`frame_soup`
  (plausible, wrong and truncated headers);
* **greetings**: :func:`greetings` (valid, any version from 3.0 up, any mechanism and
  padding) and :func:`corrupt_greetings` (exactly one rule of RFC 23 broken, named);
* **commands and metadata**: :func:`metadata`, :func:`metadata_bytes`,
  :func:`corrupt_metadata`, :func:`commands` (READY, PING, PONG, SUBSCRIBE, CANCEL,
  ERROR and unknown ones, as frames);
* **whole conversations**: :func:`pair_configs` and :class:`ConnectionPair` (two
  :class:`~zmtp.wire.Connection` objects handshaking with bytes alone, NULL or PLAIN,
  ZMTP 3.0 or 3.1 on either side), :func:`handshakes` (the byte stream one side
  sends to complete a valid handshake), :func:`actions` with :func:`perform` and
  :func:`expected_event` (traffic after the handshake and what a receiver must
  report);
* **delivery**: :func:`split_points`, :func:`cut` and :func:`chunked` (a stream cut
  anywhere, down to one octet at a time);
* **corruption**: :func:`mutations` and :func:`mutate` (octets flipped, inserted,
  deleted), :func:`corrupt_greetings`, :func:`corrupt_metadata`, :func:`frame_soup`.

Large bodies are rare on purpose and cheap to draw (a seed expands into the octets),
so the default hypothesis settings stay fast.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import struct
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.testing.peer import encode_properties
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Cancel,
    Connection,
    ConnectionState,
    Event,
    Mechanism,
    Message,
    NullMechanism,
    Ping,
    PlainClient,
    PlainServer,
    Subscribe,
    UnknownCommand,
)
from zmtp.wire.frames import (
    COMMAND,
    LARGE_BODY,
    LONG,
    MORE,
    CommandFrame,
    encode_command_frame,
    encode_frame,
)

__all__ = [
    "BOUNDARY_SIZES",
    "COMPATIBLE_PAIRS",
    "LARGE_SIZES",
    "Action",
    "Blob",
    "ConnectionPair",
    "CorruptGreeting",
    "Handshake",
    "PairConfig",
    "Stream",
    "actions",
    "bodies",
    "chunked",
    "command_bodies",
    "commands",
    "corrupt_greetings",
    "corrupt_metadata",
    "cut",
    "drain_events",
    "draw_chunks",
    "expected_event",
    "frame_soup",
    "frame_streams",
    "greetings",
    "handshakes",
    "large_bodies",
    "messages",
    "metadata",
    "metadata_bytes",
    "mutate",
    "mutations",
    "pair_configs",
    "pattern_bytes",
    "perform",
    "ping_contexts",
    "small_bodies",
    "split_points",
    "topics",
    "unknown_command_names",
]

T = SocketType

# ---------------------------------------------------------------------------------------
# Bodies


class Blob(bytes):
    """Bytes made by :func:`pattern_bytes`, whose repr is the call that remakes them, so
    a falsifying example with a 64 KiB body prints as one short line."""

    call = ""

    def __repr__(self) -> str:
        return self.call


def pattern_bytes(size: int, seed: int) -> bytes:
    """``size`` pseudo-random octets determined by ``seed`` (cheap for hypothesis)."""
    raw = random.Random(seed).randbytes(size)
    if size <= 16:
        return raw
    blob = Blob(raw)
    blob.call = f"pattern_bytes({size}, {seed})"
    return blob


_seeds = st.integers(0, 2**32 - 1)

#: Sizes on the short/long boundary of RFC 23 framing and a few neighbours.
BOUNDARY_SIZES = (0, 1, 2, 254, 255, 256, 257, 511)
#: Sizes that take the decoder's large-body path (and its neighbour below).
LARGE_SIZES = (LARGE_BODY - 1, LARGE_BODY, LARGE_BODY + 1, LARGE_BODY + 257)

small_bodies = st.one_of(
    st.binary(max_size=12),
    st.builds(pattern_bytes, st.sampled_from(BOUNDARY_SIZES), _seeds),
    st.builds(pattern_bytes, st.integers(0, 600), _seeds),
)
large_bodies = st.builds(pattern_bytes, st.sampled_from(LARGE_SIZES), _seeds)
#: Mostly small bodies, about one in twelve large (shrinking goes towards small).
bodies = st.sampled_from(range(12)).flatmap(lambda k: large_bodies if k == 11 else small_bodies)


@st.composite
def messages(draw: st.DrawFn, *, max_messages: int = 6, max_frames: int = 5) -> list[list[bytes]]:
    """A list of multipart messages; in about a quarter of draws one frame is large."""
    msgs = draw(
        st.lists(
            st.lists(small_bodies, min_size=1, max_size=max_frames),
            min_size=1,
            max_size=max_messages,
        )
    )
    if draw(st.sampled_from((True, False, False, False))):
        i = draw(st.integers(0, len(msgs) - 1))
        j = draw(st.integers(0, len(msgs[i])))
        msgs[i].insert(j, draw(large_bodies))
    return msgs


# ---------------------------------------------------------------------------------------
# Wire pieces for the frame codec: messages with commands between (or inside) them


class Stream:
    """A byte stream of frames and the items a correct decoder must return for it."""

    def __init__(self, data: bytes, expected: list[list[bytes] | CommandFrame]):
        self.data = data
        self.expected = expected

    def __repr__(self) -> str:
        # The items say everything about the stream and stay short (see Blob).
        return f"Stream(expected={self.expected!r})"


command_bodies = st.one_of(
    st.binary(max_size=40),
    st.builds(pattern_bytes, st.sampled_from(BOUNDARY_SIZES), _seeds),
)


@st.composite
def frame_streams(draw: st.DrawFn) -> Stream:
    """Messages, with command frames drawn between any two frames, even mid-message.

    The decoder returns a command as soon as it is complete and a message when its last
    frame is, so a command inside a message comes out before that message.
    """
    msgs = draw(messages())
    pieces: list[bytes] = []
    expected: list[list[bytes] | CommandFrame] = []

    def maybe_commands() -> None:
        for body in draw(st.lists(command_bodies, max_size=2)):
            pieces.append(encode_frame(body, command=True))
            expected.append(CommandFrame(body))

    for frames in msgs:
        last = len(frames) - 1
        for i, body in enumerate(frames):
            maybe_commands()
            pieces.append(encode_frame(body, more=i < last))
        expected.append(frames)
    maybe_commands()
    return Stream(b"".join(pieces), expected)


@st.composite
def frame_soup(draw: st.DrawFn, limit: int) -> bytes:
    """Frames with plausible, wrong or truncated headers: deeper than random octets."""
    out = bytearray()
    for _ in range(draw(st.integers(1, 6))):
        flags = draw(
            st.one_of(
                st.sampled_from((0, MORE, COMMAND, LONG, LONG | MORE, LONG | COMMAND)),
                st.sampled_from((MORE, COMMAND)),
                st.integers(0, 255),
            )
        )
        size = draw(
            st.one_of(
                st.integers(0, 255),
                st.integers(max(0, limit - 12), limit + 12),
                st.integers(0, 2**64 - 1),
            )
        )
        if flags & LONG:
            out += bytes((flags,)) + size.to_bytes(8, "big")
        else:
            out += bytes((flags, size & 0xFF))
            size &= 0xFF
        # The body: whole (as far as a test can afford) or cut short.
        room = min(size, limit + 16, 600)
        out += bytes(draw(st.one_of(st.just(room), st.integers(0, room))))
    return bytes(out)


# ---------------------------------------------------------------------------------------
# Chunking


@st.composite
def split_points(draw: st.DrawFn, length: int, *, max_splits: int = 24) -> list[int]:
    """Sorted cut positions inside ``length`` octets; short streams may go octet by octet."""
    if length < 2:
        return []
    if length <= 300 and draw(st.sampled_from((False, False, False, True))):
        return list(range(1, length))
    cuts = draw(st.lists(st.integers(1, length - 1), max_size=max_splits, unique=True))
    return sorted(cuts)


def cut(data: bytes, points: Sequence[int]) -> list[bytes]:
    """``data`` split at ``points`` (sorted positions strictly inside it)."""
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def draw_chunks(data: st.DataObject, stream: bytes) -> list[bytes]:
    """``stream`` cut at drawn points (the points, not the chunks, show in a failure)."""
    return cut(stream, data.draw(split_points(len(stream)), label="cut points"))


# ---------------------------------------------------------------------------------------
# Connections

USER = b"fuzz-user"
PASSWORD = b"fuzz-password"
USER_ID = b"fuzz-user-id"

#: Socket pairs RFC 37's table allows, (ours, peer).
COMPATIBLE_PAIRS = (
    (T.PULL, T.PUSH),
    (T.PUSH, T.PULL),
    (T.DEALER, T.ROUTER),
    (T.ROUTER, T.DEALER),
    (T.REQ, T.REP),
    (T.REP, T.REQ),
    (T.PUB, T.SUB),
    (T.SUB, T.PUB),
    (T.XPUB, T.XSUB),
    (T.XSUB, T.PUB),
    (T.PAIR, T.PAIR),
    (T.CLIENT, T.SERVER),
)
VERSIONS = ((3, 1), (3, 0))
MECHANISMS = ("NULL", "NULL+AUTH", "PLAIN")
#: Socket types that read ZMTP 3.0 subscription messages (connection.py, _PUBLISHERS).
SUBSCRIPTION_READERS = frozenset({T.PUB, T.XPUB})


def accepting_authenticator(request: AuthRequest) -> AuthDecision:
    """Admit the fuzz credentials (and any NULL peer), refuse everything else."""
    if request.mechanism == b"PLAIN" and request.credentials != (USER, PASSWORD):
        return AuthDecision(False, "400", "wrong credentials")
    return AuthDecision(True, user_id=USER_ID, metadata={"X-Fuzz": b"yes"})


def deferring_authenticator(request: AuthRequest) -> None:
    """Answer later, through ``Connection.resolve_auth``."""
    return None


@dataclasses.dataclass(frozen=True)
class PairConfig:
    """How to build two compatible connections; ``ours`` is the one under test."""

    ours: SocketType
    peer: SocketType
    mechanism: str
    ours_is_server: bool
    our_version: tuple[int, int]
    peer_version: tuple[int, int]
    maxmsgsize: int = -1
    deferred_auth: bool = False

    @property
    def version(self) -> tuple[int, int]:
        return min(self.our_version, self.peer_version)

    def _make(self, socket_type: SocketType, server: bool, version: tuple[int, int]) -> Connection:
        authenticator: Callable[[AuthRequest], AuthDecision | bool | None] | None = None
        mech: Mechanism
        if self.mechanism == "PLAIN":
            mech = PlainServer() if server else PlainClient(USER, PASSWORD)
        else:
            mech = NullMechanism(as_server=server, authenticate=self.mechanism == "NULL+AUTH")
        if server:
            authenticator = (
                deferring_authenticator if self.deferred_auth else accepting_authenticator
            )
        return Connection(
            socket_type,
            mechanism=mech,
            routing_id=b"id-" + socket_type.wire_name,
            maxmsgsize=self.maxmsgsize,
            authenticator=authenticator,
            version=version,
        )

    def make_ours(self) -> Connection:
        return self._make(self.ours, self.ours_is_server, self.our_version)

    def make_peer(self) -> Connection:
        return self._make(self.peer, not self.ours_is_server, self.peer_version)


@st.composite
def pair_configs(draw: st.DrawFn, *, deferred_auth: bool = False) -> PairConfig:
    """Compatible pairs; ``deferred_auth`` lets the server's authenticator answer later
    (only where the test resolves it, since a replayed peer stream assumes an answer at
    once)."""
    ours, peer = draw(st.sampled_from(COMPATIBLE_PAIRS))
    return PairConfig(
        ours,
        peer,
        mechanism=draw(st.sampled_from(MECHANISMS)),
        ours_is_server=draw(st.booleans()),
        our_version=draw(st.sampled_from(VERSIONS)),
        peer_version=draw(st.sampled_from(VERSIONS)),
        maxmsgsize=draw(st.sampled_from((-1, 1 << 20))),
        deferred_auth=draw(st.booleans()) if deferred_auth else False,
    )


class ConnectionPair:
    """Two connections wired together in memory; bytes move only when asked.

    ``events[conn]`` collects what each side reported; ``sent[conn]`` every octet it put
    on the wire. A deferred :class:`AuthRequest` is answered (accepted) as soon as it is
    reported. Any exception from ``events()`` propagates: a valid exchange has none.
    """

    def __init__(self, config: PairConfig):
        self.config = config
        self.ours = config.make_ours()
        self.peer = config.make_peer()
        self.events: dict[Connection, list[Event | list[bytes]]] = {self.ours: [], self.peer: []}
        self.sent: dict[Connection, bytearray] = {self.ours: bytearray(), self.peer: bytearray()}

    def other(self, conn: Connection) -> Connection:
        return self.peer if conn is self.ours else self.ours

    def transmit(self, sender: Connection, data: bytes) -> None:
        """Put ``data`` from ``sender`` on the wire and deliver it whole."""
        if not data:
            return
        self.sent[sender] += data
        receiver = self.other(sender)
        receiver.receive_data(data)
        evs = receiver.events()
        self.events[receiver] += evs
        for ev in evs:
            if isinstance(ev, AuthRequest):
                receiver.resolve_auth(AuthDecision(True, user_id=USER_ID))

    def flush(self) -> None:
        """Deliver what the protocol itself wants sent, both ways, until quiet."""
        while True:
            moved = False
            for conn in (self.ours, self.peer):
                out = conn.data_to_send()
                if out:
                    self.transmit(conn, out)
                    moved = True
            if not moved:
                return

    def handshake(self) -> None:
        self.flush()
        assert self.ours.state is ConnectionState.TRAFFIC, self.ours.state
        assert self.peer.state is ConnectionState.TRAFFIC, self.peer.state


# ---------------------------------------------------------------------------------------
# The traffic model

#: A peer action after the handshake: ("msg", frames), ("sub", topic), ("cancel", topic),
#: ("ping", ttl, context) or ("cmd", name, data).
Action = tuple[Any, ...]


topics = st.one_of(st.binary(max_size=8), st.sampled_from((b"", b"\x00", b"\x01", b"topic")))
ping_contexts = st.binary(max_size=16)
#: Command names the connection does not interpret after the handshake.
unknown_command_names = st.sampled_from((b"X-FUZZ", b"READY", b"HELLO", b"RROR", b"p"))


def actions() -> st.SearchStrategy[Action]:
    """What a connection may do after its handshake; bodies mostly small."""
    return st.one_of(
        st.tuples(
            st.just("msg"),
            st.lists(
                st.one_of(bodies, st.sampled_from((b"\x00", b"\x01", b"\x01x"))),
                min_size=1,
                max_size=4,
            ),
        ),
        st.tuples(st.just("sub"), topics),
        st.tuples(st.just("cancel"), topics),
        st.tuples(st.just("cmd"), unknown_command_names, st.binary(max_size=20)),
        st.tuples(st.just("ping"), st.integers(0, 0xFFFF), ping_contexts),
    )


def perform(conn: Connection, action: Action) -> bytes:
    """The bytes ``conn`` puts on the wire for ``action``."""
    kind = action[0]
    if kind == "msg":
        return conn.send_message(action[1])
    if kind == "sub":
        return conn.send_subscribe(action[1])
    if kind == "cancel":
        return conn.send_cancel(action[1])
    if kind == "ping":
        return conn.send_ping(action[1], action[2])
    if kind == "cmd":
        return conn.send_command(action[1], action[2])
    raise AssertionError(f"unknown action {action!r}")


def expected_event(
    action: Action, version: tuple[int, int], receiver: SocketType
) -> Event | list[bytes]:
    """The event ``action`` must produce at a ``receiver`` socket (connection.py's rules).

    ZMTP 3.0 subscriptions travel as messages whose first octet is 1 or 0, and a
    publisher reads any single-frame message so shaped as one.
    """
    kind = action[0]
    if kind == "msg" or (kind in ("sub", "cancel") and version == (3, 0)):
        if kind == "msg":
            frames = list(action[1])
        else:
            frames = [(b"\x01" if kind == "sub" else b"\x00") + action[1]]
        shaped = len(frames) == 1 and frames[0][:1] in (b"\x00", b"\x01")
        if receiver in SUBSCRIPTION_READERS and shaped:
            topic = frames[0][1:]
            return Subscribe(topic) if frames[0][0] == 1 else Cancel(topic)
        return Message(frames)
    if kind == "sub":
        return Subscribe(action[1])
    if kind == "cancel":
        return Cancel(action[1])
    if kind == "ping":
        return Ping(action[1], action[2])
    if kind == "cmd":
        return UnknownCommand(action[1], action[2])
    raise AssertionError(f"unknown action {action!r}")


def drain_events(conn: Connection) -> tuple[list[Event | list[bytes]], ProtocolError | None]:
    """Every event ``conn`` has, then the protocol error it raises, if any.

    Anything other than a :class:`ProtocolError` escaping ``events()`` propagates and
    fails the test.
    """
    out: list[Event | list[bytes]] = []
    while True:
        try:
            evs = conn.events()
        except ProtocolError as exc:
            return out, exc
        if not evs:
            return out, None
        out += evs


def chunked(stream: bytes) -> st.SearchStrategy[list[bytes]]:
    """``stream`` cut into chunks at drawn points (sometimes one octet at a time)."""
    return split_points(len(stream)).map(lambda points: cut(stream, points))


# ---------------------------------------------------------------------------------------
# Greetings (RFC 23 "The Greeting", RFC 37 "Version Negotiation")

MECHANISM_NAMES = (b"NULL", b"PLAIN", b"CURVE")


def _greeting(padding: bytes, version: tuple[int, int], mechanism: bytes, as_server: int) -> bytes:
    return b"".join(
        (
            b"\xff",
            padding,
            b"\x7f",
            bytes(version),
            mechanism.ljust(20, b"\x00"),
            bytes((as_server,)),
            bytes(31),
        )
    )


@st.composite
def greetings(draw: st.DrawFn, *, mechanisms: Sequence[bytes] = MECHANISM_NAMES) -> bytes:
    """A valid 64-octet greeting: any padding (it is not significant, RFC 37), version
    3.0, 3.1 or higher, one of ``mechanisms``, as-server 0 or 1."""
    padding = draw(st.one_of(st.just(bytes(8)), st.binary(min_size=8, max_size=8)))
    major = draw(st.sampled_from((3, 3, 3, 4, 255)))
    minor = draw(st.integers(0, 255))
    mechanism = draw(st.sampled_from(list(mechanisms)))
    return _greeting(padding, (major, minor), mechanism, draw(st.integers(0, 1)))


@dataclasses.dataclass(frozen=True)
class CorruptGreeting:
    """A greeting with one rule broken: ``data`` (possibly shorter than 64 octets, if
    ``rule`` is the truncation), and the rule, in words."""

    data: bytes
    rule: str


#: (A first octet other than 0xFF, or an octet 9 with its low bit clear, is no defect:
#: that is how a ZMTP 1.0 peer starts, RFC 23 "Backwards Interoperability"; version
#: octets 0 and 1 announce ZMTP 1.0 and 2.0.)
_GREETING_DEFECTS = (
    "signature: octet 9 odd but not 0x7F",
    "version: octet 2, which no ZMTP version uses",
    "mechanism: a character outside A-Z 0-9 - _ . +",
    "mechanism: empty",
    "as-server: neither 0 nor 1",
)


@st.composite
def corrupt_greetings(draw: st.DrawFn) -> CorruptGreeting:
    """A greeting that breaks exactly one rule of RFC 23, named in ``rule``."""
    good = bytearray(draw(greetings()))
    rule = draw(st.sampled_from(_GREETING_DEFECTS))
    if rule.startswith("signature: octet 9"):
        good[9] = draw(st.integers(0, 127).map(lambda o: 2 * o + 1).filter(lambda o: o != 0x7F))
    elif rule.startswith("version"):
        good[10] = 2
    elif rule == "mechanism: empty":
        good[12:32] = bytes(20)
    elif rule.startswith("mechanism"):
        at = draw(st.integers(12, 15))
        good[at] = draw(st.sampled_from(b"abz !/@\x01\x7f\xff"))
    else:
        good[32] = draw(st.integers(2, 255))
    return CorruptGreeting(bytes(good), rule)


# ---------------------------------------------------------------------------------------
# Metadata and commands (RFC 23 "The NULL Security Mechanism", RFC 37 "Commands")

_NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+"
property_names = st.one_of(
    st.sampled_from(("Socket-Type", "Identity", "Resource", "X-Conform", "socket-type")),
    st.text(_NAME_ALPHABET, min_size=1, max_size=20),
)


@st.composite
def metadata(draw: st.DrawFn, *, socket_type: SocketType | None = None) -> dict[str, bytes]:
    """Valid properties (names are case-insensitive, so no two differ only in case);
    with ``socket_type``, its Socket-Type comes first."""
    props: dict[str, bytes] = {}
    if socket_type is not None:
        props["Socket-Type"] = socket_type.wire_name
    for name in draw(st.lists(property_names, max_size=5)):
        if name.lower() not in {n.lower() for n in props}:
            props[name] = draw(st.one_of(st.binary(max_size=40), small_bodies))
    return props


def metadata_bytes(*, socket_type: SocketType | None = None) -> st.SearchStrategy[bytes]:
    """:func:`metadata`, encoded as READY carries it."""
    return metadata(socket_type=socket_type).map(lambda m: encode_properties(m.items()))


@st.composite
def corrupt_metadata(draw: st.DrawFn) -> tuple[bytes, str]:
    """Encoded metadata with one defect: ``(octets, the rule broken)``."""
    good = draw(metadata_bytes(socket_type=draw(st.sampled_from(list(SocketType)))))
    kind = draw(
        st.sampled_from(
            ("empty name", "name past the end", "bad name character", "value past the end")
        )
    )
    if kind == "empty name":
        return good + b"\x00\x00\x00\x00\x00", kind
    if kind == "name past the end":
        return good + b"\x10Socket", kind
    if kind == "bad name character":
        return good + b"\x03a b\x00\x00\x00\x00", kind
    size = draw(st.integers(1, 2**31 - 1))
    return good + b"\x01X" + struct.pack(">I", size), kind


def commands() -> st.SearchStrategy[bytes]:
    """Valid command frames: READY with metadata, PING (TTL, context of 0 to 16
    octets), PONG, SUBSCRIBE, CANCEL, ERROR, and commands no RFC defines."""
    return st.one_of(
        metadata_bytes(socket_type=T.DEALER).map(lambda m: encode_command_frame(b"READY", m)),
        st.tuples(st.integers(0, 0xFFFF), ping_contexts).map(
            lambda a: encode_command_frame(b"PING", a[0].to_bytes(2, "big") + a[1])
        ),
        ping_contexts.map(lambda c: encode_command_frame(b"PONG", c)),
        topics.map(lambda t: encode_command_frame(b"SUBSCRIBE", t)),
        topics.map(lambda t: encode_command_frame(b"CANCEL", t)),
        st.text(max_size=30).map(
            lambda r: encode_command_frame(b"ERROR", bytes((len(r.encode()),)) + r.encode())
        ),
        st.tuples(unknown_command_names, st.binary(max_size=20)).map(
            lambda a: encode_command_frame(a[0], a[1])
        ),
    )


# ---------------------------------------------------------------------------------------
# Whole handshakes


@dataclasses.dataclass(frozen=True)
class Handshake:
    """A valid handshake as one side sends it: ``stream`` is every octet ``config``'s
    "ours" side wrote until both sides reached traffic; ``replies`` is what the other
    side wrote back (feed it ``stream`` and it must answer with ``replies``)."""

    config: PairConfig
    stream: bytes
    replies: bytes


@st.composite
def handshakes(draw: st.DrawFn) -> Handshake:
    """A whole valid handshake (greeting, security mechanism, metadata) between two
    compatible socket types, NULL or PLAIN, ZMTP 3.0 or 3.1 on either side."""
    config = draw(pair_configs())
    pair = ConnectionPair(config)
    pair.handshake()
    return Handshake(config, bytes(pair.sent[pair.ours]), bytes(pair.sent[pair.peer]))


# ---------------------------------------------------------------------------------------
# Corruption


@st.composite
def mutations(draw: st.DrawFn, length: int, focus: int | None = None) -> list[tuple[str, int, int]]:
    """Edits of a stream of ``length`` octets: ``(kind, position, octet)`` with kind
    ``"flip"`` (xor the octet), ``"insert"`` or ``"delete"``. With ``focus``, most
    edits land in the first ``focus`` octets (the greeting and handshake, say)."""
    span = max(length, 1)
    position = (
        st.one_of(st.integers(0, max(focus, 1) - 1), st.integers(0, span - 1))
        if focus
        else st.integers(0, span - 1)
    )
    edit = st.tuples(st.sampled_from(("flip", "insert", "delete")), position, st.integers(1, 255))
    return draw(st.lists(edit, min_size=1, max_size=4))


def mutate(stream: bytes, edits: Sequence[tuple[str, int, int]]) -> bytes:
    """``stream`` with ``edits`` (from :func:`mutations`) applied in order."""
    out = bytearray(stream)
    for kind, pos, octet in edits:
        pos %= max(len(out), 1)
        if kind == "flip" and out:
            out[pos] ^= octet
        elif kind == "insert":
            out.insert(pos, octet)
        elif kind == "delete" and out:
            del out[pos]
    return bytes(out)
