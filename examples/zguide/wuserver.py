"""Weather update server (publish-subscribe): publishes random updates
"zipcode temperature humidity" on a PUB socket.

    python wuserver.py [updates] [endpoint]

``updates`` bounds the loop (default -1: publish for ever); ``endpoint`` defaults to
tcp://*:5556. Zip codes are drawn from 10000..10099, so that any one of them comes
often.
"""

import sys
from random import randrange

import zmtp.sync as zmq

updates = int(sys.argv[1]) if len(sys.argv) > 1 else -1
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://*:5556"

context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind(endpoint)

while updates != 0:
    zipcode = randrange(10000, 10100)
    temperature = randrange(-80, 135)
    relhumidity = randrange(10, 60)
    socket.send_string(f"{zipcode} {temperature} {relhumidity}")
    updates -= 1
