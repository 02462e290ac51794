"""Rows for the tests that drive the store directly (a resource record, an operation), and how
such a test reads a resource back: from the database, or as a request would be served."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crossconnect.store import Store, schema


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


def database_row(store: Store, key: str) -> dict[str, Any] | None:
    """The resource row as the database holds it (a fresh pooled connection; no memory involved)."""
    with store.engine.connect() as c:
        row = c.execute(select(schema.resources).where(schema.resources.c.key == key)).first()
        return dict(row._mapping) if row is not None else None


def served(store: Store, key: str) -> dict[str, Any] | None:
    """What a request's look-up of the resource gets (from memory where the store remembers).
    (PostgreSQL: a store's first generation check forgets everything; a test makes one before it
    writes.)"""
    with store.fresh_reads():
        return store.get_resource(key)
