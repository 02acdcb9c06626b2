r"""The ``zmtp`` command line: everyday ZeroMQ debugging, conformance and benchmarks.

::

    zmtp send ENDPOINT [MESSAGE ...]     send messages (PUSH unless --type says)
    zmtp recv ENDPOINT                   print messages (PULL unless --type says)
    zmtp push|pull|pub|sub|req|rep ...   the same with that socket type
    zmtp proxy FRONT BACK                queue, forwarder or streamer between two sockets
    zmtp monitor ENDPOINT                print a socket's connection events as they happen
    zmtp keygen                          a CURVE key pair in Z85
    zmtp conform ENDPOINT --type TYPE    check a peer against the RFCs
    zmtp bench                           zmtp and pyzmq side by side
    zmtp demo                            the classic patterns, running
    zmtp --version

Messages come from the arguments or, without any, from standard input, one per line;
``--separator`` splits a line into frames and joins received frames (a tab by
default); ``--hex`` reads and prints frames in hex. Received messages are printed one
per line. Sockets connect unless ``--bind`` is given.

Exit status: 0 on success, 1 when the work could not be done (nothing arrived in time,
a conformance check failed), 2 for bad arguments or an unreachable peer. Errors are
one line on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import zmtp
from zmtp.constants import SocketType
from zmtp.errors import ZMTPError, ZMTPValueError

__all__ = ["main"]

T = SocketType
_CANNOT_SEND = frozenset({T.PULL, T.SUB})
_CANNOT_RECV = frozenset({T.PUSH, T.PUB})
_TYPE_NAMES = [t.name for t in (T.PAIR, T.PUB, T.SUB, T.REQ, T.REP, T.DEALER, T.ROUTER,
                                T.PULL, T.PUSH, T.XPUB, T.XSUB)]  # fmt: skip


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2)."""


class Failure(Exception):
    """The command could not do its work (exit status 1)."""


# =======================================================================================
# Arguments


def _socket_type(text: str) -> SocketType:
    try:
        st = SocketType.coerce(text)
    except ZMTPValueError:
        raise argparse.ArgumentTypeError(
            f"unknown socket type {text!r} (one of {', '.join(_TYPE_NAMES)})"
        ) from None
    if st.name not in _TYPE_NAMES:
        raise argparse.ArgumentTypeError(f"socket type {st.name} is not supported here")
    return st


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _event_name(text: str) -> zmtp.Event:
    try:
        return zmtp.Event[text.upper()]
    except KeyError:
        names = ", ".join(e.name for e in zmtp.Event if e.name and e.name != "ALL")
        raise argparse.ArgumentTypeError(f"unknown event {text!r} (one of {names})") from None


def _endpoint(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("tcp", "ipc", "inproc") or not rest:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an endpoint (tcp://host:port or ipc://path)"
        )
    return text


def _messaging_options(p: argparse.ArgumentParser, *, sends: bool, receives: bool) -> None:
    p.add_argument("endpoint", type=_endpoint, metavar="ENDPOINT")
    p.add_argument("--bind", action="store_true", help="bind ENDPOINT instead of connecting")
    p.add_argument(
        "-s",
        "--separator",
        metavar="SEP",
        help="split input lines into frames at SEP; join received frames with SEP "
        "(default: input lines are one frame, received frames are joined by a tab)",
    )
    p.add_argument("--hex", action="store_true", help="frames are written and printed in hex")
    p.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up (exit status 1) after waiting this long for a peer or a message",
    )
    if sends:
        p.add_argument(
            "messages",
            nargs="*",
            metavar="MESSAGE",
            help="messages to send (default: the lines of standard input)",
        )
    if receives:
        p.add_argument(
            "-n", "--count", type=_positive_int, metavar="N", help="stop after N messages"
        )


_EPILOG_IO = """\
messages: from the arguments, or one per line of standard input; received
messages are printed one per line, frames joined by a tab (or --separator).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zmtp",
        description="ZeroMQ's wire protocol in pure Python: talk to ZeroMQ peers, check "
        "them against the RFCs, benchmark zmtp.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zmtp {zmtp.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kw,
        )

    p = command("send", "send messages on a socket (PUSH by default)", epilog=_EPILOG_IO)
    _messaging_options(p, sends=True, receives=False)
    p.add_argument("-t", "--type", type=_socket_type, default=T.PUSH, help="socket type")
    p.set_defaults(func=_run_async(_send))

    p = command("recv", "print the messages a socket receives (PULL by default)")
    _messaging_options(p, sends=False, receives=True)
    p.add_argument("-t", "--type", type=_socket_type, default=T.PULL, help="socket type")
    p.set_defaults(func=_run_async(_recv))

    for name, st, role in (
        ("push", T.PUSH, _send),
        ("pull", T.PULL, _recv),
        ("pub", T.PUB, _send),
        ("sub", T.SUB, _recv),
    ):
        what = "send" if role is _send else "print"
        p = command(name, f"{what} messages on a {st.name} socket", epilog=_EPILOG_IO)
        _messaging_options(p, sends=role is _send, receives=role is _recv)
        p.set_defaults(func=_run_async(role), type=st)
        if st == T.SUB:
            p.add_argument(
                "--subscribe",
                action="append",
                metavar="TOPIC",
                help="subscribe to messages starting with TOPIC (repeatable; default: all)",
            )
        if st == T.PUB:
            p.add_argument(
                "--no-wait",
                action="store_true",
                help="publish at once instead of waiting for the first subscription",
            )

    p = command("req", "send each message as a request and print its reply", epilog=_EPILOG_IO)
    _messaging_options(p, sends=True, receives=False)
    p.set_defaults(func=_run_async(_req), type=T.REQ)

    p = command(
        "rep",
        "print each request and answer it with the next line of standard input (or --echo)",
    )
    _messaging_options(p, sends=False, receives=True)
    p.add_argument("--echo", action="store_true", help="answer each request with itself")
    p.set_defaults(func=_run_async(_rep), type=T.REP)

    p = command(
        "proxy",
        "forward messages between two sockets: queue, forwarder or streamer",
        epilog="endpoints are bound; prefix one with '>' to connect it instead\n"
        "(and '@' to say bind explicitly).",
    )
    p.add_argument("front", metavar="FRONT", help="the frontend endpoint")
    p.add_argument("back", metavar="BACK", help="the backend endpoint")
    p.add_argument(
        "--mode",
        choices=["queue", "forwarder", "streamer"],
        default="queue",
        help="queue: ROUTER to DEALER (request-reply), forwarder: XSUB to XPUB "
        "(publish-subscribe), streamer: PULL to PUSH (pipeline); default queue",
    )
    p.add_argument("--front-type", type=_socket_type, help="override the frontend type")
    p.add_argument("--back-type", type=_socket_type, help="override the backend type")
    p.set_defaults(func=_run_async(_proxy))

    p = command("monitor", "open a socket and print its connection events as they happen")
    p.add_argument("endpoint", type=_endpoint, metavar="ENDPOINT")
    p.add_argument("-t", "--type", type=_socket_type, default=T.DEALER, help="socket type")
    p.add_argument("--bind", action="store_true", help="bind ENDPOINT instead of connecting")
    p.add_argument("-n", "--count", type=_positive_int, metavar="N", help="stop after N events")
    p.add_argument(
        "--until",
        type=_event_name,
        metavar="EVENT",
        help="stop after the first event of this kind (e.g. HANDSHAKE_SUCCEEDED)",
    )
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="stop after this long")
    p.set_defaults(func=_run_async(_monitor))

    p = command("keygen", "print a new CURVE key pair in Z85 (needs PyNaCl)")
    p.add_argument("--json", action="store_true", help='print {"public": ..., "secret": ...}')
    p.set_defaults(func=_keygen)

    p = command(
        "conform",
        "check a ZeroMQ peer against the ZMTP RFCs",
        epilog=_CONFORM_EPILOG,
    )
    _conform_options(p)
    p.set_defaults(func=_conform)

    p = command(
        "bench",
        "benchmark zmtp side by side with pyzmq (libzmq); 'zmtp bench --help' for options",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_bench)

    p = command("demo", "run the classic ZeroMQ patterns over tcp")
    from zmtp import demo as demos

    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"which demos to run: {', '.join(demos.DEMOS)} (default: all)",
    )
    p.add_argument("--workers", type=_positive_int, default=4, help="pipeline workers (default 4)")
    p.add_argument("--tasks", type=_positive_int, default=100, help="pipeline tasks (default 100)")
    p.set_defaults(func=_demo)
    return parser


# =======================================================================================
# Messages in and out


def _parse_line(line: str, args: argparse.Namespace) -> list[bytes]:
    parts = line.split(args.separator) if args.separator else [line]
    if not args.hex:
        return [part.encode("utf-8", "surrogateescape") for part in parts]
    try:
        return [bytes.fromhex(part) for part in parts]
    except ValueError:
        raise UsageError(f"{line!r} is not hex (with --hex, frames are written in hex)") from None


def _format(msg: Sequence[bytes], args: argparse.Namespace) -> str:
    sep = args.separator if args.separator is not None else "\t"
    if args.hex:
        return sep.join(bytes(f).hex() for f in msg)
    return sep.join(bytes(f).decode("utf-8", "backslashreplace") for f in msg)


def _print(text: str) -> None:
    print(text, flush=True)


# =======================================================================================
# Running trio commands


def _run_async(fn: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import trio

        try:
            result: int = trio.run(fn, args)
        except BaseException as exc:
            if isinstance(getattr(exc, "exceptions", None), tuple):  # an exception group
                raise _unwrap(exc) from None
            raise
        return result

    run.__name__ = fn.__name__
    return run


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception a task group wrapped (the first, if there are several)."""
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions:  # type: ignore[attr-defined]
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


async def _attach(sock: zmtp.Socket, endpoint: str, bind: bool) -> str:
    try:
        if bind:
            return await sock.bind(endpoint)
        await sock.connect(endpoint)
        return endpoint
    except ZMTPValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise Failure(
            f"cannot {'bind' if bind else 'connect'} {endpoint}: {exc.strerror or exc}"
        ) from None


async def _wait_peer(monitor: zmtp.Monitor, timeout: float | None, what: str) -> None:
    import trio

    with trio.move_on_after(timeout if timeout is not None else math.inf) as scope:
        await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    if scope.cancelled_caught:
        raise Failure(f"no peer within {timeout:g} s ({what})")


async def _recv_one(sock: zmtp.Socket, timeout: float | None) -> list[bytes]:
    import trio

    with trio.move_on_after(timeout if timeout is not None else math.inf):
        msg: list[bytes] = await sock.recv_multipart()
        return msg
    raise Failure(f"no message within {timeout:g} s")


async def _lines(args: argparse.Namespace) -> AsyncIterator[list[bytes]]:
    """The messages to send: the arguments (checked before anything is sent), or the
    lines of standard input as they come."""
    if args.messages:
        for msg in [_parse_line(line, args) for line in args.messages]:
            yield msg
        return
    import trio

    stdin = trio.wrap_file(sys.stdin)
    while line := await stdin.readline():
        yield _parse_line(line.rstrip("\r\n"), args)


async def _send(args: argparse.Namespace) -> int:
    st: SocketType = args.type
    if st in _CANNOT_SEND:
        raise UsageError(f"a {st.name} socket cannot send")
    if args.messages:
        for line in args.messages:
            _parse_line(line, args)  # a bad argument fails before anything is sent
    async with zmtp.Context() as ctx:
        wait_subscriber = st == T.PUB and not getattr(args, "no_wait", False)
        sock = ctx.socket(T.XPUB if wait_subscriber else st)
        monitor = sock.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED)
        await _attach(sock, args.endpoint, args.bind)
        if wait_subscriber:
            # An XPUB hears subscriptions: publish once the first one arrived, so that
            # the first messages are not lost to the "slow joiner".
            await _recv_one(sock, args.timeout)
        else:
            await _wait_peer(monitor, args.timeout, "nothing was sent")
        async for msg in _lines(args):
            await sock.send_multipart(msg)
    return 0


async def _recv(args: argparse.Namespace) -> int:
    st: SocketType = args.type
    if st in _CANNOT_RECV:
        raise UsageError(f"a {st.name} socket cannot receive")
    async with zmtp.Context() as ctx:
        sock = ctx.socket(st)
        if st == T.SUB:
            for topic in getattr(args, "subscribe", None) or [""]:
                sock.subscribe(topic)
        await _attach(sock, args.endpoint, args.bind)
        n = 0
        while args.count is None or n < args.count:
            _print(_format(await _recv_one(sock, args.timeout), args))
            n += 1
    return 0


async def _req(args: argparse.Namespace) -> int:
    async with zmtp.Context() as ctx:
        sock = ctx.socket(T.REQ, linger=0)
        await _attach(sock, args.endpoint, args.bind)
        async for msg in _lines(args):
            await sock.send_multipart(msg)
            _print(_format(await _recv_one(sock, args.timeout), args))
    return 0


async def _rep(args: argparse.Namespace) -> int:
    import trio

    stdin = None if args.echo else trio.wrap_file(sys.stdin)
    async with zmtp.Context() as ctx:
        sock = ctx.socket(T.REP)
        await _attach(sock, args.endpoint, args.bind)
        n = 0
        while args.count is None or n < args.count:
            request = await _recv_one(sock, args.timeout)
            _print(_format(request, args))
            if stdin is None:
                reply = request
            else:
                line = await stdin.readline()
                if not line:
                    return 0
                reply = _parse_line(line.rstrip("\r\n"), args)
            await sock.send_multipart(reply)
            n += 1
    return 0


_MODES = {
    "queue": (T.ROUTER, T.DEALER),
    "forwarder": (T.XSUB, T.XPUB),
    "streamer": (T.PULL, T.PUSH),
}


def _proxy_endpoint(text: str) -> tuple[str, bool]:
    """``(endpoint, bind)``: bound unless prefixed with '>'."""
    bind = not text.startswith(">")
    endpoint = text[1:] if text[:1] in (">", "@") else text
    try:
        return _endpoint(endpoint), bind
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None


async def _proxy(args: argparse.Namespace) -> int:
    front_type, back_type = _MODES[args.mode]
    front_type = args.front_type or front_type
    back_type = args.back_type or back_type
    front_ep, front_bind = _proxy_endpoint(args.front)
    back_ep, back_bind = _proxy_endpoint(args.back)
    async with zmtp.Context() as ctx:
        front = ctx.socket(front_type)
        back = ctx.socket(back_type)
        f = await _attach(front, front_ep, front_bind)
        b = await _attach(back, back_ep, back_bind)
        print(
            f"proxy: {front_type.name} {'@' if front_bind else '>'}{f} <-> "
            f"{back_type.name} {'@' if back_bind else '>'}{b}",
            file=sys.stderr,
            flush=True,
        )
        await zmtp.proxy(front, back)
    return 0  # pragma: no cover - proxy runs until interrupted


async def _monitor(args: argparse.Namespace) -> int:
    import trio

    async with zmtp.Context() as ctx:
        sock = ctx.socket(args.type)
        monitor = sock.monitor()
        await _attach(sock, args.endpoint, args.bind)
        n = 0
        with trio.move_on_after(args.timeout if args.timeout is not None else math.inf):
            async for ev in monitor:
                reason = f" ({ev.reason})" if ev.reason else ""
                _print(f"{ev.event.name} {ev.endpoint}{reason}")
                n += 1
                if args.count is not None and n >= args.count:
                    break
                if args.until is not None and ev.event == args.until:
                    break
    return 0


def _keygen(args: argparse.Namespace) -> int:
    try:
        public, secret = zmtp.curve_keypair()
    except zmtp.MechanismUnavailable as exc:
        raise Failure(str(exc)) from None
    if args.json:
        _print(json.dumps({"public": public.decode(), "secret": secret.decode()}))
    else:
        _print(f"public: {public.decode()}")
        _print(f"secret: {secret.decode()}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from zmtp import bench

    rest = list(args.args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return bench.main(rest, prog="zmtp bench")


def _demo(args: argparse.Namespace) -> int:
    import trio

    from zmtp import demo as demos

    unknown = [n for n in args.names if n not in demos.DEMOS]
    if unknown:
        raise UsageError(f"unknown demo {unknown[0]!r} (choose from {', '.join(demos.DEMOS)})")
    trio.run(demos.run, args.names or list(demos.DEMOS), args.workers, args.tasks)
    return 0


# =======================================================================================
# zmtp conform

_CONFORM_EPILOG = """\
what the peer's application should do, so that the pattern checks see it at work:
  REP, ROUTER, DEALER, PAIR  send every message back (REP: as the reply; ROUTER:
                             to its sender)
  REQ                        send a request, then each reply as its next request
                             (a new request if no reply comes within a second)
  PUSH                       send messages without pause
  PUB, XPUB                  publish without pause, on at least two topics
  SUB, XSUB                  subscribe to at least one topic
  PULL                       with --feedback: forward each message received to
                             a PUSH socket connected to the feedback endpoint

outcomes: pass; fail (a MUST/SHALL broken: expected and seen are shown);
warn (a SHOULD, or a named departure of a widely deployed stack); skip (why).
exit status: 0 nothing failed, 1 something failed, 2 unreachable or bad arguments.
"""


def _conform_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", type=_endpoint, metavar="ENDPOINT")
    p.add_argument(
        "-t",
        "--type",
        type=_socket_type,
        required=True,
        help="the peer's socket type (the probe plays a compatible one)",
    )
    p.add_argument(
        "--mechanism",
        choices=["null", "plain", "curve"],
        default="null",
        help="the peer's security mechanism; the probe is the client (default null)",
    )
    p.add_argument("--username", default="", help="PLAIN user name")
    p.add_argument("--password", default="", help="PLAIN password")
    p.add_argument("--server-key", metavar="Z85", help="CURVE: the peer's public key")
    p.add_argument("--public-key", metavar="Z85", help="CURVE: a client key the peer admits")
    p.add_argument("--secret-key", metavar="Z85", help="CURVE: its secret key")
    p.add_argument("--json", action="store_true", help="print the results as a JSON list")
    p.add_argument(
        "--only",
        action="append",
        metavar="SECTION",
        help="run only these checks: ids or id prefixes (greeting, framing.long-frames) "
        "or RFC numbers (28), comma-separated; repeatable",
    )
    p.add_argument(
        "--listen", action="store_true", help="bind ENDPOINT and wait for the peer to connect"
    )
    p.add_argument(
        "--hostile", action="store_true", help="also run the robustness probes (garbage, ...)"
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how long to wait for an answer the peer owes (default 2)",
    )
    p.add_argument(
        "--maxmsgsize",
        type=_positive_int,
        metavar="OCTETS",
        help="the peer's maximum message size, to check it is enforced",
    )
    p.add_argument(
        "--feedback",
        type=_endpoint,
        metavar="ENDPOINT",
        help="PULL peers: where the probe listens for the messages the application forwards",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show what each passed check saw")
    p.add_argument("--list", action="store_true", help="list the checks for TYPE and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def _key(text: str | None, what: str) -> bytes:
    if not text:
        return b""
    from zmtp.wire.z85 import coerce_key

    try:
        coerce_key(text, what)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return text.encode("ascii")


def _conform(args: argparse.Namespace) -> int:
    from zmtp import conform

    if args.mechanism == "plain" and not args.username:
        raise UsageError("--mechanism plain needs --username (and --password)")
    if args.mechanism == "curve" and not args.server_key:
        raise UsageError("--mechanism curve needs --server-key (the peer's public key)")
    if bool(args.public_key) != bool(args.secret_key):
        raise UsageError("give both --public-key and --secret-key, or neither")
    only = tuple(t for chunk in args.only or () for t in chunk.split(",") if t.strip())
    options = conform.Options(
        endpoint=args.endpoint,
        socket_type=args.type,
        mechanism=args.mechanism,
        username=args.username.encode(),
        password=args.password.encode(),
        server_key=_key(args.server_key, "--server-key"),
        public_key=_key(args.public_key, "--public-key"),
        secret_key=_key(args.secret_key, "--secret-key"),
        listen=args.listen,
        hostile=args.hostile,
        only=only,
        timeout=args.timeout,
        maxmsgsize=args.maxmsgsize,
        feedback=args.feedback,
    )
    if args.list:
        for c in conform.selected(options):
            _print(f"{c.id:<34} RFC {c.rfc} {c.section}: {c.rule}")
        return 0
    if only and not conform.selected(options):
        raise UsageError(f"--only {','.join(only)} selects no check for a {args.type.name} peer")
    show_progress = not args.no_progress and sys.stderr.isatty()

    def progress(done: int, total: int, check_id: str) -> None:
        sys.stderr.write(f"\r\x1b[K[{done}/{total}] {check_id}")
        sys.stderr.flush()

    try:
        report = conform.run(options, progress if show_progress else None)
    except conform.Unreachable as exc:
        raise UsageError(str(exc)) from None
    finally:
        if show_progress:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
    if args.json:
        _print(conform.render_json(report))
    else:
        _print(conform.render_table(report, verbose=args.verbose))
    return 1 if report.failed else 0


# =======================================================================================


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        # The benchmark has its own options (and --help): hand them over untouched.
        return _bench(argparse.Namespace(args=argv[1:]))
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse stops filling MESSAGE... at the first option after ENDPOINT
        # ("zmtp push tcp://... --bind hello"): the words left over are messages.
        if isinstance(getattr(args, "messages", None), list) and not any(
            e.startswith("-") for e in extra
        ):
            args.messages += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        result: int = args.func(args)
        return result
    except UsageError as exc:
        parser.exit(2, f"zmtp {args.command}: error: {exc}\n")
    except Failure as exc:
        print(f"zmtp {args.command}: {exc}", file=sys.stderr)
        return 1
    except ZMTPError as exc:
        print(f"zmtp {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``| head``): not an error of ours. Point
        # stdout at /dev/null so that flushing it at exit does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0  # pragma: no cover - parser.exit does not return
