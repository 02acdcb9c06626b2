"""Task sink (pipeline): waits for the start of a batch, collects every result,
and reports how long the batch took.

    python tasksink.py [tasks] [endpoint]

``tasks`` defaults to 100, ``endpoint`` to tcp://*:5558.
"""

import sys
import time

import zmtp.sync as zmq

tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5558"

context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.bind(endpoint)

receiver.recv()  # the start of the batch
tstart = time.time()
for task in range(tasks):
    receiver.recv()
    sys.stdout.write(":" if task % 10 == 0 else ".")
    sys.stdout.flush()
print(f"\nTotal elapsed time: {(time.time() - tstart) * 1000:.0f} msec", flush=True)
