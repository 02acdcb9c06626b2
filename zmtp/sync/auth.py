"""``zmtp.sync.auth``: an in-process ZAP handler (RFC 27) for blocking contexts, in a
thread of its own (pyzmq's ``zmq.auth.thread.ThreadAuthenticator``)::

    import zmtp.sync as zmq
    from zmtp.sync.auth import ThreadAuthenticator

    context = zmq.Context()
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    server = context.socket(zmq.REP, plain_server=True)
    ...
    auth.stop()

The rules are those of ``zmtp.auth`` (:class:`zmtp.core.security.ZapHandler`: an
allow/deny list of addresses, PLAIN passwords and CURVE client keys per ZAP domain).
They are served on a REP socket bound at ``inproc://zeromq.zap.01`` in the context,
where every server socket of the context looks for its handler; a daemon thread
answers each request as it comes. Configuring while it runs is safe: each request
is decided on the configuration of that moment.

The thread ends with :meth:`Authenticator.stop` (or the ``with`` block), and also when
the context is terminated (``ctx.term()`` closes the socket it reads).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from zmtp.constants import SocketType
from zmtp.core.security import CURVE_ALLOW_ANY, ZAP_ENDPOINT, ZapHandler
from zmtp.errors import ContextTerminated, SocketClosed

if TYPE_CHECKING:
    from zmtp.sync.context import Context
    from zmtp.sync.socket import Socket

__all__ = ["CURVE_ALLOW_ANY", "Authenticator", "ThreadAuthenticator"]


class Authenticator(ZapHandler):
    """A ZAP handler serving one :class:`zmtp.sync.Context` from a thread of its own
    (``Authenticator(ctx)``, or ``Context.instance()``'s by default)."""

    def __init__(self, context: Context | None = None) -> None:
        from zmtp.sync.context import Context

        super().__init__()
        self.context = context if context is not None else Context.instance()
        self._socket: Socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind ``inproc://zeromq.zap.01`` and start answering requests (idempotent).
        A second handler in the same context fails to bind, as in libzmq."""
        if self._socket is not None:
            return
        sock = self.context.socket(SocketType.REP, linger=0)
        try:
            sock.bind(ZAP_ENDPOINT)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name="zmtp-sync-zap", daemon=True
        )
        self._thread.start()

    def _serve(self, sock: Socket) -> None:
        try:
            while True:
                request = sock.recv_multipart()
                sock.send_multipart(self.reply(request))
        except (SocketClosed, ContextTerminated):
            return

    def is_alive(self) -> bool:
        """True while the handler's thread answers requests."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop answering and wait for the thread to end; new handshakes then follow
        the no-handler rules (a PLAIN or CURVE server refuses every client)."""
        sock, self._socket = self._socket, None
        thread, self._thread = self._thread, None
        if sock is not None:
            sock.close()  # wakes the thread's recv with SocketClosed
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Authenticator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


#: pyzmq's name (``zmq.auth.thread.ThreadAuthenticator``).
ThreadAuthenticator = Authenticator
