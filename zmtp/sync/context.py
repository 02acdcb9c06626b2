"""The blocking context: ``zmtp.sync.Context``, pyzmq's ``zmq.Context``.

Theory of operation
-------------------
A context owns one **I/O thread** (:class:`~zmtp.asyncio.runtime.IOThread`: a daemon
thread running an asyncio event loop), started with its first socket, as libzmq
starts its own. Every listener, connecter and connection of the context's sockets
runs there (:class:`~zmtp.asyncio.runtime.SocketRuntime`), so an application thread
that blocks (``input()``, ``time.sleep``, a long computation) never stalls the I/O:
peers keep being accepted, handshakes finish, queued messages keep leaving.

Application threads touch the engine-neutral socket cores directly, always holding
the context's lock (``core.lock``, one ``RLock`` for the context, because inproc
peers touch each other's queues); the I/O thread holds the same lock whenever it
touches a core or a pipe. Nobody waits while holding it: a blocked call waits on a
``threading.Condition`` built on it, which releases it.

The I/O thread blocks every signal, so that the kernel delivers Ctrl-C (SIGINT) to an
application thread, where Python raises ``KeyboardInterrupt``, even inside a blocked
``recv``.

Lifetime, as in pyzmq:

* ``sock.close()`` returns at once; the socket's queued messages keep going out on
  the I/O thread for up to ``linger`` ms (libzmq's background lingering);
* ``ctx.term()`` closes the sockets still open (threads blocked on them get
  :class:`zmtp.ContextTerminated`), waits until every socket of the context is done
  lingering, then stops the I/O thread. ``ctx.destroy(linger)`` is the same with one
  linger for all;
* **at interpreter exit** no context is terminated (pyzmq does not terminate
  contexts at exit either), and the daemon I/O thread stops with the process. What
  is already queued for a *live* connection is still written first, for at most
  :data:`EXIT_FLUSH` seconds: libzmq's native I/O thread writes such messages while
  the interpreter shuts down, and a zguide server that replies and then ends its
  loop relies on it. Messages for peers not connected at that moment (and whatever
  the bound cuts off) are lost: they are counted in each socket's ``dropped`` and an
  :class:`UnsentMessagesWarning` says how many, so that a program that forgot
  ``ctx.term()`` learns why they never arrived. Exit never hangs.

gevent and eventlet: their monkey-patching turns threads into greenlets and blocking
calls into hub switches, which a real I/O thread cannot live with. ``Context()``
refuses to start under them with :class:`GreenThreadsUnsupported`, saying so, rather
than hanging.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from zmtp._socket_api import ContextAPI, context_options
from zmtp.asyncio.runtime import IOThread
from zmtp.constants import SocketType
from zmtp.core.context import ContextCore
from zmtp.errors import ContextTerminated, InvalidState, ZMTPValueError

if TYPE_CHECKING:
    from zmtp.sync.socket import Socket

__all__ = ["Context", "GreenThreadsUnsupported", "UnsentMessagesWarning"]

T = TypeVar("T")

#: How long the exit hook waits for a context's lock (held by the I/O thread only
#: for moments) before it gives up counting: exit never hangs.
_EXIT_LOCK_WAIT = 1.0
#: At interpreter exit, the I/O threads get at most this long (seconds) to write what
#: is queued for live connections (see the module doc).
EXIT_FLUSH = 1.0
#: How often the exit hook looks whether they are done (it sleeps in between, so that
#: the I/O threads get the interpreter's lock).
_EXIT_POLL = 0.001


class GreenThreadsUnsupported(InvalidState):
    """``zmtp.sync.Context()`` under gevent's or eventlet's monkey-patching.

    zmtp.sync blocks real threads and runs its I/O in a real thread; under green
    threads every blocking call would stop the whole program. Use ``zmtp.asyncio``
    from an asyncio event loop instead, or run zmtp.sync in a program that is not
    monkey-patched.
    """


class UnsentMessagesWarning(RuntimeWarning):
    """The interpreter exits while sockets of a context still hold messages they could
    not send yet (the context was never terminated): those messages are lost."""


def _green_threads() -> str | None:
    """The green-thread library whose monkey-patching is active, if any."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None:
        patched = getattr(gevent_monkey, "is_module_patched", None)
        if patched is not None and any(
            patched(name) for name in ("threading", "thread", "socket", "select")
        ):
            return "gevent"
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    if eventlet_patcher is not None:
        patched = getattr(eventlet_patcher, "is_monkey_patched", None)
        if patched is not None and any(patched(name) for name in ("thread", "socket", "select")):
            return "eventlet"
    return None


def _refuse_green_threads() -> None:
    library = _green_threads()
    if library is not None:
        raise GreenThreadsUnsupported(
            f"zmtp.sync cannot run under {library}'s monkey-patching: it blocks real "
            "threads and runs its I/O in a thread of its own, so every blocking call "
            "would stall all the green threads (or hang). Use zmtp.asyncio from an "
            "asyncio event loop, or zmtp.sync in a program that is not monkey-patched"
        )


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block every signal in the calling thread for the block's duration; a thread
    started inside inherits the mask and keeps it (so signals go to the others)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover  (Windows: signals reach the main thread only)
        yield
        return
    old = mask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


#: Contexts whose I/O thread runs: the exit hook counts what they could not send.
_running: set[Context] = set()


class Context(ContextAPI):
    """A set of sockets sharing an I/O thread, an inproc namespace and default options
    (pyzmq's ``zmq.Context``).

    ``Context()``, ``Context(io_threads=1)`` (accepted; one I/O thread serves any
    number of sockets), or with default socket options: ``Context(linger=0)``.
    ``with zmtp.sync.Context() as ctx:`` terminates it at the end of the block.
    """

    _instance: Context | None = None
    _instance_pid = -1
    _instance_lock = threading.Lock()

    def __init__(self, io_threads: int = 1, **socket_defaults: Any) -> None:
        _refuse_green_threads()
        if not isinstance(io_threads, int) or io_threads < 0:
            raise ZMTPValueError(f"io_threads must be an int >= 0, got {io_threads!r}")
        self.core = ContextCore(**socket_defaults)
        #: The context's lock: held around every touch of a socket core.
        self.lock = self.core.lock
        self._guard = self.lock
        self._context_options = context_options(io_threads)
        self._io: IOThread | None = None
        self._start_lock = threading.Lock()
        self._sockets: dict[Socket, None] = {}
        #: Calls waiting for a coroutine on the I/O thread (see :meth:`run`).
        self._calls: set[concurrent.futures.Future[Any]] = set()
        #: Sockets closed but still lingering on the I/O thread.
        self._lingering: set[concurrent.futures.Future[None]] = set()
        self._terminated = False
        self._pid = os.getpid()

    def __repr__(self) -> str:
        state = "terminated" if self._terminated else f"{len(self._sockets)} sockets"
        return f"<zmtp.sync.Context {state}>"

    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        """The process-wide context (made on first use, and anew after ``term()`` or
        in a child process after ``fork``), safe to call from any thread."""
        with cls._instance_lock:
            inst = cls._instance
            if inst is None or inst.closed or cls._instance_pid != os.getpid():
                inst = cls._instance = cls(io_threads)
                cls._instance_pid = os.getpid()
            return inst

    @property
    def closed(self) -> bool:
        """True once :meth:`term` (or :meth:`destroy`) has begun."""
        return self._terminated

    # -- the I/O thread ----------------------------------------------------------------

    def _check_process(self) -> None:
        if os.getpid() != self._pid:
            raise InvalidState(
                "this zmtp.sync context was made before a fork: its I/O thread runs in "
                "the parent process only; make a new Context in the child "
                "(Context.instance() does)"
            )

    def io(self) -> IOThread:
        """The context's I/O thread, started on first use."""
        self._check_process()
        io = self._io
        if io is not None:
            return io
        with self._start_lock:
            if self._terminated:
                raise ContextTerminated("the context is terminated")
            if self._io is None:
                io = IOThread(name="zmtp-sync-io")
                with _signals_blocked():
                    io.start()
                self._io = io
                _running.add(self)
            return self._io

    @property
    def io_thread(self) -> IOThread | None:
        """The running I/O thread (None before the first socket and after ``term``)."""
        self._check_process()
        return self._io

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the I/O thread and block this thread for its result (how
        ``bind``, ``connect``, ``unbind`` and ``disconnect`` run). Should ``term()``
        stop the I/O thread first, the call raises :class:`zmtp.ContextTerminated`
        rather than wait for ever."""
        io = self.io_thread
        if io is None or io.loop is None:
            coro.close()
            raise ContextTerminated("the context is terminated")
        if threading.get_ident() == io.thread_id:
            coro.close()
            raise InvalidState("a blocking zmtp.sync call from the I/O thread would deadlock")
        # Counted before it can run, under the lock term() takes the I/O thread with:
        # either term() finds this call among those it must end, or this call finds
        # the I/O thread gone. (Counted after scheduling, a coroutine that started at
        # once could let term() stop the loop first and strand the call for ever.)
        with self._start_lock:
            if self._io is not io:
                coro.close()
                raise ContextTerminated("the context is terminated")
            fut = asyncio.run_coroutine_threadsafe(coro, io.loop)
            self._calls.add(fut)
        try:
            return fut.result()
        finally:
            with self._start_lock:
                self._calls.discard(fut)

    # -- sockets -----------------------------------------------------------------------

    def socket(self, socket_type: SocketType | int | str, **options: Any) -> Socket:
        """A new socket of this context; ``options`` as keyword arguments
        (``ctx.socket(zmq.SUB, subscribe=b"")``) or set later as attributes."""
        from zmtp.sync.socket import Socket

        return Socket(self, socket_type, **options)

    def adopt(self, sock: Socket) -> None:
        """Count ``sock`` among the sockets that :meth:`term` closes."""
        with self._start_lock:
            if self._terminated:
                raise ContextTerminated("the context is terminated")
            self._sockets[sock] = None

    def closing(self, sock: Socket, lingering: concurrent.futures.Future[None]) -> None:
        """``sock`` was closed; ``lingering`` is done when its lingering is over."""
        with self._start_lock:
            self._sockets.pop(sock, None)
            self._lingering.add(lingering)
        lingering.add_done_callback(self._lingered)

    def _lingered(self, fut: concurrent.futures.Future[None]) -> None:
        with self._start_lock:
            self._lingering.discard(fut)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.term()

    def term(self) -> None:
        """Terminate the context: calls blocked on its sockets in other threads raise
        :class:`zmtp.ContextTerminated`, the sockets still open are closed (each
        honouring its ``linger``), and this call returns once every socket of the
        context is done lingering; then the I/O thread stops. Idempotent."""
        self._terminate(None)

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket with this ``linger`` (default: each one's own), then
        terminate the context (pyzmq's ``ctx.destroy``)."""
        self._terminate(linger)

    def _terminate(self, linger: int | None) -> None:
        if os.getpid() != self._pid:
            # A child after fork: the sockets and their I/O live in the parent.
            self._terminated = True
            return
        with self._start_lock:
            first = not self._terminated
            self._terminated = True
            sockets = list(self._sockets)
        if first:
            with self.lock:
                self.core.begin_term()
        for sock in sockets:
            sock.close(linger)
        with self._start_lock:
            waiting = list(self._lingering)
        if waiting:
            concurrent.futures.wait(waiting)
        with self._start_lock:
            io, self._io = self._io, None
        if first:
            with self.lock:
                self.core.close()
        if io is not None:
            io.stop()
            _running.discard(self)
            with self._start_lock:
                stranded = list(self._calls)
            for fut in stranded:  # calls the stopped loop will never finish
                if not fut.done():
                    fut.set_exception(ContextTerminated("the context was terminated"))

    # -- exit ----------------------------------------------------------------------------

    def writing(self) -> bool | None:
        """Whether a live connection of this context still has something to write
        (None: the lock could not be had in time, so nobody knows)."""
        if not self.lock.acquire(timeout=_EXIT_LOCK_WAIT):
            return None
        try:
            for core in self.core.sockets:
                runtime = core.runtime
                engines = getattr(runtime, "engines", ())
                if any(not engine.idle() for engine in engines):
                    return True
            return False
        finally:
            self.lock.release()

    def abandon(self) -> int:
        """At interpreter exit, after the last flush: count what this context's
        sockets could not send (into each socket's ``dropped``); returns the count."""
        if not self.lock.acquire(timeout=_EXIT_LOCK_WAIT):
            return 0
        try:
            unsent = 0
            for core in list(self.core.sockets):
                n = core.unsent()  # tcp/ipc only: inproc messages are with their peer
                core.dropped += n
                unsent += n
            return unsent
        finally:
            self.lock.release()


def _at_exit() -> None:
    contexts = list(_running)
    deadline = time.monotonic() + EXIT_FLUSH
    while any(ctx.writing() for ctx in contexts) and time.monotonic() < deadline:
        time.sleep(_EXIT_POLL)  # pacing: the I/O threads write meanwhile
    unsent = sum(ctx.abandon() for ctx in contexts)
    _running.clear()
    if unsent:
        warnings.warn(
            f"zmtp.sync: the program exits with {unsent} message(s) not yet sent (lost; "
            "counted in each socket's `dropped`). Call ctx.term() before exiting to wait "
            "for them, as long as each socket's linger allows",
            UnsentMessagesWarning,
            stacklevel=1,
        )


def _forget_after_fork() -> None:
    # A child process has no I/O thread of its parent's contexts: nothing to flush
    # or count at its exit (and their locks may be held by a thread that is gone).
    _running.clear()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
