"""Weather update client (publish-subscribe): subscribes to one zip code and
averages the temperatures of the updates it receives.

    python wuclient.py [zipcode] [updates] [endpoint]

``zipcode`` defaults to 10001, ``updates`` to 5, ``endpoint`` to
tcp://localhost:5556.
"""

import sys

import zmtp.sync as zmq

zip_filter = sys.argv[1] if len(sys.argv) > 1 else "10001"
updates = int(sys.argv[2]) if len(sys.argv) > 2 else 5
endpoint = sys.argv[3] if len(sys.argv) > 3 else "tcp://localhost:5556"

context = zmq.Context()
socket = context.socket(zmq.SUB)
print("Collecting updates from weather server...", flush=True)
socket.connect(endpoint)
socket.setsockopt_string(zmq.SUBSCRIBE, zip_filter)

total_temp = 0
for _ in range(updates):
    string = socket.recv_string()
    print(string, flush=True)
    zipcode, temperature, relhumidity = string.split()
    total_temp += int(temperature)

print(f"Average temperature for zipcode '{zip_filter}' was {total_temp / updates:.1f}F")
