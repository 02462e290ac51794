"""What the network layer needs from the operator API to add its endpoints under ``/_crossconnect/``.

The operator API lives in ``admin/``, a sibling layer network must not import; ``app/`` hands
``admin.routes.AdminApi`` to ``operator_api.register`` and ``lab_api.register``, and it fits these
protocols structurally (admin does not import them either).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request

from crossconnect.identity.tokens import Principal
from crossconnect.store import Store

# the same shapes as admin's own handler aliases: an operator handler gets the verified operator;
# a lab handler gets any signed-in principal and whether it is the operator
Handler = Callable[[Request, Principal], Awaitable[Any]]
LabHandler = Callable[[Request, Principal, bool], Awaitable[Any]]


class OperatorContext(Protocol):
    @property
    def store(self) -> Store: ...


class OperatorRoutes(Protocol):
    @property
    def ctx(self) -> OperatorContext: ...

    def add(self, method: str, path: str, handler: Handler) -> None:
        """An operator-only endpoint at ``/_crossconnect`` + ``path``."""
        ...

    def add_lab(self, method: str, path: str, handler: LabHandler) -> None:
        """An endpoint for the operator or any signed-in principal; the handler decides."""
        ...

    async def body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object ({} when empty); 400 InvalidRequestFormat/Content otherwise."""
        ...
