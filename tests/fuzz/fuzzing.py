"""Shared strategies and harnesses for the hypothesis suite in ``tests/fuzz``.

The strategies and the connection model live in :mod:`zmtp.testing.strategies`,
public for anyone fuzzing a ZMTP stack; they are re-exported here under the names the
test modules use. What stays here is the harness specific to zmtp's own frame decoder:

* :func:`feed_chunks` feeds a :class:`~zmtp.wire.frames.FrameDecoder` a stream cut at
  hypothesis-chosen points, varies the buffer type, and optionally writes part of a
  chunk through ``body_buffer()``/``body_written()``.

Fuzzed connections run with the default ``maxmsgsize`` (-1, no limit) as well as with a
limit: the decoder preallocates a claimed body only up to ``frames.PREALLOCATE_BODY``
and otherwise grows it with the octets that arrive, so a random 8-octet claim costs the
test process nothing.

The test modules import from here (``from fuzzing import ...``): pytest puts this
directory on ``sys.path`` when it collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from zmtp.errors import ProtocolError
from zmtp.testing.strategies import (
    BOUNDARY_SIZES,
    COMPATIBLE_PAIRS,
    LARGE_SIZES,
    MECHANISMS,
    PASSWORD,
    SUBSCRIPTION_READERS,
    USER,
    USER_ID,
    VERSIONS,
    Action,
    Blob,
    ConnectionPair,
    PairConfig,
    Stream,
    accepting_authenticator,
    actions,
    bodies,
    command_bodies,
    cut,
    deferring_authenticator,
    drain_events,
    draw_chunks,
    expected_event,
    frame_soup,
    frame_streams,
    large_bodies,
    messages,
    pair_configs,
    pattern_bytes,
    perform,
    ping_contexts,
    small_bodies,
    split_points,
    topics,
    unknown_command_names,
)
from zmtp.wire.frames import CommandFrame, FrameDecoder

__all__ = [
    "BOUNDARY_SIZES",
    "COMPATIBLE_PAIRS",
    "LARGE_SIZES",
    "MECHANISMS",
    "PASSWORD",
    "SUBSCRIPTION_READERS",
    "USER",
    "USER_ID",
    "VERSIONS",
    "Action",
    "Blob",
    "ConnectionPair",
    "PairConfig",
    "Stream",
    "accepting_authenticator",
    "actions",
    "bodies",
    "command_bodies",
    "cut",
    "deferring_authenticator",
    "drain_events",
    "draw_chunks",
    "expected_event",
    "feed_chunks",
    "frame_soup",
    "frame_streams",
    "large_bodies",
    "messages",
    "pair_configs",
    "pattern_bytes",
    "perform",
    "ping_contexts",
    "small_bodies",
    "split_points",
    "topics",
    "unknown_command_names",
]


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
