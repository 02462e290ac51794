"""The template deployments' routes and operation completer, made when the server starts; the code
behind them (template language, planner, runner: ``endpoints`` and ``engine``) is imported by the
first deployment request or operation, not at start-up (issue 19: start to healthy). That import
happens once, on the event loop or the reconciler's thread, and takes tens of milliseconds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import ArmError
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint, Handler
from crossconnect.arm.inner_requests import InnerRequests
from crossconnect.arm.services import ArmServices
from crossconnect.resources.deployments.paths import BASE, ITEM, OPERATIONS, TYPE

if TYPE_CHECKING:
    from crossconnect.resources.deployments.endpoints import Deployments
    from crossconnect.resources.deployments.engine import DeploymentRunner


def _action(verb: str) -> str:
    return f"{TYPE}/{verb}"


class _Once:
    """A value made by ``make`` on first use, once, whichever thread asks first."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._make()
        return self._value


def endpoints(inner: InnerRequests, versions: ApiVersions) -> list[Endpoint]:
    def make() -> Deployments:
        from crossconnect.resources.deployments.endpoints import Deployments

        return Deployments(inner)

    deployments = _Once(make)

    def handler(name: str) -> Handler:
        async def handle(request: ArmRequest) -> ArmResponse:
            method: Handler = getattr(deployments.get(), name)
            return await method(request)

        return handle

    ns = None  # Microsoft.Resources needs no registration
    return [
        Endpoint("PUT", ITEM, handler("put"), versions, _action("write"), ns),
        Endpoint("GET", ITEM, handler("get"), versions, _action("read"), ns),
        Endpoint("DELETE", ITEM, handler("delete"), versions, _action("delete"), ns),
        Endpoint("GET", BASE, handler("list"), versions, _action("read"), ns),
        Endpoint("POST", ITEM + "/validate", handler("validate"), versions, _action("validate/action"), ns),
        Endpoint("POST", ITEM + "/whatIf", handler("what_if"), versions, _action("whatIf/action"), ns),
        Endpoint("POST", ITEM + "/cancel", handler("cancel"), versions, _action("cancel/action"), ns),
        Endpoint("POST", ITEM + "/exportTemplate", handler("export_template"), versions,
                 _action("exportTemplate/action"), ns),
        Endpoint("GET", OPERATIONS, handler("operations"), versions, _action("operations/read"), ns),
        Endpoint("GET", OPERATIONS + "/{operationId}", handler("operation"), versions, _action("operations/read"), ns),
        Endpoint("GET", ITEM + "/operationStatuses/{operationId}", handler("status"), versions,
                 _action("operationstatuses/read"), ns),
    ]  # fmt: skip


class DeploymentCompleter:
    """The operation engine's completer of deployments: ``engine.DeploymentRunner``, made by the
    first deployment operation the engine handles. What the engine looks up optionally
    (``advance``, ``operation_lock_keys``…) is the runner's, through ``__getattr__``."""

    def __init__(self, services: ArmServices, inner: InnerRequests) -> None:
        def make() -> DeploymentRunner:
            from crossconnect.resources.deployments.engine import DeploymentRunner

            return DeploymentRunner(services, inner)

        self._runner = _Once(make)

    def complete_operation(self, op: dict[str, Any], conn: Connection) -> Any:
        return self._runner.get().complete_operation(op, conn)

    def fail_operation(self, op: dict[str, Any], conn: Connection, error: ArmError) -> None:
        self._runner.get().fail_operation(op, conn, error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner.get(), name)
