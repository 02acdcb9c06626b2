"""Message queue broker: the request-reply broker as libzmq's built-in proxy
(ROUTER frontend, DEALER backend). Runs until interrupted.

    python msgqueue.py [frontend] [backend]

The endpoints default to tcp://*:5559 and tcp://*:5560.
"""

import sys

import zmtp.sync as zmq

frontend_endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://*:5559"
backend_endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5560"

context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
frontend.bind(frontend_endpoint)
backend = context.socket(zmq.DEALER)
backend.bind(backend_endpoint)

zmq.proxy(frontend, backend)
