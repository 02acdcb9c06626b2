"""Task worker (pipeline): pulls workloads from the ventilator, "works" for that
many milliseconds, and pushes a result to the sink; prints a dot per task.

    python taskwork.py [tasks] [ventilator] [sink]

``tasks`` bounds the loop (default -1: work for ever); the endpoints default to
tcp://localhost:5557 and tcp://localhost:5558.
"""

import sys
import time

import zmtp.sync as zmq

tasks = int(sys.argv[1]) if len(sys.argv) > 1 else -1
ventilator = sys.argv[2] if len(sys.argv) > 2 else "tcp://localhost:5557"
sink = sys.argv[3] if len(sys.argv) > 3 else "tcp://localhost:5558"

context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.connect(ventilator)
sender = context.socket(zmq.PUSH)
sender.connect(sink)

while tasks != 0:
    s = receiver.recv()
    sys.stdout.write(".")  # progress
    sys.stdout.flush()
    time.sleep(int(s) * 0.001)  # do the work
    sender.send(b"")
    tasks -= 1
