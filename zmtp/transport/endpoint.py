"""Endpoint strings: ``tcp://host:port``, ``ipc://path``, ``inproc://name``.

Parsing is strict and says what is wrong, because an endpoint typo is the most common
way to get a socket that silently never connects. Supported forms:

=====================  ===========================================================
``tcp://H:P``          H a host name, IPv4 address, ``[IPv6]`` address, or ``*``
                       (bind only: every interface), or for a bind a network
                       interface name (``lo``, ``eth0``); P a port, or ``*`` / ``0``
                       (bind only: a free port, reported by ``bind()``)
``tcp://S;H:P``        (connect only) connect from source address S (``host`` or
                       ``host:port``, port ``*``/``0`` for any), as libzmq allows
``ipc:///abs/path``    a Unix socket file; ``ipc://@name`` a Linux abstract socket;
``ipc://*``            (bind only) a fresh socket file in the temporary directory
``inproc://name``      sockets of one :class:`zmtp.Context`
=====================  ===========================================================

Sans-IO: nothing here resolves names or touches sockets.
"""

from __future__ import annotations

import dataclasses

from zmtp.errors import ZMTPValueError

__all__ = ["Endpoint", "parse_endpoint"]

TRANSPORTS = ("tcp", "ipc", "inproc")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    transport: str
    address: str  # everything after "://"
    host: str = ""  # tcp: without brackets; "*" for every interface
    port: int = 0  # tcp: 0 means "pick a free port" (bind only)
    #: tcp connect: the local address to connect from ("" none), and its port (0: any).
    source_host: str = ""
    source_port: int = 0

    def __str__(self) -> str:
        return f"{self.transport}://{self.address}"


def format_tcp(host: str, port: int) -> str:
    """``tcp://host:port`` with brackets around IPv6 literals."""
    if ":" in host:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"


def parse_endpoint(endpoint: str, *, bind: bool) -> Endpoint:
    """Parse and validate ``endpoint`` for a bind (``bind=True``) or a connect."""
    if not isinstance(endpoint, str):
        raise ZMTPValueError(f"endpoint must be a str, got {endpoint!r}")
    transport, sep, address = endpoint.partition("://")
    if not sep:
        raise ZMTPValueError(
            f"endpoint {endpoint!r} has no transport: write e.g. 'tcp://127.0.0.1:5555'"
        )
    if transport not in TRANSPORTS:
        raise ZMTPValueError(
            f"endpoint {endpoint!r}: unknown transport {transport!r} "
            f"(supported: {', '.join(TRANSPORTS)})"
        )
    if not address:
        raise ZMTPValueError(f"endpoint {endpoint!r} has an empty address")
    if transport == "tcp":
        return _parse_tcp(endpoint, address, bind)
    if transport == "ipc" and address == "*" and not bind:
        raise ZMTPValueError(f"endpoint {endpoint!r}: 'ipc://*' is for bind only")
    return Endpoint(transport, address)


def _parse_tcp(endpoint: str, address: str, bind: bool) -> Endpoint:
    source_host, source_port = "", 0
    target = address
    if ";" in address:
        if bind:
            raise ZMTPValueError(
                f"endpoint {endpoint!r}: a source address ('src;dst') is for connect only"
            )
        source, _, target = address.partition(";")
        source_host, source_port = _parse_source(endpoint, source)
    host, port = _host_port(endpoint, target, bind)
    return Endpoint("tcp", address, host, port, source_host, source_port)


def _parse_source(endpoint: str, source: str) -> tuple[str, int]:
    """libzmq's ``src`` of ``tcp://src;dst``: a host, or host:port (port * or 0: any)."""
    if not source:
        raise ZMTPValueError(f"endpoint {endpoint!r}: empty source address before ';'")
    if source.startswith("["):
        host, close, rest = source[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            raise ZMTPValueError(f"endpoint {endpoint!r}: write an IPv6 source as '[addr]:port'")
        port_s = rest[1:]
    elif source.count(":") == 1:
        host, _, port_s = source.partition(":")
    else:
        host, port_s = source, ""
    if port_s in ("", "*", "0"):
        return host, 0
    try:
        port = int(port_s)
    except ValueError:
        raise ZMTPValueError(
            f"endpoint {endpoint!r}: source port {port_s!r} is not a number"
        ) from None
    if not 0 < port < 65536:
        raise ZMTPValueError(f"endpoint {endpoint!r}: source port {port} is out of range")
    return host, port


def _host_port(endpoint: str, address: str, bind: bool) -> tuple[str, int]:
    if address.startswith("["):
        host, close, rest = address[1:].partition("]")
        if not close or not rest.startswith(":"):
            raise ZMTPValueError(f"endpoint {endpoint!r}: write IPv6 as 'tcp://[addr]:port'")
        port_s = rest[1:]
    else:
        host, colon, port_s = address.rpartition(":")
        if not colon:
            raise ZMTPValueError(f"endpoint {endpoint!r} has no port: write 'host:port'")
        if ":" in host:
            raise ZMTPValueError(f"endpoint {endpoint!r}: write IPv6 as 'tcp://[addr]:port'")
    if not host:
        raise ZMTPValueError(f"endpoint {endpoint!r} has no host")
    if host == "*" and not bind:
        raise ZMTPValueError(f"endpoint {endpoint!r}: '*' as a host is for bind only")
    if port_s in ("*", "0"):
        if not bind:
            raise ZMTPValueError(f"endpoint {endpoint!r}: a connect needs a real port")
        port = 0
    else:
        try:
            port = int(port_s)
        except ValueError:
            raise ZMTPValueError(
                f"endpoint {endpoint!r}: port {port_s!r} is not a number"
            ) from None
        if not 0 < port < 65536:
            raise ZMTPValueError(f"endpoint {endpoint!r}: port {port} is out of range 1..65535")
    return host, port
