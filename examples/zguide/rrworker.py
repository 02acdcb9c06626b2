"""Request-reply worker behind a broker: a REP socket connected to the broker's
backend.

    python rrworker.py [requests] [endpoint]

``requests`` bounds the loop (default -1: serve for ever); ``endpoint`` defaults to
tcp://localhost:5560.
"""

import sys

import zmtp.sync as zmq

requests = int(sys.argv[1]) if len(sys.argv) > 1 else -1
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://localhost:5560"

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.connect(endpoint)

while requests != 0:
    message = socket.recv()
    print(f"Received request: {message}", flush=True)
    socket.send(b"World")
    requests -= 1
