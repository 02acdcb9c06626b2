"""zmtp on asyncio: ``zmtp.asyncio.Context``, ``zmtp.asyncio.Socket``, ``Poller``,
``proxy``, ``auth.Authenticator`` — the same API as the trio engine's ``zmtp.Context``,
``zmtp.Socket`` and ``zmtp.Poller``, on asyncio's own primitives (it runs on the default
event loop, on uvloop, and under Twisted's asyncio reactor). Importing it never imports
trio.

::

    import asyncio, zmtp, zmtp.asyncio

    async def main():
        async with zmtp.asyncio.Context() as ctx:
            rep, req = ctx.socket(zmtp.REP), ctx.socket(zmtp.REQ)
            await req.connect(await rep.bind("tcp://127.0.0.1:*"))
            await req.send(b"Hello")
            await rep.send(await rep.recv())
            print(await req.recv())

    asyncio.run(main())

Layers: :mod:`.socket` is the face (awaitable send/recv), :mod:`.runtime` the I/O on
the loop (listeners, connecters, and :mod:`.stream`'s connections), which the blocking
``zmtp.sync`` reuses with a face of its own (see :mod:`zmtp.asyncio.runtime`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zmtp.asyncio.context import Context
from zmtp.asyncio.monitor import EndOfChannel, Event, Monitor, MonitorEvent
from zmtp.asyncio.poll import Poller
from zmtp.asyncio.proxy import proxy
from zmtp.asyncio.socket import Socket
from zmtp.frame import Frame

if TYPE_CHECKING:  # pragma: no cover
    from zmtp.asyncio import auth

__all__ = [
    "Context",
    "EndOfChannel",
    "Event",
    "Frame",
    "Monitor",
    "MonitorEvent",
    "Poller",
    "Socket",
    "auth",
    "proxy",
]


def __getattr__(name: str) -> Any:
    if name == "auth":
        import importlib

        value = importlib.import_module("zmtp.asyncio.auth")
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zmtp.asyncio' has no attribute {name!r}")
