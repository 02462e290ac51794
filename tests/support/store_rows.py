"""Rows for the tests that drive the store directly: a resource record and an operation."""

from __future__ import annotations

from typing import Any


def resource_row(key: str, body: Any = None, *, parent: str = "", etag: str = "e1") -> dict[str, Any]:
    return {
        "key": key,
        "id": key.upper(),
        "type_key": "t/things",
        "subscription_id": "sub",
        "group_key": "rg",
        "parent_key": parent,
        "name": key.rsplit("/", 1)[-1],
        "body": {"properties": {"n": 1}} if body is None else body,
        "etag": etag,
    }


def operation_row(n: int, resource_key: str = "/r", status: str = "InProgress", due_at: float = 0.0) -> dict[str, Any]:
    return {
        "id": f"op-{n}",
        "subscription_id": "sub",
        "location": "westeurope",
        "kind": "put",
        "resource_key": resource_key,
        "resource_type": "t/things",
        "status": status,
        "payload": {},
        "result": None,
        "error": None,
        "due_at": due_at,
        "created_at": float(n),
    }
