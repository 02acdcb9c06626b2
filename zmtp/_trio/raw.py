"""The trio raw engine: one connection of a STREAM socket, bytes with no ZMTP.

Like :class:`~zmtp._trio.stream.StreamEngine` it runs a reader and a writer over a
non-blocking OS socket, but there is no greeting, no framing and no handshake: the
connection is ready as soon as it exists.

* the *reader* puts whatever one ``recv`` returns into the pipe as one message
  ``[data]``, and stops reading while the pipe holds ``rcvhwm`` messages, so TCP
  pushes back on a peer that floods;
* the *writer* writes each message's data as it is; the empty message ``[b""]`` (sent
  by the application as ``[routing id, b""]``) closes the connection once what came
  before it is written.
"""

from __future__ import annotations

import socket as _socket
from typing import Any

import trio

from zmtp._trio.stream import internal_error, split_failure
from zmtp.core.socket import Connecter, ConnectionHost
from zmtp.core.stream import READ_SIZE, ConnectionLost
from zmtp.routing import Pipe
from zmtp.transport.os_sockets import os_reason, peer_address

__all__ = ["RawEngine"]


class RawEngine:
    """Runs one raw connection; the same lifetime verbs as StreamEngine."""

    def __init__(
        self,
        host: ConnectionHost,
        sock: _socket.socket,
        endpoint: str,
        *,
        connecter: Connecter | None = None,
        registry: set[Any] | None = None,
    ) -> None:
        self.host = host
        #: The socket's set of live engines (this engine is in it while it runs).
        self._registry: set[Any] = registry if registry is not None else set()
        self.sock = sock
        self.endpoint = endpoint
        self.peer_address = peer_address(sock)
        self.connecter = connecter
        self.pipe: Pipe | None = None
        self.handshake_done = False
        self.refused = False
        self.reason = ""
        self._scope = trio.CancelScope()
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._reader_lot = trio.lowlevel.ParkingLot()
        self._writer_parked = False

    def idle(self) -> bool:
        pipe = self.pipe
        return pipe is None or (self._writer_parked and not pipe.out_q.items)

    def close(self) -> None:
        self.reason = self.reason or "closed by the socket"
        self._scope.cancel()

    def _wake_writer(self) -> None:
        if self._writer_parked:
            self._writer_parked = False
            self._writer_lot.unpark_all()

    def _wake_reader(self) -> None:
        self._reader_lot.unpark_all()

    async def run(self) -> None:
        self._registry.add(self)
        try:
            await self._run()
        finally:
            self._registry.discard(self)
            self.host.connection_done(
                self.endpoint,
                self.pipe,
                self.connecter,
                reason=self.reason,
                handshake_done=self.handshake_done,
            )

    async def _run(self) -> None:
        with self._scope:
            try:
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
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._guarded, self._writer, nursery.cancel_scope)
                    await self._guarded(self._reader, nursery.cancel_scope)
            except BaseException as exc:
                failure, rest = split_failure(exc)
                if failure is not None:
                    self.reason = self.reason or internal_error(failure)
                if rest is not None:
                    raise rest  # noqa: B904 - the cancellation itself, unchanged
            finally:
                pipe = self.pipe
                if pipe is not None:
                    pipe.out_q.wake_consumer = _noop
                    pipe.in_q.wake_producer = _noop
                self.sock.close()

    async def _guarded(self, fn: Any, scope: trio.CancelScope) -> None:
        try:
            await fn()
        except ConnectionLost as exc:
            self.reason = self.reason or exc.reason
        finally:
            scope.cancel()

    async def _reader(self) -> None:
        sock = self.sock
        assert self.pipe is not None
        in_q = self.pipe.in_q
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None
            if not data:
                raise ConnectionLost("peer closed the connection", clean=True)
            in_q.put([data])
            if in_q.full():
                in_q.producer_blocked = True
                while in_q.full():
                    await self._reader_lot.park()
            else:
                await trio.lowlevel.checkpoint()

    async def _writer(self) -> None:
        assert self.pipe is not None
        out_q = self.pipe.out_q
        items = out_q.items
        while True:
            if not items:
                self._writer_parked = True
                self.host.writer_idle()
                await self._writer_lot.park()
                continue
            msg = items.popleft()
            out_q.room_made()
            data = msg[0]
            if not data:
                raise ConnectionLost("closed by the application (an empty message)")
            await self._write(data)

    async def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self.sock)
                continue
            except OSError as exc:
                raise ConnectionLost(os_reason(exc)) from None
            view = view[n:]
        await trio.lowlevel.checkpoint()


def _noop() -> None:
    return None
