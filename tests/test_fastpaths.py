"""The fast paths of zmtp._fastpaths and their portable fallbacks, both exercised on
every interpreter (the CI matrix also runs the whole suite once with ZMTP_PORTABLE=1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import trio

from zmtp import _fastpaths
from zmtp.wire import frames
from zmtp.wire.frames import FrameDecoder, encode_message

BODY_FACTORIES = {
    "cpython": _fastpaths.cpython_body_factory(),
    "portable": _fastpaths.bytearray_body,
}
CANCEL_PROBES = {
    "trio-private": _fastpaths.trio_cancel_probe,
    "portable": _fastpaths.portable_cancel_probe,
}


@pytest.fixture(params=sorted(BODY_FACTORIES))
def body_factory(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> _fastpaths.BodyFactory:
    factory = BODY_FACTORIES[request.param]
    if factory is None:
        assert sys.implementation.name != "cpython", "the CPython fast path failed its probe"
        pytest.skip(
            f"uninitialised bytes are a CPython fast path; this is {sys.implementation.name}"
        )
    monkeypatch.setattr(frames, "_new_body", factory)
    return factory


@pytest.mark.parametrize("size", [65536, 65537, 1 << 20])
def test_a_large_body_received_in_place_is_exactly_the_bytes_sent(
    body_factory: _fastpaths.BodyFactory, size: int
) -> None:
    body = bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)
    wire = encode_message([b"head", body])
    dec = FrameDecoder()
    # Split the body across reads, and fill the in-place buffer as the engine does.
    dec.feed(wire[:1000])
    out = list(dec.read())
    assert out == []
    rest = memoryview(wire)[1000:]
    while rest:
        target = dec.body_buffer()
        if target is not None:
            n = min(len(target), len(rest), 7919)
            target[:n] = rest[:n]
            dec.body_written(n)
        else:
            n = min(len(rest), 7919)
            dec.feed(bytes(rest[:n]))
        rest = rest[n:]
        out.extend(dec.read())
    assert len(out) == 1
    head, got = out[0]
    assert head == b"head"
    assert type(got) is bytes
    assert got == body
    assert hash(got) == hash(body)


def test_the_body_factory_gives_a_writable_view_of_the_returned_object(
    body_factory: _fastpaths.BodyFactory,
) -> None:
    obj, view = body_factory(16)
    view[:] = b"0123456789abcdef"
    assert bytes(obj) == b"0123456789abcdef"


@pytest.mark.trio_only(reason="the probes read trio's cancel scopes")
@pytest.mark.parametrize("name", sorted(CANCEL_PROBES))
async def test_the_cancel_probe_sees_an_enclosing_cancelled_scope(name: str) -> None:
    probe: Callable[[], bool] = CANCEL_PROBES[name]()
    assert probe() is False
    with trio.CancelScope() as scope:
        scope.cancel()
        assert probe() is True
        with trio.CancelScope(shield=True):
            assert probe() is False
    assert probe() is False
    with trio.move_on_at(trio.current_time() - 1):
        assert probe() is True


@pytest.mark.parametrize("value, portable", [("1", True), ("0", False), ("", False)])
def test_zmtp_portable_selects_the_fallbacks(value: str, portable: bool) -> None:
    code = "from zmtp import _fastpaths as f;print(f.PORTABLE, f.new_body is f.bytearray_body)"
    env = {**os.environ, "ZMTP_PORTABLE": value}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == str(portable)
    if portable or sys.implementation.name != "cpython":
        assert out[1] == "True"
    else:
        assert out[1] == "False"


def _box_codecs() -> dict[str, _fastpaths.BoxCodec | None]:
    pytest.importorskip("nacl", reason="CURVE boxes need PyNaCl (pip install zmtp[curve])")
    return {
        "libsodium-in-place": _fastpaths.sodium_box_codec(),
        "public": _fastpaths.public_box_codec(),
    }


@pytest.mark.parametrize("name", ["libsodium-in-place", "public"])
@pytest.mark.parametrize("size", [0, 1, 255, 4096, 65537, 1 << 20])
def test_both_box_codecs_seal_the_same_frame_and_open_it(name: str, size: int) -> None:
    codecs = _box_codecs()
    codec = codecs[name]
    if codec is None:
        pytest.skip("PyNaCl here has no compiled libsodium binding to seal in place")
    key, nonce = bytes(range(1, 33)), bytes(range(7, 31))
    body = bytes(i % 251 for i in range(size))
    frame = bytes(codec.seal(b"header", 1, body, nonce, key))
    public = codecs["public"]
    assert public is not None
    assert frame == public.seal(b"header", 1, body, nonce, key)
    assert codec.open(frame, len(b"header"), nonce, key) == (1, body)
    tampered = bytearray(frame)
    tampered[-1] ^= 1
    assert codec.open(bytes(tampered), len(b"header"), nonce, key) is None
    assert codec.open(frame, len(b"header"), bytes(24), key) is None
