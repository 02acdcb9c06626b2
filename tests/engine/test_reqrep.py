"""Request-reply (RFC 28/REQREP) between zmtp sockets, over inproc, tcp and ipc.

REQ <-> REP round trips, load balancing and fair queuing across three peers, the
envelopes DEALER, ROUTER and REP see, ROUTER <-> ROUTER with ``connect_routing_id``,
``probe_router``, ``router_handover``, a multi-hop REQ -> ROUTER/DEALER ``zmtp.proxy``
-> REP chain, and the recovery story of a REQ whose server died without replying: the
"lazy pirate" of ``examples/lazy_pirate.py``, in both of its variants.

Nothing sleeps: waits are for monitor events, messages and ``anyio.Event``s; the one
timer is the lazy pirate's own receive timeout, which is the pattern under test.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest
from engine_helpers import drain, link
from engines import Engine, settle

import zmtp

Make = Callable[..., zmtp.Socket]

#: The lazy pirate's receive timeout (seconds): how long a client waits for a reply
#: before it starts over. Long enough for a handshake on a loaded machine.
PIRATE_TIMEOUT = 0.25


def load_example(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lazy_pirate = load_example("lazy_pirate")
LAZY_PIRATE_IS_TRIO = pytest.mark.engines(
    "trio", reason="examples/lazy_pirate.py is a trio program (trio.move_on_after)"
)


async def link_all(
    binders: list[zmtp.Socket], connecter: zmtp.Socket, endpoint: Callable[[], str]
) -> None:
    """Bind each of ``binders`` and connect ``connecter`` to each, one after the other
    (so the connecter's peers are in connect order); return once all are up."""
    for binder in binders:
        await link(binder, connecter, endpoint())


async def join(binder: zmtp.Socket, connecter: zmtp.Socket, endpoint: str) -> None:
    """Connect ``connecter`` to the already bound ``endpoint`` of ``binder``; return once
    both report the handshake done (inproc reports the link the same way)."""
    async with (
        binder.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as on_binder,
        connecter.monitor(zmtp.Event.HANDSHAKE_SUCCEEDED) as on_connecter,
    ):
        await connecter.connect(endpoint)
        await on_binder.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)
        await on_connecter.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED)


async def serve(rep: zmtp.Socket, name: bytes) -> None:
    """A REP service that answers ``[name, *request]`` until cancelled."""
    while True:
        request = await rep.recv_multipart()
        await rep.send_multipart([name, *request])


# ---------------------------------------------------------------------------------------
# REQ <-> REP


async def test_req_and_rep_alternate_requests_and_replies(make: Make, endpoint):
    with anyio.fail_after(5):
        rep = make(zmtp.REP)
        req = make(zmtp.REQ)
        await link(rep, req, endpoint())
        for i in range(3):
            await req.send_multipart([b"Hello", b"%d" % i])
            assert await rep.recv_multipart() == [b"Hello", b"%d" % i]
            await rep.send_string("World")
            assert await req.recv_string() == "World"


async def test_alternation_violations_raise_invalid_state_at_the_call(make: Make, endpoint):
    with anyio.fail_after(5):
        rep = make(zmtp.REP)
        req = make(zmtp.REQ)
        await link(rep, req, endpoint())
        with pytest.raises(zmtp.InvalidState, match="REQ cannot receive"):
            await req.recv()
        with pytest.raises(zmtp.InvalidState, match="REP cannot send"):
            await rep.send(b"reply to nothing")
        await req.send(b"one")
        with pytest.raises(zmtp.InvalidState, match="REQ cannot send"):
            await req.send(b"two")
        assert await rep.recv() == b"one"
        with pytest.raises(zmtp.InvalidState, match="REP cannot receive"):
            rep.recv_multipart_nowait()
        await rep.send(b"reply to one")
        assert await req.recv() == b"reply to one"


async def test_req_load_balances_requests_over_three_reps_in_turn(make: Make, endpoint):
    """RFC 28: REQ "SHALL route outgoing messages to connected peers using a
    round-robin strategy"."""
    with anyio.fail_after(5):
        reps = [make(zmtp.REP) for _ in range(3)]
        req = make(zmtp.REQ)
        await link_all(reps, req, endpoint)
        async with anyio.create_task_group() as tg:
            for i, rep in enumerate(reps):
                tg.start_soon(serve, rep, b"%d" % i)
            served = []
            for n in range(9):
                await req.send(b"%d" % n)
                name, body = await req.recv_multipart()
                assert body == b"%d" % n
                served.append(int(name))
            tg.cancel_scope.cancel()
        assert served == [0, 1, 2] * 3


async def test_rep_fair_queues_requests_from_three_reqs(make: Make, endpoint):
    """RFC 28: REP "SHALL receive incoming messages from its peers using a
    fair-queuing strategy"; each reply reaches the REQ that asked."""
    with anyio.fail_after(5):
        rep = make(zmtp.REP)
        reqs = [make(zmtp.REQ) for _ in range(3)]
        ep = await rep.bind(endpoint())
        for req in reqs:
            await join(rep, req, ep)
        for turn in range(4):
            for i, req in enumerate(reqs):
                await req.send_multipart([b"%d" % i, b"%d" % turn])
            await settle(0.02)  # every request is in REP
            senders = []
            for _ in reqs:
                i, t = await rep.recv_multipart()
                assert int(t) == turn
                senders.append(int(i))
                await rep.send_multipart([b"for", i])
            assert sorted(senders) == [0, 1, 2]
            for i, req in enumerate(reqs):
                assert await req.recv_multipart() == [b"for", b"%d" % i]


async def test_rep_takes_one_request_per_peer_per_turn_from_three_dealers(make: Make, endpoint):
    """Fair queuing seen from peers that queue several requests each (DEALERs)."""
    with anyio.fail_after(5):
        rep = make(zmtp.REP)
        dealers = [make(zmtp.DEALER) for _ in range(3)]
        ep = await rep.bind(endpoint())
        for dealer in dealers:
            await join(rep, dealer, ep)
        for i, dealer in enumerate(dealers):
            for n in range(4):
                await dealer.send_multipart([b"", b"%d" % i, b"%d" % n])
        await settle(0.02)  # every request is in REP
        served = []
        for _ in range(12):
            i, n = await rep.recv_multipart()
            served.append((int(i), int(n)))
            await rep.send(b"ok")
        for turn in range(4):
            assert sorted(served[3 * turn : 3 * turn + 3]) == [(0, turn), (1, turn), (2, turn)]
        for dealer in dealers:
            for _ in range(4):
                assert await dealer.recv_multipart() == [b"", b"ok"]


# ---------------------------------------------------------------------------------------
# Envelopes: what DEALER, ROUTER and REP see and send


async def test_dealer_to_rep_the_rep_strips_any_envelope_and_puts_it_back(make: Make, endpoint):
    """RFC 28: REP "SHALL remove and store the address envelope, including the
    delimiter" and "SHALL prepend the address envelope and delimiter"."""
    with anyio.fail_after(5):
        rep = make(zmtp.REP)
        dealer = make(zmtp.DEALER)
        await link(rep, dealer, endpoint())
        for envelope in ([b""], [b"X", b"Y", b""]):
            await dealer.send_multipart([*envelope, b"A"])
            assert await rep.recv_multipart() == [b"A"]
            await rep.send_multipart([b"B", b"C"])
            assert await dealer.recv_multipart() == [*envelope, b"B", b"C"]


async def test_req_to_router_the_request_arrives_as_routing_id_delimiter_body(make: Make, endpoint):
    with anyio.fail_after(5):
        router = make(zmtp.ROUTER)
        req = make(zmtp.REQ, routing_id=b"client-7")
        await link(router, req, endpoint())
        await req.send_multipart([b"ABC", b"DEF"])
        assert await router.recv_multipart() == [b"client-7", b"", b"ABC", b"DEF"]
        await router.send_multipart([b"client-7", b"no delimiter: discarded by REQ"])
        await router.send_multipart([b"client-7", b"", b"GHI"])
        assert await req.recv_multipart() == [b"GHI"]


async def test_dealer_to_router_messages_carry_the_dealers_id_or_a_generated_one(
    make: Make, endpoint
):
    with anyio.fail_after(5):
        router = make(zmtp.ROUTER)
        named = make(zmtp.DEALER, routing_id=b"named")
        anonymous = make(zmtp.DEALER)
        ep = await link(router, named, endpoint())
        await join(router, anonymous, ep)
        await named.send_multipart([b"", b"from named"])
        assert await router.recv_multipart() == [b"named", b"", b"from named"]
        await anonymous.send(b"from anonymous")
        rid, body = await router.recv_multipart()
        assert body == b"from anonymous"
        assert len(rid) == 5 and rid[0] == 0
        await router.send_multipart([rid, b"back to anonymous"])
        await router.send_multipart([b"named", b"", b"back to named"])
        assert await anonymous.recv_multipart() == [b"back to anonymous"]
        assert await named.recv_multipart() == [b"", b"back to named"]


# ---------------------------------------------------------------------------------------
# ROUTER options


async def test_router_to_router_routes_by_connect_routing_id_and_announced_id(make: Make, endpoint):
    with anyio.fail_after(5):
        server = make(zmtp.ROUTER, routing_id=b"server")
        client = make(
            zmtp.ROUTER, routing_id=b"client", connect_routing_id=b"srv", router_mandatory=True
        )
        await link(server, client, endpoint())
        assert client.connect_routing_id == b"", "connect_routing_id names one connect only"
        await client.send_multipart([b"srv", b"hello"])
        assert await server.recv_multipart() == [b"client", b"hello"]
        await server.send_multipart([b"client", b"back"])
        assert await client.recv_multipart() == [b"srv", b"back"]
        with pytest.raises(zmtp.HostUnreachable):
            await client.send_multipart([b"server", b"the announced id is not used"])


async def test_router_with_connect_routing_id_can_route_before_the_connection_is_up(
    make: Make, fixed_endpoint
):
    """RFC 28: ROUTER "SHALL create a double queue when initiating an outgoing
    connection to a peer, and SHALL maintain the double queue whether or not the
    connection is established"; with ``connect_routing_id`` its identity is known."""
    with anyio.fail_after(5):
        ep = fixed_endpoint()
        client = make(
            zmtp.ROUTER, routing_id=b"client", connect_routing_id=b"srv", router_mandatory=True
        )
        await client.connect(ep)
        await client.send_multipart([b"srv", b"early"])
        server = make(zmtp.ROUTER)
        await server.bind(ep)
        assert await server.recv_multipart() == [b"client", b"early"]


@pytest.mark.parametrize("prober_type", [zmtp.DEALER, zmtp.ROUTER], ids=["dealer", "router"])
async def test_probe_router_greets_the_router_with_an_empty_message(
    make: Make, endpoint, prober_type
):
    """libzmq's test_probe_router: a new peer's first message is its id and an empty
    frame, before the application sends anything."""
    with anyio.fail_after(5):
        server = make(zmtp.ROUTER)
        client = make(prober_type, routing_id=b"X", probe_router=True)
        await link(server, client, endpoint())
        assert await server.recv_multipart() == [b"X", b""]
        await server.send_multipart([b"X", b"Hello"])
        got = await client.recv_multipart()
        if prober_type == zmtp.ROUTER:
            rid, body = got
            assert len(rid) == 5 and rid[0] == 0  # the server announced no id
            assert body == b"Hello"
        else:
            assert got == [b"Hello"]


async def test_router_handover_hands_the_id_to_the_newcomer_and_drops_the_old_peer(
    make: Make, endpoint, transport, request
):
    with anyio.fail_after(5):
        router = make(zmtp.ROUTER, router_handover=True, router_mandatory=True)
        first = make(zmtp.DEALER, routing_id=b"X", reconnect_ivl=-1)
        second = make(zmtp.DEALER, routing_id=b"X")
        ep = await link(router, first, endpoint())
        await first.send(b"from first")
        assert await router.recv_multipart() == [b"X", b"from first"]
        async with first.monitor(zmtp.Event.DISCONNECTED) as evicted:
            await join(router, second, ep)
            if transport != "inproc":  # inproc has no connection to lose
                await evicted.wait_for(zmtp.Event.DISCONNECTED)
        await router.send_multipart([b"X", b"to X"])
        assert await second.recv_multipart() == [b"to X"]
        await second.send(b"from second")
        assert await router.recv_multipart() == [b"X", b"from second"]
        await settle(0)
        assert drain(first) == []
        if transport == "inproc":
            with pytest.raises(zmtp.Again):
                first.send_multipart_nowait([b"the evicted peer has no peer"])


# ---------------------------------------------------------------------------------------
# Multi-hop: REQ -> ROUTER/DEALER proxy -> REP (the envelope grows one hop at a time)


async def test_requests_cross_a_router_dealer_proxy_and_replies_find_their_way_back(
    engine: Engine, make: Make, endpoint
):
    with anyio.fail_after(10):
        frontend = make(zmtp.ROUTER)
        backend = make(zmtp.DEALER)
        front_ep = await frontend.bind(endpoint())
        back_ep = await backend.bind(endpoint())
        reps = [make(zmtp.REP) for _ in range(2)]
        reqs = [make(zmtp.REQ) for _ in range(3)]
        for rep in reps:
            await rep.connect(back_ep)
        for req in reqs:
            await req.connect(front_ep)
        answered: dict[int, list[bytes]] = {i: [] for i in range(len(reqs))}

        async def client(i: int, req: zmtp.Socket) -> None:
            for n in range(5):
                await req.send_multipart([b"%d" % i, b"%d" % n])
                name, who, seq = await req.recv_multipart()
                assert (who, seq) == (b"%d" % i, b"%d" % n), "a reply reached the wrong REQ"
                answered[i].append(name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.proxy, frontend, backend)
            for j, rep in enumerate(reps):
                tg.start_soon(serve, rep, b"rep%d" % j)
            async with anyio.create_task_group() as clients:
                for i, req in enumerate(reqs):
                    clients.start_soon(client, i, req)
            tg.cancel_scope.cancel()
        assert all(len(names) == 5 for names in answered.values())
        assert {n for names in answered.values() for n in names} == {b"rep0", b"rep1"}


async def test_a_router_behind_a_proxy_sees_one_routing_id_per_hop(
    engine: Engine, make: Make, endpoint
):
    with anyio.fail_after(5):
        frontend = make(zmtp.ROUTER)
        backend = make(zmtp.DEALER, routing_id=b"proxy")
        worker = make(zmtp.ROUTER)
        req = make(zmtp.REQ, routing_id=b"client")
        await link(frontend, req, endpoint())
        await link(worker, backend, endpoint())
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.proxy, frontend, backend)
            await req.send(b"job")
            envelope = await worker.recv_multipart()
            assert envelope == [b"proxy", b"client", b"", b"job"]
            await worker.send_multipart([b"proxy", b"client", b"", b"done"])
            assert await req.recv() == b"done"
            tg.cancel_scope.cancel()


# ---------------------------------------------------------------------------------------
# When the server dies: the stuck REQ, and the lazy pirate


async def test_a_req_whose_server_died_unanswered_stays_stuck_after_a_restart(
    make: Make, endpoint, transport
):
    """RFC 28 allows only the peer asked to answer, and the request died with it: the
    restarted server never sees it, and REQ may not send again (hence the pirate)."""
    with anyio.fail_after(5):
        client = make(zmtp.REQ, reconnect_ivl=10)
        first = make(zmtp.REP)
        ep = await link(first, client, endpoint())
        await client.send(b"job")
        assert await first.recv() == b"job"
        async with client.monitor() as events:
            await first.close()
            second = make(zmtp.REP)
            await second.bind(ep)
            if transport != "inproc":  # inproc does not reconnect (as in libzmq)
                await events.wait_for(zmtp.Event.DISCONNECTED, ep)
                await events.wait_for(zmtp.Event.HANDSHAKE_SUCCEEDED, ep)
        await settle(0)
        assert drain(second) == [], "the restarted server got a request nobody re-sent"
        with pytest.raises(zmtp.Again):
            client.recv_multipart_nowait()
        with pytest.raises(zmtp.InvalidState):
            await client.send(b"job again")


async def crash_then_restart(
    make: Make, endpoint: str, *, task_status: Any = anyio.TASK_STATUS_IGNORED
) -> None:
    """A REP server that takes its first request and dies without replying; as soon
    as it has died (an event, not a timer) a new one binds the same endpoint and
    answers ``reply to <request>`` for good. ``task_status.started(log)``: the list
    of ``(server, request)`` each saw."""
    log: list[tuple[str, bytes]] = []
    first = make(zmtp.REP)
    await first.bind(endpoint)
    task_status.started(log)
    log.append(("crashed", await first.recv()))
    await first.close()  # dies with the request unanswered
    second = make(zmtp.REP)
    await second.bind(endpoint)
    while True:
        request = await second.recv()
        log.append(("restarted", request))
        await second.send(b"reply to " + request)


@LAZY_PIRATE_IS_TRIO
async def test_lazy_pirate_with_a_new_req_socket_per_retry_survives_a_server_restart(
    ctx: zmtp.Context, make: Make, fixed_endpoint, transport
):
    with anyio.fail_after(10):
        ep = fixed_endpoint()
        async with anyio.create_task_group() as tg:
            log = await tg.start(crash_then_restart, make, ep)
            reply = await lazy_pirate.request_with_retries(
                ctx, ep, b"job", timeout=PIRATE_TIMEOUT, retries=4
            )
            tg.cancel_scope.cancel()
        assert reply == b"reply to job"
        assert log[0] == ("crashed", b"job")
        assert log[1:] and all(entry == ("restarted", b"job") for entry in log[1:]), log


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@LAZY_PIRATE_IS_TRIO
async def test_lazy_pirate_with_relaxed_correlated_req_survives_a_server_restart(
    make: Make, fixed_endpoint, transport
):
    """One socket with ``req_relaxed`` and ``req_correlate`` sends again after the
    timeout; its connection comes back to the restarted server by itself. (Over
    inproc, where nothing reconnects, only a new socket recovers.)"""
    with anyio.fail_after(10):
        ep = fixed_endpoint()
        client = make(zmtp.REQ, req_relaxed=True, req_correlate=True, reconnect_ivl=10)
        async with anyio.create_task_group() as tg:
            log = await tg.start(crash_then_restart, make, ep)
            await client.connect(ep)
            reply = await lazy_pirate.relaxed_request_with_retries(
                client, b"job", timeout=PIRATE_TIMEOUT, retries=4
            )
            tg.cancel_scope.cancel()
        assert reply == b"reply to job"
        assert log[0] == ("crashed", b"job")
        assert log[1:] and all(entry == ("restarted", b"job") for entry in log[1:]), log


async def test_over_inproc_a_relaxed_req_has_no_peer_once_its_server_closed(make: Make):
    """Why the relaxed pirate needs a transport that reconnects: an inproc link ends
    with the socket that bound it, and a new socket bound to the same name is not
    linked to old connecters (libzmq 4.3.5 behaves the same: the resend waits)."""
    with anyio.fail_after(5):
        client = make(zmtp.REQ, req_relaxed=True, req_correlate=True)
        first = make(zmtp.REP)
        ep = await link(first, client, "inproc://relaxed-pirate")
        await client.send(b"job")
        assert await first.recv() == b"job"
        await first.close()
        second = make(zmtp.REP)
        await second.bind(ep)
        with pytest.raises(zmtp.Again):
            client.send_multipart_nowait([b"job again"])


@pytest.mark.parametrize("req_binds", [False, True], ids=["req-connects", "req-binds"])
async def test_req_receives_the_reply_its_rep_sent_just_before_closing(
    make: Make, endpoint, transport, req_binds
):
    """A reply that reached REQ before the connection ended is still the reply (libzmq
    reads a terminated pipe to its end before forgetting it). A connecter's pipe
    outlives its connection; an accepted or inproc pipe does not, which is what
    ``req-binds`` and inproc check."""
    with anyio.fail_after(5):
        req = make(zmtp.REQ)
        rep = make(zmtp.REP)
        if req_binds:
            await link(req, rep, endpoint())
        else:
            await link(rep, req, endpoint())
        async with req.monitor(zmtp.Event.DISCONNECTED) as events:
            await req.send(b"job")
            assert await rep.recv() == b"job"
            await rep.send(b"done")
            await rep.close(linger=1000)
            if transport != "inproc":
                await events.wait_for(zmtp.Event.DISCONNECTED)
        await settle(0)
        assert req.recv_multipart_nowait() == [b"done"]
