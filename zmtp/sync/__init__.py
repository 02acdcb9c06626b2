"""zmtp.sync: blocking ZeroMQ sockets shaped like pyzmq, so that a program written for
pyzmq runs with one line changed::

    import zmtp.sync as zmq

    context = zmq.Context()
    socket = context.socket(zmq.REP)
    socket.bind("tcp://*:5555")
    while True:
        message = socket.recv()
        socket.send(b"World")

Each :class:`Context` runs its sockets' I/O in a thread of its own (an asyncio event
loop driving the same socket core as ``zmtp.asyncio``), as libzmq runs its I/O
thread: a program that blocks in ``input()`` or ``time.sleep`` never stalls its
connections. Calls block the calling thread only; Ctrl-C interrupts them.

What is here, with pyzmq's names and values: :class:`Context`, :class:`Socket`,
:class:`Poller` (sockets, file descriptors and objects with ``fileno()``),
:func:`select`, :func:`proxy`, :func:`device`, :class:`Frame`
(``recv(copy=False)``), :class:`MessageTracker`, every constant (``zmq.REQ``,
``zmq.SUBSCRIBE``, ``zmq.NOBLOCK``, ``zmq.POLLIN``, ``zmq.EAGAIN``, ...), the errors
(:class:`ZMQError` with ``errno``, :class:`Again`, :class:`ContextTerminated`, ...),
:func:`zmq_version`, :func:`has`, :func:`curve_keypair`. Monitoring is
``for event in sock.monitor(): ...`` (:class:`Monitor`) rather than pyzmq's monitor
socket. Where zmtp differs from libzmq on purpose, the README's table says so.
"""

from zmtp import constants as _constants
from zmtp.constants import *  # noqa: F403  (pyzmq's names, listed in constants.__all__)
from zmtp.core.events import Event, MonitorEvent
from zmtp.core.serialize import MessageTracker
from zmtp.errors import (
    Again,
    AuthenticationFailed,
    BindError,
    ContextTerminated,
    FrameTypeError,
    HandshakeError,
    HostUnreachable,
    InvalidState,
    MechanismUnavailable,
    PeerError,
    ProtocolError,
    SocketClosed,
    WouldBlock,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMTPError,
    ZMTPTypeError,
    ZMTPValueError,
    strerror,
)
from zmtp.frame import Frame
from zmtp.sync.context import Context, GreenThreadsUnsupported, UnsentMessagesWarning
from zmtp.sync.monitor import EndOfChannel, Monitor
from zmtp.sync.poll import Poller, select
from zmtp.sync.proxy import device, proxy
from zmtp.sync.socket import Endpoint, Socket
from zmtp.version import has, zmq_version, zmq_version_info
from zmtp.wire.z85 import curve_keypair, curve_public

#: pyzmq's other name for a frame.
Message = Frame

__all__ = [
    "Again",
    "AuthenticationFailed",
    "BindError",
    "Context",
    "ContextTerminated",
    "EndOfChannel",
    "Endpoint",
    "Event",
    "Frame",
    "FrameTypeError",
    "GreenThreadsUnsupported",
    "HandshakeError",
    "HostUnreachable",
    "InvalidState",
    "MechanismUnavailable",
    "Message",
    "MessageTracker",
    "Monitor",
    "MonitorEvent",
    "PeerError",
    "Poller",
    "ProtocolError",
    "Socket",
    "SocketClosed",
    "UnsentMessagesWarning",
    "WouldBlock",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMTPError",
    "ZMTPTypeError",
    "ZMTPValueError",
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
__all__ += _constants.__all__
