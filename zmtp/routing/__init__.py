"""Routing policies shared by the socket types (sans-IO, no trio, no I/O).

- :class:`Pipe` / :class:`MsgQueue`: a peer as the patterns see it, with bounded queues.
- :class:`LoadBalancer`: round-robin sends over pipes with room (libzmq's ``lb``).
- :class:`FairQueue`: round-robin receives over pipes with input (libzmq's ``fq``).
- :class:`Distributor`: fan-out to many pipes, dropping at HWM (libzmq's ``dist``).
- :class:`SubscriptionTrie`: counted prefix subscriptions (libzmq's ``trie``/``mtrie``).
"""

from zmtp.routing.dist import Distributor
from zmtp.routing.fq import FairQueue
from zmtp.routing.lb import LoadBalancer
from zmtp.routing.pipe import MsgQueue, Pipe, SubscriptionMsg
from zmtp.routing.trie import SubscriptionTrie

__all__ = [
    "Distributor",
    "FairQueue",
    "LoadBalancer",
    "MsgQueue",
    "Pipe",
    "SubscriptionMsg",
    "SubscriptionTrie",
]
