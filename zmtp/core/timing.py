"""Time as arithmetic: reconnect back-off and heartbeat deadlines, engine-neutral.

Engines own the clocks and the sleeping; the decisions about *when* are here, as pure
functions of numbers, so they are tested with numbers rather than with wall-clock
windows:

* :func:`next_reconnect_ivl`: libzmq's back-off. After a failed attempt a connecter
  waits ``reconnect_ivl`` ms, doubling after each further failure up to
  ``reconnect_ivl_max`` (when that is above ``reconnect_ivl``); a connection that
  completed its handshake starts the series again.
* :class:`HeartbeatSchedule`: RFC 37 "Connection Heartbeating" with libzmq's options.
  We send a PING every ``heartbeat_ivl``; if no traffic at all follows a PING within
  ``heartbeat_timeout`` (default: ``heartbeat_ivl``) the peer is gone; if the peer's own
  PING carried a TTL, no traffic for that long also means gone. Any traffic proves the
  peer alive. The engine asks :meth:`~HeartbeatSchedule.deadline`, sleeps until then (or
  until :meth:`~HeartbeatSchedule.peer_ttl_changed` says to re-plan), and asks
  :meth:`~HeartbeatSchedule.due` what to do.

Times are seconds on the engine's clock (floats); options are in milliseconds.
"""

from __future__ import annotations

import math

__all__ = ["HeartbeatSchedule", "next_reconnect_ivl"]

INF = math.inf


def next_reconnect_ivl(ivl: int, base: int, cap: int) -> int:
    """The wait (ms) before the attempt after one that waited ``ivl`` ms and failed.

    ``base`` is ``reconnect_ivl``, ``cap`` is ``reconnect_ivl_max`` (0: no doubling).
    """
    if cap > base:
        return min(max(ivl, 1) * 2, cap)
    return ivl


class HeartbeatSchedule:
    """When to PING and when to give up on a peer, for one connection."""

    __slots__ = ("ivl", "last_rx", "next_ping", "peer_ttl", "ping_sent", "ping_ttl", "timeout")

    def __init__(
        self, ivl_ms: int, timeout_ms: int, ttl_ms: int, *, pinging: bool, now: float
    ) -> None:
        """``pinging`` is False for a peer that does not know PING (ZMTP 3.0 and older):
        we then only honour a TTL the peer sends."""
        self.ivl = ivl_ms / 1000
        self.timeout = self.ivl if timeout_ms < 0 else timeout_ms / 1000
        #: The TTL our PINGs carry, in tenths of a second (RFC 37), at most 16 bits.
        self.ping_ttl = min(max(ttl_ms, 0) // 100, 0xFFFF)
        #: When traffic last arrived (the engine updates it on every read).
        self.last_rx = now
        #: How long the peer's last PING said it waits for our traffic (None: no TTL).
        self.peer_ttl: float | None = None
        self.next_ping = now + self.ivl if pinging and self.ivl > 0 else INF
        self.ping_sent = INF  # when the PING awaiting traffic went out

    def deadline(self) -> float:
        """The next moment :meth:`due` has something to decide (inf: never)."""
        deadline = min(self.next_ping, self.ping_sent + self.timeout)
        if self.peer_ttl is not None:
            deadline = min(deadline, self.last_rx + self.peer_ttl)
        return deadline

    def peer_ttl_changed(self, ttl_deciseconds: int) -> bool:
        """The peer sent a PING with this TTL (0: none). True if the deadline moved, so
        the engine must re-plan its sleep."""
        ttl = ttl_deciseconds / 10 if ttl_deciseconds else None
        if ttl == self.peer_ttl:
            return False
        self.peer_ttl = ttl
        return True

    def due(self, now: float) -> tuple[bool, str | None]:
        """What to do at ``now``: ``(send a PING?, why the peer is gone or None)``."""
        if now >= self.ping_sent + self.timeout:
            if self.last_rx < self.ping_sent:
                return False, (
                    f"heartbeat timeout: no traffic for {self.timeout * 1000:.0f} ms after PING"
                )
            self.ping_sent = INF
        if self.peer_ttl is not None and now >= self.last_rx + self.peer_ttl:
            return False, (
                f"heartbeat TTL expired: no traffic for {self.peer_ttl * 1000:.0f} ms "
                "as the peer's PING asked"
            )
        if now >= self.next_ping:
            if self.ping_sent == INF:
                self.ping_sent = now
            self.next_ping = now + self.ivl
            return True, None
        return False, None
