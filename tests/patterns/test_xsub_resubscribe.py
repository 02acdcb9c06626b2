"""XSUB/SUB after a reconnection (RFC 29: a subscriber "SHALL send its subscriptions"
to a publisher when it connects; after a reconnection the publisher knows nothing):
the subscriptions still queued for the old connection are replaced by the full set,
and nothing the application sent upstream is lost."""

from __future__ import annotations

from zmtp.constants import SocketType
from zmtp.patterns import pattern_for
from zmtp.routing import MsgQueue, Pipe, SubscriptionMsg


def test_a_reconnection_requeues_every_subscription_once_and_keeps_upstream_messages():
    xsub = pattern_for(SocketType.XSUB)()
    pipe = Pipe(MsgQueue(0), MsgQueue(0), "tcp://publisher")
    assert xsub.attach(pipe)
    for topic in (b"a", b"b"):
        xsub.send([b"\x01" + topic])
    xsub.send([b"\x01a", b"payload"])  # two frames: data for an XPUB, not a subscription
    xsub.send([b"\x01b"])  # a second subscription to b (counted locally)
    assert sum(type(m) is SubscriptionMsg for m in pipe.out_q.items) == 3

    xsub.hiccuped(pipe)

    after = list(pipe.out_q.items)
    subs = [m for m in after if type(m) is SubscriptionMsg]
    others = [m for m in after if type(m) is not SubscriptionMsg]
    assert sorted(m.topic for m in subs) == [b"a", b"b"], "each topic once, for the new peer"
    assert others == [[b"\x01a", b"payload"]], "an upstream message was dropped"
    assert after.index(others[0]) == 0, "the upstream message no longer goes first"


def test_resubscribing_with_many_queued_subscriptions_keeps_their_order_of_arrival():
    xsub = pattern_for(SocketType.XSUB)()
    pipe = Pipe(MsgQueue(0), MsgQueue(0), "tcp://publisher")
    assert xsub.attach(pipe)
    for i in range(5000):
        xsub.send([b"\x01t%d" % i])
        if i % 1000 == 0:
            xsub.send([b"data", b"%d" % i])
    xsub.hiccuped(pipe)
    items = list(pipe.out_q.items)
    data = [m for m in items if type(m) is not SubscriptionMsg]
    assert [m[1] for m in data] == [b"%d" % i for i in range(0, 5000, 1000)]
    assert len(items) == 5000 + 5
