"""The stream engine: one tcp or ipc connection, pumping bytes between an OS socket and
a sans-IO :class:`~zmtp.wire.Connection`, and messages between it and a pipe.

Theory of operation
-------------------
The engine runs in three phases, all inside :meth:`StreamEngine.run`:

1. **handshake**: write our greeting, then read and answer until the connection
   reports ``HandshakeComplete`` (bounded by ``handshake_ivl``). The socket then
   gives us the pipe to serve (a connecter's pipe that outlives connections, or a
   new one) or refuses the peer.
2. **traffic**: a reader, a writer and a heartbeat task run side by side.

   - The *reader* ``recv``\\s up to 256 KiB at a time, lets the connection parse every
     complete frame in it, and appends all the messages to the pipe's inbound queue
     in one go (one wake-up of the receiver per read). When the inbound queue
     reaches the receive HWM it stops reading, so TCP pushes back on the peer.
     A large body being assembled is read straight into its own buffer.
   - The *writer* sleeps until the pipe's outbound queue is non-empty, then takes a
     batch (up to 256 messages or 1 MiB), encodes it into a few buffers (small frames
     joined, large bodies as they are) and writes them with one ``sendmsg``. It waits
     for writability only when the kernel says EAGAIN. When the writer is idle, the
     first message of a scheduler pass is written inline by the sending task
     (latency); if a write fails, a connecter's pipe gets back the messages the
     kernel did not take, for the next connection.
   - The *heartbeat* task sends PINGs (``heartbeat_ivl``) and drops a peer that goes
     quiet (``heartbeat_timeout``, or the TTL of the peer's own PING).
3. **teardown**: whichever side ends first (EOF, error, a protocol violation, a
   heartbeat timeout, the socket closing) cancels the others; the socket is told why.

Nothing here decides routing. The engine looks at messages only to turn
subscriptions into SUBSCRIBE/CANCEL commands (and back) for ZMTP 3.1 peers. Protocol
output of the connection itself (PONG, ERROR) goes out through the writer, so
writes never interleave.
"""

from __future__ import annotations

import errno
import socket as _socket
from typing import TYPE_CHECKING, Any

import trio

from zmtp.constants import SocketType
from zmtp.errors import PeerError, ProtocolError
from zmtp.routing import Pipe, SubscriptionMsg
from zmtp.wire import Connection
from zmtp.wire.events import (
    AuthRequest,
    Cancel,
    ConnectionClosed,
    HandshakeComplete,
    Message,
    Ping,
    Subscribe,
)
from zmtp.wire.frames import encode_batch

if TYPE_CHECKING:
    from zmtp.socket import Socket

__all__ = ["ConnectionLost", "StreamEngine"]

READ_SIZE = 256 * 1024
BATCH_MESSAGES = 256
BATCH_BYTES = 1024 * 1024
_IOV_MAX = 512


class ConnectionLost(Exception):
    """Internal: the stream ended; ``reason`` says how."""

    def __init__(self, reason: str, *, clean: bool = False, written: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.clean = clean
        #: Octets of the failed write that the kernel had accepted.
        self.written = written


class StreamEngine:
    """Runs one connection. Create, then ``await engine.run()``; it returns when the
    connection is over (it never raises for anything the peer did)."""

    def __init__(
        self,
        owner: Socket,
        sock: _socket.socket,
        endpoint: str,
        *,
        connecter_pipe: Pipe | None = None,
        as_server: bool,
        accepted: bool = False,
    ) -> None:
        self.owner = owner
        self.accepted = accepted
        self._scope = trio.CancelScope()
        self.sock = sock
        self.endpoint = endpoint
        #: The peer's IP address (tcp), or "" (ipc): the ZAP request's Address.
        self.peer_address = ""
        if sock.family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                self.peer_address = str(sock.getpeername()[0])
            except OSError:
                pass
        # Options were checked at bind/connect; they may have changed since.
        self.conn: Connection = owner._new_connection(as_server=as_server)
        self.pipe: Pipe | None = None
        self._connecter_pipe = connecter_pipe
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._reader_lot = trio.lowlevel.ParkingLot()
        self._writer_parked = False
        self._inline_ok = False  # see _wake_writer
        self._pending: list[Any] = []  # protocol output waiting for the writer
        self.handshake_done = False
        #: The peer answered our handshake with ERROR (not "try again later").
        self.refused = False
        #: Why the connection ended (set before run() returns).
        self.reason = ""
        #: The peer's protocol violation that ended the connection, if one did.
        self.violation: ProtocolError | None = None
        self._closed_event = ConnectionClosed(False, "peer closed the connection")
        self._last_rx = 0.0
        self._peer_ttl: float | None = None
        self._hb_scope = trio.CancelScope()
        # SUB and XSUB send subscriptions, which become commands for ZMTP 3.1 peers.
        self._subscriber = owner.type in (SocketType.SUB, SocketType.XSUB)

    def idle(self) -> bool:
        """True when nothing queued for this connection is waiting to be written."""
        pipe = self.pipe
        if pipe is None:
            waiting = self._connecter_pipe
            return waiting is None or not waiting.out_q.items
        return self._writer_parked and not pipe.out_q.items and not self._pending

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
            if self._inline_ok and not self._pending:
                self._inline_ok = False
                if self._write_inline():
                    return
            self._writer_parked = False
            self._writer_lot.unpark_all()

    def _wake_reader(self) -> None:
        self._reader_lot.unpark_all()

    # -- phases --------------------------------------------------------------------------

    def close(self) -> None:
        """End the connection now (from any task)."""
        self.reason = self.reason or "closed by the socket"
        self._scope.cancel()

    async def run(self) -> None:
        with self._scope:
            await self._run()

    async def _run(self) -> None:
        owner = self.owner
        try:
            try:
                await self._write_now(self.conn.data_to_send())
                ivl = owner.options.get("handshake_ivl")
                with trio.fail_after(ivl / 1000 if ivl > 0 else float("inf")):
                    leftover = await self._handshake()
            except trio.TooSlowError:
                owner._handshake_failed(
                    self.endpoint, None, f"handshake not completed within {ivl} ms"
                )
                self.reason = "handshake timeout"
                return
            except ProtocolError as exc:
                await self._flush_quietly()
                owner._handshake_failed(self.endpoint, exc, exc.reason)
                self.reason = str(exc)
                self.refused = isinstance(exc, PeerError) and not exc.peer_reason.startswith("3")
                return
            except ConnectionLost as exc:
                owner._handshake_failed(self.endpoint, None, exc.reason)
                self.reason = exc.reason
                return
            pipe = owner._engine_ready(self, self._connecter_pipe)
            if pipe is None:
                self.reason = owner._pattern.refusal if not owner._closing else "socket closing"
                return
            self.pipe = pipe
            pipe.out_q.wake_consumer = self._wake_writer
            pipe.in_q.wake_producer = self._wake_reader
            violated = await self._guarded(self._deliver, leftover)
            if not violated and not self.reason:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._guarded, self._writer, nursery.cancel_scope)
                    nursery.start_soon(self._guarded, self._heartbeat, nursery.cancel_scope)
                    violated = await self._guarded(self._reader, nursery.cancel_scope)
            if violated:
                await self._flush_quietly()
        finally:
            self._teardown()

    async def _guarded(self, fn: Any, arg: Any) -> bool:
        """Run a phase; record why it ended. True if the peer broke the protocol.

        The two ends of traffic are run by this so that their expected ends (EOF,
        reset, violations) never escape as exception groups; the first to end
        cancels the other through ``arg`` when it is a cancel scope.
        """
        try:
            if isinstance(arg, trio.CancelScope):
                await fn()
            else:
                result = fn(arg)
                if result is not None:
                    await result
            return False
        except ProtocolError as exc:
            self.reason = self.reason or str(exc)
            self.violation = exc
            return True
        except ConnectionLost as exc:
            self.reason = self.reason or exc.reason
            return False
        finally:
            if isinstance(arg, trio.CancelScope):
                arg.cancel()

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
                        self.owner._handshake_succeeded(self, ev)
                        return events[i + 1 :]
                    if type(ev) is AuthRequest:
                        # The authenticator is a ZAP handler (RFC 27): ask it, then
                        # let the mechanism carry on with its answer.
                        conn.resolve_auth(await self.owner._zap(self, ev))
                        asked = True
                    else:
                        self.owner._connection_event(self, ev)
                if not asked:
                    break
            if conn.error is not None:
                raise conn.error
            if not data:
                raise ConnectionLost("peer closed during the handshake")

    def _split(self, events: list[Any]) -> list[Any]:
        """The messages among ``events`` (subscriptions included, as messages, in
        order); the other events go to the socket."""
        msgs = []
        for ev in events:
            t = type(ev)
            if t is Message:
                msgs.append(ev)
            elif t is Subscribe or t is Cancel:
                msgs.append(SubscriptionMsg.make(ev.topic, t is Subscribe))
            elif t is ConnectionClosed:
                self._closed_event = ev
            elif t is Ping:
                self._owner_event_ping(ev)
            else:
                self.owner._connection_event(self, ev)
        return msgs

    def _deliver(self, events: list[Any]) -> None:
        """Hand events that arrived with the end of the handshake to the pipe."""
        msgs = self._split(events)
        if msgs:
            assert self.pipe is not None
            self.pipe.in_q.put_many(msgs)
        if self.conn.error is not None:
            raise self.conn.error
        out = self.conn.data_to_send()
        if out:
            self._pending.append(out)
            self._wake_writer()

    async def _recv(self, sock: _socket.socket) -> bytes:
        while True:
            try:
                return sock.recv(READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
            except OSError as exc:
                raise ConnectionLost(_os_reason(exc)) from None

    async def _reader(self) -> None:
        conn = self.conn
        sock = self.sock
        recv = sock.recv
        pipe = self.pipe
        assert pipe is not None
        in_q = pipe.in_q
        put_many = in_q.put_many
        checkpoint = trio.lowlevel.checkpoint
        wait_readable = trio.lowlevel.wait_readable
        split = self._split
        unyielded = 0  # reads since this task last let others run
        while True:
            big = conn.body_buffer()
            try:
                if big is not None:
                    n = sock.recv_into(big)
                    if n == 0:
                        conn.receive_data(b"")
                        raise ConnectionLost("peer closed in the middle of a message")
                    conn.body_received(n)
                    data = b"x"  # not EOF
                else:
                    data = recv(READ_SIZE)
                    if data:
                        bulk = conn.receive_messages(data)
                        if bulk is not None:
                            put_many(bulk)
                    else:
                        conn.receive_data(data)
            except BlockingIOError:
                unyielded = 0
                await wait_readable(sock)
                continue
            except OSError as exc:
                raise ConnectionLost(_os_reason(exc)) from None
            # Something arrived, so a scheduler pass went by: the next send may be
            # written inline again (see _wake_writer). Any traffic proves the peer
            # alive (RFC 37 heartbeating).
            self._inline_ok = True
            self._last_rx = trio.current_time()
            events = conn.events()
            if events:
                msgs = split(events)
                if msgs:
                    put_many(msgs)
            if conn.error is not None:
                raise conn.error
            out = conn.data_to_send()
            if out:
                self._pending.append(out)
                self._wake_writer()
            if not data:
                closed = self._closed_event
                raise ConnectionLost(
                    closed.reason or "peer closed the connection", clean=closed.clean
                )
            if in_q.full():
                in_q.producer_blocked = True
                unyielded = 0
                while in_q.full():
                    await self._reader_lot.park()
            elif len(data) < READ_SIZE and big is None:
                # The kernel had less than we asked for: the socket is drained, so
                # wait for it instead of asking again (a recv that would only say
                # EAGAIN costs a system call per message in request-reply traffic).
                unyielded = 0
                await wait_readable(sock)
            else:
                # More may be waiting: read again at once, yielding by hand only when
                # data keeps coming.
                unyielded += 1
                if unyielded >= 4:
                    unyielded = 0
                    await checkpoint()

    # -- heartbeats (RFC 37 "Connection Heartbeating", libzmq's options) ---------------

    def _owner_event_ping(self, ev: Ping) -> None:
        """A PING: its TTL (tenths of a second) bounds how long we wait for traffic.
        The connection has already queued the PONG."""
        ttl = ev.ttl / 10 if ev.ttl else None
        if ttl != self._peer_ttl:
            self._peer_ttl = ttl
            self._hb_scope.deadline = trio.current_time()  # re-plan now

    async def _heartbeat(self) -> None:
        """Send PINGs every ``heartbeat_ivl``; drop the peer when no traffic follows a
        PING within ``heartbeat_timeout``, or none comes within the TTL it asked for."""
        opts = self.owner.options
        conn = self.conn
        ivl = opts.get("heartbeat_ivl") / 1000
        timeout_ms = opts.get("heartbeat_timeout")
        timeout = ivl if timeout_ms < 0 else timeout_ms / 1000
        ttl = min(opts.get("heartbeat_ttl") // 100, 0xFFFF)
        # A ZMTP 3.0 peer does not know PING (RFC 37); we still honour a TTL it sends.
        pinging = ivl > 0 and conn.version is not None and conn.version >= (3, 1)
        inf = float("inf")
        now = trio.current_time()
        self._last_rx = now
        next_ping = now + ivl if pinging else inf
        ping_sent = inf
        while True:
            deadline = min(next_ping, ping_sent + timeout)
            if self._peer_ttl is not None:
                deadline = min(deadline, self._last_rx + self._peer_ttl)
            with trio.CancelScope(deadline=deadline) as scope:
                self._hb_scope = scope
                await trio.sleep_forever()
            now = trio.current_time()
            if now >= ping_sent + timeout:
                if self._last_rx < ping_sent:
                    raise ConnectionLost(
                        f"heartbeat timeout: no traffic for {timeout * 1000:.0f} ms after PING"
                    )
                ping_sent = inf
            if self._peer_ttl is not None and now >= self._last_rx + self._peer_ttl:
                raise ConnectionLost(
                    f"heartbeat TTL expired: no traffic for {self._peer_ttl * 1000:.0f} ms "
                    "as the peer's PING asked"
                )
            if now >= next_ping:
                self._pending.append(conn.send_ping(ttl))
                self._wake_writer()
                if ping_sent == inf:
                    ping_sent = now
                next_ping = now + ivl

    def _encode(self, batch: list[Any], bufs: list[Any]) -> None:
        if self._subscriber:
            self._encode_subscriber(batch, bufs)
        elif self.conn.mechanism.transforms_traffic:
            self.conn.send_messages(batch, bufs)
        else:
            encode_batch(batch, bufs)

    def _encode_counted(self, batch: list[Any], bufs: list[Any]) -> list[int]:
        """Encode like :meth:`_encode`, returning where each message ends in the
        output (octets from the start of the first buffer appended)."""
        ends: list[int] = []
        start = len(bufs)
        total = 0
        for msg in batch:
            self._encode([msg], bufs)
            total += sum(len(b) for b in bufs[start:])
            start = len(bufs)
            ends.append(total)
        return ends

    async def _writer(self) -> None:
        pipe = self.pipe
        assert pipe is not None
        out_q = pipe.out_q
        items = out_q.items
        popleft = items.popleft
        encode = self._encode
        conn = self.conn
        while True:
            if not items and not self._pending:
                self._writer_parked = True
                self._inline_ok = True
                self.owner._writer_idle()
                await self._writer_lot.park()
                continue
            bufs: list[Any] = []
            if self._pending:
                bufs.extend(self._pending)
                self._pending.clear()
            batch: list[Any] = []
            ends: list[int] | None = None
            prefix = 0
            if items:
                size = 0
                while items and len(batch) < BATCH_MESSAGES and size < BATCH_BYTES:
                    msg = popleft()
                    batch.append(msg)
                    size += len(msg[0])
                out_q.room_made()
                if self._connecter_pipe is not None:
                    prefix = sum(len(b) for b in bufs)
                if self._connecter_pipe is not None and (
                    self._subscriber or conn.mechanism.transforms_traffic
                ):
                    ends = self._encode_counted(batch, bufs)
                else:
                    encode(batch, bufs)
            try:
                await self._write_now(bufs, yield_after=False)
            except ConnectionLost as lost:
                if batch and self._connecter_pipe is not None:
                    # The pipe outlives this connection: the messages the kernel did
                    # not wholly accept go back to the front of its queue, for the
                    # next connection (one cut short here never reaches the peer, so
                    # nothing is duplicated).
                    if ends is None:
                        ends = _plain_ends(batch)
                    written = lost.written - prefix
                    done = sum(1 for end in ends if end <= written)
                    items.extendleft(reversed(batch[done:]))
                raise
            if items or self._pending:
                await trio.lowlevel.checkpoint()  # more to write: let others run first

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
            self._encode(batch, bufs)
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
        self._pending.append(rest)
        return False

    def _encode_subscriber(self, batch: list[Any], bufs: list[Any]) -> None:
        conn = self.conn
        for msg in batch:
            if type(msg) is SubscriptionMsg:
                encode = conn.send_subscribe if msg.subscribe else conn.send_cancel
                bufs.append(encode(msg.topic))
            else:
                conn.send_messages([msg], bufs)

    async def _write_now(self, data: Any, *, yield_after: bool = True) -> None:
        """Write ``data`` (bytes or a list of buffers) completely."""
        if not data:
            return
        sock = self.sock
        bufs = data if isinstance(data, list) else [data]
        if len(bufs) > _IOV_MAX:
            bufs = _coalesce(bufs)
        views = [memoryview(b) if not isinstance(b, memoryview) else b for b in bufs]
        written = 0
        while views:
            try:
                n = sock.sendmsg(views) if len(views) > 1 else sock.send(views[0])
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                continue
            except OSError as exc:
                raise ConnectionLost(_os_reason(exc), written=written) from None
            written += n
            while n:
                first = views[0]
                if n >= len(first):
                    n -= len(first)
                    views.pop(0)
                else:
                    views[0] = first[n:]
                    n = 0
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


def _plain_ends(batch: list[Any]) -> list[int]:
    """Where each message of ``batch`` ends in its plain ZMTP encoding (RFC 23: a
    1-octet size up to 255 octets, else 8; plus the flags octet)."""
    ends = []
    total = 0
    for msg in batch:
        for frame in msg:
            n = len(frame)
            total += n + (2 if n < 256 else 9)
        ends.append(total)
    return ends


def _coalesce(bufs: list[Any]) -> list[Any]:
    """Join buffers so that no more than _IOV_MAX remain (keeping big ones apart)."""
    out: list[Any] = []
    run = bytearray()
    for b in bufs:
        if len(b) >= 65536:
            if run:
                out.append(run)
                run = bytearray()
            out.append(b)
        else:
            run += b
    if run:
        out.append(run)
    if len(out) > _IOV_MAX:
        return [b"".join(bytes(b) for b in out)]
    return out


def _os_reason(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")
