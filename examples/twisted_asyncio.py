"""Twisted and zmtp.asyncio on one event loop.

Twisted runs on asyncio once its asyncio reactor is installed (before anything imports
``twisted.internet.reactor``); zmtp.asyncio sockets then share the loop with Twisted's
protocols. Here a ZeroMQ REP service answers each request by asking a Twisted TCP
service (which shouts back in upper case), and a REQ client sends three requests::

    REQ (zmtp) ──► REP (zmtp) ──► Twisted TCP client ──► Twisted TCP server
                        ◄──────────── reply ◄──────────────────┘

Between the two worlds: ``deferred.asFuture(loop)`` awaits a Twisted Deferred from an
asyncio coroutine, and ``Deferred.fromFuture(...)`` hands an asyncio task to Twisted.

Run: ``python examples/twisted_asyncio.py`` (needs ``pip install twisted``).
"""

from __future__ import annotations

import asyncio

from twisted.internet import asyncioreactor

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
asyncioreactor.install(loop)

from twisted.internet import defer, endpoints, protocol, reactor, task  # noqa: E402

import zmtp  # noqa: E402
import zmtp.asyncio  # noqa: E402


class Shout(protocol.Protocol):
    """The Twisted TCP service: every chunk back in upper case."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data.upper())


class Ask(protocol.Protocol):
    """A Twisted TCP client: sends one question, fires ``answer`` with the reply."""

    def __init__(self, question: bytes) -> None:
        self.question = question
        self.answer: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.question)

    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()
        self.answer.callback(data)


async def ask_twisted(port: int, question: bytes) -> bytes:
    client = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    asker = Ask(question)
    await endpoints.connectProtocol(client, asker).asFuture(loop)
    return await asker.answer.asFuture(loop)


async def serve(rep: zmtp.asyncio.Socket, port: int) -> None:
    """The ZeroMQ service: each request is answered by the Twisted service."""
    async for request in rep:
        await rep.send_multipart([await ask_twisted(port, request[0])])


async def main() -> list[bytes]:
    server = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    listening = await server.listen(protocol.Factory.forProtocol(Shout)).asFuture(loop)
    port = listening.getHost().port
    try:
        async with zmtp.asyncio.Context() as ctx:
            rep, req = ctx.socket(zmtp.REP), ctx.socket(zmtp.REQ)
            await req.connect(await rep.bind("tcp://127.0.0.1:*"))
            service = asyncio.ensure_future(serve(rep, port))
            replies = []
            for word in (b"hello", b"twisted", b"zeromq"):
                await req.send(word)
                replies.append(await req.recv())
            service.cancel()
        return replies
    finally:
        await listening.stopListening().asFuture(loop)


def run(reactor_: object) -> defer.Deferred[None]:
    async def report() -> None:
        for reply in await main():
            print(reply.decode())

    return defer.Deferred.fromFuture(asyncio.ensure_future(report()))


if __name__ == "__main__":
    task.react(run)
