"""What a whole program sees, each in a child interpreter: Ctrl-C interrupts any
blocked call promptly, the interpreter's exit never hangs (and says how many messages
it could not send), and gevent's or eventlet's monkey-patching is refused at
``Context()`` with an error saying why, instead of a silent hang."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import textwrap
import time

import pytest

#: How long a child may take to start, import zmtp and reach its first line of output.
START = 30.0
#: How long a child may take to end once it should (Ctrl-C, the end of the program).
PROMPT = 10.0


def _spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=START + PROMPT,
    )


# -- Ctrl-C ----------------------------------------------------------------------------

SETUP = """
import zmtp.sync as zmq
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
pull.bind("tcp://127.0.0.1:*")
push = ctx.socket(zmq.PUSH, sndhwm=1)
push.connect("tcp://127.0.0.1:9")  # nobody listens: a send waits for ever
push.send(b"fills the queue")
poller = zmq.Poller()
poller.register(pull, zmq.POLLIN)
monitor = pull.monitor()
"""

BLOCKING_CALLS = {
    "recv": "pull.recv()",
    "recv_multipart": "pull.recv_multipart()",
    "send": "push.send(b'waits')",
    "poller": "poller.poll()",
    "socket_poll": "pull.poll()",
    "monitor": "monitor.wait_for(zmq.Event.DISCONNECTED)",
    "proxy": "zmq.proxy(pull, push)",
}


@pytest.mark.parametrize("call", sorted(BLOCKING_CALLS))
def test_ctrl_c_interrupts_a_blocked_call_promptly(call: str) -> None:
    program = (
        SETUP
        + f"""
try:
    print("blocking", flush=True)
    {BLOCKING_CALLS[call]}
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""
    )
    proc = _spawn(program)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "blocking\n", proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=PROMPT)
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
    assert "interrupted" in out, err
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0
    assert elapsed < PROMPT


# -- exit --------------------------------------------------------------------------------


def test_exit_with_undeliverable_messages_does_not_hang_and_counts_them() -> None:
    done = _run(
        """
        import zmtp.sync as zmq
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.connect("tcp://127.0.0.1:9")  # nobody listens
        for _ in range(3):
            push.send(b"never delivered")
        lingering = ctx.socket(zmq.PUSH)  # closed, lingering for ever (linger -1)
        lingering.connect("tcp://127.0.0.1:9")
        lingering.send(b"nor this one")
        lingering.close()
        print("leaving", flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "leaving\n"
    assert "UnsentMessagesWarning" in done.stderr
    assert "4 message(s) not yet sent" in done.stderr


def test_exit_right_after_sending_still_delivers_to_live_connections() -> None:
    """The zguide server's shape: reply, leave the loop, end. libzmq's I/O thread
    writes such messages while the interpreter shuts down; so does zmtp.sync."""
    zmq = pytest.importorskip("zmq", reason="pyzmq is not installed (pip install pyzmq)")
    with zmq.Context() as pyctx:
        pull = pyctx.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = int(START * 1000)
        pull.bind("tcp://127.0.0.1:*")
        done = _run(
            f"""
            import zmtp.sync as zmq
            ctx = zmq.Context()
            push = ctx.socket(zmq.PUSH)
            with push.monitor(zmq.Event.HANDSHAKE_SUCCEEDED) as monitor:
                push.connect({pull.last_endpoint.decode()!r})
                monitor.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=10_000)
            for i in range(2000):
                push.send(b"%d" % i + b"." * 1000)
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # nothing was left unsent
        got = [pull.recv() for _ in range(2000)]
        pull.close()
    assert [m.split(b".")[0] for m in got] == [b"%d" % i for i in range(2000)]


def test_exit_after_term_is_silent_and_delivers_everything() -> None:
    done = _run(
        """
        import zmtp.sync as zmq
        ctx = zmq.Context()
        pull = ctx.socket(zmq.PULL)
        push = ctx.socket(zmq.PUSH)
        push.connect(pull.bind("tcp://127.0.0.1:*"))
        for i in range(100):
            push.send(b"%d" % i)
        got = [pull.recv() for _ in range(100)]
        push.close()
        pull.close()
        ctx.term()
        print(len(got), flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "100\n"
    assert done.stderr == ""


def test_exit_with_a_daemon_thread_blocked_in_recv_does_not_hang() -> None:
    done = _run(
        """
        import threading
        import zmtp.sync as zmq
        ctx = zmq.Context()
        pull = ctx.socket(zmq.PULL)
        pull.bind("tcp://127.0.0.1:*")
        entered = threading.Event()
        def wait():
            entered.set()
            pull.recv()
        threading.Thread(target=wait, daemon=True).start()
        entered.wait()
        print("leaving", flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "leaving\n"
    assert done.stderr == ""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="this system has no fork()")
def test_a_forked_child_is_told_to_make_its_own_context_and_exits_promptly() -> None:
    done = _run(
        """
        import os
        import zmtp.sync as zmq
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.connect("tcp://127.0.0.1:9")
        push.send(b"the parent's")
        pid = os.fork()
        if pid == 0:
            try:
                ctx.socket(zmq.PULL)
            except zmq.InvalidState as exc:
                print("child:", exc, flush=True)
            ctx.term()  # the parent's sockets are not the child's to close
            child = zmq.Context()
            pull = child.socket(zmq.PULL)
            pull.bind("inproc://own")
            child.term()
            raise SystemExit(0)
        _, status = os.waitpid(pid, 0)
        print("parent: child exited", os.waitstatus_to_exitcode(status), flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("child: this zmtp.sync context was made before a fork")
    assert lines[1] == "parent: child exited 0"


# -- green threads -----------------------------------------------------------------------

GREEN = {
    "gevent": "from gevent import monkey; monkey.patch_all()",
    "eventlet": "import eventlet; eventlet.monkey_patch()",
}


@pytest.mark.parametrize("library", sorted(GREEN))
def test_monkey_patched_green_threads_are_refused_at_context_with_a_clear_error(
    library: str,
) -> None:
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed here (pip install {library}); CI installs it")
    done = _run(
        f"""
        {GREEN[library]}
        import zmtp.sync as zmq
        try:
            zmq.Context()
        except zmq.GreenThreadsUnsupported as exc:
            assert isinstance(exc, zmq.ZMTPError)
            print("refused:", exc, flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: zmtp.sync cannot run under")
    assert f"{library}'s monkey-patching" in done.stdout
