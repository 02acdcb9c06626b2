"""Z85 (RFC 32) and the CURVE key helpers of :mod:`zmtp.wire.z85`.

RFC 32 "Formal Specification": 4 octets -> 5 characters, big-endian, most significant
digit first, over the 85-character alphabet; binary input a multiple of 4 octets, text
a multiple of 5 characters. Keys are checked against PyNaCl and against libzmq
(through pyzmq's ``zmq.curve_keypair``/``zmq.curve_public`` and ``zmq.utils.z85``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zmtp.errors import MechanismUnavailable
from zmtp.wire import curve_keypair, curve_public, z85

nacl_bindings = pytest.importorskip("nacl.bindings")
zmq = pytest.importorskip("zmq")
pyzmq_z85 = pytest.importorskip("zmq.utils.z85")

HELLO_WORLD = bytes.fromhex("864FD26FB559F75B")

# ---------------------------------------------------------------------------------------
# RFC 32 "Formal Specification"


def test_rfc32_example_encodes_to_hello_world():
    assert z85.encode(HELLO_WORLD) == b"HelloWorld"


def test_rfc32_example_decodes_from_hello_world_text_or_bytes():
    assert z85.decode("HelloWorld") == HELLO_WORLD
    assert z85.decode(b"HelloWorld") == HELLO_WORLD
    assert z85.decode(bytearray(b"HelloWorld")) == HELLO_WORLD


def test_alphabet_has_85_distinct_printable_characters():
    assert len(z85.ALPHABET) == 85 == len(set(z85.ALPHABET))
    assert all(0x21 <= c <= 0x7E for c in z85.ALPHABET)
    assert not set(b"\"'\\,;`_|~ ") & set(z85.ALPHABET)


def test_digits_are_most_significant_first():
    assert z85.encode(b"\x00\x00\x00\x00") == b"00000"
    assert z85.encode(b"\x00\x00\x00\x01") == b"00001"
    assert z85.encode(b"\x00\x00\x00\x55") == b"00010"  # 85 = "10" in base 85
    assert z85.encode(b"\xff\xff\xff\xff") == b"%nSc0"
    assert z85.decode("%nSc0") == b"\xff\xff\xff\xff"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 31, 33])
def test_encode_refuses_a_length_not_multiple_of_4(size):
    with pytest.raises(ValueError, match="multiple of 4"):
        z85.encode(bytes(size))


@pytest.mark.parametrize("size", [1, 4, 6, 39, 41])
def test_decode_refuses_a_length_not_multiple_of_5(size):
    with pytest.raises(ValueError, match="multiple of 5"):
        z85.decode("0" * size)


@pytest.mark.parametrize("text", ["Hello Worl", 'Hello"orld', "Hello~orld", "Hellé"])
def test_decode_refuses_characters_outside_the_alphabet(text):
    with pytest.raises(ValueError, match="Z85"):
        z85.decode(text)


@pytest.mark.parametrize("text", ["%nSc1", "#####", "%%%%%"])
def test_decode_refuses_groups_above_2_to_the_32_minus_1(text):
    with pytest.raises(ValueError, match="exceeds 2\\^32 - 1"):
        z85.decode(text)


def test_empty_input_round_trips():
    assert z85.encode(b"") == b""
    assert z85.decode("") == b""


@given(st.binary(max_size=256).map(lambda b: b[: len(b) - len(b) % 4]))
def test_encode_then_decode_round_trips(data):
    text = z85.encode(data)
    assert len(text) == len(data) // 4 * 5
    assert z85.decode(text) == data
    assert z85.decode(text.decode("ascii")) == data


@given(st.binary(max_size=128).map(lambda b: b[: len(b) - len(b) % 4]))
def test_encoding_matches_pyzmq(data):
    assert z85.encode(data) == pyzmq_z85.encode(data)
    assert z85.decode(pyzmq_z85.encode(data)) == data


@given(st.text(alphabet=z85.ALPHABET.decode(), max_size=50))
def test_every_valid_text_round_trips_or_is_refused_for_overflow(text):
    text = text[: len(text) - len(text) % 5]
    try:
        raw = z85.decode(text)
    except ValueError as exc:
        assert "2^32" in str(exc)
        return
    assert z85.encode(raw) == text.encode()


# ---------------------------------------------------------------------------------------
# CURVE keys (RFC 26 keys, in Z85 as libzmq and pyzmq write them)


def test_curve_keypair_returns_40_octet_z85_bytes():
    public, secret = curve_keypair()
    assert type(public) is bytes and type(secret) is bytes
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32


def test_curve_keypair_public_key_belongs_to_its_secret_key_per_pynacl():
    public, secret = curve_keypair()
    assert nacl_bindings.crypto_scalarmult_base(z85.decode(secret)) == z85.decode(public)


def test_curve_keypairs_are_fresh():
    assert curve_keypair() != curve_keypair()


def test_curve_public_matches_pyzmq_for_a_libzmq_key():
    public, secret = zmq.curve_keypair()
    assert curve_public(secret) == public == zmq.curve_public(secret)
    assert curve_public(secret.decode()) == public


def test_libzmq_derives_the_same_public_key_from_our_secret():
    public, secret = curve_keypair()
    assert zmq.curve_public(secret) == public


def test_curve_public_accepts_a_raw_secret_key():
    public, secret = curve_keypair()
    assert curve_public(z85.decode(secret)) == public


# ---------------------------------------------------------------------------------------
# coerce_key: keys as users hand them over


def test_coerce_key_accepts_z85_text_z85_bytes_and_raw_octets():
    raw = bytes(range(32))
    text = z85.encode(raw)
    assert z85.coerce_key(text) == raw
    assert z85.coerce_key(text.decode()) == raw
    assert z85.coerce_key(raw) == raw
    assert z85.coerce_key(bytearray(raw)) == raw
    assert z85.coerce_key(memoryview(raw)) == raw


@pytest.mark.parametrize("size", [0, 16, 31, 33, 39, 41, 64])
def test_coerce_key_refuses_other_lengths_naming_both_forms(size):
    with pytest.raises(ValueError, match="32 raw octets or 40 Z85 characters"):
        z85.coerce_key(bytes(size), "server public key")


def test_coerce_key_refuses_text_that_is_not_40_characters():
    with pytest.raises(ValueError, match="40 Z85 characters"):
        z85.coerce_key("HelloWorld")


def test_coerce_key_refuses_other_types():
    with pytest.raises(TypeError, match="bytes or str"):
        z85.coerce_key(12345)  # type: ignore[arg-type]


def test_coerce_key_names_the_key_in_errors():
    with pytest.raises(ValueError, match=r"^client secret key"):
        z85.coerce_key(b"short", "client secret key")


# ---------------------------------------------------------------------------------------
# The optional dependency


def test_importing_zmtp_wire_imports_neither_trio_nor_pynacl():
    code = (
        "import sys, zmtp.wire, zmtp.wire.z85, zmtp.wire.mechanisms.curve\n"
        "assert 'trio' not in sys.modules, 'trio'\n"
        "assert 'nacl' not in sys.modules, 'nacl'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_key_generation_without_pynacl_raises_mechanism_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "nacl", None)
    monkeypatch.setitem(sys.modules, "nacl.bindings", None)
    with pytest.raises(MechanismUnavailable, match=r"pip install zmtp\[curve\]"):
        curve_keypair()
    # Z85 itself needs nothing.
    assert z85.encode(HELLO_WORLD) == b"HelloWorld"
