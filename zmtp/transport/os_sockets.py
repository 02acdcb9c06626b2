"""Operating-system sockets for tcp:// and ipc://, shared by every engine.

Engines differ in how they *wait* (trio's ``wait_readable``, asyncio's ``add_reader``,
a thread); what they do with the OS is the same, and lives here: open a listening
socket for an endpoint, start a non-blocking connect, apply the ``tcp_*`` options to a
new connection, and clear a stale ipc socket file. Nothing here blocks, except name
resolution, which engines do with their own resolver before calling in.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket as _socket
import tempfile
from typing import Any

from zmtp.errors import BindError
from zmtp.options import Options
from zmtp.transport.endpoint import Endpoint, format_tcp

__all__ = [
    "CONNECT_PENDING",
    "bind_address",
    "bind_error",
    "connect_source",
    "connect_targets",
    "interface_address",
    "ipc_target",
    "open_ipc_listener",
    "open_tcp_listener",
    "remove_stale_ipc",
    "resolve_numeric",
    "start_connect",
    "tune_tcp",
]

#: What a non-blocking connect answers while it is still in progress.
CONNECT_PENDING = frozenset({errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK})


def bind_address(ep: Endpoint, options: Options) -> tuple[str, int, Any]:
    """``(host, port, family)`` to resolve for binding a tcp endpoint: ``*`` is every
    interface (IPv6 and IPv4 when ``ipv6`` is set), a network interface's name is its
    address (libzmq looks interface names up first)."""
    host = ep.host
    ipv6 = options.get("ipv6")
    if host == "*":
        host = "::" if ipv6 else "0.0.0.0"
    else:
        host = interface_address(host, ipv6=ipv6) or host
    family = _socket.AF_UNSPEC if ipv6 else _socket.AF_INET
    if ":" in host:
        family = _socket.AF_INET6
    return host, ep.port, family


def resolve_numeric(host: str, port: int, family: Any, flags: int = 0) -> list[Any] | None:
    """``getaddrinfo`` for a numeric host (an IP address literal), which needs no name
    service and cannot block; None for a host name, which the engine resolves with its
    own (non-blocking) resolver."""
    try:
        return _socket.getaddrinfo(
            host, port, family, _socket.SOCK_STREAM, 0, flags | _socket.AI_NUMERICHOST
        )
    except _socket.gaierror:
        return None


def open_tcp_listener(info: tuple[Any, ...], host: str, backlog: int) -> tuple[_socket.socket, str]:
    """A listening, non-blocking tcp socket for one ``getaddrinfo`` result, and the
    endpoint it is bound to (with the port the OS picked for ``*``)."""
    fam, stype, proto, _, addr = info
    lsock = _socket.socket(fam, stype, proto)
    try:
        lsock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if fam == _socket.AF_INET6 and host == "::":
            lsock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 0)
        lsock.bind(addr)
        lsock.listen(backlog)
        lsock.setblocking(False)
    except BaseException:
        lsock.close()
        raise
    bound_host, bound_port = lsock.getsockname()[:2]
    return lsock, format_tcp(bound_host, bound_port)


def open_ipc_listener(address: str, backlog: int) -> tuple[_socket.socket, str, str | None]:
    """A listening, non-blocking Unix socket for an ipc address (``*``: a fresh file in
    the temporary directory; ``@name``: Linux's abstract namespace), the endpoint, and
    the socket file to unlink when done (None for an abstract name)."""
    if address == "*":
        address = os.path.join(tempfile.mkdtemp(prefix="zmtp-"), "socket")
    sock_addr: str | bytes = address
    path: str | None = address
    if address.startswith("@"):
        sock_addr = b"\0" + address[1:].encode()
        path = None
    else:
        remove_stale_ipc(address)
    lsock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        lsock.bind(sock_addr)
        lsock.listen(backlog)
        lsock.setblocking(False)
    except BaseException:
        lsock.close()
        raise
    return lsock, f"ipc://{address}", path


def interface_address(name: str, *, ipv6: bool = False) -> str | None:
    """The address of the network interface called ``name`` (``lo``, ``eth0``), or None
    if no interface has that name. IPv4 first; with ``ipv6``, an IPv6 address when the
    interface has no IPv4 one. (Linux; elsewhere only names that are addresses work.)"""
    try:
        names = {n for _, n in _socket.if_nameindex()}
    except OSError:
        return None
    if name not in names:
        return None
    try:
        import fcntl
        import struct

        with _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM) as probe:
            siocgifaddr = 0x8915  # Linux <linux/sockios.h>
            packed = fcntl.ioctl(probe.fileno(), siocgifaddr, struct.pack("256s", name.encode()))
            return _socket.inet_ntoa(packed[20:24])
    except OSError:
        pass
    if ipv6:
        try:
            with open("/proc/net/if_inet6") as table:
                for line in table:
                    fields = line.split()
                    if len(fields) >= 6 and fields[5] == name:
                        raw = bytes.fromhex(fields[0])
                        return _socket.inet_ntop(_socket.AF_INET6, raw)
        except OSError:
            pass
    return None


def remove_stale_ipc(path: str) -> None:
    """Remove a socket file left by a dead process; refuse one that is in use."""
    if not os.path.exists(path):
        return
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.settimeout(0.2)
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    except OSError:
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{path} is in use by a live listener")


def ipc_target(address: str) -> str | bytes:
    """The ``connect`` address of an ipc endpoint (abstract names start with NUL)."""
    return b"\0" + address[1:].encode() if address.startswith("@") else address


def connect_targets(
    ep: Endpoint, infos: list[tuple[Any, ...]]
) -> list[tuple[Any, Any, tuple[str, int] | None]]:
    """``(family, address, source)`` triples to try, in order, for a resolved tcp
    endpoint (``infos`` from ``getaddrinfo``) or an ipc one (``infos`` unused); each
    is :func:`start_connect`'s arguments. With a source address (``tcp://src;dst``)
    only destinations of the source's family are tried."""
    if ep.transport != "tcp":
        return [(_socket.AF_UNIX, ipc_target(ep.address), None)]
    source = connect_source(ep)
    if source is not None:
        v6 = ":" in source[0]
        infos = [i for i in infos if (i[0] == _socket.AF_INET6) == v6] or infos
    return [(info[0], info[4], source) for info in infos]


def connect_source(ep: Endpoint) -> tuple[str, int] | None:
    """The local ``(address, port)`` a ``tcp://src;dst`` connect binds first, or None."""
    if not ep.source_host:
        return None
    return interface_address(ep.source_host) or ep.source_host, ep.source_port


def start_connect(
    family: Any, addr: Any, source: tuple[str, int] | None = None
) -> tuple[_socket.socket, int]:
    """A non-blocking socket with its connect started, and the errno it answered
    (0: connected; one of :data:`CONNECT_PENDING`: wait for writability, then read
    ``SO_ERROR``; anything else: failed). ``source``: the local ``(host, port)`` to
    connect from (``tcp://src;dst``)."""
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if source is not None:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            sock.bind(source)
        err = sock.connect_ex(addr)
    except OSError as exc:  # e.g. an ipc path too long for the platform
        err = exc.errno or errno.EINVAL
    return sock, err


def tune_tcp(sock: _socket.socket, options: Options) -> None:
    """Apply ``TCP_NODELAY`` and the ``tcp_keepalive*`` / ``tcp_maxrt`` options to a new
    tcp connection. An OS that refuses a value raises ``OSError`` here: the engine
    then ends that connection only, reporting why."""
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    keepalive = options.get("tcp_keepalive")
    if keepalive >= 0:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, keepalive)
    if keepalive == 1:
        for name, const in (
            ("tcp_keepalive_idle", getattr(_socket, "TCP_KEEPIDLE", None)),
            ("tcp_keepalive_intvl", getattr(_socket, "TCP_KEEPINTVL", None)),
            ("tcp_keepalive_cnt", getattr(_socket, "TCP_KEEPCNT", None)),
        ):
            value = options.get(name)
            if value > 0 and const is not None:
                sock.setsockopt(_socket.IPPROTO_TCP, const, value)
    maxrt = options.get("tcp_maxrt")
    user_timeout = getattr(_socket, "TCP_USER_TIMEOUT", None)
    if maxrt > 0 and user_timeout is not None:
        sock.setsockopt(_socket.IPPROTO_TCP, user_timeout, maxrt)


def peer_address(sock: _socket.socket) -> str:
    """The peer's IP address (tcp), or "" (ipc): what a ZAP request calls Address."""
    if sock.family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            return str(sock.getpeername()[0])
        except OSError:
            return ""
    return ""


def bind_error(exc: OSError, endpoint: str) -> BindError:
    """The :class:`~zmtp.errors.BindError` for an OS error met binding ``endpoint``
    (a name that does not resolve is ``EADDRNOTAVAIL``, as libzmq reports it)."""
    if isinstance(exc, _socket.gaierror) or not exc.errno or exc.errno < 0:
        return BindError(
            errno.EADDRNOTAVAIL, f"cannot resolve the address ({exc})", endpoint=endpoint
        )
    return BindError(exc.errno, exc.strerror or str(exc), endpoint=endpoint)


def os_reason(exc: OSError) -> str:
    """An OS error as a monitor reason: its text and errno name."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")
