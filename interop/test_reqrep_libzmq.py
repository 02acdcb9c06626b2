"""Request-reply (RFC 28/REQREP) between zmtp and libzmq 4.3 (through pyzmq).

Each socket type of the family on each side of the wire: REQ <-> REP both ways, the
envelopes a ROUTER or a DEALER sees from the other library, ROUTER <-> ROUTER with
explicit routing ids, multi-hop chains through a ROUTER/DEALER proxy of either library,
load balancing over and fair queuing from three libzmq peers, ``router_mandatory``,
routing ids crossing in both directions, and ``req_correlate`` / ``req_relaxed``
request ids on the wire.

Every test runs over tcp and ipc, and (unless the scenario fixes who binds) once with
zmtp binding and once with libzmq binding. libzmq never runs on the event loop's thread:
its blocking calls go through ``anyio.to_thread`` and every libzmq socket has 5 s send and
receive timeouts (the ``zsock`` fixture); every test body runs under
``anyio.fail_after``. Nothing sleeps: zmtp waits on its monitor and on messages.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Sequence

import anyio
import pytest
import zmq
from engines import Engine
from libzmq_helpers import TIMEOUT, ZMTP_BINDS, Msg, in_thread, join

import zmtp

pytestmark = pytest.mark.interop

#: Seconds a whole test may take.
TEST_TIMEOUT = 15.0

#: libzmq's REQ writes its uint32 request id in host order.
REQUEST_ID = struct.Struct("=I")

_inproc_names = itertools.count()


# ---------------------------------------------------------------------------------------
# Helpers (the shared fixtures and helpers: conftest.py, libzmq_helpers.py)


def answer(zsocket: zmq.Socket, n: int, prefix: Sequence[bytes] = (b"re",)) -> list[Msg]:
    """libzmq REP (or REQ-facing DEALER/ROUTER): answer ``n`` requests with
    ``[*prefix, *request]``; returns the requests."""
    got = []
    for _ in range(n):
        msg = zsocket.recv_multipart()
        got.append(msg)
        zsocket.send_multipart([*prefix, *msg])
    return got


def serve_polled(reps: Sequence[zmq.Socket], total: int) -> list[int]:
    """Answer ``total`` requests arriving on any of the libzmq ``reps`` with
    ``[index, *request]``; returns the index of the REP that served each, in order."""
    poller = zmq.Poller()
    for rep in reps:
        poller.register(rep, zmq.POLLIN)
    served = []
    while len(served) < total:
        ready = dict(poller.poll(int(TIMEOUT * 1000)))
        if not ready:
            raise TimeoutError(f"served {served}, then nothing for {TIMEOUT} s")
        for i, rep in enumerate(reps):
            if rep in ready:
                rep.send_multipart([b"%d" % i, *rep.recv_multipart()])
                served.append(i)
    return served


def round_trips(req: zmq.Socket, requests: Sequence[Msg]) -> list[Msg]:
    """libzmq REQ: send each request and collect its reply."""
    replies = []
    for request in requests:
        req.send_multipart(request)
        replies.append(req.recv_multipart())
    return replies


# ---------------------------------------------------------------------------------------
# REQ <-> REP, both ways (RFC 28: REQ "SHALL prefix the outgoing message with an empty
# delimiter frame"; REP "SHALL remove and store the address envelope")

REQUESTS: list[Msg] = [[b"Hello"], [b"multi", b"part"], [b""], [b"", b"empty", b""]]


async def test_zmtp_req_and_libzmq_rep_exchange_requests_and_replies(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        req = zmtp_socket(zmtp.REQ)
        rep = zsock(zmq.REP)
        await join(req, [rep], binder, endpoints)
        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, answer, rep, len(REQUESTS))
            for request in REQUESTS:
                await req.send_multipart(request)
                assert await req.recv_multipart() == [b"re", *request]


async def test_libzmq_req_and_zmtp_rep_exchange_requests_and_replies(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        rep = zmtp_socket(zmtp.REP)
        req = zsock(zmq.REQ)
        await join(rep, [req], binder, endpoints)
        async with anyio.create_task_group() as tg:

            async def client() -> None:
                replies = await in_thread(round_trips, req, REQUESTS)
                assert replies == [[b"re", *r] for r in REQUESTS]

            tg.start_soon(client)
            for request in REQUESTS:
                assert await rep.recv_multipart() == request
                await rep.send_multipart([b"re", *request])


# ---------------------------------------------------------------------------------------
# Envelopes across the libraries


def router_answers(router: zmq.Socket, replies: Callable[[Msg], list[Msg]]) -> Msg:
    """libzmq ROUTER: receive one message, send each of ``replies(message)``."""
    msg = router.recv_multipart()
    for reply in replies(msg):
        router.send_multipart(reply)
    return msg


async def test_zmtp_req_reaches_a_libzmq_router_as_routing_id_delimiter_body(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        req = zmtp_socket(zmtp.REQ)
        router = zsock(zmq.ROUTER)
        await join(req, [router], binder, endpoints)
        await req.send_multipart([b"ABC", b"DEF"])
        request = await in_thread(
            router_answers,
            router,
            lambda m: [[m[0], b"no delimiter: REQ discards it"], [m[0], b"", b"GHI"]],
        )
        rid, *rest = request
        assert rest == [b"", b"ABC", b"DEF"]
        assert len(rid) == 5 and rid[0] == 0, "libzmq names an anonymous peer 0 + 4 octets"
        assert await req.recv_multipart() == [b"GHI"]


async def test_libzmq_dealer_envelope_comes_back_whole_from_zmtp_rep(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        rep = zmtp_socket(zmtp.REP)
        dealer = zsock(zmq.DEALER)
        await join(rep, [dealer], binder, endpoints)
        for envelope in ([b""], [b"X", b"Y", b""]):
            await in_thread(dealer.send_multipart, [*envelope, b"A"])
            assert await rep.recv_multipart() == [b"A"]
            await rep.send_multipart([b"B"])
            assert await in_thread(dealer.recv_multipart) == [*envelope, b"B"]


async def test_libzmq_req_routing_id_shows_up_in_the_zmtp_router(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        router = zmtp_socket(zmtp.ROUTER)
        req = zsock(zmq.REQ, routing_id=b"libzmq-req")
        await join(router, [req], binder, endpoints)
        async with anyio.create_task_group() as tg:

            async def client() -> None:
                assert await in_thread(round_trips, req, [[b"ABC"]]) == [[b"DEF"]]

            tg.start_soon(client)
            assert await router.recv_multipart() == [b"libzmq-req", b"", b"ABC"]
            await router.send_multipart([b"libzmq-req", b"", b"DEF"])


async def test_zmtp_dealer_routing_id_shows_up_in_the_libzmq_router(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        dealer = zmtp_socket(zmtp.DEALER, routing_id=b"zmtp-dealer")
        router = zsock(zmq.ROUTER)
        await join(dealer, [router], binder, endpoints)
        await dealer.send_multipart([b"", b"hi"])
        got = await in_thread(router_answers, router, lambda m: [[m[0], b"", b"back"]])
        assert got == [b"zmtp-dealer", b"", b"hi"]
        assert await dealer.recv_multipart() == [b"", b"back"]


async def test_routers_of_both_libraries_route_to_each_other_by_explicit_ids(
    zmtp_socket, zsock, endpoints, binder
):
    """The connecting ROUTER names its peer with ``connect_routing_id`` (libzmq's
    ZMQ_CONNECT_ROUTING_ID); the binding one knows it by its announced Identity."""
    with anyio.fail_after(TEST_TIMEOUT):
        ours = zmtp_socket(zmtp.ROUTER, routing_id=b"Z", router_mandatory=True)
        theirs = zsock(zmq.ROUTER, routing_id=b"L", router_mandatory=1)
        if binder == ZMTP_BINDS:
            theirs.connect_rid = b"Z-as-named-by-libzmq"
            our_name, their_name = b"L", b"Z-as-named-by-libzmq"
        else:
            ours.connect_routing_id = b"L-as-named-by-zmtp"
            our_name, their_name = b"L-as-named-by-zmtp", b"Z"
        await join(ours, [theirs], binder, endpoints)
        with pytest.raises(zmtp.HostUnreachable):
            await ours.send_multipart([b"nobody", b"x"])
        await ours.send_multipart([our_name, b"hello"])
        got = await in_thread(router_answers, theirs, lambda m: [[their_name, b"back"]])
        assert got == [their_name, b"hello"]
        assert await ours.recv_multipart() == [our_name, b"back"]


async def test_zmtp_router_mandatory_raises_host_unreachable_for_unknown_and_gone_ids(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        router = zmtp_socket(zmtp.ROUTER, router_mandatory=True)
        dealer = zsock(zmq.DEALER, routing_id=b"known")
        await join(router, [dealer], binder, endpoints)
        with pytest.raises(zmtp.HostUnreachable, match="unknown"):
            await router.send_multipart([b"unknown", b"lost"])
        await router.send_multipart([b"known", b"delivered"])
        assert await in_thread(dealer.recv_multipart) == [b"delivered"]
        async with router.monitor(zmtp.Event.DISCONNECTED) as monitor:
            dealer.close(linger=0)
            await monitor.wait_for(zmtp.Event.DISCONNECTED)
        with pytest.raises(zmtp.HostUnreachable, match="known"):
            await router.send_multipart([b"known", b"gone"])


# ---------------------------------------------------------------------------------------
# Several libzmq peers: load balancing and fair queuing


async def test_zmtp_req_load_balances_over_three_libzmq_reps_in_turn(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        req = zmtp_socket(zmtp.REQ)
        reps = [zsock(zmq.REP) for _ in range(3)]
        await join(req, reps, binder, endpoints, in_turn=True)
        answered = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, serve_polled, reps, 9)
            for n in range(9):
                await req.send(b"%d" % n)
                index, body = await req.recv_multipart()
                assert body == b"%d" % n
                answered.append(int(index))
        assert sorted(answered[:3]) == [0, 1, 2]
        assert answered == answered[:3] * 3, "REQ did not take its peers in turn"


async def test_zmtp_rep_serves_three_libzmq_reqs_each_its_own_replies(
    zmtp_socket, zsock, endpoints, binder
):
    per_req = 10
    with anyio.fail_after(TEST_TIMEOUT):
        rep = zmtp_socket(zmtp.REP)
        reqs = [zsock(zmq.REQ) for _ in range(3)]
        await join(rep, reqs, binder, endpoints, in_turn=True)
        served: list[int] = []
        async with anyio.create_task_group() as tg:
            for k, req in enumerate(reqs):

                async def client(k: int = k, req: zmq.Socket = req) -> None:
                    requests = [[b"%d" % k, b"%d" % n] for n in range(per_req)]
                    replies = await in_thread(round_trips, req, requests)
                    assert replies == [[b"for", *r] for r in requests]

                tg.start_soon(client)
            for _ in range(3 * per_req):
                k, n = await rep.recv_multipart()
                served.append(int(k))
                await rep.send_multipart([b"for", k, n])
        assert sorted(served) == sorted([0, 1, 2] * per_req)


# ---------------------------------------------------------------------------------------
# Multi-hop: REQ -> ROUTER/DEALER proxy -> REP, with hops of both libraries


async def test_libzmq_reqs_reach_libzmq_reps_through_a_zmtp_proxy(
    engine: Engine, zmtp_socket, zsock, endpoints
):
    with anyio.fail_after(TEST_TIMEOUT):
        frontend = zmtp_socket(zmtp.ROUTER)
        backend = zmtp_socket(zmtp.DEALER)
        front_ep = await frontend.bind(endpoints.to_bind())
        back_ep = await backend.bind(endpoints.to_bind())
        reps = [zsock(zmq.REP) for _ in range(2)]
        reqs = [zsock(zmq.REQ) for _ in range(2)]
        for rep in reps:
            rep.connect(back_ep)
        for req in reqs:
            req.connect(front_ep)
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.proxy, frontend, backend)
            async with anyio.create_task_group() as work:
                work.start_soon(in_thread, serve_polled, reps, 6)
                for k, req in enumerate(reqs):

                    async def client(k: int = k, req: zmq.Socket = req) -> None:
                        requests = [[b"%d" % k, b"%d" % n] for n in range(3)]
                        replies = await in_thread(round_trips, req, requests)
                        assert [r[1:] for r in replies] == requests
                        assert all(r[0] in (b"0", b"1") for r in replies)

                    work.start_soon(client)
            tg.cancel_scope.cancel()


async def test_zmtp_reqs_reach_zmtp_reps_through_a_libzmq_proxy(zmtp_socket, zsock, ctx, endpoints):
    with anyio.fail_after(TEST_TIMEOUT):
        frontend = zsock(zmq.ROUTER)
        backend = zsock(zmq.DEALER)
        frontend.bind(endpoints.to_bind())
        backend.bind(endpoints.to_bind())
        control_name = f"inproc://proxy-control-{next(_inproc_names)}"
        control = zsock(zmq.PAIR)
        control.bind(control_name)
        controller = zsock(zmq.PAIR)
        controller.connect(control_name)
        reps = [zmtp_socket(zmtp.REP) for _ in range(2)]
        reqs = [zmtp_socket(zmtp.REQ) for _ in range(2)]
        for rep in reps:
            await rep.connect(backend.last_endpoint.decode())
        for req in reqs:
            await req.connect(frontend.last_endpoint.decode())

        async def serve(j: int, rep: zmtp.Socket) -> None:
            while True:
                await rep.send_multipart([b"rep%d" % j, *await rep.recv_multipart()])

        async def client(k: int, req: zmtp.Socket) -> None:
            for n in range(3):
                await req.send_multipart([b"%d" % k, b"%d" % n])
                name, *echo = await req.recv_multipart()
                assert echo == [b"%d" % k, b"%d" % n], "a reply reached the wrong REQ"
                assert name in (b"rep0", b"rep1")

        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, zmq.proxy_steerable, frontend, backend, None, control)
            try:
                async with anyio.create_task_group() as servers:
                    for j, rep in enumerate(reps):
                        servers.start_soon(serve, j, rep)
                    async with anyio.create_task_group() as clients:
                        for k, req in enumerate(reqs):
                            clients.start_soon(client, k, req)
                    servers.cancel_scope.cancel()
            finally:
                controller.send(b"TERMINATE")  # the proxy thread returns


# ---------------------------------------------------------------------------------------
# req_correlate and req_relaxed: request ids on the wire


async def test_zmtp_req_correlate_against_libzmq_rep(zmtp_socket, zsock, endpoints, binder):
    """libzmq's REP echoes the request id as part of the envelope."""
    with anyio.fail_after(TEST_TIMEOUT):
        req = zmtp_socket(zmtp.REQ, req_correlate=True)
        rep = zsock(zmq.REP)
        await join(req, [rep], binder, endpoints)
        async with anyio.create_task_group() as tg:
            tg.start_soon(in_thread, answer, rep, 3)
            for n in range(3):
                await req.send(b"%d" % n)
                assert await req.recv_multipart() == [b"re", b"%d" % n]


async def test_zmtp_relaxed_correlated_req_drops_a_stale_reply_from_a_libzmq_router(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        req = zmtp_socket(zmtp.REQ, req_correlate=True, req_relaxed=True)
        router = zsock(zmq.ROUTER)
        await join(req, [router], binder, endpoints)
        await req.send(b"first")
        rid, id1, delimiter, body = await in_thread(router.recv_multipart)
        assert (len(id1), delimiter, body) == (4, b"", b"first")
        await req.send(b"second")  # abandons the first request
        rid2, id2, delimiter, body = await in_thread(router.recv_multipart)
        assert (rid2, delimiter, body) == (rid, b"", b"second")
        assert REQUEST_ID.unpack(id2)[0] == (REQUEST_ID.unpack(id1)[0] + 1) & 0xFFFFFFFF
        await in_thread(router.send_multipart, [rid, id1, b"", b"late reply to first"])
        await in_thread(router.send_multipart, [rid, id2, b"", b"reply to second"])
        assert await req.recv_multipart() == [b"reply to second"]


async def test_libzmq_relaxed_correlated_req_drops_a_stale_reply_from_a_zmtp_rep(
    zmtp_socket, zsock, endpoints, binder
):
    """zmtp's REP keeps libzmq's request id in the envelope it puts back, so libzmq's
    REQ can tell the reply to an abandoned request from the current one."""
    with anyio.fail_after(TEST_TIMEOUT):
        rep = zmtp_socket(zmtp.REP)
        req = zsock(zmq.REQ, req_correlate=1, req_relaxed=1)
        await join(rep, [req], binder, endpoints)
        await in_thread(req.send, b"first")
        assert await rep.recv() == b"first"
        await in_thread(req.send, b"second")  # abandons the first request
        await rep.send(b"late reply to first")
        assert await rep.recv() == b"second"
        await rep.send(b"reply to second")
        assert await in_thread(req.recv_multipart) == [b"reply to second"]


async def test_libzmq_correlated_req_reaches_a_zmtp_router_with_its_request_id(
    zmtp_socket, zsock, endpoints, binder
):
    with anyio.fail_after(TEST_TIMEOUT):
        router = zmtp_socket(zmtp.ROUTER)
        req = zsock(zmq.REQ, req_correlate=1, routing_id=b"R")
        await join(router, [req], binder, endpoints)
        async with anyio.create_task_group() as tg:

            async def client() -> None:
                assert await in_thread(round_trips, req, [[b"job"]]) == [[b"done"]]

            tg.start_soon(client)
            rid, request_id, delimiter, body = await router.recv_multipart()
            assert (rid, len(request_id), delimiter, body) == (b"R", 4, b"", b"job")
            other_id = REQUEST_ID.pack(REQUEST_ID.unpack(request_id)[0] ^ 0xFFFF)
            await router.send_multipart([b"R", other_id, b"", b"wrong id: dropped"])
            await router.send_multipart([b"R", request_id, b"", b"done"])
