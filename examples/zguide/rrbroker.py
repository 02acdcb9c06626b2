"""Request-reply broker: a ROUTER frontend for clients, a DEALER backend for
workers, and a poller moving whole messages (envelopes included) between them.

    python rrbroker.py [messages] [frontend] [backend]

``messages`` bounds the loop (default -1: for ever); the endpoints default to
tcp://*:5559 and tcp://*:5560.
"""

import sys

import zmtp.sync as zmq

messages = int(sys.argv[1]) if len(sys.argv) > 1 else -1
frontend_endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5559"
backend_endpoint = sys.argv[3] if len(sys.argv) > 3 else "tcp://*:5560"

context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.DEALER)
frontend.bind(frontend_endpoint)
backend.bind(backend_endpoint)

poller = zmq.Poller()
poller.register(frontend, zmq.POLLIN)
poller.register(backend, zmq.POLLIN)

while messages != 0:
    socks = dict(poller.poll())
    if socks.get(frontend) == zmq.POLLIN:
        backend.send_multipart(frontend.recv_multipart())
        messages -= 1
    if socks.get(backend) == zmq.POLLIN:
        frontend.send_multipart(backend.recv_multipart())
        messages -= 1
