"""The trio stream engine: one tcp or ipc connection, pumping bytes between an OS socket
and a sans-IO :class:`~zmtp.wire.Connection`, and messages between it and a pipe.

Theory of operation
-------------------
The decisions are :class:`~zmtp.core.stream.StreamCore`'s; this file reads, writes and
waits. The engine runs in three phases, all inside :meth:`StreamEngine.run`:

1. **handshake**: write our greeting, then read and answer until the connection
   reports ``HandshakeComplete`` (bounded by ``handshake_ivl``). The socket core then
   gives us the pipe to serve (a connecter's pipe that outlives connections, or a
   new one) or refuses the peer.
2. **traffic**: a reader, a writer and a heartbeat task run side by side.

   - The *reader* ``recv``\\s up to 256 KiB at a time, lets the connection parse every
     complete frame in it, and appends all the messages to the pipe's inbound queue
     in one go (one wake-up of the receiver per read). When the inbound queue
     reaches the receive HWM it stops reading, so TCP pushes back on the peer.
     A large body being assembled is read straight into its own buffer. A read that
     held many small frames makes the next read smaller and the reader yields, so a
     peer that streams tiny frames gets no more of the loop than the others.
   - The *writer* sleeps until the pipe's outbound queue is non-empty, then takes a
     batch (up to 256 messages or 1 MiB), encodes it into a few buffers (small frames
     joined, large bodies as they are) and writes them with one ``sendmsg``. It waits
     for writability only when the kernel says EAGAIN. When the writer is idle, the
     first message of a scheduler pass is written inline by the sending task
     (latency); if a write fails, a connecter's pipe gets back the messages the
     kernel did not take, for the next connection.
   - The *heartbeat* task sends PINGs and drops a peer that goes quiet, as the
     connection's :class:`~zmtp.core.timing.HeartbeatSchedule` says.
3. **teardown**: whichever side ends first (EOF, error, a protocol violation, a
   heartbeat timeout, the socket closing) cancels the others; the socket core is told
   why. Anything unexpected inside the engine ends this connection only, reported
   with its reason; never the socket or the context.

Protocol output of the connection itself (PONG, ERROR) goes out through the writer,
so writes never interleave.
"""

from __future__ import annotations

import math
import socket as _socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from zmtp.core.socket import Connecter, ConnectionHost
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
    drop_written,
    next_read_size,
)
from zmtp.errors import PeerError, ProtocolError, detached
from zmtp.transport.os_sockets import os_reason, peer_address
from zmtp.wire import AuthDecision
from zmtp.wire.events import AuthRequest, HandshakeComplete

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["StreamEngine"]

#: ``authenticate(engine, request)``: asks the socket's ZAP handler (RFC 27).
Authenticate = Callable[["StreamEngine", AuthRequest], Awaitable[AuthDecision]]


class StreamEngine(StreamCore):
    """Runs one connection. Create, then ``await engine.run()``; it returns when the
    connection is over (it never raises for anything the peer did)."""

    def __init__(
        self,
        host: ConnectionHost,
        authenticate: Authenticate,
        sock: _socket.socket,
        endpoint: str,
        *,
        connecter: Connecter | None = None,
        as_server: bool,
        registry: set[Any] | None = None,
    ) -> None:
        super().__init__(
            host, endpoint, peer_address(sock), connecter=connecter, as_server=as_server
        )
        self.sock = sock
        self._authenticate = authenticate
        #: The socket's set of live engines (this engine is in it while it runs).
        self._registry: set[Any] = registry if registry is not None else set()
        # Objects per connection are kept few (thousands of idle connections are
        # scanned by Python's cycle collector): the reader's parking lot and the
        # heartbeat's cancel scope are made only when first needed.
        self._scope = trio.CancelScope()
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._reader_lot: trio.lowlevel.ParkingLot | None = None
        self._writer_parked = False
        self._inline_ok = False  # see _wake_writer
        self._hb_scope: trio.CancelScope | None = None
        self._heartbeat_running = False
        self._nursery: trio.Nursery | None = None

    def idle(self) -> bool:
        """True when nothing queued for this connection is waiting to be written."""
        pipe = self.pipe
        if pipe is None:
            waiting = self.connecter.pipe if self.connecter is not None else None
            return waiting is None or not waiting.out_q.items
        return self._writer_parked and not pipe.out_q.items and not self.pending

    # -- wake-up hooks installed on the pipe's queues ----------------------------------

    def _wake_writer(self) -> None:
        """The pipe's outbound queue became non-empty (or protocol output is waiting).

        Latency: when the writer is idle, the first message of a scheduler pass is
        written inline, by the sending task, saving the two task switches a wake-up
        costs. Only one: later sends in the same pass wake the writer, which batches
        them (writing inline on every send would turn each message into a system
        call). The writer and the reader re-arm the inline write.
        """
        if self._writer_parked:
            if self._inline_ok and not self.pending:
                self._inline_ok = False
                if self._write_inline():
                    return
            self._writer_parked = False
            self._writer_lot.unpark_all()

    def _wake_reader(self) -> None:
        if self._reader_lot is not None:
            self._reader_lot.unpark_all()

    # -- phases --------------------------------------------------------------------------

    def close(self) -> None:
        """End the connection now (from any task)."""
        self.reason = self.reason or "closed by the socket"
        self._scope.cancel()

    async def run(self) -> None:
        """Run the connection to its end, then tell the socket core (which never hears
        of anything the peer did as an exception)."""
        self._registry.add(self)
        try:
            with self._scope:
                try:
                    leftover = await self._open()
                    if leftover is not None:
                        # Traffic, in this task: the reader, beside the writer (and the
                        # heartbeat while there is something to time).
                        hb = self.start_heartbeat(trio.current_time())
                        violated = self._ended_by(self._deliver, leftover)
                        if not violated and not self.reason:
                            async with trio.open_nursery() as nursery:
                                self._nursery = nursery
                                nursery.start_soon(self._writer, nursery.cancel_scope)
                                if hb.deadline() != math.inf:
                                    self._heartbeat_running = True
                                    nursery.start_soon(self._heartbeat, nursery.cancel_scope)
                                violated = await self._reader(nursery.cancel_scope)
                            self._nursery = None
                        if violated:
                            await self._flush_quietly()
                except BaseException as exc:
                    # A bug or an OS surprise in this engine: it ends this connection
                    # only, with the reason on the monitor. (Cancellation and the like,
                    # alone or grouped with such an error, go on.)
                    failure, rest = split_failure(exc)
                    if failure is not None:
                        self.reason = self.reason or internal_error(failure)
                        if not self.handshake_done:
                            self.host.handshake_failed(self.endpoint, None, self.reason)
                    if rest is not None:
                        raise rest  # noqa: B904 - the cancellation itself, unchanged
                finally:
                    self._teardown()
        finally:
            self._registry.discard(self)
            self.host.connection_done(
                self.endpoint,
                self.pipe,
                self.connecter,
                reason=self.reason,
                handshake_done=self.handshake_done,
            )

    async def _open(self) -> list[Any] | None:
        """The handshake, then the pipe from the socket core: the events that followed
        the handshake, or None if the connection is over (the reason recorded)."""
        host = self.host
        try:
            await self._write_now(self.conn.data_to_send())
            ivl = host.options.get("handshake_ivl")
            with trio.fail_after(ivl / 1000 if ivl > 0 else float("inf")):
                leftover = await self._handshake()
        except trio.TooSlowError:
            self.reason = "handshake timeout"
            host.handshake_failed(self.endpoint, None, f"handshake not completed within {ivl} ms")
            return None
        except ProtocolError as exc:
            await self._flush_quietly()
            self.reason = str(exc)
            host.handshake_failed(self.endpoint, exc, exc.reason)
            self.refused = isinstance(exc, PeerError) and not exc.peer_reason.startswith("3")
            return None
        except ConnectionLost as exc:
            self.reason = exc.reason
            host.handshake_failed(self.endpoint, None, exc.reason)
            return None
        pipe = host.connection_ready(self.endpoint, self.conn, self.peer_address, self.connecter)
        if pipe is None:
            self.reason = host.refusal()
            return None
        self.pipe = pipe
        pipe.out_q.wake_consumer = self._wake_writer
        pipe.in_q.wake_producer = self._wake_reader
        return leftover

    def _ended_by(self, fn: Any, arg: Any) -> bool:
        """Run a synchronous step; True if the peer broke the protocol in it."""
        try:
            fn(arg)
            return False
        except BaseException as exc:
            return self._end(exc)

    def _end(self, exc: BaseException) -> bool:
        """Record why traffic ended; True if the peer broke the protocol. Anything but
        the expected ends (EOF, reset, a violation) is raised again."""
        if isinstance(exc, ProtocolError):
            self.reason = self.reason or str(exc)
            self.violation = exc
            return True
        if isinstance(exc, ConnectionLost):
            self.reason = self.reason or exc.reason
            return False
        raise exc

    def _teardown(self) -> None:
        pipe = self.pipe
        if pipe is not None:
            if pipe.out_q.wake_consumer == self._wake_writer:
                pipe.out_q.wake_consumer = _noop
            if pipe.in_q.wake_producer == self._wake_reader:
                pipe.in_q.wake_producer = _noop
        try:
            self.sock.close()
        except OSError:
            pass

    async def _handshake(self) -> list[Any]:
        """Read until the handshake completes; return events that followed it."""
        conn = self.conn
        sock = self.sock
        while True:
            data = await self._recv(sock)
            conn.receive_data(data)
            while True:
                events = conn.events()  # raises ProtocolError once the peer broke a rule
                out = conn.data_to_send()
                if out:
                    await self._write_now(out)
                asked = False
                for i, ev in enumerate(events):
                    if type(ev) is HandshakeComplete:
                        self.handshake_done = True
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
                raise detached(conn.error)
            if not data:
                raise ConnectionLost("peer closed during the handshake")

    def _deliver(self, events: list[Any]) -> None:
        """Hand events that arrived with the end of the handshake to the pipe."""
        msgs = self.split(events)
        if msgs:
            assert self.pipe is not None
            self.pipe.in_q.put_many(msgs)
        if self.conn.error is not None:
            raise detached(self.conn.error)
        out = self.conn.data_to_send()
        if out:
            self.pending.append(out)
            self._wake_writer()

    async def _recv(self, sock: _socket.socket) -> bytes:
        while True:
            try:
                return sock.recv(READ_SIZE)
            except BlockingIOError:
                pass
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None
            await trio.lowlevel.wait_readable(sock)

    async def _reader(self, scope: trio.CancelScope) -> bool:
        """Read until the connection ends; cancel ``scope`` (the writer and the
        heartbeat) then. True if the peer broke the protocol."""
        try:
            conn = self.conn
            sock = self.sock
            recv = sock.recv
            pipe = self.pipe
            assert pipe is not None
            in_q = pipe.in_q
            put_many = in_q.put_many
            checkpoint = trio.lowlevel.checkpoint
            wait_readable = trio.lowlevel.wait_readable
            current_time = trio.current_time
            hb = self.start_heartbeat(current_time())
            split = self.split
            unyielded = 0  # reads since this task last let others run
            read_size = FIRST_READ
            while True:
                big = conn.body_buffer()
                started = current_time()
                data: bytes | None
                try:
                    if big is not None:
                        n = sock.recv_into(big)
                        if n == 0:
                            conn.receive_data(b"")
                            raise ConnectionLost("peer closed in the middle of a message")
                        conn.body_received(n)
                        data = b"x"  # not EOF
                    else:
                        data = recv(read_size)
                        if data:
                            bulk = conn.receive_messages(data)
                            if bulk is not None:
                                put_many(bulk)
                        else:
                            conn.receive_data(data)
                except BlockingIOError:
                    data = None
                except OSError as exc:
                    raise ConnectionLost(os_reason(exc)) from None
                if data is None:  # (waiting outside the except clause keeps no traceback)
                    unyielded = 0
                    await wait_readable(sock)
                    continue
                # Something arrived, so a scheduler pass went by: the next send may be
                # written inline again (see _wake_writer). Any traffic proves the peer
                # alive (RFC 37 heartbeating).
                self._inline_ok = True
                events = conn.events()
                if events:
                    msgs = split(events)
                    if msgs:
                        put_many(msgs)
                if conn.error is not None:
                    raise detached(conn.error)
                out = conn.data_to_send()
                if out:
                    self.pending.append(out)
                    self._wake_writer()
                if not data:
                    closed = self.closed_event
                    raise ConnectionLost(
                        closed.reason or "peer closed the connection", clean=closed.clean
                    )
                # Fairness (zmtp.core.stream): a slow read makes the next one smaller,
                # and lets the other connections run now.
                asked = read_size
                now = hb.last_rx = current_time()
                took = now - started
                read_size = next_read_size(asked, took)
                if took > TURN:
                    unyielded = 0
                    await checkpoint()
                    continue
                if in_q.full():
                    in_q.producer_blocked = True
                    unyielded = 0
                    if self._reader_lot is None:
                        self._reader_lot = trio.lowlevel.ParkingLot()
                    while in_q.full():
                        await self._reader_lot.park()
                elif len(data) < asked and big is None:
                    # The kernel had less than we asked for: the socket is drained, so
                    # wait for it instead of asking again (a recv that would only say
                    # EAGAIN costs a system call per message in request-reply traffic).
                    unyielded = 0
                    await wait_readable(sock)
                else:
                    # More may be waiting: read again at once, yielding by hand only when
                    # data keeps coming.
                    unyielded += 1
                    if unyielded >= READS_PER_TURN:
                        unyielded = 0
                        await checkpoint()
        except (ProtocolError, ConnectionLost) as exc:
            return self._end(exc)
        finally:
            scope.cancel()

    def replan_heartbeat(self) -> None:
        """The heartbeat deadline moved (the peer's PING asked for a TTL): wake the
        heartbeat task, or start it (it runs only while there is something to time)."""
        if self._heartbeat_running:
            if self._hb_scope is not None:
                self._hb_scope.deadline = trio.current_time()
        elif self._nursery is not None:
            self._heartbeat_running = True
            self._nursery.start_soon(self._heartbeat, self._nursery.cancel_scope)

    async def _heartbeat(self, scope: trio.CancelScope) -> None:
        """Send PINGs and drop a quiet peer, as the connection's schedule says; on a
        drop, cancel ``scope`` (the reader and the writer)."""
        try:
            await self._heartbeat_loop()
        except ConnectionLost as exc:
            self._end(exc)
            scope.cancel()

    async def _heartbeat_loop(self) -> None:
        hb = self.start_heartbeat(trio.current_time())
        conn = self.conn
        while True:
            with trio.CancelScope(deadline=hb.deadline()) as scope:
                self._hb_scope = scope
                await trio.sleep_forever()
            ping, lost = hb.due(trio.current_time())
            if lost is not None:
                raise ConnectionLost(lost)
            if ping:
                self.pending.append(conn.send_ping(hb.ping_ttl))
                self._wake_writer()

    async def _writer(self, scope: trio.CancelScope) -> None:
        """Write until the connection ends; cancel ``scope`` (the reader) then."""
        try:
            pipe = self.pipe
            assert pipe is not None
            out_q = pipe.out_q
            items = out_q.items
            popleft = items.popleft
            encode = self.encode_for_give_back
            pending = self.pending
            host = self.host
            while True:
                if not items and not pending:
                    self._writer_parked = True
                    self._inline_ok = True
                    host.writer_idle()
                    await self._writer_lot.park()
                    continue
                bufs: list[Any] = []
                if pending:
                    bufs.extend(pending)
                    pending.clear()
                prefix = sum(len(b) for b in bufs) if bufs else 0
                batch: list[Any] = []
                ends: list[int] | None = None
                if items:
                    size = 0
                    while items and len(batch) < BATCH_MESSAGES and size < BATCH_BYTES:
                        msg = popleft()
                        batch.append(msg)
                        size += len(msg[0])
                    out_q.room_made()
                    ends = encode(batch, bufs)
                try:
                    await self._write_now(bufs, yield_after=False)
                except ConnectionLost as lost:
                    self.give_back(batch, ends, lost.written - prefix)
                    raise
                if items or pending:
                    await trio.lowlevel.checkpoint()  # more to write: let others run first
        except (ProtocolError, ConnectionLost) as exc:
            self._end(exc)
        finally:
            scope.cancel()

    def _write_inline(self) -> bool:
        """Write what the pipe holds now, from the sending task, without waiting.

        Called when the writer is parked (nothing in flight). Returns True if all of
        it went to the kernel; otherwise the rest is left for the writer.
        """
        assert self.pipe is not None
        out_q = self.pipe.out_q
        batch = list(out_q.items)
        out_q.items.clear()
        out_q.room_made()
        bufs: list[Any] = []
        try:
            self.encode(batch, bufs)
        except Exception:
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
            out_q.items.extendleft(reversed(batch))
            return False
        if n == total:
            return True
        rest = b"".join(bytes(b) for b in bufs)[n:]
        self.pending.append(rest)
        return False

    async def _write_now(self, data: Any, *, yield_after: bool = True) -> None:
        """Write ``data`` (bytes or a list of buffers) completely."""
        if not data:
            return
        sock = self.sock
        bufs = data if isinstance(data, list) else [data]
        if len(bufs) > IOV_MAX:
            bufs = coalesce(bufs)
        views = [memoryview(b) if not isinstance(b, memoryview) else b for b in bufs]
        written = 0
        while views:
            try:
                n = sock.sendmsg(views) if len(views) > 1 else sock.send(views[0])
            except BlockingIOError:
                n = -1
            except OSError as exc:
                raise ConnectionLost(os_reason(exc), written=written) from None
            if n < 0:
                await trio.lowlevel.wait_writable(sock)
                continue
            written += n
            drop_written(views, n)
        if yield_after:
            await trio.lowlevel.checkpoint()

    async def _flush_quietly(self) -> None:
        """Best effort: send what the connection left (an ERROR command), briefly."""
        out = self.conn.data_to_send()
        if not out:
            return
        with trio.move_on_after(0.5):
            try:
                await self._write_now(out)
            except ConnectionLost:
                pass


def _noop() -> None:
    return None


def split_failure(exc: BaseException) -> tuple[BaseException | None, BaseException | None]:
    """``exc`` as (the ordinary errors in it, what must propagate: cancellation,
    KeyboardInterrupt...), either part None."""
    if isinstance(exc, BaseExceptionGroup):
        failures, rest = exc.split(Exception)
        return failures, rest
    if isinstance(exc, Exception):
        return exc, None
    return None, exc


def internal_error(exc: BaseException) -> str:
    """The monitor's reason for an unexpected exception that ended a connection."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"internal error: {type(exc).__name__}: {exc}"
