"""A connecting socket's queue survives a lost connection (as in libzmq): the messages
of a write batch that the kernel did not wholly accept go back to the front of the
pipe, and none that it did accept is sent twice. The writer finds the cut by where each
message ends in the encoding, computed here against the real encoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zmtp.core.stream import plain_ends as _plain_ends
from zmtp.wire.frames import encode_batch

frames = st.one_of(st.binary(max_size=300), st.builds(bytes, st.integers(0, 70000)))
messages = st.lists(st.lists(frames, min_size=1, max_size=4), min_size=1, max_size=20)


@given(messages)
def test_plain_ends_mark_where_each_message_ends_in_the_encoding(batch: list[list[bytes]]):
    out: list[bytes | bytearray | memoryview] = []
    encode_batch(batch, out)
    wire = b"".join(bytes(b) for b in out)
    ends = _plain_ends(batch)
    assert ends[-1] == len(wire)
    for i, end in enumerate(ends):
        prefix: list[bytes | bytearray | memoryview] = []
        encode_batch(batch[: i + 1], prefix)
        assert end == sum(len(b) for b in prefix)
