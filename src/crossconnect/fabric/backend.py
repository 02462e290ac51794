"""Which fabric answers "what does the wire say": the model (fabric/wire.py, derived from
declared state) or, when the server runs with ``--fabric netns``, the real wire. One server
process has one fabric; the composition root (app) installs it at start."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the netns fabric (BIRD, namespaces) is loaded only by a server that runs it
    from crossconnect.fabric.netns.fabric import NetnsFabric

_active: NetnsFabric | None = None


def install(fabric: NetnsFabric | None) -> None:
    global _active
    _active = fabric


def netns() -> NetnsFabric | None:
    """The netns fabric when the server runs one, else None (the model answers)."""
    return _active
