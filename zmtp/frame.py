"""``zmtp.Frame``: a received frame with the properties of the connection it came on.

``await sock.recv(copy=False)`` and ``await sock.recv_multipart(copy=False)`` return
frames rather than ``bytes``, as in pyzmq, so an application can ask who sent them::

    frames = await sock.recv_multipart(copy=False)
    frames[0].bytes                 # the data
    frames[0].get("User-Id")        # set by the authenticator (RFC 27), e.g. the PLAIN
                                    # user name or the CURVE client key in Z85
    frames[0].get("Peer-Address")   # the peer's IP address (tcp)
    frames[0].get("Socket-Type")    # any property the peer sent in its READY
    frames[0]["User-Id"]            # the same as get()

Property names are case-insensitive (RFC 23); values come back as ``str``, as pyzmq's
``Frame.get`` does. ``get`` of a property that is not there raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Frame"]

_NO_PROPERTIES: Mapping[str, bytes] = {}


class Frame:
    """One frame of a received message, plus its connection's properties."""

    __slots__ = ("_properties", "bytes", "more")

    def __init__(
        self, data: bytes, *, more: bool = False, properties: Mapping[str, bytes] | None = None
    ) -> None:
        self.bytes = data
        self.more = more
        self._properties = properties if properties is not None else _NO_PROPERTIES

    @property
    def buffer(self) -> memoryview:
        return memoryview(self.bytes)

    @property
    def properties(self) -> Mapping[str, bytes]:
        """Every property of the connection, values as bytes."""
        return self._properties

    def get(self, name: str) -> str:
        """A connection property by name (case-insensitive), decoded as UTF-8."""
        props = self._properties
        if name not in props:
            lowered = name.lower()
            name = next((key for key in props if key.lower() == lowered), name)
        try:
            value = props[name]
        except KeyError:
            raise KeyError(name) from None
        return bytes(value).decode("utf-8", "replace")

    def __getitem__(self, name: str) -> str:
        """``frame["User-Id"]``: the same as :meth:`get` (pyzmq allows both)."""
        return self.get(name)

    def __bytes__(self) -> bytes:
        return self.bytes

    def __len__(self) -> int:
        return len(self.bytes)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.bytes == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Frame({self.bytes!r}{', more=True' if self.more else ''})"
