"""The zguide's Python examples (our versions of them, in ``examples/zguide/``), each
run as a program: the ones under test with ``import zmtp.sync as zmq`` as written,
their peers being the very same programs on pyzmq (libzmq) in other processes, with
only the import changed (a two-line launcher maps ``zmtp.sync`` to ``zmq``).

Request-reply (hwserver/hwclient), publish-subscribe with a filter
(wuserver/wuclient), the pipeline (taskvent/taskwork/tasksink), the queue broker
(rrbroker or msgqueue with rrclient/rrworker) and the poller (mspoller). Where a
test must know that a program's peers are connected (the ventilator waits for Enter
until the workers are), the zmtp program runs under a launcher that reports its
sockets' handshakes on stderr, from a monitor; the program itself is unchanged.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import free_tcp_port

pytestmark = pytest.mark.interop
pytest.importorskip("zmq", reason="pyzmq is not installed (pip install pyzmq)")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "zguide"
#: How long any one program may run before the test fails.
BOUND = 60.0

#: Runs a program on pyzmq: ``import zmtp.sync as zmq`` then finds pyzmq.
PYZMQ = """
import runpy, sys, zmq
sys.modules["zmtp.sync"] = zmq
program, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(program, run_name="__main__")
"""

#: Runs a program on zmtp.sync, reporting every completed handshake on stderr.
TRACED = """
import runpy, sys, threading
import zmtp.sync as zmq
_socket = zmq.Context.socket
_lines = threading.Lock()  # one line at a time: each socket reports from its own thread
def socket(self, *args, **kwargs):
    sock = _socket(self, *args, **kwargs)
    monitor = sock.monitor(zmq.Event.HANDSHAKE_SUCCEEDED)
    def report():
        for event in monitor:
            if event.event == zmq.Event.HANDSHAKE_SUCCEEDED:
                with _lines:
                    print("handshake", event.endpoint, file=sys.stderr, flush=True)
    threading.Thread(target=report, daemon=True).start()
    return sock
zmq.Context.socket = socket
program, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(program, run_name="__main__")
"""


class Program:
    """A running example: ``impl`` is "zmtp" (run as written), "zmtp-traced" or
    "pyzmq". Its output is collected by two reader threads."""

    def __init__(self, impl: str, name: str, *args: object) -> None:
        path = str(EXAMPLES / f"{name}.py")
        argv = [str(a) for a in args]
        if impl == "zmtp":
            cmd = [sys.executable, path, *argv]
        else:
            cmd = [sys.executable, "-c", PYZMQ if impl == "pyzmq" else TRACED, path, *argv]
        self.name = f"{name} ({impl})"
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self.changed:
                into.append(line)
                self.changed.notify_all()

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    def wait_stderr(self, text: str, count: int) -> None:
        """Until ``count`` lines of stderr contain ``text`` (bounded)."""
        self._wait_lines(self.err, text, count)

    def wait_stdout(self, text: str, count: int) -> None:
        """Until ``count`` lines of stdout contain ``text`` (bounded)."""
        self._wait_lines(self.out, text, count)

    def _wait_lines(self, lines: list[str], text: str, count: int) -> None:
        def seen() -> int:
            return sum(text in line for line in lines)

        with self.changed:
            self.changed.wait_for(
                lambda: seen() >= count or self.proc.poll() is not None, timeout=BOUND
            )
            got = seen()
        assert got >= count, f"{self.name}: {got} of {count} {text!r}\n{''.join(self.err)}"

    def enter(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def finish(self) -> str:
        """Wait for the program to end by itself; its stdout. Fails on an error."""
        try:
            self.proc.wait(BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"{self.name} did not finish: {self.stdout}{''.join(self.err)}")
        for reader in self._readers:
            reader.join(BOUND)
        assert self.proc.returncode == 0, f"{self.name}: {''.join(self.err)}"
        return self.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(BOUND)
        for reader in self._readers:
            reader.join(BOUND)


@pytest.fixture
def programs() -> Iterator[list[Program]]:
    running: list[Program] = []
    yield running
    for program in running:
        program.stop()


def _start(running: list[Program], impl: str, name: str, *args: object) -> Program:
    program = Program(impl, name, *args)
    running.append(program)
    return program


def _other(impl: str) -> str:
    return "pyzmq" if impl.startswith("zmtp") else "zmtp"


@pytest.mark.parametrize("server", ["zmtp", "pyzmq"])
def test_hello_world_request_reply(programs: list[Program], server: str) -> None:
    port = free_tcp_port()
    srv = _start(programs, server, "hwserver", 5, f"tcp://127.0.0.1:{port}")
    cli = _start(programs, _other(server), "hwclient", 5, f"tcp://localhost:{port}")
    out = cli.finish()
    assert [line for line in out.splitlines() if line.startswith("Received reply")] == [
        f"Received reply {i} [ b'World' ]" for i in range(5)
    ]
    assert srv.finish().count("Received request: b'Hello'") == 5


@pytest.mark.parametrize("server", ["zmtp", "pyzmq"])
def test_weather_updates_reach_only_the_subscribed_zip_code(
    programs: list[Program], server: str
) -> None:
    port = free_tcp_port()
    _start(programs, server, "wuserver", -1, f"tcp://127.0.0.1:{port}")
    cli = _start(programs, _other(server), "wuclient", "10042", 20, f"tcp://localhost:{port}")
    lines = cli.finish().splitlines()
    updates = lines[1:-1]
    assert len(updates) == 20
    assert all(line.startswith("10042 ") for line in updates), updates
    mean = sum(int(line.split()[1]) for line in updates) / 20
    assert lines[-1] == f"Average temperature for zipcode '10042' was {mean:.1f}F"


def _pipeline(programs: list[Program], vent_impl: str, workers: int) -> tuple[Program, list[str]]:
    vent_port, sink_port = free_tcp_port(), free_tcp_port()
    others = _other(vent_impl)
    sink = _start(programs, others, "tasksink", 100, f"tcp://127.0.0.1:{sink_port}")
    vent = _start(
        programs,
        vent_impl,
        "taskvent",
        100,
        f"tcp://127.0.0.1:{vent_port}",
        f"tcp://localhost:{sink_port}",
    )
    work = [
        _start(
            programs,
            "zmtp-traced" if others == "zmtp" else others,
            "taskwork",
            -1,
            f"tcp://localhost:{vent_port}",
            f"tcp://localhost:{sink_port}",
        )
        for _ in range(workers)
    ]
    # "Press Enter when the workers are ready": they are once connected to the
    # ventilator, which the traced zmtp side reports.
    if vent_impl == "zmtp-traced":
        vent.wait_stderr(f"handshake tcp://127.0.0.1:{vent_port}", workers)
    else:
        for w in work:
            w.wait_stderr(f"handshake tcp://localhost:{vent_port}", 1)
    vent.enter()
    result = sink.finish()
    progress, elapsed = result.splitlines()
    assert len(progress) == 100 and set(progress) == {":", "."}
    assert elapsed.startswith("Total elapsed time: ")
    assert "Total expected cost" in vent.finish()
    for w in work:
        w.stop()
    return vent, [w.stdout for w in work]


def test_the_ventilator_spreads_tasks_over_every_worker(programs: list[Program]) -> None:
    """zmtp's ventilator blocks in ``input()`` while the workers connect: its I/O
    thread completes their connections meanwhile, so the tasks go round robin over
    all of them (all to the first one is the failure this guards against)."""
    _, outputs = _pipeline(programs, "zmtp-traced", workers=3)
    counts = sorted(out.count(".") for out in outputs)
    assert counts == [33, 33, 34], counts


def test_zmtp_workers_and_sink_serve_a_libzmq_ventilator(programs: list[Program]) -> None:
    _, outputs = _pipeline(programs, "pyzmq", workers=3)
    counts = [out.count(".") for out in outputs]
    assert sum(counts) == 100 and min(counts) > 0, counts


@pytest.mark.parametrize(
    ("broker", "broker_impl"),
    [("rrbroker", "zmtp"), ("rrbroker", "pyzmq"), ("msgqueue", "zmtp")],
)
def test_the_queue_broker_carries_requests_and_replies(
    programs: list[Program], broker: str, broker_impl: str
) -> None:
    front, back = free_tcp_port(), free_tcp_port()
    endpoints = [f"tcp://127.0.0.1:{front}", f"tcp://127.0.0.1:{back}"]
    _start(programs, broker_impl, broker, *([-1] if broker == "rrbroker" else []), *endpoints)
    peers = _other(broker_impl)
    workers = [_start(programs, peers, "rrworker", -1, f"tcp://localhost:{back}") for _ in range(2)]
    clients = [
        _start(programs, peers, "rrclient", 10, f"tcp://localhost:{front}") for _ in range(2)
    ]
    for cli in clients:
        replies = [line for line in cli.finish().splitlines() if line.startswith("Received")]
        assert replies == [f"Received reply {i} [b'World']" for i in range(10)]
    for w in workers:
        w.stop()
    served = sum(w.stdout.count("Received request: b'Hello'") for w in workers)
    assert served == 20


def test_mspoller_reads_tasks_and_filtered_weather_as_they_come(programs: list[Program]) -> None:
    vent_port, weather_port = free_tcp_port(), free_tcp_port()
    vent = _start(
        programs,
        "pyzmq",
        "taskvent",
        100,
        f"tcp://127.0.0.1:{vent_port}",
        f"tcp://localhost:{free_tcp_port()}",  # no sink: the vent's "0" waits unseen
    )
    poller = _start(
        programs,
        "zmtp-traced",
        "mspoller",
        110,
        f"tcp://localhost:{vent_port}",
        f"tcp://localhost:{weather_port}",
    )
    poller.wait_stderr(f"handshake tcp://localhost:{vent_port}", 1)
    vent.enter()
    poller.wait_stdout("task ", 100)
    # The weather server starts last, so that its flood cannot end the poller's
    # bounded loop before the tasks are in (its socket reconnects until then).
    _start(programs, "pyzmq", "wuserver", -1, f"tcp://127.0.0.1:{weather_port}")
    lines = poller.finish().splitlines()
    tasks = [line for line in lines if line.startswith("task ")]
    weather = [line for line in lines if line.startswith("weather ")]
    assert len(tasks) == 100 and len(weather) == 10
    assert all(1 <= int(line.split()[1]) <= 10 for line in tasks)
    assert all(line.startswith("weather 10001 ") for line in weather), weather
