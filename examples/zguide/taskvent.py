"""Task ventilator (pipeline): binds a PUSH socket, waits for Enter (time for the
workers to connect), then sends a batch of tasks, each a workload in milliseconds.

    python taskvent.py [tasks] [endpoint] [sink]

``tasks`` defaults to 100, ``endpoint`` to tcp://*:5557 and the sink to
tcp://localhost:5558 (told when the batch starts).
"""

import random
import sys
import time

import zmtp.sync as zmq

tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5557"
sink_endpoint = sys.argv[3] if len(sys.argv) > 3 else "tcp://localhost:5558"

context = zmq.Context()
sender = context.socket(zmq.PUSH)
sender.bind(endpoint)
sink = context.socket(zmq.PUSH)
sink.connect(sink_endpoint)

input("Press Enter when the workers are ready: ")
print("Sending tasks to workers...", flush=True)
sink.send(b"0")  # the start of the batch

random.seed()
total_msec = 0
for _ in range(tasks):
    workload = random.randint(1, 10)
    total_msec += workload
    sender.send_string(f"{workload}")
print(f"Total expected cost: {total_msec} msec", flush=True)

time.sleep(1)  # give the messages time to leave
