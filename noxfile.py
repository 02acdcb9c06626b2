"""Development sessions: ``nox -s tests`` (one per supported Python: ``tests-3.10`` ...
``tests-3.13``), ``tests_portable``, ``interop``, ``fuzz``, ``lint``, ``typecheck``, ``bench``,
``bench_scale``."""

import nox

#: Every Python that pyproject.toml declares (requires-python = ">=3.10").
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The default suite: unit, property (fast profile) and interop tests."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def tests_portable(session: nox.Session) -> None:
    """The default suite with the CPython/trio fast paths off (zmtp._fastpaths)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"ZMTP_PORTABLE": "1"})


@nox.session
def interop(session: nox.Session) -> None:
    """Only the tests that run libzmq (through pyzmq) against zmtp."""
    session.install("-e", ".[test]")
    session.run("pytest", "interop", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Property tests and fuzzers with the long hypothesis profile."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/fuzz",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "long"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """zmtp and pyzmq side by side: throughput and latency, with ratios; then
    zmtp.asyncio beside zmq.asyncio and pyzmq (interop/bench_asyncio.py), and zmtp.sync
    beside pyzmq's blocking API (interop/bench_sync.py)."""
    session.install("-e", ".[test]")
    session.run("python", "interop/bench.py", *session.posargs)
    quick = ["--quick"] if "--quick" in session.posargs else []
    session.run("python", "interop/bench_asyncio.py", *quick)
    # zmtp.sync beside pyzmq's blocking API (interop/bench_sync.py).
    session.run("python", "interop/bench_sync.py", *quick)
    # One hostile peer must not stall the others (a good peer's round trip, with and
    # without a peer sending a 1,000,000-frame message), zmtp and libzmq side by side.
    session.run("python", "interop/bench_fairness.py")


@nox.session
def bench_scale(session: nox.Session) -> None:
    """zmtp and pyzmq side by side at scale: 10k ROUTER peers, 1,000 subscribers,
    100k subscriptions (``-- --quick`` for a short run, ``-- --only router``)."""
    session.install("-e", ".[test]")
    session.run("python", "interop/bench_scale.py", *session.posargs)
