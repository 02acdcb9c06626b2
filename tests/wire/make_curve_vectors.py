#!/usr/bin/env python3
"""Build ``specs/curve_vectors.json``: known-answer CURVE (RFC 25/26) exchanges.

Every key, long nonce and cookie key is fixed (derived from a label with SHA-256),
so the bytes of a whole CURVE connection are reproducible: HELLO, WELCOME,
INITIATE and READY, then MESSAGE commands carrying data frames and traffic
commands in both directions. Run it to rewrite the file, or with ``--stdout``::

    python tests/wire/make_curve_vectors.py            # writes specs/curve_vectors.json
    python tests/wire/make_curve_vectors.py --stdout   # print only

This script deliberately does not import ``zmtp``: it lays the commands out from
RFC 26's grammar with PyNaCl alone, so the vectors check the implementation rather
than echo it. The one choice not in the RFCs is libzmq's: a MESSAGE command travels
in a ZMTP *data* frame with no flags (libzmq 4.3 sends and accepts nothing else),
while the handshake commands are ordinary command frames (flags 0x04).
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from nacl import bindings as nacl

OUT_PATH = Path(__file__).resolve().parents[2] / "specs" / "curve_vectors.json"

Z85_ALPHABET = (
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)


def fixed(label: str, size: int = 32) -> bytes:
    """``size`` octets determined by ``label``."""
    return hashlib.sha256(b"zmtp curve vectors: " + label.encode()).digest()[:size]


def z85(data: bytes) -> str:
    out = []
    for (value,) in struct.iter_unpack(">I", data):
        digits = []
        for _ in range(5):
            value, d = divmod(value, 85)
            digits.append(Z85_ALPHABET[d])
        out.extend(reversed(digits))
    return bytes(out).decode()


def frame(body: bytes, flags: int) -> bytes:
    """A ZMTP frame (RFC 23 Framing): short size up to 255 octets, else long."""
    if len(body) < 256:
        return bytes((flags, len(body))) + body
    return struct.pack(">BQ", flags | 0x02, len(body)) + body


def command(name: bytes, data: bytes) -> bytes:
    return frame(bytes((len(name),)) + name + data, 0x04)


def prop(name: str, value: bytes) -> bytes:
    raw = name.encode()
    return bytes((len(raw),)) + raw + struct.pack(">I", len(value)) + value


def short(n: int) -> bytes:
    return struct.pack(">Q", n)


def build() -> dict[str, Any]:
    client_secret = fixed("client long-term secret")
    server_secret = fixed("server long-term secret")
    client_transient_secret = fixed("client transient secret")
    server_transient_secret = fixed("server transient secret")
    client_public = nacl.crypto_scalarmult_base(client_secret)
    server_public = nacl.crypto_scalarmult_base(server_secret)
    client_transient = nacl.crypto_scalarmult_base(client_transient_secret)
    server_transient = nacl.crypto_scalarmult_base(server_transient_secret)
    cookie_key = fixed("cookie key")
    welcome_nonce = fixed("welcome long nonce", 16)
    cookie_nonce = fixed("cookie long nonce", 16)
    vouch_nonce = fixed("vouch long nonce", 16)
    client_metadata = prop("Socket-Type", b"DEALER") + prop("Identity", b"")
    server_metadata = prop("Socket-Type", b"ROUTER") + prop("Identity", b"")

    # HELLO: version, 72 zeros, C', short nonce 1, Box[64 zeros](C'->S).
    hello_box = nacl.crypto_box(
        bytes(64), b"CurveZMQHELLO---" + short(1), server_public, client_transient_secret
    )
    hello = command(b"HELLO", b"\x01\x00" + bytes(72) + client_transient + short(1) + hello_box)

    # WELCOME: long nonce, Box[S' + cookie](S->C'); cookie = nonce + SecretBox[C' + s'](K).
    cookie = cookie_nonce + nacl.crypto_secretbox(
        client_transient + server_transient_secret, b"COOKIE--" + cookie_nonce, cookie_key
    )
    welcome_box = nacl.crypto_box(
        server_transient + cookie, b"WELCOME-" + welcome_nonce, client_transient, server_secret
    )
    welcome = command(b"WELCOME", welcome_nonce + welcome_box)

    # INITIATE: cookie, short nonce 2, Box[C + vouch + metadata](C'->S');
    # vouch = nonce + Box[C' + S](C->S').
    vouch = vouch_nonce + nacl.crypto_box(
        client_transient + server_public, b"VOUCH---" + vouch_nonce, server_transient, client_secret
    )
    initiate_box = nacl.crypto_box(
        client_public + vouch + client_metadata,
        b"CurveZMQINITIATE" + short(2),
        server_transient,
        client_transient_secret,
    )
    initiate = command(b"INITIATE", cookie + short(2) + initiate_box)

    # READY: server short nonce 1, Box[metadata](S'->C').
    ready_box = nacl.crypto_box(
        server_metadata, b"CurveZMQREADY---" + short(1), client_transient, server_transient_secret
    )
    ready = command(b"READY", short(1) + ready_box)

    traffic: list[dict[str, Any]] = []
    nonces = {"client": 3, "server": 2}

    def message(name: str, sender: str, body: bytes, curve_flags: int, description: str) -> None:
        n = nonces[sender]
        nonces[sender] += 1
        if sender == "client":
            prefix, pk, sk = b"CurveZMQMESSAGEC", server_transient, client_transient_secret
        else:
            prefix, pk, sk = b"CurveZMQMESSAGES", client_transient, server_transient_secret
        box = nacl.crypto_box(bytes((curve_flags,)) + body, prefix + short(n), pk, sk)
        traffic.append(
            {
                "name": name,
                "from": sender,
                "description": description,
                "short_nonce": n,
                "more": bool(curve_flags & 0x01),
                "command": bool(curve_flags & 0x02),
                "body_hex": body.hex(),
                "hex": frame(b"\x07MESSAGE" + short(n) + box, 0x00).hex(),
            }
        )

    message(
        "client_single_frame_message",
        "client",
        b"hello",
        0x00,
        "A one-frame message [hello]: flags octet 0 in the box.",
    )
    message(
        "client_multipart_first_frame_has_more",
        "client",
        b"multi",
        0x01,
        "First frame of [multi, part]: MORE (0x01) travels inside the box.",
    )
    message(
        "client_multipart_last_frame",
        "client",
        b"part",
        0x00,
        "Last frame of [multi, part]: flags octet 0.",
    )
    message(
        "client_300_octet_frame_uses_long_outer_frame",
        "client",
        bytes(range(256)) + bytes(44),
        0x00,
        "A 300-octet frame: the MESSAGE command exceeds 255 octets, so the outer "
        "data frame uses the 8-octet size (flags 0x02).",
    )
    message(
        "client_ping_command_in_message_box",
        "client",
        b"\x04PING" + struct.pack(">H", 10) + b"ctx",
        0x02,
        "PING (TTL 10, context ctx) as a traffic command: COMMAND (0x02) in the box, "
        "the command body after it.",
    )
    message(
        "server_single_frame_message",
        "server",
        b"world",
        0x00,
        "A one-frame message [world] from the server; its short nonces follow READY's.",
    )
    message(
        "server_pong_command_in_message_box",
        "server",
        b"\x04PONG" + b"ctx",
        0x02,
        "The PONG answering the client's PING, echoing its context.",
    )

    def key(raw: bytes) -> dict[str, str]:
        return {"hex": raw.hex(), "z85": z85(raw)}

    return {
        "description": (
            "A whole CURVE connection (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ) between a DEALER "
            "client and a ROUTER server with fixed keys and nonces, built by "
            "tests/wire/make_curve_vectors.py with PyNaCl alone."
        ),
        "rfc": "25, 26",
        "keys": {
            "client_public": key(client_public),
            "client_secret": key(client_secret),
            "server_public": key(server_public),
            "server_secret": key(server_secret),
            "client_transient_public": key(client_transient),
            "client_transient_secret": key(client_transient_secret),
            "server_transient_public": key(server_transient),
            "server_transient_secret": key(server_transient_secret),
            "cookie_key": key(cookie_key),
        },
        "long_nonces": {
            "welcome_hex": welcome_nonce.hex(),
            "cookie_hex": cookie_nonce.hex(),
            "vouch_hex": vouch_nonce.hex(),
        },
        "client_metadata_hex": client_metadata.hex(),
        "server_metadata_hex": server_metadata.hex(),
        "handshake": [
            {"name": "hello", "from": "client", "command": "HELLO", "hex": hello.hex()},
            {"name": "welcome", "from": "server", "command": "WELCOME", "hex": welcome.hex()},
            {"name": "initiate", "from": "client", "command": "INITIATE", "hex": initiate.hex()},
            {"name": "ready", "from": "server", "command": "READY", "hex": ready.hex()},
        ],
        "traffic": traffic,
    }


def main() -> None:
    text = json.dumps(build(), indent=2) + "\n"
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
        return
    OUT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OUT_PATH}")


if __name__ == "__main__":
    main()
