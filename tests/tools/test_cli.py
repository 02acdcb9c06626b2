"""The ``zmtp`` command line, used as a person uses it: in a subprocess, with
arguments and standard input, and one interactive session in a pseudo-terminal.

The far ends are scripted peers the test owns (:class:`zmtp.testing.RawListener`), so
each exchange is waited for on the wire, never by sleeping. Bad arguments must give
exit status 2 and one line of explanation, never a traceback.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from reference_peer import ReferencePeer

import zmtp
from zmtp import SocketType
from zmtp.testing import Command, RawListener, RawPeer

T = SocketType
TIMEOUT = 20


def cli(
    *args: str, input: str | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zmtp", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def listener() -> Iterator[RawListener]:
    with RawListener("tcp://127.0.0.1:*", timeout=TIMEOUT) as lst:
        yield lst


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout


# =======================================================================================
# Help, version, bad arguments


def test_version() -> None:
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"zmtp {zmtp.__version__}"


COMMANDS = [
    "send", "recv", "push", "pull", "pub", "sub", "req", "rep",
    "proxy", "monitor", "keygen", "conform", "bench", "demo",
]  # fmt: skip


def all_at_once(*calls: tuple[str, ...]) -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Run ``zmtp`` with each argument list, all processes at once (most of their time
    is Python starting up)."""
    procs = {
        args: subprocess.Popen(
            [sys.executable, "-m", "zmtp", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in calls
    }
    done = {}
    for args, proc in procs.items():
        out, err = proc.communicate(timeout=TIMEOUT)
        done[args] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.fixture(scope="module")
def helps() -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    return all_at_once(*((command, "--help") for command in COMMANDS))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(
    command: str, helps: dict[tuple[str, ...], subprocess.CompletedProcess[str]]
) -> None:
    done = helps[command, "--help"]
    assert done.returncode == 0, done.stderr
    assert f"usage: zmtp {command}" in done.stdout
    no_traceback(done)


def test_the_top_level_help_lists_every_command() -> None:
    done = cli("--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in done.stdout


def test_demo_usage_shows_no_empty_choice() -> None:
    done = cli("demo", "--help")
    assert ",}" not in done.stdout and "{" not in done.stdout.split("\n")[0]
    assert "pipeline, hello, weather" in done.stdout


BAD = [
    (["send", "nope", "x"], "is not an endpoint"),
    (["conform", "tcp://127.0.0.1:1"], "--type"),
    (["conform", "tcp://127.0.0.1:1", "--type", "FOO"], "unknown socket type"),
    (["conform", "tcp://127.0.0.1:1", "--type", "REP", "--mechanism", "curve"], "--server-key"),
    (
        [
            "conform",
            "tcp://127.0.0.1:1",
            "--type",
            "REP",
            "--mechanism",
            "curve",
            "--server-key",
            "x",
        ],
        "Z85",
    ),
    (["conform", "tcp://127.0.0.1:1", "--type", "REP", "--only", "nothing"], "selects no check"),
    (["conform", "tcp://127.0.0.1:1", "--type", "REP"], "cannot connect"),
    (["demo", "--workers", "0"], "at least 1"),
    (["demo", "--tasks", "0"], "at least 1"),
    (["demo", "nosuchdemo"], "unknown demo"),
    (["recv", "tcp://127.0.0.1:1", "--count", "0"], "at least 1"),
    (["req", "tcp://127.0.0.1:1", "x", "--timeout", "-1"], "positive"),
    (["send", "tcp://127.0.0.1:1", "--type", "SUB", "x"], "cannot send"),
    (["recv", "tcp://127.0.0.1:1", "--type", "PUSH"], "cannot receive"),
    (["push", "tcp://127.0.0.1:1", "--hex", "zz"], "is not hex"),
    (["proxy", "nope", "tcp://127.0.0.1:1"], "is not an endpoint"),
    (["monitor", "tcp://127.0.0.1:1", "--until", "LUNCH"], "unknown event"),
    (["nosuchcommand"], "invalid choice"),
    ([], "required"),
]


@pytest.fixture(scope="module")
def bad_runs() -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    return all_at_once(*(tuple(args) for args, _ in BAD))


@pytest.mark.parametrize(("args", "says"), BAD, ids=[" ".join(a) or "nothing" for a, _ in BAD])
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str], says: str, bad_runs: dict[tuple[str, ...], subprocess.CompletedProcess[str]]
) -> None:
    done = bad_runs[tuple(args)]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    no_traceback(done)


def test_the_command_line_does_not_need_hypothesis() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from zmtp.cli import main\n"
        "sys.exit(main(['conform', 'tcp://127.0.0.1:1', '--type', 'REP', '--list']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert "greeting.signature" in done.stdout


# =======================================================================================
# Messages


def test_push_sends_stdin_lines_as_messages_with_a_separator() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "push", lst.endpoint, "-s", "|", "--timeout", "10"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("PULL")
            _, err = proc.communicate("one\ntwo|2|\nthree\n", timeout=TIMEOUT)
            got = [peer.recv_message() for _ in range(3)]
    assert proc.returncode == 0, err
    assert got == [[b"one"], [b"two", b"2", b""], [b"three"]]


def test_send_takes_messages_from_arguments_in_hex() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "send", lst.endpoint, "--hex", "00ff", "6869"],
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("PULL")
            got = [peer.recv_message(), peer.recv_message()]
        assert proc.wait(TIMEOUT) == 0, proc.stderr.read()  # type: ignore[union-attr]
    assert got == [[b"\x00\xff"], [b"hi"]]


def test_pull_prints_one_message_per_line_frames_joined_by_tabs() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "pull", lst.endpoint, "-n", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("PUSH")
            peer.send_message([b"hello", b"world"])
            peer.send_message([b"caf\xc3\xa9 \xff"])
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["hello\tworld", "café \\xff"]


def test_recv_as_router_prints_the_routing_id_in_hex() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zmtp",
                "recv",
                lst.endpoint,
                "-t",
                "ROUTER",
                "--hex",
                "-n",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("DEALER", routing_id=b"\x01id")
            peer.send_message([b"hi"])
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.strip() == "016964\t6869"


def test_recv_gives_up_after_its_timeout_with_status_1() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "recv", lst.endpoint, "--timeout", "0.5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("PUSH")
            _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1
    assert "no message within 0.5 s" in err
    assert "Traceback" not in err


def test_req_prints_each_reply() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "req", lst.endpoint, "ping", "pong?"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("REP")
            for _ in range(2):
                request = peer.recv_message()
                peer.send_message([b"", b"re: " + request[-1]])
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["re: ping", "re: pong?"]


def test_rep_echo_answers_each_request_with_itself() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "rep", lst.endpoint, "--echo", "-n", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("REQ")
            peer.send_message([b"", b"a", b"b"])
            reply = peer.recv_message()
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert reply == [b"", b"a", b"b"]
    assert out.strip() == "a\tb"


def test_pub_waits_for_a_subscription_then_publishes() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "pub", lst.endpoint, "news 1", "weather 2"],
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("SUB")
            peer.subscribe(b"news")
            got = peer.recv_message()
        assert proc.wait(TIMEOUT) == 0, proc.stderr.read()  # type: ignore[union-attr]
    assert got == [b"news 1"]  # the publisher filtered the rest


def test_sub_subscribes_and_prints_what_matches() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "sub", lst.endpoint, "--subscribe", "a", "-n", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("PUB")
            command = peer.recv_command(b"SUBSCRIBE")
            peer.send_message([b"a1"])
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert command.data == b"a"
    assert out.strip() == "a1"


# =======================================================================================
# An interactive session in a pseudo-terminal


class Terminal:
    """A process whose standard streams are a pseudo-terminal."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", *args], stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never appeared; saw {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the process ended and the terminal closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} never appeared; saw {self.seen!r}")
                self.seen += chunk

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def close(self, *, interrupt: bool = True) -> int:
        if interrupt and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(TIMEOUT)
        os.close(self.master)
        return code


def test_rep_in_a_terminal_answers_with_what_the_user_types() -> None:
    with listener() as lst:
        term = Terminal("rep", lst.endpoint)
        try:
            with lst.accept() as peer:
                peer.handshake("REQ")
                peer.send_message([b"", b"what time is it?"])
                term.expect(b"what time is it?")
                term.type(b"tea time\n")
                assert peer.recv_message() == [b"", b"tea time"]
        finally:
            code = term.close()
    assert code in (0, 130)
    assert b"Traceback" not in term.seen


def test_conform_in_a_terminal_shows_progress() -> None:
    with ReferencePeer(T.DEALER) as peer:
        term = Terminal("conform", peer.endpoint, "--type", "DEALER", "--only", "greeting")
        term.expect(b"checks:")
        assert term.close(interrupt=False) == 0
    assert b"\r\x1b[K[" in term.seen  # the progress line, rewritten in place
    assert b"greeting.signature" in term.seen


# =======================================================================================
# conform, keygen, monitor, proxy, bench


def test_conform_table_and_exit_status() -> None:
    with ReferencePeer(T.REP) as good:
        done = cli("conform", good.endpoint, "--type", "REP")
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"zmtp conform: connected to {good.endpoint}, a REP peer, NULL")
    assert lines[-1].startswith(
        f"{len([x for x in lines if x[:5].strip() in ('pass', 'fail', 'warn', 'skip')])} checks:"
    )
    with ReferencePeer(T.REP, ["loses-envelope"]) as bad:
        done = cli("conform", bad.endpoint, "--type", "REP", "--only", "reqrep")
    assert done.returncode == 1
    assert "fail  reqrep.rep.envelope" in done.stdout
    assert "expected:" in done.stdout and "seen:" in done.stdout


def test_conform_json_lists_every_check_with_its_fields() -> None:
    with ReferencePeer(T.PUSH) as peer:
        done = cli("conform", peer.endpoint, "--type", "PUSH", "--json", "--only", "23,pipeline")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert isinstance(results, list) and results
    for r in results:
        assert set(r) == {
            "id",
            "rfc",
            "section",
            "rule",
            "outcome",
            "expected",
            "seen",
            "note",
            "seconds",
        }
        assert r["rfc"] == 23 or r["id"].startswith("pipeline.")
    assert "pipeline.push.round-robin" in {r["id"] for r in results}


def test_conform_listen_waits_for_the_peer_to_connect() -> None:
    with RawListener("tcp://127.0.0.1:*") as spare:
        endpoint = spare.endpoint  # a free port for the probe to listen on
    proc = subprocess.Popen(
        [sys.executable, "-m", "zmtp", "conform", endpoint, "--type", "DEALER", "--listen",
         "--only", "greeting.signature,heartbeat.pong"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # The peer under test connects, and reconnects after each check, as ZeroMQ does.
    deadline = time.monotonic() + TIMEOUT
    served = 0
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            peer = RawPeer.connect(endpoint, timeout=5)
        except ConnectionRefusedError:
            continue  # the probe is not listening yet
        with peer:
            try:
                peer.handshake("DEALER")
                while True:
                    ev = peer.recv_event(5)
                    assert isinstance(ev, Command)
            except (OSError, EOFError, zmtp.ZMTPError, TimeoutError):
                served += 1
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, (out, err)
    assert "pass  greeting.signature" in out and "pass  heartbeat.pong" in out
    assert served >= 2


def test_keygen_prints_a_matching_pair() -> None:
    done = cli("keygen")
    assert done.returncode == 0, done.stderr
    public, secret = (line.split(": ")[1] for line in done.stdout.splitlines())
    assert len(public) == len(secret) == 40
    assert zmtp.curve_public(secret.encode()) == public.encode()
    as_json = json.loads(cli("keygen", "--json").stdout)
    assert zmtp.curve_public(as_json["secret"].encode()) == as_json["public"].encode()


def test_monitor_prints_connection_events() -> None:
    with listener() as lst:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "zmtp",
                "monitor",
                lst.endpoint,
                "--until",
                "handshake_succeeded",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with lst.accept() as peer:
            peer.handshake("DEALER")
            out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    events = [line.split()[0] for line in out.splitlines()]
    assert events[-2:] == ["CONNECTED", "HANDSHAKE_SUCCEEDED"]
    assert lst.endpoint in out


def test_proxy_streams_from_front_to_back_until_interrupted() -> None:
    with listener() as front, listener() as back:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zmtp", "proxy", ">" + front.endpoint, ">" + back.endpoint,
             "--mode", "streamer"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        with front.accept() as pusher, back.accept() as puller:
            pusher.handshake("PUSH")
            puller.handshake("PULL")
            pusher.send_message([b"through", b"the proxy"])
            assert puller.recv_message() == [b"through", b"the proxy"]
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130
    assert f"proxy: PULL >{front.endpoint} <-> PUSH >{back.endpoint}" in err
    assert "Traceback" not in err


def test_bench_runs_side_by_side_with_progress() -> None:
    done = cli("bench", "--quick", "--only", "inproc,16", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| inproc | 16 B |" in done.stdout
    assert "zmtp/pyzmq" in done.stdout
    assert "[1/2] inproc 16 B pyzmq" in done.stderr and "[2/2] inproc 16 B zmtp" in done.stderr


def test_bench_without_pyzmq_measures_zmtp_alone_and_says_so() -> None:
    code = (
        "import sys; sys.modules['zmq'] = None\n"
        "from zmtp.cli import main\n"
        "sys.exit(main(['bench', '--quick', '--only', 'inproc,16']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pyzmq is not installed: zmtp is measured alone" in done.stdout
    assert "[1/1] inproc 16 B zmtp" in done.stderr
