"""The error hierarchy speaks pyzmq: ``zmtp.ZMQError`` is the base of every zmtp error,
each class carries the errno pyzmq reports for the same situation, and
``except zmq.ZMQError as e: if e.errno == zmq.EAGAIN`` ports as is.

pyzmq is the reference for names, numbers and constructor forms; the messages are
zmtp's own (they name the rule that was broken).
"""

from __future__ import annotations

import errno
import gc
import os
import pickle
import weakref

import pytest
import zmq

import zmtp
from zmtp.errors import detached

# ---------------------------------------------------------------------------------------
# pyzmq's names


def test_zmqerror_is_pyzmqs_name_for_the_base_of_every_zmtp_error() -> None:
    assert zmtp.ZMQError is zmtp.ZMTPError
    assert zmtp.ZMQBaseError is zmtp.ZMTPError
    for name in zmtp.errors.__all__:
        value = getattr(zmtp.errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, zmtp.ZMQError), name


@pytest.mark.parametrize(
    ("cls", "pyzmq_errno"),
    [
        (zmtp.Again, zmq.EAGAIN),
        (zmtp.HostUnreachable, zmq.EHOSTUNREACH),
        (zmtp.SocketClosed, zmq.ENOTSOCK),
        (zmtp.ContextTerminated, zmq.ETERM),
        (zmtp.InvalidState, zmq.EFSM),
        (zmtp.ZMTPValueError, zmq.EINVAL),
        (zmtp.ZMTPTypeError, zmq.EINVAL),
        (zmtp.FrameTypeError, zmq.EINVAL),
        (zmtp.MechanismUnavailable, zmq.ENOTSUP),
        (zmtp.BindError, zmq.EADDRINUSE),
    ],
)
def test_each_error_carries_the_errno_pyzmq_reports(
    cls: type[zmtp.ZMTPError], pyzmq_errno: int
) -> None:
    assert cls.errno == pyzmq_errno
    if cls is not zmtp.BindError:
        assert cls("why").errno == pyzmq_errno
        assert cls().errno == pyzmq_errno


def test_again_ports_as_pyzmq_code_catches_it() -> None:
    def recv_nowait() -> bytes:
        raise zmtp.Again("no message is waiting")

    try:
        recv_nowait()
    except zmtp.ZMQError as e:
        assert e.errno == zmtp.EAGAIN
        assert isinstance(e, zmtp.Again)
    else:  # pragma: no cover
        raise AssertionError("Again was not raised")


def test_protocol_errors_have_the_platforms_protocol_errno() -> None:
    assert zmtp.ProtocolError("bad frame", rfc=23).errno == errno.EPROTO
    assert zmtp.HandshakeError("bad greeting").errno == errno.EPROTO
    assert zmtp.PeerError("refused", peer_reason="400").errno == errno.EPROTO
    assert zmtp.AuthenticationFailed("refused", status_code="400").errno == errno.EACCES


# ---------------------------------------------------------------------------------------
# Constructed as pyzmq's ZMQError


@pytest.mark.parametrize("number", [zmq.EAGAIN, zmq.EINVAL, zmq.EHOSTUNREACH, zmq.EADDRINUSE])
def test_zmqerror_of_an_errno_reads_as_pyzmqs(number: int) -> None:
    ours, theirs = zmtp.ZMQError(number), zmq.ZMQError(number)
    assert ours.errno == theirs.errno == number
    # The system's description (libzmq words a few of them its own way).
    assert str(ours) == ours.strerror == os.strerror(number)


def test_zmqerror_takes_an_errno_and_a_message() -> None:
    e = zmtp.ZMQError(zmtp.EFSM, "REQ must receive the reply first")
    assert e.errno == zmtp.EFSM
    assert str(e) == e.strerror == "REQ must receive the reply first"


def test_zmqerror_of_a_message_alone_has_the_classs_errno() -> None:
    assert zmtp.ZMQError("something failed").errno is None
    assert str(zmtp.ZMQError("something failed")) == "something failed"
    assert zmtp.ZMTPValueError("bad endpoint").errno == zmtp.EINVAL


def test_zeromqs_own_errnos_have_descriptions() -> None:
    for number in (zmtp.EFSM, zmtp.ENOCOMPATPROTO, zmtp.ETERM, zmtp.EMTHREAD):
        text = zmtp.strerror(number)
        assert text and "Unknown error" not in text, number
        assert str(zmtp.ZMQError(number)) == text


def test_protocol_errors_name_the_rule_and_section() -> None:
    e = zmtp.ProtocolError("reserved flag bits set", rfc=23, section="Framing")
    assert str(e) == "reserved flag bits set (RFC 23 Framing)"
    assert (e.reason, e.rfc, e.section) == ("reserved flag bits set", 23, "Framing")


def test_user_errors_are_also_the_builtin_errors_python_code_expects() -> None:
    assert issubclass(zmtp.ZMTPValueError, ValueError)
    assert issubclass(zmtp.ZMTPTypeError, TypeError)
    assert issubclass(zmtp.FrameTypeError, zmtp.ZMTPTypeError)
    assert issubclass(zmtp.ContextTerminated, zmtp.SocketClosed)


# ---------------------------------------------------------------------------------------
# A failed bind


def test_a_failed_bind_is_an_oserror_with_the_systems_errno_and_the_endpoint() -> None:
    e = zmtp.BindError(errno.EADDRNOTAVAIL, "no such address", endpoint="tcp://10.9.9.9:1")
    assert isinstance(e, OSError)
    assert isinstance(e, zmtp.ZMQError)
    assert e.errno == errno.EADDRNOTAVAIL
    assert e.endpoint == "tcp://10.9.9.9:1"
    assert str(e) == "cannot bind tcp://10.9.9.9:1: no such address"
    assert zmtp.ZMQBindError is zmtp.BindError
    with pytest.raises(OSError) as info:
        raise zmtp.BindError(errno.EADDRINUSE, "address in use", endpoint="ipc:///x")
    assert info.value.errno == errno.EADDRINUSE


# ---------------------------------------------------------------------------------------
# Copies and pickles


@pytest.mark.parametrize(
    "error",
    [
        zmtp.Again(),
        zmtp.ZMQError(zmtp.ETERM, "gone"),
        zmtp.ProtocolError("bad size", rfc=23, section="Framing"),
        zmtp.AuthenticationFailed("refused", status_code="400", rfc=27),
        zmtp.PeerError("peer sent ERROR", peer_reason="400", rfc=23),
        zmtp.BindError(errno.EADDRINUSE, "in use", endpoint="tcp://127.0.0.1:5555"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling_and_detaching_with_their_fields(error: zmtp.ZMTPError) -> None:
    for copy in (pickle.loads(pickle.dumps(error)), detached(error)):
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.errno == error.errno
        assert vars(copy) == vars(error)


def test_a_detached_error_keeps_no_frame_alive() -> None:
    class Holder:
        pass

    def fail(holder: Holder) -> None:
        raise zmtp.ProtocolError("broken", rfc=23)

    holder = Holder()
    try:
        fail(holder)
    except zmtp.ProtocolError as exc:
        holder.error = detached(exc)  # type: ignore[attr-defined]
    assert holder.error.__traceback__ is None  # type: ignore[attr-defined]
    died: list[bool] = []
    probe = weakref.ref(holder, lambda _: died.append(True))
    gc.disable()
    try:
        del holder
        assert died == [True], "the holder outlived its last reference"
    finally:
        gc.enable()
    assert probe() is None
