"""The "lazy pirate": a REQ client that survives a dead or restarted server.

A REQ socket that sent a request waits for the reply from the peer it asked, and only
from it (RFC 28). If that server dies, the reply never comes and a plain REQ is stuck
for good. The lazy pirate bounds the wait with a timeout and then starts over:

* ``request_with_retries`` closes the stuck socket and opens a new one for each retry
  (works with any server, exactly like the ZeroMQ guide's client);
* ``relaxed_request_with_retries`` keeps one socket with ``req_relaxed`` (a new request
  may abandon the pending one) and ``req_correlate`` (replies carry a request id, so
  a late reply to an abandoned request can never be taken for the new one's).

Run it: ``python examples/lazy_pirate.py`` starts a server that dies after its second
request and comes back; the client retries through it.
"""

from __future__ import annotations

import trio

import zmtp


async def request_with_retries(
    ctx: zmtp.Context, endpoint: str, request: bytes, *, timeout: float = 1.0, retries: int = 3
) -> bytes:
    """Send ``request`` and return the reply, reopening the socket after each timeout."""
    for _attempt in range(retries):
        async with ctx.socket(zmtp.REQ, linger=0) as client:
            await client.connect(endpoint)
            await client.send(request)
            with trio.move_on_after(timeout):
                return await client.recv()
        # Timed out: leaving the block closed the socket and its stuck request.
    raise TimeoutError(f"no reply from {endpoint} after {retries} attempts")


async def relaxed_request_with_retries(
    client: zmtp.Socket, request: bytes, *, timeout: float = 1.0, retries: int = 3
) -> bytes:
    """Same, on one REQ socket made with ``req_relaxed=True, req_correlate=True``."""
    for _attempt in range(retries):
        await client.send(request)  # abandons a pending request, if any
        with trio.move_on_after(timeout):
            return await client.recv()
    raise TimeoutError(f"no reply after {retries} attempts")


async def main() -> None:
    async with zmtp.Context() as ctx:
        probe = ctx.socket(zmtp.REP)
        endpoint = await probe.bind("tcp://127.0.0.1:*")
        await probe.close()  # we only wanted a free port

        async def server(crash_after: int) -> None:
            async with ctx.socket(zmtp.REP) as rep:
                await rep.bind(endpoint)
                for n in range(1, 1000):
                    request = await rep.recv()
                    if n == crash_after:
                        print(f"server: crashing with {request!r} unanswered")
                        return
                    await rep.send(b"reply to " + request)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(server, 2)
            for i in range(1, 4):
                reply = await request_with_retries(ctx, endpoint, f"request {i}".encode())
                print(f"client: {reply!r}")
                if i == 1:
                    # The server will crash on the next request; restart it shortly.
                    async def restart() -> None:
                        await trio.sleep(0.5)  # pacing: the server is down for a while
                        print("server: restarting")
                        await server(0)

                    nursery.start_soon(restart)
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
