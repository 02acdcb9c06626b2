"""pyzmq's constants, name by name, with pyzmq's values: what a ported program reaches
for first (``zmq.SUBSCRIBE``, ``zmq.RCVMORE``, ``zmq.EAGAIN``, ...).

pyzmq's enums are the reference; each of their members must exist on ``zmtp`` (and in
``zmtp.constants``) with the same integer. Also here: what ``import zmtp`` costs and
shows (no trio, a clean ``dir``), and the ``py.typed`` marker.
"""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import pytest
import zmq

import zmtp
import zmtp.constants

_PYZMQ_ENUMS = [
    zmq.SocketOption,
    zmq.ContextOption,
    zmq.Flag,
    zmq.Event,
    zmq.PollEvent,
    zmq.Errno,
    zmq.SocketType,
    zmq.MessageOption,
    zmq.SecurityMechanism,
    zmq.DeviceType,
]


def _module_name(cls: type[enum.Enum], member: str) -> str:
    """The module-level name pyzmq gives an enum member (``Event.CONNECTED`` is
    ``zmq.EVENT_CONNECTED``)."""
    if cls is zmq.Event and not member.startswith("PROTOCOL_ERROR"):
        return f"EVENT_{member}"
    return member


def _pyzmq_constants() -> list[tuple[str, int]]:
    pairs = {
        (_module_name(cls, name), int(member))
        for cls in _PYZMQ_ENUMS
        for name, member in cls.__members__.items()
    }
    # Every other upper-case constant of pyzmq's module (NORM_*, RECONNECT_STOP_*, ...).
    pairs |= {
        (name, int(value))
        for name, value in vars(zmq.constants).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, int)
        if name != "TYPE_CHECKING"
    }
    return sorted(pairs)


@pytest.mark.parametrize(("name", "value"), _pyzmq_constants(), ids=lambda v: str(v))
def test_every_pyzmq_constant_exists_with_pyzmqs_value(name: str, value: int) -> None:
    assert getattr(zmtp.constants, name) == value
    assert getattr(zmtp, name) == value
    assert name in zmtp.__all__


def test_the_common_names_of_ported_programs_are_there() -> None:
    assert (zmtp.SUBSCRIBE, zmtp.RCVMORE, zmtp.LINGER, zmtp.SNDHWM, zmtp.RCVTIMEO) == (
        6,
        13,
        17,
        23,
        27,
    )
    assert zmtp.IDENTITY == zmtp.ROUTING_ID == 5
    assert (zmtp.POLLIN, zmtp.POLLOUT, zmtp.POLLERR) == (1, 2, 4)
    assert (zmtp.DONTWAIT, zmtp.NOBLOCK, zmtp.SNDMORE) == (1, 1, 2)
    assert zmtp.EVENT_CONNECTED == 1
    assert zmtp.EFSM == zmq.EFSM


def test_monitor_event_values_are_the_event_constants() -> None:
    for event in zmtp.Event:
        assert getattr(zmtp, f"EVENT_{event.name}") == event.value, event.name


def test_socket_types_pyzmq_has_but_zmtp_cannot_speak_are_refused_by_name() -> None:
    assert zmtp.SocketType.coerce(zmtp.XREQ) is zmtp.DEALER
    for kind in (zmtp.DGRAM, "dgram"):
        with pytest.raises(zmtp.ZMTPValueError, match=r"does not support DGRAM"):
            zmtp.SocketType.coerce(kind)
    assert zmtp.SocketType.coerce("stream") is zmtp.STREAM == 11


# ---------------------------------------------------------------------------------------
# The package itself


def test_dir_lists_the_lazy_names_and_no_typing_helpers() -> None:
    names = dir(zmtp)
    for lazy in ("Socket", "Context", "Event", "Monitor", "proxy", "Frame", "auth"):
        assert lazy in names, lazy
    for helper in ("Any", "TYPE_CHECKING", "annotations", "importlib"):
        assert helper not in names, helper
    assert set(zmtp.__all__) <= set(names)
    assert not [name for name in names if name.startswith("_") and name != "__version__"]


def test_every_exported_name_resolves() -> None:
    for name in zmtp.__all__:
        assert getattr(zmtp, name) is not None, name


def test_importing_zmtp_loads_neither_trio_nor_the_engine() -> None:
    code = (
        "import sys, zmtp; zmtp.SUBSCRIBE; zmtp.ZMQError; "
        "print(sorted(m for m in sys.modules if m == 'trio' or m.startswith('zmtp._trio')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_package_declares_its_type_hints() -> None:
    assert (Path(zmtp.__file__).parent / "py.typed").is_file()
