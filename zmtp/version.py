"""Versions and capabilities, answered for zmtp in pyzmq's words.

Programs written for pyzmq ask ``zmq.zmq_version()`` / ``zmq_version_info()`` which
libzmq they run on (often to decide whether a feature exists) and ``zmq.has("curve")``
whether it was built with a capability. zmtp answers as the libzmq whose behaviour it
follows, 4.3.5, so such checks pass for the features zmtp has; ``zmtp.__version__``
is zmtp's own version.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["LIBZMQ_VERSION", "__version__", "has", "zmq_version", "zmq_version_info"]

__version__ = "0.1.0"

#: The libzmq release whose behaviour zmtp follows (and is tested against).
LIBZMQ_VERSION = (4, 3, 5)


def zmq_version_info() -> tuple[int, int, int]:
    """``(4, 3, 5)``: the libzmq release whose behaviour zmtp follows."""
    return LIBZMQ_VERSION


def zmq_version() -> str:
    """``"4.3.5"``: the libzmq release whose behaviour zmtp follows."""
    return ".".join(map(str, LIBZMQ_VERSION))


def has(capability: str) -> bool:
    """Whether this zmtp can do ``capability`` (libzmq's ``zmq_has`` names):
    ``"curve"`` when PyNaCl is installed, ``"ipc"`` on systems with Unix sockets;
    ``"pgm"``, ``"tipc"``, ``"norm"``, ``"gssapi"``, ``"vmci"`` and ``"draft"`` never."""
    if capability == "curve":
        return importlib.util.find_spec("nacl") is not None
    if capability == "ipc":
        return sys.platform != "win32"
    return False
