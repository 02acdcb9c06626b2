"""Reading from several sockets with a poller: tasks from the ventilator (PULL)
and weather updates for one zip code (SUB), whichever comes first.

    python mspoller.py [messages] [ventilator] [weather]

``messages`` bounds the loop (default -1: for ever); the endpoints default to
tcp://localhost:5557 and tcp://localhost:5556.
"""

import sys

import zmtp.sync as zmq

messages = int(sys.argv[1]) if len(sys.argv) > 1 else -1
ventilator = sys.argv[2] if len(sys.argv) > 2 else "tcp://localhost:5557"
weather = sys.argv[3] if len(sys.argv) > 3 else "tcp://localhost:5556"

context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.connect(ventilator)
subscriber = context.socket(zmq.SUB)
subscriber.connect(weather)
subscriber.setsockopt(zmq.SUBSCRIBE, b"10001")

poller = zmq.Poller()
poller.register(receiver, zmq.POLLIN)
poller.register(subscriber, zmq.POLLIN)

while messages != 0:
    socks = dict(poller.poll())
    if receiver in socks:
        print(f"task {receiver.recv_string()}", flush=True)
        messages -= 1
    if subscriber in socks:
        print(f"weather {subscriber.recv_string()}", flush=True)
        messages -= 1
