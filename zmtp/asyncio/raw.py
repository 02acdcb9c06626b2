"""The asyncio raw engine: one connection of a STREAM socket, bytes with no ZMTP.

The runtime picks it instead of :class:`~zmtp.asyncio.stream.StreamEngine` when the
socket's pattern is raw (STREAM). There is no greeting, no framing and no handshake:
the connection is ready as soon as it exists, and the socket core makes its pipe at
once (:meth:`~zmtp.core.socket.SocketCore.raw_connection_ready`). Then, as loop
callbacks (no task switch per read or per write):

* the *reader* (an ``add_reader`` callback) puts whatever one ``recv`` returns into
  the pipe as one message ``[data]``, and stops reading while the pipe holds
  ``rcvhwm`` messages, so TCP pushes back on a peer that floods; the queue's
  ``wake_producer`` resumes it;
* the *writer* (a ``call_soon`` callback, scheduled when the pipe's outbound queue
  becomes non-empty) writes the data of what was queued as it is, in one
  ``sendmsg``, waiting for writability (``add_writer``) only on EAGAIN. The empty
  message ``[b""]`` (sent by the application as ``[routing id, b""]``) closes the
  connection once what came before it is written.

The connection ends at the peer's EOF, an OS error, that empty message, or the socket
closing; the socket core is then told why (by the runtime, after :meth:`RawEngine.run`
returns). The callback plumbing (ending, thread hops of the pipe's wake-ups, waiting
for writability) is :class:`~zmtp.asyncio.loop_io.LoopIO`'s, shared with the stream
engine; every touch of the core or of the pipe holds the context's lock.
"""

from __future__ import annotations

import asyncio
import socket as _socket
import threading
from typing import TYPE_CHECKING

from zmtp.asyncio.loop_io import LoopIO
from zmtp.core.socket import Connecter
from zmtp.core.stream import BATCH_BYTES, BATCH_MESSAGES, READ_SIZE, READS_PER_TURN, ConnectionLost
from zmtp.routing import Pipe
from zmtp.transport.os_sockets import os_reason, peer_address

if TYPE_CHECKING:
    from zmtp.core.socket import SocketCore

__all__ = ["RawEngine"]

_get_ident = threading.get_ident


class RawEngine(LoopIO):
    """Runs one raw connection; the same lifetime verbs as the stream engine: create,
    then ``await engine.run()`` in a task of its own (it returns when the connection
    is over and never raises for anything the peer did); :meth:`close` ends it."""

    def __init__(
        self,
        core: SocketCore,
        loop: asyncio.AbstractEventLoop,
        sock: _socket.socket,
        endpoint: str,
        *,
        connecter: Connecter | None = None,
    ) -> None:
        self.host = core
        self.endpoint = endpoint
        self.peer_address = peer_address(sock)
        self.connecter = connecter
        self.pipe: Pipe | None = None
        self.handshake_done = False  # "connected" is all the handshake there is
        self.refused = False
        self.reason = ""
        #: The current write ends with the application's empty message: close after it.
        self._close_after = False
        LoopIO.__init__(self, core, loop, sock)

    def idle(self) -> bool:
        """True when nothing queued for this connection is waiting to be written."""
        pipe = self.pipe
        return pipe is None or (self._writer_idle and not pipe.out_q.items)

    def close(self) -> None:
        """End the connection now (on the loop's thread)."""
        self.reason = self.reason or "closed by the socket"
        self._end("")

    async def run(self) -> None:
        try:
            if self._ended:  # closed before it started
                return
            with self.lock:
                pipe = self.host.raw_connection_ready(
                    self.endpoint, self.peer_address, self.connecter
                )
                if pipe is None:
                    self.reason = self.host.refusal()
                    return
                self.pipe = pipe
                self.handshake_done = True
                pipe.out_q.wake_consumer = self._wake_writer
                pipe.in_q.wake_producer = self._wake_reader
                queued = bool(pipe.out_q.items)
            self._traffic = True
            self._resume_reading()
            if queued:
                self._schedule_flush()
            await self._done
        except Exception as exc:
            # A bug or an OS surprise in this engine: it ends this connection only,
            # with the reason on the monitor.
            self.reason = self.reason or f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self._teardown()

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> None:
        sock = self.sock
        assert self.pipe is not None
        in_q = self.pipe.in_q
        for _ in range(READS_PER_TURN):
            try:
                data = sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None
            if not data:
                raise ConnectionLost("peer closed the connection", clean=True)
            with self.lock:
                in_q.put([data])
                blocked = in_q.full()
                if blocked:
                    in_q.producer_blocked = True
            if blocked:
                self._stop_reading()  # the receive HWM, until the application makes room
                return
            if len(data) < READ_SIZE:
                return  # the kernel had no more

    # -- writing -----------------------------------------------------------------------

    def _wake_writer(self) -> None:
        """The pipe's outbound queue became non-empty (the pipe's ``wake_consumer``)."""
        if _get_ident() != self._thread:
            self.loop.call_soon_threadsafe(self._wake_writer)
            return
        if self._writer_idle and self._traffic and not self._ended:
            self._schedule_flush()

    def _flush(self) -> None:
        """Write what was queued, as it is, up to the batch limits or an empty message."""
        if self._ended:
            return
        assert self.pipe is not None
        out_q = self.pipe.out_q
        items = out_q.items
        bufs: list[memoryview] = []
        size = 0
        with self.lock:
            while items and len(bufs) < BATCH_MESSAGES and size < BATCH_BYTES:
                data = items.popleft()[0]
                if not data:
                    self._close_after = True
                    break
                bufs.append(memoryview(data))
                size += len(data)
            out_q.room_made()
        self._unsent = bufs
        self._write_unsent()

    def _write_unsent(self) -> None:
        """Write what is left of the current batch; on EAGAIN wait for writability."""
        try:
            if not self._send_unsent():
                return
        except OSError as exc:
            self._unsent = []
            raise ConnectionLost(os_reason(exc)) from None
        if self._close_after:
            raise ConnectionLost("closed by the application (an empty message)")
        pipe = self.pipe
        if pipe is not None and pipe.out_q.items:
            self.loop.call_soon(self._on_flush)  # more to write: let others run first
        else:
            self._went_idle()
