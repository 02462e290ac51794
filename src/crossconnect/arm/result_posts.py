"""A long-running POST whose operation has a result (a peering's ARP table, a gateway's learned
routes...), run as Azure runs them: 202 with ``Location`` only (no Azure-AsyncOperation); the
Location answers 202 until the result is ready, then 200 with it. The resource type's
``complete_operation`` computes the result for the operation's ``kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crossconnect.arm.http import ArmRequest, ArmResponse
from crossconnect.arm.resource_type import ResourceType, Row


def start_post_with_result(
    request: ArmRequest,
    rtype: ResourceType,
    kind: str,
    suffix: str,
    payload: Callable[[Row], dict[str, Any]],
) -> ArmResponse:
    """Start operation ``kind`` on the resource the request names (404 if there is none) and answer
    202. The operation is tracked under the resource's key + ``suffix``, not the resource's own key:
    it is no write of the resource, so a PUT or DELETE of it does not see an operation in progress.
    ``payload`` gives what the completer needs of the resource. The caller has checked the scope
    and its own inputs."""
    ops = request.services.operations
    ops.settle_resource(rtype.key(request))
    row = rtype.load(request)
    if row is None:
        raise rtype.not_found(request)
    with request.services.store.tx() as conn:
        op = ops.start(
            conn,
            subscription_id=request.subscription_id,
            location=rtype.operation_location(row),
            kind=kind,
            resource_key=row["key"] + suffix,
            resource_type=rtype.type_name,
            payload=payload(row),
        )
    return ArmResponse(202, None, ops.headers_for(request, op, location=True, async_operation=False))
