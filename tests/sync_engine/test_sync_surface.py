"""The names a ported program reaches for: every pyzmq constant on ``zmtp.sync`` with
pyzmq's value, pyzmq's public functions and classes, and types that check in users'
code under ``mypy --strict``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import zmtp
import zmtp.sync

zmq = pytest.importorskip("zmq", reason="pyzmq is not installed (pip install pyzmq)")


def _pyzmq_constants() -> list[tuple[str, int]]:
    return sorted(
        (name, int(value))
        for name, value in vars(zmq.constants).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, int)
        if name != "TYPE_CHECKING"
    )


def test_every_pyzmq_constant_is_on_zmtp_sync_with_pyzmqs_value() -> None:
    missing = [name for name, _ in _pyzmq_constants() if not hasattr(zmtp.sync, name)]
    assert missing == []
    wrong = [
        (name, value, getattr(zmtp.sync, name))
        for name, value in _pyzmq_constants()
        if int(getattr(zmtp.sync, name)) != value
    ]
    assert wrong == []


PYZMQ_NAMES = [
    "Again",
    "Context",
    "ContextTerminated",
    "Frame",
    "Message",
    "MessageTracker",
    "Poller",
    "Socket",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "curve_keypair",
    "curve_public",
    "device",
    "has",
    "proxy",
    "select",
    "strerror",
    "zmq_version",
    "zmq_version_info",
]


@pytest.mark.parametrize("name", PYZMQ_NAMES)
def test_pyzmqs_public_names_exist_and_are_listed(name: str) -> None:
    assert hasattr(zmq, name)  # the list is pyzmq's
    assert hasattr(zmtp.sync, name)
    assert name in zmtp.sync.__all__


def test_errors_are_the_one_zmtp_hierarchy() -> None:
    assert zmtp.sync.ZMQError is zmtp.ZMTPError is zmtp.sync.ZMQBaseError
    assert issubclass(zmtp.sync.GreenThreadsUnsupported, zmtp.ZMTPError)
    assert zmtp.sync.Again.errno == zmq.EAGAIN
    assert zmtp.sync.ContextTerminated.errno == zmq.ETERM


_TYPED_SAMPLE = """\
import zmtp.sync as zmq

context = zmq.Context()
socket = context.socket(zmq.REQ)
endpoint: str = socket.bind("tcp://127.0.0.1:*")
socket.send(b"Hello")
reply: bytes = socket.recv()
frame: zmq.Frame = socket.recv(copy=False)
parts: list[bytes] = socket.recv_multipart()
text: str = socket.recv_string()
ready: list[tuple[object, int]] = zmq.Poller().poll(100)
socket.linger = 0
socket.RCVTIMEO = 2000
event: zmq.MonitorEvent = socket.monitor().receive(timeout=10)
wrong: str = socket.recv()  # E1
socket.sndhwm = "ten"  # E2
socket.send_string(b"bytes")  # E3
"""


def test_a_user_program_type_checks_under_mypy_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy (a test dependency) is not installed")
    sample = tmp_path / "sample.py"
    sample.write_text(_TYPED_SAMPLE, encoding="utf-8")
    monkeypatch.setenv("MYPYPATH", str(Path(zmtp.__file__).parents[1]))
    out, err, _ = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(sample)]
    )
    lines = _TYPED_SAMPLE.splitlines()
    flagged = {int(m.group(1)) for m in re.finditer(r"sample\.py:(\d+): error", out)}
    expected = {i + 1 for i, line in enumerate(lines) if "# E" in line}
    assert flagged == expected, out + err
