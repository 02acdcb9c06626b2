"""Publish-subscribe over real sockets (RFC 29/PUBSUB), zmtp against zmtp over inproc,
tcp and ipc: prefix filtering on the publisher's side, (un)subscriptions counted on the
subscriber's side, XPUB's view of subscriptions and its options, XSUB upstream
traffic, the forwarder proxy, conflation, reconnection, and the rule that a slow
subscriber never slows the publisher or the other subscribers.

Subscriptions travel asynchronously, from the subscriber to the publisher. A test
never sleeps to let them arrive; it waits for proof that they did:

* an XPUB publisher *receives* each subscription (``b"\\x01" + topic``) once it has
  applied it, so most tests publish from an XPUB (XPUB is PUB plus that report);
* a plain PUB reports nothing, so :func:`wait_until_published_to` sends numbered probe
  messages under the topic until the subscriber receives one (then takes every probe
  still in flight): the PUB's filter holds the topic from then on.

The routing policies themselves (trie, distributor) are property-tested in
tests/routing/test_trie.py.
"""

from __future__ import annotations

import collections
import tracemalloc
from collections.abc import Callable

import anyio
import pytest
from engine_helpers import drain, fill_until_send_waits, link
from engines import Engine, settle

import zmtp
from zmtp.core.stream import BATCH_BYTES, READ_SIZE

Make = Callable[..., zmtp.Socket]
Endpoint = Callable[[], str]

#: Loopback bytes are moved by the kernel, outside the process: the tests that must see
#: every peer's messages queued before reading (fair queuing, conflation) let the
#: kernel finish first, as tests/engine/test_distribution.py does.
KERNEL_CUSHION = 0.05
#: How long one probe of :func:`wait_until_published_to` waits before the next is sent.
PROBE_PATIENCE = 0.02
PROBE = b"\x00probe "


async def subscribed(sub: zmtp.Socket, xpub: zmtp.Socket, topic: bytes) -> None:
    """``sub`` subscribes to ``topic``; returns once ``xpub`` reports it (applied)."""
    sub.subscribe(topic)
    assert await xpub.recv() == b"\x01" + topic


async def wait_until_published_to(pub: zmtp.Socket, sub: zmtp.Socket, topic: bytes) -> int:
    """Publish probes ``topic + PROBE + n`` until ``sub`` receives one, then receive the
    probes still in flight; returns how many probes it took. ``sub`` must get nothing
    else meanwhile. Once a probe got through, the PUB's filter holds ``topic``."""
    sent = 0
    while True:
        sent += 1
        pub.send_multipart_nowait([topic + PROBE + b"%d" % sent])
        if await sub.poll(PROBE_PATIENCE * 1000):  # a wait that times out takes nothing
            got = await sub.recv_multipart()
            break
    # A probe that was slow to arrive may be followed by those sent after it.
    while got != [topic + PROBE + b"%d" % sent]:
        assert PROBE in got[0], f"not a probe: {got!r}"
        got = await sub.recv_multipart()
    return sent


async def xpub_and_sub(
    make: Make,
    endpoint: Endpoint,
    xpub_options: dict[str, object] | None = None,
    **sub_options: object,
) -> tuple[zmtp.Socket, zmtp.Socket]:
    """An XPUB bound and a SUB connected to it, both handshaken."""
    xpub = make(zmtp.XPUB, **(xpub_options or {}))
    sub = make(zmtp.SUB, **sub_options)
    await link(xpub, sub, endpoint())
    return xpub, sub


# ---------------------------------------------------------------------------------------
# Filtering (RFC 29: "SHALL perform a binary comparison of the subscription against the
# start of the first frame of the message")

WEATHER_TRAFFIC = [
    [b"sports", b"weather"],  # only the first frame is compared
    [b"weather"],
    [b"weath"],  # shorter than the subscription
    [b"weather.today", b"sunny"],
    [b"Weather"],  # binary comparison: case matters
    [b"\x00weather"],
    [b"weatherman", b"", b"last"],  # matching, and sent last
]
WEATHER_MATCHING = [m for m in WEATHER_TRAFFIC if m[0].startswith(b"weather")]


async def test_sub_receives_only_messages_whose_first_frame_starts_with_its_subscription(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"weather")
        for msg in WEATHER_TRAFFIC:
            await xpub.send_multipart(msg)
        # One connection keeps its order: a non-matching message that got through
        # would come before the last matching one.
        assert [await sub.recv_multipart() for _ in WEATHER_MATCHING] == WEATHER_MATCHING
        assert drain(sub) == []


async def test_pub_filters_the_same_way_as_xpub(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        pub = make(zmtp.PUB)
        sub = make(zmtp.SUB, subscribe=b"weather")
        await link(pub, sub, endpoint())
        await wait_until_published_to(pub, sub, b"weather")
        for msg in WEATHER_TRAFFIC:
            await pub.send_multipart(msg)
        assert [await sub.recv_multipart() for _ in WEATHER_MATCHING] == WEATHER_MATCHING


async def test_sub_without_subscription_receives_nothing(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"B")  # the only subscription: B
        await xpub.send(b"A is for nobody")
        await xpub.send(b"B marks the end")
        assert await sub.recv() == b"B marks the end"


async def test_empty_subscription_receives_everything(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"")
        msgs = [[b""], [b"\x00"], [b"\x01x"], [b"anything", b"at all"]]
        for msg in msgs:
            await xpub.send_multipart(msg)
        assert [await sub.recv_multipart() for _ in msgs] == msgs


async def test_a_publisher_without_subscribers_drops_every_message_without_blocking(make: Make):
    with anyio.fail_after(5):
        pub = make(zmtp.PUB, sndhwm=1)
        await pub.bind("inproc://nobody-listens")
        for i in range(10_000):
            pub.send_multipart_nowait([b"%d" % i])  # never Again


# ---------------------------------------------------------------------------------------
# Unsubscribing, and counted subscriptions (RFC 37: "each SUBSCRIBE ... needs a CANCEL")


async def test_unsubscribe_stops_delivery_of_that_topic_only(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"A")
        await subscribed(sub, xpub, b"B")
        await xpub.send(b"A before")
        assert await sub.recv() == b"A before"
        sub.unsubscribe(b"A")
        assert await xpub.recv() == b"\x00A"
        await xpub.send(b"A after")
        await xpub.send(b"B after")
        assert await sub.recv() == b"B after"


async def test_subscribing_twice_needs_two_unsubscribes(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"A")
        sub.subscribe(b"A")  # counted by the SUB; the XPUB already knows the topic
        sub.unsubscribe(b"A")  # one of two: nothing goes to the publisher
        # A later subscription on the same connection proves no CANCEL came before it.
        await subscribed(sub, xpub, b"Z")
        await xpub.send(b"A still wanted")
        assert await sub.recv() == b"A still wanted"

        sub.unsubscribe(b"A")  # the second: now the publisher hears of it
        assert await xpub.recv() == b"\x00A"
        await xpub.send(b"A unwanted")
        await xpub.send(b"Z marks the end")
        assert await sub.recv() == b"Z marks the end"


async def test_unsubscribing_what_was_never_subscribed_sends_nothing(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        xpub.xpub_verbose_unsubscribe = True  # even verbose: nothing to report
        sub.unsubscribe(b"never")
        await subscribed(sub, xpub, b"next")


# ---------------------------------------------------------------------------------------
# Several publishers (RFC 29 SUB: "SHALL receive incoming messages from its publishers
# using a fair-queuing strategy")


async def test_sub_fair_queues_messages_from_three_publishers(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        sub = make(zmtp.SUB)
        pubs = [make(zmtp.XPUB) for _ in range(3)]
        for pub in pubs:
            await link(pub, sub, endpoint())
        sub.subscribe(b"")
        for pub in pubs:
            assert await pub.recv() == b"\x01"
        per_pub = 20
        for i, pub in enumerate(pubs):
            for j in range(per_pub):
                await pub.send_multipart([b"%d" % i, b"%d" % j])
        await settle(KERNEL_CUSHION)

        sources = []
        next_seq: collections.Counter[bytes] = collections.Counter()
        for _ in range(3 * per_pub):
            src, seq = await sub.recv_multipart()
            assert int(seq) == next_seq[src], "one publisher's messages came out of order"
            next_seq[src] += 1
            sources.append(src)
        for turn in range(per_pub):
            window = sources[3 * turn : 3 * turn + 3]
            assert sorted(window) == [b"0", b"1", b"2"], f"turn {turn} read {window}"


async def test_each_of_several_subscribers_gets_what_matches_its_own_subscriptions(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub = make(zmtp.XPUB)
        ep = await xpub.bind(endpoint())
        subs = {topic: make(zmtp.SUB) for topic in (b"A", b"B", b"")}
        async with xpub.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
            for sub in subs.values():
                await sub.connect(ep)
            for _ in subs:
                await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        for topic, sub in subs.items():
            await subscribed(sub, xpub, topic)
        for msg in (b"A1", b"B1", b"C1", b"A2", b"B2"):
            await xpub.send(msg)
        assert [await subs[b"A"].recv() for _ in range(2)] == [b"A1", b"A2"]
        assert [await subs[b"B"].recv() for _ in range(2)] == [b"B1", b"B2"]
        assert [await subs[b""].recv() for _ in range(5)] == [b"A1", b"B1", b"C1", b"A2", b"B2"]


# ---------------------------------------------------------------------------------------
# XPUB: subscriptions for the application (RFC 29 XPUB: "SHALL deliver these commands to
# its calling application"; "MAY ... normalize commands ... so that multiple identical
# subscriptions result in a single command only")


async def two_subscribers(make: Make, endpoint: Endpoint, **xpub_options: object):
    xpub = make(zmtp.XPUB, **xpub_options)
    ep = await xpub.bind(endpoint())
    subs = [make(zmtp.SUB), make(zmtp.SUB)]
    async with xpub.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as monitor:
        for sub in subs:
            await sub.connect(ep)
        for _ in subs:
            await monitor.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
    return xpub, subs


async def test_xpub_reports_a_topic_once_however_many_subscribers_have_it(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub, (s1, s2) = await two_subscribers(make, endpoint)
        await subscribed(s1, xpub, b"A")
        s2.subscribe(b"A")  # the topic has a subscriber already: not reported
        await subscribed(s2, xpub, b"B")  # ... or it would come before this one
        s1.unsubscribe(b"A")  # s2 still has it: not reported
        s2.unsubscribe(b"A")  # the last one: reported
        assert await xpub.recv() == b"\x00A"


async def test_xpub_verbose_reports_every_subscription_but_only_the_last_unsubscription(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub, (s1, s2) = await two_subscribers(make, endpoint, xpub_verbose=True)
        await subscribed(s1, xpub, b"A")
        await subscribed(s2, xpub, b"A")
        await subscribed(s1, xpub, b"A")  # the SUB forwards a repeated subscription too
        s1.unsubscribe(b"A")
        s1.unsubscribe(b"A")  # s1 is done with A, but s2 is not
        s2.unsubscribe(b"A")
        assert await xpub.recv() == b"\x00A"
        assert drain(xpub) == []


async def test_xpub_verbose_unsubscribe_reports_every_unsubscription(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub, (s1, s2) = await two_subscribers(make, endpoint, xpub_verbose_unsubscribe=True)
        await subscribed(s1, xpub, b"A")
        await subscribed(s2, xpub, b"A")
        s1.unsubscribe(b"A")
        assert await xpub.recv() == b"\x00A"
        s2.unsubscribe(b"A")
        assert await xpub.recv() == b"\x00A"


async def test_xpub_reports_the_unsubscriptions_of_a_subscriber_that_disconnects(
    make: Make, endpoint: Endpoint, transport: str
):
    """RFC 29 XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a
    suitable unsubscribe request for the calling application"."""
    with anyio.fail_after(5):
        xpub, (s1, s2) = await two_subscribers(make, endpoint, xpub_verbose=True)
        await subscribed(s1, xpub, b"A")
        await subscribed(s1, xpub, b"B")
        await subscribed(s2, xpub, b"B")
        async with xpub.monitor(zmtp.Event.DISCONNECTED) as monitor:
            for sub, gone in ((s1, b"\x00A"), (s2, b"\x00B")):  # s2 still wants B
                await sub.close()
                if transport != "inproc":  # inproc peers part at once
                    await monitor.wait_for(zmtp.Event.DISCONNECTED)
                assert await xpub.recv() == gone


async def test_xpub_recv_already_waiting_wakes_for_the_unsubscription_of_a_departed_subscriber(
    make: Make, endpoint: Endpoint
):
    """The unsubscription is news for a ``recv()`` parked before the peer left."""
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        await subscribed(sub, xpub, b"A")
        got: list[bytes] = []

        async def receive() -> None:
            got.append(await xpub.recv())

        async with anyio.create_task_group() as tg:
            tg.start_soon(receive)
            await anyio.wait_all_tasks_blocked()  # recv() is waiting
            await sub.close()
            # the group ends when recv() returns; fail_after bounds one that never wakes
        assert got == [b"\x00A"]


async def test_xpub_manual_sends_only_what_the_application_subscribed(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub = make(zmtp.XPUB, xpub_manual=True)
        sub = make(zmtp.SUB)
        await link(xpub, sub, endpoint())
        sub.subscribe(b"A")
        assert await xpub.recv() == b"\x01A"  # reported, not applied
        await xpub.send(b"A before the application agreed")
        xpub.subscribe(b"A")  # for the peer whose subscription was received last
        await xpub.send(b"A after")
        assert await sub.recv() == b"A after"

        sub.unsubscribe(b"A")
        assert await xpub.recv() == b"\x00A"  # reported, not applied
        xpub.unsubscribe(b"A")
        await subscribed(sub, xpub, b"A")  # reported again, and not applied
        await xpub.send(b"A not applied")
        await subscribed(sub, xpub, b"Z")
        xpub.subscribe(b"Z")
        await xpub.send(b"Z marks the end")
        assert await sub.recv() == b"Z marks the end"


async def test_xpub_welcome_msg_greets_each_new_subscriber(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub = make(zmtp.XPUB, xpub_welcome_msg=b"W", xpub_verbose=True)
        ep = await xpub.bind(endpoint())
        for _ in range(2):
            sub = make(zmtp.SUB, subscribe=b"W")
            await sub.connect(ep)
            assert await sub.recv() == b"W"
            assert await xpub.recv() == b"\x01W"


@pytest.mark.needs("cancel-in-flight")
async def test_xpub_nodrop_makes_send_wait_instead_of_dropping(make: Make, endpoint: Endpoint):
    with anyio.fail_after(10):
        xpub, sub = await xpub_and_sub(make, endpoint, {"sndhwm": 5, "xpub_nodrop": True}, rcvhwm=5)
        await subscribed(sub, xpub, b"")
        msg = [b"n" * 16384]
        queued = await fill_until_send_waits(xpub, msg)
        with pytest.raises(zmtp.Again):
            await xpub.send_multipart(msg, zmtp.DONTWAIT)
        # Nothing was dropped: the subscriber gets every message that was accepted.
        for _ in range(queued):
            assert await sub.recv_multipart() == msg
        await settle(KERNEL_CUSHION)
        assert drain(sub) == []
        xpub.send_multipart_nowait([b"room again"])  # and the queue took messages again
        assert await sub.recv() == b"room again"


async def test_without_nodrop_a_full_subscriber_never_makes_send_wait(
    make: Make, endpoint: Endpoint
):
    # The control for the test above, with the same sockets and queue sizes.
    with anyio.fail_after(10):
        xpub, sub = await xpub_and_sub(make, endpoint, {"sndhwm": 5}, rcvhwm=5)
        await subscribed(sub, xpub, b"")
        # 48 MB: more than both pipes and the kernel's buffers can hold (test_hwm.py).
        for _ in range(3):
            for _ in range(1000):
                xpub.send_multipart_nowait([b"n" * 16384])  # never Again
            await settle(0)
        with anyio.move_on_after(1) as waited:
            await xpub.send_multipart([b"n" * 16384])
        assert not waited.cancelled_caught


# ---------------------------------------------------------------------------------------
# A slow subscriber (RFC 29 PUB: "SHALL silently drop the message if the queue for a
# subscriber is full"; "SHALL NOT block on sending")

SLOW_HWM = 20
SLOW_MSG_SIZE = 16 * 1024
SLOW_ROUNDS, SLOW_BATCH = 100, 10  # 1000 messages, 16 MB published


async def test_a_subscriber_that_never_reads_slows_neither_the_publisher_nor_the_others(
    make: Make, endpoint: Endpoint
):
    """The publisher sends in rounds that a fast subscriber keeps up with, while a second
    subscriber never reads. No send waits or fails, the fast subscriber gets every
    message in order, and zmtp's memory stays bounded.

    The bound: what the slow subscriber's path may hold in Python objects is the two
    pipes (``2 * SLOW_HWM`` messages), the reader's last read (``READ_SIZE``, the
    bytes and the messages cut from them) and the writer's batch (``BATCH_BYTES``,
    encoded), the kernel's buffers being outside the process:
    ``2 * (2 * 20 * 16 KiB + 256 KiB + 1 MiB)`` ~ 3.8 MiB, against 16 MB published.
    Observed (tracemalloc, peak over the start of the loop): about 0.9 MB over inproc,
    1.9 MB over tcp and ipc; the publisher dropped for the slow one all along.
    """
    bound = 2 * (2 * SLOW_HWM * SLOW_MSG_SIZE + READ_SIZE + BATCH_BYTES)
    published = SLOW_ROUNDS * SLOW_BATCH * SLOW_MSG_SIZE
    assert published > 4 * bound
    with anyio.fail_after(30):
        xpub = make(zmtp.XPUB, sndhwm=SLOW_HWM, xpub_verbose=True)
        ep = await xpub.bind(endpoint())
        fast = make(zmtp.SUB, subscribe=b"")
        slow = make(zmtp.SUB, subscribe=b"", rcvhwm=SLOW_HWM)
        for sub in (fast, slow):
            await sub.connect(ep)
            assert await xpub.recv() == b"\x01"

        body = b"." * (SLOW_MSG_SIZE - 8)
        got: list[int] = []
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            for r in range(SLOW_ROUNDS):
                for i in range(r * SLOW_BATCH, (r + 1) * SLOW_BATCH):
                    # A fresh body per message: anything kept shows in the tally.
                    xpub.send_multipart_nowait([b"%08d" % i + body[:-1] + b"!"])
                for _ in range(SLOW_BATCH):
                    got.append(int((await fast.recv())[:8]))
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert got == list(range(SLOW_ROUNDS * SLOW_BATCH))
        assert peak < bound, f"{peak} bytes held while {published} were published"
        assert xpub._core.pattern.dist.dropped > 0, "the slow subscriber's path held everything"
        # The slow one holds at most its queue (plus one read), all in order.
        waiting = [int(m[0][:8]) for m in drain(slow)]
        assert waiting == sorted(waiting)
        assert len(waiting) <= 2 * SLOW_HWM + READ_SIZE // SLOW_MSG_SIZE + 1


# ---------------------------------------------------------------------------------------
# XSUB: subscriptions as messages, and messages upstream (RFC 29 XSUB: "SHALL accept
# subscription commands from its calling application"; XPUB "SHALL deliver these
# messages to its calling application")


async def test_xsub_sends_subscriptions_as_messages_and_other_messages_upstream(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub = make(zmtp.XPUB)
        xsub = make(zmtp.XSUB)
        await link(xpub, xsub, endpoint())
        await xsub.send(b"\x01A")
        assert await xpub.recv() == b"\x01A"
        await xsub.send_multipart([b"hello", b"\x01not a subscription"])
        assert await xpub.recv_multipart() == [b"hello", b"\x01not a subscription"]
        await xsub.send(b"\x02A")  # neither 0 nor 1 first: a message
        assert await xpub.recv() == b"\x02A"
        await xpub.send(b"A for the xsub")
        assert await xsub.recv() == b"A for the xsub"
        await xsub.send(b"\x00A")
        assert await xpub.recv() == b"\x00A"


# ---------------------------------------------------------------------------------------
# The forwarder: zmtp.proxy(XSUB, XPUB)


async def test_proxy_forwards_subscriptions_upstream_and_messages_downstream(
    engine: Engine, make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        frontend, backend = make(zmtp.XSUB), make(zmtp.XPUB)
        publisher = make(zmtp.XPUB)  # an XPUB, to see the subscription arrive
        subscriber = make(zmtp.SUB)
        await link(frontend, publisher, endpoint())
        await link(backend, subscriber, endpoint())
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.proxy, frontend, backend)
            subscriber.subscribe(b"A")
            # SUB -> XPUB backend -> proxy -> XSUB frontend -> the publisher
            assert await publisher.recv() == b"\x01A"
            await publisher.send_multipart([b"B", b"filtered upstream"])
            await publisher.send_multipart([b"A", b"forwarded"])
            assert await subscriber.recv_multipart() == [b"A", b"forwarded"]

            subscriber.unsubscribe(b"A")
            assert await publisher.recv() == b"\x00A"
            tg.cancel_scope.cancel()


# ---------------------------------------------------------------------------------------
# Conflation, reconnection, and the API


async def test_conflating_sub_keeps_only_the_newest_message(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint, conflate=True)
        await subscribed(sub, xpub, b"")
        for i in range(100):
            xpub.send_multipart_nowait([b"%d" % i])
        await settle(KERNEL_CUSHION)
        assert sub.recv_nowait() == b"99"
        with pytest.raises(zmtp.Again):
            sub.recv_nowait()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_subscriptions_are_sent_again_to_a_publisher_restarted_on_the_same_endpoint(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        first = make(zmtp.XPUB)
        sub = make(zmtp.SUB, reconnect_ivl=10)
        ep = await link(first, sub, endpoint())
        await subscribed(sub, first, b"A")
        await subscribed(sub, first, b"B")
        sub.unsubscribe(b"B")
        assert await first.recv() == b"\x00B"
        await first.close()

        second = make(zmtp.XPUB)
        assert await second.bind(ep) == ep
        # The SUB reconnects and subscribes again, to what it holds now.
        assert await second.recv() == b"\x01A"
        await second.send(b"B is no longer wanted")
        await second.send(b"A after the restart")
        assert await sub.recv() == b"A after the restart"


async def test_sub_subscribe_keyword_takes_a_topic_or_a_list_bytes_or_str(
    make: Make, endpoint: Endpoint
):
    with anyio.fail_after(5):
        xpub = make(zmtp.XPUB, xpub_verbose=True)
        ep = await xpub.bind(endpoint())
        one = make(zmtp.SUB, subscribe=b"one")
        many = make(zmtp.SUB, subscribe=[b"two", "thrée"])
        for sub in (one, many):
            await sub.connect(ep)
        reported = {await xpub.recv() for _ in range(3)}
        assert reported == {b"\x01one", b"\x01two", "\x01thrée".encode()}
        for topic in (b"one", b"two", "thrée".encode()):
            await xpub.send(topic)
        assert await one.recv() == b"one"
        assert [await many.recv() for _ in range(2)] == [b"two", "thrée".encode()]


async def test_str_topics_are_utf8_encoded(make: Make, endpoint: Endpoint):
    with anyio.fail_after(5):
        xpub, sub = await xpub_and_sub(make, endpoint)
        sub.subscribe("météo/")
        assert await xpub.recv() == b"\x01" + "météo/".encode()
        await xpub.send_string("météo/paris 21°")
        assert await sub.recv_string() == "météo/paris 21°"
        sub.unsubscribe("météo/")
        assert await xpub.recv() == b"\x00" + "météo/".encode()


async def test_socket_types_refuse_what_rfc_29_does_not_give_them(make: Make):
    with anyio.fail_after(5):
        pub, sub = make(zmtp.PUB), make(zmtp.SUB)
        xpub = make(zmtp.XPUB)
        with pytest.raises(zmtp.InvalidState):
            await pub.recv()
        with pytest.raises(zmtp.InvalidState):
            pub.subscribe(b"A")
        with pytest.raises(zmtp.InvalidState):
            await sub.send(b"A")
        with pytest.raises(zmtp.InvalidState):
            xpub.subscribe(b"A")  # only with xpub_manual
        for sock in (make(zmtp.PUSH), make(zmtp.XSUB)):
            with pytest.raises(zmtp.InvalidState):
                sock.subscribe(b"A")
