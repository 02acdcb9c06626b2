"""``zmtp demo``: the classic ZeroMQ patterns, running on zmtp over tcp in one process.

pipeline
    A ventilator (PUSH) hands out tasks, N workers (PULL in, PUSH out) each "work" for
    the task's duration, a sink (PULL) collects the results. Tasks are spread evenly
    over the workers (load balancing) and gathered fairly (fair queuing), so N
    workers finish about N times sooner than one.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import trio

import zmtp
from zmtp.monitor import Event


async def pipeline(workers: int = 4, tasks: int = 100, seed: int = 1) -> dict[str, float]:
    """Run the ventilator -> workers -> sink pipeline; print and return its figures."""
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


DEMOS = {"pipeline": pipeline}


async def run(names: list[str], workers: int, tasks: int) -> None:
    for name in names:
        if name == "pipeline":
            await pipeline(workers=workers, tasks=tasks)
        print()
