"""``zmtp conform`` against libzmq (through pyzmq): every socket type passes.

libzmq runs the application the probe expects of a peer (echo, request loop,
publisher, ...) on a thread; the probe runs in the test. Nothing may fail, and the
only warnings are libzmq's known departures, each named by the check:

* ``greeting.partial-first``: libzmq sends its 10-octet signature and waits for ours
  before it sends its major version (RFC 37 asks for 11 octets);
* ``handshake.incompatible-type``: it closes without the ERROR RFC 37 recommends;
* ``handshake.bad-command``: likewise, it closes without saying why;
* ``framing.reserved-bits`` and ``framing.command-more``: it ignores reserved flag
  bits and MORE on commands instead of dropping the connection;
* ``pubsub.pub.not-idempotent``: a repeated subscription from one subscriber counts
  once;
* ``greeting.as-server``: as a PLAIN or CURVE server it still sends as-server 0;
* ``plain.wrong-password``: its PLAIN server's ERROR name size octet is 0x5E.
"""

from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from zmtp import SocketType
from zmtp.conform import Options, Outcome, Report, run

pytestmark = pytest.mark.interop

T = SocketType
ALL_TYPES = ["REQ", "REP", "DEALER", "ROUTER", "PUB", "XPUB", "SUB", "XSUB", "PUSH", "PULL", "PAIR"]
#: The warnings libzmq 4.3 earns, each for a known departure (see the module doc).
LIBZMQ_QUIRKS = {
    "greeting.partial-first",
    "handshake.incompatible-type",
    "handshake.bad-command",
    "framing.reserved-bits",
    "framing.command-more",
    "pubsub.pub.not-idempotent",
    "greeting.as-server",
    "plain.wrong-password",
}
MAXMSGSIZE = 100_000


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _app(
    sock: zmq.Socket[Any],
    kind: str,
    stop: threading.Event,
    ctx: zmq.Context[Any],
    feedback: str | None,
) -> None:
    """What ``zmtp conform --help`` asks of the peer's application, on libzmq."""
    sock.setsockopt(zmq.RCVTIMEO, 50)
    sock.setsockopt(zmq.SNDTIMEO, 50)
    if kind in ("REP", "ROUTER", "DEALER", "PAIR"):
        while not stop.is_set():
            try:
                msg = sock.recv_multipart()
            except zmq.Again:
                continue
            try:
                sock.send_multipart(msg)
            except zmq.Again:
                pass
    elif kind == "REQ":
        sock.setsockopt(zmq.REQ_RELAXED, 1)
        body, pending, sent_at = [b"conform-start"], False, 0.0
        while not stop.is_set():
            if not pending or time.monotonic() - sent_at > 1.0:
                try:
                    sock.send_multipart(body)
                    pending, sent_at = True, time.monotonic()
                except zmq.Again:
                    continue
            try:
                body, pending = sock.recv_multipart(), False
            except zmq.Again:
                pass
            except zmq.ZMQError as exc:
                # EFSM: no request is outstanding any more. A relaxed REQ forgets the
                # one it waited on as soon as a new send begins, even one that then
                # timed out; send again rather than let this thread die.
                if exc.errno != zmq.EFSM:
                    raise
                pending = False
    elif kind in ("PUSH", "PUB", "XPUB"):
        topics, n = (b"alpha", b"beta", b"gamma"), 0
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while not stop.is_set():
            n += 1
            try:
                sock.send(topics[n % 3] + b" %d" % n)
            except zmq.Again:
                pass
            # pacing: a steady stream; the poll also lets a bound libzmq socket attach
            # new peers (and an XPUB's subscriptions are read).
            if n % 20 == 0 and poller.poll(1) and kind == "XPUB":
                sock.recv(zmq.NOBLOCK)
    elif kind in ("SUB", "XSUB"):
        if kind == "SUB":
            sock.setsockopt(zmq.SUBSCRIBE, b"alpha")
        else:
            sock.send(b"\x01alpha")
        while not stop.is_set():
            try:
                sock.recv_multipart()
            except zmq.Again:
                pass
    elif kind == "PULL":
        forward = ctx.socket(zmq.PUSH)
        forward.setsockopt(zmq.LINGER, 0)
        assert feedback is not None
        forward.connect(feedback)
        while not stop.is_set():
            try:
                msg = sock.recv_multipart()
            except zmq.Again:
                continue
            forward.send_multipart(msg)
        forward.close()
    sock.close()


@contextmanager
def libzmq_peer(
    kind: str,
    feedback: str | None = None,
    context: zmq.Context[Any] | None = None,
    **options: Any,
) -> Iterator[str]:
    """A bound libzmq socket of ``kind`` with its application running; its context is
    ``context`` (where a ZAP handler may be installed) or one of its own."""
    ctx = context or zmq.Context()
    sock = ctx.socket(getattr(zmq, kind))
    sock.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    sock.bind("tcp://127.0.0.1:*")
    endpoint = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
    stop = threading.Event()
    thread = threading.Thread(target=_app, args=(sock, kind, stop, ctx, feedback), daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join(5)
        if context is None:
            ctx.destroy(linger=0)


def trouble(report: Report) -> list[tuple[str, str, str, str]]:
    """Failures, and warnings other than libzmq's known departures."""
    return [
        (r.id, r.outcome.value, r.expected, r.seen)
        for r in report.results
        if r.outcome is Outcome.FAIL or (r.outcome is Outcome.WARN and r.id not in LIBZMQ_QUIRKS)
    ]


def probe(kind: str) -> Report:
    feedback = free_endpoint() if kind == "PULL" else None
    with libzmq_peer(kind, feedback, MAXMSGSIZE=MAXMSGSIZE) as endpoint:
        return run(
            Options(endpoint, T[kind], feedback=feedback, maxmsgsize=MAXMSGSIZE, hostile=True)
        )


@pytest.fixture(scope="module")
def reports() -> dict[str, concurrent.futures.Future[Report]]:
    """Every socket type's run, four at a time: they mostly wait on the wire."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return {kind: pool.submit(probe, kind) for kind in ALL_TYPES}


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_libzmq_passes_every_check(
    kind: str, reports: dict[str, concurrent.futures.Future[Report]]
) -> None:
    report = reports[kind].result()
    print(f"\n{kind}: {report.summary()}")
    assert trouble(report) == []
    assert [r.id for r in report.results if r.outcome is Outcome.SKIP] == []
    assert sum(r.outcome is Outcome.PASS for r in report.results) >= 30


@pytest.fixture
def authenticator() -> Iterator[ThreadAuthenticator]:
    """A ZAP handler (RFC 27) in a context of its own; peers must use that context."""
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    yield auth
    auth.stop()
    ctx.destroy(linger=0)


def test_libzmq_plain_server(authenticator: ThreadAuthenticator) -> None:
    authenticator.configure_plain(domain="conform", passwords={"alice": "secret"})
    with libzmq_peer(
        "REP", context=authenticator.context, PLAIN_SERVER=1, ZAP_DOMAIN=b"conform"
    ) as endpoint:
        report = run(
            Options(endpoint, T.REP, mechanism="plain", username=b"alice", password=b"secret")
        )
    print(f"\nREP over PLAIN: {report.summary()}")
    assert trouble(report) == []
    outcome = {r.id: r for r in report.results}
    assert outcome["plain.handshake"].outcome is Outcome.PASS
    # Refused with its status code, in libzmq's misspelt ERROR.
    assert outcome["plain.wrong-password"].outcome is Outcome.WARN
    assert "400" in outcome["plain.wrong-password"].seen


def test_libzmq_curve_server(authenticator: ThreadAuthenticator, tmp_path: Path) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    (tmp_path / "client.key").write_text(
        f'metadata\ncurve\n    public-key = "{client_public.decode()}"\n'
    )
    authenticator.configure_curve(domain="conform", location=str(tmp_path))
    with libzmq_peer(
        "REP",
        context=authenticator.context,
        CURVE_SERVER=1,
        CURVE_SECRETKEY=server_secret,
        ZAP_DOMAIN=b"conform",
    ) as endpoint:
        report = run(
            Options(
                endpoint,
                T.REP,
                mechanism="curve",
                server_key=server_public,
                public_key=client_public,
                secret_key=client_secret,
                hostile=True,
            )
        )
    print(f"\nREP over CURVE: {report.summary()}")
    assert trouble(report) == []
    outcome = {r.id: r.outcome for r in report.results}
    for check in (
        "curve.handshake",
        "curve.wrong-server-key",
        "curve.replayed-nonce",
        "curve.reordered-nonce",
    ):
        assert outcome[check] is Outcome.PASS, check
    # The ZAP handler knows one client key: a fresh one is refused.
    assert outcome["zap.unknown-client-key"] is Outcome.PASS
