#!/usr/bin/env python3
"""Record real ZMTP bytes exchanged with libzmq (through pyzmq).

A plain blocking ``socket`` on 127.0.0.1 plays the peer role with scripted
bytes, libzmq plays the other side.  Everything libzmq sends up to the end of
its handshake (READY for NULL; HELLO/INITIATE or WELCOME/READY for PLAIN) is
recorded as hex, together with what the raw side sent.

The result is written to ``specs/libzmq_captures.json`` (next to this
repository's ``specs/`` directory).  Re-run with::

    python interop/capture_libzmq.py            # writes specs/libzmq_captures.json
    python interop/capture_libzmq.py --stdout   # print instead of writing

This script deliberately does not import the ``zmtp`` package: it carries its
own tiny frame reader so that captures are independent of the implementation
under test.  Every blocking call has a timeout, so the script cannot hang.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import sys
import time
from pathlib import Path

import zmq

TIMEOUT = 5.0  # seconds, applied to every raw socket operation
QUIET_WINDOW = 0.5  # seconds to wait when checking that nothing else arrives
OVERALL_TIMEOUT = 120  # seconds for the whole run (SIGALRM), where supported
HOST = "127.0.0.1"

OUT_PATH = Path(__file__).resolve().parent.parent / "specs" / "libzmq_captures.json"


# --------------------------------------------------------------------------
# Encoding helpers for the raw (scripted) side
# --------------------------------------------------------------------------


def greeting(mechanism: bytes = b"NULL", as_server: bool = False, minor: int = 1) -> bytes:
    """A full 64-byte ZMTP 3.x greeting with zero padding."""
    return (
        b"\xff"
        + b"\x00" * 8
        + b"\x7f"
        + bytes([3, minor])
        + mechanism.ljust(20, b"\x00")
        + (b"\x01" if as_server else b"\x00")
        + b"\x00" * 31
    )


def command(name: bytes, data: bytes = b"") -> bytes:
    body = bytes([len(name)]) + name + data
    if len(body) <= 255:
        return bytes([0x04, len(body)]) + body
    return b"\x06" + struct.pack(">Q", len(body)) + body


def properties(props: list[tuple[bytes, bytes]]) -> bytes:
    out = b""
    for name, value in props:
        out += bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return out


def ready(props: list[tuple[bytes, bytes]]) -> bytes:
    return command(b"READY", properties(props))


# --------------------------------------------------------------------------
# Tiny reader for what libzmq sends
# --------------------------------------------------------------------------


class Reader:
    """Reads exact byte counts from a blocking socket and records everything."""

    def __init__(self, sock: socket.socket, poke=None):
        self.sock = sock
        self.poke = poke or (lambda: None)
        self.buf = b""
        self.received = b""  # everything consumed, in order

    def _recv_some(self, until: float) -> bytes | None:
        """One recv with a short timeout; None if nothing arrived in time.

        Between attempts the libzmq socket is poked (ZMQ_EVENTS) so that its
        application-thread side processes pending internal commands: a bound
        libzmq socket only attaches the new pipe (and, for SUB, only then
        queues its subscriptions) when the application thread touches it.
        """
        self.sock.settimeout(max(0.01, min(0.1, until - time.monotonic())))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            self.poke()
            return None
        finally:
            self.sock.settimeout(TIMEOUT)
        if not chunk:
            raise ConnectionError(f"peer closed; buffered {self.buf.hex()}")
        return chunk

    def _fill(self, n: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while len(self.buf) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"wanted {n} bytes, have {self.buf.hex()}")
            chunk = self._recv_some(deadline)
            if chunk:
                self.buf += chunk

    def exact(self, n: int) -> bytes:
        self._fill(n)
        data, self.buf = self.buf[:n], self.buf[n:]
        self.received += data
        return data

    def available(self, window: float = QUIET_WINDOW) -> bytes:
        """Whatever arrives within ``window`` seconds (may be empty)."""
        until = time.monotonic() + window
        while time.monotonic() < until:
            try:
                chunk = self._recv_some(until)
            except ConnectionError:
                break
            if chunk:
                self.buf += chunk
        data, self.buf = self.buf, b""
        self.received += data
        return data

    def frame(self) -> dict:
        start = len(self.received)
        flags = self.exact(1)[0]
        size = struct.unpack(">Q", self.exact(8))[0] if flags & 2 else self.exact(1)[0]
        body = self.exact(size)
        return {
            "flags": flags,
            "body": body,
            "raw": self.received[start:],
        }


def parse_greeting(g: bytes) -> dict:
    return {
        "signature_hex": g[:10].hex(),
        "padding_hex": g[1:9].hex(),
        "version": [g[10], g[11]],
        "mechanism": g[12:32].rstrip(b"\x00").decode("ascii"),
        "as_server": g[32],
        "filler_all_zero": g[33:64] == b"\x00" * 31,
    }


def parse_props(data: bytes) -> list[list[str]]:
    out = []
    i = 0
    while i < len(data):
        nlen = data[i]
        name = data[i + 1 : i + 1 + nlen]
        i += 1 + nlen
        vlen = struct.unpack(">I", data[i : i + 4])[0]
        value = data[i + 4 : i + 4 + vlen]
        i += 4 + vlen
        out.append([name.decode("ascii"), value.hex()])
    return out


def describe_frame(fr: dict) -> dict:
    flags, body = fr["flags"], fr["body"]
    d: dict = {"flags": flags, "hex": fr["raw"].hex()}
    if flags & 0x04:
        nlen = body[0]
        name = body[1 : 1 + nlen].decode("ascii")
        data = body[1 + nlen :]
        d["command"] = name
        if name in ("READY", "INITIATE"):
            d["properties"] = parse_props(data)
        elif name == "HELLO":
            ulen = data[0]
            d["username"] = data[1 : 1 + ulen].decode()
            plen = data[1 + ulen]
            d["password"] = data[2 + ulen : 2 + ulen + plen].decode()
        elif name in ("SUBSCRIBE", "CANCEL"):
            d["subscription_hex"] = data.hex()
        else:
            d["data_hex"] = data.hex()
    else:
        d["message_body_hex"] = body.hex()
        d["more"] = bool(flags & 0x01)
    return d


# --------------------------------------------------------------------------
# Connection set-up in both directions
# --------------------------------------------------------------------------


class Pair:
    """A libzmq socket and a connected raw TCP socket."""

    def __init__(self, ctx: zmq.Context, zmq_type: int, role: str, setup=None):
        self.zsock = ctx.socket(zmq_type)
        self.zsock.setsockopt(zmq.LINGER, 0)
        # keep reconnection from interfering after the raw side closes
        self.zsock.setsockopt(zmq.RECONNECT_IVL, 10_000)
        if setup:
            setup(self.zsock)
        self.listener = None
        if role == "bind":
            port = self.zsock.bind_to_random_port(f"tcp://{HOST}")
            self.raw = socket.create_connection((HOST, port), timeout=TIMEOUT)
        elif role == "connect":
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.settimeout(TIMEOUT)
            self.listener.bind((HOST, 0))
            self.listener.listen(1)
            port = self.listener.getsockname()[1]
            self.zsock.connect(f"tcp://{HOST}:{port}")
            self.raw, _ = self.listener.accept()
        else:
            raise ValueError(role)
        self.raw.settimeout(TIMEOUT)
        self.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.raw, poke=lambda: self.zsock.getsockopt(zmq.EVENTS))
        self.sent = b""
        self.transcript: list[dict] = []

    def send(self, data: bytes, what: str) -> None:
        self.raw.sendall(data)
        self.sent += data
        self.transcript.append({"from": "raw", "what": what, "hex": data.hex()})

    def got(self, data: bytes, what: str) -> None:
        self.transcript.append({"from": "libzmq", "what": what, "hex": data.hex()})

    def close(self) -> None:
        self.zsock.close(linger=0)
        try:
            self.raw.close()
        finally:
            if self.listener is not None:
                self.listener.close()


SOCKET_TYPE_NAMES = {
    zmq.PUSH: "PUSH",
    zmq.PULL: "PULL",
    zmq.DEALER: "DEALER",
    zmq.ROUTER: "ROUTER",
    zmq.SUB: "SUB",
    zmq.PUB: "PUB",
    zmq.REQ: "REQ",
    zmq.REP: "REP",
    zmq.XPUB: "XPUB",
    zmq.XSUB: "XSUB",
    zmq.PAIR: "PAIR",
}

# Extra NULL handshakes recorded only to see which READY properties libzmq
# sends for each socket type: (libzmq type, type the raw side announces).
READY_SURVEY = [
    (zmq.REQ, b"REP"),
    (zmq.REP, b"REQ"),
    (zmq.DEALER, b"DEALER"),
    (zmq.ROUTER, b"DEALER"),
    (zmq.PUB, b"SUB"),
    (zmq.XPUB, b"SUB"),
    (zmq.XSUB, b"PUB"),
    (zmq.PAIR, b"PAIR"),
]


def base_record(name, role, zmq_type, mechanism, notes):
    return {
        "name": name,
        "libzmq_version": zmq.zmq_version(),
        "libzmq_role": role,
        "libzmq_socket_type": SOCKET_TYPE_NAMES[zmq_type],
        "mechanism": mechanism,
        "notes": notes,
    }


def finish(rec: dict, pair: Pair, greet: bytes, frames: list[dict], extra=None) -> dict:
    rec["our_bytes_hex"] = pair.sent.hex()
    received = pair.reader.received
    if extra:  # bytes after the handshake are reported separately
        received = received[: len(received) - len(extra)]
    rec["libzmq_bytes_hex"] = received.hex()
    rec["libzmq_greeting"] = parse_greeting(greet)
    rec["libzmq_frames"] = [describe_frame(f) for f in frames]
    rec["transcript"] = pair.transcript
    return rec


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------


def null_scenario(
    ctx,
    name,
    role,
    zmq_type,
    our_type: bytes,
    setup=None,
    our_minor=1,
    our_props_extra=(),
    read_after_ready=False,
    notes="",
):
    rec = base_record(name, role, zmq_type, "NULL", notes)
    pair = Pair(ctx, zmq_type, role, setup)
    try:
        pair.send(greeting(b"NULL", False, our_minor), "greeting")
        pair.send(ready([(b"Socket-Type", our_type), *our_props_extra]), "READY")
        greet = pair.reader.exact(64)
        pair.got(greet, "greeting")
        frames = []
        while True:
            fr = pair.reader.frame()
            frames.append(fr)
            pair.got(fr["raw"], describe_frame(fr).get("command", "message"))
            if fr["flags"] & 0x04 and fr["body"][1 : 1 + fr["body"][0]] == b"READY":
                break
        extra = None
        if read_after_ready:
            before = len(pair.reader.received)
            after = []
            fr = pair.reader.frame()
            after.append(fr)
            pair.got(fr["raw"], describe_frame(fr).get("command", "message"))
            pair.reader.available()  # anything else libzmq sends shortly after
            extra = pair.reader.received[before:]
            # every byte after libzmq's READY within the window; the first
            # frame is decoded in after_ready_frames
            rec["after_ready_bytes_hex"] = extra.hex()
            rec["after_ready_frames"] = [describe_frame(f) for f in after]
        return finish(rec, pair, greet, frames, extra)
    finally:
        pair.close()


def plain_libzmq_client(ctx, name, role, notes):
    """libzmq DEALER is a PLAIN client; the raw side is the PLAIN server."""

    def setup(s):
        s.setsockopt(zmq.PLAIN_USERNAME, b"admin")
        s.setsockopt(zmq.PLAIN_PASSWORD, b"secret")

    rec = base_record(name, role, zmq.DEALER, "PLAIN", notes)
    pair = Pair(ctx, zmq.DEALER, role, setup)
    try:
        pair.send(greeting(b"PLAIN", True), "greeting")
        greet = pair.reader.exact(64)
        pair.got(greet, "greeting")
        frames = []
        hello = pair.reader.frame()
        frames.append(hello)
        pair.got(hello["raw"], "HELLO")
        pair.send(command(b"WELCOME"), "WELCOME")
        initiate = pair.reader.frame()
        frames.append(initiate)
        pair.got(initiate["raw"], "INITIATE")
        pair.send(ready([(b"Socket-Type", b"ROUTER")]), "READY")
        rec["plain_username"] = "admin"
        rec["plain_password"] = "secret"
        return finish(rec, pair, greet, frames)
    finally:
        pair.close()


def plain_libzmq_server(ctx, name, role, notes):
    """libzmq ROUTER is a PLAIN server; raw side is the client.

    The caller must have a ZAP handler running on ``ctx`` that accepts
    admin/secret (libzmq refuses PLAIN clients when no ZAP handler exists).
    """

    def setup(s):
        s.setsockopt(zmq.PLAIN_SERVER, 1)

    rec = base_record(name, role, zmq.ROUTER, "PLAIN", notes)
    pair = Pair(ctx, zmq.ROUTER, role, setup)
    try:
        pair.send(greeting(b"PLAIN", False), "greeting")
        greet = pair.reader.exact(64)
        pair.got(greet, "greeting")
        pair.send(command(b"HELLO", b"\x05admin\x06secret"), "HELLO")
        frames = []
        welcome = pair.reader.frame()
        frames.append(welcome)
        pair.got(welcome["raw"], "WELCOME")
        pair.send(
            command(
                b"INITIATE", properties([(b"Socket-Type", b"DEALER"), (b"Identity", b"client-1")])
            ),
            "INITIATE",
        )
        rdy = pair.reader.frame()
        frames.append(rdy)
        pair.got(rdy["raw"], "READY")
        rec["plain_username"] = "admin"
        rec["plain_password"] = "secret"
        return finish(rec, pair, greet, frames)
    finally:
        pair.close()


def plain_libzmq_server_without_zap(ctx, name, role, notes):
    """Same as above but with no ZAP handler: record how libzmq refuses."""

    def setup(s):
        s.setsockopt(zmq.PLAIN_SERVER, 1)

    rec = base_record(name, role, zmq.ROUTER, "PLAIN", notes)
    pair = Pair(ctx, zmq.ROUTER, role, setup)
    try:
        pair.send(greeting(b"PLAIN", False), "greeting")
        greet = pair.reader.exact(64)
        pair.got(greet, "greeting")
        pair.send(command(b"HELLO", b"\x05admin\x06secret"), "HELLO")
        rest = pair.reader.available(1.0)
        if rest:
            pair.got(rest, "after HELLO")
        try:
            pair.raw.settimeout(1.0)
            closed = pair.raw.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionError:
            closed = True
        rec["libzmq_closed_connection_after_hello"] = closed
        rec["libzmq_bytes_after_greeting_hex"] = rest.hex()
        rec["plain_username"] = "admin"
        rec["plain_password"] = "secret"
        return finish(rec, pair, greet, [])
    finally:
        pair.close()


def staged_greeting(ctx, name, role, notes):
    """Send our greeting piecewise and record what libzmq sends at each step."""
    rec = base_record(name, role, zmq.PUSH, "NULL", notes)
    pair = Pair(ctx, zmq.PUSH, role)
    stages = []
    try:
        g = greeting(b"NULL", False, 1)

        def stage(label, to_send):
            if to_send:
                pair.send(to_send, label)
            got = pair.reader.available()
            if got:
                pair.got(got, "after " + label)
            stages.append(
                {"raw_sent_hex": to_send.hex(), "step": label, "libzmq_sent_hex": got.hex()}
            )
            return got

        stage("nothing sent yet", b"")
        stage("first 10 bytes (signature)", g[:10])
        stage("11th byte (major version)", g[10:11])
        stage("remaining 53 greeting bytes", g[11:])
        stage("READY", ready([(b"Socket-Type", b"PULL")]))
        rec["stages"] = stages
        rec["our_bytes_hex"] = pair.sent.hex()
        rec["libzmq_bytes_hex"] = pair.reader.received.hex()
        rec["libzmq_greeting"] = parse_greeting(pair.reader.received[:64])
        rec["transcript"] = pair.transcript
        return rec
    finally:
        pair.close()


# --------------------------------------------------------------------------
# Probes: how lenient or strict libzmq is with unusual input
# --------------------------------------------------------------------------


def _protocol_error_names() -> dict:
    return {getattr(zmq, n): n for n in dir(zmq) if n.startswith("PROTOCOL_ERROR_")}


def _event_names() -> dict:
    return {
        getattr(zmq, n): n[len("EVENT_") :]
        for n in dir(zmq)
        if n.startswith("EVENT_")
        and n not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")
        and isinstance(getattr(zmq, n), int)
    }


def probe(ctx, name, zmq_type, chunks, notes: str) -> dict:
    """libzmq binds.  The raw side first reads libzmq's 10-byte signature
    (always sent unprompted), then sends each ``(data, record)`` chunk in one
    write and collects what libzmq sends within a short window.  Also
    records libzmq's socket-monitor events (event names, plus the protocol
    error name for handshake failures), whether the connection was closed,
    and the messages handed to the application.

    ``record=False`` marks a reply that cannot be captured reliably: when
    libzmq aborts a connection with unread input it resets it (RST), and the
    kernel may then discard bytes libzmq had sent but the raw side had not
    yet read.  Such replies are drained but stored as null; the monitor
    events are what document the outcome.
    """
    from zmq.utils.monitor import recv_monitor_message

    rec = base_record(name, "bind", zmq_type, "NULL", notes)
    pair = Pair(ctx, zmq_type, "bind")
    mon = pair.zsock.get_monitor_socket(
        zmq.EVENT_HANDSHAKE_SUCCEEDED
        | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | zmq.EVENT_DISCONNECTED
    )
    try:
        signature = pair.reader.exact(10)
        recorded = signature
        stages = [{"raw_sent_hex": "", "libzmq_sent_hex": signature.hex()}]
        for data, record in chunks:
            try:
                pair.send(data, "probe bytes")
            except ConnectionError:
                pass
            try:
                got = pair.reader.available(1.0)
            except ConnectionError:
                got = b""
            if record:
                recorded += got
            stages.append(
                {"raw_sent_hex": data.hex(), "libzmq_sent_hex": got.hex() if record else None}
            )
        try:
            pair.raw.settimeout(0.3)
            closed = pair.raw.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionError:
            closed = True
        delivered = []
        while True:
            try:
                delivered.append([f.hex() for f in pair.zsock.recv_multipart(zmq.NOBLOCK)])
            except zmq.Again:
                break
            except zmq.ZMQError:  # socket types that cannot receive
                break
        events = []
        perr, enames = _protocol_error_names(), _event_names()
        while mon.poll(200):
            ev = recv_monitor_message(mon)
            label = enames.get(ev["event"], str(ev["event"]))
            if ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                label += ":" + perr.get(ev["value"], str(ev["value"]))
            events.append(label)
        rec["stages"] = stages
        rec["our_bytes_hex"] = pair.sent.hex()
        rec["libzmq_bytes_hex"] = recorded.hex()
        rec["libzmq_bytes_complete"] = all(r for _, r in chunks)
        rec["libzmq_closed_connection"] = closed
        rec["libzmq_monitor_events"] = events
        rec["messages_delivered_to_application_hex"] = delivered
        return rec
    finally:
        pair.zsock.disable_monitor()
        mon.close(linger=0)
        pair.close()


def run_probes(ctx) -> list[dict]:
    g31 = greeting(b"NULL", False, 1)
    ready_push = ready([(b"Socket-Type", b"PUSH")])
    ping = command(b"PING", b"\x00\x00abc")
    msg_b = b"\x00\x01B"
    return [
        probe(
            ctx,
            "probe_socket_type_mismatch_exact_spelling",
            zmq.PULL,
            [(g31, True), (ready([(b"Socket-Type", b"PULL")]), True)],
            "Raw side claims PULL (incompatible with PULL) using the exact spelling "
            "'Socket-Type'. Shows whether libzmq enforces the compatibility table.",
        ),
        probe(
            ctx,
            "probe_socket_type_mismatch_lowercase_name",
            zmq.PULL,
            [(g31, True), (ready([(b"socket-type", b"PULL")]), True)],
            "Same incompatible claim but the property is spelled 'socket-type'. If the "
            "handshake succeeds, libzmq matched the name case-sensitively and ignored it.",
        ),
        probe(
            ctx,
            "probe_ready_without_properties",
            zmq.PULL,
            [(g31, True), (ready([]), True)],
            "READY with no Socket-Type at all. Shows whether libzmq requires the property.",
        ),
        probe(
            ctx,
            "probe_message_in_same_write_as_greeting_and_ready",
            zmq.PULL,
            [(g31 + ready_push + msg_b, False)],
            "Greeting, READY and a one-frame message in a single write, so the message "
            "reaches libzmq before libzmq has sent its own READY.",
        ),
        probe(
            ctx,
            "probe_message_in_same_write_as_ready",
            zmq.PULL,
            [(g31, True), (ready_push + msg_b, True)],
            "Greeting first; READY and a message together only after libzmq has sent its "
            "greeting and READY.",
        ),
        probe(
            ctx,
            "probe_message_after_libzmq_ready",
            zmq.PULL,
            [(g31 + ready_push, True), (msg_b, True)],
            "Greeting and READY together, the message only after libzmq's READY was read.",
        ),
        probe(
            ctx,
            "probe_reserved_flag_bits_in_message",
            zmq.PULL,
            [(g31 + ready_push, True), (b"\x80\x01A" + msg_b, True)],
            "After the handshake, a frame with reserved flag bit 7 set, then a normal "
            "frame. Shows whether libzmq validates reserved bits.",
        ),
        probe(
            ctx,
            "probe_command_frame_with_more_flag",
            zmq.PULL,
            [(g31 + ready_push, True), (b"\x05" + ping[1:] + msg_b, True)],
            "After the handshake, a PING command frame with the MORE bit set (flags "
            "0x05), then a message. Shows how libzmq treats the forbidden combination.",
        ),
        probe(
            ctx,
            "probe_ping_is_answered_with_pong",
            zmq.PULL,
            [(g31 + ready_push, True), (ping, True)],
            "After the handshake, PING with TTL 0 and context 'abc'; libzmq's PONG "
            "shows the echoed context.",
        ),
        probe(
            ctx,
            "probe_as_server_octet_ff",
            zmq.PULL,
            [(g31[:32] + b"\xff" + g31[33:] + ready_push, True)],
            "Greeting whose as-server octet is 0xFF. Shows whether libzmq checks it.",
        ),
        probe(
            ctx,
            "probe_peer_major_version_2",
            zmq.PULL,
            [(g31[:10] + b"\x02\x00" + g31[12:], True)],
            "Full greeting with major version 2 (no READY sent). Records whether libzmq "
            "refuses it, downgrades, or carries on as with a 3.x peer.",
        ),
        probe(
            ctx,
            "probe_peer_major_version_1",
            zmq.PULL,
            [(g31[:10] + b"\x01", True)],
            "Only the signature and a version octet of 1 (the revision number real "
            "ZMTP 2.0 peers send). Records libzmq's downgrade reply.",
        ),
    ]


def derive_observations(captures: list[dict], probes: list[dict]) -> dict:
    """Facts computed from this run's bytes (not hard-coded claims)."""
    by_name = {c["name"]: c for c in captures}
    obs: dict = {}

    for role in ("bind", "connect"):
        st = by_name.get(f"null_greeting_staging_libzmq_{role}")
        if not st:
            continue
        steps = [bytes.fromhex(s["libzmq_sent_hex"]) for s in st["stages"]]
        obs[f"greeting_order_libzmq_{role}"] = {
            "bytes_sent_before_peer_sent_anything": len(steps[0]),
            "bytes_sent_after_peer_signature": steps[1].hex(),
            "bytes_sent_after_peer_major_version": len(steps[2]),
            "ready_sent_before_peer_ready": len(steps[3]) > 0
            and steps[3][0] == 0x04
            and b"READY" in steps[3],
        }

    obs["signature_padding_hex_by_capture"] = {
        c["name"]: c["libzmq_greeting"]["padding_hex"] for c in captures if "libzmq_greeting" in c
    }
    obs["greeting_version_by_capture"] = {
        c["name"]: c["libzmq_greeting"]["version"] for c in captures if "libzmq_greeting" in c
    }
    obs["greeting_as_server_by_capture"] = {
        c["name"]: c["libzmq_greeting"]["as_server"]
        for c in captures
        if "libzmq_greeting" in c and c["mechanism"] == "PLAIN"
    }

    props = {}
    for c in captures:
        for fr in c.get("libzmq_frames", []):
            if fr.get("command") in ("READY", "INITIATE"):
                key = f"{c['libzmq_socket_type']} {c['mechanism']} {fr['command']}"
                seen = props.setdefault(key, [])
                if fr["properties"] not in seen:
                    seen.append(fr["properties"])
    # socket type + mechanism + command -> distinct [name, value_hex] lists
    obs["metadata_properties_sent"] = props

    for minor in (1, 0):
        for role in ("bind", "connect"):
            c = by_name.get(f"null_sub_peer_zmtp3{minor}_libzmq_{role}")
            if c and "after_ready_bytes_hex" in c:
                obs[f"sub_subscription_to_zmtp3{minor}_peer_libzmq_{role}"] = c[
                    "after_ready_bytes_hex"
                ]

    for role in ("bind", "connect"):
        c = by_name.get(f"plain_server_without_zap_libzmq_{role}")
        if c:
            obs[f"plain_server_without_zap_libzmq_{role}"] = {
                "closed_after_hello": c["libzmq_closed_connection_after_hello"],
                "bytes_after_greeting_hex": c["libzmq_bytes_after_greeting_hex"],
            }

    obs["probe_outcomes"] = {
        p["name"]: {
            "closed": p["libzmq_closed_connection"],
            "monitor_events": p["libzmq_monitor_events"],
            "delivered": p["messages_delivered_to_application_hex"],
            "last_reply_hex": p["stages"][-1]["libzmq_sent_hex"],
        }
        for p in probes
    }
    return obs


def main() -> int:
    if hasattr(signal, "alarm"):
        # last-resort guard: the whole run takes a few seconds normally
        signal.alarm(OVERALL_TIMEOUT)
    ctx = zmq.Context()
    captures = []
    probes = []
    try:
        for role in ("bind", "connect"):
            captures.append(
                staged_greeting(
                    ctx,
                    f"null_greeting_staging_libzmq_{role}",
                    role,
                    "Raw side sends its greeting in pieces (signature, major version, rest, "
                    "then READY) and records what libzmq sends after each piece within a "
                    f"{QUIET_WINDOW}s window. Shows libzmq's version negotiation order.",
                )
            )
            captures.append(
                null_scenario(
                    ctx,
                    f"null_push_libzmq_{role}",
                    role,
                    zmq.PUSH,
                    b"PULL",
                    notes="libzmq PUSH, raw side announces PULL with a ZMTP 3.1 greeting.",
                )
            )
            captures.append(
                null_scenario(
                    ctx,
                    f"null_pull_libzmq_{role}",
                    role,
                    zmq.PULL,
                    b"PUSH",
                    notes="libzmq PULL, raw side announces PUSH with a ZMTP 3.1 greeting.",
                )
            )
            captures.append(
                null_scenario(
                    ctx,
                    f"null_dealer_routing_id_libzmq_{role}",
                    role,
                    zmq.DEALER,
                    b"ROUTER",
                    setup=lambda s: s.setsockopt(zmq.ROUTING_ID, b"dealer-1"),
                    notes="libzmq DEALER with routing id b'dealer-1'; raw side announces ROUTER. "
                    "The READY carries the Identity property.",
                )
            )
            captures.append(
                null_scenario(
                    ctx,
                    f"null_sub_peer_zmtp31_libzmq_{role}",
                    role,
                    zmq.SUB,
                    b"PUB",
                    setup=lambda s: s.setsockopt(zmq.SUBSCRIBE, b"weather"),
                    our_minor=1,
                    read_after_ready=True,
                    notes="libzmq SUB subscribed to b'weather'; raw side announces PUB with a "
                    "ZMTP 3.1 greeting. after_ready_* shows how the subscription is sent. "
                    "A bound libzmq socket only queues subscriptions once its application "
                    "thread handles the new pipe, so the script polls ZMQ_EVENTS while "
                    "waiting.",
                )
            )
            captures.append(
                null_scenario(
                    ctx,
                    f"null_sub_peer_zmtp30_libzmq_{role}",
                    role,
                    zmq.SUB,
                    b"PUB",
                    setup=lambda s: s.setsockopt(zmq.SUBSCRIBE, b"weather"),
                    our_minor=0,
                    read_after_ready=True,
                    notes="libzmq SUB subscribed to b'weather'; raw side announces PUB with a "
                    "ZMTP 3.0 greeting (minor version 0). after_ready_* shows how the "
                    "subscription is sent to a 3.0 peer.",
                )
            )
            captures.append(
                plain_libzmq_client(
                    ctx,
                    f"plain_client_libzmq_{role}",
                    role,
                    "libzmq DEALER as PLAIN client (admin/secret); raw side is PLAIN server "
                    "(as-server=1): reads HELLO, sends WELCOME, reads INITIATE, sends READY.",
                )
            )
            captures.append(
                plain_libzmq_server_without_zap(
                    ctx,
                    f"plain_server_without_zap_libzmq_{role}",
                    role,
                    "libzmq ROUTER as PLAIN server with NO ZAP handler installed; raw side "
                    "sends greeting and HELLO admin/secret. Records whether libzmq answers.",
                )
            )
        for ztype, peer in READY_SURVEY:
            tname = SOCKET_TYPE_NAMES[ztype].lower()
            captures.append(
                null_scenario(
                    ctx,
                    f"null_ready_survey_{tname}_libzmq_bind",
                    "bind",
                    ztype,
                    peer,
                    notes=f"READY property survey: libzmq {tname.upper()} with default options "
                    f"(no routing id), raw side announces {peer.decode()}.",
                )
            )
        probes = run_probes(ctx)
        # PLAIN server scenarios need a ZAP handler; use a separate context so
        # that the handler cannot influence the NULL scenarios above.
        from zmq.auth.thread import ThreadAuthenticator

        zap_ctx = zmq.Context()
        auth = ThreadAuthenticator(zap_ctx)
        auth.start()
        try:
            auth.configure_plain(domain="*", passwords={"admin": "secret"})
            for role in ("bind", "connect"):
                captures.append(
                    plain_libzmq_server(
                        zap_ctx,
                        f"plain_server_libzmq_{role}",
                        role,
                        "libzmq ROUTER as PLAIN server with a ZAP handler (pyzmq "
                        "ThreadAuthenticator) accepting admin/secret; raw side is the PLAIN "
                        "client: sends HELLO, reads WELCOME, sends INITIATE, reads READY.",
                    )
                )
        finally:
            auth.stop()
            zap_ctx.term()
    finally:
        ctx.term()

    doc = {
        "description": (
            "Bytes recorded from a real libzmq peer (through pyzmq) talking to a scripted "
            "raw TCP socket. Generated by interop/capture_libzmq.py; regenerate rather "
            "than edit by hand."
        ),
        "pyzmq_version": zmq.__version__,
        "libzmq_version": zmq.zmq_version(),
        "observations": derive_observations(captures, probes),
        "captures": captures,
        "probes": probes,
    }
    text = json.dumps(doc, indent=2) + "\n"
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
    else:
        OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
        OUT_PATH.write_text(text)
        print(f"wrote {len(captures)} captures to {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
