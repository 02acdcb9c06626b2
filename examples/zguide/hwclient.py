"""Hello World client (request-reply): connects a REQ socket, sends "Hello" and
waits for each "World".

    python hwclient.py [requests] [endpoint]

``requests`` defaults to the zguide's 10; ``endpoint`` to tcp://localhost:5555.
"""

import sys

import zmtp.sync as zmq

requests = int(sys.argv[1]) if len(sys.argv) > 1 else 10
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://localhost:5555"

context = zmq.Context()
print("Connecting to hello world server...", flush=True)
socket = context.socket(zmq.REQ)
socket.connect(endpoint)

for request in range(requests):
    print(f"Sending request {request} ...", flush=True)
    socket.send(b"Hello")
    message = socket.recv()
    print(f"Received reply {request} [ {message} ]", flush=True)
