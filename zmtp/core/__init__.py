"""zmtp.core: the engine-neutral socket core.

Everything a ZeroMQ socket *decides* lives here, used by every engine (trio, asyncio,
blocking): options and their validation (:mod:`zmtp.options`), the mechanism and the
ZAP client (:mod:`.security`), pipes and patterns wiring and the close bookkeeping
(:mod:`.socket`), the inproc namespace (:mod:`.inproc`, :mod:`.context`), monitor events
(:mod:`.events`), reconnect back-off and heartbeat deadlines (:mod:`.timing`).

Nothing here imports an event loop or does I/O; engines move bytes and wait.
"""

from zmtp.core.context import ContextCore
from zmtp.core.events import Event, MonitorEvent, MonitorQueue, handshake_failure_event
from zmtp.core.security import ZAP_ENDPOINT, ZapClient, new_connection
from zmtp.core.socket import (
    POLLIN,
    POLLOUT,
    Binding,
    Connecter,
    ConnectionHost,
    SocketCore,
    SocketRuntime,
    as_frame,
)
from zmtp.core.timing import HeartbeatSchedule, next_reconnect_ivl

__all__ = [
    "POLLIN",
    "POLLOUT",
    "ZAP_ENDPOINT",
    "Binding",
    "Connecter",
    "ConnectionHost",
    "ContextCore",
    "Event",
    "HeartbeatSchedule",
    "MonitorEvent",
    "MonitorQueue",
    "SocketCore",
    "SocketRuntime",
    "ZapClient",
    "as_frame",
    "handshake_failure_event",
    "new_connection",
    "next_reconnect_ivl",
]
