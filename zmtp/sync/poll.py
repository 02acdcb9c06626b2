"""``zmtp.sync.Poller``: wait until one of several sockets (or files) is ready, as
pyzmq's ``zmq.Poller``::

    poller = zmq.Poller()
    poller.register(frontend, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)        # plain files and descriptors too
    while True:
        for sock, events in poller.poll(1000):     # ms; None waits forever
            ...                                    # ready: recv/send do not wait

Polling never takes a message out of a socket: it asks each socket's core what
``poll_events`` answers (``POLLIN``: a message can be received now; ``POLLOUT``: one
can be sent now) and, when nothing is ready, waits to be told that something may have
changed. The cores tell through their ``watchers`` (called with the context's lock
held, from whichever thread changed the socket): for sockets alone a watcher sets a
``threading.Event``; with file descriptors registered too, it writes one octet to a
pipe that ``selectors`` watches beside them, so one wait covers both.

A registered socket that is closed makes ``poll`` raise :class:`zmtp.SocketClosed`
(:class:`zmtp.ContextTerminated` after ``ctx.term()``), as pyzmq's does, so that a
polling loop ends rather than waiting forever.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from typing import TYPE_CHECKING, Any

from zmtp.core.socket import POLLIN, POLLOUT
from zmtp.errors import ZMTPValueError

if TYPE_CHECKING:
    from zmtp.sync.socket import Socket

__all__ = ["Poller", "select"]

_ALL = POLLIN | POLLOUT
#: pyzmq accepts POLLERR in a registration; no socket or file here ever reports it.
_POLLERR = 4


def _fd_of(obj: Any) -> int | None:
    """The file descriptor of a plain fd or of an object with ``fileno()``."""
    if isinstance(obj, int):
        return obj
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        return None
    fd = fileno()
    return fd if isinstance(fd, int) else None


class _Pipe:
    """A self-pipe: a watcher (any thread) writes one octet; the poll drains it."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)

    def __call__(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.w, b"\x00")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.r, 4096):
                pass

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


class Poller:
    """Sockets and files registered for ``POLLIN`` and/or ``POLLOUT`` (pyzmq's
    ``zmq.Poller``)."""

    def __init__(self) -> None:
        self.sockets: dict[Any, int] = {}

    def register(self, socket: Any, flags: int = _ALL) -> None:
        """Watch ``socket`` (a zmtp.sync socket, a file descriptor, or an object with
        ``fileno()`` such as ``sys.stdin``) for ``flags``; registering again changes
        them, 0 removes it (as pyzmq)."""
        from zmtp.sync.socket import Socket

        if not isinstance(socket, Socket) and _fd_of(socket) is None:
            raise ZMTPValueError(
                "zmtp.sync.Poller polls zmtp.sync sockets, file descriptors and objects "
                f"with fileno(), got {type(socket).__name__}"
            )
        if not isinstance(flags, int) or flags & ~(_ALL | _POLLERR):
            raise ZMTPValueError(
                f"poll flags are zmq.POLLIN, zmq.POLLOUT and zmq.POLLERR, got {flags!r}"
            )
        flags = int(flags) & _ALL
        if flags:
            self.sockets[socket] = flags
        else:
            self.sockets.pop(socket, None)

    modify = register

    def unregister(self, socket: Any) -> None:
        """Stop watching ``socket`` (KeyError if it was never registered, as pyzmq)."""
        del self.sockets[socket]

    def _ready(self, socks: list[tuple[Socket, int]]) -> list[tuple[Any, int]]:
        ready: list[tuple[Any, int]] = []
        for sock, flags in socks:
            events = sock.events & flags  # raises once the socket is closed
            if events:
                ready.append((sock, events))
        return ready

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """The registered sockets and files that are ready, with their ready events,
        waiting up to ``timeout`` ms (None or negative: forever; 0: just look) for at
        least one. Returns ``[]`` when the time ran out. Ctrl-C interrupts the wait."""
        from zmtp.sync.socket import Socket

        socks = [(s, f) for s, f in self.sockets.items() if isinstance(s, Socket)]
        files = [(s, f) for s, f in self.sockets.items() if not isinstance(s, Socket)]
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000
        if files:
            return self._poll_with_files(socks, files, deadline)
        ready = self._ready(socks)
        if ready or timeout == 0:
            return ready
        event = threading.Event()
        with _watching(socks, event.set):
            while True:
                ready = self._ready(socks)
                if ready:
                    return ready
                if deadline is None:
                    event.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return []
                    event.wait(left)
                event.clear()

    def _poll_with_files(
        self,
        socks: list[tuple[Socket, int]],
        files: list[tuple[Any, int]],
        deadline: float | None,
    ) -> list[tuple[Any, int]]:
        wake = _Pipe()
        selector = selectors.DefaultSelector()
        try:
            selector.register(wake.r, selectors.EVENT_READ, None)
            by_fd: dict[int, tuple[Any, int]] = {}
            for obj, flags in files:
                fd = _fd_of(obj)
                assert fd is not None
                mask = (selectors.EVENT_READ if flags & POLLIN else 0) | (
                    selectors.EVENT_WRITE if flags & POLLOUT else 0
                )
                selector.register(fd, mask, obj)
                by_fd[fd] = (obj, flags)
            with _watching(socks, wake):
                left: float | None = 0.0
                while True:
                    ready = self._ready(socks)
                    if ready:
                        left = 0.0  # collect the files that are ready too, then return
                    for key, mask in selector.select(left):
                        if key.fd == wake.r:
                            wake.drain()
                            continue
                        obj, flags = by_fd[key.fd]
                        events = (POLLIN if mask & selectors.EVENT_READ else 0) | (
                            POLLOUT if mask & selectors.EVENT_WRITE else 0
                        )
                        if events & flags:
                            ready.append((obj, events & flags))
                    if ready:
                        return ready
                    if deadline is None:
                        left = None
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return []
        finally:
            selector.close()
            wake.close()


@contextlib.contextmanager
def _watching(socks: list[tuple[Socket, int]], watcher: Any) -> Any:
    """Have every socket's core call ``watcher`` when its readiness may change."""
    cores = []
    try:
        for sock, _ in socks:
            with sock.context.lock:  # the lock every touch of a core holds
                sock.core.watchers.append(watcher)
            cores.append(sock)
        yield
    finally:
        for sock in cores:
            with sock.context.lock:
                sock.core.watchers.remove(watcher)


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """pyzmq's ``zmq.select``: like ``select.select`` for sockets and files, with
    ``timeout`` in seconds (None: forever). ``xlist`` is accepted and never ready."""
    poller = Poller()
    for obj in rlist:
        poller.register(obj, poller.sockets.get(obj, 0) | POLLIN)
    for obj in wlist:
        poller.register(obj, poller.sockets.get(obj, 0) | POLLOUT)
    ready = dict(poller.poll(None if timeout is None else timeout * 1000))
    return (
        [obj for obj in rlist if ready.get(obj, 0) & POLLIN],
        [obj for obj in wlist if ready.get(obj, 0) & POLLOUT],
        [],
    )
