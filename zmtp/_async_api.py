"""pyzmq's convenience methods, once, for every engine with an awaitable face.

:class:`AsyncSocketAPI` adds ``send_json``/``recv_json``, ``send_pyobj``/``recv_pyobj``,
``send_serialized``/``recv_serialized`` and ``bind_to_random_port`` to a socket class
that provides ``send``, ``send_multipart``, ``recv``, ``recv_multipart`` and ``bind``
as coroutines (the trio and the asyncio sockets). The conversions themselves live in
:mod:`zmtp.core.serialize`, shared with the blocking ``zmtp.sync`` face.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zmtp.core import serialize as ser
from zmtp.errors import BindError

__all__ = ["AsyncSocketAPI"]


class _AsyncSocket(Protocol):
    async def send(self, data: Any, flags: int = ...) -> Any: ...

    async def send_multipart(self, msg_parts: Sequence[Any], flags: int = ...) -> Any: ...

    async def recv(self, flags: int = ...) -> Any: ...

    async def recv_multipart(self, flags: int = ..., *, copy: bool = ...) -> list[Any]: ...

    async def bind(self, endpoint: str) -> str: ...


class AsyncSocketAPI:
    """Mixin: the methods pyzmq programs reach for, on top of send/recv/bind."""

    __slots__ = ()

    # -- objects -------------------------------------------------------------------

    async def send_json(self: _AsyncSocket, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        """Send ``obj`` as JSON text (UTF-8) in one frame; ``kwargs`` go to
        ``json.dumps``."""
        await self.send(ser.json_dumps(obj, **kwargs), flags)

    async def recv_json(self: _AsyncSocket, flags: int = 0, **kwargs: Any) -> Any:
        """Receive one frame of JSON text and return the object (``kwargs`` go to
        ``json.loads``)."""
        return ser.json_loads(await self.recv(flags), **kwargs)

    async def send_pyobj(
        self: _AsyncSocket, obj: Any, flags: int = 0, protocol: int = ser.DEFAULT_PROTOCOL
    ) -> None:
        """Send ``obj`` pickled in one frame."""
        await self.send(ser.pickle_dumps(obj, protocol), flags)

    async def recv_pyobj(self: _AsyncSocket, flags: int = 0) -> Any:
        """Receive one pickled frame and return the object.

        **Never use this with peers you do not trust**: unpickling runs whatever code
        the sender put in the message. Use ``recv_json`` or ``recv_serialized`` with a
        safe format for anything that crosses a trust boundary.
        """
        return ser.pickle_loads(await self.recv(flags))

    async def send_serialized(
        self: _AsyncSocket,
        msg: Any,
        serialize: Callable[[Any], Any],
        flags: int = 0,
        copy: bool = True,
    ) -> None:
        """Send ``serialize(msg)`` (a list of frames) as one multipart message."""
        await self.send_multipart(ser.serialize(msg, serialize), flags)

    async def recv_serialized(
        self: _AsyncSocket,
        deserialize: Callable[[list[Any]], Any],
        flags: int = 0,
        copy: bool = True,
    ) -> Any:
        """Receive a multipart message and return ``deserialize(frames)``."""
        return deserialize(await self.recv_multipart(flags, copy=copy))

    # -- binding -------------------------------------------------------------------

    async def bind_to_random_port(
        self: _AsyncSocket,
        addr: str,
        min_port: int = 49152,
        max_port: int = 65536,
        max_tries: int = 100,
    ) -> int:
        """Bind ``addr`` (``"tcp://*"``, ``"tcp://127.0.0.1"``) to a random port in
        ``[min_port, max_port)``; returns the port. Raises :class:`zmtp.BindError`
        (pyzmq's ``ZMQBindError``) when ``max_tries`` ports were all taken."""
        last: BindError | None = None
        for port in ser.random_ports(min_port, max_port, max_tries):
            try:
                await self.bind(f"{addr}:{port}")
            except BindError as exc:
                last = exc
                continue
            return port
        raise BindError(
            last.errno if last is not None else 0,
            f"no free port in {min_port}..{max_port - 1} after {max_tries} tries",
            endpoint=addr,
        )
