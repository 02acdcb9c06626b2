"""A caller's mistake in the sans-IO layer raises a zmtp error naming the rule.

Every value a caller hands to ``zmtp.wire`` that breaks a protocol rule (an empty
message, a 256-octet command name, a PING context of 17 octets, a CURVE key of the
wrong size, text that is not Z85) raises :class:`zmtp.ZMTPValueError`, which is also a
``ValueError``, and the message names the RFC that makes the rule; a value of the
wrong type raises :class:`zmtp.ZMTPTypeError` (also a ``TypeError``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import zmtp
from zmtp.wire import Connection, CurveClient, CurveServer, curve_keypair, z85
from zmtp.wire.commands import encode_metadata, encode_ping, encode_pong
from zmtp.wire.frames import encode_batch, encode_command_frame, encode_frame, encode_message
from zmtp.wire.greeting import encode_greeting
from zmtp.wire.mechanisms.plain import encode_hello


def _curve_client_with_a_foreign_public_key() -> object:
    server_public, _ = curve_keypair()
    public, _ = curve_keypair()
    _, secret = curve_keypair()
    return CurveClient(server_public, public, secret)


def _curve_server_with_a_short_fixed_key() -> object:
    public, secret = curve_keypair()
    return CurveServer(public, secret, cookie_key=b"short")


MISTAKES: dict[str, Callable[[], object]] = {
    "empty-message": lambda: encode_message([]),
    "empty-message-in-a-batch": lambda: encode_batch([[]], []),
    "command-with-more": lambda: encode_frame(b"", more=True, command=True),
    "empty-command-name": lambda: encode_command_frame(b""),
    "long-command-name": lambda: encode_command_frame(b"N" * 256),
    "bad-property-name": lambda: encode_metadata([("no spaces", b"")]),
    "ping-ttl-beyond-16-bits": lambda: encode_ping(ttl=0x10000),
    "ping-context-of-17": lambda: encode_ping(context=b"c" * 17),
    "pong-context-of-17": lambda: encode_pong(b"c" * 17),
    "bad-mechanism-name": lambda: encode_greeting(b"no spaces", False),
    "long-plain-user-name": lambda: encode_hello(b"u" * 256, b""),
    "socket-type-property": lambda: Connection("PUSH", properties={"Socket-Type": b"PULL"}),
    "foreign-curve-public-key": _curve_client_with_a_foreign_public_key,
    "short-fixed-curve-key": _curve_server_with_a_short_fixed_key,
    "z85-of-3-octets": lambda: z85.encode(b"abc"),
    "z85-text-of-4": lambda: z85.decode("abcd"),
    "z85-non-ascii": lambda: z85.decode("é" * 5),
    "z85-bad-character": lambda: z85.decode("abc~d"),
    "z85-group-too-large": lambda: z85.decode("#####"),
    "key-text-too-short": lambda: z85.coerce_key("abcde"),
    "key-bytes-of-33": lambda: z85.coerce_key(b"k" * 33),
}


@pytest.mark.parametrize("mistake", list(MISTAKES.values()), ids=list(MISTAKES))
def test_a_value_breaking_a_protocol_rule_raises_a_zmtp_value_error_naming_the_rfc(
    mistake: Callable[[], object],
) -> None:
    with pytest.raises(zmtp.ZMTPValueError, match=r"RFC \d+") as info:
        mistake()
    assert isinstance(info.value, ValueError)
    assert info.value.errno == zmtp.EINVAL


def test_a_key_of_the_wrong_type_raises_a_zmtp_type_error() -> None:
    with pytest.raises(zmtp.ZMTPTypeError, match="bytes or str") as info:
        z85.coerce_key(12345)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


def test_an_unknown_protocol_version_is_refused() -> None:
    with pytest.raises(zmtp.ZMTPValueError, match="ZMTP"):
        Connection("PUSH", version=(9, 9))


def test_an_empty_message_on_a_curve_connection_is_refused(
    ready_pair: Callable[[Connection, Connection], object],
) -> None:
    server_public, server_secret = curve_keypair()
    client_public, client_secret = curve_keypair()
    pair = ready_pair(
        Connection("PUSH", mechanism=CurveClient(server_public, client_public, client_secret)),
        Connection(
            "PULL",
            mechanism=CurveServer(server_public, server_secret),
            authenticator=lambda request: True,
        ),
    )
    with pytest.raises(zmtp.ZMTPValueError, match="RFC 23 Framing"):
        pair.a.send_message([])  # type: ignore[attr-defined]
