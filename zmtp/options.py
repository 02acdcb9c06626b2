"""Socket options, named as in pyzmq (lower case) with libzmq's defaults and units.

Every option is declared once in :data:`OPTIONS` with its default, its type and a
one-line meaning; :class:`Options` validates values against those declarations so a
wrong value fails at the call that set it, naming the option and the rule. Times are
in milliseconds, as in libzmq; ``-1`` means "infinite" or "unset" where libzmq says so.

This module is sans-IO.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from zmtp.errors import ZMTPValueError

__all__ = ["OPTIONS", "OptionSpec", "Options"]


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    name: str
    default: Any
    kind: type
    doc: str
    check: Callable[[Any], str | None] | None = None
    readonly: bool = False


def _at_least(n: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v >= n else f"must be >= {n}"

    return check


def _in_range(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if lo <= v <= hi else f"must be in {lo}..{hi}"

    return check


def _routing_id(v: bytes) -> str | None:
    if len(v) > 255:
        return "must be at most 255 octets"
    if v[:1] == b"\x00":
        return "must not start with a zero octet (RFC 23: reserved for implementations)"
    return None


def _curve_key(v: bytes) -> str | None:
    if len(v) in (0, 32):
        return None
    if len(v) == 40:
        from zmtp.wire.z85 import decode

        try:
            decode(v)
        except ValueError as exc:
            return f"is not a valid Z85 key ({exc})"
        return None
    return "must be 40 Z85 characters or 32 raw octets (RFC 32)"


def _credential(v: bytes) -> str | None:
    return None if len(v) <= 255 else "must be at most 255 octets (RFC 24)"


_SPECS = [
    OptionSpec(
        "sndhwm", 1000, int, "outgoing messages queued per peer (0: no limit)", _at_least(0)
    ),
    OptionSpec(
        "rcvhwm", 1000, int, "incoming messages queued per peer (0: no limit)", _at_least(0)
    ),
    OptionSpec("linger", -1, int, "ms close() waits to flush queued messages (-1: until sent)"),
    OptionSpec(
        "routing_id", b"", bytes, "our Identity property (REQ, DEALER, ROUTER)", _routing_id
    ),
    OptionSpec("reconnect_ivl", 100, int, "ms before reconnecting (-1: never)", _at_least(-1)),
    OptionSpec(
        "reconnect_ivl_max", 0, int, "ms cap of the doubling back-off (0: none)", _at_least(0)
    ),
    OptionSpec("immediate", False, bool, "queue only to peers whose connection is up"),
    OptionSpec(
        "maxmsgsize", -1, int, "largest message accepted, all frames (-1: any)", _at_least(-1)
    ),
    OptionSpec("sndtimeo", -1, int, "ms send() waits before raising Again (-1: forever)"),
    OptionSpec("rcvtimeo", -1, int, "ms recv() waits before raising Again (-1: forever)"),
    OptionSpec("backlog", 100, int, "listen() backlog of tcp and ipc listeners", _at_least(1)),
    OptionSpec(
        "handshake_ivl",
        30000,
        int,
        "ms a peer has to finish its handshake (0: forever)",
        _at_least(0),
    ),
    OptionSpec("ipv6", False, bool, "let tcp endpoints use IPv6 (and '*' bind to '::')"),
    OptionSpec("plain_server", False, bool, "act as the PLAIN server (RFC 24)"),
    OptionSpec(
        "plain_username",
        b"",
        bytes,
        "PLAIN client user name; setting it selects PLAIN",
        _credential,
    ),
    OptionSpec("plain_password", b"", bytes, "PLAIN client password", _credential),
    OptionSpec("zap_domain", b"", bytes, "authentication domain (RFC 27)"),
    OptionSpec("curve_server", False, bool, "act as the CURVE server (RFC 26)"),
    OptionSpec(
        "curve_publickey", b"", bytes, "our long-term CURVE public key (Z85 or 32 raw)", _curve_key
    ),
    OptionSpec(
        "curve_secretkey", b"", bytes, "our long-term CURVE secret key (Z85 or 32 raw)", _curve_key
    ),
    OptionSpec(
        "curve_serverkey",
        b"",
        bytes,
        "the server's public key; selects CURVE as a client",
        _curve_key,
    ),
    OptionSpec("last_endpoint", "", str, "the endpoint last bound or connected", readonly=True),
    # Request-reply (RFC 28), with libzmq's semantics.
    OptionSpec("req_relaxed", False, bool, "REQ may send a new request before the reply"),
    OptionSpec("req_correlate", False, bool, "REQ prefixes requests with an id, checks replies"),
    OptionSpec("router_mandatory", False, bool, "ROUTER raises on unroutable sends"),
    OptionSpec("router_handover", False, bool, "a duplicate routing id takes over the old one"),
    OptionSpec(
        "connect_routing_id",
        b"",
        bytes,
        "ROUTER id for the peer of the next connect()",
        _routing_id,
    ),
    OptionSpec("probe_router", False, bool, "send an empty message to every new peer"),
    # Publish-subscribe (RFC 29), with libzmq's semantics.
    OptionSpec("xpub_verbose", False, bool, "XPUB reports every subscription, not only new ones"),
    OptionSpec("xpub_verbose_unsubscribe", False, bool, "XPUB reports every (un)subscription"),
    OptionSpec("xpub_manual", False, bool, "XPUB applies subscriptions only via subscribe()"),
    OptionSpec("xpub_welcome_msg", b"", bytes, "message XPUB sends to each new subscriber"),
    OptionSpec("xpub_nodrop", False, bool, "(X)PUB waits at a full subscriber, not drop"),
    OptionSpec("conflate", False, bool, "keep only the newest incoming message per peer"),
    # Resilience (libzmq's names and units, ZMTP 3.1 heartbeats per RFC 37).
    OptionSpec("heartbeat_ivl", 0, int, "ms between PINGs to each peer (0: none)", _at_least(0)),
    OptionSpec(
        "heartbeat_timeout", -1, int, "ms without traffic after a PING before dropping the peer"
    ),
    OptionSpec(
        "heartbeat_ttl",
        0,
        int,
        "ms the peer should wait for our traffic (in PING)",
        _in_range(0, 6553599),
    ),
    OptionSpec(
        "maxmsgparts", -1, int, "most frames in one incoming message (-1: any)", _at_least(-1)
    ),
    OptionSpec(
        "tcp_keepalive", -1, int, "SO_KEEPALIVE: 1 on, 0 off, -1 system default", _in_range(-1, 1)
    ),
    OptionSpec("tcp_keepalive_idle", -1, int, "s idle before keepalive probes (-1: default)"),
    OptionSpec("tcp_keepalive_intvl", -1, int, "s between keepalive probes (-1: default)"),
    OptionSpec("tcp_keepalive_cnt", -1, int, "keepalive probes before giving up (-1: default)"),
    OptionSpec(
        "tcp_maxrt", 0, int, "ms unacked data may wait (TCP_USER_TIMEOUT; 0: default)", _at_least(0)
    ),
]

#: Every option by name.
OPTIONS: dict[str, OptionSpec] = {spec.name: spec for spec in _SPECS}
#: libzmq's (and pyzmq's) integer option numbers, for ``setsockopt(zmq.SNDHWM, 10)``.
BY_NUMBER = {
    23: "sndhwm", 24: "rcvhwm", 17: "linger", 5: "routing_id", 18: "reconnect_ivl",
    21: "reconnect_ivl_max", 39: "immediate", 22: "maxmsgsize", 28: "sndtimeo",
    27: "rcvtimeo", 32: "last_endpoint", 19: "backlog", 66: "handshake_ivl", 42: "ipv6",
    44: "plain_server", 45: "plain_username", 46: "plain_password", 55: "zap_domain",
    47: "curve_server", 48: "curve_publickey", 49: "curve_secretkey", 50: "curve_serverkey",
    53: "req_relaxed", 52: "req_correlate", 33: "router_mandatory", 56: "router_handover",
    61: "connect_routing_id", 51: "probe_router", 40: "xpub_verbose",
    78: "xpub_verbose_unsubscribe", 71: "xpub_manual", 72: "xpub_welcome_msg",
    69: "xpub_nodrop", 54: "conflate", 75: "heartbeat_ivl", 77: "heartbeat_timeout",
    76: "heartbeat_ttl", 34: "tcp_keepalive", 36: "tcp_keepalive_idle",
    37: "tcp_keepalive_intvl", 35: "tcp_keepalive_cnt", 80: "tcp_maxrt", 6: "subscribe",
    7: "unsubscribe", 1: "hwm",
}  # fmt: skip

#: Other names pyzmq users know.
ALIASES = {
    "identity": "routing_id",
    "connect_rid": "connect_routing_id",
    "xpub_verboser": "xpub_verbose_unsubscribe",
}


class Options:
    """Validated option values of one socket."""

    def __init__(self, **values: Any) -> None:
        self._values: dict[str, Any] = {name: spec.default for name, spec in OPTIONS.items()}
        for name, value in values.items():
            self.set(name, value)

    @staticmethod
    def canonical(name: str | int) -> str:
        if isinstance(name, int):
            try:
                return BY_NUMBER[name]
            except KeyError:
                raise ZMTPValueError(
                    f"unknown or unsupported socket option number {name}"
                ) from None
        name = name.lower()
        return ALIASES.get(name, name)

    @staticmethod
    def known(name: str | int) -> bool:
        name = Options.canonical(name)
        return name in OPTIONS or name == "hwm"

    def get(self, name: str | int) -> Any:
        try:
            return self._values[name]  # type: ignore[index]  # the common case: a canonical name
        except KeyError:
            pass
        name = self.canonical(name)
        if name == "hwm":
            return self._values["sndhwm"]
        try:
            return self._values[name]
        except KeyError:
            raise ZMTPValueError(f"unknown socket option {name!r}") from None

    def set(self, name: str | int, value: Any) -> None:
        name = self.canonical(name)
        if name == "hwm":  # pyzmq's shorthand for both
            self.set("sndhwm", value)
            self.set("rcvhwm", value)
            return
        spec = OPTIONS.get(name)
        if spec is None:
            raise ZMTPValueError(f"unknown socket option {name!r}")
        if spec.readonly:
            raise ZMTPValueError(f"socket option {name!r} is read-only")
        self._values[name] = self._coerce(spec, value)

    def set_internal(self, name: str, value: Any) -> None:
        """Set a read-only value (the socket reports ``last_endpoint`` this way)."""
        self._values[name] = value

    @staticmethod
    def _coerce(spec: OptionSpec, value: Any) -> Any:
        kind = spec.kind
        if kind is bytes:
            if isinstance(value, str):
                value = value.encode("utf-8")
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise ZMTPValueError(f"socket option {spec.name!r} takes bytes, got {value!r}")
            value = bytes(value)
        elif kind is bool:
            if not isinstance(value, (bool, int)):
                raise ZMTPValueError(f"socket option {spec.name!r} takes a bool, got {value!r}")
            value = bool(value)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ZMTPValueError(f"socket option {spec.name!r} takes an int, got {value!r}")
        elif kind is str and not isinstance(value, str):
            raise ZMTPValueError(f"socket option {spec.name!r} takes a str, got {value!r}")
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                raise ZMTPValueError(f"socket option {spec.name!r} {problem}, got {value!r}")
        return value
