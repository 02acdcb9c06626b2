"""zmtp.sync next to pyzmq's blocking API, in the same run: ``python
interop/bench_sync.py`` (``nox -s bench`` runs it after bench.py).

The method is bench.py's (``PERF.md``), whose process machinery, programs and report
this script shares (``zmtp._bench_common``):

* **PUSH → PULL throughput** over tcp (``--transports tcp,ipc`` adds ipc), receiver
  and sender in two processes (spawned); the receiver binds and times from the first
  message to the last, after a pilot that sizes the timed run to about ``--seconds``;
  msgs/s counts the ``n - 1`` intervals, MB = 10^6 bytes.
* **REQ/REP round trip** of 64-byte messages over tcp, client and server in two
  processes: p50 and p99 after a warm-up.

Implementations, each the same blocking program a user would write:

* ``pyzmq``: libzmq through pyzmq (the pyzmq programs of bench.py);
* ``zmtp-sync``: the same programs with ``import zmtp.sync as zmq``, the I/O on the
  context's I/O thread.

Each case runs ``--repeat`` times (3; 1 with ``--quick``), alternating the
implementations so that drift on a shared machine hits both alike: throughput reports
the median run, latency pools the samples. Output: Markdown tables with the ratios
that PERF.md's targets name (``--json PATH`` also writes every number).
"""

from __future__ import annotations

import sys
from typing import Any

from zmtp._bench_common import (
    PYZMQ,
    Blocking,
    Program,
    SideBySide,
    Target,
    blocking_roles,
    parse_side_by_side,
    run_side_by_side,
)

SPEC = SideBySide(
    title="zmtp.sync vs pyzmq (blocking)",
    description="zmtp.sync and pyzmq side by side: PUSH/PULL throughput and REQ/REP "
    "round trips, with PERF.md's zmtp.sync targets.",
    impls=["pyzmq", "zmtp-sync"],
    ratios=[("zmtp-sync", "pyzmq")],
    lat_base="pyzmq",
    # PERF.md's zmtp.sync targets.
    targets=[
        Target("tcp 16 B throughput", "thr", 16, "zmtp-sync", "pyzmq", ">=", 0.3),
        Target("tcp 64 KiB throughput", "thr", 65536, "zmtp-sync", "pyzmq", ">=", 1.0),
    ],
    targets_title="PERF.md zmtp.sync targets (same run)",
    transports_option=True,
)


class _ZmtpSync(Blocking):
    """zmtp.sync, imported as ``zmq`` by pyzmq's programs; what differs is how it
    tells the endpoint bound and shows the handshake."""

    name = "zmtp-sync"
    module = "zmtp.sync"

    def bind(self, sock: Any, endpoint: str) -> str:
        return str(sock.bind(endpoint))

    def connect(self, sock: Any, endpoint: str, timeout: float) -> None:
        """Connect and wait for the ZMTP handshake (seen on the socket's monitor)."""
        zmq = self.zmq()
        with sock.monitor(zmq.Event.HANDSHAKE_SUCCEEDED) as monitor:
            sock.connect(endpoint)
            monitor.wait_for(zmq.Event.HANDSHAKE_SUCCEEDED, timeout=timeout * 1000)


ROLES: dict[tuple[str, str], Program] = {
    **blocking_roles(PYZMQ),
    **blocking_roles(_ZmtpSync()),
}


def main(argv: list[str] | None = None) -> int:
    return run_side_by_side(SPEC, parse_side_by_side(SPEC, argv), ROLES)


if __name__ == "__main__":
    sys.exit(main())
