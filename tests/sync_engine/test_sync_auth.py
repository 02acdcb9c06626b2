"""``zmtp.sync.auth``: the ZAP handler (RFC 27) served from a thread of its own, as
pyzmq's ``ThreadAuthenticator``: started, configured while it runs, stopped, and ended
by ``ctx.term()``. (The rules themselves run on every engine in
``tests/engine/test_security.py``.)"""

from __future__ import annotations

import pytest
from sync_helpers import TIMEOUT_MS

import zmtp.sync as zmq
from zmtp.sync.auth import Authenticator, ThreadAuthenticator

OUTCOME = zmq.Event.HANDSHAKE_SUCCEEDED | zmq.Event.HANDSHAKE_FAILED_AUTH


def plain_attempt(ctx: zmq.Context, endpoint: str, password: str) -> zmq.MonitorEvent:
    """Connect a PLAIN client with ``password`` and return its handshake's outcome."""
    client = ctx.socket(zmq.PUSH, plain_username="admin", plain_password=password)
    with client.monitor(OUTCOME) as monitor:
        client.connect(endpoint)
        outcome = monitor.receive(TIMEOUT_MS)
    client.close()
    return outcome


def test_the_thread_authenticator_admits_the_configured_password_and_refuses_others(
    ctx: zmq.Context,
) -> None:
    assert ThreadAuthenticator is Authenticator  # pyzmq's name
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        assert auth.is_alive()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})  # while it runs
        server = ctx.socket(zmq.PULL, plain_server=True)
        endpoint = server.bind("tcp://127.0.0.1:*")
        refused = plain_attempt(ctx, endpoint, "guess")
        assert (refused.event, refused.value) == (zmq.Event.HANDSHAKE_FAILED_AUTH, 400)
        admitted = ctx.socket(zmq.PUSH, plain_username="admin", plain_password="secret")
        admitted.connect(endpoint)
        admitted.send(b"signed")
        frame = server.recv(copy=False)
        assert (frame.bytes, frame.get("User-Id")) == (b"signed", "admin")
    finally:
        auth.stop()
    assert not auth.is_alive()


def test_a_stopped_authenticator_leaves_a_plain_server_refusing_everyone(
    ctx: zmq.Context,
) -> None:
    with Authenticator(ctx) as auth:
        auth.configure_plain(passwords={"admin": "secret"})
    server = ctx.socket(zmq.PULL, plain_server=True)
    endpoint = server.bind("tcp://127.0.0.1:*")
    refused = plain_attempt(ctx, endpoint, "secret")
    assert refused.event == zmq.Event.HANDSHAKE_FAILED_AUTH  # no handler: libzmq's rule


def test_a_second_authenticator_in_one_context_fails_to_bind(ctx: zmq.Context) -> None:
    with Authenticator(ctx), pytest.raises(zmq.ZMTPError, match="already bound"):
        Authenticator(ctx).start()


def test_terminating_the_context_ends_the_authenticators_thread() -> None:
    ctx = zmq.Context()
    auth = Authenticator(ctx)
    auth.start()
    ctx.term()
    auth.stop()  # returns: the thread already ended with the context
    assert not auth.is_alive()
