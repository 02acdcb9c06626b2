"""Socket options, named as in pyzmq (lower case) with libzmq's numbers, defaults and units.

Every option is declared once, as an :class:`OptionSpec`: its name and libzmq number,
default, type, meaning, and the values it accepts, as data (a range of integers, a
longest byte string, a rule for keys). :class:`Options` checks every value against its
declaration *when it is set*, so a wrong value fails at the call that set it with a
:class:`~zmtp.errors.ZMTPValueError` naming the option, the rule and the value, rather
than later and elsewhere (inside a connection being accepted, say).

The ranges are libzmq's (``src/options.cpp``), narrowed where libzmq hands the value to
the operating system without looking: the tcp keepalive options take the Linux kernel's
ranges, and every integer libzmq stores in a C ``int`` must fit one. Times are in
milliseconds, as in libzmq; ``-1`` means "infinite" or "unset" where libzmq says so.

Three tables:

* :data:`OPTIONS`: what a socket stores, one value each (``sndhwm``, ``linger``, ...);
* :data:`SOCKET_LEVEL`: options the socket itself answers or acts on, because they are
  its state rather than a setting: ``rcvmore``, ``events``, ``type`` (read-only) and
  ``subscribe``, ``unsubscribe`` (write-only actions). :class:`Options` validates
  their values (:meth:`Options.check`) but does not store them;
* :data:`UNSUPPORTED`: pyzmq's other option names and numbers. They are known, so
  setting one says that zmtp does not support it (yet), by name. ``fd`` is among them
  for good: a zmtp socket has no file descriptor that signals its readiness (await
  ``recv``, or run one task per socket in a nursery).

``hwm`` (pyzmq's ``zmq.HWM``) sets ``sndhwm`` and ``rcvhwm`` at once.

This module is sans-IO.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from zmtp.constants import SocketOption
from zmtp.errors import ZMTPValueError

__all__ = [
    "ALIASES",
    "BY_NUMBER",
    "INT64_MAX",
    "INT_MAX",
    "OPTIONS",
    "SOCKET_LEVEL",
    "UNSUPPORTED",
    "OptionSpec",
    "Options",
    "check_topic",
]

#: The largest value of a C ``int``: libzmq keeps most options in one.
INT_MAX = 2**31 - 1
#: The largest value of a C ``int64_t`` (``maxmsgsize``).
INT64_MAX = 2**63 - 1


def _show(value: object) -> str:
    """A value for an error message: its repr, cut short if long."""
    text = repr(value)
    if len(text) > 60:
        size = f", {len(value)} long" if isinstance(value, (bytes, bytearray, str)) else ""
        text = f"{text[:40]}...{size}"
    return f"{text} ({type(value).__name__})"


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    """One option: what it is and which values it accepts.

    ``kind`` is ``int``, ``bool``, ``bytes`` or ``str``. An ``int`` option accepts the
    integers ``lo..hi`` and those listed in ``also`` (a ``-1`` meaning "the system's
    default", say); ``rule`` says where the range comes from. A ``bytes`` option
    accepts ``bytes``-like values and ``str`` (encoded as UTF-8), up to ``max_len``
    octets, that ``check`` (if any) does not refuse. A ``bool`` option accepts
    ``True``/``False`` and the integers 0 and 1, as pyzmq does.
    """

    name: str
    #: libzmq's (and pyzmq's) option number; None for options that are zmtp's own.
    number: int | None
    default: Any
    kind: type
    doc: str
    lo: int = 0
    hi: int = INT_MAX
    also: tuple[int, ...] = ()
    rule: str = "a C int, as libzmq stores it"
    max_len: int | None = None
    check: Callable[[bytes], str | None] | None = None
    readonly: bool = False
    #: The socket answers (read-only) or acts on (write-only) this option itself.
    socket_level: bool = False
    #: Write-only: an action rather than a value (``subscribe``).
    writeonly: bool = False
    #: The stored options this one sets together (``hwm``), read back from the first.
    sets: tuple[str, ...] = ()

    def range_text(self) -> str:
        """The accepted integers in words, e.g. ``>= 0 and <= 2147483647``."""
        if self.also:
            alternatives = " or ".join(str(v) for v in self.also)
            return f"{alternatives} or in {self.lo}..{self.hi}"
        if self.hi in (INT_MAX, INT64_MAX):
            return f">= {self.lo} and <= {self.hi}"
        return f"in {self.lo}..{self.hi}"

    def coerce(self, value: Any) -> Any:
        """``value`` in the form stored (``str`` encoded for a ``bytes`` option, an
        integer made a bool); raises :class:`ZMTPValueError` naming the option, the
        rule and the value if the option does not accept it."""
        kind = self.kind
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ZMTPValueError(
                    f"socket option {self.name!r} takes an int, got {_show(value)}"
                )
            if not self.lo <= value <= self.hi and value not in self.also:
                raise ZMTPValueError(
                    f"socket option {self.name!r} must be {self.range_text()} "
                    f"({self.rule}), got {value!r}"
                )
            return int(value)
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, int):
                if value in (0, 1):
                    return bool(value)
                raise ZMTPValueError(
                    f"socket option {self.name!r} takes a bool (or 0 or 1), got {value!r}"
                )
            raise ZMTPValueError(
                f"socket option {self.name!r} takes a bool (or 0 or 1), got {_show(value)}"
            )
        if kind is bytes:
            if isinstance(value, str):
                value = value.encode("utf-8")
            elif isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value)
            else:
                raise ZMTPValueError(
                    f"socket option {self.name!r} takes bytes (or str, sent as UTF-8), "
                    f"got {_show(value)}"
                )
            if self.max_len is not None and len(value) > self.max_len:
                raise ZMTPValueError(
                    f"socket option {self.name!r} must be at most {self.max_len} octets "
                    f"({self.rule}), got {len(value)}"
                )
            if self.check is not None:
                problem = self.check(value)
                if problem:
                    raise ZMTPValueError(
                        f"socket option {self.name!r} {problem}, got {_show(value)}"
                    )
            return value
        if not isinstance(value, kind):
            raise ZMTPValueError(
                f"socket option {self.name!r} takes a {kind.__name__}, got {_show(value)}"
            )
        return value


def _routing_id(v: bytes) -> str | None:
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


def _int(
    name: str,
    default: int,
    doc: str,
    lo: int,
    hi: int = INT_MAX,
    *,
    also: tuple[int, ...] = (),
    rule: str = "a C int, as libzmq stores it",
) -> OptionSpec:
    return OptionSpec(name, _number(name), default, int, doc, lo=lo, hi=hi, also=also, rule=rule)


def _bool(name: str, doc: str) -> OptionSpec:
    return OptionSpec(name, _number(name), False, bool, doc)


def _bytes(
    name: str,
    doc: str,
    *,
    max_len: int | None = None,
    rule: str = "",
    check: Callable[[bytes], str | None] | None = None,
) -> OptionSpec:
    return OptionSpec(name, _number(name), b"", bytes, doc, max_len=max_len, rule=rule, check=check)


#: zmtp's own options (no libzmq number).
_OWN = frozenset({"maxmsgparts", "handshake_max_command", "zmtp_min_version"})


def _number(name: str) -> int | None:
    if name in _OWN:
        return None
    if name == "xpub_verbose_unsubscribe":
        return int(SocketOption.XPUB_VERBOSER)
    return int(SocketOption[name.upper()])


_SPECS = [
    _int("sndhwm", 1000, "outgoing messages queued per peer (0: no limit)", 0),
    _int("rcvhwm", 1000, "incoming messages queued per peer (0: no limit)", 0),
    _int(
        "linger",
        -1,
        "ms close() keeps delivering queued messages, to peers still connecting too "
        "(-1: until delivered; 0: drop them at once)",
        -1,
    ),
    _bytes(
        "routing_id",
        "our Identity property (REQ, DEALER, ROUTER)",
        max_len=255,
        rule="RFC 23: an Identity property is at most 255 octets",
        check=_routing_id,
    ),
    _int("reconnect_ivl", 100, "ms before reconnecting (-1: never)", -1),
    _int("reconnect_ivl_max", 0, "ms cap of the doubling back-off (0: none)", 0),
    _bool("immediate", "queue only to peers whose connection is up"),
    _int(
        "maxmsgsize",
        -1,
        "largest message accepted, all frames (-1: any)",
        -1,
        INT64_MAX,
        rule="a 64-bit size, as libzmq stores it",
    ),
    _int("sndtimeo", -1, "ms send() waits before raising Again (-1: forever)", -1),
    _int("rcvtimeo", -1, "ms recv() waits before raising Again (-1: forever)", -1),
    _int(
        "backlog",
        100,
        "listen() backlog of tcp and ipc listeners",
        1,
        rule="the backlog argument of listen(), a C int",
    ),
    _int("handshake_ivl", 30000, "ms a peer has to finish its handshake (0: forever)", 0),
    _int(
        "handshake_max_command",
        64 * 1024,
        "largest command accepted during the handshake, in octets (-1: only maxmsgsize "
        "bounds it, as in libzmq)",
        1,
        INT64_MAX,
        also=(-1,),
        rule="a 64-bit size",
    ),
    _int(
        "zmtp_min_version",
        10,
        "the oldest ZMTP a peer may speak: 10, 20, 30 or 31 (1.0 ... 3.1; default 10, "
        "as libzmq: every version)",
        10,
        10,
        also=(20, 30, 31),
        rule="a ZMTP version written as 10, 20, 30 or 31",
    ),
    _bool("ipv6", "let tcp endpoints use IPv6 (and '*' bind to '::')"),
    _bool("plain_server", "act as the PLAIN server (RFC 24)"),
    _bytes(
        "plain_username",
        "PLAIN client user name; setting it selects PLAIN",
        max_len=255,
        rule="RFC 24: one octet of length",
    ),
    _bytes(
        "plain_password",
        "PLAIN client password",
        max_len=255,
        rule="RFC 24: one octet of length",
    ),
    _bytes(
        "zap_domain",
        "authentication domain (RFC 27)",
        max_len=255,
        rule="libzmq's limit",
    ),
    _bool("curve_server", "act as the CURVE server (RFC 26)"),
    _bytes("curve_publickey", "our long-term CURVE public key (Z85 or 32 raw)", check=_curve_key),
    _bytes("curve_secretkey", "our long-term CURVE secret key (Z85 or 32 raw)", check=_curve_key),
    _bytes(
        "curve_serverkey",
        "the server's public key; selects CURVE as a client",
        check=_curve_key,
    ),
    OptionSpec(
        "last_endpoint",
        int(SocketOption.LAST_ENDPOINT),
        "",
        str,
        "the endpoint last bound or connected",
        readonly=True,
    ),
    # Request-reply (RFC 28), with libzmq's semantics.
    _bool("req_relaxed", "REQ may send a new request before the reply"),
    _bool("req_correlate", "REQ prefixes requests with an id, checks replies"),
    _bool("router_mandatory", "ROUTER raises on unroutable sends"),
    _bool("router_handover", "a duplicate routing id takes over the old one"),
    _bytes(
        "connect_routing_id",
        "ROUTER id for the peer of the next connect()",
        max_len=255,
        rule="RFC 23: an Identity property is at most 255 octets",
        check=_routing_id,
    ),
    _bool("probe_router", "send an empty message to every new peer"),
    OptionSpec(
        "stream_notify",
        _number("stream_notify"),
        True,
        bool,
        "STREAM: an empty message from a peer when it connects and disconnects",
    ),
    # Publish-subscribe (RFC 29), with libzmq's semantics.
    _bool("xpub_verbose", "XPUB reports every subscription, not only new ones"),
    _bool("xpub_verbose_unsubscribe", "XPUB reports every (un)subscription"),
    _bool("xpub_manual", "XPUB applies subscriptions only via subscribe()"),
    _bytes("xpub_welcome_msg", "message XPUB sends to each new subscriber"),
    _bool("xpub_nodrop", "(X)PUB waits at a full subscriber, not drop"),
    _bool("conflate", "keep only the newest incoming message per peer"),
    # Resilience (libzmq's names and units, ZMTP 3.1 heartbeats per RFC 37).
    _int("heartbeat_ivl", 0, "ms between PINGs to each peer (0: none)", 0),
    _int(
        "heartbeat_timeout",
        -1,
        "ms without traffic after a PING before dropping the peer (-1: heartbeat_ivl)",
        -1,
    ),
    _int(
        "heartbeat_ttl",
        0,
        "ms the peer should wait for our traffic (in PING)",
        0,
        6553599,
        rule="RFC 37: a PING carries it in 16 bits of tenths of a second",
    ),
    _int("maxmsgparts", -1, "most frames in one incoming message (-1: any)", -1),
    _int(
        "tcp_keepalive",
        -1,
        "SO_KEEPALIVE: 1 on, 0 off, -1 system default",
        -1,
        1,
        rule="libzmq's values",
    ),
    _int(
        "tcp_keepalive_idle",
        -1,
        "s idle before keepalive probes (-1: system default)",
        1,
        32767,
        also=(-1,),
        rule="Linux's range of TCP_KEEPIDLE; -1: the system's default",
    ),
    _int(
        "tcp_keepalive_intvl",
        -1,
        "s between keepalive probes (-1: system default)",
        1,
        32767,
        also=(-1,),
        rule="Linux's range of TCP_KEEPINTVL; -1: the system's default",
    ),
    _int(
        "tcp_keepalive_cnt",
        -1,
        "keepalive probes before giving up (-1: system default)",
        1,
        127,
        also=(-1,),
        rule="Linux's range of TCP_KEEPCNT; -1: the system's default",
    ),
    _int(
        "tcp_maxrt",
        0,
        "ms unacked data may wait (TCP_USER_TIMEOUT; 0: system default)",
        0,
        rule="TCP_USER_TIMEOUT, a C int",
    ),
]

#: Every option a socket stores, by name.
OPTIONS: dict[str, OptionSpec] = {spec.name: spec for spec in _SPECS}

_TOPIC_RULE = "RFC 29: a subscription is a prefix of octets"

#: Options the socket answers (read-only) or acts on (write-only) itself; see the
#: module docstring. ``Options`` checks their values but never stores them.
SOCKET_LEVEL: dict[str, OptionSpec] = {
    spec.name: spec
    for spec in [
        OptionSpec(
            "subscribe",
            int(SocketOption.SUBSCRIBE),
            b"",
            bytes,
            "add a subscription (SUB, XSUB): the topic is a message prefix",
            rule=_TOPIC_RULE,
            socket_level=True,
            writeonly=True,
        ),
        OptionSpec(
            "unsubscribe",
            int(SocketOption.UNSUBSCRIBE),
            b"",
            bytes,
            "remove one subscription added with subscribe",
            rule=_TOPIC_RULE,
            socket_level=True,
            writeonly=True,
        ),
        OptionSpec(
            "rcvmore",
            int(SocketOption.RCVMORE),
            False,
            bool,
            "whether frames of the message being received remain",
            readonly=True,
            socket_level=True,
        ),
        OptionSpec(
            "events",
            int(SocketOption.EVENTS),
            0,
            int,
            "POLLIN if a message can be received now, POLLOUT if one can be sent",
            readonly=True,
            socket_level=True,
        ),
        OptionSpec(
            "type",
            int(SocketOption.TYPE),
            0,
            int,
            "the socket type",
            readonly=True,
            socket_level=True,
        ),
    ]
}

#: ``hwm`` sets both high-water marks (pyzmq's ``zmq.HWM``).
_HWM = OptionSpec(
    "hwm",
    int(SocketOption.HWM),
    1000,
    int,
    "sndhwm and rcvhwm at once (reads back sndhwm)",
    sets=("sndhwm", "rcvhwm"),
)

#: Other names pyzmq users know, and pyzmq's aliases.
ALIASES = {
    "identity": "routing_id",
    "connect_rid": "connect_routing_id",
    "xpub_verboser": "xpub_verbose_unsubscribe",
    "delay_attach_on_connect": "immediate",
    "fail_unroutable": "router_mandatory",
    "router_behavior": "router_mandatory",
}

#: Why an option pyzmq has does not apply to zmtp at all (rather than "not yet").
_NOT_APPLICABLE = {
    "fd": "zmtp sockets have no file descriptor to poll: await recv(), or use a poller "
    "or a nursery with one task per socket",
}

_ALL: dict[str, OptionSpec] = {**OPTIONS, **SOCKET_LEVEL, "hwm": _HWM}

#: pyzmq's option names zmtp knows of but does not implement, with their numbers.
UNSUPPORTED: dict[str, int] = {
    name.lower(): int(member)
    for name, member in SocketOption.__members__.items()
    if name == member.name and ALIASES.get(name.lower(), name.lower()) not in _ALL
}

#: libzmq's (and pyzmq's) option numbers, for ``setsockopt(zmq.SNDHWM, 10)``.
BY_NUMBER: dict[int, str] = {
    **{number: name for name, number in UNSUPPORTED.items()},
    **{spec.number: spec.name for spec in _ALL.values() if spec.number is not None},
}


def check_topic(topic: object) -> bytes:
    """A subscription topic as bytes (``str`` is encoded as UTF-8); anything else, an
    ``int`` say, raises :class:`ZMTPValueError` naming the rule."""
    value: bytes = SOCKET_LEVEL["subscribe"].coerce(topic)
    return value


class Options:
    """Validated option values of one socket.

    ``Options(sndhwm=10)``; ``get`` and ``set`` take a name (any case, pyzmq's aliases
    included) or pyzmq's option number. Socket-level options (:data:`SOCKET_LEVEL`)
    are the socket's business: ``get``/``set`` refuse them, :meth:`check` validates.
    """

    def __init__(self, **values: Any) -> None:
        self._values: dict[str, Any] = {name: spec.default for name, spec in OPTIONS.items()}
        for name, value in values.items():
            self.set(name, value)

    @staticmethod
    def canonical(name: str | int) -> str:
        """The option's canonical name: ``"SNDHWM"``, ``zmtp.SNDHWM`` and 23 all give
        ``"sndhwm"``; ``"identity"`` gives ``"routing_id"``. An unknown name comes back
        lower-cased (the next :meth:`spec` refuses it); an unknown number raises."""
        if isinstance(name, int):
            try:
                return BY_NUMBER[name]
            except KeyError:
                raise ZMTPValueError(f"unknown socket option number {name}") from None
        name = name.lower()
        return ALIASES.get(name, name)

    @staticmethod
    def spec(name: str | int) -> OptionSpec:
        """The declaration of an option, by any of its names or its number.

        Raises :class:`ZMTPValueError` for an unknown option, and for one of pyzmq's
        options that zmtp does not support, saying so.
        """
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise ZMTPValueError(f"a socket option is a name or a number, got {_show(name)}")
        canonical = Options.canonical(name)
        spec = _ALL.get(canonical)
        if spec is not None:
            return spec
        number = UNSUPPORTED.get(canonical)
        if number is not None:
            why = _NOT_APPLICABLE.get(canonical)
            if why is not None:
                raise ZMTPValueError(f"socket option {canonical!r} ({number}): {why}")
            raise ZMTPValueError(
                f"zmtp does not support socket option {canonical!r} "
                f"({canonical.upper()}, {number}) yet"
            )
        raise ZMTPValueError(f"unknown socket option {canonical!r}")

    @staticmethod
    def known(name: str | int) -> bool:
        """Whether zmtp implements the option (stored or socket-level)."""
        try:
            Options.spec(name)
        except ZMTPValueError:
            return False
        return True

    @staticmethod
    def check(name: str | int, value: Any) -> Any:
        """``value`` as the option stores it, or :class:`ZMTPValueError`; stores
        nothing. The socket checks ``subscribe`` topics this way."""
        return Options.spec(name).coerce(value)

    def get(self, name: str | int) -> Any:
        try:
            return self._values[name]  # type: ignore[index]  # the common case: a canonical name
        except (KeyError, TypeError):
            pass
        spec = self.spec(name)
        if spec.sets:
            return self._values[spec.sets[0]]
        if spec.socket_level:
            raise ZMTPValueError(self._socket_level(spec))
        return self._values[spec.name]

    def set(self, name: str | int, value: Any) -> None:
        spec = self.spec(name)
        if spec.readonly:
            raise ZMTPValueError(f"socket option {spec.name!r} is read-only")
        if spec.socket_level:
            raise ZMTPValueError(self._socket_level(spec))
        value = spec.coerce(value)
        if spec.sets:
            for target in spec.sets:
                self._values[target] = value
            return
        self._values[spec.name] = value

    @staticmethod
    def _socket_level(spec: OptionSpec) -> str:
        if spec.writeonly:
            return f"socket option {spec.name!r} is write-only: the socket acts on it"
        return f"socket option {spec.name!r} is the socket's state: ask the socket"

    def set_internal(self, name: str, value: Any) -> None:
        """Set a read-only value (the socket reports ``last_endpoint`` this way)."""
        self._values[name] = value
