"""Routing policies shared by the socket types (sans-IO, no trio, no I/O).

- :class:`Pipe` / :class:`MsgQueue`: a peer as the patterns see it, with bounded queues.
- :class:`LoadBalancer`: round-robin sends over pipes with room (libzmq's ``lb``).
- :class:`FairQueue`: round-robin receives over pipes with input (libzmq's ``fq``).
"""

from zmtp.routing.fq import FairQueue
from zmtp.routing.lb import LoadBalancer
from zmtp.routing.pipe import MsgQueue, Pipe

__all__ = ["FairQueue", "LoadBalancer", "MsgQueue", "Pipe"]
