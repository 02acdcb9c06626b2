"""The loop callbacks that both asyncio engines run a connection with.

A connection in traffic is driven by callbacks on its OS socket, not by a task per
read or per write (see :mod:`zmtp.asyncio.stream` for the ZMTP engine and
:mod:`zmtp.asyncio.raw` for STREAM's raw one). :class:`LoopIO` is what the two share:

* the *reader* is an ``add_reader`` callback (``_on_readable`` calls the engine's
  ``_read``); it is removed while the pipe's inbound queue is full and put back by the
  queue's ``wake_producer`` (``_wake_reader``);
* the *writer* is a ``call_soon`` callback (``_on_flush`` calls the engine's
  ``_flush``) scheduled when there is something to write; a write the kernel takes
  only partly waits for writability with ``add_writer`` (:meth:`LoopIO._send_unsent`)
  and resumes in the engine's ``_write_unsent``;
* the end (:meth:`LoopIO._end`): whichever callback meets EOF, an error or the
  socket closing stops both and resolves ``_done``, which the engine's ``run``
  awaits; :meth:`LoopIO._teardown` then unhooks the pipe and closes the OS socket.

The wake-ups installed on the pipe may be called from another thread (``zmtp.sync``
sockets are used from application threads); they hop to the loop's thread. Every touch
of the socket core or of a pipe holds the context's lock, never across a wait. This
file decides nothing about the protocol.
"""

from __future__ import annotations

import asyncio
import socket as _socket
import threading
from typing import TYPE_CHECKING

from zmtp.core.socket import ConnectionHost
from zmtp.core.stream import ConnectionLost, drop_written
from zmtp.routing import Pipe

if TYPE_CHECKING:
    from zmtp.core.socket import SocketCore

__all__ = ["LoopIO"]

_get_ident = threading.get_ident


class LoopIO:
    """The callback plumbing of one connection on an asyncio loop (see the module
    doc). An engine subclasses it and provides ``_read``, ``_flush`` and
    ``_write_unsent``; it sets ``_traffic`` once the callbacks may run."""

    host: ConnectionHost
    pipe: Pipe | None
    reason: str

    def __init__(
        self, core: SocketCore, loop: asyncio.AbstractEventLoop, sock: _socket.socket
    ) -> None:
        self.loop = loop
        self.lock = core.context.lock
        self.sock = sock
        self.fd = sock.fileno()
        self._thread = _get_ident()
        self._done: asyncio.Future[None] = loop.create_future()
        self._traffic = False  # the callbacks may run
        self._ended = False
        self._reading = False
        #: Nothing scheduled or in flight to write.
        self._writer_idle = True
        #: Buffers of a write the kernel took only partly, waiting for writability.
        self._unsent: list[memoryview] = []
        #: Octets of the current batch the kernel has taken.
        self._written = 0

    # -- the end -----------------------------------------------------------------------

    def _end(self, reason: str) -> None:
        """Traffic is over: stop the callbacks and let the engine's ``run`` finish."""
        if self._ended:
            return
        self._ended = True
        self.reason = self.reason or reason
        loop = self.loop
        if loop.is_closed():  # the loop ended without closing the socket
            return
        if self._reading:
            self._reading = False
            loop.remove_reader(self.fd)
        if self._unsent:
            loop.remove_writer(self.fd)
        self._stop_timers()
        if not self._done.done():
            self._done.set_result(None)

    def _stop_timers(self) -> None:
        """The engine's own timers stop with the callbacks (the heartbeat's)."""

    def _fail(self, exc: BaseException) -> None:
        """A callback met the end of the connection (or a bug): record why."""
        if isinstance(exc, ConnectionLost):
            self._end(exc.reason)
        else:
            self._end(f"internal error: {type(exc).__name__}: {exc}")

    def _teardown(self) -> None:
        """The engine's ``run`` is over: stop everything, unhook the pipe's wake-ups,
        close the OS socket."""
        self._traffic = False
        self._end(self.reason)
        pipe = self.pipe
        if pipe is not None:
            with self.lock:
                if pipe.out_q.wake_consumer == self._wake_writer:
                    pipe.out_q.wake_consumer = _noop
                if pipe.in_q.wake_producer == self._wake_reader:
                    pipe.in_q.wake_producer = _noop
        try:
            self.sock.close()
        except OSError:
            pass

    # -- reading -----------------------------------------------------------------------

    def _wake_reader(self) -> None:
        """The pipe's inbound queue has room again (the pipe's ``wake_producer``)."""
        if _get_ident() != self._thread:
            self.loop.call_soon_threadsafe(self._resume_reading)
            return
        self._resume_reading()

    def _resume_reading(self) -> None:
        if not self._reading and self._traffic and not self._ended:
            self._reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def _stop_reading(self) -> None:
        """The receive HWM: no more reads until the application makes room."""
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def _on_readable(self) -> None:
        try:
            self._read()
        except BaseException as exc:
            self._fail(exc)

    def _read(self) -> None:
        raise NotImplementedError

    # -- writing -----------------------------------------------------------------------

    def _wake_writer(self) -> None:
        """The pipe's outbound queue became non-empty (the pipe's ``wake_consumer``)."""
        raise NotImplementedError

    def _schedule_flush(self) -> None:
        self._writer_idle = False
        self.loop.call_soon(self._on_flush)

    def _on_flush(self) -> None:
        try:
            self._flush()
        except BaseException as exc:
            self._fail(exc)

    def _flush(self) -> None:
        raise NotImplementedError

    def _send_unsent(self) -> bool:
        """Write what the kernel takes of ``_unsent`` now: True once all of it went;
        False when it said EAGAIN (the writer then waits for writability and resumes
        in ``_write_unsent``). An ``OSError`` of the write propagates."""
        views = self._unsent
        sock = self.sock
        while views:
            try:
                n = sock.sendmsg(views) if len(views) > 1 else sock.send(views[0])
            except (BlockingIOError, InterruptedError):
                self.loop.add_writer(self.fd, self._on_writable)
                return False
            self._written += n
            drop_written(views, n)
        return True

    def _on_writable(self) -> None:
        self.loop.remove_writer(self.fd)
        try:
            self._write_unsent()
        except BaseException as exc:
            self._fail(exc)

    def _write_unsent(self) -> None:
        raise NotImplementedError

    def _went_idle(self) -> None:
        """Everything queued is written; a closing socket waits for that (linger)."""
        self._writer_idle = True
        if self.host.closing:
            with self.lock:
                self.host.writer_idle()


def _noop() -> None:
    return None
