"""What pyzmq's convenience methods do to objects before sending and after receiving,
shared by every engine's ``send_json``/``recv_json``, ``send_pyobj``/``recv_pyobj`` and
``send_serialized``/``recv_serialized``, plus the two small objects pyzmq programs
expect back: a :class:`MessageTracker` and the port search of ``bind_to_random_port``.

No I/O here.
"""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Callable, Iterator
from typing import Any

from zmtp.errors import FrameTypeError, ZMTPValueError

__all__ = [
    "DEFAULT_PROTOCOL",
    "MessageTracker",
    "json_dumps",
    "json_loads",
    "pickle_dumps",
    "pickle_loads",
    "random_ports",
    "text_frame",
]

#: pickle protocol used by ``send_pyobj`` when none is given (pyzmq's default).
DEFAULT_PROTOCOL = pickle.DEFAULT_PROTOCOL


def text_frame(text: Any, encoding: str = "utf-8") -> bytes:
    """``send_string``'s frame; anything but a ``str`` is the caller's mistake."""
    if not isinstance(text, str):
        raise FrameTypeError(
            f"send_string takes a str, got {type(text).__name__} (use send() for bytes)"
        )
    return text.encode(encoding)


def json_dumps(obj: Any, **kwargs: Any) -> bytes:
    """``send_json``'s frame: JSON text in UTF-8 (``kwargs`` go to ``json.dumps``)."""
    try:
        return json.dumps(obj, **kwargs).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ZMTPValueError(f"send_json: the object is not JSON-serialisable: {exc}") from exc


def json_loads(data: bytes, **kwargs: Any) -> Any:
    """``recv_json``'s object (``kwargs`` go to ``json.loads``). Malformed JSON raises
    ``json.JSONDecodeError`` (a ``ValueError``), as with pyzmq."""
    return json.loads(data.decode("utf-8"), **kwargs)


def pickle_dumps(obj: Any, protocol: int = DEFAULT_PROTOCOL) -> bytes:
    return pickle.dumps(obj, protocol)


def pickle_loads(data: bytes) -> Any:
    """``recv_pyobj``'s object. **Never use it with untrusted peers**: unpickling runs
    whatever code the sender chose."""
    return pickle.loads(data)


def serialize(obj: Any, serialize: Callable[[Any], Any]) -> list[Any]:
    """``send_serialized``'s frames: ``serialize(obj)`` returns a list of frames (or one
    bytes-like frame)."""
    frames = serialize(obj)
    if isinstance(frames, (bytes, bytearray, memoryview)):
        return [frames]
    return list(frames)


def random_ports(min_port: int, max_port: int, max_tries: int) -> Iterator[int]:
    """The ports ``bind_to_random_port`` tries: ``max_tries`` picks in
    ``[min_port, max_port)``."""
    if not (0 < min_port < max_port <= 65536):
        raise ZMTPValueError(
            f"bind_to_random_port needs 0 < min_port < max_port <= 65536, "
            f"got {min_port}..{max_port}"
        )
    if max_tries < 1:
        raise ZMTPValueError(f"bind_to_random_port needs max_tries >= 1, got {max_tries}")
    for _ in range(max_tries):
        yield random.randrange(min_port, max_port)


class MessageTracker:
    """What ``send(..., track=True)`` returns, as in pyzmq.

    zmtp sends ``bytes``, which nobody can change after the call, and never keeps a
    reference to the caller's buffer beyond ``send`` (a ``bytearray`` or
    ``memoryview`` is copied when it is sent), so there is nothing to wait for: a
    tracker is done at once.
    """

    __slots__ = ()

    @property
    def done(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Returns at once (see the class doc)."""
        return None

    def __repr__(self) -> str:
        return "<zmtp.MessageTracker done>"
