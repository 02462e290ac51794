"""The operation status endpoints every provider namespace serves: ``…/operations/{id}``
(Azure-AsyncOperation: a status body) and ``…/operationResults/{id}`` (Location: 202 until done,
then the result)."""

from __future__ import annotations

import functools
from typing import Any

from crossconnect import clock
from crossconnect.arm.api_versions import ApiVersions
from crossconnect.arm.errors import ArmError, NotFound
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.operations import OperationEngine, iso_time, retry_after
from crossconnect.authz import scopes


def _load(engine: OperationEngine, request: ArmRequest) -> dict[str, Any]:
    op = engine.settle(request.params["operationId"])
    if op is None or op["subscription_id"] != request.subscription_id:
        raise NotFound(f"The operation '{request.params['operationId']}' could not be found.", "OperationNotFound")
    return op


async def status(engine: OperationEngine, request: ArmRequest) -> ArmResponse:
    """Azure-AsyncOperation: ``{"status": ...}`` until terminal."""
    op = _load(engine, request)
    body: dict[str, Any] = {
        "id": request.path,
        "name": op["id"],
        "status": op["status"],
        "startTime": iso_time(op["created_at"]),
    }
    headers: dict[str, str] = {}
    if op["status"] == "InProgress":
        headers["Retry-After"] = retry_after(op["due_at"] - clock.now())
    else:
        body["endTime"] = iso_time(op["finished_at"])
    if op["error"]:
        body["error"] = op["error"]
    return ArmResponse(200, body, headers)


async def result(engine: OperationEngine, request: ArmRequest) -> ArmResponse:
    """Location: 202 while running, then 200 with the result (or 204), or the error."""
    op = _load(engine, request)
    if op["status"] == "InProgress":
        return ArmResponse(
            202,
            None,
            {"Location": request.url_for(request.path), "Retry-After": retry_after(op["due_at"] - clock.now())},
        )
    if op["status"] == "Failed":
        error = op["error"] or {"code": "InternalServerError", "message": "The operation failed."}
        failure = ArmError(error.get("message", ""), error.get("code"), details=error.get("details"))
        failure.status = int(op["payload"].get("failureStatus", 400))
        raise failure
    if op["result"] is None:
        if op["kind"] == "delete":
            return ArmResponse(engine.finished_delete_status(op), None)
        return ArmResponse(200, {})
    return ArmResponse(200, op["result"])


def _operation_scope(request: ArmRequest) -> str:
    """Status URLs sit at subscription level, but an operation is read with the caller's rights
    on the resource it is about (a Contributor on one resource group polls its own writes). An
    operation on a record kept in another subscription (the one peering record of a circuit lives
    under the customer's circuit, also when the partner writes it through its cross connection)
    is authorized at the URL's subscription itself, where holding any role there suffices."""
    op = request.services.store.find("operations", id=request.params["operationId"])
    if op is None:
        return request.path
    if scopes.subscription_of(op["resource_key"]) != request.subscription_id:
        return f"/subscriptions/{request.subscription_id}"
    return str(op["resource_key"])


def endpoints(engine: OperationEngine, operation_versions: ApiVersions) -> list[Endpoint]:
    out: list[Endpoint] = []
    base = "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}"
    out.append(
        Endpoint(
            "GET",
            base + "/operations/{operationId}",
            functools.partial(status, engine),
            operation_versions,
            lambda r: f"{r.params['namespace']}/locations/operations/read",
            scope=_operation_scope,
            # a poll only reads, unless the operation fell due: completing it needs the database,
            # and a poll served on the event loop then starts again on a thread (``ArmProtocol``)
            reads_only_store=True,
        )
    )
    out.append(
        Endpoint(
            "GET",
            base + "/operationResults/{operationId}",
            functools.partial(result, engine),
            operation_versions,
            lambda r: f"{r.params['namespace']}/locations/operationResults/read",
            scope=_operation_scope,
            # a poll only reads, unless the operation fell due: completing it needs the database,
            # and a poll served on the event loop then starts again on a thread (``ArmProtocol``)
            reads_only_store=True,
        )
    )
    return out
