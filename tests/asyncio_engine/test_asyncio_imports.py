"""``zmtp.asyncio`` stands on asyncio alone: importing and using it never imports trio
(checked in a fresh interpreter, since this test process has trio loaded)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_importing_zmtp_asyncio_does_not_import_trio() -> None:
    done = run_python("""
        import sys
        import zmtp.asyncio, zmtp.asyncio.auth
        loaded = sorted(m for m in sys.modules if m == "trio" or m.startswith("trio."))
        print(loaded)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_round_trip_over_tcp_does_not_import_trio() -> None:
    done = run_python("""
        import asyncio, sys
        import zmtp, zmtp.asyncio

        async def main():
            async with zmtp.asyncio.Context() as ctx:
                rep, req = ctx.socket(zmtp.REP), ctx.socket(zmtp.REQ)
                await req.connect(await rep.bind("tcp://127.0.0.1:*"))
                await req.send(b"ping")
                await rep.send(await rep.recv())
                return await req.recv()

        print(asyncio.run(main()), "trio" in sys.modules)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "b'ping' False"


def test_importing_zmtp_stays_light() -> None:
    done = run_python("""
        import sys
        import zmtp
        heavy = ("trio", "asyncio", "zmtp.asyncio", "zmtp._trio")
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
