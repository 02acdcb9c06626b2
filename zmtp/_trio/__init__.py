"""The trio engine: ``zmtp.Context``, ``zmtp.Socket`` and their connections.

Only trio work lives here (listeners, connecters, the per-connection reader and
writer, waiting); every decision is the engine-neutral core's (:mod:`zmtp.core`).
"""

from zmtp._trio.context import Context
from zmtp._trio.socket import Socket

__all__ = ["Context", "Socket"]
