"""Checks of the socket-type semantics: RFC 28 (REQ, REP, DEALER, ROUTER), RFC 29 and
RFC 37 (PUB, XPUB, SUB, XSUB), RFC 30 (PUSH, PULL), RFC 31 (PAIR).

These watch the peer's application at work (see the contract in
:mod:`zmtp.conform.probe`), often over several connections at once, so they run one
at a time, after the wire checks.
"""

from __future__ import annotations

import threading
import time

from zmtp.conform.model import Prerequisite, Verdict, check, failed, passed, skipped, warned
from zmtp.conform.probe import Poller, Probe, describe, show, show_message
from zmtp.constants import SocketType
from zmtp.errors import ProtocolError
from zmtp.testing.peer import Command, PeerClosed, RawPeer, Silence

T = SocketType


def _sessions(p: Probe, n: int, **kwargs: object) -> list[RawPeer]:
    peers: list[RawPeer] = []
    try:
        for i in range(n):
            peers.append(p.session(routing_id=b"conform-%d" % i, **kwargs))  # type: ignore[arg-type]
    except Prerequisite:
        for peer in peers:
            p.finish(peer)
        raise
    return peers


def _finish_all(p: Probe, peers: list[RawPeer]) -> None:
    for peer in peers:
        p.finish(peer)


# =======================================================================================
# RFC 28: REP


@check(
    "reqrep.rep.envelope",
    28,
    "The REP Socket Type",
    "REP sends the reply behind the request's delimiter: [''] + request -> [''] + reply",
    types="REP",
    uses_app=True,
)
def rep_envelope(p: Probe) -> Verdict:
    body = b"conform-request-%d" % p.next_number()
    peer = p.session()
    try:
        peer.send_message([b"", body])
        back = peer.recv_message()
    except (Silence, PeerClosed, ProtocolError) as exc:
        return failed("[b'', request] back", describe(exc))
    finally:
        p.finish(peer)
    if back != [b"", body]:
        return failed(show_message([b"", body]), show_message(back), "the envelope is lost")
    return passed(show_message(back))


@check(
    "reqrep.rep.address-stack",
    28,
    "The REP Socket Type",
    "Every envelope frame up to the delimiter comes back with the reply, in order",
    types="REP",
    uses_app=True,
)
def rep_address_stack(p: Probe) -> Verdict:
    msg = [b"hop-1", b"hop-2", b"", b"conform-%d" % p.next_number()]
    peer = p.session()
    try:
        peer.send_message(msg)
        back = peer.recv_message()
    except (Silence, PeerClosed, ProtocolError) as exc:
        return failed(f"{show_message(msg, 4)} back", describe(exc))
    finally:
        p.finish(peer)
    if back != msg:
        return failed(show_message(msg, 4), show_message(back, 4))
    return passed(show_message(back, 4))


@check(
    "reqrep.rep.routes-back",
    28,
    "The REP Socket Type",
    "Each reply goes back to the connection its request came from",
    types="REP",
    uses_app=True,
    connections=3,
)
def rep_routes_back(p: Probe) -> Verdict:
    peers = _sessions(p, 3)
    poller = Poller(peers)
    try:
        bodies = [b"conform-from-%d" % i for i in range(3)]
        for peer, body in zip(peers, bodies, strict=True):
            peer.send_message([b"", body])
        got: dict[int, list[bytes]] = {}
        while len(got) < 3:
            hit = poller.next(p.options.timeout)
            if hit is None:
                break
            i, ev = hit
            if isinstance(ev, list):
                got[i] = ev
    except (PeerClosed, ProtocolError) as exc:
        return failed("three replies", describe(exc))
    finally:
        _finish_all(p, peers)
    for i, body in enumerate(bodies):
        if i not in got or not p.came_back(got[i], [body]):
            seen = show_message(got[i]) if i in got else "nothing"
            return failed(f"the reply to {body!r} on connection {i + 1}", seen)
    return passed("each of 3 connections got its own reply")


# =======================================================================================
# RFC 28: REQ


def _request(p: Probe, peer: RawPeer) -> list[bytes]:
    try:
        return p.request(peer)
    except (Silence, PeerClosed, ProtocolError) as exc:
        raise Prerequisite(f"no request from the peer's application: {describe(exc)}") from None


@check(
    "reqrep.req.delimiter",
    28,
    "The REQ Socket Type",
    "REQ puts an empty delimiter frame in front of each request",
    types="REQ",
    uses_app=True,
)
def req_delimiter(p: Probe) -> Verdict:
    peer = p.session()
    try:
        request = _request(p, peer)
        peer.held = request  # still to be answered
    finally:
        p.finish(peer)
    if request[:1] != [b""] or len(request) < 2:
        return failed("[b'', request...]", show_message(request))
    return passed(show_message(request))


@check(
    "reqrep.req.one-at-a-time",
    28,
    "The REQ Socket Type",
    "REQ sends one request, then waits for its reply before the next",
    types="REQ",
    uses_app=True,
)
def req_one_at_a_time(p: Probe) -> Verdict:
    peer = p.session()
    try:
        _request(p, peer)
        # Less than the application's one-second retry: nothing may come meanwhile.
        extra = [e for e in peer.collect(p.options.quiet * 2) if isinstance(e, list)]
        if extra:
            return failed("no second request before the reply", show_message(extra[0]))
        token = b"conform-reply-%d" % p.next_number()
        peer.send_message([b"", token])
        try:
            nxt = p.request(peer)
            peer.held = nxt
        except (Silence, PeerClosed, ProtocolError) as exc:
            return failed("the next request after our reply", describe(exc))
    finally:
        p.finish(peer)
    return passed(f"one request, then the next after the reply ({show_message(nxt)})")


@check(
    "reqrep.req.round-robin",
    28,
    "The REQ Socket Type",
    "REQ sends its requests to its connections in turn (round robin)",
    types="REQ",
    uses_app=True,
    connections=3,
)
def req_round_robin(p: Probe) -> Verdict:
    peers = _sessions(p, 3)
    poller = Poller(peers)
    order: list[int] = []
    try:
        while len(order) < 7:
            hit = poller.next(p.options.timeout)
            if hit is None:
                break
            i, ev = hit
            if isinstance(ev, list):
                order.append(i)
                peers[i].send_message([b"", b"conform-reply-%d" % len(order)])
    except (PeerClosed, ProtocolError) as exc:
        return failed("requests on every connection", describe(exc))
    finally:
        _finish_all(p, peers)
    if len(order) < 4:
        raise Prerequisite(f"only {len(order)} request(s) from the application")
    counts = [order[1:].count(i) for i in range(3)]
    seen = "requests went to connections " + " ".join(str(i + 1) for i in order)
    if 0 in counts:
        return failed("every connection in turn", seen)
    return passed(seen)


@check(
    "reqrep.req.ignores-others",
    28,
    "The REQ Socket Type",
    "REQ accepts a reply only from the peer it sent the request to; others are dropped",
    types="REQ",
    uses_app=True,
    connections=2,
)
def req_ignores_others(p: Probe) -> Verdict:
    peers = _sessions(p, 2)
    poller = Poller(peers)
    try:
        hit = poller.next(p.options.timeout)
        if hit is None or not isinstance(hit[1], list):
            raise Prerequisite("no request from the application")
        i = hit[0]
        other = peers[1 - i]
        real = b"conform-real-%d" % p.next_number()
        other.send_message([b"", b"conform-bogus"])
        time.sleep(0.05)  # pacing: let the bogus reply arrive first
        peers[i].send_message([b"", real])
        nxt = poller.next(p.options.timeout)
    except (PeerClosed, ProtocolError) as exc:
        return failed("the next request", describe(exc))
    finally:
        _finish_all(p, peers)
    if nxt is None or not isinstance(nxt[1], list):
        raise Prerequisite("no second request from the application")
    body = nxt[1][1:]
    if body == [b"conform-bogus"]:
        return failed(
            f"the next request to carry {real!r}",
            "it carries the unsolicited reply from the other connection",
        )
    if body != [real]:
        raise Prerequisite(
            f"the application's next request {show_message(nxt[1])} is not our reply"
        )
    return passed("the unsolicited reply was dropped")


# =======================================================================================
# RFC 28: DEALER and ROUTER


@check(
    "reqrep.dealer.unmodified",
    28,
    "The DEALER Socket Type",
    "DEALER passes messages through unmodified, envelopes included",
    types="DEALER",
    uses_app=True,
)
def dealer_unmodified(p: Probe) -> Verdict:
    msg = [b"conform-id", b"", b"body-%d" % p.next_number()]
    peer = p.session()
    try:
        back = p.echo(peer, msg)
    except (Silence, PeerClosed, ProtocolError) as exc:
        return failed(f"{show_message(msg)} back", describe(exc))
    finally:
        p.finish(peer)
    if back != msg:
        return failed(show_message(msg), show_message(back))
    return passed(show_message(back))


@check(
    "reqrep.dealer.round-robin",
    28,
    "The DEALER Socket Type",
    "DEALER sends to its connections in turn (round robin)",
    types="DEALER",
    uses_app=True,
    connections=3,
)
def dealer_round_robin(p: Probe) -> Verdict:
    peers = _sessions(p, 3)
    poller = Poller(peers)
    rounds: list[list[int]] = []
    try:
        # A peer may take a moment to start using a connection that just arrived:
        # a few rounds of six, and one that reaches every connection is enough.
        for r in range(3):
            counts = [0, 0, 0]
            for k in range(6):
                peers[0].send_message([b"conform-rr-%d-%d" % (r, k)])
            got = 0
            while got < 6:
                hit = poller.next(p.options.timeout)
                if hit is None:
                    break
                i, ev = hit
                if isinstance(ev, list):
                    counts[i] += 1
                    got += 1
            if got < 6:
                raise Prerequisite(f"only {got} of 6 messages came back")
            rounds.append(counts)
            if 0 not in counts:
                break
    except (PeerClosed, ProtocolError) as exc:
        return failed("echoes on every connection", describe(exc))
    finally:
        _finish_all(p, peers)
    seen = "6 echoes went " + ", then ".join("/".join(map(str, c)) for c in rounds)
    seen += " to connections 1/2/3"
    if 0 in rounds[-1]:
        return failed("some on every connection (2/2/2)", seen)
    return passed(seen)


@check(
    "reqrep.router.returns-to-sender",
    28,
    "The ROUTER Socket Type",
    "ROUTER tags each message with its sender and routes a reply by that tag",
    types="ROUTER",
    uses_app=True,
    connections=3,
)
def router_returns(p: Probe) -> Verdict:
    peers = _sessions(p, 3)
    poller = Poller(peers)
    try:
        bodies = [[b"conform-from-%d" % i, b"part"] for i in range(3)]
        for peer, body in zip(peers, bodies, strict=True):
            peer.send_message(body)
        got: dict[int, list[bytes]] = {}
        while len(got) < 3:
            hit = poller.next(p.options.timeout)
            if hit is None:
                break
            i, ev = hit
            if isinstance(ev, list):
                got.setdefault(i, ev)
    except (PeerClosed, ProtocolError) as exc:
        return failed("three echoes", describe(exc))
    finally:
        _finish_all(p, peers)
    for i, body in enumerate(bodies):
        if got.get(i) != body:
            seen = show_message(got[i]) if i in got else "nothing"
            return failed(f"{show_message(body)} on connection {i + 1}", seen)
    return passed("each of 3 connections (one with an Identity) got its own message back")


# =======================================================================================
# Fair queuing (RFC 28, RFC 30): a flooding connection must not starve another


def _fair_queue(p: Probe) -> Verdict:
    feedback = p.feedback() if p.peer_type == T.PULL else None
    if p.peer_type == T.PULL and feedback is None:
        return skipped(
            "a PULL's fair queuing shows only in what its application receives: "
            "give --feedback ENDPOINT and have the application forward to it"
        )
    if feedback is not None:
        feedback.drain()
    peers = _sessions(p, 2)
    flooder, other = peers
    stop = threading.Event()
    flood_sent = [0]
    echoes = [0]
    marker = b"conform-marker-%d" % p.next_number()
    found = threading.Event()
    batch = flooder.message_bytes(p.wrap([b"conform-flood"])) * 64

    def flood() -> None:
        while not stop.is_set():
            try:
                flooder.send_raw(batch)
                flood_sent[0] += 64
            except Silence:
                continue
            except (OSError, PeerClosed):
                return

    def read(peer: RawPeer) -> None:
        while not stop.is_set():
            try:
                ev = peer.recv_event(0.05)
            except Silence:
                continue
            except (OSError, PeerClosed, ProtocolError):
                return
            if isinstance(ev, list):
                if ev and ev[-1] == marker:
                    found.set()
                else:
                    echoes[0] += 1

    threads = [threading.Thread(target=flood, daemon=True)]
    if p.echoes:
        threads += [threading.Thread(target=read, args=(peer,), daemon=True) for peer in peers]
    for t in threads:
        t.start()
    try:
        time.sleep(p.options.quiet)  # pacing: let a backlog build up behind the flood
        other.send_message(p.wrap([marker]))
        start = time.monotonic()
        if feedback is not None:
            msg, _ = feedback.wait_for(lambda m: m[-1:] == [marker], p.options.timeout)
            ok = msg is not None
        else:
            ok = found.wait(p.options.timeout)
        took = time.monotonic() - start
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        _finish_all(p, peers)
    if not ok:
        if feedback is None and echoes[0] == 0:
            raise Prerequisite("the application sent nothing back during the flood")
        return failed(
            "the other connection's message served while the flood goes on",
            f"not served within {p.options.timeout:g} s ({flood_sent[0]} flood messages "
            "sent meanwhile)",
        )
    return passed(f"served {took * 1000:.0f} ms after it was sent, during a flood")


@check(
    "reqrep.fair-queue",
    28,
    "The REP Socket Type",
    "Incoming messages are fair-queued: a flooding connection does not starve another",
    types="REP DEALER ROUTER",
    uses_app=True,
    connections=2,
)
def reqrep_fair_queue(p: Probe) -> Verdict:
    return _fair_queue(p)


@check(
    "pipeline.pull.fair-queue",
    30,
    "The PULL Socket Type",
    "PULL fair-queues: a flooding PUSH does not starve another",
    types="PULL",
    uses_app=True,
    connections=2,
)
def pull_fair_queue(p: Probe) -> Verdict:
    return _fair_queue(p)


# =======================================================================================
# RFC 30: PUSH and PULL


@check(
    "pipeline.push.round-robin",
    30,
    "The PUSH Socket Type",
    "PUSH spreads its messages over all its connections (round robin)",
    types="PUSH",
    uses_app=True,
    connections=3,
)
def push_round_robin(p: Probe) -> Verdict:
    peers = _sessions(p, 3)
    poller = Poller(peers)
    counts = [0, 0, 0]
    try:
        deadline = time.monotonic() + p.options.timeout
        while time.monotonic() < deadline and min(counts) < 3:
            hit = poller.next(deadline - time.monotonic())
            if hit is None:
                break
            i, ev = hit
            if isinstance(ev, list):
                counts[i] += 1
    except (PeerClosed, ProtocolError) as exc:
        return failed("messages on every connection", describe(exc))
    finally:
        _finish_all(p, peers)
    if sum(counts) == 0:
        raise Prerequisite("the application sent no messages")
    seen = f"{counts[0]}/{counts[1]}/{counts[2]} messages on connections 1/2/3"
    if 0 in counts:
        return failed("messages on every connection", seen)
    return passed(seen)


@check(
    "pipeline.pull.sends-nothing",
    30,
    "The PULL Socket Type",
    "PULL only receives: it sends no messages",
    types="PULL",
)
def pull_sends_nothing(p: Probe) -> Verdict:
    peer = p.session()
    try:
        peer.send_message([b"conform"])
        events = peer.collect(p.options.quiet)
    finally:
        p.finish(peer)
    messages = [e for e in events if isinstance(e, list)]
    if messages:
        return failed("no messages", show_message(messages[0]))
    return passed("none")


@check(
    "pipeline.pull.delivers",
    30,
    "The PULL Socket Type",
    "PULL delivers each message to its application unmodified",
    types="PULL",
    uses_app=True,
)
def pull_delivers(p: Probe) -> Verdict:
    feedback = p.feedback()
    if feedback is None:
        return skipped("give --feedback ENDPOINT and have the application forward to it")
    feedback.drain()
    msg = [b"conform-%d" % p.next_number(), b"", b"x" * 300]
    peer = p.session()
    try:
        peer.send_message(msg)
        got, seen = feedback.wait_for(lambda m: m[:1] == msg[:1], p.options.timeout)
    finally:
        p.finish(peer)
    if got is None:
        if feedback.error:
            raise Prerequisite(f"the feedback channel failed: {feedback.error}")
        return failed(f"{show_message(msg)} forwarded", f"{len(seen)} other message(s)")
    if got != msg:
        return failed(show_message(msg), show_message(got))
    return passed(show_message(got))


# =======================================================================================
# RFC 29 and RFC 37: publish-subscribe


def _published(
    peer: RawPeer, p: Probe, want: int, timeout: float | None = None
) -> list[list[bytes]]:
    """Messages from a publisher, until ``want`` of them or the timeout."""
    out: list[list[bytes]] = []
    deadline = time.monotonic() + (p.options.timeout if timeout is None else timeout)
    while len(out) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            ev = peer.recv_event(left)
        except Silence:
            break
        if isinstance(ev, list):
            out.append(ev)
    return out


def _topics(p: Probe) -> tuple[bytes, list[list[bytes]]]:
    """A one-octet prefix that some published messages have and others lack."""
    peer = p.session()
    try:
        peer.subscribe(b"")
        seen = _published(peer, p, 40)
    except (PeerClosed, ProtocolError) as exc:
        raise Prerequisite(f"subscribed to everything: {describe(exc)}") from None
    finally:
        p.finish(peer)
    firsts = {m[0][:1] for m in seen}
    if not seen:
        raise Prerequisite("the application published nothing (subscribed to everything)")
    prefixes = sorted(f for f in firsts if f)
    if len(firsts) < 2 or not prefixes:
        raise Prerequisite(
            "every published message starts the same way: filtering needs two topics"
        )
    return prefixes[0], seen


def _unfiltered(p: Probe) -> tuple[list[bytes] | None, int]:
    """What a subscriber with no subscription got while another, subscribed to
    everything, saw the publisher at work: ``(first message or None, messages the
    other saw)``. Found once per run and shared."""
    with p.facts_lock:
        known = p.facts.get("unfiltered")
    if known is not None:
        return known  # type: ignore[return-value]
    quiet = p.session()
    try:
        _, seen = _topics(p)
        got = _published(quiet, p, 1, p.options.quiet)
    finally:
        p.finish(quiet)
    result = (got[0] if got else None, len(seen))
    with p.facts_lock:
        p.facts["unfiltered"] = result
    return result


def _needs_filtering(p: Probe) -> None:
    first, _ = _unfiltered(p)
    if first is not None:
        raise Prerequisite("the publisher does not filter at all (pubsub.pub.no-subscription)")


@check(
    "pubsub.pub.no-subscription",
    37,
    "The Publish-Subscribe Pattern",
    "The publisher filters (SHALL): a subscriber with no subscription gets nothing",
    types="PUB XPUB",
    uses_app=True,
    connections=2,
)
def pub_no_subscription(p: Probe) -> Verdict:
    try:
        first, seen = _unfiltered(p)
    except (PeerClosed, ProtocolError) as exc:
        return failed("nothing", describe(exc))
    if first is not None:
        return failed("no message without a subscription", show_message(first))
    return passed(f"nothing, while {seen} messages went to a subscriber of everything")


@check(
    "pubsub.pub.prefix",
    37,
    "The Publish-Subscribe Pattern",
    "A subscription matches exactly the messages whose first frame starts with it",
    types="PUB XPUB",
    uses_app=True,
    connections=2,
)
def pub_prefix(p: Probe) -> Verdict:
    _needs_filtering(p)
    prefix, _ = _topics(p)
    peer = p.session()
    try:
        peer.subscribe(prefix)
        got = _published(peer, p, 10)
    except (PeerClosed, ProtocolError) as exc:
        return failed(f"messages starting with {prefix!r}", describe(exc))
    finally:
        p.finish(peer)
    wrong = [m for m in got if not m[0].startswith(prefix)]
    if wrong:
        return failed(f"only messages starting with {prefix!r}", show_message(wrong[0]))
    if not got:
        return failed(f"messages starting with {prefix!r}", "nothing")
    return passed(f"{len(got)} messages, all starting with {prefix!r}")


@check(
    "pubsub.pub.cancel",
    37,
    "The Publish-Subscribe Pattern",
    "After CANCEL of its only subscription the subscriber gets nothing more",
    types="PUB XPUB",
    uses_app=True,
)
def pub_cancel(p: Probe) -> Verdict:
    _needs_filtering(p)
    peer = p.session()
    try:
        peer.subscribe(b"")
        if not _published(peer, p, 1):
            raise Prerequisite("the application published nothing")
        peer.cancel(b"")
        peer.collect(p.options.quiet)  # what was in flight before the CANCEL
        late = _published(peer, p, 1, p.options.quiet * 2)
    except (PeerClosed, ProtocolError) as exc:
        return failed("silence after CANCEL", describe(exc))
    finally:
        p.finish(peer)
    if late:
        return failed("nothing after CANCEL", show_message(late[0]))
    return passed("nothing after CANCEL")


@check(
    "pubsub.pub.not-idempotent",
    37,
    "The Publish-Subscribe Pattern",
    "Subscriptions count: after SUBSCRIBE twice and CANCEL once, messages still come",
    types="PUB XPUB",
    uses_app=True,
)
def pub_not_idempotent(p: Probe) -> Verdict:
    peer = p.session()
    try:
        if peer.version < (3, 1):
            raise Prerequisite("the peer speaks ZMTP 3.0")
        peer.subscribe(b"")
        peer.subscribe(b"")
        if not _published(peer, p, 1):
            raise Prerequisite("the application published nothing")
        peer.cancel(b"")
        peer.collect(p.options.quiet)
        later = _published(peer, p, 1, p.options.quiet * 2)
    except (PeerClosed, ProtocolError) as exc:
        return failed("messages after one CANCEL", describe(exc))
    finally:
        p.finish(peer)
    if not later:
        return warned(
            "messages after SUBSCRIBE, SUBSCRIBE, CANCEL",
            "nothing: one CANCEL undid both",
            "libzmq 4.3 counts a repeated subscription from one subscriber once (its "
            "subscribers send one CANCEL however many SUBSCRIBEs they sent)",
        )
    return passed("messages still came")


@check(
    "pubsub.pub.subscribe-message",
    23,
    "The Publish-Subscribe Pattern",
    "On ZMTP 3.0, a message 0x01 + topic subscribes",
    types="PUB XPUB",
    uses_app=True,
)
def pub_subscribe_message(p: Probe) -> Verdict:
    peer = p.session(version=(3, 0))
    try:
        peer.subscribe(b"", form="message")
        got = _published(peer, p, 3)
    except (PeerClosed, ProtocolError) as exc:
        return failed("messages after subscribing", describe(exc))
    finally:
        p.finish(peer)
    if not got:
        return failed("messages after the subscription message 01", "nothing")
    return passed(f"{len(got)} messages")


@check(
    "pubsub.sub.subscribe-command",
    37,
    "The Publish-Subscribe Pattern",
    "On ZMTP 3.1 a subscriber subscribes with the SUBSCRIBE command (SHALL)",
    types="SUB XSUB",
    uses_app=True,
)
def sub_subscribe_command(p: Probe) -> Verdict:
    peer = p.session()
    try:
        if peer.version < (3, 1):
            raise Prerequisite("the peer speaks ZMTP 3.0")
        first = _first_subscription(p, peer)
    finally:
        p.finish(peer)
    if isinstance(first, Command):
        return passed(f"SUBSCRIBE {first.data!r} ({first.frame.hex()})")
    return failed("a SUBSCRIBE command", f"a message {show_message(first)}")


@check(
    "pubsub.sub.subscribe-message",
    23,
    "The Publish-Subscribe Pattern",
    "On ZMTP 3.0 a subscriber subscribes with a message 0x01 + topic",
    types="SUB XSUB",
    uses_app=True,
)
def sub_subscribe_message(p: Probe) -> Verdict:
    peer = p.session(version=(3, 0))
    try:
        first = _first_subscription(p, peer)
    finally:
        p.finish(peer)
    if isinstance(first, Command):
        return failed(
            "a message 01 + topic",
            f"a {first.name.decode()} command, which a ZMTP 3.0 peer does not know",
        )
    if first[0][:1] != b"\x01" or len(first) != 1:
        return failed("a one-frame message 01 + topic", show_message(first))
    return passed(f"message {show(first[0])}")


def _first_subscription(p: Probe, peer: RawPeer) -> list[bytes] | Command:
    deadline = time.monotonic() + p.options.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Prerequisite("the application subscribed to nothing")
        try:
            ev = peer.recv_event(left)
        except Silence:
            raise Prerequisite("the application subscribed to nothing") from None
        except (PeerClosed, ProtocolError) as exc:
            raise Prerequisite(f"no subscription: {describe(exc)}") from None
        if isinstance(ev, Command) and ev.name in (b"SUBSCRIBE", b"CANCEL"):
            return ev
        if isinstance(ev, list):
            return ev


@check(
    "pubsub.sub.sends-no-messages",
    29,
    "The SUB Socket Type",
    "SUB only receives: apart from subscriptions it sends no messages",
    types="SUB",
)
def sub_sends_nothing(p: Probe) -> Verdict:
    peer = p.session()
    try:
        events = peer.collect(p.options.quiet)
    finally:
        p.finish(peer)
    data = [e for e in events if isinstance(e, list) and e[0][:1] not in (b"\x00", b"\x01")]
    if data:
        return failed("no messages", show_message(data[0]))
    return passed("none")


# =======================================================================================
# RFC 31: PAIR


@check(
    "pair.exclusive",
    31,
    "The PAIR Socket Type",
    "PAIR talks to one peer at a time: a second connection is not served",
    types="PAIR",
    uses_app=True,
    connections=2,
)
def pair_exclusive(p: Probe) -> Verdict:
    first = p.session()
    try:
        try:
            second = p.session(served=False)
        except Prerequisite as exc:
            return passed(f"refused the second connection ({exc})")
        try:
            marker = [b"conform-second-%d" % p.next_number()]
            second.send_message(marker)
            events = second.collect(p.options.quiet * 2)
        finally:
            second.close()
        if marker in events:
            return failed("no service on the second connection", "it echoed our message")
        how = f"{second.closed_by_peer} it" if second.closed_by_peer else "left it unserved"
        ok, what = p.alive(first)
        note = "" if ok else f"the first connection then failed: {what}"
        return passed(f"handshake on a second connection, then {how}", note)
    finally:
        p.finish(first)
