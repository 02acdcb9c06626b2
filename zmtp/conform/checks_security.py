"""Checks of the security mechanisms, run when the probe is given credentials:
PLAIN (RFC 24), CURVE (RFC 25/26) and the outcome of ZAP (RFC 27) as a client sees
it. The probe is always the client; the peer under test is the server.
"""

from __future__ import annotations

from zmtp.conform.model import Prerequisite, Verdict, check, failed, passed, warned
from zmtp.conform.probe import (
    Probe,
    describe,
    error_departure,
    error_reason,
    metadata_text,
    react,
)
from zmtp.errors import PeerError, ProtocolError
from zmtp.testing.peer import PeerClosed, RawPeer, Silence
from zmtp.wire.mechanisms import CurveClient, PlainClient


def _refused(p: Probe, peer: RawPeer, mechanism: object, what: str) -> Verdict:
    """Judge a handshake the server should refuse (a wrong password, an unknown key)."""
    try:
        peer.handshake(p.plays, mechanism=mechanism)  # type: ignore[arg-type]
    except PeerError as exc:
        frame = peer.handshake_frames[-1] if peer.handshake_frames else None
        from zmtp.testing.peer import Command, split_command

        if frame is not None:
            parts = split_command(frame.body)
            if parts is not None:
                cmd = Command(parts[0], parts[1], frame, parts[2])
                departure = error_departure(cmd)
                reason = error_reason(cmd)
                code = reason if reason in ("300", "400", "500") else ""
                seen = f"ERROR {reason!r} ({frame.hex()})"
                if departure:
                    return warned("a well-formed ERROR, then a close", seen, departure)
                if not code:
                    return warned(
                        "ERROR with a ZAP status code (300, 400 or 500)",
                        seen,
                        "libzmq sends the ZAP handler's status code (RFC 27) as the reason",
                    )
                return passed(seen)
        return passed(f"ERROR {exc.peer_reason!r}")
    except (PeerClosed, Silence, ProtocolError) as exc:
        return passed(f"refused: {describe(exc)}", "without ERROR: the client cannot tell why")
    finally:
        peer.close()
    return warned(
        f"a refusal of {what}",
        f"admitted ({metadata_text(peer.peer_metadata or {})})",  # type: ignore[arg-type]
        "the server's ZAP handler admits anyone (or none is installed)",
    )


# =======================================================================================
# PLAIN (RFC 24)


@check(
    "plain.handshake",
    24,
    "Implementation",
    "HELLO, WELCOME, INITIATE, READY: the server admits the configured credentials",
    mechanisms="plain",
)
def plain_handshake(p: Probe) -> Verdict:
    peer = p.open()
    try:
        meta = peer.handshake(p.plays, mechanism=p.client_mechanism())
    except (PeerClosed, Silence, ProtocolError) as exc:
        return failed("READY", describe(exc), "are the credentials right?")
    finally:
        p.finish(peer)
    names = [f.body[1 : 1 + f.body[0]].decode("ascii", "replace") for f in peer.handshake_frames]
    return passed(f"{' '.join(names)}; {metadata_text(meta)}")


@check(
    "plain.wrong-password",
    24,
    "Implementation",
    "A wrong password gets no WELCOME: ERROR (with the ZAP status code), then a close",
    mechanisms="plain",
)
def plain_wrong_password(p: Probe) -> Verdict:
    opts = p.options
    mech = PlainClient(opts.username, opts.password + b"-wrong")
    return _refused(p, p.open(), mech, "a wrong password")


# =======================================================================================
# CURVE (RFC 25, RFC 26)


@check(
    "curve.handshake",
    26,
    "The READY Command",
    "HELLO, WELCOME, INITIATE, READY: the handshake completes and READY opens",
    mechanisms="curve",
)
def curve_handshake(p: Probe) -> Verdict:
    peer = p.open()
    try:
        meta = peer.handshake(p.plays, mechanism=p.client_mechanism())
    except (PeerClosed, Silence, ProtocolError) as exc:
        note = "" if p.options.public_key else "a fresh client key was used: give an admitted one"
        return failed("READY", describe(exc), note)
    ok, what = p.alive(peer)
    p.finish(peer)
    if not ok:
        return failed("encrypted traffic after READY", what)
    return passed(f"{metadata_text(meta)}; the peer {what}")


@check(
    "curve.wrong-server-key",
    26,
    "The HELLO Command",
    "A HELLO made for another server key gets no WELCOME (its box cannot open)",
    mechanisms="curve",
)
def curve_wrong_server_key(p: Probe) -> Verdict:
    from zmtp.wire.z85 import curve_keypair

    other, _ = curve_keypair()
    public, secret = p.client_keys()
    peer = p.open()
    try:
        peer.handshake(p.plays, mechanism=CurveClient(other, public, secret))
    except PeerError as exc:
        return passed(f"ERROR {exc.peer_reason!r}")
    except ProtocolError as exc:
        return failed("no WELCOME", f"a handshake command we could not open: {exc.reason}")
    except (PeerClosed, Silence) as exc:
        return passed(describe(exc))
    finally:
        peer.close()
    return failed("a refusal", "the handshake completed with a wrong server key")


def _replay(p: Probe, reorder: bool) -> Verdict:
    peer = p.open()
    try:
        peer.handshake(p.plays, mechanism=p.client_mechanism())
    except (PeerClosed, Silence, ProtocolError) as exc:
        peer.close()
        raise Prerequisite(f"no CURVE handshake: {describe(exc)}") from None
    with peer:
        first = peer.message_bytes(p.wrap([b"conform-1"]))
        second = peer.message_bytes(p.wrap([b"conform-2"]))
        if reorder:
            peer.send_raw(second + first)
            what = "a MESSAGE with a lower nonce than the one before"
        else:
            peer.send_raw(first + first)
            what = "the same MESSAGE twice"
        reaction = react(peer, p.options.timeout)
    if reaction.closed:
        return passed(f"after {what}: {reaction.describe()}")
    return failed(f"the connection closed after {what}", reaction.describe())


@check(
    "curve.replayed-nonce",
    26,
    "The MESSAGE Command",
    "A replayed MESSAGE (same short nonce) is refused: the connection closes",
    mechanisms="curve",
)
def curve_replayed(p: Probe) -> Verdict:
    return _replay(p, reorder=False)


@check(
    "curve.reordered-nonce",
    26,
    "The MESSAGE Command",
    "MESSAGE nonces must increase: a lower one than the last closes the connection",
    mechanisms="curve",
)
def curve_reordered(p: Probe) -> Verdict:
    return _replay(p, reorder=True)


@check(
    "zap.unknown-client-key",
    27,
    "The CURVE Mechanism",
    "A client key the server's ZAP handler does not know is refused (ERROR, then close)",
    mechanisms="curve",
)
def zap_unknown_key(p: Probe) -> Verdict:
    from zmtp.wire.z85 import curve_keypair

    public, secret = curve_keypair()
    mech = CurveClient(p.options.server_key, public, secret)
    return _refused(p, p.open(), mech, "an unknown client key")
