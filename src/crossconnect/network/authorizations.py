"""What the authorizations of a circuit and of an ExpressRoute Direct port share: how one is
written and where its operation is tracked. Each type keeps its own body model, rendering and
delete rule (network/circuits, network/direct)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.http import ArmRequest
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag


class AuthorizationType(ResourceType):
    """An authorization of its parent resource: a PUT creates it with a new key, Available; a PUT
    of one that exists changes nothing a client can set (the key and its use are the server's),
    so it only gets a new ETag."""

    body_model: ClassVar[type[BaseModel]]
    body_label: ClassVar[str]  # the type InvalidRequestContent names, e.g. "ExpressRouteCircuitAuthorization"

    def operation_location(self, row: Row) -> str:
        """An authorization has no region of its own: its parent's."""
        parent = self.store.get_resource(row["parent_key"])
        return str(parent["body"]["location"]) if parent else "global"

    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        parse(self.body_model, body, self.body_label)
        if existing is not None:
            return Write({**existing, "etag": new_etag()}, operation="put")
        row = self.new_row(
            request,
            {"properties": {"authorizationKey": entropy.guid(entropy.CODES), "authorizationUseStatus": "Available"}},
        )
        return Write(row, created=True, operation="put")
