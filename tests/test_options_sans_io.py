"""Socket options checked when set, sans-IO: every option of the table, its range and its
type (libzmq's ranges, the Linux kernel's where libzmq hands the value to it), pyzmq's
names, numbers and aliases, the options the socket answers itself, and the typed
attributes generated from the table.

A refused value raises ZMTPValueError naming the option and the rule, and changes
nothing; an accepted value reads back as set (in its stored form).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

import zmtp
from zmtp import _options_api_gen
from zmtp._options_api import OptionsMixin
from zmtp.options import (
    _HWM,
    ALIASES,
    BY_NUMBER,
    INT_MAX,
    OPTIONS,
    SOCKET_LEVEL,
    UNSUPPORTED,
    Options,
    OptionSpec,
    check_topic,
)
from zmtp.wire.z85 import encode as z85

#: Every option a user can set on a socket's options (hwm included).
SETTABLE = {name: spec for name, spec in {**OPTIONS, "hwm": _HWM}.items() if not spec.readonly}
CURVE_KEYS = {"curve_publickey", "curve_secretkey", "curve_serverkey"}


def _snapshot(options: Options) -> dict[str, Any]:
    return {name: options.get(name) for name in OPTIONS}


# ---------------------------------------------------------------------------------------
# Values each option accepts, and values it must refuse, drawn from its declaration


def valid_values(spec: OptionSpec) -> st.SearchStrategy[Any]:
    if spec.kind is bool:
        return st.sampled_from([True, False, 0, 1])
    if spec.kind is int:
        ints = st.integers(spec.lo, spec.hi)
        return st.one_of(ints, st.sampled_from(spec.also)) if spec.also else ints
    assert spec.kind is bytes, spec
    if spec.name in CURVE_KEYS:
        raw = st.binary(min_size=32, max_size=32)
        return st.one_of(st.just(b""), raw, raw.map(z85))
    limit = spec.max_len if spec.max_len is not None else 300
    raw = st.binary(max_size=limit)
    text = st.text(max_size=limit // 4)
    ok = st.one_of(raw, st.builds(bytearray, raw), text)
    if spec.check is not None:
        return ok.filter(
            lambda v: spec.check(v.encode() if isinstance(v, str) else bytes(v)) is None
        )  # type: ignore[misc]
    return ok


_WRONG_TYPES = st.one_of(
    st.none(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(),
    st.just(object()),
)


def invalid_values(spec: OptionSpec) -> st.SearchStrategy[Any]:
    if spec.kind is bool:
        ints = st.integers().filter(lambda v: v not in (0, 1))
        return st.one_of(ints, st.text(), st.binary(), _WRONG_TYPES)
    if spec.kind is int:
        below = st.integers(max_value=spec.lo - 1).filter(lambda v: v not in spec.also)
        above = st.integers(min_value=spec.hi + 1, max_value=spec.hi + 2**200)
        # bool is refused where an int is asked for: True is no number of milliseconds.
        return st.one_of(below, above, st.booleans(), st.text(), st.binary(), _WRONG_TYPES)
    assert spec.kind is bytes, spec
    wrong = [st.integers(), st.booleans(), _WRONG_TYPES]
    if spec.max_len is not None:
        wrong.append(st.binary(min_size=spec.max_len + 1, max_size=spec.max_len + 64))
    if spec.name in ("routing_id", "connect_routing_id"):
        wrong.append(st.binary(max_size=254).map(lambda v: b"\x00" + v))
    if spec.name in CURVE_KEYS:
        wrong.append(st.binary(max_size=64).filter(lambda v: len(v) not in (0, 32, 40)))
        wrong.append(st.just(b"~" * 40))  # 40 characters, not Z85
    return st.one_of(wrong)


@given(st.data())
def test_every_option_refuses_out_of_range_and_wrong_typed_values_by_name(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(SETTABLE)), label="option")
    spec = SETTABLE[name]
    value = data.draw(invalid_values(spec), label="value")
    options = Options()
    before = _snapshot(options)
    with pytest.raises(zmtp.ZMTPValueError, match=re.escape(repr(name))):
        options.set(name, value)
    with pytest.raises(zmtp.ZMTPValueError, match=re.escape(repr(name))):
        Options(**{name: value})
    assert _snapshot(options) == before, "a refused value changed the options"


@given(st.data())
def test_every_option_reads_back_an_accepted_value(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(SETTABLE)), label="option")
    spec = SETTABLE[name]
    value = data.draw(valid_values(spec), label="value")
    options = Options()
    options.set(name, value)
    expected: Any = value
    if spec.kind is bool:
        expected = bool(value)
    elif spec.kind is bytes:
        expected = value.encode() if isinstance(value, str) else bytes(value)
    got = options.get(name)
    assert got == expected and type(got) is type(expected)
    assert Options(**{name: value}).get(name) == expected


def test_each_range_is_stated_in_the_error() -> None:
    cases = {
        ("sndhwm", 2**70): ">= 0 and <= 2147483647",
        ("linger", -5): ">= -1",
        ("rcvtimeo", -7): ">= -1",
        ("backlog", 2**40): "listen()",
        ("tcp_keepalive_idle", -5): "Linux's range of TCP_KEEPIDLE",
        ("tcp_keepalive_idle", 40000): "-1 or in 1..32767",
        ("tcp_keepalive_cnt", 128): "-1 or in 1..127",
        ("tcp_maxrt", 2**31): "TCP_USER_TIMEOUT",
        ("heartbeat_ttl", 6553600): "16 bits of tenths of a second",
        ("maxmsgsize", 2**63): "64-bit",
        ("routing_id", b"x" * 256): "at most 255 octets",
        ("routing_id", b"\x00id"): "zero octet",
        ("immediate", 2): "takes a bool",
        ("linger", True): "takes an int",
        ("zap_domain", 5): "takes bytes",
    }
    for (name, value), rule in cases.items():
        with pytest.raises(zmtp.ZMTPValueError, match=re.escape(rule)):
            Options(**{name: value})


def test_pyzmqs_accepted_forms_work() -> None:
    options = Options(routing_id="text", immediate=1, sndhwm=zmtp.POLLOUT)
    assert options.get("routing_id") == b"text"
    assert options.get("immediate") is True
    assert options.get("sndhwm") == 2 and type(options.get("sndhwm")) is int


# ---------------------------------------------------------------------------------------
# Names, numbers and aliases


def test_options_are_found_by_name_any_case_by_number_and_by_constant() -> None:
    options = Options(sndhwm=7)
    for key in ("sndhwm", "SNDHWM", zmtp.SNDHWM, 23, zmq.SNDHWM):
        assert options.get(key) == 7, key
    options.set(zmtp.IDENTITY, b"me")
    assert options.get("identity") == options.get(zmtp.ROUTING_ID) == b"me"
    options.set("hwm", 3)
    assert (options.get("sndhwm"), options.get("rcvhwm"), options.get(zmtp.HWM)) == (3, 3, 3)


def test_every_pyzmq_option_number_has_a_canonical_name() -> None:
    for member in zmq.SocketOption:
        assert Options.canonical(int(member)) == BY_NUMBER[int(member)]
    for alias, target in ALIASES.items():
        assert Options.spec(alias).name == target


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_an_option_zmtp_does_not_support_is_refused_by_name(name: str) -> None:
    options = Options()
    says = "no file descriptor" if name == "fd" else f"does not support socket option {name!r}"
    for key in (name, name.upper(), UNSUPPORTED[name]):
        with pytest.raises(zmtp.ZMTPValueError, match=re.escape(says)):
            options.set(key, 1)
        with pytest.raises(zmtp.ZMTPValueError, match=re.escape(says)):
            options.get(key)
    assert not Options.known(name)


def test_an_unknown_option_is_refused_by_name_or_number() -> None:
    with pytest.raises(zmtp.ZMTPValueError, match="'sndhmw'"):
        Options(sndhmw=1)
    with pytest.raises(zmtp.ZMTPValueError, match="number 9999"):
        Options().get(9999)
    with pytest.raises(zmtp.ZMTPValueError, match="a name or a number"):
        Options().get(True)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Options the socket answers itself


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (zmtp.RCVMORE, "rcvmore"),
        ("rcvmore", "rcvmore"),
        (13, "rcvmore"),
        (zmtp.EVENTS, "events"),
        (zmtp.TYPE, "type"),
        (zmtp.SUBSCRIBE, "subscribe"),
        ("UNSUBSCRIBE", "unsubscribe"),
    ],
)
def test_socket_level_options_resolve_and_are_left_to_the_socket(key: Any, name: str) -> None:
    spec = Options.spec(key)
    assert spec.name == name and spec.socket_level
    assert Options.known(key)
    options = Options()
    with pytest.raises(zmtp.ZMTPValueError, match=re.escape(repr(name))):
        options.get(key)
    with pytest.raises(zmtp.ZMTPValueError, match=re.escape(repr(name))):
        options.set(key, b"")


def test_a_subscription_topic_is_bytes_or_text_never_a_number() -> None:
    assert check_topic(b"weather") == b"weather"
    assert check_topic("météo") == "météo".encode()
    assert check_topic(bytearray(b"x")) == b"x"
    assert Options.check(zmtp.SUBSCRIBE, "t") == b"t"
    for bad in (5, None, 1.5, ["a"]):
        with pytest.raises(zmtp.ZMTPValueError, match="'subscribe' takes bytes"):
            check_topic(bad)


# ---------------------------------------------------------------------------------------
# The typed attributes (zmtp._options_api)


def test_the_generated_option_attributes_match_the_option_table() -> None:
    path = Path(_options_api_gen.__file__).with_name("_options_api.py")
    assert path.read_text(encoding="utf-8") == _options_api_gen.render(), (
        "zmtp/_options_api.py is stale: run python -m zmtp._options_api_gen"
    )


class _Holder(OptionsMixin):
    __slots__ = ("options", "seen")

    def __init__(self) -> None:
        self.options = Options()
        self.seen: list[str] = []

    def _set_option(self, name: str, value: object) -> None:
        self.seen.append(name)
        super()._set_option(name, value)


def test_every_option_is_an_attribute_in_lower_and_upper_case_and_under_its_aliases() -> None:
    holder = _Holder()
    names = {*OPTIONS, "hwm", *ALIASES}
    for name in names:
        for attr in (name, name.upper()):
            assert getattr(holder, attr) == holder.options.get(name), attr
    for name in SOCKET_LEVEL:
        assert not hasattr(_Holder, name), f"{name} belongs to the socket"
    holder.RCVTIMEO = 2000
    holder.identity = "me"
    holder.immediate = 1
    assert (holder.rcvtimeo, holder.routing_id, holder.IMMEDIATE) == (2000, b"me", True)
    assert holder.seen == ["rcvtimeo", "routing_id", "immediate"]
    with pytest.raises(zmtp.ZMTPValueError, match="'sndhwm'"):
        holder.sndhwm = -1
    with pytest.raises(AttributeError, match="read-only"):
        holder.last_endpoint = "tcp://x:1"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        holder.sndhmw = 1  # type: ignore[attr-defined]
    assert _Holder.linger.__doc__ == OPTIONS["linger"].doc


# ---------------------------------------------------------------------------------------
# Against libzmq: what zmtp accepts, libzmq accepts too (save the differences below)

#: Values zmtp accepts that libzmq's setsockopt refuses, on purpose.
_DELIBERATE = {
    # libzmq reports -1 ("use heartbeat_ivl") as the default but refuses to be told so.
    ("heartbeat_timeout", -1),
}


def _socket_type_for(name: str) -> int:
    """A libzmq socket type that has the option (libzmq refuses a type's own options
    on other types)."""
    for prefix, kind in (("req_", zmq.REQ), ("router_", zmq.ROUTER), ("xpub_", zmq.XPUB)):
        if name.startswith(prefix):
            return kind
    if name == "stream_notify":
        return zmq.STREAM
    return zmq.ROUTER if name in ("probe_router", "connect_routing_id") else zmq.DEALER


def _probes(spec: OptionSpec) -> list[Any]:
    if spec.kind is bool:
        return [False, True]
    if spec.kind is int:
        values = {spec.lo, spec.hi, *spec.also}
        return sorted(v for v in values if -(2**31) <= v <= INT_MAX)
    if spec.max_len is not None and spec.check is None:
        return [b"a", b"a" * spec.max_len]
    return []


@pytest.mark.interop
def test_every_value_zmtp_accepts_libzmq_accepts() -> None:
    ctx = zmq.Context()
    try:
        for name, spec in OPTIONS.items():
            if spec.number is None or spec.readonly:
                continue
            for value in _probes(spec):
                Options(**{name: value})
                if (name, value) in _DELIBERATE:
                    continue
                sock = ctx.socket(_socket_type_for(name))
                try:
                    sock.setsockopt(spec.number, value)
                except zmq.ZMQError as exc:  # pragma: no cover - a failure's report
                    raise AssertionError(f"libzmq refuses {name}={value!r}: {exc}") from None
                finally:
                    sock.close(linger=0)
    finally:
        ctx.term()


@pytest.mark.interop
def test_the_defaults_are_libzmqs() -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        options = Options()
        for name, spec in OPTIONS.items():
            if spec.number is None or spec.kind not in (int, bool):
                continue
            try:
                theirs = sock.getsockopt(spec.number)
            except zmq.ZMQError:
                continue  # write-only in libzmq (the xpub_* options, say)
            assert options.get(name) == theirs, name
    finally:
        sock.close(linger=0)
        ctx.term()


_TYPED_SAMPLE = """
from zmtp._options_api import OptionsMixin
from zmtp.options import Options


class Sock(OptionsMixin):
    __slots__ = ("options",)

    def __init__(self) -> None:
        self.options = Options()


sock = Sock()
hwm: int = sock.sndhwm
flag: bool = sock.immediate
ident: bytes = sock.routing_id
where: str = sock.last_endpoint
sock.sndhwm = 10
sock.RCVTIMEO = 2000
sock.immediate = 1
sock.routing_id = "text"
sock.sndhwm = "ten"  # E1
sock.last_endpoint = "tcp://x:1"  # E2
sock.sndhmw = 3  # E3
"""


def test_option_attributes_type_check_in_users_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy (a test dependency) is not installed")
    sample = tmp_path / "sample.py"
    sample.write_text(_TYPED_SAMPLE, encoding="utf-8")
    monkeypatch.setenv("MYPYPATH", str(Path(zmtp.__file__).parents[1]))
    out, err, _ = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(sample)]
    )
    lines = _TYPED_SAMPLE.splitlines()
    flagged = {int(m.group(1)) for m in re.finditer(r"sample\.py:(\d+): error", out)}
    expected = {i + 1 for i, line in enumerate(lines) if "# E" in line}
    assert flagged == expected, out + err
