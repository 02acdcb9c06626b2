"""Request-reply client through a broker: a REQ socket connected to the broker's
frontend.

    python rrclient.py [requests] [endpoint]

``requests`` defaults to 10, ``endpoint`` to tcp://localhost:5559.
"""

import sys

import zmtp.sync as zmq

requests = int(sys.argv[1]) if len(sys.argv) > 1 else 10
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://localhost:5559"

context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(endpoint)

for request in range(requests):
    socket.send(b"Hello")
    message = socket.recv()
    print(f"Received reply {request} [{message}]", flush=True)
