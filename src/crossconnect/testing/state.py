"""The server's state between tests: back to the seeded set-up (``reset``), and named snapshots
(``save`` / ``restore``) so an expensive set-up is built once per session, through the operator
API (``/_crossconnect/reset``, ``/_crossconnect/snapshot``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from crossconnect.testing.clients import Clients

T = TypeVar("T")


class StateError(RuntimeError):
    pass


class ServerState:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._http: Any = None
        self._built: dict[str, Any] = {}  # name -> what ``once``'s build returned
        self.clock_moved = False  # set by crossconnect_clock: tokens cached since may not be valid after a reset

    @property
    def _snapshots(self) -> dict[str, Any]:
        # held by the server object: one per session (per xdist worker), shared by every test
        return self.clients.server.snapshots

    def _operator(self, method: str, path: str, body: Any = None) -> Any:
        if self._http is None:  # one kept-alive connection: a reset is one round trip
            self._http = self.clients.http("operator")
        r = self._http.request(method, f"/_crossconnect{path}", json=body)
        if r.status_code != 200:
            raise StateError(f"{method} /_crossconnect{path} answered {r.status_code}: {r.text[:500]}")
        return r.json()

    def reset(self) -> None:
        """Everything back to the seeded set-up (same tenant, principals and secrets)."""
        self._operator("POST", "/reset")
        if self.clock_moved:
            # the clock went back: tokens issued while it was ahead are not valid yet
            self.clock_moved = False
            self.clients.forget_credentials()
            self.close()

    def save(self, name: str) -> None:
        """Remember the whole state under ``name`` (for this session)."""
        self._snapshots[name] = self._operator("GET", "/snapshot")

    def restore(self, name: str) -> None:
        """Replace the whole state with the one saved as ``name``."""
        if name not in self._snapshots:
            saved = ", ".join(sorted(self._snapshots)) or "none"
            raise StateError(f"no snapshot named '{name}' in this session (saved: {saved}); save('{name}') first")
        self._operator("PUT", "/snapshot", self._snapshots[name])

    def has(self, name: str) -> bool:
        return name in self._snapshots

    def once(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` the first time (from the seeded set-up) and save the result as ``name``;
        every later call restores that snapshot instead and returns what ``build`` returned."""
        if name in self._snapshots and name in self._built:
            self.restore(name)
            return self._built[name]
        self.reset()
        self._built[name] = build()
        self.save(name)
        return self._built[name]

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
