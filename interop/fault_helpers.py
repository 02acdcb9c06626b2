"""Helpers for fault injection between zmtp and libzmq (imported as ``fault_helpers``).

* :func:`libzmq_process`: a libzmq peer in a subprocess that sends or receives numbered,
  checksummed messages (or echoes), printing one line per message, so the test can
  account for each one and can stop (SIGSTOP), kill or restart it;
* :class:`Proxy`: a tcp proxy between a connecting peer (the *client*) and a bound
  one (the *server*). Each accepted connection is a :class:`Session` that can pause
  reading from the client, reset both sides (SO_LINGER 0), or forward part of a frame
  and then half-close towards the server;
* :class:`StreamWalker`: follows the client's ZMTP stream frame by frame (NULL
  mechanism), independently of zmtp's decoder: which messages went through whole,
  which commands (PING and its TTL), and where a frame body can be cut;
* :func:`unsent_octets` / :func:`unread_octets`: a socket's kernel queues (Linux
  ``SIOCOUTQ`` / ``FIONREAD``), to bound what a fault can destroy.

Messages are ``[seq, crc32(body) in hex, body]`` with a body derived from ``seq``, so a
receiver detects any corruption, duplicate or gap. Nothing here sleeps.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import struct
import termios
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.abc
from libzmq_helpers import HOST, Lines, Msg, Process, ready_process

GREETING_SIZE = 64
#: SO_LINGER on with a zero timeout: close() sends a RST.
_ABORT = struct.pack("ii", 1, 0)
MORE, LONG, COMMAND = 0x01, 0x02, 0x04
#: The smallest frame body a half-close cuts into (our messages' bodies, not the frames
#: that carry the sequence number and checksum).
CUT_BODY = 256


def body_of(seq: int, size: int) -> bytes:
    return b"%08d" % seq * (size // 8)


def message(seq: int, size: int) -> Msg:
    """Message ``seq``: its number, the CRC-32 of its body, the body."""
    body = body_of(seq, size)
    return [b"%d" % seq, b"%08x" % zlib.crc32(body), body]


def check(frames: Msg, size: int) -> int:
    """The number of a received message, after checking it is not corrupted."""
    seq_raw, crc, body = frames
    seq = int(seq_raw)
    assert int(crc, 16) == zlib.crc32(body) and body == body_of(seq, size), (
        f"message {seq} is corrupted"
    )
    return seq


def unsent_octets(fd: int) -> int:
    """Octets in a tcp socket's send queue, unsent or unacknowledged (``SIOCOUTQ``)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0" * 4))[0])


def unread_octets(fd: int) -> int:
    """Octets in a tcp socket's receive queue (``FIONREAD``)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])


# ---------------------------------------------------------------------------------------
# The libzmq peer, in a process of its own

#: ``role kind endpoint first last size options``. ``send`` connects a ``kind`` socket
#: and sends messages ``first..last`` (``sent <seq>`` after each), then stays connected
#: until stdin closes; ``recv`` binds and prints ``got <seq> ok|bad`` per message;
#: ``echo`` binds and sends every message back. ``options`` is a JSON object of pyzmq
#: socket attributes. Every role prints ``ready`` first.
PEER_SCRIPT = """\
import json, sys, zlib, zmq

role, kind, endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
first, last, size = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
options = json.loads(sys.argv[7])

def body_of(seq):
    return b"%08d" % seq * (size // 8)

ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
s.linger = 0
for name, value in options.items():
    setattr(s, name, value)
if role == "send":
    s.connect(endpoint)
    print("ready", flush=True)
    for seq in range(first, last + 1):
        body = body_of(seq)
        s.send_multipart([b"%d" % seq, b"%08x" % zlib.crc32(body), body])
        print("sent", seq, flush=True)
    sys.stdin.read()
else:
    s.bind(endpoint)
    print("ready", flush=True)
    while True:
        frames = s.recv_multipart()
        if role == "echo":
            s.send_multipart(frames)
            continue
        if kind == "ROUTER":
            frames = frames[1:]
        seq, crc, body = frames
        ok = int(crc, 16) == zlib.crc32(body) and body == body_of(int(seq))
        print("got", int(seq), "ok" if ok else "bad", flush=True)
"""


class Peer:
    """A running libzmq peer: its process and its numbered lines."""

    def __init__(self, proc: Process, lines: Lines) -> None:
        self.proc = proc
        self.lines = lines
        #: ``seq`` of each ``got``/``sent`` line, in order.
        self.seen: list[int] = []

    async def take_line(self) -> bool:
        """Record the next line (a corrupted message fails the test); False at EOF."""
        line = await self.lines.next()
        if line is None:
            return False
        _verb, seq, *rest = line.split()
        assert rest != ["bad"], f"libzmq received message {seq} corrupted"
        self.seen.append(int(seq))
        return True

    async def until(self, count: int) -> None:
        """Record lines until ``count`` have been seen."""
        while len(self.seen) < count:
            assert await self.take_line(), f"the peer exited after {len(self.seen)} lines"

    async def kill(self) -> None:
        """SIGKILL, then record what it printed before dying."""
        self.proc.kill()
        await self.proc.wait()
        while await self.take_line():
            pass


@contextlib.asynccontextmanager
async def libzmq_process(
    role: str,
    kind: str,
    endpoint: str,
    first: int = 0,
    last: int = 0,
    size: int = 8,
    **options: Any,
) -> AsyncIterator[Peer]:
    """Run PEER_SCRIPT; yields once it printed ``ready``. Killed on exit."""
    args = [role, kind, endpoint, first, last, size, json.dumps(options)]
    async with ready_process(PEER_SCRIPT, *args) as (proc, lines):
        yield Peer(proc, lines)


# ---------------------------------------------------------------------------------------
# Following a ZMTP stream


class StreamWalker:
    """Follows one direction of a ZMTP stream with the NULL mechanism: the 64-octet
    greeting, then frames (RFC 23 "Framing"), whatever their meaning.

    ``messages`` holds the first frame of each message that went through whole (our
    messages' sequence numbers); ``commands`` each command as ``(name, data)``.
    """

    def __init__(self) -> None:
        self._greeting_left = GREETING_SIZE
        self._header = bytearray()
        self._in_body = False
        self._flags = 0
        self._left = 0
        self._size = 0
        self._body = bytearray()
        self._keep = False
        self._frames = 0  # frames of the message being assembled
        self._first = b""
        self.messages: list[bytes] = []
        self.commands: list[tuple[bytes, bytes]] = []

    @property
    def partial_first_frame(self) -> bytes | None:
        """The first frame of a message cut short, if its first frame was complete."""
        return self._first if self._frames else None

    def feed(self, data: bytes, *, cut: bool = False) -> int:
        """Walk ``data``; return how many octets were taken: all of them, or with
        ``cut``, up to a point strictly inside the first message-frame body of at
        least CUT_BODY octets met (at least one of its octets taken, one left), so
        that the message's first frame is known."""
        pos, end = 0, len(data)
        while pos < end:
            if self._greeting_left:
                take = min(self._greeting_left, end - pos)
                self._greeting_left -= take
                pos += take
                continue
            if not self._in_body:
                self._header.append(data[pos])
                pos += 1
                if len(self._header) < (9 if self._header[0] & LONG else 2):
                    continue
                self._flags = self._header[0]
                self._left = self._size = int.from_bytes(self._header[1:], "big")
                self._header.clear()
                self._in_body = True
                # Keep commands and the first frame of each message; count the rest.
                self._keep = bool(self._flags & COMMAND) or self._frames == 0
                if self._left == 0:
                    self._frame_done()
                continue
            take = min(self._left, end - pos)
            stop = cut and not self._flags & COMMAND and self._size >= CUT_BODY and self._left >= 2
            if stop:
                take = min(take, self._left - 1)
            if self._keep:
                self._body += data[pos : pos + take]
            self._left -= take
            pos += take
            if stop:
                return pos
            if self._left == 0:
                self._frame_done()
        return pos

    def _frame_done(self) -> None:
        body = bytes(self._body)
        self._body.clear()
        self._in_body = False
        if self._flags & COMMAND:
            n = body[0]
            self.commands.append((body[1 : 1 + n], body[1 + n :]))
            return
        if self._frames == 0:
            self._first = body
        self._frames += 1
        if not self._flags & MORE:
            self.messages.append(self._first)
            self._frames = 0


# ---------------------------------------------------------------------------------------
# The proxy


class Changes:
    """Wakes every task waiting in :meth:`wait` at each :meth:`notify`."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class RawStream:
    """A non-blocking tcp socket read and written only when asked.

    anyio's socket streams on an asyncio loop are transports that read ahead into a
    buffer of their own (uvloop keeps reading after a pause), so octets the proxy
    "did not read" would leave the kernel and vanish with the proxy. Here every octet
    not yet received stays in the kernel's receive queue, where ``unread_octets``
    counts it and where the peer's flow control holds the sender back.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock

    async def receive(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` octets; ``b""`` at end of stream."""
        while True:
            await anyio.wait_readable(self.sock)
            try:
                return self.sock.recv(max_bytes)
            except BlockingIOError:
                continue

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            await anyio.wait_writable(self.sock)
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                continue

    def send_eof(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def close(self, *, abort: bool = False) -> None:
        if abort:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
        self.sock.close()


class Session:
    """One proxied connection: client <-> proxy <-> server.

    The client's stream is followed by :attr:`walker` as it is forwarded; ``pause``,
    ``reset`` and ``half_close_mid_frame`` inject the faults.
    """

    def __init__(self, client: RawStream, server: RawStream) -> None:
        self.client = client
        self.server = server
        self.walker = StreamWalker()
        self.over = anyio.Event()
        self._changed = Changes()
        self._gate: anyio.Event | None = None
        self._at_gate = anyio.Event()
        self._read_scope: anyio.CancelScope | None = None
        self._cut = False
        self._reset = False
        self._scope = anyio.CancelScope()
        #: When each command was forwarded (``anyio.current_time()``, taken just before
        #: it was sent on), by index in walker.commands.
        self.command_times: list[float] = []
        #: Set once a half-close was done: the first frame of the message cut short.
        self.cut_message: bytes | None = None
        #: At the fault (reset or cut): octets the client had sent that the proxy never
        #: read (its kernel receive queue), and octets it read but did not forward.
        self.unread_at_fault = 0
        self.dropped_at_fault = 0

    # -- waiting on what went through --------------------------------------------------

    async def wait(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (checked after every forwarded chunk)."""
        while not predicate():
            if self.over.is_set():
                raise AssertionError("the session ended first")
            await self._changed.wait()

    @property
    def forwarded(self) -> list[int]:
        """Sequence numbers of the messages forwarded whole to the server."""
        return [int(first) for first in self.walker.messages]

    # -- faults ------------------------------------------------------------------------

    async def pause(self) -> None:
        """Stop reading from the client; returns once the pump waits at the gate (what
        it read before was forwarded)."""
        self._gate = anyio.Event()
        self._at_gate = anyio.Event()
        if self._read_scope is not None:
            self._read_scope.cancel()  # a cancelled receive took nothing
        await self._at_gate.wait()

    def resume(self) -> None:
        if self._gate is not None:
            self._gate.set()
            self._gate = None

    async def reset(self) -> None:
        """Abort both connections: SO_LINGER 0, so each side gets a RST."""
        self.unread_at_fault = unread_octets(self.client.sock.fileno())
        self._reset = True
        self._scope.cancel()
        await self.over.wait()

    async def half_close_mid_frame(self) -> None:
        """Forward the client's next octets up to a point inside a message frame's body,
        then shut down writing towards the server; the server's close ends the rest."""
        self._cut = True
        self.resume()
        await self.wait(lambda: self.cut_message is not None)

    # -- pumps -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            with self._scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._client_to_server)
                    await self._server_to_client()
                    tg.cancel_scope.cancel()
        finally:
            for stream in (self.client, self.server):
                with contextlib.suppress(OSError):
                    stream.close(abort=self._reset)
            self.over.set()
            self._changed.notify()

    async def _client_to_server(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                if self._gate is not None:
                    self._at_gate.set()
                    await self._gate.wait()
                data: bytes | None = None
                with anyio.CancelScope() as self._read_scope:
                    data = await self.client.receive(65536)
                self._read_scope = None
                if data is None:
                    continue  # paused while waiting: nothing was read
                if not data:
                    self.server.send_eof()
                    return
                n = self.walker.feed(data, cut=self._cut)
                # Stamped before they are sent: the server reads them later.
                self.command_times += [anyio.current_time()] * (
                    len(self.walker.commands) - len(self.command_times)
                )
                await self.server.send(data[:n])
                if n < len(data):
                    self.unread_at_fault = unread_octets(self.client.sock.fileno())
                    self.dropped_at_fault = len(data) - n
                    self.server.send_eof()
                    cut = self.walker.partial_first_frame
                    assert cut is not None, "the cut fell inside a message's first frame"
                    self.cut_message = cut
                    self._changed.notify()
                    return  # read nothing more from the client
                self._changed.notify()

    async def _server_to_client(self) -> None:
        with contextlib.suppress(OSError):
            while data := await self.server.receive(65536):
                await self.client.send(data)


class Proxy:
    """Accepts connections on :attr:`endpoint` and proxies each to ``upstream``.

    ``rcvbuf`` sets SO_RCVBUF on the accepted (client-side) sockets, so a paused
    session holds little in the kernel. Run it with ``await task_group.start(proxy.run)``.
    """

    def __init__(self, upstream: str, *, rcvbuf: int | None = None) -> None:
        host, port = upstream.removeprefix("tcp://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.rcvbuf = rcvbuf
        self.sessions: list[Session] = []
        self.endpoint = ""
        self._new = Changes()

    async def run(self, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        sock = socket.socket()
        if self.rcvbuf is not None:  # before listen: accepted sockets inherit it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.bind((HOST, 0))
        sock.listen(16)
        sock.setblocking(False)
        self.endpoint = f"tcp://{HOST}:{sock.getsockname()[1]}"
        async with anyio.create_task_group() as tg:
            task_status.started()
            try:
                while True:
                    await anyio.wait_readable(sock)
                    try:
                        accepted, _ = sock.accept()
                    except BlockingIOError:
                        continue
                    client = RawStream(accepted)
                    try:
                        server = RawStream(await self._connect_upstream())
                    except OSError:
                        client.close()  # nobody upstream: the client retries
                        continue
                    session = Session(client, server)
                    self.sessions.append(session)
                    self._new.notify()
                    tg.start_soon(session.run)
            finally:
                sock.close()

    async def _connect_upstream(self) -> socket.socket:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            err = sock.connect_ex(self.upstream)
            if err == errno.EINPROGRESS:
                await anyio.wait_writable(sock)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
        except BaseException:
            sock.close()
            raise
        return sock

    async def session(self, index: int) -> Session:
        """The ``index``-th session (0-based), once a client connected that often."""
        while len(self.sessions) <= index:
            await self._new.wait()
        return self.sessions[index]
