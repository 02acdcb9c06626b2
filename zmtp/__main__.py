"""Command line: ``zmtp demo [NAME ...]`` (also ``python -m zmtp demo``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zmtp", description="ZeroMQ's ZMTP in pure Python")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the classic ZeroMQ patterns over tcp")
    from zmtp import demo as demos

    demo.add_argument(
        "names",
        nargs="*",
        choices=[*demos.DEMOS, []],
        help=f"which demos to run (default: all of {', '.join(demos.DEMOS)})",
    )
    demo.add_argument("--workers", type=int, default=4, help="pipeline workers (default 4)")
    demo.add_argument("--tasks", type=int, default=100, help="pipeline tasks (default 100)")
    args = parser.parse_args(argv)

    import trio

    trio.run(demos.run, args.names or list(demos.DEMOS), args.workers, args.tasks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
