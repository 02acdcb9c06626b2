"""Tools for testing ZMTP implementations: zmtp's own, and anyone else's.

* :class:`RawPeer` is a scripted peer: one connection, driven octet by octet or
  message by message, that judges nothing and can be made to misbehave
  (:class:`Misbehaviour`). ``zmtp conform`` and the deliberately broken peers of
  zmtp's own tests are built from it.
* :mod:`zmtp.testing.strategies` holds hypothesis strategies for greetings, frames,
  commands, metadata, whole valid handshakes and traffic, and corrupted variants of
  each: the ones zmtp's own fuzzers use. It needs hypothesis
  (``pip install zmtp[testing]``) and is imported only when asked for::

      from zmtp.testing import strategies as zst

      @given(zst.frame_streams())
      def test_my_decoder(stream): ...

Nothing here is needed at run time by zmtp's sockets.
"""

from __future__ import annotations

from typing import Any

from zmtp.testing.peer import (
    Command,
    Misbehaviour,
    PeerClosed,
    RawFrame,
    RawGreeting,
    RawListener,
    RawPeer,
    Silence,
    encode_properties,
    greeting_bytes,
    parse_endpoint,
    zmtp20_greeting_bytes,
)

__all__ = [
    "Command",
    "Misbehaviour",
    "PeerClosed",
    "RawFrame",
    "RawGreeting",
    "RawListener",
    "RawPeer",
    "Silence",
    "encode_properties",
    "greeting_bytes",
    "parse_endpoint",
    "strategies",
    "zmtp20_greeting_bytes",
]


def __getattr__(name: str) -> Any:
    # hypothesis is optional: the strategies load on first use only.
    if name == "strategies":
        import importlib

        module = importlib.import_module("zmtp.testing.strategies")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'zmtp.testing' has no attribute {name!r}")
