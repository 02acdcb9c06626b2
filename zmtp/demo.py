"""``zmtp demo``: the classic ZeroMQ patterns, running on zmtp over tcp in one process.

pipeline
    A ventilator (PUSH) hands out tasks, N workers (PULL in, PUSH out) each "work" for
    the task's duration, a sink (PULL) collects the results. Tasks are spread evenly
    over the workers (load balancing) and gathered fairly (fair queuing), so N
    workers finish about N times sooner than one.
hello
    Request-reply: a REP server answers "World" to each "Hello" of a REQ client.
weather
    Publish-subscribe: a PUB server publishes random "zipcode temperature humidity"
    updates; a SUB client subscribed to one zip code averages its temperature. The
    publisher filters, so only that zip code's updates cross the wire.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import trio

import zmtp
from zmtp.monitor import Event


async def pipeline(workers: int = 4, tasks: int = 100, seed: int = 1) -> dict[str, float]:
    """Run the ventilator -> workers -> sink pipeline; print and return its figures.

    ``workers`` and ``tasks`` must be at least 1 (``zmtp.ZMTPValueError`` otherwise):
    with no worker nothing would ever come back, with no task there is nothing to time.
    """
    if workers < 1:
        raise zmtp.ZMTPValueError(f"the pipeline needs at least one worker, got {workers}")
    if tasks < 1:
        raise zmtp.ZMTPValueError(f"the pipeline needs at least one task, got {tasks}")
    rng = random.Random(seed)
    workloads = [rng.randint(1, 40) for _ in range(tasks)]  # milliseconds
    total_ms = sum(workloads)
    done_by: Counter[str] = Counter()

    async with zmtp.Context() as ctx:
        ventilator = ctx.socket(zmtp.PUSH)
        sink = ctx.socket(zmtp.PULL)
        monitor = ventilator.monitor(Event.HANDSHAKE_SUCCEEDED)
        tasks_ep = await ventilator.bind("tcp://127.0.0.1:*")
        results_ep = await sink.bind("tcp://127.0.0.1:*")

        async def worker(name: str) -> None:
            receiver = ctx.socket(zmtp.PULL)
            sender = ctx.socket(zmtp.PUSH)
            await receiver.connect(tasks_ep)
            await sender.connect(results_ep)
            while True:
                msg = await receiver.recv_string()
                if msg == "stop":
                    return
                await trio.sleep(int(msg) / 1000)  # the "work"
                await sender.send_string(name)

        async with trio.open_nursery() as nursery:
            for i in range(workers):
                nursery.start_soon(worker, f"worker-{i + 1}")
            # Wait until every worker is connected, or the first one to connect
            # would get every task (ZeroMQ's "slow joiner").
            for _ in range(workers):
                await monitor.wait_for(Event.HANDSHAKE_SUCCEEDED)
            start = time.perf_counter()
            for ms in workloads:
                await ventilator.send_string(str(ms))
            for _ in range(tasks):
                done_by[await sink.recv_string()] += 1
            elapsed = time.perf_counter() - start
            for _ in range(workers):
                await ventilator.send_string("stop")

    print(f"pipeline: {tasks} tasks, {total_ms} ms of work in total, {workers} workers")
    for name in sorted(done_by):
        print(f"  {name}: {done_by[name]:3d} tasks")
    speedup = total_ms / 1000 / elapsed
    print(f"  elapsed {elapsed * 1000:.0f} ms, speed-up x{speedup:.1f} over one worker")
    return {"elapsed": elapsed, "total": total_ms / 1000, "speedup": speedup}


async def hello(requests: int = 5) -> list[str]:
    """The hello-world client and server; returns the replies."""
    replies = []
    async with zmtp.Context() as ctx:
        server = ctx.socket(zmtp.REP)
        client = ctx.socket(zmtp.REQ)
        endpoint = await server.bind("tcp://127.0.0.1:*")
        await client.connect(endpoint)

        async def serve() -> None:
            while True:
                request = await server.recv_string()
                await server.send_string("World" if request == "Hello" else "?")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            for i in range(requests):
                await client.send_string("Hello")
                reply = await client.recv_string()
                replies.append(reply)
                print(f"hello: request {i + 1}: sent 'Hello', got {reply!r}")
            nursery.cancel_scope.cancel()
    return replies


async def weather(updates: int = 2000, zipcode: int = 10001, seed: int = 2) -> float:
    """The weather server and a client filtering one zip code; returns the average.

    The server is an XPUB (a PUB that also hears subscriptions), so it can wait for
    the client's subscription instead of losing the first updates to the "slow
    joiner"; a final "END" update for the zip code tells the client it has all.
    """
    rng = random.Random(seed)
    async with zmtp.Context() as ctx:
        server = ctx.socket(zmtp.XPUB)
        client = ctx.socket(zmtp.SUB)
        endpoint = await server.bind("tcp://127.0.0.1:*")
        await client.connect(endpoint)
        client.subscribe(f"{zipcode} ")
        subscription = await server.recv()  # b"\x01" + topic
        sent_for_us = 0
        for _ in range(updates):
            zip_ = rng.choice((zipcode, rng.randrange(10000, 99999)))
            sent_for_us += zip_ == zipcode
            temperature, humidity = rng.randrange(-80, 135), rng.randrange(10, 60)
            await server.send_string(f"{zip_} {temperature} {humidity}")
        await server.send_string(f"{zipcode} END")
        received = []
        while (update := await client.recv_string()) != f"{zipcode} END":
            received.append(int(update.split()[1]))
    average = sum(received) / len(received)
    print(
        f"weather: subscription {subscription!r} reached the publisher; it published "
        f"{updates} updates, {sent_for_us} for zip code {zipcode}"
    )
    print(f"  the subscriber got {len(received)}, average temperature {average:.1f}F")
    return average


DEMOS = {"pipeline": pipeline, "hello": hello, "weather": weather}


async def run(names: list[str], workers: int, tasks: int) -> None:
    """Run the named demos in order (``zmtp.ZMTPValueError`` for an unknown name)."""
    unknown = [name for name in names if name not in DEMOS]
    if unknown:
        raise zmtp.ZMTPValueError(f"unknown demo {unknown[0]!r} (choose from {', '.join(DEMOS)})")
    for name in names:
        if name == "pipeline":
            await pipeline(workers=workers, tasks=tasks)
        elif name == "hello":
            await hello()
        elif name == "weather":
            await weather()
        print()
