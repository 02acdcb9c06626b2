"""ZMTP frames (RFC 23 "Framing"): the codec below messages and commands.

After the greeting everything on the wire is a frame::

    short frame:  +-------+------+-------------------+
                  | flags | size | body (size octets)|      size: 1 octet, 0..255
                  +-------+------+-------------------+
    long frame:   +-------+------------------+-------+
                  | flags | size (8, network)| body  |      size: 0..2^63-1
                  +-------+------------------+-------+

    flags:  bit 0 MORE     more frames of this message follow (never on a command)
            bit 1 LONG     the size field is 8 octets
            bit 2 COMMAND  the frame is a command, not message data
            bits 3-7       reserved, MUST be zero

The :class:`FrameDecoder` takes the byte stream in chunks of any size and returns
complete messages (lists of frame bodies) and command frames. It is built for three
promises:

* **limits before buffering**: a size read from the wire is a claim. It is checked
  against ``maxmsgsize`` (counting every frame of a multipart message) before a single
  body octet is stored, so what the decoder retains never exceeds ``maxmsgsize`` plus
  a 9-octet header, whatever the peer sends;
* **linear work**: incoming chunks are kept in a list until the current frame is
  complete and joined once, so a peer dribbling a frame octet by octet costs O(n);
* **no needless copies**: a body of ``LARGE_BODY`` octets or more is assembled in a
  buffer of its own size, which the transport may fill directly with ``recv_into``
  (:meth:`FrameDecoder.body_buffer`).

Encoding is a set of functions that write the short form for bodies up to 255 octets
and the long form above, and can emit a message either as one ``bytes`` or as a list
of buffers for a gathering write.

This file never touches a socket.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from zmtp import _fastpaths
from zmtp.errors import ProtocolError, ZMTPValueError, detached

__all__ = [
    "COMMAND",
    "LARGE_BODY",
    "LONG",
    "MORE",
    "RESERVED_BITS",
    "CommandFrame",
    "FrameDecoder",
    "encode_batch",
    "encode_command_frame",
    "encode_frame",
    "encode_message",
    "encode_message_into",
]

# Flag bits, RFC 23 "Framing".
MORE = 0x01
LONG = 0x02
COMMAND = 0x04
RESERVED_BITS = 0xF8

#: Bodies this large (and larger) are assembled in a buffer of their own.
LARGE_BODY = 64 * 1024
#: Large bodies up to this size get their whole buffer at once (and can be filled
#: with recv_into); beyond it, the buffer grows with the octets that really arrive.
PREALLOCATE_BODY = 16 * 1024 * 1024
#: Bodies this large are written as their own buffer in a gathering write rather than
#: copied into the batch buffer.
GATHER_BODY = 16 * 1024

#: RFC 23: a long size is 0..2^63-1.
_MAX_LONG = (1 << 63) - 1

_pack_long = struct.Struct(">BQ").pack
_unpack_long = struct.Struct(">Q").unpack_from

# Precomputed short headers: _SHORT[flags][size] == bytes((flags, size)).
_SHORT: dict[int, tuple[bytes, ...]] = {
    flags: tuple(bytes((flags, n)) for n in range(256)) for flags in (0, MORE, COMMAND)
}
_SHORT_LAST = _SHORT[0]
_SHORT_MORE = _SHORT[MORE]

Buffer = bytes | bytearray | memoryview


class CommandFrame:
    """A command frame as it came off the wire: its body, not yet parsed."""

    __slots__ = ("body",)

    def __init__(self, body: bytes):
        self.body = body

    def __repr__(self) -> str:
        return f"CommandFrame({self.body!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommandFrame) and other.body == self.body

    __hash__ = None  # type: ignore[assignment]


#: What the decoder yields: a complete message (list of frame bodies) or a command.
Decoded = list[bytes] | CommandFrame


# ---------------------------------------------------------------------------------------
# Encoding


def frame_header(size: int, flags: int) -> bytes:
    """The flags and size octets of a frame carrying ``size`` body octets."""
    if size < 256:
        return bytes((flags, size))
    return _pack_long(flags | LONG, size)


def encode_frame(body: Buffer, *, more: bool = False, command: bool = False) -> bytes:
    """One frame (header and body) as bytes."""
    flags = (MORE if more else 0) | (COMMAND if command else 0)
    if more and command:
        raise ZMTPValueError("a command frame cannot have the MORE flag (RFC 23 Framing)")
    return frame_header(len(body), flags) + bytes(body)


def encode_command_frame(name: bytes, data: Buffer = b"") -> bytes:
    """A command frame: a one-octet name length, the name, then the command data
    (RFC 23 "Commands"; the ABNF and libzmq agree on the length prefix)."""
    if not 0 < len(name) < 256:
        raise ZMTPValueError(
            f"command name must be 1..255 octets, got {len(name)} (RFC 23 Commands)"
        )
    body = bytes((len(name),)) + name + bytes(data)
    return frame_header(len(body), COMMAND) + body


def encode_message(frames: Sequence[Buffer]) -> bytes:
    """A whole message as one ``bytes`` (MORE on every frame but the last)."""
    out: list[Buffer] = []
    encode_message_into(frames, out)
    return b"".join(out)


def encode_message_into(frames: Sequence[Buffer], out: list[Buffer]) -> None:
    """Append the wire form of a message to ``out``: each frame's header, then its body
    as given (uncopied). Join the pieces, or hand them to a gathering write.
    An empty ``frames`` is refused: ZMTP has no zero-frame message.
    """
    n = len(frames)
    if n == 0:
        raise ZMTPValueError("a message has at least one frame (RFC 23 Framing)")
    last = n - 1
    for i, body in enumerate(frames):
        size = len(body)
        if size < 256:
            out.append((_SHORT_MORE if i < last else _SHORT_LAST)[size])
        else:
            out.append(_pack_long((MORE if i < last else 0) | LONG, size))
        if size:
            out.append(body)


def encode_batch(messages: Sequence[Sequence[Buffer]], out: list[Buffer]) -> int:
    """Encode ``messages`` for one gathering write; return the octets appended.

    Headers and bodies under ``GATHER_BODY`` octets are copied into shared
    ``bytearray`` runs; larger bodies are appended as their own buffer, uncopied, so
    ``socket.sendmsg(out)`` writes everything in one system call.
    """
    buf = bytearray()
    total = 0
    short_last = _SHORT_LAST
    short_more = _SHORT_MORE
    for msg in messages:
        last = len(msg) - 1
        if last == 0:  # single-frame fast path
            body = msg[0]
            n = len(body)
            if n < 256:
                buf += short_last[n]
                buf += body
                total += n + 2
                continue
            if n < GATHER_BODY:
                buf += _pack_long(LONG, n)
                buf += body
                total += n + 9
                continue
        elif last < 0:
            raise ZMTPValueError("a message has at least one frame (RFC 23 Framing)")
        for i, body in enumerate(msg):
            n = len(body)
            if n < 256:
                buf += (short_more if i < last else short_last)[n]
                total += 2
            else:
                buf += _pack_long((MORE if i < last else 0) | LONG, n)
                total += 9
            if n >= GATHER_BODY:
                out.append(buf)
                out.append(body)
                buf = bytearray()
            else:
                buf += body
            total += n
    if buf:
        out.append(buf)
    return total


# ---------------------------------------------------------------------------------------
# Large bodies, received in place


# CPython lets us receive into a fresh ``bytes``; see zmtp._fastpaths.
_new_body = _fastpaths.new_body


# ---------------------------------------------------------------------------------------
# Decoding


class FrameDecoder:
    """Incremental frame decoder: chunks in, complete messages and commands out.

    Usage::

        dec = FrameDecoder(maxmsgsize=1 << 20)
        dec.feed(chunk)
        for item in dec.read():
            if type(item) is list:     # a message: the list of its frame bodies
                ...
            else:                      # a CommandFrame
                ...

    ``read`` raises :class:`ProtocolError` on a reserved flag bit, a command frame with
    MORE, or a size beyond ``maxmsgsize``; after that the decoder is unusable (the
    connection must be closed).

    Command frames may arrive between the frames of a multipart message (a peer that
    heartbeats mid-message); they are returned in order and the message keeps growing.
    """

    #: The RFC (and its section) whose framing this decoder reads, named in errors.
    rfc = 23
    section = "Framing"

    def __init__(
        self,
        maxmsgsize: int = -1,
        max_frames: int | None = None,
        max_command_size: int = -1,
        *,
        commands: bool = True,
    ):
        #: -1 means no limit, as in libzmq.
        self.maxmsgsize = maxmsgsize
        # ZMTP 2.0 (RFC 15 "Framing") has no commands: bit 2 is reserved there too.
        self._reserved = RESERVED_BITS if commands else RESERVED_BITS | COMMAND
        if not commands:
            self.rfc = 15
        self.max_frames = max_frames
        #: Largest command body accepted (-1: no limit; by default the same bound as
        #: messages). The connection tightens this during the handshake, when only
        #: small mechanism commands are legal.
        self.max_command_size = max_command_size if max_command_size != -1 else maxmsgsize
        self._chunks: list[bytes] = []
        self._have = 0  # octets held in _chunks
        self._need = 2  # octets needed before parsing can progress
        self._partial: list[bytes] = []  # frames of an unfinished multipart message
        self._partial_size = 0
        # A large body being assembled in place.
        self._big: bytes | bytearray | None = None
        self._big_view: memoryview | None = None
        self._big_filled = 0
        self._big_size = 0
        self._big_flags = 0
        self._broken = False
        self._error: ProtocolError | None = None
        #: While set, parsing stops (and sets ``stopped_at_message``) at the header of
        #: a message frame, before buffering its body: a connection sets it until its
        #: handshake completes, when only commands are legal (RFC 23).
        self.commands_only = False
        self.stopped_at_message = False
        #: How many of the items returned by the last read() are commands.
        self.commands_read = 0

    # -- input ------------------------------------------------------------------------

    def feed(self, data: Buffer) -> None:
        """Add received octets (any chunk size, including empty)."""
        if not data:
            return
        if self._big is not None:
            data = self._fill_big(data)
            if not data:
                return
        if type(data) is not bytes:
            data = bytes(data)
        self._chunks.append(data)
        self._have += len(data)

    def body_buffer(self) -> memoryview | None:
        """While a large body is being assembled, the unfilled part of its buffer.

        A transport may ``recv_into`` this view and then call :meth:`body_written`,
        saving a copy. Returns None when no large body is pending.
        """
        if self._big_view is None:
            return None
        return self._big_view[self._big_filled :]

    def body_written(self, n: int) -> None:
        """Record that ``n`` octets were written into :meth:`body_buffer`."""
        assert self._big is not None and 0 <= n <= self._big_size - self._big_filled
        self._big_filled += n

    def _fill_big(self, data: Buffer) -> Buffer:
        big = self._big
        assert big is not None
        take = min(self._big_size - self._big_filled, len(data))
        if self._big_view is not None:
            self._big_view[self._big_filled : self._big_filled + take] = data[:take]
        else:
            big += data[:take]
        self._big_filled += take
        return data[take:]

    @property
    def error(self) -> ProtocolError | None:
        """The violation met after the items last returned (raised by the next read)."""
        return self._error

    @property
    def buffered(self) -> int:
        """Octets retained: unparsed input, an assembling body, unfinished message frames."""
        big = len(self._big) if self._big is not None else 0
        return self._have + big + self._partial_size

    @property
    def mid_message(self) -> bool:
        """True when part of a message or frame has been received but not all of it."""
        return bool(self._partial or self._have or self._big is not None)

    # -- parsing ----------------------------------------------------------------------

    def read(self) -> list[Decoded]:
        """Every message and command completed by the octets fed so far, in order."""
        if self._broken:
            raise detached(self._error or ProtocolError("the frame decoder already failed"))
        self.commands_read = 0
        out: list[Decoded] = []
        try:
            if self._big is not None:
                if self._big_filled < self._big_size:
                    return out
                big = self._big
                body = big if type(big) is bytes else bytes(big)
                self._big = None
                self._big_view = None
                self._finish_frame(self._big_flags, body, out)
                # Octets that arrived after the body were kept in _chunks by feed().
            if self._have < self._need:
                return out
            chunks = self._chunks
            buf = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            pos = self._parse(buf, out)
        except ProtocolError as exc:
            # What was complete before the violation is delivered; the error is
            # raised by the next read(). Nothing more will be parsed: let go of the
            # buffered octets now.
            self._broken = True
            self._error = detached(exc)  # the raised one holds this decoder's frames
            self._chunks = []
            self._have = 0
            self._big = None
            self._big_view = None
            self._partial = []
            self._partial_size = 0
            if out:
                return out
            raise
        rest = len(buf) - pos
        if rest == 0:
            self._chunks = []
        elif self._big is None:
            self._chunks = [buf[pos:]]
        else:
            self._chunks = []
            rest = 0
        self._have = rest
        return out

    def _parse(self, buf: bytes, out: list[Decoded]) -> int:
        """Parse complete frames of ``buf``; return the index of the first unused octet."""
        pos = 0
        end = len(buf)
        partial = self._partial
        maxsize = self.maxmsgsize
        commands_only = self.commands_only
        reserved = self._reserved
        rfc = self.rfc
        while True:
            avail = end - pos
            if avail < 2:
                self._need = 2
                return pos
            flags = buf[pos]
            if commands_only and not flags & COMMAND:
                self.stopped_at_message = True
                self._need = 2
                return pos
            if flags == 0 and not partial:
                # Fast path: a short single-frame message, the common case.
                size = buf[pos + 1]
                if 0 <= maxsize < size:
                    raise ProtocolError(
                        f"message of {size} octets exceeds maxmsgsize {maxsize}",
                        rfc=rfc,
                        section="Framing",
                    )
                stop = pos + 2 + size
                if stop > end:
                    self._need = 2 + size
                    return pos
                out.append([buf[pos + 2 : stop]])
                pos = stop
                continue
            if flags == LONG and not partial and avail >= 9:
                # Fast path: a long single-frame message that fits in this buffer.
                (size,) = _unpack_long(buf, pos + 1)
                stop = pos + 9 + size
                if stop <= end and (maxsize < 0 or size <= maxsize):
                    out.append([buf[pos + 9 : stop]])
                    pos = stop
                    continue
                # Otherwise the general path below checks and assembles it.
            if flags & reserved:
                bits = "3-7" if reserved == RESERVED_BITS else "2-7"
                raise ProtocolError(
                    f"frame flags 0x{flags:02X} set reserved bits {bits}, which MUST be zero",
                    rfc=rfc,
                    section="Framing",
                )
            if flags & LONG:
                if avail < 9:
                    self._need = 9
                    return pos
                (size,) = _unpack_long(buf, pos + 1)
                hdr = 9
                if size > _MAX_LONG:
                    raise ProtocolError(
                        f"frame size {size} exceeds 2^63-1", rfc=23, section="Framing"
                    )
            else:
                size = buf[pos + 1]
                hdr = 2
            if flags & COMMAND:
                if flags & MORE:
                    raise ProtocolError(
                        "a command frame has the MORE flag set, which SHALL be zero",
                        rfc=rfc,
                        section="Framing",
                    )
                if 0 <= self.max_command_size < size:
                    raise ProtocolError(
                        f"command frame of {size} octets exceeds the limit of "
                        f"{self.max_command_size} octets for commands in this state",
                        rfc=rfc,
                        section="Framing",
                    )
                if self._partial_size and 0 <= maxsize < self._partial_size + size:
                    # A command between the frames of a message is held with them:
                    # together they stay within maxmsgsize.
                    raise ProtocolError(
                        f"command of {size} octets inside a message of "
                        f"{self._partial_size} octets exceeds maxmsgsize {maxsize}",
                        rfc=rfc,
                        section="Framing",
                    )
            elif maxsize >= 0 and self._partial_size + size > maxsize:
                raise ProtocolError(
                    f"message of at least {self._partial_size + size} octets exceeds "
                    f"maxmsgsize {maxsize}",
                    rfc=rfc,
                    section="Framing",
                )
            start = pos + hdr
            stop = start + size
            if stop > end:
                if size >= LARGE_BODY:
                    self._start_big(flags, size, buf, start)
                    return end
                self._need = hdr + size
                return pos
            body = buf[start:stop]
            pos = stop
            if flags & COMMAND:
                out.append(CommandFrame(body))
                self.commands_read += 1
            elif flags & MORE:
                partial.append(body)
                self._partial_size += size
                if self.max_frames is not None and len(partial) >= self.max_frames:
                    raise ProtocolError(
                        f"message has more than {self.max_frames} frames",
                        rfc=rfc,
                        section="Framing",
                    )
            elif partial:
                partial.append(body)
                out.append(partial)
                partial = self._partial = []
                self._partial_size = 0
            else:
                out.append([body])

    def _start_big(self, flags: int, size: int, buf: bytes, start: int) -> None:
        have = len(buf) - start
        big: bytes | bytearray
        if size <= PREALLOCATE_BODY:
            big, view = _new_body(size)
            view[:have] = memoryview(buf)[start:]
            self._big_view = view
        else:
            # A size is a claim: beyond PREALLOCATE_BODY the buffer grows as octets
            # actually arrive (and body_buffer() offers no direct fill).
            big = bytearray(memoryview(buf)[start:])
            self._big_view = None
        self._big = big
        self._big_size = size
        self._big_filled = have
        self._big_flags = flags
        self._need = 2

    def _finish_frame(self, flags: int, body: bytes, out: list[Decoded]) -> None:
        if flags & COMMAND:
            out.append(CommandFrame(body))
            self.commands_read += 1
        elif flags & MORE:
            self._partial.append(body)
            self._partial_size += len(body)
            if self.max_frames is not None and len(self._partial) >= self.max_frames:
                raise ProtocolError(
                    f"message has more than {self.max_frames} frames",
                    rfc=self.rfc,
                    section=self.section,
                )
        elif self._partial:
            self._partial.append(body)
            out.append(self._partial)
            self._partial = []
            self._partial_size = 0
        else:
            out.append([body])
