"""Shared strategies and harnesses for the hypothesis suite in ``tests/fuzz``.

What lives here:

* **frame and message strategies** whose sizes sit on the codec's boundaries (0, 1, the
  short/long switch at 255/256, ``frames.LARGE_BODY``) and whose content is cheap to make:
  bodies above a few octets are expanded from a drawn seed, so a 64 KiB frame costs
  hypothesis eight octets of choice data and the ``ci`` profile stays fast. Large frames
  are rare on purpose: at most one per drawn list of messages (in about a quarter of
  them), about one body in twelve in connection traffic;
* **a chunked feeder** for :class:`~zmtp.wire.frames.FrameDecoder` that splits a byte
  stream at hypothesis-chosen points, varies the buffer type, and optionally writes part
  of a chunk through ``body_buffer()``/``body_written()``;
* **connection configurations** (socket pair, ZMTP version of each side, NULL, NULL with
  an authenticator, PLAIN) and :class:`ConnectionPair`, which runs two
  :class:`~zmtp.wire.Connection` objects against each other with bytes alone and records
  what each side sent;
* **the traffic model**: :func:`expected_event` says which event a peer action must
  produce at the receiver, following the rules in ``zmtp/wire/connection.py``.

Fuzzed connections run with the default ``maxmsgsize`` (-1, no limit) as well as with a
limit: the decoder preallocates a claimed body only up to ``frames.PREALLOCATE_BODY``
and otherwise grows it with the octets that arrive, so a random 8-octet claim costs the
test process nothing.

The test modules import from here (``from conftest import ...``): pytest loads this file
before it imports them, and removes other ``conftest`` modules from ``sys.modules`` first.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.wire import (
    AuthDecision,
    AuthRequest,
    Cancel,
    Connection,
    ConnectionState,
    Event,
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
    FrameDecoder,
    encode_frame,
)

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


_buffer_types: tuple[Callable[[bytes], bytes | bytearray | memoryview], ...] = (
    bytes,
    bytearray,
    memoryview,
)


def feed_chunks(
    data: st.DataObject,
    dec: FrameDecoder,
    chunks: Sequence[bytes],
    *,
    use_body_buffer: bool = True,
    after_read: Callable[[FrameDecoder], None] | None = None,
) -> list[list[bytes] | CommandFrame]:
    """Feed ``chunks`` to ``dec``, reading after each, and return everything decoded.

    Each chunk goes in as bytes, bytearray or memoryview; while the decoder assembles a
    large body, a drawn prefix of the chunk is written through ``body_buffer()`` and
    ``body_written()`` instead of ``feed()``. ``after_read`` sees the decoder after every
    read (for bounds checks). A final read raises a violation the decoder met after the
    items it last returned.
    """
    out: list[list[bytes] | CommandFrame] = []
    chunks = list(chunks)
    for chunk in chunks:
        view = dec.body_buffer() if use_body_buffer else None
        if view is not None and data.draw(st.booleans(), label="via body_buffer"):
            n = data.draw(st.integers(0, min(len(view), len(chunk))), label="body octets")
            view[:n] = chunk[:n]
            dec.body_written(n)
            chunk = chunk[n:]
        kind = data.draw(st.sampled_from(_buffer_types), label="buffer type")
        dec.feed(kind(chunk))
        out += dec.read()
        if after_read is not None:
            after_read(dec)
    # A violation met after complete items is raised by the next read(): make it so.
    out += dec.read()
    return out


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
        authenticator = None
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
        self.events: dict[Connection, list[Event]] = {self.ours: [], self.peer: []}
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
Action = tuple


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


def expected_event(action: Action, version: tuple[int, int], receiver: SocketType) -> Event:
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


def drain_events(conn: Connection) -> tuple[list[Event], ProtocolError | None]:
    """Every event ``conn`` has, then the protocol error it raises, if any.

    Anything other than a :class:`ProtocolError` escaping ``events()`` propagates and
    fails the test.
    """
    out: list[Event] = []
    while True:
        try:
            evs = conn.events()
        except ProtocolError as exc:
            return out, exc
        if not evs:
            return out, None
        out += evs


def same_error(raised: BaseException, kept: ProtocolError | None) -> bool:
    """Whether ``raised`` is the connection's error ``kept``: a failed connection
    raises copies of the error it keeps (so that no traceback ties the connection into
    a reference cycle), equal in type, reason and RFC section."""
    return (
        kept is not None
        and type(raised) is type(kept)
        and str(raised) == str(kept)
        and getattr(raised, "rfc", None) == kept.rfc
        and getattr(raised, "section", None) == kept.section
    )
