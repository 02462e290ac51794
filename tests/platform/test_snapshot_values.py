"""Snapshots built and read by the database (store/snapshots.py): the same rows and values as the
row-by-row path of ``Store.export_state``/``import_state``, exactly (floats to the last digit,
booleans, JSON of every shape, non-ASCII text), and the same refusals: a value the store cannot
keep is refused and nothing changes, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crossconnect.store import Store
from crossconnect.store.snapshots import _prepared_rows, export_tables_json, import_tables
from crossconnect.store.values import InvalidValue
from tests.support import Server
from tests.support.platform import client


def _fill(store: Store) -> None:
    with store.tx() as conn:
        store.set_meta("text", "a plain string", conn)
        store.set_meta("nothing", None, conn)
        store.set_meta("nested", {"list": [1, 2.5, True, None, "Zürich ☃ 😀"], "deep": {"x": {"y": []}}}, conn)
        for n, at in enumerate((1764459951.1234567, 0.1, 1e-7, 5.0, 1e300)):
            store.put_resource(
                {
                    "key": f"/r{n}",
                    "id": f"/R{n}",
                    "type_key": "t",
                    "subscription_id": "sub",
                    "group_key": "rg",
                    "parent_key": "",
                    "name": f"ñame-{n} 😀",
                    "body": {"at": at, "tags": {"k": "back\\slash"}},
                    "etag": "e",
                },  # fmt: skip
                conn,
            )
        store.insert("signing_keys", {"kid": "k", "private_pem": "x", "created_at": 1.5, "active": True}, conn)
        store.insert(
            "operations",
            {
                "id": "op",
                "subscription_id": "sub",
                "location": "w",
                "kind": "put",
                "resource_key": "/r0",
                "resource_type": "t",
                "status": "Succeeded",
                "payload": {},
                "result": None,
                "error": {"code": "X"},
                "due_at": 1764459951.000001,
                "created_at": 2.0,
                "finished_at": None,
            },
            conn,
        )


def test_export_is_the_row_by_row_export(store: Store) -> None:
    _fill(store)
    assert json.loads(export_tables_json(store)) == store.export_state()
    exact = json.loads(export_tables_json(store))["resources"][0]["body"]["at"]
    assert exact == 1764459951.1234567 and isinstance(exact, float)


@pytest.mark.parametrize("literal_escape", [False, True])
def test_import_round_trip_is_exact(store: Store, literal_escape: bool) -> None:
    _fill(store)
    if literal_escape:  # text that reads like an escape of NUL takes the row-by-row path, as exactly
        store.set_meta("literal", "a backslash, then u0000: \\u0000")
    state = store.export_state()
    tables = json.loads(export_tables_json(store))
    assert (_prepared_rows(store, tables, None) is None) is literal_escape
    store.wipe_state()
    import_tables(store, tables)
    assert store.export_state() == state
    # the store keeps numbering after the imported rows
    store.put_resource({"key": "/after", "id": "/after", "type_key": "t", "subscription_id": "sub",
                        "name": "after", "body": {}, "etag": "e"})  # fmt: skip
    assert store.get_resource("/after")["seq"] > max(r["seq"] for r in state["resources"])


def _with(tables: dict[str, Any], table: str, **changes: Any) -> dict[str, Any]:
    edited = json.loads(json.dumps(tables))
    edited[table][0].update(changes)
    return edited


@pytest.mark.parametrize(
    ("table", "changes"),
    [
        ("resources", {"name": "nul\x00inside"}),
        ("resources", {"body": {"deep": ["lone \ud800 surrogate"]}}),
        ("resources", {"id": "x" * 1025}),  # longer than the column
        ("subscriptions", {"id": "s" * 37}),
        ("resources", {"etag": None}),  # a value the table requires
    ],
)
def test_values_the_store_cannot_keep_are_refused_and_nothing_changes(
    store: Store, table: str, changes: dict[str, Any]
) -> None:
    _fill(store)
    store.insert("subscriptions", {"id": "sub", "tenant_id": "t", "display_name": "S", "state": "Enabled",
                                   "created_at": 1.0})  # fmt: skip
    tables = json.loads(export_tables_json(store))
    before = store.export_state()
    edited = _with(tables, table, **changes)
    with pytest.raises(Exception) as refused:
        import_tables(store, edited)
    if "etag" not in changes:
        assert isinstance(refused.value, InvalidValue), refused.value
    assert store.export_state() == before


def _put_snapshot(server: Server, snapshot: dict[str, Any]) -> Any:
    with client(server, server.token("operator")) as c:
        # escaped as the SDKs and httpx send it: every non-ASCII character as \uXXXX
        return c.put("/_crossconnect/snapshot", content=json.dumps(snapshot).encode(), headers=_JSON)


_JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("name", ["nul\x00inside", "lone \udc00 surrogate"])
def test_http_import_of_a_string_the_store_cannot_keep_changes_nothing(server: Server, name: str) -> None:
    snapshot = server.operator("GET", "/snapshot").json()
    before = server.snapshot()
    snapshot["tables"]["subscriptions"][0]["display_name"] = name
    r = _put_snapshot(server, snapshot)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "InvalidSnapshot"), r.text
    assert server.snapshot() == before


def test_http_import_keeps_text_beyond_ascii_exactly(server: Server) -> None:
    snapshot = server.operator("GET", "/snapshot").json()
    snapshot["tables"]["subscriptions"][0]["display_name"] = "Zürich ☃ 😀"
    assert _put_snapshot(server, snapshot).status_code == 200
    names = [s["display_name"] for s in server.snapshot()["subscriptions"]]
    assert "Zürich ☃ 😀" in names
    # and back out through the export the database builds
    exported = server.operator("GET", "/snapshot").json()
    assert "Zürich ☃ 😀" in [s["display_name"] for s in exported["tables"]["subscriptions"]]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_http_import_in_another_encoding_checks_values_too(server: Server, encoding: str) -> None:
    """A body not in plain UTF-8 (JSON allows UTF-16; a byte-order mark) is checked value by value."""
    snapshot = server.operator("GET", "/snapshot").json()
    before = server.snapshot()
    snapshot["tables"]["subscriptions"][0]["display_name"] = "nul\x00inside"
    with client(server, server.token("operator")) as c:
        r = c.put("/_crossconnect/snapshot", content=json.dumps(snapshot).encode(encoding), headers=_JSON)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "InvalidSnapshot"), r.text
        assert server.snapshot() == before
        snapshot["tables"]["subscriptions"][0]["display_name"] = "Zürich"
        r = c.put("/_crossconnect/snapshot", content=json.dumps(snapshot).encode(encoding), headers=_JSON)
        assert r.status_code == 200, r.text
    assert "Zürich" in [s["display_name"] for s in server.snapshot()["subscriptions"]]
