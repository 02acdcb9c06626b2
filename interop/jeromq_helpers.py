"""JeroMQ 0.3.6 (a ZMTP 2.0 peer) as a subprocess, for the interop tests (imported as
``jeromq_helpers``).

The Java side is ``jeromq/JeromqPeer.java``: one JeroMQ socket driven by one command
per line on its stdin, each answered by one line on its stdout (see the file's
header). :func:`find_jeromq` locates ``java``, ``javac`` and the JeroMQ jar (Debian's
``libjeromq-java`` installs ``/usr/share/java/jeromq.jar``; ``ZMTP_JEROMQ_JAR``
overrides it), :func:`compile_peer` compiles the program once per test session, and
:class:`JeromqPeer` runs one socket and talks to it without blocking the event loop.

Nothing here sleeps: every answer is awaited as a line, bounded by the test's
``anyio.fail_after``; a receive on the Java side has its own timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
from libzmq_helpers import Lines, Process

SOURCE = Path(__file__).resolve().parent / "jeromq" / "JeromqPeer.java"
DEFAULT_JAR = Path("/usr/share/java/jeromq.jar")
#: What a missing piece is called in a skip message, and how to get it.
INSTALL_HINT = "on Debian: apt-get install libjeromq-java default-jdk-headless"


def find_jeromq() -> tuple[str, str, Path] | str:
    """``(java, javac, jar)``, or the reason (for a skip) why they cannot be used."""
    java, javac = shutil.which("java"), shutil.which("javac")
    jar = Path(os.environ.get("ZMTP_JEROMQ_JAR", DEFAULT_JAR))
    missing = [
        name
        for name, found in (("java", java), ("javac", javac), (str(jar), jar.is_file()))
        if not found
    ]
    if missing:
        return f"the JeroMQ interop tests need {', '.join(missing)} ({INSTALL_HINT})"
    assert java is not None and javac is not None
    return java, javac, jar


def compile_peer(javac: str, jar: Path, out: Path) -> None:
    """Compile JeromqPeer.java into ``out`` against ``jar``."""
    subprocess.run(
        [javac, "-encoding", "UTF-8", "-cp", str(jar), "-d", str(out), str(SOURCE)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _hex(frame: bytes) -> str:
    return frame.hex() or "-"


class JeromqPeer:
    """One running JeroMQ socket. Use :meth:`start` (an async context manager)."""

    def __init__(self, proc: Process, lines: Lines, endpoint: str) -> None:
        self.proc = proc
        self.lines = lines
        #: Where the socket bound or connected.
        self.endpoint = endpoint

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        java: str,
        classpath: str,
        socket_type: str,
        mode: str,
        endpoint: str,
        identity: bytes | None = None,
    ) -> AsyncIterator[JeromqPeer]:
        """Run a JeroMQ ``socket_type`` that binds or connects (``mode``) ``endpoint``;
        killed on exit if it did not quit."""
        args = [java, "-cp", classpath, "JeromqPeer", socket_type, mode, endpoint]
        if identity is not None:
            args.append(_hex(identity))
        proc = await anyio.open_process(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
        )
        try:
            assert proc.stdout is not None
            lines = Lines(proc.stdout)
            first = await lines.next()
            assert first is not None, "JeroMQ peer exited before it was ready"
            if first.startswith("endpoint "):
                endpoint = first.removeprefix("endpoint ")
            else:
                assert first == "ready", first
            peer = cls(proc, lines, endpoint)
            yield peer
            await peer.quit()
        finally:
            if proc.returncode is None:
                proc.kill()
            with anyio.CancelScope(shield=True):
                await proc.wait()
                for pipe in (proc.stdin, proc.stdout):
                    if pipe is not None:
                        await pipe.aclose()

    async def command(self, line: str) -> str:
        assert self.proc.stdin is not None
        await self.proc.stdin.send(line.encode() + b"\n")
        answer = await self.lines.next()
        assert answer is not None, f"JeroMQ peer exited after {line!r}"
        assert not answer.startswith("error"), answer
        return answer

    async def send(self, frames: Sequence[bytes]) -> None:
        assert await self.command("send " + " ".join(map(_hex, frames))) == "sent"

    async def recv(self, timeout_ms: int = 5000) -> list[bytes] | None:
        """The next message, or None if none arrived within ``timeout_ms``."""
        answer = await self.command(f"recv {timeout_ms}")
        if answer == "timeout":
            return None
        words = answer.split(" ")
        assert words[0] == "msg", answer
        return [b"" if w == "-" else bytes.fromhex(w) for w in words[1:]]

    async def subscribe(self, topic: bytes) -> None:
        assert await self.command(f"sub {_hex(topic)}") == "ok"

    async def unsubscribe(self, topic: bytes) -> None:
        assert await self.command(f"unsub {_hex(topic)}") == "ok"

    async def poke(self) -> None:
        """Let the JeroMQ socket process pending commands (attach new connections)."""
        assert await self.command("poke") == "ok"

    async def quit(self) -> None:
        assert await self.command("quit") == "bye"
        await self.proc.wait()
