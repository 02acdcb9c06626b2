"""The asyncio stream engine: one tcp or ipc connection, pumping bytes between an OS
socket and a sans-IO :class:`~zmtp.wire.Connection`, and messages between it and a pipe.

Theory of operation
-------------------
The decisions are :class:`~zmtp.core.stream.StreamCore`'s; this file reads, writes and
waits, with asyncio's own readiness primitives on a non-blocking OS socket. It runs in
three phases, all inside :meth:`StreamEngine.run` (one task per connection):

1. **handshake**, as a coroutine: write our greeting, then read and answer until the
   connection reports ``HandshakeComplete`` (bounded by ``handshake_ivl``), asking the
   ZAP handler when the mechanism wants a decision. The socket core then gives us the
   pipe to serve or refuses the peer.
2. **traffic**, as loop callbacks: the task only waits for the end. No task switch
   per read or per write:

   - the *reader* is an ``add_reader`` callback. It ``recv``\\s up to 256 KiB, lets
     the connection parse every complete frame in it, and appends all the messages to
     the pipe's inbound queue at once (one wake-up of the receiver per read). A large
     body is read straight into its own buffer. When the inbound queue reaches the
     receive HWM the reader is removed, so TCP pushes back on the peer; the queue's
     ``wake_producer`` puts it back. Fairness, as in the trio engine
     (:func:`~zmtp.core.stream.next_read_size`): a connection's reads start at 64 KiB;
     a read that took long to parse (a peer streaming tiny frames) makes the next one
     half as big and ends the callback at once, so the loop runs the others; fast
     reads grow back. One callback reads again while the kernel fills whole reads, at
     most four times.
   - the *writer* is a ``call_soon`` callback scheduled when the pipe's outbound queue
     becomes non-empty, so it takes everything the application queued during one
     pass of the loop (up to 256 messages or 1 MiB), encodes it into a few buffers
     (small frames joined, large bodies as they are) and writes them with one
     ``sendmsg``. It waits for writability (``add_writer``) only when the kernel says
     EAGAIN. When the writer is idle, the first message of a loop pass is written
     inline by the sending task (latency); if a write fails, a connecter's pipe gets
     back the messages the kernel did not take, for the next connection.
   - the *heartbeat* is a ``call_at`` timer following the connection's
     :class:`~zmtp.core.timing.HeartbeatSchedule`.
3. **teardown**: whichever ends first (EOF, error, a protocol violation, a heartbeat
   timeout, the socket closing) stops the callbacks; the socket core is told why.
   Anything unexpected inside the engine ends this connection only, reported with its
   reason; never the socket or the context.

Threads: every touch of the socket core or of a pipe holds the context's lock
(``core.context.lock``), never across a wait, and the two wake-ups this engine installs
on the pipe (``_wake_writer``, ``_wake_reader``) hop to the loop's thread when another
thread calls them (``zmtp.sync`` sockets are used from application threads).
"""

from __future__ import annotations

import asyncio
import socket as _socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from zmtp.asyncio.loop_io import LoopIO
from zmtp.core.socket import Connecter
from zmtp.core.stream import (
    BATCH_BYTES,
    BATCH_MESSAGES,
    FIRST_READ,
    IOV_MAX,
    READ_SIZE,
    READS_PER_TURN,
    TURN,
    ConnectionLost,
    StreamCore,
    coalesce,
    next_read_size,
)
from zmtp.errors import PeerError, ProtocolError
from zmtp.transport.os_sockets import os_reason, peer_address
from zmtp.wire import AuthDecision
from zmtp.wire.events import AuthRequest, HandshakeComplete

if TYPE_CHECKING:
    from zmtp.core.socket import SocketCore

__all__ = ["StreamEngine"]

#: ``authenticate(engine, request)``: asks the socket's ZAP handler (RFC 27).
Authenticate = Callable[["StreamEngine", AuthRequest], Awaitable[AuthDecision]]

_get_ident = threading.get_ident


class StreamEngine(StreamCore, LoopIO):
    """Runs one connection. Create, then ``await engine.run()`` in a task of its own;
    it returns when the connection is over (it never raises for anything the peer
    did). :meth:`close` ends it from the loop's thread."""

    def __init__(
        self,
        core: SocketCore,
        loop: asyncio.AbstractEventLoop,
        authenticate: Authenticate,
        sock: _socket.socket,
        endpoint: str,
        *,
        connecter: Connecter | None = None,
        as_server: bool,
    ) -> None:
        StreamCore.__init__(
            self, core, endpoint, peer_address(sock), connecter=connecter, as_server=as_server
        )
        LoopIO.__init__(self, core, loop, sock)  # _traffic: phase 2
        self._authenticate = authenticate
        self._task: asyncio.Task[Any] | None = None
        self._closing = False  # close() cancelled the handshake
        self._timed_out = False
        #: The writer is idle (LoopIO's ``_writer_idle``) and a loop pass went by since
        #: the last inline write: a new message may be written inline.
        self._inline_ok = False
        #: What a write cut short gives back: the batch, where its messages end, the
        #: octets before it (protocol output); the octets written are ``_written``.
        self._batch: list[Any] = []
        self._ends: list[int] | None = None
        self._prefix = 0
        self._hb_handle: asyncio.TimerHandle | None = None
        #: Octets the next read asks for (see the fairness note in the module doc).
        self._read_size = FIRST_READ

    def idle(self) -> bool:
        """True when nothing queued for this connection is waiting to be written."""
        pipe = self.pipe
        if pipe is None:
            waiting = self.connecter.pipe if self.connecter is not None else None
            return waiting is None or not waiting.out_q.items
        return self._writer_idle and not pipe.out_q.items and not self.pending

    # -- ending ----------------------------------------------------------------------

    def close(self) -> None:
        """End the connection now (on the loop's thread)."""
        self.reason = self.reason or "closed by the socket"
        if self._traffic:
            self._end("")
        elif not self._ended and self._task is not None and not self._task.done():
            self._closing = True
            self._task.cancel()

    def _end(self, reason: str, violation: ProtocolError | None = None) -> None:
        """Traffic is over: stop the callbacks and let :meth:`run` finish."""
        if violation is not None and self.violation is None and not self._ended:
            self.violation = violation
        LoopIO._end(self, reason)

    def _stop_timers(self) -> None:
        if self._hb_handle is not None:
            self._hb_handle.cancel()
            self._hb_handle = None

    def _fail(self, exc: BaseException) -> None:
        """A callback met the end of the connection (or a bug): record why."""
        if isinstance(exc, ProtocolError):
            self._end(str(exc), exc)
        else:
            LoopIO._fail(self, exc)

    # -- phases --------------------------------------------------------------------------

    async def run(self) -> None:
        self._task = asyncio.current_task()
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self._closing:
                raise
            _uncancel(self._task)
        except Exception as exc:
            # A bug or an OS surprise in this engine: it ends this connection only,
            # with the reason on the monitor.
            self.reason = self.reason or f"internal error: {type(exc).__name__}: {exc}"
            if not self.handshake_done:
                with self.lock:
                    self.host.handshake_failed(self.endpoint, None, self.reason)
        finally:
            self._teardown()

    async def _run(self) -> None:
        host = self.host
        lock = self.lock
        loop = self.loop
        ivl = host.options.get("handshake_ivl")
        timer = loop.call_later(ivl / 1000, self._handshake_timeout) if ivl > 0 else None
        try:
            await self._send_all(self.conn.data_to_send())
            leftover = await self._handshake()
        except asyncio.CancelledError:
            if not self._timed_out:
                raise
            _uncancel(self._task)
            self.reason = "handshake timeout"
            with lock:
                host.handshake_failed(
                    self.endpoint, None, f"handshake not completed within {ivl} ms"
                )
            return
        except ProtocolError as exc:
            await self._flush_quietly()
            self.reason = str(exc)
            with lock:
                host.handshake_failed(self.endpoint, exc, exc.reason)
            self.refused = isinstance(exc, PeerError) and not exc.peer_reason.startswith("3")
            return
        except ConnectionLost as exc:
            self.reason = exc.reason
            with lock:
                host.handshake_failed(self.endpoint, None, exc.reason)
            return
        finally:
            if timer is not None:
                timer.cancel()
        with lock:
            pipe = host.connection_ready(
                self.endpoint, self.conn, self.peer_address, self.connecter
            )
            if pipe is None:
                self.reason = host.refusal()
                return
            self.pipe = pipe
            pipe.out_q.wake_consumer = self._wake_writer
            pipe.in_q.wake_producer = self._wake_reader
        self.start_heartbeat(loop.time())  # before a PING among the leftovers
        self._traffic = True
        try:
            self._deliver(leftover)
        except BaseException as exc:
            self._fail(exc)
        if not self._ended and not self.reason:
            self._resume_reading()
            self._plan_heartbeat()
            if pipe.out_q.items or self.pending:
                self._schedule_flush()
        else:
            self._end(self.reason)
        await self._done
        if self.violation is not None:
            await self._flush_quietly()

    def _handshake_timeout(self) -> None:
        if self._task is not None and not self._task.done():
            self._timed_out = True
            self._task.cancel()

    async def _handshake(self) -> list[Any]:
        """Read until the handshake completes; return events that followed it."""
        conn = self.conn
        while True:
            data = await self._recv()
            conn.receive_data(data)
            while True:
                events = conn.events()  # raises ProtocolError once the peer broke a rule
                out = conn.data_to_send()
                if out:
                    await self._send_all(out)
                asked = False
                for i, ev in enumerate(events):
                    if type(ev) is HandshakeComplete:
                        self.handshake_done = True
                        with self.lock:
                            self.host.handshake_succeeded(self.endpoint)
                        return events[i + 1 :]
                    if type(ev) is AuthRequest:
                        # The authenticator is a ZAP handler (RFC 27): ask it, then
                        # let the mechanism carry on with its answer.
                        conn.resolve_auth(await self._authenticate(self, ev))
                        asked = True
                if not asked:
                    break
            if conn.error is not None:
                raise conn.error
            if not data:
                raise ConnectionLost("peer closed during the handshake")

    async def _recv(self) -> bytes:
        try:
            return await self.loop.sock_recv(self.sock, READ_SIZE)
        except OSError as exc:
            raise ConnectionLost(os_reason(exc)) from None

    async def _send_all(self, data: bytes) -> None:
        if data:
            try:
                await self.loop.sock_sendall(self.sock, data)
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None

    async def _flush_quietly(self) -> None:
        """Best effort: send what the connection left (an ERROR command), briefly,
        after the rest of a write cut short (so frames stay whole)."""
        out = self.conn.data_to_send()
        if not out:
            return
        data = b"".join(bytes(v) for v in self._unsent) + out
        self._unsent = []
        try:
            await asyncio.wait_for(self._send_all(data), 0.5)
        except (ConnectionLost, asyncio.TimeoutError):
            pass

    # -- reading -----------------------------------------------------------------------

    def _deliver(self, events: list[Any]) -> None:
        """Hand events that arrived with the end of the handshake to the pipe."""
        pipe = self.pipe
        assert pipe is not None
        with self.lock:
            msgs = self.split(events)
            if msgs:
                pipe.in_q.put_many(msgs)
        if self.conn.error is not None:
            raise self.conn.error
        out = self.conn.data_to_send()
        if out:
            self.pending.append(out)

    def _read(self) -> None:
        conn = self.conn
        sock = self.sock
        pipe = self.pipe
        assert pipe is not None
        in_q = pipe.in_q
        lock = self.lock
        split = self.split
        hb = self.heartbeat
        loop = self.loop
        clock = time.perf_counter
        for _ in range(READS_PER_TURN):
            big = conn.body_buffer()
            bulk = None
            asked = self._read_size
            started = clock()
            try:
                if big is not None:
                    n = sock.recv_into(big)
                    if n == 0:
                        conn.receive_data(b"")
                        raise ConnectionLost("peer closed in the middle of a message")
                    conn.body_received(n)
                    data = b"x"  # not EOF
                    full = n == len(big)
                else:
                    data = sock.recv(asked)
                    full = len(data) == asked
                    if data:
                        bulk = conn.receive_messages(data)
                    else:
                        conn.receive_data(data)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None
            # Something arrived, so a loop pass went by: the next send may be written
            # inline again. Any traffic proves the peer alive (RFC 37 heartbeating).
            self._inline_ok = True
            events = conn.events()
            with lock:
                if bulk:
                    in_q.put_many(bulk)
                if events:
                    msgs = split(events)
                    if msgs:
                        in_q.put_many(msgs)
                blocked = in_q.full()
                if blocked:
                    in_q.producer_blocked = True
            if conn.error is not None:
                raise conn.error
            out = conn.data_to_send()
            if out:
                self.pending.append(out)
                self._wake_writer()
            if not data:
                closed = self.closed_event
                raise ConnectionLost(
                    closed.reason or "peer closed the connection", clean=closed.clean
                )
            # Fairness: a slow read makes the next one smaller (zmtp.core.stream).
            took = clock() - started
            self._read_size = next_read_size(asked, took)
            if hb is not None:
                hb.last_rx = loop.time()
            if blocked:
                self._stop_reading()  # the receive HWM, until the application makes room
                return
            if not full or took > TURN:
                return

    # -- writing -----------------------------------------------------------------------

    def _wake_writer(self) -> None:
        """The pipe's outbound queue became non-empty, or protocol output waits (the
        pipe's ``wake_consumer``).

        Latency: when the writer is idle, the first message of a loop pass is written
        inline, by the sending task, saving a loop pass. Only one: later sends in the
        same pass are batched by the writer callback (writing inline on every send
        would turn each message into a system call). Reads and the writer going idle
        re-arm the inline write.
        """
        if _get_ident() != self._thread:
            self.loop.call_soon_threadsafe(self._wake_writer)
            return
        if self._writer_idle and self._traffic and not self._ended:
            if self._inline_ok and not self.pending:
                self._inline_ok = False
                if self._write_inline():
                    return
            self._schedule_flush()

    def _flush(self) -> None:
        """Write one batch: protocol output, then up to 256 messages or 1 MiB."""
        if self._ended:
            return
        pipe = self.pipe
        assert pipe is not None
        out_q = pipe.out_q
        items = out_q.items
        bufs: list[Any] = []
        pending = self.pending
        if pending:
            bufs.extend(pending)
            pending.clear()
        prefix = sum(len(b) for b in bufs) if bufs else 0
        batch: list[Any] = []
        ends: list[int] | None = None
        if items:
            with self.lock:
                popleft = items.popleft
                size = 0
                while items and len(batch) < BATCH_MESSAGES and size < BATCH_BYTES:
                    msg = popleft()
                    batch.append(msg)
                    size += len(msg[0])
                out_q.room_made()
            ends = self.encode_for_give_back(batch, bufs)
        if not bufs:
            self._went_idle()
            return
        self._batch = batch
        self._ends = ends
        self._prefix = prefix
        self._written = 0
        if len(bufs) > IOV_MAX:
            bufs = coalesce(bufs)
        self._unsent = [b if isinstance(b, memoryview) else memoryview(b) for b in bufs]
        self._write_unsent()

    def _write_unsent(self) -> None:
        """Write what is left of the current batch; on EAGAIN wait for writability.
        If the write fails, a connecter's pipe gets back what the kernel did not take."""
        try:
            if not self._send_unsent():
                return
        except OSError as exc:
            self._unsent = []
            batch, self._batch = self._batch, []
            with self.lock:
                self.give_back(batch, self._ends, self._written - self._prefix)
            raise ConnectionLost(os_reason(exc), written=self._written) from None
        self._batch = []
        pipe = self.pipe
        if self.pending or (pipe is not None and pipe.out_q.items):
            self.loop.call_soon(self._on_flush)  # more to write: let others run first
        else:
            self._went_idle()

    def _went_idle(self) -> None:
        self._inline_ok = True
        LoopIO._went_idle(self)

    def _write_inline(self) -> bool:
        """Write what the pipe holds now, from the sending task, without waiting.

        Called when the writer is idle (nothing in flight). Returns True if all of it
        went to the kernel; otherwise the rest is left for the writer callback.
        """
        assert self.pipe is not None
        out_q = self.pipe.out_q
        with self.lock:
            batch = list(out_q.items)
            out_q.items.clear()
            out_q.room_made()
        bufs: list[Any] = []
        try:
            self.encode(batch, bufs)
        except Exception:
            with self.lock:
                out_q.items.extendleft(reversed(batch))
            return False
        total = sum(len(b) for b in bufs)
        try:
            n = self.sock.sendmsg(bufs) if len(bufs) > 1 else self.sock.send(bufs[0])
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            # The connection is gone: give the messages back (the writer meets the
            # error and ends the connection; a connecter's pipe keeps them).
            with self.lock:
                out_q.items.extendleft(reversed(batch))
            return False
        if n == total:
            return True
        rest = b"".join(bytes(b) for b in bufs)[n:]
        self.pending.append(rest)
        return False

    # -- heartbeats --------------------------------------------------------------------

    def _plan_heartbeat(self) -> None:
        hb = self.heartbeat
        if hb is None or self._ended:
            return
        deadline = hb.deadline()
        if self._hb_handle is not None:
            self._hb_handle.cancel()
            self._hb_handle = None
        if deadline != float("inf"):
            self._hb_handle = self.loop.call_at(deadline, self._on_heartbeat)

    def replan_heartbeat(self) -> None:
        if self._traffic:
            self._plan_heartbeat()

    def _on_heartbeat(self) -> None:
        """Send PINGs and drop a quiet peer, as the connection's schedule says."""
        self._hb_handle = None
        hb = self.heartbeat
        if hb is None or self._ended:
            return
        try:
            ping, lost = hb.due(self.loop.time())
            if lost is not None:
                raise ConnectionLost(lost)
            if ping:
                self.pending.append(self.conn.send_ping(hb.ping_ttl))
                self._wake_writer()
        except BaseException as exc:
            self._fail(exc)
            return
        self._plan_heartbeat()


def _uncancel(task: asyncio.Task[Any] | None) -> None:
    """A cancellation this engine asked for (its own timeout or close) was handled:
    take it back, so that ``asyncio.timeout`` and task groups around still see only
    their own (Python 3.11+)."""
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()
