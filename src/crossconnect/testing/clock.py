"""``crossconnect_clock``: the server's clock in a test, through the operator API
(``/_crossconnect/clock``). Move it instead of sleeping: with ``--operation-delay 5`` and a frozen
clock an operation stays InProgress until ``advance(5)``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crossconnect.testing.state import ServerState


class Clock:
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def _call(self, body: dict[str, Any] | None) -> datetime:
        method = "GET" if body is None else "POST"
        if body is not None:
            self._state.clock_moved = True
        answer = self._state._operator(method, "/clock", body)
        return datetime.fromisoformat(answer["now"].replace("Z", "+00:00"))

    def now(self) -> datetime:
        """The server's time (an aware UTC datetime)."""
        return self._call(None)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (frozen or running); returns the new time.

        Tokens are judged by the server's clock: past their lifetime (1 h by default) a client's
        cached token is refused (401 ``ExpiredAuthenticationToken``), and azure-identity, which
        judges by the real clock, would keep sending it. So clients made after an advance get new
        credentials (``crossconnect_client``, ``crossconnect_credential``); make them again."""
        moved = self._call({"advance": seconds})
        self._state.clients.forget_credentials()
        self._state.close()  # its operator connection carries a token too
        return moved

    def freeze(self) -> datetime:
        """Stop the clock at its current instant."""
        return self._call({"freeze": True})

    def real(self) -> datetime:
        """Back to real time."""
        return self._call({"real": True})
