"""Hello World server (request-reply): binds a REP socket, answers each "Hello"
with "World".

    python hwserver.py [requests] [endpoint]

``requests`` bounds the loop (default -1: serve for ever); ``endpoint`` defaults to
the zguide's tcp://*:5555.
"""

import sys
import time

import zmtp.sync as zmq

requests = int(sys.argv[1]) if len(sys.argv) > 1 else -1
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5555"

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind(endpoint)

while requests != 0:
    message = socket.recv()
    print(f"Received request: {message}", flush=True)
    time.sleep(0.01)  # do some 'work'
    socket.send(b"World")
    requests -= 1
