r"""What ZMTP 2.0 (RFC 15) and ZMTP 1.0 (RFC 13) peers need beyond the 3.x codec.

Both versions predate security mechanisms, metadata and commands. After the greeting
(12 octets for 2.0, none at all for 1.0) each side sends one **identity frame**, then
messages. What differs is the framing:

* **ZMTP 2.0** frames are ZMTP 3.x frames without the COMMAND bit (RFC 15
  "Framing"): a flags octet (bit 0 MORE, bit 1 LONG, bits 2-7 reserved and zero),
  then a 1-octet or 8-octet size, then the body. The 3.x decoder reads them with
  ``commands=False`` and the 3.x encoder writes them unchanged.
* **ZMTP 1.0** frames put the length first, and the length counts the flags octet
  (RFC 13 "The Framing Layer")::

      short:  +--------+-------+------------------------+
              | length | flags | body (length-1 octets) |     length 1..254
              +--------+-------+------------------------+
      long:   +------+----------------------+-------+------+
              | 0xFF | length (8, network)  | flags | body |
              +------+----------------------+-------+------+

  flags bit 0 is MORE; bits 1-7 SHOULD be zero and are ignored, as libzmq does. A
  length of 0 is invalid. :class:`V1FrameDecoder` reads this form (sharing the 3.x
  decoder's buffering, limits and in-place large bodies) and :func:`encode_v1_batch`
  writes it.

The identity frame of a 1.0 peer is read as one whole frame whatever its flags octet
says (RFC 13: the identity's flags "SHALL not be validated"): a peer that detects
ZMTP 1.0 the RFC 15 way sends 0x7F there, which has the MORE bit set.

The socket-type octet of the 2.0 greeting uses libzmq's type numbers; RFC 15 names
nine of them (PAIR 0 to PUSH 8) and says XPUB and XSUB are PUB and SUB on the wire.

This file never touches a socket.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from zmtp.constants import SocketType
from zmtp.errors import ProtocolError, ZMTPValueError
from zmtp.wire.frames import LARGE_BODY, MORE, Buffer, Decoded, FrameDecoder, encode_frame

__all__ = [
    "IDENTITY_LIMIT",
    "V1FrameDecoder",
    "encode_identity",
    "encode_v1_batch",
    "encode_v1_message",
    "peer_socket_type",
    "wire_socket_type",
]

#: RFC 13 "The Connection Layer": an identity is 0 to 255 octets (RFC 15: the
#: identity is a final-short frame, whose size is one octet).
IDENTITY_LIMIT = 255

#: RFC 13: a length octet of 0xFF announces the 8-octet length.
_V1_LONG_MARK = 0xFF

_pack_v1_long = struct.Struct(">BQB").pack
_unpack_long = struct.Struct(">Q").unpack_from


# ---------------------------------------------------------------------------------------
# Socket types (RFC 15 "Formal Grammar" and "Publish-Subscribe")


def wire_socket_type(ours: SocketType) -> int:
    """The socket-type octet of our ZMTP 2.0 greeting: libzmq's number for the type,
    except that XPUB and XSUB travel as PUB and SUB (RFC 15 "Publish-Subscribe")."""
    if ours is SocketType.XPUB:
        return int(SocketType.PUB)
    if ours is SocketType.XSUB:
        return int(SocketType.SUB)
    return int(ours)


def peer_socket_type(octet: int) -> SocketType | None:
    """The socket type a 2.0 greeting's octet names, or None if it names none."""
    try:
        return SocketType(octet)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------
# Encoding


def encode_identity(identity: bytes, version: tuple[int, int]) -> bytes:
    """Our identity frame in the framing of ``version`` (RFC 15 "identity", RFC 13
    "greeting"): one final frame holding the identity, empty when we have none."""
    if len(identity) > IDENTITY_LIMIT:
        raise ZMTPValueError(
            f"an identity is at most {IDENTITY_LIMIT} octets (RFC 13 The Connection "
            f"Layer), got {len(identity)}"
        )
    if version >= (2, 0):
        return encode_frame(identity)
    return encode_v1_message([identity])


def encode_v1_message(frames: Sequence[Buffer]) -> bytes:
    """A whole message in ZMTP 1.0 framing, as one ``bytes``."""
    out: list[Buffer] = []
    encode_v1_batch([frames], out)
    return b"".join(out)


def encode_v1_batch(messages: Sequence[Sequence[Buffer]], out: list[Buffer]) -> int:
    """Append the ZMTP 1.0 wire form of ``messages`` to ``out`` (headers joined with
    small bodies; bodies of ``LARGE_BODY`` octets and more appended uncopied, for a
    gathering write). Returns the octets appended."""
    buf = bytearray()
    total = 0
    for msg in messages:
        last = len(msg) - 1
        if last < 0:
            raise ZMTPValueError("a message has at least one frame (RFC 13 The Framing Layer)")
        for i, body in enumerate(msg):
            length = len(body) + 1  # RFC 13: the length counts the flags octet
            flags = MORE if i < last else 0
            if length < _V1_LONG_MARK:
                buf += bytes((length, flags))
                total += 2
            else:
                buf += _pack_v1_long(_V1_LONG_MARK, length, flags)
                total += 10
            if len(body) >= LARGE_BODY:
                out.append(buf)
                out.append(body)
                buf = bytearray()
            else:
                buf += body
            total += len(body)
    if buf:
        out.append(buf)
    return total


# ---------------------------------------------------------------------------------------
# Decoding


class V1FrameDecoder(FrameDecoder):
    """Incremental decoder of ZMTP 1.0 frames (RFC 13 "The Framing Layer").

    The same surface and promises as :class:`~zmtp.wire.frames.FrameDecoder`
    (chunks of any size, ``maxmsgsize`` judged from the header before any body octet
    is kept, large bodies assembled in place); only the header differs. There are no
    commands. The first frame is returned as a whole message of its own whatever its
    flags octet says (the identity frame, whose flags RFC 13 does not validate).
    """

    rfc = 13
    section = "The Framing Layer"

    def __init__(self, maxmsgsize: int = -1, max_frames: int | None = None) -> None:
        super().__init__(maxmsgsize, max_frames)
        self._need = 1  # a length octet of 0 is refused at once
        #: Until the first frame is complete: its MORE bit is ignored.
        self.identity_pending = True

    def _parse(self, buf: bytes, out: list[Decoded]) -> int:
        pos = 0
        end = len(buf)
        partial = self._partial
        maxsize = self.maxmsgsize
        while True:
            # The length is judged as soon as it is known, the flags octet after it.
            avail = end - pos
            if avail < 1:
                self._need = 1
                return pos
            length = buf[pos]
            hdr = 2
            if length == _V1_LONG_MARK:
                if avail < 9:
                    self._need = 9
                    return pos
                (length,) = _unpack_long(buf, pos + 1)
                hdr = 10
            if length == 0:
                raise ProtocolError(
                    "frame length 0: the length counts the flags octet, so it is at least 1",
                    rfc=13,
                    section="The Framing Layer",
                )
            size = length - 1
            if maxsize >= 0 and self._partial_size + size > maxsize:
                raise ProtocolError(
                    f"message of at least {self._partial_size + size} octets exceeds "
                    f"maxmsgsize {maxsize}",
                    rfc=13,
                    section="The Framing Layer",
                )
            if avail < hdr:
                self._need = hdr
                return pos
            # Bits 1-7 SHOULD be zero; only MORE means anything (RFC 13).
            flags = buf[pos + hdr - 1] & MORE
            if self.identity_pending:
                flags = 0
            start = pos + hdr
            stop = start + size
            if stop > end:
                if size >= LARGE_BODY:
                    self.identity_pending = False
                    self._start_big(flags, size, buf, start)
                    return end
                self._need = hdr + size
                return pos
            self.identity_pending = False
            body = buf[start:stop]
            pos = stop
            if flags:
                partial.append(body)
                self._partial_size += size
                if self.max_frames is not None and len(partial) >= self.max_frames:
                    raise ProtocolError(
                        f"message has more than {self.max_frames} frames",
                        rfc=13,
                        section="The Framing Layer",
                    )
            elif partial:
                partial.append(body)
                out.append(partial)
                partial = self._partial = []
                self._partial_size = 0
            else:
                out.append([body])
